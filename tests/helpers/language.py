"""Handlers called as Gradio calls them for a browser of a given language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from gradio.context import LocalContext


@contextmanager
def browser_language(accept_language: str) -> Iterator[None]:
    """Handlers called as Gradio calls them for a browser that sends this Accept-Language
    (Gradio sets the event's request around every handler call)."""
    token = LocalContext.request.set(SimpleNamespace(  # type: ignore[arg-type]
        headers={"accept-language": accept_language}))
    try:
        yield
    finally:
        LocalContext.request.reset(token)
