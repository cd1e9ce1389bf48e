"""The optional tag list for the prompt's autocomplete (`ZHIQITE_TAGS_CSV`): a CSV in the
format of a1111-sd-webui-tagcomplete's lists (`tag,category,count,"alias,alias"`; only the
first column is required), answered by prefix from memory so the page carries none of it.

A tag matches by its start or by the start of any of its words ("blue" finds "blue_eyes" and
"light_blue_hair"), or by an alias; the most used come first."""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from pathlib import Path

MAX_TAGS = 300_000  # rows read: a full Danbooru list is ~100,000
MAX_TAG_CHARS = 100
MAX_QUERY_CHARS = 64
MAX_SUGGESTIONS = 20


@dataclass(frozen=True)
class Tag:
    text: str  # as the prompt gets it: underscores as spaces
    count: int = 0
    alias: str | None = None  # the alias the query matched, shown beside the tag


class TagList:
    def __init__(self, tags: list[tuple[str, int, list[str]]]) -> None:
        self._counts: dict[str, int] = {}
        keys: list[tuple[str, str, str | None]] = []  # (key searched, tag, alias)
        for tag, count, aliases in tags:
            shown = prompt_text(tag)
            self._counts[shown] = max(count, self._counts.get(shown, 0))
            words = shown.split(" ")
            keys += [(" ".join(words[i:]), shown, None) for i in range(len(words))]
            keys += [(prompt_text(alias).casefold(), shown, prompt_text(alias))
                     for alias in aliases]
        keys.sort(key=lambda key: key[0])
        self._keys = [key for key, _, _ in keys]
        self._rows = [(tag, alias) for _, tag, alias in keys]

    @classmethod
    def read(cls, path: Path) -> TagList:
        """OSError / UnicodeDecodeError for a file that cannot be read."""
        rows: list[tuple[str, int, list[str]]] = []
        with path.open(encoding="utf-8", newline="") as lines:
            for row in csv.reader(lines):
                if not row or not row[0].strip() or len(row[0]) > MAX_TAG_CHARS:
                    continue
                count = int(row[2]) if len(row) > 2 and row[2].strip().isdigit() else 0
                aliases = [a.strip() for a in row[3].split(",") if a.strip()
                           and len(a) <= MAX_TAG_CHARS] if len(row) > 3 else []
                rows.append((row[0].strip().casefold(), count, aliases))
                if len(rows) == MAX_TAGS:
                    break
        return cls(rows)

    def __len__(self) -> int:
        return len(self._counts)

    def suggest(self, query: object, limit: int = MAX_SUGGESTIONS) -> list[Tag]:
        """The tags starting with `query` (any word of them, or an alias), most used first."""
        if not isinstance(query, str):
            return []
        query = prompt_text(query.strip()[:MAX_QUERY_CHARS]).casefold()
        if not query:
            return []
        found: dict[str, Tag] = {}
        start = bisect.bisect_left(self._keys, query)
        for i in range(start, min(start + 2000, len(self._keys))):  # enough to rank the top
            if not self._keys[i].startswith(query):
                break
            tag, alias = self._rows[i]
            if tag not in found or (found[tag].alias and not alias):
                found[tag] = Tag(tag, self._counts[tag], alias)
        ranked = sorted(found.values(), key=lambda t: (not t.text.startswith(query),
                                                      -t.count, t.text))
        return ranked[:max(0, min(limit, MAX_SUGGESTIONS))]


def prompt_text(tag: str) -> str:
    """A list's tag as a prompt holds it: "blue_eyes" -> "blue eyes"; a face like "^_^" stays."""
    return tag.replace("_", " ") if any(ch.isalnum() for ch in tag) else tag
