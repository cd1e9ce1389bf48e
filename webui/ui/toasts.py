"""Every toast the app shows goes through here, and every text it shows is plain text.

Gradio renders the message of `gr.Warning`, `gr.Info` and `gr.Error` as HTML, and a message
often carries text from the service (an error, a model name) or from a visitor. Escaped here,
a link or an `<img>` in it shows as the characters it is made of. (A message of our own that
wanted markup would escape its parameters with `plain()` and call Gradio here; none does.)

Status lines in a `gr.Markdown` take `markdown_text()`: escaped for HTML, and with the
characters that make Markdown links, images and code spans escaped too."""

from __future__ import annotations

import html
import re
from pathlib import Path

import gradio as gr

from webui.messages import DEFAULT, Language, message
from webui.ui.language import current_language, page_tag, say

# What makes a link, an image or a code span in Markdown: `[`, `]`, a backtick, a backslash,
# and what Gradio's Markdown turns into a link by itself (a bare `https://...`, `www....`, an
# e-mail address). Backslash escapes render as the character alone. Emphasis (`*`, `_`) is
# left alone: it can only restyle, and it is common in service text (ZHIQITE_APPCODE).
_MARKDOWN_ACTIVE = re.compile(r"[\\`\[\]@]|:(?=//)|(?<=\bwww)\.", re.IGNORECASE)


def plain(text: object) -> str:
    """`text` as HTML element content: `<`, `>` and `&` escaped (quotes need no escape
    outside an attribute)."""
    return html.escape(str(text), quote=False)


def markdown_text(text: object) -> str:
    """`text` for a `gr.Markdown`: no HTML, no link, no image."""
    return _MARKDOWN_ACTIVE.sub(lambda m: "\\" + m.group(0), plain(text))


def warn(text: object, duration: float | None = 10) -> None:
    """`text`: a `Msg`, an exception carrying one, or plain text; shown, title and all, in
    the visitor's language."""
    language = current_language()
    gr.Warning(plain(say(text, language)), duration=duration,
               title=message("toast.warning", language))


def info(text: object, duration: float | None = 10) -> None:
    language = current_language()
    gr.Info(plain(say(text, language)), duration=duration, title=message("toast.info", language))


def error(text: object) -> gr.Error:
    """To raise: `raise toasts.error(...)`. A refusal is not a fault of the app: no traceback
    in the log (a flood of refused calls would flood it)."""
    language = current_language()
    return gr.Error(plain(say(text, language)), title=message("toast.error", language),
                    print_exception=False)


TOAST_KINDS = {"warning": "toast.warning", "info": "toast.info", "error": "toast.error"}


def toast_title_css() -> str:
    """Gradio 6 heads a toast with its kind ("Warning"), in English whatever the title
    passed: in another language the heading is the catalogue's word, by CSS on the page's
    language (`<html lang>`, which Gradio sets), nothing rewritten in the page."""
    rules = []
    for language in Language:
        if language == DEFAULT:
            continue
        tag = page_tag(language)
        for kind, key in TOAST_KINDS.items():
            word = message(key, language).replace("\\", "").replace('"', "")
            title = f"html:lang({tag}) .toast-title.{kind}"
            rules.append(f"{title} {{ font-size: 0; }}\n"
                         f'{title}::before {{ content: "{word} "; font-size: var(--text-md); }}\n'
                         f"{title} .toast-count {{ font-size: var(--text-sm); }}")
    return "\n".join(rules)


def visitor_path(path: Path, description: str) -> str:
    """A server folder as a visitor may see it: relative to the working directory when it is
    under it, else only `description` (never the server's absolute path)."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):
        return description
    return str(relative) if relative.parts else "."
