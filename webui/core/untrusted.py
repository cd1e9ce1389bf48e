"""Reading JSON that a browser or a scripted caller sends (a BrowserState value, a saved
form): bounded in size, and a value nested past the parser's depth is junk like any other,
not a RecursionError."""

from __future__ import annotations

import json
from typing import Any

JUNK = object()  # what a value that is not JSON (or too large, or too deep) reads as


def loads(text: Any, max_chars: int) -> Any:
    """The JSON value of `text`, or JUNK: not a string, empty, over `max_chars`, not JSON,
    or nested too deep."""
    if not isinstance(text, str) or not 0 < len(text) <= max_chars:
        return JUNK
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return JUNK
