"""What Alibaba Cloud's API Gateway does in front of the service: check the AppCode, the
HMAC signature (timestamp window, nonce reuse, Content-MD5) or the vendor's key headers, and
answer refusals the way the gateway does, in `X-Ca-Error-*` headers with an empty body."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Mapping

from fastapi import Response

from webui.api.auth import VENDOR_KEY_HEADERS
from webui.api.signing import content_md5, signature, string_to_sign
from webui.offline.config import OfflineConfig

SKEW_MS = 15 * 60 * 1000


def gateway_error(status: int, message: str, code: str = "", retry_after: float | None = None
                  ) -> Response:
    headers = {"X-Ca-Error-Message": message, "X-Ca-Request-Id": str(uuid.uuid4()).upper()}
    if code:
        headers["X-Ca-Error-Code"] = code
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return Response(status_code=status, headers=headers)


class Gateway:
    def __init__(self, config: OfflineConfig) -> None:
        self.config = config
        self._nonces: dict[str, float] = {}

    def check(self, path: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        """None when the credentials pass (or none are configured), else the refusal."""
        cfg = self.config
        if not cfg.checks_auth:
            return None
        if cfg.app_key and headers.get("x-ca-key") is not None:
            return self._check_signature(path, headers, body)
        authorization = headers.get("authorization", "")
        if cfg.appcode and authorization.upper().startswith("APPCODE "):
            if hmac.compare_digest(authorization[8:].strip(), cfg.appcode):
                return None
            return gateway_error(400, "Invalid AppCode `not exists`", "A400AC")
        id_header, secret_header = (h.lower() for h in VENDOR_KEY_HEADERS)
        if cfg.access_key_id and headers.get(id_header) is not None:
            if (hmac.compare_digest(headers.get(id_header, ""), cfg.access_key_id)
                    and hmac.compare_digest(headers.get(secret_header, ""),
                                            cfg.access_key_secret or "")):
                return None
            return gateway_error(403, "Invalid AccessKey", "A403AK")
        if cfg.appcode:
            return gateway_error(400, "Invalid AppCode `not exists`", "A400AC")
        if cfg.app_key:
            return gateway_error(400, "Invalid AppKey", "A400IK")
        return gateway_error(403, "Invalid AccessKey", "A403AK")

    def _check_signature(self, path: str, headers: Mapping[str, str], body: bytes
                         ) -> Response | None:
        cfg = self.config
        if not hmac.compare_digest(headers.get("x-ca-key", ""), cfg.app_key or ""):
            return gateway_error(400, "Invalid AppKey", "A400IK")
        try:
            stamp = int(headers.get("x-ca-timestamp", ""))
        except ValueError:
            return gateway_error(400, "Invalid Timestamp", "A400IT")
        now_ms = int(time.time() * 1000)
        if abs(now_ms - stamp) > SKEW_MS:
            return gateway_error(400, "Timestamp Expired", "A400TE")
        nonce = headers.get("x-ca-nonce", "")
        self._nonces = {n: t for n, t in self._nonces.items() if now_ms - t < SKEW_MS}
        if not nonce or nonce in self._nonces:
            return gateway_error(400, "Nonce Used", "A400NU")
        if body and headers.get("content-md5") != content_md5(body):
            return gateway_error(400, "Invalid Content-MD5", "A400MD")
        names = [n for n in headers.get("x-ca-signature-headers", "").split(",") if n]
        # Header names arrive lower-cased; the signed text uses the names the client listed.
        text = string_to_sign("POST", path, headers, names)
        if not hmac.compare_digest(headers.get("x-ca-signature", ""),
                                   signature(cfg.app_secret or "", text)):
            shown = text.replace("\n", "#").replace(cfg.app_key or "", "***")
            return gateway_error(400, f"Invalid Signature, Server StringToSign:`{shown}`",
                                 "A400IS")
        self._nonces[nonce] = now_ms
        return None
