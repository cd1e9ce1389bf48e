"""Presets shipped in `presets/` (defaults, sizes) and A1111-format styles: the shipped ones
(`presets/styles.csv`, read-only, listed for everyone) and each visitor's own, kept in the
store under their owner key (never shared, never written into the shipped file).

Every field of a style is bounded, and no style file can stop the app from starting: a style
file is read within bounds (an oversized or malformed row is skipped with a warning, a file
that cannot be read at all is ignored with one), never by raising `csv.field_size_limit`."""

from __future__ import annotations

import csv
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from webui.api.models import MAX_PROMPT_CHARS
from webui.core.files import set_aside
from webui.core.hosting import labelled
from webui.core.store import Style, TaskStore
from webui.messages import Msg

log = logging.getLogger(__name__)

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"
STYLE_FIELDS = ("name", "prompt", "negative_prompt")
LEGACY_STYLES = "styles.csv"  # in the data dir: every visitor's styles, before each had their own

MAX_STYLE_NAME = 100  # characters
MAX_STYLE_TEXT = MAX_PROMPT_CHARS  # characters of a style's prompt, and of its negative prompt
MAX_STYLES_PER_OWNER = 200
MAX_APPLIED_STYLES = 50  # styles applied at once
MAX_FILE_STYLES = 1000  # rows read from a style file
MAX_FILE_CHARS = 16 << 20  # characters read from a style file
# The longest record a valid row can be: every character quoted and doubled, and the commas.
_MAX_RECORD = 2 * (MAX_STYLE_NAME + 2 * MAX_STYLE_TEXT) + 64
_CHUNK = 64 << 10

FIELD_LABELS = {"name": "Style name", "prompt": "Prompt", "negative_prompt": "Negative prompt",
                "styles": "Styles"}


class StyleRefused(ValueError):
    """A style (or a choice of styles) that is not allowed; the message (`.msg`; `str()` is
    the English) names the field by its label."""

    def __init__(self, field: str, detail: Msg) -> None:
        self.field, self.detail = field, detail
        self.msg = labelled(FIELD_LABELS[field], detail)
        super().__init__(str(self.msg))


class StyleFileError(Exception):
    """A style file that cannot be read at all."""


def load_json(name: str, presets_dir: Path = PRESETS_DIR) -> Any:
    return json.loads((presets_dir / name).read_text(encoding="utf-8"))


def defaults(presets_dir: Path = PRESETS_DIR) -> dict[str, Any]:
    return load_json("defaults.json", presets_dir)


def sizes(presets_dir: Path = PRESETS_DIR) -> dict[str, tuple[int, int]]:
    return {row["name"]: (int(row["width"]), int(row["height"]))
            for row in load_json("sizes.json", presets_dir)}


def merge_style_text(text: str, style_text: str) -> str:
    """A1111's rule: a style with {prompt} wraps the prompt, otherwise it is appended."""
    if not style_text:
        return text
    if "{prompt}" in style_text:
        return style_text.replace("{prompt}", text)
    return ", ".join(part for part in (text.strip(), style_text.strip()) if part)


def merged_length(text: str, style_text: str) -> int:
    """The length `merge_style_text` gives at most, computed without building it (a style
    with many {prompt} could otherwise grow the text a thousandfold)."""
    if not style_text:
        return len(text)
    if "{prompt}" in style_text:
        return len(style_text) + style_text.count("{prompt}") * (len(text) - len("{prompt}"))
    return len(text) + 2 + len(style_text)


def _text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StyleRefused(field, Msg("presets.must_be_text"))
    return value


def checked_style(style: Style) -> Style:
    """The style with its name trimmed, or StyleRefused naming the field and its limit."""
    name = _text(style.name, "name").strip()
    if not name:
        raise StyleRefused("name", Msg("presets.name_empty"))
    if len(name) > MAX_STYLE_NAME:
        raise StyleRefused("name", Msg("presets.name_too_long", limit=MAX_STYLE_NAME))
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise StyleRefused("name", Msg("presets.name_control"))
    prompt = _text(style.prompt, "prompt")
    negative = _text(style.negative_prompt, "negative_prompt")
    for field, text in (("prompt", prompt), ("negative_prompt", negative)):
        if len(text) > MAX_STYLE_TEXT:
            raise StyleRefused(field, Msg("presets.text_too_long", limit=MAX_STYLE_TEXT,
                                          got=len(text)))
    return Style(name, prompt, negative)


# --- reading a style file within bounds ---------------------------------------------------

# Where a scan of CSV text stands, read as Python's csv reads the excel dialect: at a field's
# start, inside an unquoted field, inside quotes, just after a quote that closed (or doubled).
_START, _FIELD, _QUOTED, _CLOSED = range(4)
_PLAIN = re.compile(r"[^,\r\n]*")


def _scan(chunk: str, state: int) -> int:
    """The state after reading `chunk` from `state`."""
    i, end = 0, len(chunk)
    while i < end:
        if state == _QUOTED:
            i = chunk.find('"', i)
            if i < 0:
                return _QUOTED
            state, i = _CLOSED, i + 1
            continue
        char = chunk[i]
        if char == '"' and state in (_START, _CLOSED):
            state = _QUOTED  # an opening quote, or the second of a doubled one
        elif char in ",\r\n":
            state = _START
        else:  # a plain character (a quote inside an unquoted field is one)
            state = _FIELD
            i = _PLAIN.match(chunk, i).end() - 1  # type: ignore[union-attr]
        i += 1
    return state


def _records(file: TextIO, notes: list[str]) -> Iterator[tuple[int, str | None]]:
    """The file's CSV records as (the line each starts on, its text), the text None for a
    record longer than any valid row (read to its end, never held). At most MAX_FILE_CHARS
    are read; a last record whose quote is never closed is noted and left out."""
    state, parts, size, line, start, total = _START, [], 0, 1, 1, 0
    while chunk := file.readline(_CHUNK):
        total += len(chunk)
        if total > MAX_FILE_CHARS:
            notes.append(f"only the first {MAX_FILE_CHARS} characters are read")
            return
        state = _scan(chunk, state)
        size += len(chunk)
        if size <= _MAX_RECORD:
            parts.append(chunk)
        if chunk[-1] in "\r\n":
            line += 1
            if state != _QUOTED:
                yield start, "".join(parts) if size <= _MAX_RECORD else None
                state, parts, size, start = _START, [], 0, line
    if state == _QUOTED:
        notes.append(f"line {start}: its quote is never closed; skipped")
    elif size:
        yield start, "".join(parts) if size <= _MAX_RECORD else None


def _fields(text: str) -> list[str]:
    """One record's fields (short enough that csv's field limit is never met)."""
    return next(csv.reader([text]), [])


@dataclass(frozen=True)
class StyleFile:
    styles: dict[str, Style]
    skipped: tuple[str, ...] = ()  # what was not read, and why: one sentence each


def read_style_file(path: Path) -> StyleFile:
    """An A1111 styles.csv (header with a `name` column; `prompt`, `negative_prompt`), read
    within bounds: a row over a limit, or one csv cannot parse, is skipped and noted. Raises
    StyleFileError when the file cannot be read at all."""
    styles: dict[str, Style] = {}
    notes: list[str] = []
    header: list[str] | None = None
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            for line, text in _records(file, notes):
                if text is None:
                    if header is None:
                        raise StyleFileError("its first line is not a header")
                    notes.append(f"line {line}: longer than any style can be; skipped")
                    continue
                try:
                    row = _fields(text)
                except csv.Error as exc:
                    if header is None:
                        raise StyleFileError(f"its header cannot be read ({exc})") from None
                    notes.append(f"line {line}: not CSV ({exc}); skipped")
                    continue
                if not any(cell.strip() for cell in row):
                    continue
                if header is None:
                    header = [cell.strip() for cell in row]
                    if "name" not in header:
                        raise StyleFileError("its first line has no 'name' column")
                    continue
                if len(styles) >= MAX_FILE_STYLES:
                    notes.append(f"only the first {MAX_FILE_STYLES} styles are read")
                    break
                values = dict(zip(header, row, strict=False))
                if not (values.get("name") or "").strip():
                    continue
                try:
                    style = checked_style(Style(values["name"], values.get("prompt") or "",
                                                values.get("negative_prompt") or ""))
                except StyleRefused as refused:
                    notes.append(f"line {line}: {refused}; skipped")
                    continue
                styles[style.name] = style
    except UnicodeDecodeError:
        raise StyleFileError("it is not UTF-8 text") from None
    except OSError as exc:
        raise StyleFileError(f"it cannot be read ({exc.strerror or exc})") from None
    return StyleFile(styles, tuple(notes))


def retire_shared_styles(data_dir: Path) -> Path | None:
    """Earlier versions saved every visitor's styles into one `<data dir>/styles.csv`, which
    every visitor then listed and applied. It is never read again: moved aside once, with one
    warning for the operator. Returns where it went (None: there was none)."""
    legacy = Path(data_dir) / LEGACY_STYLES
    if not legacy.is_file():
        return None
    try:
        count: int | None = len(read_style_file(legacy).styles)
        label = "shared-before-upgrade"
    except StyleFileError:
        count, label = None, "bad"
    try:
        aside = set_aside(legacy, label)
    except OSError as exc:
        log.warning("%s holds styles saved by any visitor of an earlier version: it is no "
                    "longer read, but could not be moved aside (%s)", legacy, exc)
        return None
    held = f"{count} style(s)" if count is not None else "styles, but cannot be read"
    log.warning("%s held %s saved by any visitor of an earlier version, which every visitor "
                "could list and apply. It is no longer read, and was moved to %s; each visitor "
                "now keeps their own styles. Copy the rows everyone should have into %s.",
                legacy, held, aside.name, PRESETS_DIR / "styles.csv")
    return aside


# --- the styles a visitor sees --------------------------------------------------------------


class Styles:
    """The shipped styles (read again when the file changes) and each owner's own, in the
    store. A visitor lists, applies and saves only their own and the shipped ones; a shipped
    name can never be saved over."""

    def __init__(self, shipped: Path, store: TaskStore, *,
                 per_owner: int = MAX_STYLES_PER_OWNER) -> None:
        self.shipped_file, self.store, self.per_owner = shipped, store, per_owner
        self._lock = threading.Lock()
        self._cached: tuple[Any, dict[str, Style]] | None = None

    def shipped(self) -> dict[str, Style]:
        try:
            stat = self.shipped_file.stat()
            signature: Any = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            signature = None
        with self._lock:
            if self._cached is None or self._cached[0] != signature:
                self._cached = (signature, self._read_shipped() if signature else {})
            return self._cached[1]

    def _read_shipped(self) -> dict[str, Style]:
        """Warnings once per change of the file. A shipped file is never moved or changed."""
        try:
            read = read_style_file(self.shipped_file)
        except StyleFileError as exc:
            log.warning("%s is ignored: %s. Its styles come back once it is fixed.",
                        self.shipped_file, exc)
            return {}
        for note in read.skipped:
            log.warning("%s: %s", self.shipped_file, note)
        return read.styles

    def own(self, owner: str | None) -> dict[str, Style]:
        if not owner:
            return {}
        return {style.name: style for style in self.store.styles(owner, limit=self.per_owner)}

    def available(self, owner: str | None) -> dict[str, Style]:
        """The owner's own styles and the shipped ones (a shipped one wins a name)."""
        return {**self.own(owner), **self.shipped()}

    def names(self, owner: str | None = None) -> list[str]:
        return sorted(self.available(owner), key=str.casefold)

    def chosen(self, owner: str | None, names: Any) -> list[Style]:
        """The styles of `names` (duplicates once), or StyleRefused: a name that is not the
        owner's own or shipped is refused, never looked up elsewhere."""
        if names is None:
            return []
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            raise StyleRefused("styles", Msg("presets.not_a_list"))
        if len(names) > MAX_APPLIED_STYLES:
            raise StyleRefused("styles", Msg("presets.too_many", limit=MAX_APPLIED_STYLES))
        if not names:  # most tasks: the store is not read
            return []
        available = self.available(owner)
        unknown = [name for name in dict.fromkeys(names) if name not in available]
        if unknown:
            name = repr(unknown[0][:MAX_STYLE_NAME])  # as typed: never looked up
            raise StyleRefused("styles", Msg("presets.unknown_more", name=name,
                                             more=len(unknown) - 1) if len(unknown) > 1
                               else Msg("presets.unknown", name=name))
        return [available[name] for name in dict.fromkeys(names)]

    def apply(self, owner: str | None, names: Any, prompt: Any, negative: Any
              ) -> tuple[str, str]:
        """The prompts with the chosen styles merged in, in the order chosen. StyleRefused
        when a name is not the owner's or shipped, or a prompt would exceed its limit."""
        styles = self.chosen(owner, names)
        prompt, negative = _text(prompt, "prompt"), _text(negative, "negative_prompt")
        for style in styles:
            prompt = _merge(prompt, style.prompt, "prompt")
            negative = _merge(negative, style.negative_prompt, "negative_prompt")
        return prompt, negative

    def save(self, owner: str, style: Style) -> Style:
        """Save (or replace) one of the owner's styles; returns it as saved. StyleRefused for
        a field over its limit, a shipped name, or an owner at MAX_STYLES_PER_OWNER."""
        style = checked_style(style)
        if style.name.casefold() in {name.casefold() for name in self.shipped()}:
            raise StyleRefused("name", Msg("presets.shipped_name", name=repr(style.name)))
        if not self.store.save_style(owner, style, limit=self.per_owner):
            raise StyleRefused("name", Msg("presets.owner_full", limit=self.per_owner))
        return style

    def delete(self, owner: str, name: Any) -> bool:
        """Delete one of the owner's own styles (a shipped one is not theirs to delete)."""
        return isinstance(name, str) and self.store.delete_style(owner, name)


def _merge(text: str, style_text: str, field: str) -> str:
    if style_text and merged_length(text, style_text) > MAX_PROMPT_CHARS:
        raise StyleRefused(field, Msg("presets.merged_too_long", limit=MAX_PROMPT_CHARS))
    return merge_style_text(text, style_text)


__all__ = ["MAX_STYLES_PER_OWNER", "PRESETS_DIR", "Style", "StyleRefused", "Styles",
           "defaults", "merge_style_text", "read_style_file", "retire_shared_styles", "sizes"]
