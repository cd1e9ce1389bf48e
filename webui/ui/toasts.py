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

# What makes a link, an image or a code span in Markdown: `[`, `]`, a backtick, a backslash,
# and what Gradio's Markdown turns into a link by itself (a bare `https://...`, `www....`, an
# e-mail address). Backslash escapes render as the character alone. Emphasis (`*`, `_`) is
# left alone: it can only restyle, and it is common in service text (ZHIQITE_APPCODE).
_MARKDOWN_ACTIVE = re.compile(r"[\\`\[\]@]|:(?=//)|(?<=\bwww)\.", re.IGNORECASE)


def plain(text: object) -> str:
    """`text` as HTML element content: `<`, `>` and `&` escaped (quotes need no escape
    outside an attribute, and are kept so the text still reads the same to the page's
    translation script)."""
    return html.escape(str(text), quote=False)


def markdown_text(text: object) -> str:
    """`text` for a `gr.Markdown`: no HTML, no link, no image."""
    return _MARKDOWN_ACTIVE.sub(lambda m: "\\" + m.group(0), plain(text))


def warn(text: object, duration: float | None = 10) -> None:
    gr.Warning(plain(text), duration=duration)


def info(text: object, duration: float | None = 10) -> None:
    gr.Info(plain(text), duration=duration)


def error(text: object) -> gr.Error:
    """To raise: `raise toasts.error(...)`. A refusal is not a fault of the app: no traceback
    in the log (a flood of refused calls would flood it)."""
    return gr.Error(plain(text), print_exception=False)


def visitor_path(path: Path, description: str) -> str:
    """A server folder as a visitor may see it: relative to the working directory when it is
    under it, else only `description` (never the server's absolute path)."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):
        return description
    return str(relative) if relative.parts else "."
