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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any


@dataclass(frozen=True)
class FieldIssue:
    """One invalid field: `message` is a full sentence naming it; `kind` and `context` let a
    UI translate the sentence (e.g. kind "out_of_range", context {"rule": ..., "got": ...})."""

    field: str
    message: str
    kind: str = "invalid"
    context: Mapping[str, Any] = field(default_factory=dict)


class ZhiqiteError(Exception):
    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequestError(ZhiqiteError):
    def __init__(self, issues: list[FieldIssue], endpoint: str | None = None) -> None:
        self.issues = issues
        self.endpoint = endpoint
        super().__init__("; ".join(issue.message for issue in issues) or "invalid request")


class ConfigurationError(ZhiqiteError):
    pass


class APIStatusError(ZhiqiteError):
    def __init__(
        self,
        message: str,
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
        details = [f"HTTP {status}"] if status is not None else []
        if error_code:
            details.append(f"code {error_code}")
        if request_id:
            details.append(f"request id {request_id}")
        super().__init__(f"{message} ({', '.join(details)})" if details else message)


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

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    retryable = True


class MalformedResponseError(ServerError):
    pass


class GatewayError(APIStatusError):
    pass


class ServiceError(APIStatusError):
    """The service itself refused (HTTP 200, body code "400"): `msg` says why."""

    def __init__(self, message: str, *, service_code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.service_code = service_code


class APIConnectionError(ZhiqiteError):
    retryable = True


class APITimeoutError(APIConnectionError):
    pass


# Gateway messages (X-Ca-Error-Message) and codes (X-Ca-Error-Code) -> class and the sentence a
# user should read. Matched case-insensitively as substrings, first match wins.
_GATEWAY_RULES: tuple[tuple[tuple[str, ...], type[APIStatusError], str], ...] = (
    (("throttled", "a429"), ThrottledError, "Too many requests: the gateway is throttling"),
    (("invalid signature", "a403is", "a400is"), SignatureError,
     "The request signature was rejected: check the AppSecret"),
    (("invalid appcode", "a400ac", "a401ac"), AuthenticationError,
     "The AppCode was rejected: check ZHIQITE_APPCODE"),
    (("invalid appkey", "a400ik"), AuthenticationError,
     "The AppKey was rejected: check ZHIQITE_APP_KEY"),
    (("accesskey", "access key"), AuthenticationError,
     "The vendor access key was rejected: check ZHIQITE_ACCESS_KEY_ID/SECRET"),
    (("arrears", "b403ua"), QuotaError,
     "The account is in arrears (User Arrears): top up the cloud account to call again"),
    (("quota exhausted", "b403mq", "quota expired"), QuotaError,
     "The API quota is used up or expired: buy more calls for this service"),
    (("nonce used",), ClockSkewError,
     "The gateway saw this request's nonce before (Nonce Used): a replayed request"),
    (("timestamp expired", "invalid timestamp"), ClockSkewError,
     "The gateway rejected the request time: check this machine's clock"),
    (("unauthorized",), AuthenticationError,
     "These credentials are not authorised for this API"),
    (("invalid url", "i404nf"), GatewayError, "The gateway does not know this API path"),
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
            return ThrottledError("Too many requests", retry_after=retry_after, **meta), None
        for needles, cls, sentence in _GATEWAY_RULES:
            if any(n in haystack for n in needles):
                if cls is ThrottledError:
                    return ThrottledError(sentence, retry_after=retry_after, **meta), None
                return cls(sentence, **meta), None
        if status >= 500:
            reason = error_message or "the gateway or backend failed"
            return ServerError(f"Server error: {reason}", **meta), None
        reason = error_message or _short_text(body) or "request refused"
        return GatewayError(f"Request refused: {reason}", **meta), None

    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return MalformedResponseError("The API answered with a body that is not JSON", **meta), None
    if not isinstance(payload, dict) or "code" not in payload:
        return MalformedResponseError("The API answered JSON without a result code", **meta), None
    code = str(payload.get("code"))
    if code != "200":
        msg = str(payload.get("msg") or "no reason given")
        return ServiceError(f"The service refused the request: {msg}",
                            service_code=code, **meta), None
    return None, payload


def _short_text(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return text if text.isprintable() else ""
