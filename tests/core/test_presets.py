"""Styles (A1111's styles.csv rules), presets, and the pickers' prompt edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from webui.core.presets import PRESETS_DIR, Style, Styles, defaults, merge_style_text, sizes
from webui.core.prompts import toggle_lora, toggle_word
from webui.core.store import SQLiteTaskStore


def test_style_text_wraps_or_appends_as_a1111_does() -> None:
    assert merge_style_text("a cat", "photo of {prompt}, 35mm") == "photo of a cat, 35mm"
    assert merge_style_text("a cat", "masterpiece") == "a cat, masterpiece"
    assert merge_style_text("", "masterpiece") == "masterpiece"
    assert merge_style_text("a cat", "") == "a cat"


def test_saved_styles_join_the_shipped_ones_and_survive(tmp_path: Path) -> None:
    """A visitor's styles are kept in the store under their owner key (more in
    test_styles.py)."""
    styles = Styles(PRESETS_DIR / "styles.csv", SQLiteTaskStore.in_dir(tmp_path))
    assert "Photographic" in styles.names("owner")
    styles.save("owner", Style("Mine, with \"quotes\"", "neon {prompt}", "dull"))
    again = Styles(PRESETS_DIR / "styles.csv", SQLiteTaskStore.in_dir(tmp_path))
    assert again.apply("owner", ["Mine, with \"quotes\"", "Quality tags"], "a cat", "") == (
        "neon a cat, masterpiece, best quality",
        "dull, worst quality, low quality, lowres, bad anatomy, bad hands, jpeg artifacts")
    with pytest.raises(ValueError, match="Style name"):
        styles.save("owner", Style("  "))
    assert not (tmp_path / "styles.csv").exists()  # no shared file any more
    assert (PRESETS_DIR / "styles.csv").read_text().count("Mine") == 0  # shipped file untouched


def test_presets_load() -> None:
    assert defaults()["txt2img"]["steps"] == 20
    assert all(w % 8 == 0 and h % 8 == 0 for w, h in sizes().values())


def test_lora_tags_toggle() -> None:
    once = toggle_lora("a cat", "add_detail")
    assert once == "a cat, <lora:add_detail:1>"
    assert toggle_lora(once, "add_detail") == "a cat"
    assert toggle_lora("a <lora:add_detail:0.6> cat", "add_detail") == "a cat"
    assert toggle_lora("", "x.y", 0.5) == "<lora:x.y:0.5>"
    assert toggle_lora("<lora:xay:1>", "x.y") == "<lora:xay:1>, <lora:x.y:1>"  # names literal


def test_embeddings_toggle_in_the_negative_prompt() -> None:
    assert toggle_word("blurry", "EasyNegative") == "blurry, EasyNegative"
    assert toggle_word("blurry, EasyNegative", "EasyNegative") == "blurry"
