"""The three ways to authenticate, each producing the headers for one request.

Signature auth signs the exact body bytes and is called again for every retry, so each
attempt has a fresh timestamp and nonce (a reused nonce is rejected as `Nonce Used`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from webui.api.errors import ConfigurationError
from webui.api.signing import sign_headers
from webui.messages import Msg

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json;charset=UTF-8"}
VENDOR_KEY_HEADERS = ("X-Request-req-accessKeyId", "X-Request-req-accessKeySecret")


@dataclass(frozen=True, repr=False)
class Auth:
    mode: str = "none"

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        return dict(JSON_HEADERS)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a log line or an error message."""
        return ()

    def __repr__(self) -> str:  # never print a secret
        return f"<{type(self).__name__} mode={self.mode}>"


@dataclass(frozen=True, repr=False)
class AppCodeAuth(Auth):
    appcode: str = ""
    mode: str = "appcode"

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        return {**JSON_HEADERS, "Authorization": f"APPCODE {self.appcode}"}

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.appcode,)


@dataclass(frozen=True, repr=False)
class SignatureAuth(Auth):
    app_key: str = ""
    app_secret: str = ""
    mode: str = "signature"
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    new_nonce: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        return sign_headers(
            method=method, path=path, body=body, app_key=self.app_key,
            app_secret=self.app_secret, timestamp_ms=self.clock_ms(), nonce=self.new_nonce(),
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.app_key, self.app_secret)


@dataclass(frozen=True, repr=False)
class VendorKeyAuth(Auth):
    access_key_id: str = ""
    access_key_secret: str = ""
    mode: str = "vendor-key"

    def headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        id_header, secret_header = VENDOR_KEY_HEADERS
        return {**JSON_HEADERS, id_header: self.access_key_id,
                secret_header: self.access_key_secret}

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.access_key_id, self.access_key_secret)


MARKETPLACE_DOMAIN = "alicloudapi.com"
VENDOR_KEYS_ON_MARKETPLACE = (
    "vendor access keys are for the vendor's own host, not the Alibaba Cloud marketplace "
    "gateway: use an AppCode or AppKey/AppSecret there")


def normalised_host(url: str) -> str:
    """The host as DNS sees it: lower case, without port and trailing dot
    ("ZHIQITE.market.alicloudapi.com.:443" -> "zhiqite.market.alicloudapi.com")."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def is_marketplace_host(base_url: str) -> bool:
    host = normalised_host(base_url)
    return host == MARKETPLACE_DOMAIN or host.endswith("." + MARKETPLACE_DOMAIN)


def check_destination(auth: Auth, url: str) -> None:
    """Refuse, before a byte is sent, to send vendor access keys to the marketplace gateway:
    decided on the URL the request goes to, whoever built the auth object."""
    if isinstance(auth, VendorKeyAuth) and is_marketplace_host(url):
        raise ConfigurationError(VENDOR_KEYS_ON_MARKETPLACE,
                                 Msg("error.vendor_keys_on_marketplace"))


def _pair(first: str | None, second: str | None, names: tuple[str, str]) -> bool:
    if bool(first) != bool(second):
        missing = names[1] if first else names[0]
        wrong = Msg("error.pair_missing", missing=missing, first=names[0], second=names[1])
        raise ConfigurationError(str(wrong), wrong)
    return bool(first)


def auth_from(
    base_url: str,
    *,
    appcode: str | None = None,
    app_key: str | None = None,
    app_secret: str | None = None,
    access_key_id: str | None = None,
    access_key_secret: str | None = None,
) -> Auth:
    """Pick the auth mode from what is given. The signature wins over the AppCode when both
    are set (the secret never travels); vendor keys only ever go to a non-marketplace host."""
    if _pair(app_key, app_secret, ("app_key", "app_secret")):
        return SignatureAuth(app_key=app_key or "", app_secret=app_secret or "")
    if appcode:
        return AppCodeAuth(appcode=appcode)
    if _pair(access_key_id, access_key_secret, ("access_key_id", "access_key_secret")):
        auth = VendorKeyAuth(access_key_id=access_key_id or "",
                             access_key_secret=access_key_secret or "")
        check_destination(auth, base_url)
        return auth
    return Auth()
