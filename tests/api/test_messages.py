"""Every sentence of the api package is a message by key: its English is the sentence as it was
(word for word), and its Chinese holds no English words besides what it was given as
parameters (the field's wire path, the values, the service's words and codes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.api.test_models import minimal
from webui.api import ConfigurationError, InvalidRequestError, ZhiqiteClient, parse_request
from webui.api import errors as e
from webui.api import models as m
from webui.api.models.constraints import Choice, Range, choice_rule, range_rule
from webui.api.models.tools import check_enhance_input
from webui.messages import Language, Msg, render

ZH, EN = Language.ZH_CN, Language.EN

# Names that stay as they are in Chinese: the settings and credentials the user looks up, the
# protocols and formats.
WHITELIST = re.compile(r"ZHIQITE_[A-Z_]+(/[A-Z]+)?|https?://|http\(s\)|\b(HTTP|API|URL|JSON|"
                       r"ID|AppCode|AppKey|AppSecret|PNG|JPEG|WebP)\b")
WORD = re.compile(r"[A-Za-z]{2,}")


def leaves(msg: Any) -> Iterator[str]:
    """The values given to a message (its own words are in the catalogue, not here)."""
    if isinstance(msg, Msg):
        for value in msg.params.values():
            yield from leaves(value)
    elif msg is not None:
        yield str(msg)


def assert_all_chinese(msg: Msg) -> str:
    """The Chinese of `msg` with its parameters' values and the whitelist taken out holds no
    English word. Returns the Chinese."""
    chinese = render(msg, ZH)
    left = chinese
    for value in sorted(set(leaves(msg)), key=len, reverse=True):
        left = left.replace(value, " ")
    left = WHITELIST.sub(" ", left)
    assert not WORD.findall(left), (chinese, WORD.findall(left))
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese  # said in Chinese, not passed through
    return chinese


# --- validation ----------------------------------------------------------------------------------


def t2i(**changes: Any) -> tuple[type, Any]:
    return m.Text2ImageRequest, {**minimal("text2image"), **changes}


def scripts(name: str, **changes: Any) -> dict[str, Any]:
    body = minimal(name)
    key = "always_on_scripts" if name == "controlnet" else "alwayson_scripts"
    body[key] = {**body[key], **changes}
    return body


def unit(**changes: Any) -> tuple[type, Any]:
    body = minimal("controlnet")
    body["always_on_scripts"]["controlnet"]["args"][0].update(changes)
    return m.ControlNetRequest, body


AD = "alwayson_scripts.ADetailer.args[0]"
CN = "always_on_scripts.controlnet"

# (what, request, the English sentence as it read before messages had keys)
CASES: list[tuple[str, tuple[type, Any], str]] = [
    ("missing", (m.Image2ImageRequest, {"prompt": "p", "alwayson_scripts": {
        "sd_model_checkpoint": "m", "id_task": "t"}}), "alwayson_scripts.image_link is required"),
    ("extra_forbidden", t2i(widht=512), "widht is not a field of this request"),
    ("int_parsing", t2i(steps="many"), "steps must be a whole number, got 'many'"),
    ("int_type", t2i(steps=[1]), "steps must be a whole number, got [1]"),
    ("int_from_float", t2i(steps=2.5), "steps must be a whole number, got 2.5"),
    ("float_parsing", t2i(cfg_scale="lots"), "cfg_scale must be a number, got 'lots'"),
    ("float_type", t2i(cfg_scale=[1]), "cfg_scale must be a number, got [1]"),
    ("bool_parsing", t2i(restore_faces="perhaps"),
     "restore_faces must be true or false, got 'perhaps'"),
    ("bool_type", t2i(restore_faces=[1]), "restore_faces must be true or false, got [1]"),
    ("string_type", t2i(prompt=5), "prompt must be text, got 5"),
    ("model_type", t2i(alwayson_scripts=5), "alwayson_scripts must be an object"),
    ("model_type, no path", (m.Text2ImageRequest, "nope"), "must be an object"),
    ("list_type", (m.Text2ImageRequest, scripts("text2image", ADetailer={"args": 5})),
     "alwayson_scripts.ADetailer.args must be a list"),
    ("string_too_short", t2i(prompt=""), "prompt must not be empty"),
    ("string_too_long", t2i(prompt="x" * 8001),
     "prompt must be at most 8000 characters, got 8001"),
    ("too_short", (m.ControlNetRequest, scripts("controlnet", controlnet={"args": []})),
     f"{CN}.args must have at least 1 item(s)"),
    ("too_long", (m.Text2ImageRequest, scripts("text2image", ADetailer={
        "args": [{"ad_model": "x"}] * 11})), "alwayson_scripts.ADetailer.args must have at most "
     "10 item(s)"),
    ("string_pattern_mismatch", (m.Text2ImageRequest, scripts("text2image", id_task="../x")),
     "alwayson_scripts.id_task has characters that are not allowed, got '../x'"),
    ("range: in", t2i(cfg_scale=40), "cfg_scale must be in [1, 30], got 40"),
    ("range: not finite", t2i(cfg_scale=float("inf")), "cfg_scale must be in [1, 30], got inf"),
    ("range: multiple in half-open", t2i(width=1020),
     "width must be a multiple of 8 in (0, 1024], got 1020"),
    ("range: multiple in closed", t2i(hr_resize_x=12),
     "hr_resize_x must be a multiple of 8 in [0, 2048], got 12"),
    ("range: -1 or in", unit(processor_res=5),
     f"{CN}.args[0].processor_res must be -1 or in [64, 2048], got 5"),
    ("range: fractions", t2i(denoising_strength=1.5),
     "denoising_strength must be in [0, 1], got 1.5"),
    ("seed range", t2i(seed=-2), "seed must be in [-1, 4294967295], got -2"),
    ("seed", t2i(seed="abc"), "seed must be a whole number (-1 for random), got 'abc'"),
    ("seed: not a bool", t2i(seed=True), "seed must be a whole number (-1 for random), got True"),
    ("url", t2i(callbackUrl="javascript:alert(1)"),
     "callbackUrl must be an http:// or https:// URL, got 'javascript:alert(1)'"),
    ("choice", (m.Image2ImageRequest, {**minimal("image2image"), "resize_mode": 7}),
     "resize_mode must be one of 0, 1, 2, 3, got 7"),
    ("choice of names", (m.Text2ImageRequest, scripts("text2image", ADetailer={"args": [
        {"ad_model": "face_yolov8n.pt", "ad_mask_merge_invert": "x"}]})),
     f"{AD}.ad_mask_merge_invert must be one of None, Merge, Merge and Invert, got 'x'"),
    ("blank", t2i(prompt="   "), "prompt must not be empty (it holds only spaces)"),
    ("unit without image", unit(image_link=None),
     f"{CN} unit 0 needs an image_link: there is no img2img image_link to use as its control "
     "image"),
    ("guidance order", unit(guidance_start=0.5, guidance_end=0.25),
     f"{CN}.args[0].guidance_end must not be less than guidance_start (0.5), got 0.25"),
    ("enhance size", (m.EnhanceRequest, {**minimal("enhance"), "resizeMode": 1}),
     "resizeMode 1 (scale to a size) needs upscalingResizeW and upscalingResizeH: the target "
     "width and height in [64, 2048]"),
    ("enhance size, one", (m.EnhanceRequest, {**minimal("enhance"), "resizeMode": 1,
                                               "upscalingResizeW": 512}),
     "resizeMode 1 (scale to a size) needs upscalingResizeH: the target width and height in "
     "[64, 2048]"),
]


def refusal(request: tuple[type, Any]) -> InvalidRequestError:
    model, data = request
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(model, data)
    return caught.value


@pytest.mark.parametrize("request_, english", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_refusal_reads_as_before_in_english_and_all_in_chinese(request_: tuple[type, Any],
                                                                  english: str) -> None:
    error = refusal(request_)
    (issue,) = error.issues
    assert issue.message == english and str(error) == english
    assert render(issue.msg, EN) == english and render(error, EN) == english
    chinese = assert_all_chinese(issue.msg)
    assert chinese.startswith(issue.field)  # the wire path, as it is
    assert render(error, ZH) == chinese


def test_the_documented_example_in_chinese() -> None:
    error = refusal(t2i(width=1020))
    assert render(error, ZH) == "width 必须是 8 的倍数，范围 (0, 1024]，当前为 1020"
    assert error.issues[0].context["range"] == "(0, 1024]"
    assert error.issues[0].context["multiple_of"] == 8


def test_every_kind_has_a_message_of_its_own() -> None:
    kinds = {refusal(request).issues[0].kind for _, request, _ in CASES}
    assert "value_error" not in kinds  # our validators raise keyed errors
    from webui.api.validation import _PROBLEMS
    assert kinds <= set(_PROBLEMS)


def test_a_huge_number_is_refused_in_words_not_pydantic_s() -> None:
    error = refusal(t2i(steps="1" * 5000))
    assert str(error).startswith("steps must be a whole number, got '111")
    assert_all_chinese(error.msg)


def test_several_refusals_one_after_the_other() -> None:
    error = refusal(t2i(width=1020, steps=0))
    assert str(error) == render(error, EN) == "; ".join(i.message for i in error.issues)
    assert render(error, ZH) == "；".join(render(i.msg, ZH) for i in error.issues)
    assert render(e.InvalidRequestError([]), ZH) == "请求无效"


def test_an_issue_built_from_a_sentence_shows_it_as_it_is() -> None:
    issue = e.FieldIssue("x", "x is odd")
    assert render(issue.msg, ZH) == render(issue.msg, EN) == "x is odd"
    assert issue == e.FieldIssue("x", "x is odd", "invalid", {})


@pytest.mark.parametrize("rule", [
    Range(1, 30), Range(0, 1024, lo_open=True, multiple_of=8), Range(0, 2048, multiple_of=8),
    Range(64, 2048, also=(-1,)), Range(0.5, 1.5), Range(lo=0), Range(lo=0, lo_open=True),
    Range(hi=10), Range(hi=10, hi_open=True), Range(multiple_of=8), Range(lo=0, multiple_of=8),
    Range(0, 10, also=(-1, -2)), Range(0, 1, lo_open=True, hi_open=True),
], ids=repr)
def test_every_range_form_in_both_languages(rule: Range) -> None:
    assert str(rule.rule()) == rule.describe()
    assert range_rule(rule.parts()) == rule.rule()
    sentence = Msg("field.named", field="steps", problem=Msg("field.must_be", rule=rule.rule(),
                                                              got="99"))
    assert str(sentence) == f"steps must be {rule.describe()}, got 99"
    assert_all_chinese(sentence)


def test_a_choice_in_both_languages() -> None:
    choice = Choice(("Euler a", "DPM++ 2M Karras"))
    assert str(choice.rule()) == choice.describe() == "one of Euler a, DPM++ 2M Karras"
    assert choice_rule({"choices": choice.listed()}) == choice.rule()
    assert render(choice.rule(), ZH) == "是以下之一：Euler a, DPM++ 2M Karras"


def test_the_enhance_input_limit() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_enhance_input(2000, 1000)
    assert str(caught.value) == "image is 2000x1000; the upscaler takes at most 1536x1536"
    assert render(caught.value, EN) == str(caught.value)
    assert render(caught.value, ZH) == "image 为 2000x1000；放大器最多支持 1536x1536"


# --- the gateway's and the service's refusals ---------------------------------------------------


GATEWAY: list[tuple[int, str | None, str | None, str]] = [
    (403, "Throttled by API Flow Control", None, "Too many requests: the gateway is throttling"),
    (403, None, "A403IS", "The request signature was rejected: check the AppSecret"),
    (400, "Invalid AppCode `not exists`", "A400AC",
     "The AppCode was rejected: check ZHIQITE_APPCODE"),
    (400, "Invalid AppKey", "A400IK", "The AppKey was rejected: check ZHIQITE_APP_KEY"),
    (403, "Invalid AccessKey", None,
     "The vendor access key was rejected: check ZHIQITE_ACCESS_KEY_ID/SECRET"),
    (403, "User Arrears", None,
     "The account is in arrears (User Arrears): top up the cloud account to call again"),
    (403, "Quota Exhausted", None,
     "The API quota is used up or expired: buy more calls for this service"),
    (400, "Nonce Used", None,
     "The gateway saw this request's nonce before (Nonce Used): a replayed request"),
    (400, "Timestamp Expired", None,
     "The gateway rejected the request time: check this machine's clock"),
    (403, "Unauthorized", None, "These credentials are not authorised for this API"),
    (404, None, "I404NF", "The gateway does not know this API path"),
    (429, None, None, "Too many requests"),
    (500, "Internal Error", None, "Server error: Internal Error"),
    (503, None, None, "Server error: the gateway or backend failed"),
    (413, "Body Too Large", None, "Request refused: Body Too Large"),
    (400, None, None, "Request refused: request refused"),
]


def details(status: int, code: str | None) -> str:
    return ", ".join([f"HTTP {status}"] + ([f"code {code}"] if code else []) + ["request id R-1"])


@pytest.mark.parametrize("status, said, code, english", GATEWAY,
                         ids=[f"{g[0]}:{g[1] or g[2]}" for g in GATEWAY])
def test_each_gateway_refusal_in_both_languages(status: int, said: str | None, code: str | None,
                                                english: str) -> None:
    headers = {"X-Ca-Request-Id": "R-1"}
    if said:
        headers["X-Ca-Error-Message"] = said
    if code:
        headers["X-Ca-Error-Code"] = code
    error, _ = e.error_from_response(status, headers, b"")
    assert isinstance(error, e.APIStatusError)
    assert str(error) == f"{english} ({details(status, code)})"
    assert render(error, EN) == str(error) and str(error.reason_msg) == english
    chinese = assert_all_chinese(error.msg)
    assert chinese.endswith("（" + details(status, code).replace(", ", "，")
                            .replace("code ", "代码 ").replace("request id ", "请求 ID ") + "）")


def test_the_service_refusal_keeps_its_words() -> None:
    body = '{"code":"400","msg":"宽度无效 width invalid","data":null}'.encode()
    error, _ = e.error_from_response(200, {"X-Ca-Request-Id": "R-9"}, body)
    assert str(error) == "The service refused the request: 宽度无效 width invalid " \
        "(HTTP 200, request id R-9)"
    assert render(error, EN) == str(error)
    assert render(error, ZH) == "服务拒绝了请求：宽度无效 width invalid（HTTP 200，请求 ID R-9）"
    assert_all_chinese(error.msg)
    error, _ = e.error_from_response(200, {}, b'{"code":"500"}')
    assert str(error) == "The service refused the request: no reason given (HTTP 200)"
    assert render(error, ZH) == "服务拒绝了请求：未给出原因（HTTP 200）"


@pytest.mark.parametrize("body, english", [
    (b"<html>", "The API answered with a body that is not JSON"),
    (b"[1]", "The API answered JSON without a result code"),
])
def test_malformed_answers(body: bytes, english: str) -> None:
    error, _ = e.error_from_response(200, {}, body)
    assert str(error) == render(error, EN) == f"{english} (HTTP 200)"
    assert_all_chinese(error.msg)


def test_an_error_made_from_a_sentence_shows_it_in_every_language() -> None:
    error = e.ConfigurationError("app_key is missing")
    assert render(error, ZH) == render(error, EN) == str(error) == "app_key is missing"
    status = e.QuotaError("Quota", status=403, error_code="B403MQ")
    assert render(status, ZH) == "Quota（HTTP 403，代码 B403MQ）"
    assert str(status) == render(status, EN) == "Quota (HTTP 403, code B403MQ)"
    assert str(e.GatewayError("Nope")) == render(e.GatewayError("Nope"), ZH) == "Nope"


# --- the client's own errors ---------------------------------------------------------------------


class Answer:
    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content


class Session:
    """Answers every POST with `answer` (or raises it)."""

    def __init__(self, answer: Answer | Exception) -> None:
        self.answer = answer

    def post(self, *args: Any, **kwargs: Any) -> Answer:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def client(answer: Answer | Exception) -> ZhiqiteClient:
    return ZhiqiteClient("http://127.0.0.1:9", appcode="secret-code-123", max_retries=0,
                         session=Session(answer))  # type: ignore[arg-type]


@pytest.mark.parametrize("answer, english", [
    (requests.ReadTimeout(), "query_models: no answer within the timeout"),
    (requests.ConnectionError(),
     "query_models: could not reach http://127.0.0.1:9 (ConnectionError)"),
    (Answer(200, {}, b'{"code":"200","data":{"rows":5}}'),
     "query_models: the answer does not match the documented shape (4 problem(s)) (HTTP 200)"),
])
def test_no_answer_and_odd_answers(answer: Answer | Exception, english: str) -> None:
    with pytest.raises(e.ZhiqiteError) as caught:
        client(answer).query_models()
    assert str(caught.value) == render(caught.value, EN) == english
    assert_all_chinese(caught.value.msg)


def test_a_bad_base_url_and_tool_code() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ZhiqiteClient("ftp://x", appcode="a")
    assert str(caught.value) == render(caught.value, EN) == \
        "api base must be an http(s) URL, got 'ftp://x'"
    assert_all_chinese(caught.value.msg)
    with pytest.raises(InvalidRequestError) as refused:
        client(Answer(200, {}, b"")).query_tool_task("../x", "t1")
    assert str(refused.value) == render(refused.value, EN) == \
        "toolCode must look like 'roop' or 'hair/change', got '../x'"
    assert_all_chinese(refused.value.msg)


def test_a_key_the_gateway_echoes_is_hidden_in_every_language() -> None:
    answer = Answer(400, {"X-Ca-Error-Message": "bad header secret-code-123"}, b"")
    with pytest.raises(e.GatewayError) as caught:
        client(answer).query_models()
    for language in Language:
        assert "secret-code-123" not in render(caught.value, language)
        assert "***" in render(caught.value, language)
    assert "secret-code-123" not in str(caught.value.error_message)
