"""img2img handlers without a browser: uploads hosted by the app, every resize mode and every
inpaint mode through the offline backend; inpainting changes only the masked area."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_txt2img import merged

SIZE = 256
BOX = (96, 96, 159, 159)  # the painted square
BLUR = 4


def init_file(tmp_path: Path) -> str:
    path = tmp_path / "init.png"
    gradient(SIZE, SIZE).save(path)
    return str(path)


def mask_file(tmp_path: Path) -> str:
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).rectangle(BOX, fill=255)
    path = tmp_path / "mask.png"
    mask.save(path)
    return str(path)


def editor_value() -> dict[str, Any]:
    background = gradient(SIZE, SIZE).convert("RGBA")
    layer = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(layer).rectangle(BOX, fill=(255, 255, 255, 255))  # the brush stroke
    return {"background": background, "layers": [layer], "composite": background}


def run(ui: BuiltUi, mode: str, images: dict[str, Any], **values: Any) -> dict[Any, Any]:
    tab = ui.img2img
    data = ui.data(tab=tab, prompt="a red door", **{"width": SIZE, "height": SIZE, "steps": 10,
                                                     **values})
    data.update({tab.mode: mode, tab.init_image: None, tab.editor: None, tab.upload_image: None,
                 tab.upload_mask: None, tab.image_url: "", tab.scale_by: 1})
    data.update({getattr(tab, name): value for name, value in images.items()})
    return merged(list(tab.generate(data)))


def result(ui: BuiltUi, final: dict[Any, Any]) -> np.ndarray:
    paths = final.get(ui.img2img.panel.results) or []
    assert len(paths) == 1, final.get(ui.img2img.panel.status)
    return np.asarray(Image.open(paths[0]).convert("RGB")).astype(int)


def sent(ui: BuiltUi, final: dict[Any, Any]) -> dict[str, Any]:
    return json.loads(final[ui.img2img.request_json])


@pytest.mark.parametrize("resize_mode", [0, 1, 2, 3])
def test_every_resize_mode(ui: BuiltUi, tmp_path: Path, resize_mode: int) -> None:
    final = run(ui, "img2img", {"init_image": init_file(tmp_path)}, resize_mode=resize_mode,
                width=320, height=192)
    assert result(ui, final).shape == (192, 320, 3)
    body = sent(ui, final)
    assert body["resize_mode"] == resize_mode
    assert body["alwayson_scripts"]["image_link"].startswith(
        ui.ctx.runtime.engine.public_url + "/api/zhiqite/uploads/")
    assert "mask_link" not in body["alwayson_scripts"] and "inpainting_fill" not in body


def test_resize_by_scales_the_uploaded_image(ui: BuiltUi, tmp_path: Path) -> None:
    final = run(ui, "img2img", {"init_image": init_file(tmp_path), "scale_by": 1.5})
    assert result(ui, final).shape == (384, 384, 3)


def outside(mask_box: tuple[int, int, int, int], margin: int) -> np.ndarray:
    keep = np.ones((SIZE, SIZE), bool)
    x0, y0, x1, y1 = mask_box
    keep[max(0, y0 - margin):y1 + margin + 1, max(0, x0 - margin):x1 + margin + 1] = False
    return keep


@pytest.mark.parametrize("masked_content", [0, 1, 2, 3])
@pytest.mark.parametrize("inpaint_area", [0, 1])
def test_inpaint_changes_only_the_painted_area(ui: BuiltUi, masked_content: int,
                                               inpaint_area: int) -> None:
    final = run(ui, "inpaint", {"editor": editor_value()}, masked_content=masked_content,
                inpaint_area=inpaint_area, mask_blur=BLUR, denoising_strength=0.9)
    image, init = result(ui, final), np.asarray(gradient(SIZE, SIZE).convert("RGB")).astype(int)
    keep = outside(BOX, 3 * BLUR)
    assert np.array_equal(image[keep], init[keep]), "pixels outside the mask changed"
    x0, y0, x1, y1 = BOX
    assert np.abs(image[y0:y1, x0:x1] - init[y0:y1, x0:x1]).mean() > 10, "the mask was ignored"
    body = sent(ui, final)
    assert (body["inpainting_fill"], body["inpaint_full_res"]) == (masked_content,
                                                                   bool(inpaint_area))
    assert body["alwayson_scripts"]["mask_link"].startswith(ui.ctx.runtime.engine.public_url)


def test_inpaint_not_masked_keeps_the_painted_area(ui: BuiltUi) -> None:
    final = run(ui, "inpaint", {"editor": editor_value()}, mask_mode=1, mask_blur=BLUR)
    image, init = result(ui, final), np.asarray(gradient(SIZE, SIZE).convert("RGB")).astype(int)
    x0, y0, x1, y1 = BOX
    m = 3 * BLUR
    inner = (slice(y0 + m, y1 - m), slice(x0 + m, x1 - m))
    assert np.array_equal(image[inner], init[inner])
    assert sent(ui, final)["inpainting_mask_invert"] == 1


def test_inpaint_upload_uses_the_uploaded_mask(ui: BuiltUi, tmp_path: Path) -> None:
    final = run(ui, "inpaint_upload", {"upload_image": init_file(tmp_path),
                                       "upload_mask": mask_file(tmp_path)}, mask_blur=BLUR)
    image, init = result(ui, final), np.asarray(gradient(SIZE, SIZE).convert("RGB")).astype(int)
    keep = outside(BOX, 3 * BLUR)
    assert np.array_equal(image[keep], init[keep])


@pytest.mark.parametrize("mode, images, message", [
    ("img2img", {}, "Image: image_link is empty: upload an image or paste its URL"),
    ("inpaint", {"editor": {"background": gradient(SIZE, SIZE), "layers": [], "composite": None}},
     "Mask: mask_link is empty: paint the area to change"),
    ("img2img", {"image_url": "file:///etc/passwd"}, "Image: image_link must be an http"),
])
def test_missing_or_bad_images_are_refused_before_any_call(ui: BuiltUi, mode: str,
                                                           images: dict, message: str) -> None:
    with pytest.warns(UserWarning) as warned:
        assert run(ui, mode, images) == {}
    assert any(str(w.message).startswith(message) for w in warned), [str(w.message)
                                                                      for w in warned]
    assert ui.stats().calls == {}


def test_refused_upload_says_why(ui: BuiltUi, tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"GIF89a not really")
    with pytest.warns(UserWarning, match="Image: not a readable image"):
        assert run(ui, "img2img", {"init_image": str(bad)}) == {}
    assert list((ui.ctx.runtime.settings.data_dir / "uploads").glob("*.png")) == []


def test_pasted_public_url_is_sent_as_is(ui: BuiltUi, image_host: Any) -> None:
    from tests.helpers.images import png

    url = image_host.put(png(gradient(SIZE, SIZE)))
    final = run(ui, "img2img", {"image_url": url})
    assert sent(ui, final)["alwayson_scripts"]["image_link"] == url
    result(ui, final)
