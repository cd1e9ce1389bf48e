"""Every text the page shows has its entry in the catalogue (English and Chinese), under a
readable key, and the page's translations carry only what it shows."""

from __future__ import annotations

import re

import gradio as gr
from gradio.i18n import I18nData

from tests.ui.conftest import BuiltUi
from webui.messages import Language, catalogue
from webui.ui.app import build
from webui.ui.i18n import LOCALES, SAME_IN_BOTH, TEXT_ATTRIBUTES, translations, used_keys


def shown_texts(demo: gr.Blocks) -> list[object]:
    texts: list[object] = []
    for block in demo.blocks.values():
        texts += [getattr(block, a, None) for a in TEXT_ATTRIBUTES]
        if isinstance(block, gr.Button | gr.Markdown):
            texts.append(block.value)
    return texts


def test_no_label_is_missing_a_translation(ui: BuiltUi) -> None:
    demo = build(ui.ctx)
    plain = [t for t in shown_texts(demo) if isinstance(t, str) and t.strip()
             and any(c.isalpha() for c in t) and t not in SAME_IN_BOTH]
    assert plain == []
    keys = [t.key for t in shown_texts(demo) if isinstance(t, I18nData)]
    assert len(keys) > 200
    table = translations(demo).translations
    for locale in ("en", *LOCALES):
        assert set(keys) <= set(table[locale])


def test_the_keys_are_readable_and_the_page_carries_only_its_own() -> None:
    pattern = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
    english, chinese = catalogue(Language.EN), catalogue(Language.ZH_CN)
    for key in english:
        assert pattern.fullmatch(key), key
    assert english["sampling.width"] == "Width" and chinese["sampling.width"] == "宽度"


def test_the_page_config_has_no_server_message(ui: BuiltUi) -> None:
    demo = build(ui.ctx)
    keys = used_keys(demo)
    table = translations(demo).translations
    assert set(table["en"]) == keys
    assert "settings.connection_failed" not in keys  # a message, rendered on the server
    assert all(re.search(r"[\u4e00-\u9fff]", table["zh-CN"][k]) or not re.search(
        r"[a-z]{3}", table["zh-CN"][k]) for k in keys), "an entry not translated"
