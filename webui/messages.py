"""Messages by key, rendered on the server in the visitor's language from a gettext catalogue
(`webui/locale/<language>/LC_MESSAGES/messages.po`, read with Babel; no compile step). Every
layer uses it (the API's refusals, core's limits and task states, the UI's notices, the CLI), so
it sits at the package's top, beside no framework.

A message is `message("history.heading.kind", language)` or with named parameters,
`message("queue.head", language, running=2, waiting=1)`: the `.po` files hold the text with
`{running}`-style placeholders, so a translator works with standard tools (`pybabel extract -k
message -k Msg`, `pybabel update`; `babel.cfg`) and a third language is one more `.po` file.

Code that does not know the visitor's language yet (an exception raised in core, a task's
status) makes a `Msg("limits.at_once", limit=2, scope=Msg(...))`: data, rendered where the
language is known (`render(value, language)`); `str()` of it is the English, for logs. What the
user typed and the service's names are parameters, never looked up.

The visitor's language comes from the browser: the page's language cookie (Gradio's own
language switch, kept in step by `assets/language.js`), else Accept-Language."""

from __future__ import annotations

import enum
import os
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
MAX_ACCEPT_LANGUAGE = 500  # characters of the header read


class Language(enum.StrEnum):
    EN = "en"
    ZH_CN = "zh_CN"


DEFAULT = Language.EN


def negotiate(accept_language: Any) -> Language:
    """The first language of the browser's list that the catalogue has (Babel's matching:
    zh, zh-CN, zh-Hans-CN all give zh_CN), else English."""
    if not isinstance(accept_language, str) or not accept_language:
        return DEFAULT
    wanted = []
    for part in accept_language[:MAX_ACCEPT_LANGUAGE].split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and weight > 0:  # q=0: "not this one"
            wanted.append((weight, tag))
    for _, tag in sorted(wanted, key=lambda item: -item[0]):
        found = _supported(tag)
        if found:
            return found
    return DEFAULT


def _supported(tag: str | None) -> Language | None:
    """The catalogue's language for a language tag ("zh-CN", "zh_Hans", "en"), or None."""
    if not tag:
        return None
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    for language in Language:  # one catalogue per language: its territory is a default
        if Locale.parse(str(language)).language == locale.language:
            return language
    return None


COOKIE = "zhiqite_lang"  # set by the page when Gradio's language switch changes the page's


def language_of(request: Any) -> Language:
    """The language of a Gradio request: the page's language cookie when it names one the
    catalogue has, else its Accept-Language header."""
    headers = getattr(request, "headers", None)
    try:
        accept = headers.get("accept-language") if headers is not None else None
        cookies = headers.get("cookie") if headers is not None else None
    except (AttributeError, TypeError):
        accept = cookies = None
    chosen = _supported(_cookie(cookies, COOKIE))
    return chosen or negotiate(accept)


def language_of_environment(environ: Mapping[str, str] | None = None) -> Language:
    """A terminal's language, as gettext reads it: LC_ALL, else LC_MESSAGES, else LANG
    ("zh_CN.UTF-8" -> zh_CN; "C" or nothing -> English)."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return negotiate(value.split(".")[0].split("@")[0])
    return DEFAULT


def _cookie(header: Any, name: str) -> str | None:
    if not isinstance(header, str):
        return None
    for part in header[:4096].split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and 0 < len(value) <= 16:
            return value
    return None


@cache
def catalogue(language: Language) -> Mapping[str, str]:
    """{key: text} of one language's `.po` file."""
    with (LOCALE_DIR / str(language) / "LC_MESSAGES" / "messages.po").open("rb") as file:
        po = read_po(file, locale=str(language))
    return {m.id: m.string for m in po if m.id and isinstance(m.id, str) and m.string}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message(key: str, language: Language = DEFAULT, /, **params: Any) -> str:
    """The text of `key` in `language` (English when it has none), placeholders filled (a
    parameter that is a `Msg` rendered in the same language)."""
    return Msg(key, **params).render(language)


def _params(params: Mapping[str, Any], language: Language) -> dict[str, str]:
    return {k: render(v, language) for k, v in params.items()}


class Msg:
    """A message not rendered yet: a key and its parameters (which may be messages too)."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params

    def render(self, language: Language = DEFAULT) -> str:
        text = catalogue(language).get(self.key) or catalogue(DEFAULT).get(self.key) or self.key
        return text.format_map(_Safe(_params(self.params, language)))

    def __str__(self) -> str:
        return self.render(DEFAULT)

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)


def render(value: Any, language: Language = DEFAULT) -> str:
    """Any message-like value as text in `language`: a `Msg`; an exception or object that
    carries one (`.msg`); a list of them (joined); anything else as its text (what the user
    typed, the service's words, a number)."""
    if isinstance(value, Msg):
        return value.render(language)
    if isinstance(value, list | tuple):  # several refusals: one after the other
        return message("list.separator", language).join(render(v, language) for v in value)
    carried = getattr(value, "msg", None)
    if isinstance(carried, Msg):
        return carried.render(language)
    return str(value)


@cache
def _keys_by_english() -> Mapping[str, str]:
    """English text -> its key, for the page's labels (texts without placeholders). The
    same English may have two keys with different translations ("Prompt": a History heading,
    提示词; the prompt box's label, 正向提示词): the page's labels come last in the `.po`
    files (their own section), and the last one wins."""
    found: dict[str, str] = {}
    for key, text in catalogue(DEFAULT).items():
        if not placeholders(text):  # literal braces are doubled in the .po: "{{a|b}} cat"
            found[message(key)] = key
    return found


def key_of_text(english: str) -> str | None:
    """The key of a label written in English in the code, or None."""
    return _keys_by_english().get(english)


def label(english: str, language: Language = DEFAULT) -> str:
    """A label of the page as the visitor reads it ("Width" -> "宽度"); a text the catalogue
    does not have (a model's name) as it is."""
    key = key_of_text(english)
    return message(key, language) if key else english


# --- messages kept as data (a task's own failure reason, in the store) ---

MAX_MSG_DEPTH = 64  # a stored message's parameters may be messages, this deep


def msg_to_data(msg: Msg | None) -> dict[str, Any] | None:
    """A message as JSON data: {"key": ..., "params": {...}}, a parameter that is a message
    nested the same way, a list item by item (anything else as its text, or as the number
    it is)."""
    if msg is None:
        return None
    return {"key": msg.key, "params": {name: _param_data(value)
                                       for name, value in msg.params.items()}}


def _param_data(value: Any) -> Any:
    if isinstance(value, Msg):
        return msg_to_data(value)
    if isinstance(value, list | tuple):
        return [_param_data(item) for item in value]
    if isinstance(value, bool) or not isinstance(value, int | float | str | None):
        return str(value)
    return value


def msg_from_data(data: Any, depth: int = 0) -> Msg | None:
    """The message `msg_to_data` made; None for anything else (the column is data)."""
    if not isinstance(data, dict) or not isinstance(data.get("key"), str) \
            or not isinstance(data.get("params", {}), dict) or depth > MAX_MSG_DEPTH:
        return None
    params: dict[str, Any] = {}
    for name, value in data.get("params", {}).items():
        value = _param_of(value, depth)
        if isinstance(name, str) and value is not _UNREADABLE:
            params[name] = value
    return Msg(data["key"], **params)


_UNREADABLE = object()  # a stored parameter that is none of what `msg_to_data` writes


def _param_of(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        return msg_from_data(value, depth + 1) or _UNREADABLE
    if isinstance(value, list):
        items = [_param_of(item, depth + 1) for item in value[:1000]]
        return [item for item in items if item is not _UNREADABLE]
    return value if isinstance(value, int | float | str | None) else _UNREADABLE
