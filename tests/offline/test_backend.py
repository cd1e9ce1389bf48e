"""The offline backend behaves like the service, and its pictures honestly reflect requests."""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
import requests
from fastapi import FastAPI, Response
from fastapi.responses import RedirectResponse
from PIL import Image

from tests.conftest import new_id, t2i, wait_sd, wait_tool
from tests.helpers.images import decode, drawn_face, gradient, outline, png, rectangle_mask
from tests.helpers.servers import CallbackReceiver, ImageHost
from webui.api import ZhiqiteClient
from webui.api.models import TaskInfoResponse, TaskState, ToolTaskResponse
from webui.offline.__main__ import config_from, parse_args
from webui.offline.server import OfflineServer, ThreadedServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "requests"
API = "/AIGCImgOpenServ/"


def result_images(info: Any) -> list[Image.Image]:
    return [decode(requests.get(img.image_url, timeout=5).content)
            for img in info.differentialImageRspList]


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)


# --- the examples, verbatim ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["text2image", "image2image", "controlnet", "roop", "enhance"])
def test_reference_examples_accepted_verbatim(offline: OfflineServer, name: str) -> None:
    """Sent as printed (no batch_size, public image URLs): the submit succeeds; URLs the
    backend cannot fetch fail the task with a reason, never the submit."""
    raw = (FIXTURES / f"{name}.json").read_bytes()
    body = json.loads(raw)
    # Each test run needs its own id: the examples all use the same one.
    task_id = new_id("ex")
    if "businessTaskId" in body:
        body["businessTaskId"] = task_id
    else:
        scripts = body.get("alwayson_scripts") or body["always_on_scripts"]
        scripts["id_task"] = task_id
    answer = requests.post(f"{offline.url}{API}saas/{'tool' if name in ('roop', 'enhance') else 'sd/v2'}/{name}",
                           data=json.dumps(body, ensure_ascii=False).encode(),
                           headers={"Content-Type": "application/json;charset=UTF-8"},
                           timeout=5).json()
    assert answer["code"] == "200", answer
    client = ZhiqiteClient(base_url=offline.url)
    if name in ("roop", "enhance"):
        info = wait_tool(client, name, task_id, timeout=60)
        assert info.status == 0 and info.desc.startswith("Task failed: could not fetch the")
    else:
        info = wait_sd(client, task_id, timeout=60)
        if name == "text2image":  # no image to fetch: it renders
            assert info.state is TaskState.SUCCEEDED
            assert decode(requests.get(info.differentialImageRspList[0].image_url,
                                       timeout=5).content).size == (768, 768)
        else:
            assert info.state is TaskState.FAILED
            assert info.desc.startswith("Task failed: could not fetch the"), info.desc


# --- progress, previews, results -------------------------------------------------------------


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.1}], indirect=True)
def test_progress_and_preview_change_step_by_step(fresh_offline: OfflineServer) -> None:
    client = ZhiqiteClient(base_url=fresh_offline.url)
    task_id = new_id()
    client.text2image(t2i(task_id, steps=20, n_iter=2))
    seen_states, progress, previews, jobs = [], [], set(), set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = client.query_task(task_id).data
        seen_states.append(info.state)
        if info.temporaryImageDto:
            progress.append(info.temporaryImageDto.progress)
            previews.add(info.temporaryImageDto.currentImage)
            jobs.add((info.temporaryImageDto.jobNo, info.temporaryImageDto.jobCount))
        if info.state.is_terminal:
            break
        time.sleep(0.005)
    assert seen_states[0] is TaskState.QUEUED and seen_states[-1] is TaskState.SUCCEEDED
    assert TaskState.UPLOADING in seen_states and TaskState.GENERATING in seen_states
    assert progress == sorted(progress) and len(set(progress)) >= 5, progress
    assert len(previews) >= 5  # a new picture as the steps advance
    assert jobs == {(1, 2), (2, 2)}
    preview = Image.open(io.BytesIO(base64.b64decode(next(iter(previews)))))
    assert preview.format == "JPEG" and max(preview.size) <= 256


def test_image_count_size_and_seeds(client: ZhiqiteClient) -> None:
    task_id = new_id()
    client.text2image(t2i(task_id, n_iter=2, batch_size=3, width=320, height=192, seed=77))
    info = wait_sd(client, task_id)
    images = result_images(info)
    assert len(images) == 6 and {im.size for im in images} == {(320, 192)}
    assert [r.seed for r in info.differentialImageRspList] == list(range(77, 83))
    assert len({im.tobytes() for im in images}) == 6  # each seed its own picture


def test_deterministic_by_seed_and_random_seed_reported(client: ZhiqiteClient) -> None:
    first, second, random_a, random_b = new_id(), new_id(), new_id(), new_id()
    for task_id, seed in ((first, 5), (second, 5), (random_a, -1), (random_b, -1)):
        client.text2image(t2i(task_id, seed=seed))
    a, b = (requests.get(wait_sd(client, t).differentialImageRspList[0].image_url,
                         timeout=5).content for t in (first, second))
    assert a == b
    seeds = [wait_sd(client, t).differentialImageRspList[0].seed for t in (random_a, random_b)]
    assert all(0 <= s < 2**32 for s in seeds) and seeds[0] != seeds[1]


@pytest.mark.parametrize("change", [{"prompt": "a forest"}, {"sampler_index": "DPM++ 2M"},
                                    {"steps": 30}, {"cfg_scale": 15}])
def test_picture_depends_on_each_parameter(client: ZhiqiteClient, change: dict) -> None:
    base, other = new_id(), new_id()
    client.text2image(t2i(base, seed=9))
    client.text2image(t2i(other, seed=9, **change))
    a, b = (pixels(result_images(wait_sd(client, t))[0]) for t in (base, other))
    assert np.abs(a - b).mean() > 1.0


def test_hires_fix_output_size_x_is_width(client: ZhiqiteClient) -> None:
    task_id = new_id()
    client.text2image(t2i(task_id, width=256, height=128, enable_hr=True, hr_resize_x=640,
                          hr_resize_y=0))
    assert result_images(wait_sd(client, task_id))[0].size == (640, 320)
    scaled = new_id()
    client.text2image(t2i(scaled, width=128, height=64, enable_hr=True, hr_scale=2))
    assert result_images(wait_sd(client, scaled))[0].size == (256, 128)


def test_jpg_by_default_png_on_request(client: ZhiqiteClient) -> None:
    task_id = new_id()
    body = t2i(task_id)
    del body["alwayson_scripts"]["output_image_format"]
    client.text2image(body)
    url = wait_sd(client, task_id).differentialImageRspList[0].image_url
    assert url.endswith(".jpg") and decode(requests.get(url, timeout=5).content).format == "JPEG"


def test_unknown_lora_ignored_with_a_note(client: ZhiqiteClient) -> None:
    task_id = new_id()
    client.text2image(t2i(task_id, prompt="cat <lora:no_such_lora:0.8> <lora:add_detail_58390:1>"))
    info = wait_sd(client, task_id)
    assert info.state is TaskState.SUCCEEDED
    assert "LoRA 'no_such_lora' is not available and was ignored" in info.desc
    assert "add_detail" not in info.desc


def test_known_lora_changes_the_picture(client: ZhiqiteClient) -> None:
    plain, with_lora = new_id(), new_id()
    client.text2image(t2i(plain, seed=3, prompt="cat"))
    client.text2image(t2i(with_lora, seed=3, prompt="cat <lora:add_detail_58390:1>"))
    a, b = (pixels(result_images(wait_sd(client, t))[0]) for t in (plain, with_lora))
    assert np.abs(a - b).mean() > 1.0


def test_unknown_vae_fails_the_submit(client: ZhiqiteClient) -> None:
    from webui.api import ServiceError

    with pytest.raises(ServiceError, match="sd_vae 'nope.pt' is not a known VAE"):
        client.text2image(t2i(scripts={"sd_vae": "nope.pt"}))


# --- img2img and inpaint ---------------------------------------------------------------------


def test_img2img_starts_from_the_init_image(client: ZhiqiteClient, image_host: ImageHost) -> None:
    init = gradient(256, 256)
    url = image_host.put(png(init))
    low, high = new_id(), new_id()
    client.image2image(t2i(low, denoising_strength=0.1, scripts={"image_link": url}))
    client.image2image(t2i(high, denoising_strength=0.9, scripts={"image_link": url}))
    near, far = (np.abs(pixels(result_images(wait_sd(client, t))[0]) - pixels(init)).mean()
                 for t in (low, high))
    assert near < far and near < 20


@pytest.mark.parametrize("resize_mode", [0, 1, 2, 3])
def test_img2img_resize_modes(client: ZhiqiteClient, image_host: ImageHost,
                              resize_mode: int) -> None:
    url = image_host.put(png(gradient(300, 150)))
    task_id = new_id()
    client.image2image(t2i(task_id, width=256, height=256, resize_mode=resize_mode,
                           denoising_strength=0.0, scripts={"image_link": url}))
    out = pixels(result_images(wait_sd(client, task_id))[0])
    assert out.shape == (256, 256, 3)
    # denoising 0 shows the fitted init image: stretched, cropped, letterboxed or blurred.
    left_red, right_red = out[128, 5, 0], out[128, 250, 0]
    assert right_red > left_red + 100 if resize_mode != 1 else right_red > left_red + 40


@pytest.mark.parametrize("fill", [0, 1, 2, 3])
@pytest.mark.parametrize("full_res", [False, True])
def test_inpaint_changes_only_the_masked_area(client: ZhiqiteClient, image_host: ImageHost,
                                              fill: int, full_res: bool) -> None:
    size, box, blur = 256, (96, 96, 160, 160), 4
    init = gradient(size, size)
    task_id = new_id()
    client.image2image(t2i(
        task_id, width=size, height=size, denoising_strength=0.8, mask_blur=blur,
        inpainting_fill=fill, inpaint_full_res=full_res, inpaint_full_res_padding=16,
        scripts={"image_link": image_host.put(png(init)),
                 "mask_link": image_host.put(png(rectangle_mask(size, size, box)))}))
    out, before = pixels(result_images(wait_sd(client, task_id))[0]), pixels(init)
    reach = 3 * blur  # beyond the blur's reach, nothing may change
    outside = np.ones((size, size), bool)
    outside[box[1] - reach:box[3] + reach, box[0] - reach:box[2] + reach] = False
    assert np.array_equal(out[outside], before[outside])
    inside = np.s_[box[1] + reach:box[3] - reach, box[0] + reach:box[2] - reach]
    assert np.abs(out[inside] - before[inside]).mean() > 10


def test_inpaint_not_masked_inverts(client: ZhiqiteClient, image_host: ImageHost) -> None:
    size, box = 128, (32, 32, 96, 96)
    init = gradient(size, size)
    task_id = new_id()
    client.image2image(t2i(task_id, width=size, height=size, denoising_strength=0.9,
                           inpainting_mask_invert=1,
                           scripts={"image_link": image_host.put(png(init)),
                                    "mask_link": image_host.put(png(rectangle_mask(size, size,
                                                                                   box)))}))
    out, before = pixels(result_images(wait_sd(client, task_id))[0]), pixels(init)
    assert np.array_equal(out[40:88, 40:88], before[40:88, 40:88])
    assert np.abs(out[:20] - before[:20]).mean() > 10


# --- ControlNet, ADetailer --------------------------------------------------------------------


def test_controlnet_follows_the_control_image(client: ZhiqiteClient,
                                              image_host: ImageHost) -> None:
    size, box = 256, (64, 64, 192, 192)
    control = image_host.put(png(outline(size, size, box)))
    plain, guided = new_id(), new_id()
    client.text2image(t2i(plain, seed=11))
    body = t2i(guided, seed=11, scripts={"controlnet": {"args": [{
        "module": "canny", "model": "control_v11p_sd15_canny", "image_link": control,
        "weight": 1.0, "control_mode": "ControlNet is more important"}]}})
    body["always_on_scripts"] = body.pop("alwayson_scripts")
    client.controlnet(body)
    a, b = (pixels(result_images(wait_sd(client, t))[0]).mean(axis=2) for t in (plain, guided))
    diff = np.abs(a - b)
    edge = np.zeros((size, size), bool)
    edge[box[1] - 3:box[1] + 6, box[0]:box[2]] = True  # top edge of the rectangle
    edge[box[1]:box[3], box[0] - 3:box[0] + 6] = True  # left edge
    assert diff[edge].mean() > 10 * max(diff[~edge].mean(), 0.5)


def test_controlnet_weight_zero_changes_nothing(client: ZhiqiteClient,
                                                image_host: ImageHost) -> None:
    control = image_host.put(png(outline(128, 128, (30, 30, 90, 90))))
    plain, weightless = new_id(), new_id()
    client.text2image(t2i(plain, seed=4, width=128, height=128))
    client.controlnet(t2i(weightless, seed=4, width=128, height=128, scripts={"controlnet": {
        "args": [{"module": "canny", "model": "control_v11p_sd15_canny",
                  "image_link": control, "weight": 0}]}}))
    a, b = (result_images(wait_sd(client, t))[0].tobytes() for t in (plain, weightless))
    assert a == b


@pytest.mark.parametrize("module", ["depth_midas", "lineart_realistic", "mlsd", "normal_bae",
                                    "openpose", "scribble_xdog", "seg_ufade20k",
                                    "inpaint_global_harmonious"])
def test_every_preprocessor_runs(client: ZhiqiteClient, image_host: ImageHost,
                                 module: str) -> None:
    control = image_host.put(png(drawn_face(128)))
    task_id = new_id()
    client.controlnet(t2i(task_id, width=128, height=128, scripts={"controlnet": {"args": [
        {"module": module, "model": "control_v11p_sd15_canny", "image_link": control}]}}))
    assert wait_sd(client, task_id).state is TaskState.SUCCEEDED


def test_adetailer_marks_the_regions_it_refines(client: ZhiqiteClient) -> None:
    plain, detailed = new_id(), new_id()
    client.text2image(t2i(plain, seed=21))
    client.text2image(t2i(detailed, seed=21, scripts={"ADetailer": {"args": [
        {"ad_model": "face_yolov8n.pt", "ad_denoising_strength": 0.5}]}}))
    a, b = (pixels(result_images(wait_sd(client, t))[0]) for t in (plain, detailed))
    changed = np.abs(a - b).sum(axis=2) > 0
    ys, xs = np.nonzero(changed)
    assert changed.any() and changed.mean() < 0.25  # a region, not the whole picture
    # the outline colour of the marking is present
    assert (np.abs(b - np.array([255, 64, 160])).sum(axis=2) < 40).sum() > 50
    assert xs.max() - xs.min() > 20 and ys.max() - ys.min() > 20


# --- tools ---------------------------------------------------------------------------------------


def test_enhance_really_resizes(client: ZhiqiteClient, image_host: ImageHost) -> None:
    source = gradient(200, 120)
    url = image_host.put(png(source))
    by, to = new_id("e"), new_id("e")
    client.enhance({"businessTaskId": by, "image": url, "upscalingResize": 2})
    client.enhance({"businessTaskId": to, "image": url, "resizeMode": 1, "upscalingResizeW": 300,
                    "upscalingResizeH": 300, "upscalingCrop": True})
    doubled = decode(requests.get(wait_tool(client, "enhance", by).outputImageUrl,
                                  timeout=5).content)
    squared = decode(requests.get(wait_tool(client, "enhance", to).outputImageUrl,
                                  timeout=5).content)
    assert doubled.size == (400, 240) and squared.size == (300, 300)
    shrunk = doubled.resize(source.size, Image.Resampling.LANCZOS)
    assert np.abs(pixels(shrunk) - pixels(source)).mean() < 3  # the same picture, larger


def test_enhance_refuses_inputs_over_1536(client: ZhiqiteClient, image_host: ImageHost) -> None:
    url = image_host.put(png(Image.new("RGB", (1600, 64))))
    task_id = new_id("e")
    client.enhance({"businessTaskId": task_id, "image": url})
    info = wait_tool(client, "enhance", task_id)
    assert info.status == 0 and "1600x64" in info.desc and "1536x1536" in info.desc


def test_roop_places_the_source_face(client: ZhiqiteClient, image_host: ImageHost) -> None:
    source = drawn_face(200, skin=(250, 215, 180), background=(20, 160, 40))
    target = drawn_face(256, skin=(180, 130, 100))
    task_id = new_id("r")
    submitted = client.roop({"businessTaskId": task_id, "sourceUrl": image_host.put(png(source)),
                             "targetUrl": image_host.put(png(target))})
    # As the vendor's sample: status 1 with the URL at once; it serves only when done.
    assert submitted.data.status == 1 and submitted.data.outputImageUrl
    info = wait_tool(client, "roop", task_id)
    assert info.status == 2 and info.outputImageUrl == submitted.data.outputImageUrl
    out = pixels(decode(requests.get(info.outputImageUrl, timeout=5).content))
    before = pixels(target)
    cheek = np.s_[150:170, 70:100]
    assert out[cheek].mean() > before[cheek].mean() + 15  # the lighter face is in place
    assert np.array_equal(out[:8, :8], before[:8, :8])  # far from the face, unchanged


def test_roop_without_a_face_fails_clearly(client: ZhiqiteClient, image_host: ImageHost) -> None:
    task_id = new_id("r")
    client.roop({"businessTaskId": task_id, "sourceUrl": image_host.put(png(gradient(128, 128))),
                 "targetUrl": image_host.put(png(drawn_face()))})
    info = wait_tool(client, "roop", task_id)
    assert info.status == 0 and info.desc == "Task failed: no face found in the source image"


# --- bad inputs never crash it ---------------------------------------------------------------


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/x.png"  # nothing listens there once the socket closes


@pytest.fixture(scope="module")
def redirector() -> Iterator[ThreadedServer]:
    """Answers /to?url=... with a redirect there."""
    app = FastAPI()

    @app.get("/to")
    async def to(url: str) -> Response:
        return RedirectResponse(url, status_code=302)

    with ThreadedServer(app) as server:
        yield server


FETCH_FAILED = "Task failed: could not fetch the init image"
UNUSABLE = {  # name: (URL maker, the cause the backend logs)
    "closed port": (lambda host, _: closed_port_url(), "ConnectError"),
    "open port, 404": (lambda host, _: host.missing_url(), "HTTP 404"),
    "open port, not an image": (lambda host, _: host.put(b"<html>no</html>", "text/html"),
                                "not a readable image"),
    "decompression bomb": (lambda host, _: host.put(png(Image.new("1", (30000, 30000)))),
                           "decompression bomb"),
    "too many pixels": (lambda host, _: host.put(png(Image.new("1", (5000, 5000)))),
                        "5000x5000, more than 16777216"),
    "truncated": (lambda host, _: host.put(png(gradient(256, 256))[:379]),
                  "not a readable image"),
    "too many bytes": (lambda host, _: host.put(b"\0" * (21 << 20), "image/png"),
                       "more than 20971520"),
    "public host": (lambda host, _: "http://192.0.2.1/x.png", "not a loopback URL"),
    "redirect to a public host": (
        lambda host, jump: f"{jump.url}/to?url=http%3A%2F%2F192.0.2.1%2Fx.png",
        "not a loopback URL"),
    "redirect to a closed port": (
        lambda host, jump: f"{jump.url}/to?url={quote(closed_port_url(), safe='')}",
        "ConnectError"),
    "unusable port": (lambda host, _: "http://127.0.0.1:99999/x.png", ""),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_unusable_images_fail_the_task_with_one_reason(client: ZhiqiteClient,
                                                       image_host: ImageHost,
                                                       redirector: ThreadedServer, case: str,
                                                       caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    """Whatever the cause, the task fails with the same words: a failure reason must not
    tell a closed loopback port from an open one (a port scanner for anyone who submits).
    The cause is in the backend's debug log."""
    make, cause = UNUSABLE[case]
    task_id = new_id()
    with caplog.at_level(logging.DEBUG, logger="webui.offline.fetch"):
        client.image2image(t2i(task_id, scripts={"image_link": make(image_host, redirector)}))
        info = wait_sd(client, task_id)
    assert info.state is TaskState.FAILED and info.desc == FETCH_FAILED, info.desc
    logged = [r.getMessage() for r in caplog.records if r.name == "webui.offline.fetch"]
    assert any(cause in line for line in logged), logged
    assert client.query_models().ok  # still serving


def test_oversize_and_broken_bodies(offline: OfflineServer) -> None:
    url = f"{offline.url}{API}saas/sd/v2/text2image"
    big = requests.post(url, data=b"{" + b" " * (2 << 20) + b"}", timeout=10)
    assert big.status_code == 413 and big.headers["X-Ca-Error-Message"] == "Body Too Large"
    broken = requests.post(url, data=b'{"prompt": ', timeout=5).json()
    assert broken["code"] == "400" and "not valid JSON" in broken["msg"]
    not_object = requests.post(url, data=b"[1, 2]", timeout=5).json()
    assert not_object["code"] == "400"
    unknown = requests.post(f"{offline.url}{API}saas/sd/v2/nothing", data=b"{}", timeout=5)
    assert unknown.status_code == 404 and unknown.headers["X-Ca-Error-Code"] == "I404NF"


# --- callbacks -------------------------------------------------------------------------------


def test_callback_retried_on_schedule_until_acknowledged(client: ZhiqiteClient) -> None:
    with CallbackReceiver(replies=[{"code": "500"}, "not json", {"code": "200"}]) as receiver:
        task_id = new_id()
        client.text2image(t2i(task_id, callbackUrl=receiver.callback_url))
        deadline = time.monotonic() + 10
        while len(receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # no fourth post after the acknowledgement
    assert len(receiver.received) == 3
    body = TaskInfoResponse.model_validate(receiver.received[-1])
    assert body.data.id_task == task_id and body.data.state is TaskState.SUCCEEDED
    assert body.data.differentialImageRspList[0].image_url


def test_tool_callback_and_planned_duplicate(fresh_offline: OfflineServer,
                                             image_host: ImageHost) -> None:
    requests.post(fresh_offline.url + "/__offline/faults", json={"callbacks": ["duplicate"]},
                  timeout=5)
    client = ZhiqiteClient(base_url=fresh_offline.url)
    with CallbackReceiver() as receiver:
        task_id = new_id("e")
        client.enhance({"businessTaskId": task_id, "callbackUrl": receiver.callback_url,
                        "image": image_host.put(png(gradient(64, 64)))})
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(receiver.received) == 2 and receiver.received[0] == receiver.received[1]
    body = ToolTaskResponse.model_validate(receiver.received[0])
    assert body.data.businessTaskId == task_id and body.data.status == 2


@pytest.mark.parametrize("fresh_offline", [{"callback_schedule": (1, 1)}], indirect=True)
def test_callback_abandoned_after_the_schedule(fresh_offline: OfflineServer) -> None:
    client = ZhiqiteClient(base_url=fresh_offline.url)
    with CallbackReceiver(replies=[{"code": "500"}] * 5) as receiver:
        task_id = new_id()
        client.text2image(t2i(task_id, callbackUrl=receiver.callback_url))
        deadline = time.monotonic() + 10
        while fresh_offline.stats.callbacks_abandoned == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(receiver.received) == 3 and fresh_offline.stats.callbacks_abandoned == 1


# --- planned task outcomes -------------------------------------------------------------------


def test_planned_outcomes(fresh_offline: OfflineServer) -> None:
    requests.post(fresh_offline.url + "/__offline/faults",
                  json={"tasks": ["fail", "deleted", "hidden", "expired"]}, timeout=5)
    client = ZhiqiteClient(base_url=fresh_offline.url)
    ids = [new_id() for _ in range(4)]
    for task_id in ids:
        client.text2image(t2i(task_id))
    failed, deleted, hidden, expired = (wait_sd(client, t) for t in ids)
    assert failed.state is TaskState.FAILED and "could not generate" in failed.desc
    assert "deleted" in deleted.differentialImageRspList[0].hidden_reason
    assert "audit" in hidden.differentialImageRspList[0].hidden_reason
    assert expired.state is TaskState.SUCCEEDED
    assert requests.get(expired.differentialImageRspList[0].image_url, timeout=5).status_code == 404
    counters = requests.get(fresh_offline.url + "/__offline/stats", timeout=5).json()
    assert counters["tasks_failed"] == 1 and counters["tasks_succeeded"] == 3


def test_unknown_fault_names_are_refused(offline: OfflineServer) -> None:
    answer = requests.post(offline.url + "/__offline/faults",
                           json={"calls": [{"fault": "meteor"}]}, timeout=5)
    assert answer.status_code == 400 and "http503" in answer.json()["known"]


def test_result_images_not_served_before_done_or_outside_their_folder(
        client: ZhiqiteClient, offline: OfflineServer) -> None:
    assert requests.get(f"{offline.url}/__offline/images/..%2F..%2Fetc/passwd",
                        timeout=5).status_code == 404
    assert requests.get(f"{offline.url}/__offline/images/{new_id()}/0.png",
                        timeout=5).status_code == 404


def test_cli_arguments_build_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIQITE_OFFLINE_APP_SECRET", "from-env")
    config = config_from(parse_args(["--time-scale", "0.1", "--fail-rate", "0.2",
                                     "--throttle-rate", "0.1", "--latency", "0.05",
                                     "--step-seconds", "0.5", "--app-key", "k"]))
    assert (config.time_scale, config.fail_rate, config.throttle_rate, config.latency,
            config.step_seconds) == (0.1, 0.2, 0.1, 0.05, 0.5)
    assert config.app_key == "k" and config.app_secret == "from-env"


@pytest.mark.parametrize("fresh_offline", [{"fail_rate": 0.3, "throttle_rate": 0.2,
                                            "random_seed": 7}], indirect=True)
def test_random_faults_are_absorbed_by_retries(fresh_offline: OfflineServer) -> None:
    client = ZhiqiteClient(base_url=fresh_offline.url, backoff=0.001, max_retries=8)
    ids = [new_id() for _ in range(10)]
    for task_id in ids:
        client.text2image(t2i(task_id))
    assert all(wait_sd(client, t).state is TaskState.SUCCEEDED for t in ids)
    counters = requests.get(fresh_offline.url + "/__offline/stats", timeout=5).json()
    assert counters["tasks_started"] == 10  # lost answers were retried, never started twice
    assert sum(counters["rejected"].values()) > 0


@pytest.mark.parametrize("argv, words", [(["--port", "99999"], "--port: must be in [0, 65535]"),
                                         (["--fail-rate", "1.5"], "--fail-rate: must be in [0, 1]"),
                                         (["--time-scale", "fast"], "'fast' is not a float"),
                                         (["--concurrency", "0"], "--concurrency: must be >= 1")])
def test_cli_refuses_bad_values_with_a_message(argv: list[str], words: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(argv)
    assert caught.value.code == 2 and words in capsys.readouterr().err
