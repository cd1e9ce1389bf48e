"""Extras and Face swap handlers without a browser: uploads hosted, one task per image, results
on disk with their parameters, before/after pairs, and refusals before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.images import drawn_face, gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_txt2img import merged, value
from webui.core.infotext import parse
from webui.ui.tasks import read_last_tasks


def picture(tmp_path: Path, name: str, image: Image.Image) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


def upscale(ui: BuiltUi, *, mode: str = "single", image: str | None = None,
            batch: list[str] | None = None, **values: Any) -> dict[Any, Any]:
    tab = ui.extras
    data = ui.tool_data({tab.mode: mode, tab.image: image, tab.batch: batch}, form=tab.form,
                        **values)
    return merged(list(tab.run(data)))


def swap(ui: BuiltUi, source: str | None, *, target: str | None = None,
         targets: list[str] | None = None) -> dict[Any, Any]:
    tab = ui.faceswap
    data = ui.tool_data({tab.mode: "batch" if targets else "single", tab.source: source,
                         tab.target: target, tab.targets: targets})
    return merged(list(tab.run(data)))


def started(ui: BuiltUi) -> int:
    return ui.stats().tasks_started


def test_scale_by_doubles_and_keeps_the_parameters(ui: BuiltUi, tmp_path: Path) -> None:
    final = upscale(ui, image=picture(tmp_path, "in.png", gradient(160, 96)), scale=2,
                    upscaler1="Lanczos")
    tab = ui.extras.results
    paths = final[tab.panel.results]
    assert len(paths) == 1
    assert Path(paths[0]).parent.parent.name == "extras"
    with Image.open(paths[0]) as out:
        assert out.size == (320, 192)
        fields = parse(out.info["parameters"])
    assert fields["Postprocess upscale by"] == "2" and fields["Postprocess upscaler"] == "Lanczos"
    before, after = final[tab.pairs][0]
    assert after == paths[0] and before and Image.open(before).size == (160, 96)
    assert value(final[tab.slider]) is not None
    remembered = read_last_tasks(final[ui.last_tasks])["extras"]
    batch = ui.ctx.submissions.batch("visitor-0123456789abcdef", remembered)
    assert batch is not None and len(batch.task_ids) == 1


def test_scale_to_crops_to_the_size(ui: BuiltUi, tmp_path: Path) -> None:
    final = upscale(ui, image=picture(tmp_path, "in.png", gradient(200, 100)),
                    resize_mode="Scale to", width=256, height=256, crop=True)
    with Image.open(final[ui.extras.results.panel.results][0]) as out:
        assert out.size == (256, 256)


def test_batch_makes_one_task_per_image(ui: BuiltUi, tmp_path: Path) -> None:
    files = [picture(tmp_path, f"{n}.png", gradient(64 + 16 * n, 64)) for n in range(3)]
    final = upscale(ui, mode="batch", batch=files, scale=3)
    paths = final[ui.extras.results.panel.results]
    assert [Image.open(p).size for p in paths] == [(192, 192), (240, 192), (288, 192)]
    assert started(ui) == 3
    assert "3 of 3 succeeded" in final[ui.extras.results.panel.status]
    batch = ui.ctx.submissions.batch("visitor-0123456789abcdef",
                                     read_last_tasks(final[ui.last_tasks])["extras"])
    assert batch is not None and len(batch.task_ids) == 3


@pytest.mark.parametrize(("size", "words"), [((1600, 64), "1600x64"),
                                             ((64, 1537), "1537")])
def test_inputs_over_1536_are_refused_before_sending(ui: BuiltUi, tmp_path: Path,
                                                      size: tuple[int, int], words: str) -> None:
    with pytest.warns(UserWarning) as warned:
        upscale(ui, image=picture(tmp_path, "big.png", gradient(*size)))
    messages = [str(w.message) for w in warned]
    assert any("Source image" in m and words in m and "1536x1536" in m for m in messages)
    assert ui.stats().calls == {} and not any((ui.ctx.runtime.settings.data_dir / "uploads").iterdir())


def test_a_bad_batch_file_stops_the_whole_batch(ui: BuiltUi, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    good = picture(tmp_path, "ok.png", gradient(64, 64))
    with pytest.warns(UserWarning) as warned:
        upscale(ui, mode="batch", batch=[good, str(bad)])
    assert any("Image 2: not a readable image" in str(w.message) for w in warned)
    assert ui.stats().calls == {}


def test_no_image_and_out_of_range_values_are_named(ui: BuiltUi, tmp_path: Path) -> None:
    with pytest.warns(UserWarning) as warned:
        upscale(ui)
        upscale(ui, image=picture(tmp_path, "in.png", gradient(64, 64)), scale=9)
    messages = [str(w.message) for w in warned]
    assert any(m.startswith("Source image: image is required") for m in messages)
    assert any(m.startswith("Resize (scale by):") and "[1, 8]" in m for m in messages)
    assert ui.stats().calls == {}


def test_face_swap_puts_the_source_face_on_the_target(ui: BuiltUi, tmp_path: Path) -> None:
    source = picture(tmp_path, "face.png", drawn_face(256))
    target = picture(tmp_path, "target.png", drawn_face(256, skin=(180, 130, 100)))
    final = swap(ui, source, target=target)
    paths = final[ui.faceswap.results.panel.results]
    assert len(paths) == 1 and Path(paths[0]).parent.parent.name == "faceswap"
    result = Image.open(paths[0]).convert("RGB")
    # the target's darker skin is replaced by the source's lighter one in the middle
    assert sum(result.getpixel((128, 150))) > sum(Image.open(target).convert("RGB")
                                                  .getpixel((128, 150))) + 60


def test_face_swap_batch_and_a_clear_failure(ui: BuiltUi, tmp_path: Path) -> None:
    source = picture(tmp_path, "face.png", drawn_face(256))
    targets = [picture(tmp_path, "t1.png", drawn_face(256, skin=(200, 160, 130))),
               picture(tmp_path, "t2.png", gradient(256, 256))]  # no face in it
    with pytest.warns(UserWarning) as warned:
        final = swap(ui, source, targets=targets)
    status = final[ui.faceswap.results.panel.status]
    assert "1 of 2 succeeded" in status and "no face found in the target image" in status
    assert any("no face found" in str(w.message) for w in warned)
    assert len(final[ui.faceswap.results.panel.results]) == 1


def test_face_swap_needs_both_images(ui: BuiltUi, tmp_path: Path) -> None:
    with pytest.warns(UserWarning) as warned:
        swap(ui, None, target=picture(tmp_path, "t.png", drawn_face(128)))
        swap(ui, picture(tmp_path, "s.png", drawn_face(128)))
    messages = [str(w.message) for w in warned]
    assert any(m.startswith("Source face:") for m in messages)
    assert any(m.startswith("Target image:") for m in messages)
    assert ui.stats().calls == {}
