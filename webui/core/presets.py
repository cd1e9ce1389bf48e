"""Presets shipped in `presets/` (defaults, sizes) and A1111-format styles: `presets/styles.csv`
plus the ones saved in this app (`<data dir>/styles.csv`)."""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"
STYLE_FIELDS = ("name", "prompt", "negative_prompt")


def load_json(name: str, presets_dir: Path = PRESETS_DIR) -> Any:
    return json.loads((presets_dir / name).read_text(encoding="utf-8"))


def defaults(presets_dir: Path = PRESETS_DIR) -> dict[str, Any]:
    return load_json("defaults.json", presets_dir)


def sizes(presets_dir: Path = PRESETS_DIR) -> dict[str, tuple[int, int]]:
    return {row["name"]: (int(row["width"]), int(row["height"]))
            for row in load_json("sizes.json", presets_dir)}


@dataclass(frozen=True)
class Style:
    name: str
    prompt: str = ""
    negative_prompt: str = ""


def merge_style_text(text: str, style_text: str) -> str:
    """A1111's rule: a style with {prompt} wraps the prompt, otherwise it is appended."""
    if not style_text:
        return text
    if "{prompt}" in style_text:
        return style_text.replace("{prompt}", text)
    return ", ".join(part for part in (text.strip(), style_text.strip()) if part)


class Styles:
    """Read-mostly; saving rewrites the app's own CSV (the shipped one is never changed)."""

    def __init__(self, shipped: Path, saved: Path) -> None:
        self.shipped, self.saved = shipped, saved
        self._lock = threading.Lock()

    @staticmethod
    def _read(path: Path) -> dict[str, Style]:
        if not path.is_file():
            return {}
        with path.open(newline="", encoding="utf-8-sig") as file:
            return {row["name"]: Style(row["name"], row.get("prompt") or "",
                                       row.get("negative_prompt") or "")
                    for row in csv.DictReader(file) if row.get("name")}

    def all(self) -> dict[str, Style]:
        return {**self._read(self.shipped), **self._read(self.saved)}

    def names(self) -> list[str]:
        return sorted(self.all(), key=str.casefold)

    def apply(self, names: list[str], prompt: str, negative: str) -> tuple[str, str]:
        styles = self.all()
        for name in names:
            style = styles.get(name)
            if style:
                prompt = merge_style_text(prompt, style.prompt)
                negative = merge_style_text(negative, style.negative_prompt)
        return prompt, negative

    def save(self, style: Style) -> None:
        name = style.name.strip()
        if not name:
            raise ValueError("style name: must not be empty")
        if len(name) > 100:
            raise ValueError("style name: at most 100 characters")
        with self._lock:
            saved = self._read(self.saved)
            saved[name] = Style(name, style.prompt, style.negative_prompt)
            self.saved.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.saved.with_suffix(".tmp")
            with temporary.open("w", newline="", encoding="utf-8") as file:
                writer = csv.writer(file)
                writer.writerow(STYLE_FIELDS)
                for row in saved.values():
                    writer.writerow((row.name, row.prompt, row.negative_prompt))
            temporary.replace(self.saved)
