"""One function maps every kind of answer to the right exception."""

from __future__ import annotations

import pytest

from webui.api import errors as e


@pytest.mark.parametrize("status, message, code, cls", [
    (400, "Invalid AppCode `not exists`", "A400AC", e.AuthenticationError),
    (400, "Invalid AppKey", "A400IK", e.AuthenticationError),
    (400, "Invalid Signature, Server StringToSign:`POST#...`", None, e.SignatureError),
    (403, None, "A403IS", e.SignatureError),
    (403, "Quota Exhausted", None, e.QuotaError),
    (403, "Api Market Subscription quota exhausted", "B403MQ", e.QuotaError),
    (403, "Quota Expired", None, e.QuotaError),
    (403, "User Arrears", None, e.QuotaError),
    (400, "Invalid Url", None, e.GatewayError),
    (404, None, "I404NF", e.GatewayError),
    (403, "Unauthorized", None, e.AuthenticationError),
    (403, "Throttled by API Flow Control", None, e.ThrottledError),
    (429, None, None, e.ThrottledError),
    (400, "Timestamp Expired", None, e.ClockSkewError),
    (400, "Invalid Timestamp", None, e.ClockSkewError),
    (400, "Nonce Used", None, e.ClockSkewError),
    (500, "Internal Error", None, e.ServerError),
    (500, "Failed To Invoke Backend Service", None, e.ServerError),
    (503, None, None, e.ServerError),
    (504, None, None, e.ServerError),
    (413, "Body Too Large", None, e.GatewayError),
])
def test_gateway_errors(status: int, message: str | None, code: str | None, cls: type) -> None:
    headers = {"X-Ca-Request-Id": "REQ-1"}
    if message:
        headers["X-Ca-Error-Message"] = message
    if code:
        headers["X-Ca-Error-Code"] = code
    error, payload = e.error_from_response(status, headers, b"")
    assert type(error) is cls and payload is None
    assert error.status == status and error.request_id == "REQ-1"
    assert "REQ-1" in str(error) and f"HTTP {status}" in str(error)
    assert error.retryable == (cls in (e.ThrottledError, e.ServerError))


def test_retry_after_read_from_seconds_and_dates() -> None:
    error, _ = e.error_from_response(429, {"Retry-After": "2.5"}, b"")
    assert error.retry_after == 2.5
    error, _ = e.error_from_response(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"")
    assert error.retry_after == 0.0  # a date in the past: retry now
    assert e.parse_retry_after("soon") is None


def test_service_error_and_success() -> None:
    error, _ = e.error_from_response(200, {}, b'{"code":"400","msg":"width invalid","data":null}')
    assert isinstance(error, e.ServiceError) and not error.retryable
    assert "width invalid" in str(error) and error.service_code == "400"
    error, payload = e.error_from_response(200, {}, b'{"code":200,"msg":"ok","data":{}}')
    assert error is None and payload["msg"] == "ok"


@pytest.mark.parametrize("body", [b"<html>502</html>", b"", b"[1,2]", b'{"msg":"no code"}',
                                  b"\xff\xfe"])
def test_malformed_bodies(body: bytes) -> None:
    error, _ = e.error_from_response(200, {}, body)
    assert isinstance(error, e.MalformedResponseError) and error.retryable


def test_hierarchy() -> None:
    assert issubclass(e.APITimeoutError, e.APIConnectionError)
    assert issubclass(e.SignatureError, e.AuthenticationError)
    assert all(issubclass(c, e.ZhiqiteError) for c in (
        e.InvalidRequestError, e.QuotaError, e.ThrottledError, e.ServerError, e.ServiceError,
        e.APITimeoutError, e.ConfigurationError))
