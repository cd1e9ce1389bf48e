"""The typed contract: the reference's samples, every documented range, the rulings."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from webui.api import ENDPOINTS, InvalidRequestError, parse_request
from webui.api import models as m
from webui.api.models import TaskState

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(kind: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / kind / f"{name}.json").read_text(encoding="utf-8"))


# --- the reference's samples ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_every_example_request_validates(name: str) -> None:
    model = parse_request(ENDPOINTS[name].request, fixture("requests", name), name)
    assert model.to_wire()


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_every_sample_response_parses(name: str) -> None:
    response = ENDPOINTS[name].response.model_validate(fixture("responses", name))
    assert response.ok and response.data is not None


def test_sample_task_info_reads_fully() -> None:
    info = m.TaskInfoResponse.model_validate(fixture("responses", "query_task")).data
    assert info.state is TaskState.SUCCEEDED and info.desc == "任务成功 !"
    image = info.differentialImageRspList[0]
    assert image.seed == 1063029203 and image.hidden_reason is None
    assert image.image_url.endswith("-0.png")


def test_sample_model_row_covers_and_both_cover_spellings() -> None:
    row = m.ModelListResponse.model_validate(fixture("responses", "query_models")).data.rows[0]
    assert row.sdModelCheckpoint == "photon_v1_84728.safetensors" and row.isAdult == 0
    assert len(row.cover_urls) == 1 and row.cover_urls[0].startswith("https://")
    # The table spells it modelCoverImageUrl2: read either.
    other = m.ModelRow.model_validate({"modelCoverImageUrl2": "https://x/a.png,https://x/b.png"})
    assert other.cover_urls == ["https://x/a.png", "https://x/b.png"]


def test_sample_lora_prompt_tag() -> None:
    row = m.LoraListResponse.model_validate(fixture("responses", "query_loras")).data.rows[0]
    assert row.prompt_tag == "<lora:hayasaka_ai_v10_26390:1>"


def test_responses_tolerate_unknown_fields_and_string_codes() -> None:
    body = fixture("responses", "query_tool_task")
    body["data"]["status"] = "2"  # the tool table types status as a string
    body["data"]["brandNewField"] = {"x": 1}
    body["extra"] = True
    info = m.ToolTaskResponse.model_validate(body).data
    assert info.status == 2
    assert m.SubmitResponse.model_validate({"code": 200, "msg": "ok", "data": {"task_id": "a"}}).ok


# --- serialisation rulings ---------------------------------------------------------------------

def minimal(name: str) -> dict[str, Any]:
    scripts = {"sd_model_checkpoint": "m.safetensors", "id_task": "t1"}
    if name == "text2image":
        return {"prompt": "p", "alwayson_scripts": scripts}
    if name == "image2image":
        return {"prompt": "p", "alwayson_scripts": {**scripts, "image_link": "http://h/i.png"}}
    if name == "controlnet":
        unit = {"module": "canny", "model": "control_v11p_sd15_canny",
                "image_link": "http://h/c.png"}
        return {"prompt": "p", "always_on_scripts": {**scripts, "controlnet": {"args": [unit]}}}
    if name == "enhance":
        return {"businessTaskId": "b1", "image": "http://h/i.png"}
    if name == "roop":
        return {"businessTaskId": "b1", "sourceUrl": "http://h/s.png", "targetUrl": "http://h/t.png"}
    return fixture("requests", name)


@pytest.mark.parametrize("name, key", [("text2image", "alwayson_scripts"),
                                       ("image2image", "alwayson_scripts"),
                                       ("controlnet", "always_on_scripts")])
def test_scripts_key_spelled_per_endpoint_and_both_read(name: str, key: str) -> None:
    model_cls = ENDPOINTS[name].request
    assert m.SCRIPTS_KEY[name] == key
    wire = parse_request(model_cls, minimal(name)).to_wire()
    assert key in wire and ({"alwayson_scripts", "always_on_scripts"} - {key}).isdisjoint(wire)
    body = minimal(name)
    other = "always_on_scripts" if "alwayson_scripts" in body else "alwayson_scripts"
    body[other] = body.pop("alwayson_scripts" if other == "always_on_scripts"
                           else "always_on_scripts")
    assert parse_request(model_cls, body).to_wire() == wire


@pytest.mark.parametrize("seed_in, seed_out", [(42, "42"), ("42", "42"), ("-1", "-1"),
                                                (" 7 ", "7"), (-1, "-1")])
def test_seed_sent_as_string_read_from_either(seed_in: Any, seed_out: str) -> None:
    wire = parse_request(m.Text2ImageRequest, {**minimal("text2image"), "seed": seed_in}).to_wire()
    assert wire["seed"] == seed_out


def test_batch_size_always_sent_and_body_bytes_stable() -> None:
    request = parse_request(m.Text2ImageRequest, minimal("text2image"))
    wire = request.to_wire()
    assert wire["batch_size"] == 1 and wire["n_iter"] == 1 and wire["seed"] == "-1"
    assert request.to_body() == request.to_body()
    assert json.loads(request.to_body()) == wire
    assert request.image_count == 1 and request.task_id == "t1"


def test_hr_resize_x_is_width() -> None:
    field = m.Text2ImageRequest.model_fields["hr_resize_x"]
    assert "width" in (field.description or "").lower()


def test_controlnet_resize_mode_sent_as_name() -> None:
    body = minimal("controlnet")
    body["always_on_scripts"]["controlnet"]["args"][0]["resize_mode"] = 2
    unit = parse_request(m.ControlNetRequest, body).to_wire()["always_on_scripts"]["controlnet"][
        "args"][0]
    assert unit["resize_mode"] == "Resize and Fill" and unit["control_mode"] == "Balanced"


def test_bounds_and_choices_readable_for_the_ui() -> None:
    width = m.bounds_of(m.Text2ImageRequest, "width")
    assert (width.lo, width.hi, width.multiple_of, width.lo_open) == (0, 1024, 8, True)
    assert m.choices_of(m.Text2ImageRequest, "sampler_index") == m.SAMPLERS
    schema = m.Text2ImageRequest.model_json_schema()
    assert schema["properties"]["width"]["multipleOf"] == 8


# --- every documented range, per endpoint (ruling 6) --------------------------------------------

def put(body: dict[str, Any], path: str, value: Any) -> None:
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]
    node: Any = body
    for key in keys[:-1]:
        if isinstance(key, int):
            node = node[key]
        else:
            node = node.setdefault(key, {})
    node[keys[-1]] = value


AD = "alwayson_scripts.ADetailer.args[0]"
CN = "always_on_scripts.controlnet.args[0]"
# (endpoint, field path, accepted values, refused values, the rule the message states)
RANGES: list[tuple[str, str, list[Any], list[Any], str]] = [
    ("text2image", "width", [8, 1024], [0, 1020, 1032, -8], "a multiple of 8 in (0, 1024]"),
    ("text2image", "height", [8, 1024], [4, 1030], "a multiple of 8 in (0, 1024]"),
    ("image2image", "width", [8, 1024], [0, 1025], "a multiple of 8 in (0, 1024]"),
    ("controlnet", "height", [8, 1024], [0, 2048], "a multiple of 8 in (0, 1024]"),
    ("text2image", "hr_resize_x", [0, 2048], [-8, 2056, 12], "a multiple of 8 in [0, 2048]"),
    ("text2image", "hr_resize_y", [0, 2048], [2049], "a multiple of 8 in [0, 2048]"),
    ("controlnet", "hr_resize_x", [0, 2048], [2056], "a multiple of 8 in [0, 2048]"),
    ("text2image", "cfg_scale", [1, 30, 7.5], [0.5, 30.5], "in [1, 30]"),
    ("controlnet", "cfg_scale", [1, 30, 7.5], [0, 31], "in [1, 30]"),
    ("image2image", "cfg_scale", [1, 30], [0, 31], "in [1, 30]"),
    ("image2image", "cfg_scale", [], [7.5], "whole number"),
    ("text2image", "denoising_strength", [0, 1], [-0.01, 1.01], "in [0, 1]"),
    ("image2image", "denoising_strength", [0, 1], [1.5], "in [0, 1]"),
    ("image2image", "mask_blur", [0, 64], [-1, 65], "in [0, 64]"),
    ("image2image", "mask_blur_x", [0, 64], [65], "in [0, 64]"),
    ("image2image", "mask_blur_y", [0, 64], [-1], "in [0, 64]"),
    ("image2image", "inpaint_full_res_padding", [0, 256], [-4, 260], "in [0, 256]"),
    ("image2image", "initial_noise_multiplier", [0.5, 1.5], [0.49, 1.51], "in [0.5, 1.5]"),
    ("image2image", "image_cfg_scale", [0, 3], [-0.05, 3.05], "in [0, 3]"),
    ("image2image", "resize_mode", [0, 3], [4, -1], "one of 0, 1, 2, 3"),
    ("controlnet", "resize_mode", [0, 3], [4], "one of 0, 1, 2, 3"),
    ("image2image", "inpainting_fill", [0, 3], [4], "one of 0, 1, 2, 3"),
    ("image2image", "inpainting_mask_invert", [0, 1], [2], "one of 0, 1"),
    ("text2image", "sampler_index", ["DPM++ 2M Karras", "Euler a"], ["Euler b", "euler a"],
     "one of Euler a"),
    ("text2image", "seed", ["-1", 0, 4294967295], ["-2", "abc", 4294967296, "1.5"], ""),
    ("text2image", "n_iter", [1, 100], [0, 101], "in [1, 100]"),
    ("text2image", "batch_size", [1, 8], [0, 9], "in [1, 8]"),
    ("text2image", "steps", [1, 150], [0, 151], "in [1, 150]"),
    ("text2image", "hr_scale", [1, 4], [0, 5], "in [1, 4]"),
    ("text2image", "alwayson_scripts.override_settings.CLIP_stop_at_last_layers", [1, 12],
     [0, 13], "in [1, 12]"),
    ("text2image", "alwayson_scripts.output_image_format", ["jpg", "png"], ["gif"],
     "one of jpg, png"),
    ("controlnet", f"{CN}.weight", [0, 2], [-0.1, 2.1], "in [0, 2]"),
    ("controlnet", f"{CN}.guidance_start", [0, 1], [-0.1, 1.1], "in [0, 1]"),
    ("controlnet", f"{CN}.guidance_end", [1], [1.1], "in [0, 1]"),
    ("controlnet", f"{CN}.module", ["canny", "seg_ufade20k"], ["hed"], "one of canny"),
    ("controlnet", f"{CN}.model", ["control_v11p_sd15_canny"], ["control_v11p_sd15_hed"],
     "one of control_v11p_sd15_canny"),
    ("controlnet", f"{CN}.resize_mode", ["Just Resize", 1], ["Stretch", 3],
     "one of Just Resize"),
    ("controlnet", f"{CN}.control_mode", ["My prompt is more important"], ["balanced"],
     "one of Balanced"),
    ("text2image", f"{AD}.ad_steps", [1, 50], [0, 51], "in [1, 50]"),
    ("image2image", f"{AD}.ad_steps", [1, 150], [0, 151], "in [1, 150]"),
    ("text2image", f"{AD}.ad_dilate_erode", [-128, 128], [-129, 129], "in [-128, 128]"),
    ("image2image", f"{AD}.ad_dilate_erode", [0, 256], [-1, 257], "in [0, 256]"),
    ("text2image", f"{AD}.ad_confidence", [0, 1], [-0.1, 1.1], "in [0, 1]"),
    ("text2image", f"{AD}.ad_mask_blur", [0, 64], [65], "in [0, 64]"),
    ("text2image", f"{AD}.ad_denoising_strength", [0, 1], [1.2], "in [0, 1]"),
    ("text2image", f"{AD}.ad_inpaint_width", [8, 2048], [0, 2056, 100], "a multiple of 8"),
    ("image2image", f"{AD}.ad_inpaint_height", [8, 2048], [2050], "a multiple of 8"),
    ("text2image", f"{AD}.ad_controlnet_weight", [0, 2, 0.5], [2.5], "in [0, 2]"),
    ("image2image", f"{AD}.ad_controlnet_weight", [0, 2], [0.5], "whole number"),
    ("text2image", f"{AD}.ad_controlnet_guidance_start", [0, 0.35], [1.5], "in [0, 1]"),
    ("image2image", f"{AD}.ad_controlnet_guidance_end", [0, 1], [0.5], "whole number"),
    ("text2image", f"{AD}.ad_controlnet_model", ["control_v11p_sd15_openpose [cab727d4]"],
     ["control_v11p_sd15_canny"], "one of None"),
    ("text2image", f"{AD}.ad_mask_merge_invert", ["Merge"], ["merge"], "one of None"),
    ("enhance", "upscalingResize", [1, 8], [0, 9], "in [1, 8]"),
    ("enhance", "upscalingResizeW", [64, 2048], [63, 2049], "in [64, 2048]"),
    ("enhance", "upscalingResizeH", [64, 2048], [63, 2049], "in [64, 2048]"),
    ("enhance", "gfpganVisibility", [0, 1], [1.1], "in [0, 1]"),
    ("enhance", "codeformerVisibility", [0, 1], [-0.1], "in [0, 1]"),
    ("enhance", "codeformerWeight", [0, 1], [2], "in [0, 1]"),
    ("enhance", "extrasUpscaler2Visibility", [0, 1], [1.5], "in [0, 1]"),
    ("enhance", "resizeMode", [0], [2], "one of 0, 1"),
    ("query_models", "pageSize", [1, 1000], [0], "in [1, 1000]"),
    ("query_loras", "pageNum", [1, 99], [0], ">= 1"),
]


def body_with(name: str, path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(minimal(name))
    if path.startswith("alwayson_scripts.ADetailer"):
        put(body, "alwayson_scripts.ADetailer.args", [{"ad_model": "face_yolov8n.pt"}])
    put(body, path, value)
    return body


@pytest.mark.parametrize("name, path, good, bad, rule", RANGES,
                         ids=[f"{r[0]}:{r[1].split('.')[-1]}" for r in RANGES])
def test_documented_range(name: str, path: str, good: list[Any], bad: list[Any],
                          rule: str) -> None:
    model_cls = ENDPOINTS[name].request
    for value in good:
        parse_request(model_cls, body_with(name, path, value))
    wire_path = re.sub(r"\[(\d+)\]", r"[\1]", path)
    for value in bad:
        with pytest.raises(InvalidRequestError) as caught:
            parse_request(model_cls, body_with(name, path, value))
        message = str(caught.value)
        assert message.startswith(wire_path + " "), message
        assert rule in message, message
        assert len(caught.value.issues) == 1


def test_message_is_the_documented_example() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(m.Text2ImageRequest, {**minimal("text2image"), "width": 1020})
    assert str(caught.value) == "width must be a multiple of 8 in (0, 1024], got 1020"
    issue = caught.value.issues[0]
    assert issue.field == "width" and issue.kind == "out_of_range"
    assert issue.context == {"rule": "a multiple of 8 in (0, 1024]", "got": "1020",
                             "multiple_of": 8, "range": "(0, 1024]"}


@pytest.mark.parametrize("body, expected", [
    ({"prompt": ""}, "prompt must not be empty"),
    ({"prompt": "x" * 8001}, "prompt must be at most 8000 characters, got 8001"),
    ({"steps": "many"}, "steps must be a whole number, got 'many'"),
    ({"restore_faces": "perhaps"}, "restore_faces must be true or false"),
    ({"widht": 512}, "widht is not a field of this request"),
    ({"callbackUrl": "javascript:alert(1)"}, "callbackUrl must be an http:// or https:// URL"),
])
def test_plain_messages(body: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(m.Text2ImageRequest, {**minimal("text2image"), **body})
    assert expected in str(caught.value)


def test_unicode_and_emoji_prompts_are_fine() -> None:
    body = {**minimal("text2image"), "prompt": "水墨山水, 🐉 dragon, café"}
    wire = parse_request(m.Text2ImageRequest, body).to_body()
    assert "🐉".encode() in wire  # sent as UTF-8, not \\u escapes


def test_missing_required_fields_named() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(m.Image2ImageRequest, {"prompt": "p", "alwayson_scripts": {
            "sd_model_checkpoint": "m"}})
    fields = {issue.field for issue in caught.value.issues}
    assert fields == {"alwayson_scripts.id_task", "alwayson_scripts.image_link"}
    assert "alwayson_scripts.id_task is required" in str(caught.value)


def test_task_id_must_be_url_safe() -> None:
    body = minimal("text2image")
    body["alwayson_scripts"]["id_task"] = "../../etc/passwd"
    with pytest.raises(InvalidRequestError, match="alwayson_scripts.id_task has characters"):
        parse_request(m.Text2ImageRequest, body)


def test_guidance_start_after_end_refused() -> None:
    body = body_with("controlnet", f"{CN}.guidance_start", 0.8)
    put(body, f"{CN}.guidance_end", 0.2)
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(m.ControlNetRequest, body)
    assert str(caught.value) == (f"{CN}.guidance_end must not be less than guidance_start (0.8),"
                                 " got 0.2")


def test_controlnet_unit_needs_an_image() -> None:
    body = minimal("controlnet")
    del body["always_on_scripts"]["controlnet"]["args"][0]["image_link"]
    with pytest.raises(InvalidRequestError, match="unit 0 needs an image_link"):
        parse_request(m.ControlNetRequest, body)
    body["always_on_scripts"]["image_link"] = "http://h/init.png"  # the img2img image serves
    parse_request(m.ControlNetRequest, body)


def test_img2img_override_settings_requires_clip_skip() -> None:
    body = minimal("image2image")
    body["alwayson_scripts"]["override_settings"] = {}
    with pytest.raises(InvalidRequestError, match="CLIP_stop_at_last_layers is required"):
        parse_request(m.Image2ImageRequest, body)


# --- task states (ruling 5 and the SD codes) ----------------------------------------------------

@pytest.mark.parametrize("status, state", [(3, TaskState.QUEUED), (5, TaskState.UPLOADING),
                                           (1, TaskState.GENERATING), (2, TaskState.SUCCEEDED),
                                           (0, TaskState.FAILED), (9, TaskState.GENERATING),
                                           (None, TaskState.GENERATING)])
def test_sd_status(status: int | None, state: TaskState) -> None:
    assert m.sd_task_state(status) is state


URL = "https://x/out.png"


@pytest.mark.parametrize("status, url, serves, state", [
    (0, URL, True, TaskState.FAILED),        # 0 = failed, even with a URL
    (0, None, True, TaskState.FAILED),
    (2, URL, False, TaskState.SUCCEEDED),    # 2 with a URL = done (no probe needed)
    (2, None, True, TaskState.FAILED),       # 2 without one = failed
    (2, "", True, TaskState.FAILED),
    (1, URL, True, TaskState.SUCCEEDED),     # 1 with a URL that serves an image = done
    (1, URL, False, TaskState.GENERATING),   # 1 with a URL not serving yet = running
    (1, None, True, TaskState.GENERATING),   # 1 without a URL = running
    (7, URL, True, TaskState.GENERATING),    # unknown = running (logged)
    (None, None, True, TaskState.GENERATING),
])
def test_tool_status_rule(status: int | None, url: str | None, serves: bool,
                          state: TaskState) -> None:
    probed: list[str] = []

    def probe(u: str) -> bool:
        probed.append(u)
        return serves

    assert m.tool_task_state(status, url, probe) is state
    assert probed == ([URL] if status == 1 and url else [])  # probe only when the rule needs it


def test_unknown_status_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    m.tool_task_state(7, None, lambda u: True)
    m.sd_task_state(42)
    assert "unknown tool task status 7" in caplog.text and "unknown SD task status 42" in caplog.text


def test_state_terminality() -> None:
    assert {s for s in TaskState if s.is_terminal} == {TaskState.SUCCEEDED, TaskState.FAILED}


def test_hidden_images_say_why() -> None:
    deleted = m.ResultImage(image_status=2, image_url=URL)
    audited = m.ResultImage.model_validate({"img_audit_status": False, "image_status": 1,
                                            "image_url": URL,
                                            "img_audit": [{"label": "porn", "confidence": 0.9}]})
    assert "deleted" in deleted.hidden_reason and "porn" in audited.hidden_reason
