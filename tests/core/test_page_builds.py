"""PageBuildLimit (webui/core/http_guards.py): the pages Gradio makes for one address in ten
minutes, behind the page cache: a script writing a new Host or query string each time gets a
keyed refusal, in its language, once past the limit; other addresses and paths go on."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.aio import run
from webui.core.http_guards import PageBuildLimit
from webui.core.limits import Limits
from webui.core.page_cache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Gradio:
    """Gradio's routes as far as the guards see them: a page made per request, counted."""

    def __init__(self) -> None:
        self.made = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.made += 1
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"page %d" % self.made})


def get(app: Any, path: str = "/", host: bytes = b"a.example", query: bytes = b"",
        client: str = "203.0.113.7", method: str = "GET",
        headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes, dict[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "scheme": "http", "server": ("127.0.0.1", 7860), "root_path": "",
             "client": (client, 5000), "headers": [(b"host", host), *headers]}
    run(app(scope, None, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), \
        dict(sent[0].get("headers") or [])


def test_pages_the_cache_keeps_are_not_counted() -> None:
    gradio = Gradio()
    app = PageCache(PageBuildLimit(gradio, per_ten_minutes=3, clock=Clock()))
    for _ in range(50):  # a visitor and their page's reloads, a gradio_client in a loop
        assert get(app)[0] == 200
        assert get(app, "/config")[0] == 200
        assert get(app, "/gradio_api/info", query=b"serialize=False")[0] == 200
    assert gradio.made == 3


def test_a_new_host_or_query_each_time_is_refused_past_the_limit_in_its_language() -> None:
    clock, gradio = Clock(), Gradio()
    app = PageCache(PageBuildLimit(gradio, per_ten_minutes=3, clock=clock))
    assert [get(app, host=b"forged-%d.example" % n)[0] for n in range(3)] == [200] * 3
    # the page as text a browser shows as it is; the config and API description as JSON
    status, body, headers = get(app, host=b"forged-3.example")
    assert status == 429 and headers[b"retry-after"] == b"600"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert body.decode() == "Too many pages made for your network address: try again in 10 min."
    status, body, _ = get(app, "/config/", host=b"forged-3.example",
                          headers=((b"accept-language", b"zh-CN,zh;q=0.9"),))
    assert status == 429
    assert json.loads(body)["detail"] == "为你的网络地址生成的页面过多：请 10 分钟后再试。"
    assert get(app, query=b"deep_link=x")[0] == 429
    # the pages kept for this address still come, another address gets its own, other paths
    # are not counted
    assert get(app, host=b"forged-0.example")[1] == b"page 1"
    assert get(app, host=b"forged-9.example", client="198.51.100.2")[0] == 200
    assert get(app, "/gradio_api/queue/status", host=b"x.example")[0] == 200
    assert gradio.made == 5
    clock.now += 601  # ten minutes on, the address may again
    assert get(app, host=b"forged-4.example")[0] == 200


def test_a_repeated_header_that_bypasses_the_cache_is_counted() -> None:
    gradio = Gradio()
    app = PageCache(PageBuildLimit(gradio, per_ten_minutes=2, clock=Clock()))
    twice = ((b"x-forwarded-host", b"a"), (b"x-forwarded-host", b"b"))
    assert [get(app, headers=twice)[0] for _ in range(3)] == [200, 200, 429]


def test_behind_a_trusted_proxy_the_client_is_counted_not_the_proxy() -> None:
    gradio = Gradio()
    app = PageBuildLimit(gradio, per_ten_minutes=1, trusted_proxies=1, clock=Clock())
    for n in range(5):  # five visitors through one proxy: one page each
        forwarded = ((b"x-forwarded-for", b"198.51.100.%d" % n),)
        assert get(app, host=b"space.example", client="10.0.0.1", headers=forwarded)[0] == 200
    assert get(app, host=b"space.example", client="10.0.0.1",
               headers=((b"x-forwarded-for", b"198.51.100.0"),))[0] == 429


def test_head_is_counted_for_the_page_only() -> None:
    """Gradio makes the whole page for HEAD /, and answers HEAD elsewhere with 405."""
    gradio = Gradio()
    app = PageBuildLimit(gradio, per_ten_minutes=2, clock=Clock())
    for n in range(5):
        get(app, "/config", host=b"h%d" % n, method="HEAD")
    assert [get(app, host=b"h%d" % n, method="HEAD")[0] for n in range(3)] == [200, 200, 429]


def test_the_limit_is_the_shared_profiles_and_the_operators() -> None:
    assert Limits.shared().page_builds_per_ten_minutes == 60
    assert Limits.from_env({}, shared=False).page_builds_per_ten_minutes == 0
    assert Limits.from_env({"ZHIQITE_LIMITS": "off"}, shared=True) \
        .page_builds_per_ten_minutes == 0
    assert Limits.from_env({"ZHIQITE_PAGE_BUILDS_PER_TEN_MINUTES": "5"}, shared=True) \
        .page_builds_per_ten_minutes == 5


def test_off_when_the_limit_is_zero() -> None:
    gradio = Gradio()
    app = PageBuildLimit(gradio, per_ten_minutes=0, clock=Clock())
    assert all(get(app, host=b"h%d" % n)[0] == 200 for n in range(100))
