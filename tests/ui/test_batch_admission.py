"""A tool batch is checked from the files' headers, then takes its places within the limits,
and only then decodes and hosts each picture (issue 17's follow-up attack: one Extras batch of
60 references to a 4096x4096 PNG took 4.4 GB, and a refused batch of 50 left 339 MB of
uploads on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_tools import picture, started, upscale
from webui.core import tools
from webui.core.limits import Limits, Quota


def uploads(ui: BuiltUi) -> list[Path]:
    folder = ui.ctx.runtime.settings.data_dir / "uploads"
    return list(folder.glob("*.png")) if folder.exists() else []


def test_a_batch_too_large_to_upscale_is_refused_before_anything_decodes(
        ui: BuiltUi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.png"
    Image.new("RGB", (4096, 4096), "white").save(big)  # 50 kB of PNG, 48 MB decoded
    decoded: list[Any] = []
    monkeypatch.setattr(tools, "prepare_upload", lambda *a, **k: decoded.append(a) or 1 / 0)
    with pytest.warns(UserWarning, match="image is 4096x4096; the upscaler takes at most"):
        upscale(ui, mode="batch", batch=[str(big)] * 20)
    assert decoded == [] and started(ui) == 0 and uploads(ui) == []


def test_a_batch_names_at_most_32_pictures(ui: BuiltUi, tmp_path: Path) -> None:
    small = picture(tmp_path, "small.png", gradient(32, 32))
    with pytest.warns(UserWarning, match="at most 32 images in one batch, got 40"):
        upscale(ui, mode="batch", batch=[small] * 40)
    assert started(ui) == 0 and uploads(ui) == []


def test_only_the_admitted_part_of_a_batch_is_hosted(ui: BuiltUi, tmp_path: Path) -> None:
    ui.ctx.limiter.limits = Limits(visitor=Quota(concurrent_tasks=2))
    inputs = [picture(tmp_path, f"in{n}.png", gradient(40 + n, 40)) for n in range(5)]
    with pytest.warns(UserWarning, match="3 not sent: at most 2 task"):
        final = upscale(ui, mode="batch", batch=inputs)
    assert len(final[ui.extras.results.panel.results]) == 2
    assert len(uploads(ui)) == 2  # the refused three were never hosted


def test_a_refused_form_gives_its_place_back(ui: BuiltUi, tmp_path: Path) -> None:
    """A task that is refused after its place was taken (bad form, upload refused) does not
    count against tasks a minute."""
    ui.ctx.limiter.limits = Limits(visitor=Quota(tasks_per_minute=1))
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    for _ in range(3):
        with pytest.warns(UserWarning, match="not a readable image"):
            upscale(ui, image=str(bad))
    final = upscale(ui, image=picture(tmp_path, "ok.png", gradient(32, 32)))
    assert len(final[ui.extras.results.panel.results]) == 1


def test_own_keys_on_the_offline_backend_are_limited_too(ui: BuiltUi, tmp_path: Path) -> None:
    """The embedded backend takes any key: a junk one must not lift the limits, whose cost is
    the operator's machine."""
    from tests.ui.test_settings import use_key

    ui.ctx.limiter.limits = Limits(visitor=Quota(tasks_per_minute=1))
    use_key(ui, "JUNKCODE0123456789abcdef01234567")
    upscale(ui, image=picture(tmp_path, "a.png", gradient(32, 32)))
    with pytest.warns(UserWarning, match="at most 1 task"):
        upscale(ui, image=picture(tmp_path, "b.png", gradient(32, 32)))
    assert started(ui) == 1
