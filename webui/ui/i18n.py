"""The page's labels in the visitor's language (`gr.I18n`): the browser's language picks one,
and Gradio's own Settings panel (footer) switches it.

The texts are the catalogue's (`webui/locale/*/LC_MESSAGES/messages.po`, readable keys such as
`sampling.width`), the same files as every server message. The tabs are written in English;
`translate(blocks)` runs once at the end of `build()` and turns every label, info text,
placeholder, button, tab, accordion, static Markdown and UI choice whose English text the
catalogue has into its key, so a tab module needs no wrapper calls. Identifiers (model, sampler,
upscaler and preprocessor names, file formats) stay as they are in both languages.
`tests/ui/test_i18n.py` fails when a label has no translation."""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.i18n import I18nData

from webui.messages import Language, catalogue, key_of_text, message

# Names that read the same in both languages: identifiers, not prose.
SAME_IN_BOTH = {"LoRA", "ADetailer", "ControlNet", "AppCode", "AppKey", "AppSecret"}
LOCALES = ("zh", "zh-CN", "zh-Hans")  # a Chinese browser says one of these


def used_keys(blocks: gr.Blocks) -> set[str]:
    """The translation keys a built page shows."""
    found: set[str] = set()
    for block in blocks.blocks.values():
        values = [getattr(block, a, None) for a in (*TEXT_ATTRIBUTES, "value")]
        values += [label for label, _ in getattr(block, "choices", None) or ()
                   if isinstance(block, gr.Radio | gr.Dropdown)]
        found |= {v.key for v in values if isinstance(v, I18nData)}
    return found


def translations(blocks: gr.Blocks) -> gr.I18n:
    """The page's translations: only the keys the built page uses, so the page's config
    carries no server message it never shows."""
    wanted = used_keys(blocks)
    english = {k: message(k, Language.EN) for k in catalogue(Language.EN) if k in wanted}
    chinese = {k: message(k, Language.ZH_CN) for k in catalogue(Language.ZH_CN) if k in wanted}
    return gr.I18n(en=english, **{locale: chinese for locale in LOCALES})


TEXT_ATTRIBUTES = ("label", "info", "placeholder")


class Translated:
    """What `translate` did: the keys the page now uses, the texts it shows with no entry."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.missing: list[str] = []


def translate(blocks: gr.Blocks) -> Translated:
    """Swap every known English text of the built page for its key."""
    done = Translated()

    def key(text: Any) -> str | None:
        if not isinstance(text, str) or not text.strip() or not any(c.isalpha() for c in text):
            return None
        found = key_of_text(text)
        if found is None and text not in SAME_IN_BOTH:
            done.missing.append(text)
        return found

    def swap(text: Any) -> Any:
        found = key(text)
        if found is None:
            return text
        done.keys.add(found)
        return I18nData(found)

    for block in blocks.blocks.values():
        for attribute in TEXT_ATTRIBUTES:
            if isinstance(getattr(block, attribute, None), str):
                setattr(block, attribute, swap(getattr(block, attribute)))
        if isinstance(block, gr.Button | gr.Markdown) and isinstance(block.value, str):
            block.value = swap(block.value)
        choices = getattr(block, "choices", None)
        if isinstance(block, gr.Radio | gr.Dropdown) and choices:
            # only the UI's own choices; names from the API or the tables are identifiers
            block.choices = [(swap(label), value) if key_of_text(label) is not None
                             else (label, value) for label, value in choices]
    return done
