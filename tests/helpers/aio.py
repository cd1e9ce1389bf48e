"""Running a coroutine from a test, whatever this thread's state."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run` in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread for the whole session, and `asyncio.run` refuses to start
    inside a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
