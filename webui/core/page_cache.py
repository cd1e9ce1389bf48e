"""The page (`GET /`), its config and the API description made once, not for every visitor,
and Gradio's script files kept by the browser: ASGI middleware on Gradio's app.

Gradio builds the page on every request: it deep-copies the app's config (some 800
components), rewrites every URL in it to the request's root, renders the API page's code
snippets into it, and serialises 1.9 MB of HTML, which the gzip middleware then compresses:
about a quarter of a second of CPU per page view here, before the browser can start. The page
depends only on the address the visitor used (Gradio's root URL: Host, X-Forwarded-Host,
X-Forwarded-Proto, X-Gradio-Server, the root path) and on whether the browser takes gzip, so
it is kept per such key: a few entries, the least recently used dropped (Host is whatever a
client writes, and a page is only ever given to a request with the same key).
The same holds for the page's config (`GET /config`, 1 MB of JSON, which gradio_client and a
reloading page ask for) and the API description (`GET /gradio_api/info`, 1.2 MB, asked by
every gradio_client): about 0.2 s of CPU each to serialise again, so that a script asking for
them in a loop kept the app's CPU busy for every visitor (20 at once took 4 s).
Not with Gradio's password login, whose page depends on the visitor's cookie."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

# "" is "/" (a root path's page), Gradio routes both "/config" and "/config/"; the same bodies
# for every visitor at one address
API_INFO = "/gradio_api/info"
KEPT_PATHS = {"/": "/", "": "/", "/config": "/config", "/config/": "/config",
              API_INFO: API_INFO, API_INFO + "/": API_INFO}
# the query parameters Gradio reads on these routes (`main`, `get_config`, `api_info`); the
# rest (gradio_client's `serialize`, `__theme`, `view`, a Space's `__sign`) do not change the
# body, so they do not make another page
READ_PARAMETERS = frozenset({"page", "deep_link", "all_endpoints"})
MAX_PAGES = 24  # addresses the app is reached by, times with and without gzip, times 3 paths
# what Gradio's root URL is made of (gradio.route_utils.get_request_origin)
ROOT_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server")
KEY_HEADERS = frozenset({*ROOT_HEADERS, b"accept-encoding"})


class PageCache:
    def __init__(self, app: Any, *, enabled: bool = True, max_pages: int = MAX_PAGES) -> None:
        self.app, self.enabled, self.max_pages = app, enabled, max_pages
        self._pages: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        method = scope.get("method")
        if not self.enabled or scope.get("type") != "http" or method not in ("GET", "HEAD") \
                or scope.get("path") not in KEPT_PATHS:
            await self.app(scope, receive, send)
            return
        key = _page_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
        if page is not None:
            start, body = page
            await send(start)
            await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
            return
        if method == "HEAD":  # Gradio's answer to HEAD has no body to keep
            await self.app(scope, receive, send)
            return
        messages: list[dict[str, Any]] = []

        async def keep(message: dict[str, Any]) -> None:
            messages.append(message)
            await send(message)

        await self.app(scope, receive, keep)
        self._keep(key, messages)

    def _keep(self, key: tuple[Any, ...], messages: list[dict[str, Any]]) -> None:
        if not messages or messages[0].get("type") != "http.response.start" \
                or messages[0].get("status") != 200:
            return
        headers = messages[0].get("headers") or []
        if any(name.lower() == b"set-cookie" for name, _ in headers):
            return  # a page meant for one browser
        bodies = messages[1:]
        if not bodies or any(m.get("type") != "http.response.body" for m in bodies) \
                or bodies[-1].get("more_body"):
            return
        body = b"".join(m.get("body", b"") for m in bodies)
        with self._lock:
            self._pages[key] = (messages[0], body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)


def _page_key(scope: dict[str, Any]) -> tuple[Any, ...] | None:
    """What the body depends on, read as Gradio and Starlette's gzip read the request (the
    first of a repeated header, the encoding as written); None, not kept, when a header of
    the key is repeated: the key would name a copy they do not read (a page made with a
    script's root kept for the visitors' address, or gzip kept for those who take none)."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or []:
        name = name.lower()
        if name in KEY_HEADERS and name in headers:
            return None
        headers.setdefault(name, value)
    takes_gzip = b"gzip" in headers.get(b"accept-encoding", b"")
    query = [(name, value) for name, value in parse_qsl(
        (scope.get("query_string") or b"").decode("latin-1"), keep_blank_values=True)
        if name in READ_PARAMETERS]
    if len({name for name, _ in query}) < len(query):
        return None  # a repeated one: which copy Gradio reads is not ours to guess
    path = KEPT_PATHS[scope.get("path")]
    if path == API_INFO and not query:  # Gradio keeps the first one it made, for everybody
        return path, takes_gzip
    return (path, tuple(sorted(query)), scope.get("scheme"), tuple(scope.get("server") or ()),
            scope.get("root_path", ""), *(headers.get(name) for name in ROOT_HEADERS),
            takes_gzip)


# Gradio's build names each of its files after its content (Vite: `Index-Dw2QElZn.js`)
HASHED_ASSET = re.compile(r"^/assets/[^/]+-[A-Za-z0-9_-]{8,9}\.[a-z0-9]+$")
FOREVER = b"public, max-age=31536000, immutable"


class LongLivedAssets:
    """Gradio's script and style files (about 70 on this page) go with a year's
    Cache-Control: a file of the build never changes under its name (a new Gradio brings
    new names), and without it a returning visitor's browser asks again for each one, a
    round trip per file before the page can start."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD") \
                or not HASHED_ASSET.match(scope.get("path") or ""):
            await self.app(scope, receive, send)
            return

        async def forever(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start" and message.get("status") == 200:
                headers = [(k, v) for k, v in message.get("headers") or []
                           if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", FOREVER)]}
            await send(message)

        await self.app(scope, receive, forever)
