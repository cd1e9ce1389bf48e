"""History's `opened` state, one text: "<task id>|<nonce>" or "<task id>|<nonce>|<picture>".
The nonce makes a change of it re-open even the same task; the picture is the one History's
grid chose. Every handler that writes or reads it goes through here."""

from __future__ import annotations

import time
from typing import Any


def opened_value(task_id: str, picture: int | None = None) -> str:
    nonce = f"{task_id}|{time.monotonic()}"
    return nonce if picture is None else f"{nonce}|{picture}"


def opened_task(value: Any) -> str:
    """The task id in it ("" for anything else)."""
    return (value if isinstance(value, str) else "").split("|")[0]


def opened_picture(value: Any) -> int | None:
    parts = (value if isinstance(value, str) else "").split("|")
    return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
