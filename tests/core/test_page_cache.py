"""The page made once per address it is reached by (`webui.core.page_cache.PageCache`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.aio import run
from webui.core.page_cache import FOREVER, LongLivedAssets, PageCache


class Pages:
    """Gradio's page route, as far as the cache sees it: a page naming the root it was
    asked by, a new one each time (the count says how many were made)."""

    def __init__(self, status: int = 200, cookie: bool = False) -> None:
        self.made, self.status, self.cookie = 0, status, cookie

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.made += 1
        headers = dict(scope["headers"])
        host = headers.get(b"x-forwarded-host") or headers.get(b"x-gradio-server") \
            or headers.get(b"host", b"?")
        body = b"page %d for %s%s" % (self.made, host, scope["path"].encode())
        response = [(b"content-type", b"text/html")]
        if self.cookie:
            response.append((b"set-cookie", b"session=1"))
        await send({"type": "http.response.start", "status": self.status, "headers": response})
        half = len(body) // 2  # in two parts, as a streaming middleware may send it
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:]})


def get(app: Any, path: str = "/", host: bytes = b"a.example", method: str = "GET",
        query: bytes = b"", **headers: bytes) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "scheme": "http", "server": ("127.0.0.1", 7860), "root_path": "",
             "headers": [(b"host", host), *((k.replace("_", "-").encode(), v)
                                            for k, v in headers.items())]}
    run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_the_page_is_made_once_per_address_and_encoding() -> None:
    pages = Pages()
    cache = PageCache(pages)
    first = get(cache)
    assert get(cache) == first == (200, b"page 1 for a.example/")
    assert pages.made == 1
    # another address the app is reached by has its own root in its page
    assert get(cache, host=b"b.example") == (200, b"page 2 for b.example/")
    assert get(cache, host=b"a.example", x_forwarded_host=b"space.example")[1] == \
        b"page 3 for space.example/"
    assert get(cache, x_gradio_server=b"proxy.example")[1] == b"page 4 for proxy.example/"
    # a browser that takes gzip gets the page the gzip middleware made for it
    assert get(cache, accept_encoding=b"gzip, br")[1] == b"page 5 for a.example/"
    assert get(cache, accept_encoding=b"gzip")[1] == b"page 5 for a.example/"
    assert get(cache)[1] == b"page 1 for a.example/"
    assert pages.made == 5


def test_the_config_and_the_api_description_are_kept_beside_the_page() -> None:
    """A script asking for them in a loop costs the app nothing after the first."""
    pages = Pages()
    cache = PageCache(pages)
    for _ in range(3):
        assert get(cache, path="/config")[1] == b"page 1 for a.example/config"
        assert get(cache, path="/gradio_api/info")[1] == b"page 2 for a.example/gradio_api/info"
        assert get(cache)[1] == b"page 3 for a.example/"
        assert get(cache, path="")[1] == b"page 3 for a.example/"  # the same page
    assert get(cache, path="/config", host=b"b.example")[1] == b"page 4 for b.example/config"
    # Gradio makes its API description once, for whichever address asked first: so is it
    # kept, whatever Host a script writes
    for n in range(20):
        assert get(cache, path="/gradio_api/info", host=b"forged-%d.example" % n)[1] == \
            b"page 2 for a.example/gradio_api/info"
    assert pages.made == 4


def raw_get(app: Any, headers: list[tuple[bytes, bytes]], path: str = "/config") -> bytes:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
             "scheme": "http", "server": ("127.0.0.1", 7860), "root_path": "",
             "headers": headers}
    run(app(scope, None, send))
    return b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize("path", ["/", "/config", "/gradio_api/info"])
@pytest.mark.parametrize("name", [b"host", b"x-forwarded-host", b"x-forwarded-proto",
                                  b"x-gradio-server", b"accept-encoding"])
def test_a_repeated_header_of_the_key_is_neither_served_from_nor_kept(
        path: str, name: bytes) -> None:
    """Gradio (and Starlette's gzip) read the first of a repeated header: a key made of
    another copy would keep a script's root, or gzip, for the visitors with that copy."""
    pages = Pages()
    cache = PageCache(pages)
    plain = [(b"host", b"a.example")]
    repeated = [*plain, (name, b"evil.example"), (name, b"space.example")]
    raw_get(cache, repeated, path)
    raw_get(cache, repeated, path)
    assert pages.made == 2  # each made anew, none kept
    assert raw_get(cache, [*plain, (name, b"space.example")], path).startswith(b"page 3 ")
    assert pages.made == 3


def test_gzip_is_read_as_the_compression_reads_it() -> None:
    """Starlette's gzip compresses when "gzip" is written as such in the first
    Accept-Encoding: the key says the same."""
    pages = Pages()
    cache = PageCache(pages)
    raw_get(cache, [(b"host", b"a.example"), (b"accept-encoding", b"GZIP")])
    assert raw_get(cache, [(b"host", b"a.example")]) == b"page 1 for a.example/config"
    assert pages.made == 1


def test_only_what_gradio_reads_makes_another_page() -> None:
    """The query parameters Gradio reads on these routes make their own page; the others
    (gradio_client's `serialize`, `__theme`, `view`, a Space's `__sign`) and a trailing slash
    are the same page; HEAD is answered from the kept page, without its body."""
    pages = Pages()
    cache = PageCache(pages)
    assert get(cache, path="/gradio_api/info", query=b"serialize=False")[1] == \
        b"page 1 for a.example/gradio_api/info"
    assert get(cache, path="/gradio_api/info/")[1] == b"page 1 for a.example/gradio_api/info"
    assert get(cache, path="/gradio_api/info", query=b"all_endpoints=true")[1] == \
        b"page 2 for a.example/gradio_api/info"
    assert get(cache, query=b"__theme=dark&__sign=abc")[1] == b"page 3 for a.example/"
    assert get(cache, query=b"view=api")[1] == b"page 3 for a.example/"
    assert get(cache, method="HEAD") == (200, b"")
    assert get(cache, path="/config", query=b"deep_link=abc")[1] == \
        b"page 4 for a.example/config"
    assert get(cache, path="/config/", query=b"deep_link=abc&serialize=1")[1] == \
        b"page 4 for a.example/config"
    assert get(cache, path="/config", query=b"deep_link=xyz")[1] == \
        b"page 5 for a.example/config"
    assert pages.made == 5


def test_anything_else_goes_to_gradio_each_time() -> None:
    pages = Pages()
    cache = PageCache(pages)
    for _ in range(2):
        get(cache, path="/config", query=b"deep_link=a&deep_link=b")  # which one Gradio reads
        get(cache, path="/theme.css")
        get(cache, method="POST")
        get(cache, path="/gradio_api/queue/status")
    get(cache, path="/config", method="HEAD")  # nothing kept yet to answer it from
    assert pages.made == 9


def test_refusals_and_pages_for_one_browser_are_not_kept() -> None:
    for pages in (Pages(status=500), Pages(cookie=True)):
        cache = PageCache(pages)
        assert get(cache)[1] == b"page 1 for a.example/"
        assert get(cache)[1] == b"page 2 for a.example/"


def test_with_a_password_login_every_page_is_made_for_its_request() -> None:
    pages = Pages()
    cache = PageCache(pages, enabled=False)
    get(cache)
    get(cache)
    assert pages.made == 2


def test_forged_hosts_keep_a_few_pages_at_most() -> None:
    pages = Pages()
    cache = PageCache(pages, max_pages=3)
    for n in range(50):
        get(cache, host=b"forged-%d.example" % n)
    assert len(cache._pages) == 3
    assert get(cache, host=b"forged-49.example")[1] == b"page 50 for forged-49.example/"
    assert get(cache, host=b"forged-0.example")[1] == b"page 51 for forged-0.example/"


def test_gradio_build_files_are_kept_by_the_browser_for_a_year() -> None:
    async def files(scope: dict[str, Any], receive: Any, send: Any) -> None:
        status = 200 if "missing" not in scope["path"] else 404
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"cache-control", b"no-cache")]})
        await send({"type": "http.response.body", "body": b"x"})

    def cache_control(path: str) -> list[bytes]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "headers": []}
        run(LongLivedAssets(files)(scope, None, send))
        return [v for k, v in sent[0]["headers"] if k == b"cache-control"]

    assert cache_control("/assets/Index-Dw2QElZn.js") == [FOREVER]
    assert cache_control("/assets/Index--ZTB3667.css") == [FOREVER]
    for elsewhere in ("/theme.css", "/static/fonts/IBMPlexMono-Regular.woff2",
                      "/gradio_api/file=/tmp/a-12345678.png", "/assets/missing-Dw2QElZn.js",
                      "/assets/unhashed.js", "/assets/sub/Index-Dw2QElZn.js"):
        assert cache_control(elsewhere) == [b"no-cache"], elsewhere
