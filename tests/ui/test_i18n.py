"""Every text the page shows has its Chinese, and both languages have the same keys."""

from __future__ import annotations

import re

import gradio as gr
from gradio.i18n import I18nData

from tests.ui.conftest import BuiltUi
from webui.ui.app import build
from webui.ui.i18n import LOCALES, SAME_IN_BOTH, TEXT_ATTRIBUTES, ZH, key_of, translations


def shown_texts(demo: gr.Blocks) -> list[object]:
    texts: list[object] = []
    for block in demo.blocks.values():
        texts += [getattr(block, a, None) for a in TEXT_ATTRIBUTES]
        if isinstance(block, gr.Button | gr.Markdown):
            texts.append(block.value)
    return texts


def test_no_label_is_missing_a_translation(ui: BuiltUi) -> None:
    ui.ctx.preview_interval = ui.ctx.people.defaults.preview_interval  # as a real launch
    demo = build(ui.ctx)
    plain = [t for t in shown_texts(demo) if isinstance(t, str) and t.strip()
             and any(c.isalpha() for c in t) and t not in SAME_IN_BOTH]
    assert [t for t in plain if not _tradeoff_at_test_speed(t)] == []
    keys = [t.key for t in shown_texts(demo) if isinstance(t, I18nData)]
    assert len(keys) > 200
    table = translations().translations
    for locale in ("en", *LOCALES):
        assert set(keys) <= set(table[locale])


def _tradeoff_at_test_speed(text: str) -> bool:
    """The test runtime previews every 0.01 s, which no browser setting can ask for."""
    return text.startswith("Live preview **every 0.01 s**")


def test_translations_are_chinese_and_keys_have_no_dots() -> None:
    for english, chinese in ZH.items():
        assert "." not in key_of(english)
        assert re.search(r"[\u4e00-\u9fff]", chinese), english
