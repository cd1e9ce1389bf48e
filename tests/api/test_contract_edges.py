"""The contract's edges, read against the reference: vendor keys never reach the marketplace,
loose answers never fail a billed call, any task id can be queried, and the few rules the
tables state in words (resizeMode 1 needs a size, integer ADetailer fields, -1 defaults)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import new_id, t2i, wait_sd
from webui.api import ConfigurationError, InvalidRequestError, ServiceError, ZhiqiteClient
from webui.api import models as m
from webui.api.auth import VendorKeyAuth, is_marketplace_host
from webui.api.validation import parse_request
from webui.core import infotext
from webui.offline.server import OfflineServer


class RecordingSession:
    """Stands in for requests.Session: records what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []

    def post(self, url: str, **kwargs: Any) -> Any:
        self.sent.append((url, kwargs.get("headers", {})))
        raise AssertionError("nothing may be sent")

    def close(self) -> None:
        pass


VENDOR = VendorKeyAuth(access_key_id="vendor-id-123", access_key_secret="vendor-secret-456")


@pytest.mark.parametrize("base", [
    "https://zhiqite.market.alicloudapi.com",
    "https://zhiqite.market.alicloudapi.com.",  # trailing dot: the same host to DNS
    "https://ZHIQITE.Market.AliCloudAPI.com:443",
    "https://alicloudapi.com",
])
def test_vendor_keys_are_refused_for_the_marketplace_host(base: str) -> None:
    assert is_marketplace_host(base)
    with pytest.raises(ConfigurationError, match="vendor access keys"):
        ZhiqiteClient(base_url=base, auth=VENDOR, session=RecordingSession())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        ZhiqiteClient(base_url=base, access_key_id="a", access_key_secret="b")


def test_not_the_marketplace_just_because_the_name_ends_alike() -> None:
    assert not is_marketplace_host("https://notalicloudapi.com")
    assert not is_marketplace_host("https://vendor.example.com")


def test_vendor_keys_are_checked_again_at_send_time() -> None:
    session = RecordingSession()
    client = ZhiqiteClient(base_url="https://vendor.example.com", auth=VENDOR,
                           session=session)  # type: ignore[arg-type]
    client.base_url = "https://zhiqite.market.alicloudapi.com."  # changed after it was built
    with pytest.raises(ConfigurationError) as refused:
        client.query_models()
    assert session.sent == []
    assert "vendor-secret-456" not in str(refused.value)


def test_odd_fields_in_a_status_answer_do_not_fail_it(caplog: pytest.LogCaptureFixture) -> None:
    body = {"code": "200", "msg": "success", "data": {
        "id_task": 12345, "status": 2, "desc": "ok",
        "differentialImageRspList": [
            {"img_audit": [{"confidence": "0.93", "label": "normal"},
                           {"confidence": {"score": 1}, "label": None}, "junk"],
             "img_audit_status": True, "image_status": "1",
             "image_url": "http://127.0.0.1/a.png", "seed": "not a number"},
            {"img_audit": [{"confidence": 0.5}], "image_status": 1,
             "image_url": "http://127.0.0.1/b.png", "seed": 7}]}}
    info = m.TaskInfoResponse.model_validate(body).data
    assert info is not None and info.state == m.TaskState.SUCCEEDED
    assert info.id_task == "12345"
    first, second = info.differentialImageRspList or []
    assert first.img_audit and first.img_audit[0].confidence == "0.93"
    assert first.seed is None and second.seed == 7
    assert first.hidden_reason is None


def test_tool_task_id_may_be_a_number() -> None:
    info = m.ToolTaskResponse.model_validate({"code": "200", "data": {
        "taskId": 1116, "businessTaskId": 42, "status": 2,
        "outputImageUrl": "http://127.0.0.1/x.png"}}).data
    assert info is not None and (info.taskId, info.businessTaskId) == ("1116", "42")


@pytest.mark.parametrize("raw", ["2.5", 2.5, "done", [2], True])
def test_a_status_that_is_not_a_whole_number_is_logged_raw(
        raw: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        info = m.TaskInfoResponse.model_validate({"code": "200", "data": {"status": raw}}).data
    assert info is not None and info.status is None
    assert info.state == m.TaskState.GENERATING  # ruling 5: unknown = still running
    assert repr(raw)[:20] in caplog.text


def test_any_task_id_can_be_queried(offline: OfflineServer) -> None:
    with ZhiqiteClient(base_url=offline.url) as client:
        # another client's id with ":" and "/": asked, and answered by the service
        with pytest.raises(ServiceError, match="not found"):
            client.query_task("order:2026/11/abc")
        with pytest.raises(InvalidRequestError):
            client.query_task("bad\nid")  # control characters never go out
    with pytest.raises(InvalidRequestError):  # ids this app makes stay strict
        parse_request(m.Text2ImageRequest, t2i("order:2026/11"))


def test_enhance_scale_to_a_size_needs_the_size() -> None:
    base = {"businessTaskId": new_id(), "image": "http://127.0.0.1/a.png", "resizeMode": 1}
    with pytest.raises(InvalidRequestError) as refused:
        parse_request(m.EnhanceRequest, base)
    assert "upscalingResizeW and upscalingResizeH" in str(refused.value)
    with pytest.raises(InvalidRequestError, match="upscalingResizeH"):
        parse_request(m.EnhanceRequest, {**base, "upscalingResizeW": 1024})
    parse_request(m.EnhanceRequest, {**base, "upscalingResizeW": 1024,
                                     "upscalingResizeH": 768})
    parse_request(m.EnhanceRequest, {**base, "resizeMode": 0})  # scale by: no size needed


def _adetailer(**args: Any) -> dict[str, Any]:
    return t2i(scripts={"ADetailer": {"args": [{"ad_model": "face_yolov8n.pt", **args}]}})


def test_adetailer_noise_multiplier_is_an_integer_and_module_only_none() -> None:
    parse_request(m.Text2ImageRequest, _adetailer(ad_noise_multiplier=1,
                                                  ad_controlnet_module="None"))
    with pytest.raises(InvalidRequestError, match="ad_noise_multiplier"):
        parse_request(m.Text2ImageRequest, _adetailer(ad_noise_multiplier=0.8))
    with pytest.raises(InvalidRequestError, match="ad_controlnet_module"):
        parse_request(m.Text2ImageRequest, _adetailer(ad_controlnet_module="inpaint_only"))
    assert m.AD_CONTROLNET_MODULES == ("None",)


def test_mlsd_sliders_send_what_they_say() -> None:
    sliders = m.controlnet.MODULE_SLIDERS["mlsd"]
    assert all("x100" not in label for label, *_ in sliders.values())
    assert sliders["threshold_a"][1] == -1  # -1: the preprocessor's default


def test_preprocessor_settings_take_minus_one(offline: OfflineServer) -> None:
    unit = {"image_link": "", "module": "canny", "model": "control_v11p_sd15_canny",
            "processor_res": -1, "threshold_a": -1, "threshold_b": -1}
    with ZhiqiteClient(base_url=offline.url) as client:
        image = client.text2image(t2i(width=128, height=128, steps=2))
        done = wait_sd(client, image.data.task_id)  # type: ignore[union-attr]
        unit["image_link"] = done.differentialImageRspList[0].image_url  # type: ignore[index]
        body = t2i(width=128, height=128, steps=2)
        body["always_on_scripts"] = {**body.pop("alwayson_scripts"),
                                     "controlnet": {"args": [unit]}}
        task = client.controlnet(body)
        assert wait_sd(client, task.data.task_id).state == m.TaskState.SUCCEEDED  # type: ignore[union-attr]
    with pytest.raises(InvalidRequestError, match=r"processor_res must be -1 or in \[64"):
        parse_request(m.ControlNetUnit, {**unit, "processor_res": 10})


def test_model_hash_in_infotext_as_a1111_writes_it() -> None:
    request = parse_request(m.Text2ImageRequest, t2i(seed=5))
    text = infotext.for_request("text2image", request, 5, model_hash="6ce0161689")
    assert "Size: 256x256, Model hash: 6ce0161689, Model: photon_v1_84728," in text
    assert infotext.parse(text)["Model hash"] == "6ce0161689"
    assert m.lists.short_hash("6CE0161689B3853ACAA6D6E4D2B6B38CB") == "6ce0161689"
    assert m.lists.short_hash("a9263745") == "a9263745"  # A1111's legacy 8-digit hash
    assert m.lists.short_hash("not a hash") is None
