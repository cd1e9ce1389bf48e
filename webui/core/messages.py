"""Messages by key, rendered on the server in the visitor's language from a gettext catalogue
(`webui/locale/<language>/LC_MESSAGES/messages.po`, read with Babel; no compile step).

A message is `message("history.heading.kind", language)` or with named parameters,
`message("queue.head", language, running=2, waiting=1)`: the `.po` files hold the text with
`{running}`-style placeholders, so a translator works with standard tools (`pybabel extract -k
message`, `pybabel update`; `babel.cfg`) and a third language is one more `.po` file. The
visitor's language comes from the browser (Accept-Language). What the user typed and the
service's names are parameters, never looked up."""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
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
        if tag and tag != "*":
            wanted.append((weight, tag.replace("-", "_")))
    for _, tag in sorted(wanted, key=lambda item: -item[0]):
        try:
            locale = Locale.parse(tag)
        except (ValueError, UnknownLocaleError):
            continue
        if locale.language == "zh":
            return Language.ZH_CN
        if locale.language == "en":
            return Language.EN
    return DEFAULT


def language_of(request: Any) -> Language:
    """The language of a Gradio request (its Accept-Language header)."""
    headers = getattr(request, "headers", None)
    try:
        value = headers.get("accept-language") if headers is not None else None
    except (AttributeError, TypeError):
        value = None
    return negotiate(value)


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
    """The text of `key` in `language` (English when it has none), placeholders filled."""
    text = catalogue(language).get(key) or catalogue(DEFAULT).get(key) or key
    return text.format_map(_Safe({k: str(v) for k, v in params.items()}))
