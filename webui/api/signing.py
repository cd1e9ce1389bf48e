"""Alibaba Cloud API Gateway digest signature (HMAC-SHA256), as in gateway-signing.md.

Pure functions: the client signs with them and the offline backend verifies with them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_METHOD = "HmacSHA256"
# Headers that are part of StringToSign's fixed lines, or the signature itself: never listed.
_NOT_SIGNED = {
    "x-ca-signature", "x-ca-signature-headers", "accept", "content-md5", "content-type", "date",
}


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def path_and_parameters(path: str, params: Mapping[str, str] | None = None) -> str:
    """The path, then `?k=v&...` sorted by key, raw (not URL-encoded); empty value -> `k`."""
    if not params:
        return path
    pairs = [key if value in (None, "") else f"{key}={value}"
             for key, value in sorted(params.items())]
    return f"{path}?{'&'.join(pairs)}"


def string_to_sign(
    method: str,
    path: str,
    headers: Mapping[str, str],
    signed_header_names: list[str],
    params: Mapping[str, str] | None = None,
) -> str:
    """METHOD, Accept, Content-MD5, Content-Type, Date (each line present even when empty),
    then `Name:Value` per signed header sorted by name, then path and parameters."""
    lookup = {k.lower(): v for k, v in headers.items()}
    lines = [method.upper()] + [
        lookup.get(name, "") for name in ("accept", "content-md5", "content-type", "date")
    ]
    signed = "".join(f"{name}:{lookup.get(name.lower(), '')}\n"
                     for name in sorted(signed_header_names))
    return "\n".join(lines) + "\n" + signed + path_and_parameters(path, params)


def signature(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_headers(
    *,
    method: str,
    path: str,
    body: bytes,
    app_key: str,
    app_secret: str,
    timestamp_ms: int,
    nonce: str,
    accept: str = "application/json",
    content_type: str = "application/json;charset=UTF-8",
    params: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every header a signed request carries, for exactly these body bytes."""
    headers = {
        "Accept": accept,
        "Content-Type": content_type,
        "X-Ca-Key": app_key,
        "X-Ca-Timestamp": str(timestamp_ms),
        "X-Ca-Nonce": nonce,
        "X-Ca-Signature-Method": SIGNATURE_METHOD,
    }
    if body:
        headers["Content-MD5"] = content_md5(body)
    names = sorted(n for n in headers if n.lower() not in _NOT_SIGNED)
    headers["X-Ca-Signature-Headers"] = ",".join(names)
    text = string_to_sign(method, path, headers, names, params)
    headers["X-Ca-Signature"] = signature(app_secret, text)
    return headers


def redacted(text: str, app_key: str) -> str:
    """StringToSign with the AppKey blanked, safe for a debug log."""
    return text.replace(app_key, "***") if app_key else text
