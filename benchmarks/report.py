"""What every benchmark prints with: percentiles, table rows, a process's CPU time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by rank (nan when there is nothing)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float], q: float = 0.5) -> str:
    """A percentile of durations in seconds, in whole milliseconds ("-" when none)."""
    return f"{percentile(values, q) * 1000:.0f}" if values else "-"


def row(cells: list[Any], widths: list[int]) -> str:
    return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
