"""ASGI middleware on Gradio's own FastAPI app (passed through `launch(app_kwargs=...)`):

- `LoginThrottle`: Gradio's password form (`POST /login`): an address gets a few wrong
  passwords in a row, then waits. (No ceiling for everybody together: anyone could then
  lock the owner out by failing on purpose.)
- `BodyLimit`: no request body over a few MB reaches Gradio's routes, which read bodies whole
  (a queued call's JSON is a few kB; files go through `/upload`, bounded by Gradio's own
  `max_file_size`).
- `SessionLimit`: new page sessions per address and hour, before Gradio makes their state.
- `UploadLimit`: bytes uploaded per address and hour (Gradio keeps every upload a day).
- `PageBuildLimit`: pages (with their config and API description) Gradio makes for one
  address in ten minutes; it sits inside the page cache, so it sees only what was not kept.
- `ClosedRoutes`: Gradio routes this app has no use for and that read whole multipart bodies
  into memory for anyone (`component_server`, `process_recording`) answer 404.

A refusal's `detail` is in the language of the browser that sent the request (its language
cookie or Accept-Language: `webui.messages.language_of`)."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from webui.core.limits import BoundedMap, DistinctPerHour, Window, client_address
from webui.core.page_cache import KEPT_PATHS
from webui.messages import Msg, language_of

LOGIN_PATHS = ("/login", "/login/")
FAILURES_PER_ADDRESS = 5  # wrong passwords per address in FAILURE_PERIOD
ATTEMPTS_PER_ADDRESS = 20  # any tries per address a minute
FAILURE_PERIOD = 300.0


class LoginThrottle:
    def __init__(self, app: Any, *, trusted_proxies: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.trusted_proxies, self.clock = app, trusted_proxies, clock
        self._lock = threading.Lock()
        self._failures: BoundedMap[str, Window] = BoundedMap(20_000, FAILURE_PERIOD, clock)
        self._attempts: BoundedMap[str, Window] = BoundedMap(20_000, 60.0, clock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" \
                or scope.get("path") not in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        address = self._address(scope)
        wait = self._refusal(address)
        if wait is not None:
            await _too_many(send, scope, wait)
            return
        status: list[int] = []

        async def watch(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                status.append(int(message.get("status", 0)))
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] in (400, 401, 403):
            self._failed(address)

    def _address(self, scope: dict[str, Any]) -> str:
        return _scope_address(scope, self.trusted_proxies)

    def _refusal(self, address: str) -> float | None:
        """Seconds to wait, or None: the attempt may go through (and is counted)."""
        now = self.clock()
        with self._lock:
            failures = self._failures.get(address, lambda: Window(FAILURE_PERIOD, slots=30))
            attempts = self._attempts.get(address, lambda: Window(60.0))
            assert failures is not None and attempts is not None
            if failures.count(now) >= FAILURES_PER_ADDRESS:
                return failures.retry_after(now)
            if attempts.count(now) >= ATTEMPTS_PER_ADDRESS:
                return attempts.retry_after(now)
            attempts.add(now)
            return None

    def _failed(self, address: str) -> None:
        now = self.clock()
        with self._lock:
            failures = self._failures.get(address, lambda: Window(FAILURE_PERIOD, slots=30))
            assert failures is not None
            failures.add(now)


async def _too_many(send: Any, scope: dict[str, Any], wait: float) -> None:
    seconds = max(1, math.ceil(wait))
    await _refuse(send, scope, 429, Msg("guards.login_throttled", seconds=seconds),
                  ((b"retry-after", str(seconds).encode()),))


MAX_BODY = 4 << 20  # bytes of a request body, uploads aside
UPLOAD_PATHS = ("/gradio_api/upload",)  # Gradio bounds each file (max_file_size)
CLOSED_PATHS = ("/gradio_api/component_server", "/gradio_api/component_server/",
                "/gradio_api/process_recording", "/gradio_api/process_recording/",
                # writes the session's page to disk per call; the app offers no deep links
                "/gradio_api/deep_link", "/gradio_api/deep_link/")


class ClosedRoutes:
    def __init__(self, app: Any, *, paths: tuple[str, ...] = CLOSED_PATHS) -> None:
        self.app, self.paths = app, paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("path") in self.paths:
            await _answer(send, 404, json.dumps({"detail": "Not Found"}).encode())
            return
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(self, app: Any, *, limit: int = MAX_BODY,
                 exempt: tuple[str, ...] = UPLOAD_PATHS) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope.get("headers", [])
                         if name.lower() == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, scope, self.limit)
            return
        received = 0
        refused = False

        async def counted() -> dict[str, Any]:
            # a body without a length (chunked): counted as it comes, cut off past the limit
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    await _too_large(send, scope, self.limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not refused:  # once refused, the app's own answer is dropped
                await send(message)

        await self.app(scope, counted, guarded_send)


async def _too_large(send: Any, scope: dict[str, Any], limit: int) -> None:
    await _refuse(send, scope, 413, Msg("guards.body_too_large", limit=limit >> 20))


class _ScopeRequest:
    """The headers of an ASGI scope as `language_of` reads a request's."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                        for name, value in scope.get("headers", [])
                        if name.lower() in (b"accept-language", b"cookie")}


async def _refuse(send: Any, scope: dict[str, Any], status: int, msg: Msg,
                  headers: tuple[tuple[bytes, bytes], ...] = (), *,
                  as_text: bool = False) -> None:
    """An error answer whose `detail` is `msg` in the language of the request's browser; as
    plain text (`as_text`) where a browser shows the answer itself."""
    detail = msg.render(language_of(_ScopeRequest(scope)))
    if as_text:
        await _answer(send, status, detail.encode(), headers, kind=b"text/plain; charset=utf-8",
                      head=scope.get("method") == "HEAD")
    else:
        await _answer(send, status, json.dumps({"detail": detail}).encode(), headers)


async def _answer(send: Any, status: int, body: bytes,
                  headers: tuple[tuple[bytes, bytes], ...] = (), *,
                  kind: bytes = b"application/json", head: bool = False) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": b"" if head else body})


class SessionLimit:
    """New page sessions per address and hour (`Limits.new_sessions_per_hour`), counted before
    Gradio makes the session's state (about 85 KB each after the page's load, 1.4 MB as
    Gradio keeps it: see page_blocks.PageSessionState), so sessions minted by a script (a
    new `session_hash` per call, or `/call/...`, where each call is a session) would grow
    the app without bound. A session already admitted
    goes on for the hour; a refused one gets 429."""

    JOIN_PATHS = ("/gradio_api/queue/join", "/gradio_api/run/", "/gradio_api/api/")
    CALL_PATHS = ("/gradio_api/call/",)  # no session of its own: each call is a new one

    def __init__(self, app: Any, *, per_hour: int = 0, trusted_proxies: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.trusted_proxies = app, trusted_proxies
        self._sessions = DistinctPerHour(per_hour, clock=clock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = str(scope.get("path", ""))
        if not self._sessions.limit or scope.get("type") != "http" \
                or scope.get("method") != "POST" \
                or not path.startswith(self.JOIN_PATHS + self.CALL_PATHS):
            await self.app(scope, receive, send)
            return
        messages, body = [], b""
        while True:  # bounded by BodyLimit, which runs first
            message = await receive()
            messages.append(message)
            if message.get("type") != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        session = secrets.token_hex(8) if path.startswith(self.CALL_PATHS) else _session(body)
        address = _scope_address(scope, self.trusted_proxies)
        if session is not None and not self._sessions.admit(address, session):
            await _refuse(send, scope, 429, Msg("guards.new_sessions"),
                          ((b"retry-after", b"600"),))
            return

        async def replay() -> dict[str, Any]:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


class PageBuildLimit:
    """Pages Gradio makes for one address in ten minutes (the page, its config, the API
    description). Each costs about 0.2 s of CPU (a 1-2 MB document serialised anew); the
    page cache keeps them per address the app is reached by, and this sits inside it, so it
    counts only what the cache did not answer: a new Host, a query string (`?__theme=dark`),
    a repeated header. A visitor needs a few; a script writing a new Host or query each time
    could otherwise keep the app's CPU busy for everybody."""

    PATHS = frozenset(KEPT_PATHS)  # what the page cache keeps
    PAGE_PATHS = frozenset(path for path, kept in KEPT_PATHS.items() if kept == "/")
    PERIOD = 600.0

    def __init__(self, app: Any, *, per_ten_minutes: int = 60, trusted_proxies: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.limit, self.trusted_proxies = app, per_ten_minutes, trusted_proxies
        self.clock = clock
        self._lock = threading.Lock()
        self._made: BoundedMap[str, Window] = BoundedMap(20_000, self.PERIOD, clock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, method = scope.get("path"), scope.get("method")
        if not self.limit or scope.get("type") != "http" or path not in self.PATHS \
                or not (method == "GET" or method == "HEAD" and path in self.PAGE_PATHS):
            await self.app(scope, receive, send)  # (Gradio answers HEAD only for the page)
            return
        address, now = _scope_address(scope, self.trusted_proxies), self.clock()
        with self._lock:
            made = self._made.get(address, lambda: Window(self.PERIOD))
            assert made is not None
            full = made.count(now) >= self.limit
            if not full:
                made.add(now)
        if full:
            wait = max(60, math.ceil(made.retry_after(now)))
            # a browser opening the page reads the text as it is
            await _refuse(send, scope, 429, Msg("guards.page_builds",
                                                minutes=math.ceil(wait / 60)),
                          ((b"retry-after", str(wait).encode()),),
                          as_text=path in self.PAGE_PATHS)
            return
        await self.app(scope, receive, send)


def _session(body: bytes) -> str | None:
    """The `session_hash` of a JSON body (None: not there; Gradio refuses such a body)."""
    try:
        value = json.loads(body).get("session_hash")
    except (ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(value, str) or not value:
        return None
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()  # all of it


def _scope_address(scope: dict[str, Any], trusted_proxies: int) -> str:
    client = scope.get("client") or (None, None)
    forwarded = next((value.decode("latin-1") for name, value in scope.get("headers", [])
                      if name.lower() == b"x-forwarded-for"), None)
    return client_address(client[0], forwarded, trusted_proxies)


class UploadLimit:
    """Bytes an address may upload to Gradio's `/upload` an hour (`Limits.upload_mb_per_hour`):
    Gradio keeps each file in its cache for a day, whatever it is, so a script could fill the
    disk. A body must declare its length (browsers and gradio_client do)."""

    PATHS = ("/gradio_api/upload",)

    def __init__(self, app: Any, *, mb_per_hour: int = 0, trusted_proxies: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.trusted_proxies, self.clock = app, trusted_proxies, clock
        self.limit = mb_per_hour << 20
        self._lock = threading.Lock()
        self._sent: BoundedMap[str, Window] = BoundedMap(20_000, 3600.0, clock)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not self.limit or scope.get("type") != "http" or scope.get("method") != "POST" \
                or not str(scope.get("path", "")).startswith(self.PATHS):
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope.get("headers", [])
                         if name.lower() == b"content-length"), b"")
        if not declared.isdigit():
            await _refuse(send, scope, 411, Msg("guards.upload_length"))
            return
        size, now = int(declared), self.clock()
        address = _scope_address(scope, self.trusted_proxies)
        with self._lock:
            window = self._sent.get(address, lambda: Window(3600.0))
            assert window is not None
            full = window.count(now) + size > self.limit
            if not full:
                window.add(now, size)
        if full:
            wait = max(60, math.ceil(window.retry_after(now)))
            await _refuse(send, scope, 429, Msg("guards.upload_budget", limit=self.limit >> 20,
                                                minutes=math.ceil(wait / 60)),
                          ((b"retry-after", str(wait).encode()),))
            return
        await self.app(scope, receive, send)
