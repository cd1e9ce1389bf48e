"""The refusals of the limits, own keys, uploads and HTTP guards are keyed messages (`.msg`):
in English word for word what they were, in Chinese with no English word but the values and
the names a visitor types or sets (PNG, ZHIQITE_PUBLIC_URL, --share, URL...)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.aio import run
from tests.helpers.images import gradient, png
from webui.api.client import ZhiqiteClient
from webui.api.errors import ConfigurationError
from webui.core.hosting import LocalImageHost, UploadRefused, check_header, prepare_upload
from webui.core.http_guards import BodyLimit, LoginThrottle, SessionLimit, UploadLimit
from webui.core.limits import Limiter, Limits, Quota, RateLimited, Scope, _minutes
from webui.core.sources import Sources
from webui.core.visitors import Credentials, Visitors
from webui.messages import Language, Msg, render

# Names, not prose: the same in both languages.
NAMES = {"PNG", "JPEG", "WebP", "GIF", "URL", "ZHIQITE_PUBLIC_URL", "share", "S3", "OSS",
         "ZHIQITE_S3_BUCKET", "Gradio", "AppCode", "AppKey", "AppSecret", "AccessKey", "ID",
         "Secret", "MB"}


def english_words(text: str) -> set[str]:
    words = re.findall(r"(?<![0-9])[A-Za-z][A-Za-z0-9_]+", text)  # not the x of 512x512
    return set(words) - NAMES


def assert_both(value: Any, english: str, chinese: str | None = None) -> None:
    """`value` (a Msg or what carries one) reads `english` as it did; its Chinese is
    `chinese` when given, and in any case holds no English word but the names."""
    assert render(value, Language.EN) == english
    assert str(value) == english
    rendered = render(value, Language.ZH_CN)
    assert not english_words(rendered), rendered
    if chinese is not None:
        assert rendered == chinese


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- limits ---------------------------------------------------------------------------------


def refusal(call: Any, *args: Any, **kwargs: Any) -> RateLimited:
    with pytest.raises(RateLimited) as refused:
        call(*args, **kwargs)
    assert isinstance(refused.value.msg, Msg)
    return refused.value


def test_the_waits_read_in_both_languages() -> None:
    assert_both(_minutes(2.2), "3 s", "3 秒")
    assert_both(_minutes(0.1), "1 s", "1 秒")
    assert_both(_minutes(90), "2 min", "2 分钟")
    assert_both(_minutes(3600 * 5.5), "6 h", "6 小时")


def test_tasks_at_once_for_each_scope() -> None:
    for quota, english, chinese in (
            (Limits(visitor=Quota(concurrent_tasks=1)), "per visitor on this app", "本应用每位访客"),
            (Limits(address=Quota(concurrent_tasks=1)), "from your network address", "你的网络地址"),
            (Limits(deployment=Quota(concurrent_tasks=1)), "on this app for everybody together",
             "本应用所有人合计")):
        limiter = Limiter(quota, clock=Clock())
        limiter.admit_task("v", "a")
        assert_both(refusal(limiter.admit_task, "v", "a"),
                    f"at most 1 task(s) at once {english}: wait for one to finish",
                    f"{chinese}同时最多 1 个任务：请等待一个完成")


def test_tasks_a_minute_list_calls_and_the_days_budget() -> None:
    clock = Clock()
    limiter = Limiter(Limits(visitor=Quota(tasks_per_minute=1)), clock=clock)
    limiter.admit_task("v", "a").release()
    limiter.admit_task("v", "a").bind("t1")  # a ticket that became a task stays counted
    assert_both(refusal(limiter.admit_task, "v", "a"),
                "at most 1 task(s) a minute per visitor on this app: try again in 1 min",
                "本应用每位访客每分钟最多 1 个任务：请 1 分钟后再试")

    limiter = Limiter(Limits(address=Quota(list_calls_per_minute=1)), clock=clock)
    limiter.admit_list_call("v", "a")
    clock.now += 58
    assert_both(refusal(limiter.admit_list_call, "v", "a"),
                "at most 1 list call(s) a minute from your network address: try again in 2 s",
                "你的网络地址每分钟最多 1 次列表调用：请 2 秒后再试")

    limiter = Limiter(Limits(deployment=Quota(calls_per_day=1)), clock=clock)
    limiter.admit_list_call("v", "a")  # billed: the day's one call
    limiter_refusal = refusal(limiter.admit_task, "v", "a")
    assert_both(limiter_refusal, "the day's budget of 1 billed calls on this app for everybody "
                                 "together is spent: try again in 24 h",
                "本应用所有人合计今天的 1 次计费调用额度已用完：请 24 小时后再试")


def test_a_plain_string_still_makes_a_refusal() -> None:
    """Callers not converted yet pass English: shown as it is."""
    refused = RateLimited("3 tasks at once is more than allowed", scope=Scope.VISITOR)
    assert refused.msg is None and render(refused, Language.ZH_CN) == str(refused)


# --- own keys -------------------------------------------------------------------------------


def key_refusal(people: Visitors, visitor: str, credentials: Credentials) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as refused:
        people.set_credentials(visitor, credentials)
    return refused.value


def test_own_key_refusals() -> None:
    default = ZhiqiteClient(base_url="http://127.0.0.1:9")
    assert_both(key_refusal(Visitors(default, allow_own_keys=False), "v",
                            Credentials(appcode="A" * 32)),
                "this app uses its operator's key; own keys are off")
    assert_both(key_refusal(Visitors(default), "v", Credentials()),
                "enter an AppCode, or an AppKey and AppSecret, or the vendor's access key id "
                "and secret")
    assert_both(Msg("visitors.incomplete_key"), "these fields do not make a complete key",
                "这些字段不构成完整的密钥")

    people = Visitors(default, limiter=Limiter(Limits(own_keys_per_address=1)))
    people.seen("visitor-0", "192.0.2.1")
    people.set_credentials("visitor-0", Credentials(appcode="A" * 32))
    people.seen("visitor-1", "192.0.2.1")
    assert_both(key_refusal(people, "visitor-1", Credentials(appcode="B" * 32)),
                "at most 1 own keys from one network address are held here at once; try "
                "again later", "同一网络地址同时最多保存 1 个自有密钥；请稍后再试")

    full = Visitors(default, max_own_keys=1)
    full.set_credentials("visitor-0", Credentials(appcode="A" * 32))
    assert_both(key_refusal(full, "visitor-1", Credentials(appcode="B" * 32)),
                "this app holds as many own keys as it can right now; try again later",
                "本应用目前保存的自有密钥已达上限；请稍后再试")


# --- uploads --------------------------------------------------------------------------------


def upload_refusal(call: Any, *args: Any, **kwargs: Any) -> UploadRefused:
    with pytest.raises(UploadRefused) as refused:
        call(*args, **kwargs)
    assert isinstance(refused.value.msg, Msg)
    return refused.value


def test_upload_refusals_name_the_field_in_its_language() -> None:
    picture = png(gradient(16, 16))
    assert_both(upload_refusal(check_header, io.BytesIO(picture), 21 << 20, "Image"),
                "Image: 21.0 MB is over the 20 MB limit", "图像：21.0 MB 超过 20 MB 上限")
    gif = b"GIF89a" + bytes(64)
    refused = upload_refusal(check_header, io.BytesIO(gif), len(gif), "Source")
    assert str(refused).startswith("Source: ")
    assert render(refused, Language.ZH_CN).startswith("源图像：")
    assert not english_words(render(refused, Language.ZH_CN))
    assert_both(upload_refusal(check_header, io.BytesIO(b"notes"), 5, "Control image"),
                "Control image: not a readable image (PNG, JPEG or WebP)",
                "控制图：无法读取的图像（请用 PNG、JPEG 或 WebP）")
    header_only = io.BytesIO()
    Image.new("1", (5000, 10)).save(header_only, "PNG")
    data = header_only.getvalue()
    assert_both(upload_refusal(check_header, io.BytesIO(data), len(data), "Target image"),
                "Target image: 5000x10 is larger than 4096x4096", "目标图像：5000x10 大于 4096x4096")
    damaged = picture[:60] + bytes(40)
    assert_both(upload_refusal(prepare_upload, damaged, "Image"),
                "Image: the file is damaged or truncated", "图像：文件已损坏或不完整")


def test_a_label_the_catalogue_lacks_is_kept_as_written() -> None:
    refused = upload_refusal(check_header, io.BytesIO(b"notes"), 5, "Mystery field")
    assert render(refused, Language.ZH_CN) == "Mystery field：无法读取的图像（请用 PNG、JPEG 或 WebP）"


def test_no_way_to_host_names_the_ways_out(tmp_path: Path) -> None:
    assert_both(upload_refusal(LocalImageHost(tmp_path, lambda: None).host, b"png"),
                "uploads need an address the service can reach: set ZHIQITE_PUBLIC_URL, or "
                "start the app with --share, or host uploads on S3/OSS (ZHIQITE_S3_BUCKET), or "
                "paste a public image URL")

    class NoResults:
        def find_image(self, owner: str, fingerprint: str) -> None:
            return None

    sources = Sources(NoResults(), lambda: None)  # type: ignore[arg-type]
    refused = upload_refusal(sources.url_for, "owner", Image.new("RGB", (8, 8)),
                             what="Target image")
    assert_both(refused, "Target image: this picture exists only on this machine and the "
                         "service cannot reach it. Make the app reachable: set "
                         "ZHIQITE_PUBLIC_URL to its public address, or start it with --share "
                         "(a public Gradio link), or host uploads on S3/OSS "
                         "(ZHIQITE_S3_BUCKET); or paste a public image URL. Nothing was sent "
                         "or billed.")
    assert render(refused, Language.ZH_CN).startswith("目标图像：这张图片只在本机上")


# --- HTTP guards: the browser's language ------------------------------------------------------


def answer(app: Any, path: str, headers: list[tuple[bytes, bytes]],
           body: bytes = b"{}") -> tuple[int, str]:
    scope = {"type": "http", "method": "POST", "path": path, "client": ("203.0.113.7", 5000),
             "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"]).get("detail", "")


async def _wrong_password(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 400, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


CHINESE = [(b"accept-language", b"zh-CN,zh;q=0.9")]
ENGLISH = [(b"accept-language", b"en-US")]


def test_http_refusals_in_the_browsers_language() -> None:
    login = LoginThrottle(_wrong_password, clock=Clock())
    for _ in range(5):
        answer(login, "/login", ENGLISH)
    status, english = answer(login, "/login", ENGLISH)
    assert status == 429 and re.fullmatch(r"Too many login attempts: try again in \d+ s\.",
                                          english)
    status, chinese = answer(login, "/login", [(b"cookie", b"zhiqite_lang=zh-CN")])
    assert re.fullmatch(r"登录尝试过多：请 \d+ 秒后再试。", chinese), chinese

    body = BodyLimit(_wrong_password, limit=1 << 20)
    for headers, expected in ((ENGLISH, "Request body over 1 MB."), (CHINESE, "请求体超过 1 MB。")):
        assert answer(body, "/x", [*headers, (b"content-length", b"9999999")]) == \
            (413, expected)

    sessions = SessionLimit(_wrong_password, per_hour=1)
    answer(sessions, "/gradio_api/queue/join", ENGLISH, b'{"session_hash": "a"}')
    assert answer(sessions, "/gradio_api/queue/join", ENGLISH, b'{"session_hash": "b"}') == \
        (429, "Too many new sessions from your network address this hour: try again later.")
    assert answer(sessions, "/gradio_api/queue/join", CHINESE, b'{"session_hash": "c"}') == \
        (429, "你的网络地址本小时打开的新会话过多：请稍后再试。")

    uploads = UploadLimit(_wrong_password, mb_per_hour=1, clock=Clock())
    assert answer(uploads, "/gradio_api/upload", CHINESE) == (411, "上传必须声明其长度。")
    assert answer(uploads, "/gradio_api/upload", ENGLISH) == (411, "An upload must say its length.")
    too_much = [(b"content-length", str(2 << 20).encode())]
    assert answer(uploads, "/gradio_api/upload", ENGLISH + too_much) == \
        (429, "Over 1 MB of uploads from your network address this hour: try again in 1 min.")
    status, chinese = answer(uploads, "/gradio_api/upload", CHINESE + too_much)
    assert chinese == "你的网络地址本小时的上传已超过 1 MB：请 1 分钟后再试。"
    assert not english_words(chinese)
