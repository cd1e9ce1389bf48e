"""`ZhiqiteClient`: validated requests, authenticated transport, bounded retries.

Each method takes its request model or a plain dict with the vendor's field names and returns
the typed response. Invalid input raises `InvalidRequestError` before anything is sent.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from webui.api import models as m
from webui.api.auth import Auth, SignatureAuth, auth_from, check_destination
from webui.api.endpoints import ENDPOINTS, MARKETPLACE_BASE, Endpoint
from webui.api.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    FieldIssue,
    InvalidRequestError,
    MalformedResponseError,
    SignatureError,
    ZhiqiteError,
    error_from_response,
)
from webui.api.signing import redacted, string_to_sign
from webui.api.validation import parse_request
from webui.messages import Msg

log = logging.getLogger(__name__)

R = TypeVar("R", bound=BaseModel)
Timeout = float | tuple[float, float]

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 35.0)  # the gateway gives the backend 30 s
ENV_VARS = {
    "base_url": "ZHIQITE_API_BASE",
    "appcode": "ZHIQITE_APPCODE",
    "app_key": "ZHIQITE_APP_KEY",
    "app_secret": "ZHIQITE_APP_SECRET",
    "access_key_id": "ZHIQITE_ACCESS_KEY_ID",
    "access_key_secret": "ZHIQITE_ACCESS_KEY_SECRET",
}
_TOOL_CODE = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")

# Called with the endpoint name for every request that may have been billed: all but those
# the gateway refused itself (4xx: credentials, quota, flow control, path), which never reach
# the service. A 5xx, a timeout or a body that is not the service's counts: the service may
# have done the work, and a meter must not show less than the bill.
Meter = Callable[[str], None]


class ZhiqiteClient:
    def __init__(
        self,
        base_url: str = MARKETPLACE_BASE,
        appcode: str | None = None,
        app_key: str | None = None,
        app_secret: str | None = None,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        *,
        max_retries: int = 3,
        backoff: float = 0.5,
        backoff_cap: float = 8.0,
        retry_after_cap: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        auth: Auth | None = None,
    ) -> None:
        if not re.match(r"^https?://", base_url or ""):
            wrong = Msg("error.api_base", got=repr(base_url))
            raise ConfigurationError(str(wrong), wrong)
        self.base_url = base_url.rstrip("/")
        self.auth = auth or auth_from(
            self.base_url, appcode=appcode, app_key=app_key, app_secret=app_secret,
            access_key_id=access_key_id, access_key_secret=access_key_secret,
        )
        check_destination(self.auth, self.base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.session = session or _pooled_session()
        self._sleep = sleep
        self._jitter = jitter
        self.calls: Counter[str] = Counter()  # requests sent per endpoint, retries included

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ZhiqiteClient:
        """Build from ZHIQITE_API_BASE, ZHIQITE_APPCODE, ZHIQITE_APP_KEY, ZHIQITE_APP_SECRET,
        ZHIQITE_ACCESS_KEY_ID, ZHIQITE_ACCESS_KEY_SECRET; keyword arguments win."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {
            arg: env[var] for arg, var in ENV_VARS.items() if env.get(var, "").strip()
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    @property
    def auth_mode(self) -> str:
        return self.auth.mode

    def __repr__(self) -> str:
        return f"ZhiqiteClient(base_url={self.base_url!r}, auth={self.auth_mode})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ZhiqiteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the 11 endpoints ---------------------------------------------------------------------

    def text2image(self, request: m.Text2ImageRequest | dict, *, meter: Meter | None = None
                   ) -> m.SubmitResponse:
        return self.call("text2image", request, meter=meter)

    def image2image(self, request: m.Image2ImageRequest | dict, *, meter: Meter | None = None
                    ) -> m.SubmitResponse:
        return self.call("image2image", request, meter=meter)

    def controlnet(self, request: m.ControlNetRequest | dict, *, meter: Meter | None = None
                   ) -> m.SubmitResponse:
        return self.call("controlnet", request, meter=meter)

    def query_models(self, request: m.ModelListRequest | dict | None = None
                     ) -> m.ModelListResponse:
        return self.call("query_models", request or {})

    def query_loras(self, request: m.LoraListRequest | dict | None = None) -> m.LoraListResponse:
        return self.call("query_loras", request or {})

    def query_vaes(self, request: m.VaeListRequest | dict | None = None) -> m.VaeListResponse:
        return self.call("query_vaes", request or {})

    def query_embeddings(self, request: m.EmbeddingListRequest | dict | None = None
                         ) -> m.EmbeddingListResponse:
        return self.call("query_embeddings", request or {})

    def query_task(self, task_id: str | m.QueryTaskRequest | dict, *, meter: Meter | None = None
                   ) -> m.TaskInfoResponse:
        return self.call("query_task", _task_query(task_id), meter=meter)

    def query_tool_task(self, tool_code: str, task_id: str | m.QueryTaskRequest | dict, *,
                        meter: Meter | None = None) -> m.ToolTaskResponse:
        if not _TOOL_CODE.match(tool_code or ""):
            wrong = Msg("field.named", field="toolCode", problem=Msg(
                "field.tool_code", example="'roop'", other="'hair/change'", got=repr(tool_code)))
            raise InvalidRequestError([FieldIssue("toolCode", str(wrong), "tool_code", {}, wrong)])
        return self.call("query_tool_task", _task_query(task_id), tool_code=tool_code,
                         meter=meter)

    def roop(self, request: m.RoopRequest | dict, *, meter: Meter | None = None
             ) -> m.RoopResponse:
        return self.call("roop", request, meter=meter)

    def enhance(self, request: m.EnhanceRequest | dict, *, meter: Meter | None = None
                ) -> m.EnhanceResponse:
        return self.call("enhance", request, meter=meter)

    # --- paging -------------------------------------------------------------------------------

    def iter_rows(self, endpoint: str, page_size: int = 100, **filters: Any) -> Iterator[Any]:
        """Every row of a list endpoint, page after page."""
        page_num, seen = 1, 0
        while True:
            page = self.call(endpoint, {**filters, "pageSize": page_size, "pageNum": page_num})
            rows = page.data.rows if page.data else []
            yield from rows
            seen += len(rows)
            total = page.data.total if page.data else 0
            if not rows or seen >= total or page_num >= 10_000:
                return
            page_num += 1

    def all_models(self, **filters: Any) -> list[m.ModelRow]:
        return list(self.iter_rows("query_models", **filters))

    def all_loras(self, **filters: Any) -> list[m.LoraRow]:
        return list(self.iter_rows("query_loras", **filters))

    def all_vaes(self, **filters: Any) -> list[m.VaeRow]:
        return list(self.iter_rows("query_vaes", **filters))

    def all_embeddings(self) -> list[m.EmbeddingRow]:
        return list(self.iter_rows("query_embeddings"))

    # --- transport ----------------------------------------------------------------------------

    def call(self, endpoint_name: str, request: Any, *, tool_code: str | None = None,
             meter: Meter | None = None) -> Any:
        """Validate, send, retry, map errors, parse. The body is serialised once, so every
        retry of a submit carries the same id_task / businessTaskId (ruling 9)."""
        endpoint = ENDPOINTS[endpoint_name]
        model = parse_request(endpoint.request, request, endpoint.name)
        body = model.to_body()  # type: ignore[attr-defined]
        path = endpoint.url_path(tool_code)
        attempt = 0
        while True:
            try:
                return self._send_once(endpoint, path, body, meter)
            except ZhiqiteError as exc:
                self._redact(exc)
                if not exc.retryable or attempt >= self.max_retries:
                    raise
                delay = self._delay(exc, attempt)
                log.info("%s failed (%s); retry %d/%d in %.2fs", endpoint.name,
                         type(exc).__name__, attempt + 1, self.max_retries, delay)
                self._sleep(delay)
                attempt += 1

    def _send_once(self, endpoint: Endpoint, path: str, body: bytes, meter: Meter | None) -> Any:
        url = self.base_url + path
        check_destination(self.auth, url)  # base_url and auth may have been changed since
        headers = self.auth.headers("POST", path, body)
        self.calls[endpoint.name] += 1
        started = time.monotonic()
        try:
            response = self.session.post(url, data=body, headers=headers,
                                         timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            if meter and _maybe_served(exc):
                meter(endpoint.name)
            if isinstance(exc, requests.Timeout):
                silent = Msg("error.timeout", endpoint=endpoint.name)
                raise APITimeoutError(str(silent), silent) from None
            unreachable = Msg("error.unreachable", endpoint=endpoint.name, url=self.base_url,
                              error=type(exc).__name__)
            raise APIConnectionError(str(unreachable), unreachable) from None
        log.debug("POST %s -> %d in %.0f ms (request id %s)", path, response.status_code,
                  (time.monotonic() - started) * 1000, response.headers.get("X-Ca-Request-Id"))
        if meter and not 400 <= response.status_code < 500:
            meter(endpoint.name)
        error, payload = error_from_response(response.status_code, response.headers,
                                             response.content)
        if isinstance(error, SignatureError) and isinstance(self.auth, SignatureAuth):
            self._log_signature_mismatch(path, headers, error)
        if error:
            raise error
        try:
            return endpoint.response.model_validate(payload)
        except ValidationError as exc:
            odd = Msg("error.malformed.shape", endpoint=endpoint.name, count=exc.error_count())
            raise MalformedResponseError(
                str(odd), odd, status=response.status_code,
                request_id=response.headers.get("X-Ca-Request-Id"),
            ) from None

    def _delay(self, error: ZhiqiteError, attempt: int) -> float:
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff * 2**attempt)
        return ceiling * (0.5 + self._jitter() / 2)  # "equal jitter": never zero, never > cap

    def _redact(self, error: ZhiqiteError) -> None:
        for secret in self.auth.secrets:
            if not secret:
                continue
            error.redact(secret)

    def _log_signature_mismatch(self, path: str, headers: dict[str, str], error: Any) -> None:
        assert isinstance(self.auth, SignatureAuth)
        names = headers.get("X-Ca-Signature-Headers", "").split(",")
        ours = string_to_sign("POST", path, headers, [n for n in names if n])
        log.warning("signature rejected; ours: %r; gateway said: %r",
                    redacted(ours, self.auth.app_key),
                    redacted(error.error_message or "", self.auth.app_key))


def _task_query(task_id: str | m.QueryTaskRequest | dict) -> Any:
    return {"businessTaskId": task_id} if isinstance(task_id, str) else task_id


def _maybe_served(error: requests.RequestException) -> bool:
    """False when the request provably never left: no connection could be made."""
    if isinstance(error, requests.ConnectTimeout):
        return False
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return not isinstance(reason, NewConnectionError)


def _pooled_session(connections: int = 64) -> requests.Session:
    """The task engine follows every task from a thread of its own: keep a connection for each
    rather than requests' default 10 (beyond which each call opens and drops a new one)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=connections)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
