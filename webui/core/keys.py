"""The app's own secret (made once per data dir) and what is derived from it: per-task callback
tokens and opaque owner keys. Nothing here is ever logged or stored in a task row."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from webui.core.files import set_aside

log = logging.getLogger(__name__)

KEY_FILE = "app.key"
KEY_BYTES = 32


def load_or_create_key(data_dir: Path | str) -> bytes:
    """32 random bytes in `<data dir>/app.key` (0600), so tokens survive a restart. A damaged
    key (shorter than 32 bytes) is set aside with a warning and a new one made: the app
    starts, but nothing derived from the old key matches any more."""
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            key = path.read_bytes()
            if len(key) >= KEY_BYTES:
                return key
            aside = set_aside(path)
            log.warning(
                "%s is damaged (%d bytes, a key has %d): moved to %s and a new key made. "
                "Callbacks of tasks still pending are refused (their tokens came from the old "
                "key; the safety-net polls still follow those tasks), and browsers' saved "
                "visitor ids, earlier tasks and styles no longer match anyone (owner keys come "
                "from the key).", path, len(key), KEY_BYTES, aside.name)
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    return key


class Keys:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()

    def callback_token(self, task_id: str) -> str:
        """Derived, not stored: a resumed task's callback URL is rebuilt byte for byte."""
        return self._mac("callback", task_id)[:40]

    def token_matches(self, task_id: str, token: str | None) -> bool:
        return hmac.compare_digest(self.callback_token(task_id), (token or "")[:64])

    def owner(self, visitor: str, credentials: tuple[str, ...] = ()) -> str:
        """Opaque owner key of a visitor (a browser's id) and the credentials in use: the
        same browser with another API key is another owner; secrets are never kept."""
        fingerprint = self._mac("credentials", "\0".join(credentials)) if credentials else ""
        return self._mac("owner", f"{visitor}\0{fingerprint}")[:32]

    def session_visitor(self, session_hash: str) -> str:
        """The visitor id of a browser that has none yet, from its page session: every event
        of that page computes the same id, so a click that comes before the load event has
        stored the id in the browser still lands with the same visitor (no I/O, no state)."""
        return "s" + self._mac("session-visitor", session_hash)[:39]

    def browser_secret(self) -> str:
        """Gradio's BrowserState "secret" is sent to every page (its encryption runs in the
        browser), so it hides nothing: what we keep there is signed (`visitor_token`) or
        sealed (`seal`) by the server instead. Derived and stable, so values written before a
        restart can still be read after it."""
        return self._mac("browser-state", "v1")[:32]

    # --- visitor ids: issued and signed by the server -------------------------------------

    def visitor_token(self, visitor: str) -> str:
        """What the browser keeps: the visitor id and its signature. A handler acts only for
        an id whose signature holds, so nobody can mint ids of their own."""
        return f"{visitor}.{self._mac('visitor', visitor)[:32]}"

    def visitor_from_token(self, token: object) -> str | None:
        if not isinstance(token, str) or len(token) > 200 or token.count(".") != 1:
            return None
        visitor, mac = token.split(".")
        if not 16 <= len(visitor) <= 100:
            return None
        return visitor if hmac.compare_digest(self._mac("visitor", visitor)[:32], mac) else None

    # --- sealed values: secrets the browser keeps but cannot read ---------------------------

    def _aead(self, purpose: str) -> AESGCM:
        return AESGCM(hmac.new(self._key, f"seal\0{purpose}".encode(), hashlib.sha256).digest())

    def seal(self, purpose: str, visitor: str, plain: bytes) -> str:
        """AES-GCM under a key derived from app.key (which never leaves the server), bound to
        the visitor: a copy taken from one browser's storage opens for that visitor only, and
        only through this app."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead(purpose).encrypt(nonce, plain, visitor.encode())
        return "z1." + base64.urlsafe_b64encode(nonce + sealed).decode()

    def unseal(self, purpose: str, visitor: str, value: object) -> bytes | None:
        """None for anything that is not a value this app sealed for this visitor."""
        if not isinstance(value, str) or not value.startswith("z1.") or len(value) > 20_000:
            return None
        try:
            raw = base64.urlsafe_b64decode(value[3:])
            return self._aead(purpose).decrypt(raw[:12], raw[12:], visitor.encode())
        except (binascii.Error, ValueError, InvalidTag):
            return None
