"""Prompt and negative prompt with character counts, Generate, styles (apply, save), and the
LoRA / embedding pickers: the top of every SD tab, as in A1111."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.api.errors import ZhiqiteError
from webui.core.presets import Style
from webui.core.prompts import toggle_lora, toggle_word
from webui.ui.context import UiContext

COUNT_JS = "(text) => `${[...(text || '')].length} chars`"


@dataclass
class PromptBox:
    prompt: gr.Textbox
    negative: gr.Textbox
    generate: gr.Button
    styles: gr.Dropdown
    apply_styles: gr.Button
    style_name: gr.Textbox
    save_style: gr.Button
    lora: gr.Dropdown
    embedding: gr.Dropdown


def build_prompt_box(ctx: UiContext, tab: str) -> PromptBox:
    with gr.Row(elem_id=f"{tab}_toprow"):
        with gr.Column(scale=8):
            prompt = gr.Textbox(label="Prompt", lines=3, max_lines=12, elem_id=f"{tab}_prompt",
                                placeholder="Prompt (Ctrl+Enter to generate; LoRAs as "
                                            "<lora:name:weight>)")
            prompt_count = gr.Markdown("0 chars", elem_classes="zq-count")
            negative = gr.Textbox(label="Negative prompt", lines=2, max_lines=8,
                                  elem_id=f"{tab}_neg_prompt",
                                  placeholder="Negative prompt (embeddings go here)")
            negative_count = gr.Markdown("0 chars", elem_classes="zq-count")
        with gr.Column(scale=2, min_width=220):
            generate = gr.Button("Generate", variant="primary", elem_id=f"{tab}_generate",
                                 elem_classes="zq-generate")
            styles = gr.Dropdown(label="Styles", choices=ctx.styles.names(), multiselect=True,
                                 value=[], elem_id=f"{tab}_styles",
                                 info="Applied to the prompts at Generate")
            with gr.Row():
                apply_styles = gr.Button("Apply to prompts", size="sm",
                                         elem_id=f"{tab}_apply_styles")
                save_style = gr.Button("Save as style", size="sm", elem_id=f"{tab}_save_style")
            style_name = gr.Textbox(label="New style name", max_lines=1,
                                    elem_id=f"{tab}_style_name")
    with gr.Row():
        lora = gr.Dropdown(label="Add / remove LoRA", choices=[], value=None, filterable=True,
                           elem_id=f"{tab}_lora_picker", scale=1)
        embedding = gr.Dropdown(label="Add / remove embedding (negative prompt)", choices=[],
                                value=None, filterable=True, elem_id=f"{tab}_embedding_picker",
                                scale=1)
    box = PromptBox(prompt, negative, generate, styles, apply_styles, style_name, save_style,
                    lora, embedding)
    prompt.change(None, prompt, prompt_count, js=COUNT_JS, queue=False)
    negative.change(None, negative, negative_count, js=COUNT_JS, queue=False)
    _wire(ctx, box)
    return box


def _wire(ctx: UiContext, box: PromptBox) -> None:
    def apply(names: list[str], prompt: str, negative: str) -> tuple[Any, Any, Any]:
        new_prompt, new_negative = ctx.styles.apply(names or [], prompt or "", negative or "")
        return new_prompt, new_negative, gr.Dropdown(value=[])

    def save(name: str, prompt: str, negative: str) -> tuple[Any, Any]:
        try:
            ctx.styles.save(Style(name or "", prompt or "", negative or ""))
        except ValueError as exc:
            gr.Warning(str(exc))
            return gr.Dropdown(), gr.Textbox()
        gr.Info(f"Style {name.strip()!r} saved.")
        return gr.Dropdown(choices=ctx.styles.names()), gr.Textbox(value="")

    def pick_lora(name: str | None, prompt: str) -> tuple[Any, Any]:
        if not name:
            return gr.Textbox(), gr.Dropdown()
        return toggle_lora(prompt or "", name), gr.Dropdown(value=None)

    def pick_embedding(name: str | None, negative: str) -> tuple[Any, Any]:
        if not name:
            return gr.Textbox(), gr.Dropdown()
        return toggle_word(negative or "", name), gr.Dropdown(value=None)

    box.apply_styles.click(apply, [box.styles, box.prompt, box.negative],
                           [box.prompt, box.negative, box.styles])
    box.save_style.click(save, [box.style_name, box.prompt, box.negative],
                         [box.styles, box.style_name])
    box.lora.input(pick_lora, [box.lora, box.prompt], [box.prompt, box.lora])
    box.embedding.input(pick_embedding, [box.embedding, box.negative],
                        [box.negative, box.embedding])


def picker_updates(ctx: UiContext, visitor: str | None, refresh: bool = False
                   ) -> tuple[Any, Any]:
    catalog = ctx.catalog_for(visitor)
    try:
        loras = catalog.loras(show_adult=ctx.adult(visitor), refresh=refresh)
        embeddings = catalog.embeddings(refresh=refresh)
    except ZhiqiteError as exc:
        gr.Warning(f"Could not load the LoRA / embedding lists: {exc}")
        return gr.Dropdown(), gr.Dropdown()
    return (gr.Dropdown(choices=[(f"{c.label} [{c.base_model or '?'}]", c.value)
                                 for c in loras], value=None),
            gr.Dropdown(choices=[(c.label, c.value) for c in embeddings], value=None))
