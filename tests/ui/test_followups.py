"""History's follow-ups of a result (Vary, Upscale x2, Detail faces, Outpaint): each sends
exactly the one request described, with the task's parameters, for its owner only, and opens
the new task; the cost line; any argument answered."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_history import VISITOR, generate, opened, owner
from tests.ui.test_tools import picture, upscale
from webui.core.followups import FollowUp, outpaint_canvas
from webui.core.store import TaskRecord

OTHER = "someone-else-0123456789"


def follow_up(ui: BuiltUi, kind: FollowUp, record: TaskRecord, selected: Any = None,
              visitor: str = VISITOR) -> TaskRecord | None:
    """The follow-up of `record`'s shown pictures, run to its end: the new task's record."""
    results = [image.path for image in record.images if image.shown]
    answer = ui.history.handlers[f"followup_{kind.value}"](ui.token(visitor), results,
                                                           selected)
    if not isinstance(answer, str):
        return None
    task_id = answer.split("|")[0]
    shown = opened(ui, task_id, visitor)
    assert shown[ui.history.panel.status].startswith("Done"), shown[ui.history.panel.status]
    return ui.ctx.runtime.store.get(task_id, owner(ui, visitor))


def made(ui: BuiltUi, prompt: str, **values: Any) -> TaskRecord:
    generate(ui, prompt, **values)
    return ui.ctx.runtime.store.list(owner(ui), limit=1)[0]


def sent_picture(ui: BuiltUi, url: str) -> np.ndarray:
    """A picture the follow-up gave the service: hosted by the app, or the service's own."""
    hosted = ui.ctx.runtime.local_host.path_for(url)
    if hosted is not None:
        return np.asarray(Image.open(hosted).convert("RGB")).astype(int)
    record = next(r for r in ui.ctx.runtime.store.list(owner(ui), limit=50)
                  for image in r.images if image.url == url)
    path = next(image.path for image in record.images if image.url == url)
    return np.asarray(Image.open(path or "").convert("RGB")).astype(int)


def test_vary_sends_img2img_of_the_chosen_picture_with_its_parameters(
        ui: BuiltUi, said: list[str]) -> None:
    source = made(ui, "a red kite, <lora:x:0.5>", seed=321, batch_size=2, cfg_scale=9)
    for kind, denoising in ((FollowUp.VARY_SUBTLE, 0.5), (FollowUp.VARY_STRONG, 0.85)):
        record = follow_up(ui, kind, source, selected=1)
        assert record is not None and record.kind == "image2image"
        request = record.request
        assert request["denoising_strength"] == denoising
        assert int(request["seed"]) == -1 and request["batch_size"] == 1 and request["n_iter"] == 1
        assert request["prompt"] == "a red kite, <lora:x:0.5>" and request["cfg_scale"] == 9
        assert (request["width"], request["height"]) == (64, 64)
        scripts = request["alwayson_scripts"]
        assert scripts["sd_model_checkpoint"] == source.request["alwayson_scripts"][
            "sd_model_checkpoint"]
        # the second picture (selected) is the one sent, not the first
        second = np.asarray(Image.open(source.images[1].path or "").convert("RGB")).astype(int)
        assert np.array_equal(sent_picture(ui, scripts["image_link"]), second)
        assert record.images and record.images[0].shown
    assert said.count("Vary (subtle): sent; it opens here.") == 1
    assert "Vary (strong): sent; it opens here." in said


def test_outpaint_grows_the_canvas_and_paints_only_the_new_strip(ui: BuiltUi) -> None:
    source = made(ui, "a lighthouse")
    record = follow_up(ui, FollowUp.OUTPAINT_RIGHT, source)
    assert record is not None and record.kind == "image2image"
    request = record.request
    assert (request["width"], request["height"]) == (128, 64)  # a strip of at least 64
    assert request["inpainting_fill"] == 0 and request["denoising_strength"] == 0.9
    assert request["mask_blur"] == 8 and request["inpainting_mask_invert"] == 0
    scripts = request["alwayson_scripts"]
    canvas = sent_picture(ui, scripts["image_link"])
    mask = sent_picture(ui, scripts["mask_link"])[:, :, 0]
    assert canvas.shape == (64, 128, 3)
    original = np.asarray(Image.open(source.images[0].path or "").convert("RGB")).astype(int)
    assert np.array_equal(canvas[:, :64], original)  # the picture on the left, as it was
    assert (mask[:, 64 - 16:] == 255).all() and (mask[:, :64 - 16] == 0).all()
    result = np.asarray(Image.open(record.images[0].path or "").convert("RGB")).astype(int)
    changed = np.abs(result - canvas).sum(axis=2) > 0
    assert changed[:, 64:].mean() > 0.5  # the new strip painted
    assert not changed[:, :20].any()  # the picture kept, away from the seam and its blur


@pytest.mark.parametrize("side", [FollowUp.OUTPAINT_LEFT, FollowUp.OUTPAINT_RIGHT,
                                  FollowUp.OUTPAINT_UP, FollowUp.OUTPAINT_DOWN])
def test_the_outpaint_canvas_fits_the_api_on_every_side(side: FollowUp) -> None:
    picture_ = gradient(1000, 600)
    canvas, mask = outpaint_canvas(picture_, side)
    assert max(canvas.size) <= 1024 and canvas.width % 8 == 0 and canvas.height % 8 == 0
    assert mask.size == canvas.size
    box = mask.getbbox()
    assert box is not None
    across = side in (FollowUp.OUTPAINT_LEFT, FollowUp.OUTPAINT_RIGHT)
    strip = (box[2] - box[0]) if across else (box[3] - box[1])
    assert 64 <= strip <= (canvas.width if across else canvas.height) // 2
    # the strip is on the side asked for
    touches = {FollowUp.OUTPAINT_LEFT: box[0] == 0, FollowUp.OUTPAINT_RIGHT: box[2] == canvas.width,
               FollowUp.OUTPAINT_UP: box[1] == 0, FollowUp.OUTPAINT_DOWN: box[3] == canvas.height}
    assert touches[side]


def test_upscale_and_detail_faces_send_their_one_request(ui: BuiltUi) -> None:
    source = made(ui, "a portrait", cfg_scale=5)
    upscaled = follow_up(ui, FollowUp.UPSCALE, source)
    assert upscaled is not None and upscaled.kind == "enhance"
    assert upscaled.request["upscalingResize"] == 2 and upscaled.request["resizeMode"] == 0
    assert upscaled.images[0].shown
    with Image.open(upscaled.images[0].path or "") as image:
        assert image.size == (128, 128)
    faces = follow_up(ui, FollowUp.DETAIL_FACES, source)
    assert faces is not None and faces.kind == "image2image"
    assert faces.request["denoising_strength"] == 0 and faces.request["cfg_scale"] == 5
    units = faces.request["alwayson_scripts"]["ADetailer"]["args"]
    assert [unit["ad_model"] for unit in units] == ["face_yolov8n.pt"]


def test_a_tool_result_is_upscaled_and_the_rest_say_why_not(ui: BuiltUi, tmp_path: Path,
                                                             said: list[str]) -> None:
    upscale(ui, image=picture(tmp_path, "in.png", gradient(64, 64)))
    tool = ui.ctx.runtime.store.list(owner(ui), limit=1)[0]
    before = len(ui.ctx.runtime.store.list(owner(ui), limit=50))
    for kind in (FollowUp.VARY_SUBTLE, FollowUp.DETAIL_FACES, FollowUp.OUTPAINT_UP):
        assert follow_up(ui, kind, tool) is None
    assert said == ["This picture has no prompt (a tool made it): send it to img2img and "
                    "write one there."] * 3
    assert len(ui.ctx.runtime.store.list(owner(ui), limit=50)) == before
    record = follow_up(ui, FollowUp.UPSCALE, tool)
    assert record is not None and record.kind == "enhance"


def test_only_the_owner_follows_up_and_the_cost_is_shown(ui: BuiltUi, said: list[str]) -> None:
    source = made(ui, "a red kite")
    before = len(ui.ctx.runtime.store.list(owner(ui), limit=50))
    assert follow_up(ui, FollowUp.VARY_SUBTLE, source, visitor=OTHER) is None
    assert said == ["That task is gone (deleted, or not yours)."]
    assert len(ui.ctx.runtime.store.list(owner(ui), limit=50)) == before
    assert ui.ctx.runtime.store.list(owner(ui, OTHER), limit=5) == []
    bill = opened(ui, source.id)[ui.history.followups.bill]
    assert bill.startswith("Each follow-up of the picture") and "1 task, 1 image" in bill


def test_followups_answer_any_argument(ui: BuiltUi, tmp_path: Path) -> None:
    made(ui, "a red kite")
    elsewhere = picture(tmp_path, "not-a-result.png", gradient(64, 64))
    before = len(ui.ctx.runtime.store.list(owner(ui), limit=50))
    with warnings.catch_warnings(record=True):  # each answer is a toast
        warnings.simplefilter("always")
        for kind in FollowUp:
            handler = ui.history.handlers[f"followup_{kind.value}"]
            for junk in (None, 3, [], {"a": 1}, "x" * 100_000, [None], ["/etc/passwd"],
                         [elsewhere], ["../../" * 50], [str(tmp_path)], -1, 10**30):
                for who in (ui.token(VISITOR), None, "forged", junk):
                    assert handler(who, junk, junk) is not None
    assert len(ui.ctx.runtime.store.list(owner(ui), limit=50)) == before  # nothing sent
