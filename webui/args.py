"""Argument types shared by the commands."""

from __future__ import annotations

import argparse


def preview_interval(text: str) -> float:
    """Seconds between live previews / progress queries: 0 (off) or 0.5-5."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value != 0 and not 0.5 <= value <= 5:
        raise argparse.ArgumentTypeError(f"must be 0 (off) or in [0.5, 5], got {text}")
    return value
