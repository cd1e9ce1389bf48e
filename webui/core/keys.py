"""The app's own secret (made once per data dir) and what is derived from it: per-task callback
tokens and opaque owner keys. Nothing here is ever logged or stored in a task row."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "app.key"


def load_or_create_key(data_dir: Path | str) -> bytes:
    """32 random bytes in `<data dir>/app.key` (0600), so tokens survive a restart."""
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} is damaged: delete it (pending callbacks will be refused)"
                           ) from None
    key = secrets.token_bytes(32)
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
        """Encrypts what a BrowserState keeps in localStorage (visitor id, remembered keys).
        Derived, so values written before a restart can still be read after it."""
        return self._mac("browser-state", "v1")[:32]
