"""Prompt edits the pickers make: LoRA tags (ruling 8) and embedding names."""

from __future__ import annotations

import re


def lora_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"\s*,?\s*<lora:" + re.escape(name) + r"(?::[^>]*)?>")


def toggle_lora(prompt: str, name: str, weight: float = 1.0) -> str:
    """Add `<lora:name:weight>` to the prompt, or take it out if it is there."""
    pattern = lora_pattern(name)
    if pattern.search(prompt):
        return pattern.sub("", prompt).strip(" ,")
    tag = f"<lora:{name}:{weight:g}>"
    return f"{prompt.rstrip(' ,')}, {tag}" if prompt.strip() else tag


def toggle_word(text: str, word: str) -> str:
    """Add an embedding's name to the negative prompt, or take it out."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if word in parts:
        return ", ".join(part for part in parts if part != word)
    return ", ".join([*parts, word])
