"""The language of the visitor a handler is answering, for what the server renders.

Gradio sets the request of the event being handled (`LocalContext.request`) around every call
of a handler, and around every step of a streaming one, so a handler need not take a
`gr.Request` argument to learn its visitor's language. Gradio checks the inputs first
(`preprocess`: a forged choice, a number out of bounds, an upload's header), before that
request is set: `PageBlocks` keeps the request of the event for that stage (`answering`).
Outside an event (a test calling a handler directly, the CLI) it is English."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from gradio.context import LocalContext

from webui.messages import Language, language_of, message, render

_EVENT_REQUEST: ContextVar[Any] = ContextVar("zhiqite_event_request", default=None)


@contextmanager
def answering(request: Any) -> Iterator[None]:
    """The event being answered is `request`'s, until the block ends."""
    token = _EVENT_REQUEST.set(request)
    try:
        yield
    finally:
        _EVENT_REQUEST.reset(token)


def current_language() -> Language:
    return language_of(LocalContext.request.get(None) or _EVENT_REQUEST.get())


def page_tag(language: Language) -> str:
    """The start of `<html lang>` a page in `language` has ("zh" for zh_CN, "en")."""
    return str(language).split("_")[0]


def in_every_language(key: str, **params: Any) -> dict[str, str]:
    """{page tag: text} of a message, for what the page's own script writes (a counter, a
    notification) in the language the page shows."""
    return {page_tag(language): message(key, language, **params) for language in Language}


def confirm_first_js(key: str) -> str:
    """An event's `js`: the browser asks the message `key` first, in the page's language,
    and the answer (True for OK) replaces the event's last input (a hidden checkbox)."""
    questions = json.dumps(in_every_language(key), ensure_ascii=False)
    return f"""(...args) => {{
  const questions = {questions};
  const lang = (document.documentElement.lang || "en").split("-")[0];
  return [...args.slice(0, -1), confirm(questions[lang] || questions.en)];
}}"""


def say(value: Any, language: Language | None = None) -> str:
    """`value` (a `Msg`, an exception carrying one, or plain text) in the visitor's language."""
    return render(value, language or current_language())
