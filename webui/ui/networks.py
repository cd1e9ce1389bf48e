"""Extra networks, as A1111's cards: checkpoints, LoRAs and embeddings from the model lists
(every page, cached; Refresh reloads), with covers, search, a base-model filter for LoRAs and
sorting. A LoRA card toggles `<lora:name:weight>` in the prompt, an embedding card toggles the
name in the negative prompt, a checkpoint card selects the checkpoint.

Every text from the API is escaped here; a card sends back only its kind and name, and the
handler acts only on names the list holds."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.api.errors import ZhiqiteError
from webui.core.catalog import Choice
from webui.core.limits import RateLimited
from webui.core.prompts import lora_pattern, toggle_lora, toggle_word
from webui.messages import DEFAULT, Language, Msg, label, message
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.language import current_language
from webui.ui.prompt_box import PromptBox
from webui.ui.topbar import TopBar

KINDS = ("Checkpoints", "LoRA", "Embeddings")
SORTS = ("Default order", "Name A-Z", "Name Z-A")
ALL_BASES = "All base models"
CARD_CLICK_JS = """
element.addEventListener('click', (e) => {
  const card = e.target.closest('[data-name]');
  if (card) trigger('click', {kind: card.dataset.kind, name: card.dataset.name});
});
"""


@dataclass
class NetworksBrowser:
    accordion: gr.Accordion
    kind: gr.Radio
    search: gr.Textbox
    base: gr.Dropdown
    sort: gr.Dropdown
    weight: gr.Slider
    cards: gr.HTML
    render: Any  # (visitor, kind, search, base, sort, prompt, negative, checkpoint)
    click: Any  # (visitor, kind, search, base, sort, weight, prompt, negative, checkpoint, event)


def build_networks(ctx: UiContext, tab: str, box: PromptBox, topbar: TopBar, visitor: Any
                   ) -> NetworksBrowser:
    with gr.Accordion("Extra networks (checkpoints, LoRAs, embeddings)", open=False,
                      elem_id=f"{tab}_networks") as accordion:
        with gr.Row():
            kind = gr.Radio(list(KINDS), value="LoRA", label="Show", scale=2,
                            elem_id=f"{tab}_networks_kind")
            search = gr.Textbox(label="Search", max_lines=1, scale=2,
                                elem_id=f"{tab}_networks_search")
            base = gr.Dropdown([ALL_BASES], value=ALL_BASES, label="Base model", scale=1,
                               elem_id=f"{tab}_networks_base")
            sort = gr.Dropdown(list(SORTS), value=SORTS[0], label="Sort", scale=1)
            weight = gr.Slider(-1, 2, step=0.05, value=1, label="LoRA weight", scale=1)
            refresh = gr.Button("Refresh", size="sm", scale=0,
                                elem_id=f"{tab}_networks_refresh")
        cards = gr.HTML("", js_on_load=CARD_CLICK_JS, elem_id=f"{tab}_networks_cards",
                        padding=False)

    filters = [visitor, kind, search, base, sort]
    prompts = [box.prompt, box.negative, topbar.checkpoint]

    def render(who: str | None, kind_: str, text: str, base_: str, sort_: str, prompt: str,
               negative: str, checkpoint: str | None, refresh_: bool = False,
               request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[Any, Any]:
        who = ctx.visitor_id(who, request)
        if refresh_:
            try:
                ctx.admit_list_call(who)  # a refresh bills list calls
            except RateLimited as limited:
                toasts.warn(Msg("lists.not_reloaded", reason=limited))
                refresh_ = False
        try:
            entries = _entries(ctx, who, kind_, refresh_)
        except ZhiqiteError as exc:
            toasts.warn(Msg("lists.not_loaded", kind=label(kind_, current_language()),
                            reason=exc))
            return {cards: gr.skip()}
        bases = sorted({e.base_model for e in entries if e.base_model})
        if base_ not in bases:
            base_ = ALL_BASES
        shown = _filtered(entries, text, base_, sort_)
        active = _active(kind_, shown, prompt or "", negative or "", checkpoint)
        language = current_language()
        every_base = (label(ALL_BASES, language), ALL_BASES)  # shown translated, sent as is
        return {cards: cards_html(ctx, kind_, shown, active, len(entries), language),
                base: gr.Dropdown(choices=[every_base, *bases], value=base_,
                                  interactive=kind_ == "LoRA")}

    def click(who: str | None, kind_: str, text: str, base_: str, sort_: str, weight_: float,
              prompt: str, negative: str, checkpoint: str | None, event: gr.EventData,
              request: gr.Request = None  # type: ignore[assignment]
              ) -> dict[Any, Any]:
        who_token, who = who, ctx.visitor_id(who, request)
        data = getattr(event, "_data", None) or {}
        name = data.get("name") if isinstance(data, dict) else None
        card_kind = data.get("kind") if isinstance(data, dict) else None
        try:
            listed = _entries(ctx, who, card_kind or "", False)
        except ZhiqiteError:
            listed = []
        if not isinstance(name, str) or name not in {e.value for e in listed}:
            return {cards: gr.skip()}
        update: dict[Any, Any] = {}
        if card_kind == "LoRA":
            weight_ = weight_ if isinstance(weight_, int | float) and -10 <= weight_ <= 10 else 1
            prompt = toggle_lora(prompt or "", name, float(weight_))
            update[box.prompt] = prompt
        elif card_kind == "Embeddings":
            negative = toggle_word(negative or "", name)
            update[box.negative] = negative
        elif card_kind == "Checkpoints":
            checkpoint = name
            update[topbar.checkpoint] = gr.Dropdown(
                choices=[(e.label, e.value) for e in listed], value=name)
        return {**update, **render(who_token, kind_, text, base_, sort_, prompt, negative,
                                   checkpoint, request=request)}

    outputs = [cards, base]
    accordion.expand(render, inputs=[*filters, *prompts], outputs=outputs)
    for control in (kind, base, sort):
        control.change(render, inputs=[*filters, *prompts], outputs=outputs)
    search.change(render, inputs=[*filters, *prompts], outputs=outputs,
                  trigger_mode="always_last")
    def reload(who: str | None, kind_: str, text: str, base_: str, sort_: str, prompt: str,
               negative: str, checkpoint: str | None,
               request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[Any, Any]:
        return render(who, kind_, text, base_, sort_, prompt, negative, checkpoint,
                      refresh_=True, request=request)

    refresh.click(reload, inputs=[*filters, *prompts], outputs=outputs)
    cards.click(click, inputs=[*filters, weight, *prompts],
                outputs=[*outputs, box.prompt, box.negative, topbar.checkpoint])
    return NetworksBrowser(accordion, kind, search, base, sort, weight, cards, render, click)


def _entries(ctx: UiContext, visitor: str | None, kind: str, refresh: bool) -> list[Choice]:
    catalog, adult = ctx.catalog_for(visitor), ctx.adult(visitor)
    if kind == "Checkpoints":
        return catalog.checkpoints(show_adult=adult, refresh=refresh)
    if kind == "LoRA":
        return catalog.loras(show_adult=adult, refresh=refresh)
    if kind == "Embeddings":
        return catalog.embeddings(refresh=refresh)
    return []


def _filtered(entries: list[Choice], text: str, base: str, sort: str) -> list[Choice]:
    needle = (text or "").strip().lower()
    shown = [e for e in entries if not needle or needle in e.label.lower()
             or needle in e.value.lower()]
    if base and base != ALL_BASES:
        shown = [e for e in shown if e.base_model == base]
    if sort in ("Name A-Z", "Name Z-A"):
        shown.sort(key=lambda e: e.label.casefold(), reverse=sort == "Name Z-A")
    return shown


def _active(kind: str, shown: list[Choice], prompt: str, negative: str,
            checkpoint: str | None) -> set[str]:
    if kind == "LoRA":
        return {e.value for e in shown if lora_pattern(e.value).search(prompt)}
    if kind == "Embeddings":
        words = {w.strip() for w in negative.split(",")}
        return {e.value for e in shown if e.value in words}
    return {checkpoint} if checkpoint else set()


def cards_html(ctx: UiContext, kind: str, shown: list[Choice], active: set[str],
               total: int, language: Language = DEFAULT) -> str:
    e = html.escape
    if not shown:
        empty = message("networks.none_match", language, kind=label(kind, language),
                        total=total)
        return f'<p class="zq-cards-empty">{e(empty)}</p>'
    cards = []
    for entry in shown:
        cover = ctx.covers.register(entry.cover) if ctx.covers else None
        picture = (f'<img src="{e(cover)}" alt="" loading="lazy">' if cover else
                   f'<span class="zq-card-blank">{e(entry.label[:1].upper())}</span>')
        meta = f'<span class="zq-card-meta">{e(entry.base_model)}</span>' \
            if entry.base_model else ""
        on = " zq-card-on" if entry.value in active else ""
        cards.append(
            f'<button type="button" class="zq-card{on}" data-kind="{e(kind)}" '
            f'data-name="{e(entry.value)}" title="{e(entry.label)}">{picture}'
            f'<span class="zq-card-name">{e(entry.label)}</span>{meta}</button>')
    count = message("networks.count", language, shown=len(shown), total=total)
    return (f'<div class="zq-cards-count">{e(count)}</div>'
            f'<div class="zq-cards">{"".join(cards)}</div>')
