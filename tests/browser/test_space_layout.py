"""The Space layout: data and outputs in a folder outside the working and the temp directory
(as /data/zhiqite on a Hugging Face Space). Results must still show, and go on by Send to."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import free_port
from webui.core.runtime import Settings
from webui.ui.app import Launched, launch

pytestmark = pytest.mark.browser


def _outside(root: Path) -> bool:
    return not any(root.resolve().is_relative_to(Path(d).resolve())
                   for d in (os.getcwd(), tempfile.gettempdir()))


@pytest.fixture
def space_app() -> Iterator[Launched]:
    root = Path.home() / f".zhiqite-space-test-{uuid.uuid4().hex[:8]}"
    if not _outside(root):
        pytest.skip(f"{root} is inside the working or temp directory here")
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=0.05)
    launched = launch(settings, port=free_port(), quiet=True)
    try:
        yield launched
    finally:
        launched.close()
        shutil.rmtree(root, ignore_errors=True)


def test_results_show_and_send_on_with_storage_outside_cwd_and_temp(
        browser: Any, space_app: Launched, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(space_app.url)
        prompt = page.locator("#txt2img_prompt textarea")
        page.locator("#txt2img_generate").wait_for()
        prompt.fill("a harbour in the rain")
        prompt.press("Control+Enter")
        page.locator("#txt2img_gallery img").first.wait_for()
        assert "Done: 1 image" in page.locator("#txt2img_status").inner_text()
        saved = list((space_app.runtime.settings.outputs_dir / "txt2img").rglob("*.png"))
        assert len(saved) == 1 and _outside(saved[0])
        page.locator("#txt2img_send_img2img").click()
        page.locator("#img2img_image img").first.wait_for()
        page.locator("#img2img_prompt textarea").fill("the same harbour at night")
        page.locator("#img2img_generate").click()
        page.locator("#img2img_gallery img").first.wait_for()
        assert "Done: 1 image" in page.locator("#img2img_status").inner_text()
        page.screenshot(path=str(tmp_path / "space-layout.png"))
        if shots := os.environ.get("ZHIQITE_SCREENSHOTS"):
            page.screenshot(path=str(Path(shots) / "space-layout.png"))
    finally:
        context.close()
