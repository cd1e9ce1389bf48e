"""One exception hierarchy for everything the API can do wrong, and one function that maps a
response to it (after openai-python's `_exceptions.py`).

    ZhiqiteError
    ├── InvalidRequestError        raised before any network call; `issues` name the fields
    ├── ConfigurationError         client set up wrongly (e.g. vendor keys for the gateway host)
    ├── APIStatusError             the gateway or service answered, and not with success
    │   ├── AuthenticationError    bad AppCode / AppKey / vendor key
    │   │   └── SignatureError     the gateway computed another signature
    │   ├── ClockSkewError         timestamp expired / invalid, nonce reused
    │   ├── QuotaError             quota used up, expired, arrears
    │   ├── ThrottledError         flow control / 429 (retryable, honours Retry-After)
    │   ├── ServerError            5xx from gateway or backend (retryable)
    │   │   └── MalformedResponseError  200 with a body that is not the vendor's JSON
    │   ├── GatewayError           any other gateway rejection (wrong path, body too large...)
    │   └── ServiceError           HTTP 200 with body code != "200" (the service said no)
    └── APIConnectionError         no answer at all (retryable)
        └── APITimeoutError

Every error carries the HTTP status, the gateway's error code and message and the
`X-Ca-Request-Id` where present. None carries credentials: the client redacts them.

Every error also carries `.msg`, the same sentence as a message by key (`webui.messages`), for
the UI to render in the visitor's language; `str(error)` is its English, for logs and the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from webui.messages import Msg


@dataclass(frozen=True)
class FieldIssue:
    """One invalid field: `message` is a full sentence naming it, in English; `msg` is the same
    sentence as a message by key (the field's wire name and the values are its parameters);
    `kind` and `context` are pydantic's error type and context (e.g. kind "out_of_range",
    context {"rule": ..., "got": ..., "range": ...})."""

    field: str
    message: str
    kind: str = "invalid"
    context: Mapping[str, Any] = field(default_factory=dict)
    msg: Msg = None  # type: ignore[assignment]  # None: the message, as it is (see below)

    def __post_init__(self) -> None:
        if self.msg is None:  # built from a sentence only: shown as it is in every language
            object.__setattr__(self, "msg", Msg("error.plain", text=self.message))


class ZhiqiteError(Exception):
    retryable = False

    def __init__(self, message: str, msg: Msg | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.msg = msg if msg is not None else Msg("error.plain", text=message)

    def __str__(self) -> str:
        return self.message

    def redact(self, secret: str) -> None:
        """Put *** for `secret` wherever this error could show it: its sentence in each form,
        and the gateway's own words (which may echo a key)."""
        self.message = self.message.replace(secret, "***")
        self.args = tuple(a.replace(secret, "***") if isinstance(a, str) else a
                          for a in self.args)
        self.msg = _redacted(self.msg, secret)
        for name in ("reason_msg", "error_message"):
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, _redacted(value, secret))


def _redacted(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, "***")
    if isinstance(value, Msg):
        return Msg(value.key, **{k: _redacted(v, secret) for k, v in value.params.items()})
    return value


class InvalidRequestError(ZhiqiteError):
    """`msg` says every issue, one after the other; each issue's own is `issues[i].msg`."""

    def __init__(self, issues: list[FieldIssue], endpoint: str | None = None) -> None:
        self.issues = issues
        self.endpoint = endpoint
        super().__init__("; ".join(issue.message for issue in issues) or "invalid request",
                         _one_after_another([issue.msg for issue in issues]))


def _one_after_another(msgs: list[Msg]) -> Msg:
    """Several refusals as one message ("a; b; c", "a；b；c")."""
    if not msgs:
        return Msg("error.invalid_request")
    return _chained(msgs, lambda first, rest: Msg("error.one_after_another", first=first,
                                                  rest=rest))


def _chained(msgs: list[Msg], pair: Callable[[Msg, Msg], Msg]) -> Msg:
    """[a, b, c] -> pair(a, pair(b, c)): a list joined the language's way, nested so that it
    stays one `Msg` that any renderer can render."""
    joined = msgs[-1]
    for earlier in reversed(msgs[:-1]):
        joined = pair(earlier, joined)
    return joined


class ConfigurationError(ZhiqiteError):
    pass


class APIStatusError(ZhiqiteError):
    """`message` / `msg` say what went wrong; the status, the gateway's code and the request id
    follow in brackets, in the message as in `msg` ("(HTTP 403, code A403IS, request id X)",
    "（HTTP 403，代码 A403IS，请求 ID X）"). `reason_msg` is the sentence without them."""

    def __init__(
        self,
        message: str,
        msg: Msg | None = None,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_message = error_message
        self.request_id = request_id
        self.reason_msg = msg if msg is not None else Msg("error.plain", text=message)
        details = _details_msg(status, error_code, request_id)
        if details is None:
            super().__init__(message, self.reason_msg)
        else:
            super().__init__(f"{message} ({details})",
                             Msg("error.with_details", error=self.reason_msg, details=details))


def _details_msg(status: int | None, error_code: str | None, request_id: str | None
                 ) -> Msg | None:
    """"HTTP 403, code A403IS, request id X" as a message (its commas are the language's)."""
    parts = [Msg("error.detail.status", status=status)] if status is not None else []
    if error_code:
        parts.append(Msg("error.detail.code", code=error_code))
    if request_id:
        parts.append(Msg("error.detail.request_id", request_id=request_id))
    if not parts:
        return None
    return _chained(parts, lambda first, rest: Msg("error.detail.more", first=first, rest=rest))


class AuthenticationError(APIStatusError):
    pass


class SignatureError(AuthenticationError):
    pass


class ClockSkewError(APIStatusError):
    pass


class QuotaError(APIStatusError):
    pass


class ThrottledError(APIStatusError):
    retryable = True

    def __init__(self, message: str, msg: Msg | None = None, *,
                 retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, msg, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    retryable = True


class MalformedResponseError(ServerError):
    pass


class GatewayError(APIStatusError):
    pass


class ServiceError(APIStatusError):
    """The service itself refused (HTTP 200, body code "400"): the body's `msg` says why (a
    parameter of this error's `msg`: the service's words are never translated)."""

    def __init__(self, message: str, msg: Msg | None = None, *,
                 service_code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, msg, **kwargs)
        self.service_code = service_code


class APIConnectionError(ZhiqiteError):
    retryable = True


class APITimeoutError(APIConnectionError):
    pass


# Gateway messages (X-Ca-Error-Message) and codes (X-Ca-Error-Code) -> class and what a user
# should read. Matched case-insensitively as substrings, first match wins. The gateway's own
# words ("User Arrears") are parameters: the user may need them to search its documentation.
_GATEWAY_RULES: tuple[tuple[tuple[str, ...], type[APIStatusError], Msg], ...] = (
    (("throttled", "a429"), ThrottledError, Msg("error.gateway.throttled")),
    (("invalid signature", "a403is", "a400is"), SignatureError,
     Msg("error.gateway.signature")),
    (("invalid appcode", "a400ac", "a401ac"), AuthenticationError,
     Msg("error.gateway.appcode")),
    (("invalid appkey", "a400ik"), AuthenticationError,
     Msg("error.gateway.app_key")),
    (("accesskey", "access key"), AuthenticationError,
     Msg("error.gateway.access_key")),
    (("arrears", "b403ua"), QuotaError, Msg("error.gateway.arrears", said="User Arrears")),
    (("quota exhausted", "b403mq", "quota expired"), QuotaError, Msg("error.gateway.quota")),
    (("nonce used",), ClockSkewError, Msg("error.gateway.nonce", said="Nonce Used")),
    (("timestamp expired", "invalid timestamp"), ClockSkewError, Msg("error.gateway.clock")),
    (("unauthorized",), AuthenticationError, Msg("error.gateway.unauthorized")),
    (("invalid url", "i404nf"), GatewayError, Msg("error.gateway.unknown_path")),
)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes
) -> tuple[ZhiqiteError | None, Any]:
    """Map one HTTP answer to (error, parsed JSON). Exactly one of the two is meaningful:
    success gives (None, json); anything else gives the error to raise."""
    error_message = headers.get("X-Ca-Error-Message")
    error_code = headers.get("X-Ca-Error-Code")
    meta = {
        "status": status,
        "error_code": error_code,
        "error_message": error_message,
        "request_id": headers.get("X-Ca-Request-Id"),
    }
    if status != 200:
        haystack = f"{error_message or ''} {error_code or ''}".lower()
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if status == 429:
            throttled = Msg("error.throttled")
            return ThrottledError(str(throttled), throttled, retry_after=retry_after,
                                  **meta), None
        for needles, cls, sentence in _GATEWAY_RULES:
            if any(n in haystack for n in needles):
                if cls is ThrottledError:
                    return ThrottledError(str(sentence), sentence, retry_after=retry_after,
                                          **meta), None
                return cls(str(sentence), sentence, **meta), None
        if status >= 500:
            failed = Msg("error.server", reason=error_message or Msg("error.server.no_reason"))
            return ServerError(str(failed), failed, **meta), None
        refused = Msg("error.refused", reason=error_message or _short_text(body)
                      or Msg("error.refused.no_reason"))
        return GatewayError(str(refused), refused, **meta), None

    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        not_json = Msg("error.malformed.not_json")
        return MalformedResponseError(str(not_json), not_json, **meta), None
    if not isinstance(payload, dict) or "code" not in payload:
        no_code = Msg("error.malformed.no_code")
        return MalformedResponseError(str(no_code), no_code, **meta), None
    code = str(payload.get("code"))
    if code != "200":
        # The service's reason is its own text: a parameter, never translated.
        said = Msg("error.service_refused", reason=str(payload.get("msg") or "")
                   or Msg("error.service_refused.no_reason"))
        return ServiceError(str(said), said, service_code=code, **meta), None
    return None, payload


def _short_text(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return text if text.isprintable() else ""
