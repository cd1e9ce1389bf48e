"""Data-dir files that cannot be used are set aside, never deleted and never fatal: the app
starts with a fresh one and the operator finds the old one beside it."""

from __future__ import annotations

import time
from pathlib import Path


def set_aside(path: Path, label: str = "bad", *, now: float | None = None) -> Path:
    """Rename `path` to `<name>.<label>-<UTC time>` in its folder (another file of that name is
    never replaced) and return the new path. Raises OSError when it cannot be renamed."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{number}")
    path.rename(target)
    return target
