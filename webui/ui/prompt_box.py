"""Prompt and negative prompt with A1111's token counters (and the prompt's LoRA warnings),
Generate, ↙ (read generation parameters), styles (apply, save, edit, delete), and the LoRA /
embedding pickers: the top of every SD tab, as in A1111.

Styles are the visitor's own and the shipped ones: the dropdown starts with the shipped names
and the page's load fills in the visitor's (`style_choices`)."""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from webui.api.errors import ZhiqiteError
from webui.core.paste import (
    fields_from_infotext,
    fields_from_request,
    first_seed,
    last_task,
    looks_like_infotext,
)
from webui.core.presets import Style, StyleRefused
from webui.core.prompts import lora_warnings, toggle_lora, toggle_word
from webui.core.tokens import count_prompt
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.forms import Form
from webui.ui.language import say

NOT_INFOTEXT = Msg("paste.not_infotext")
NO_LAST_TASK = Msg("paste.no_last_task")


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
    paste: gr.Button  # ↙: read generation parameters (`wire_paste`, once the form exists)
    visitor: Any = None  # the page's visitor state, for handlers wired later
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)  # for tests


def build_prompt_box(ctx: UiContext, tab: str, visitor: gr.BrowserState,
                     checkpoint: gr.Dropdown | None = None) -> PromptBox:
    """`checkpoint`: the top bar's, for the LoRA warnings (a LoRA of another model family)."""
    with gr.Row(elem_id=f"{tab}_toprow"):
        with gr.Column(scale=8):
            prompt = gr.Textbox(label="Prompt", lines=3, max_lines=12, elem_id=f"{tab}_prompt",
                                placeholder="Prompt (Ctrl+Enter to generate; LoRAs as "
                                            "<lora:name:weight>)")
            prompt_count = gr.HTML(str(count_prompt("")), elem_classes="zq-count",
                                   elem_id=f"{tab}_token_counter")
            negative = gr.Textbox(label="Negative prompt", lines=2, max_lines=8,
                                  elem_id=f"{tab}_neg_prompt",
                                  placeholder="Negative prompt (embeddings go here)")
            negative_count = gr.HTML(str(count_prompt("")), elem_classes="zq-count",
                                     elem_id=f"{tab}_negative_token_counter")
        with gr.Column(scale=2, min_width=220):
            generate = gr.Button("Generate", variant="primary", elem_id=f"{tab}_generate",
                                 elem_classes="zq-generate")
            with gr.Row(elem_classes="zq-tools-row"):
                # A1111's "read generation parameters from the prompt or the last generation"
                paste = gr.Button("↙", size="sm", elem_id=f"{tab}_paste", elem_classes="zq-tool",
                                  scale=0, min_width=40)
            # the shipped styles; the page's load adds the visitor's own (style_choices)
            styles = gr.Dropdown(label="Styles", choices=ctx.styles.names(None),
                                 multiselect=True, value=[], elem_id=f"{tab}_styles",
                                 info="Applied to the prompts at Generate")
            with gr.Row():
                apply_styles = gr.Button("Apply to prompts", size="sm",
                                         elem_id=f"{tab}_apply_styles")
                save_style = gr.Button("Save as style", size="sm", elem_id=f"{tab}_save_style")
            style_name = gr.Textbox(label="New style name", max_lines=1,
                                    elem_id=f"{tab}_style_name")
            # A1111's style editor: a style's own text, changed or deleted, apart from the
            # prompts being written
            with gr.Accordion("Edit a style", open=False,
                              elem_id=f"{tab}_style_editor") as editor_panel:
                edit_name = gr.Dropdown(label="Style", choices=ctx.styles.names(None),
                                        value=None, elem_id=f"{tab}_edit_style_name")
                edit_prompt = gr.Textbox(label="Style prompt", lines=2, max_lines=8,
                                         elem_id=f"{tab}_edit_style_prompt")
                edit_negative = gr.Textbox(label="Style negative prompt", lines=2, max_lines=8,
                                           elem_id=f"{tab}_edit_style_negative")
                with gr.Row():
                    update_style = gr.Button("Save changes", size="sm",
                                             elem_id=f"{tab}_update_style")
                    delete_style = gr.Button("Delete style", size="sm", variant="stop",
                                             elem_id=f"{tab}_delete_style")
    with gr.Row():
        lora = gr.Dropdown(label="Add / remove LoRA", choices=[], value=None, filterable=True,
                           elem_id=f"{tab}_lora_picker", scale=1)
        embedding = gr.Dropdown(label="Add / remove embedding (negative prompt)", choices=[],
                                value=None, filterable=True, elem_id=f"{tab}_embedding_picker",
                                scale=1)
    box = PromptBox(prompt, negative, generate, styles, apply_styles, style_name, save_style,
                    lora, embedding, paste, visitor)
    box.handlers = _wire(ctx, box, visitor)
    box.handlers.update(_wire_editor(ctx, box, StyleEditor(
        editor_panel, edit_name, edit_prompt, edit_negative, update_style, delete_style)))
    box.handlers["count"] = _wire_counters(ctx, box, prompt_count, negative_count, checkpoint)
    return box


@dataclass
class StyleEditor:
    panel: gr.Accordion
    name: gr.Dropdown
    prompt: gr.Textbox
    negative: gr.Textbox
    save: gr.Button
    delete: gr.Button


DELETE_CONFIRM_SECONDS = 15.0  # a second Delete within this confirms the first
MAX_PENDING_DELETES = 1000


def _wire_editor(ctx: UiContext, box: PromptBox, editor: StyleEditor
                 ) -> dict[str, Callable[..., Any]]:
    """Pick a style: its text shows; Save changes keeps the text under that name (a shipped
    style is read-only: saved under another name it is the visitor's own); Delete asks for a
    second click, then removes one of the visitor's own styles."""
    pending: OrderedDict[str, tuple[str, float]] = OrderedDict()  # visitor -> name, asked at

    def load(who: Any, name: Any, request: gr.Request = None  # type: ignore[assignment]
             ) -> tuple[Any, Any]:
        who = ctx.visitor_id(who, request)
        try:
            [style] = ctx.styles.chosen(ctx.owner(who) if who else None, [name]) \
                if isinstance(name, str) and name else [None]
        except (StyleRefused, ValueError):
            style = None
        if style is None:
            return "", ""
        return style.prompt, style.negative_prompt

    def save(who: Any, name: Any, prompt: Any, negative: Any, selected: Any,
             request: gr.Request = None  # type: ignore[assignment]
             ) -> tuple[Any, Any]:
        who = ctx.visitor_id(who, request)
        if not save_style(ctx, who, name, prompt, negative):
            return gr.Dropdown(), gr.Dropdown()
        return style_choices(ctx, who, selected), style_choices(ctx, who)

    def delete(who: Any, name: Any, selected: Any,
               request: gr.Request = None  # type: ignore[assignment]
               ) -> tuple[Any, Any, Any, Any]:
        unchanged = (gr.Dropdown(), gr.Dropdown(), gr.Textbox(), gr.Textbox())
        who = ctx.visitor_id(who, request)
        if not who:
            toasts.warn(NO_VISITOR)
            return unchanged
        owner = ctx.owner(who)
        if not isinstance(name, str) or name not in ctx.styles.names(owner) or \
                name in ctx.styles.shipped():
            toasts.warn(Msg("styles.not_yours", name=str(name)[:100]))
            return unchanged
        asked = pending.pop(who, None)
        now = time.monotonic()
        if asked is None or asked[0] != name or now - asked[1] > DELETE_CONFIRM_SECONDS:
            pending[who] = (name, now)
            while len(pending) > MAX_PENDING_DELETES:
                pending.popitem(last=False)
            toasts.warn(Msg("styles.delete_confirm", name=name))
            return unchanged
        ctx.styles.delete(owner, name)
        toasts.info(Msg("styles.deleted", name=name))
        return (style_choices(ctx, who, selected), gr.Dropdown(choices=ctx.styles.names(owner),
                                                               value=None), "", "")

    def names(who: Any, request: gr.Request = None  # type: ignore[assignment]
              ) -> Any:
        return style_choices(ctx, ctx.visitor_id(who, request))

    # the visitor's own styles are listed when the editor opens (not at every page load)
    editor.panel.expand(names, box.visitor, editor.name, queue=False, show_progress="hidden")
    editor.name.input(load, [box.visitor, editor.name], [editor.prompt, editor.negative],
                      queue=False, show_progress="hidden")
    editor.save.click(save, [box.visitor, editor.name, editor.prompt, editor.negative,
                             box.styles], [box.styles, editor.name])
    editor.delete.click(delete, [box.visitor, editor.name, box.styles],
                        [box.styles, editor.name, editor.prompt, editor.negative])
    return {"load_style": load, "update_style": save, "delete_style": delete}


def _wire_counters(ctx: UiContext, box: PromptBox, prompt_count: gr.HTML,
                   negative_count: gr.HTML, checkpoint: gr.Dropdown | None
                   ) -> Callable[..., str]:
    """The counters follow the text, the styles chosen (A1111 counts them in) and, for the
    LoRA warnings, the checkpoint. Counted on the server: CLIP's merges are 200 KB, which
    the page need not carry."""

    def count(who: Any, text: Any, styles: Any, checkpoint_name: Any = None,
              negative: bool = False, request: gr.Request = None  # type: ignore[assignment]
              ) -> str:
        text = text if isinstance(text, str) else ""
        who = ctx.visitor_id(who, request)
        try:  # the styles' text is counted in; a style not theirs, or too long, is left out
            styled = ctx.styles.apply(ctx.owner(who) if who else None, styles,
                                      "" if negative else text, text if negative else "")
            text = styled[1] if negative else styled[0]
        except StyleRefused:
            pass
        lines = [html.escape(str(count_prompt(text, negative=negative)))]
        if not negative and "<lora:" in text:
            lines += [f"<span class='zq-warning'>⚠ {html.escape(say(warning))}</span>"
                      for warning in prompt_warnings(ctx, who, text, checkpoint_name)]
        return "".join(lines)

    def count_negative(who: Any, text: Any, styles: Any,
                       request: gr.Request = None  # type: ignore[assignment]
                       ) -> str:
        return count(who, text, styles, negative=True, request=request)

    extra = [checkpoint] if checkpoint is not None else []
    gr.on([box.prompt.change, box.styles.change, *(c.change for c in extra)], count,
          [box.visitor, box.prompt, box.styles, *extra], prompt_count, queue=False,
          show_progress="hidden", trigger_mode="always_last")
    gr.on([box.negative.change, box.styles.change], count_negative,
          [box.visitor, box.negative, box.styles], negative_count, queue=False,
          show_progress="hidden", trigger_mode="always_last")
    return count


def prompt_warnings(ctx: UiContext, who: str | None, prompt: str, checkpoint_name: Any
                    ) -> list[Msg]:
    """The prompt's LoRA warnings against the lists as the service has them (adult entries
    too: a name typed is a name known). Nothing when the lists cannot be had."""
    catalog = ctx.catalog_for(who)
    try:
        loras = catalog.loras(show_adult=True)
        checkpoints = {c.value: c for c in catalog.checkpoints(show_adult=True)}
    except ZhiqiteError:
        return []
    chosen = checkpoints.get(checkpoint_name) if isinstance(checkpoint_name, str) else None
    return lora_warnings(prompt, loras, chosen)


def save_style(ctx: UiContext, who: str | None, name: Any, prompt: Any, negative: Any) -> bool:
    """Save (or replace) one of the visitor's styles, saying so; False, with the reason
    shown, when it cannot be (no visitor, a shipped name, a field over its limit)."""
    if not who:
        toasts.warn(NO_VISITOR)
        return False
    try:
        saved = ctx.styles.save(ctx.owner(who), Style(name, prompt, negative))
    except StyleRefused as refused:
        toasts.warn(refused)
        return False
    toasts.info(Msg("styles.saved", name=saved.name))
    return True


def style_choices(ctx: UiContext, visitor: str | None, selected: Any = None) -> Any:
    """The Styles dropdown as this visitor sees it: their own styles and the shipped ones.
    With `selected` (the dropdown's value) the value keeps only the names still listed (after
    a change of key, which is another owner)."""
    names = ctx.styles.names(ctx.owner(visitor) if visitor else None)
    if selected is None:
        return gr.Dropdown(choices=names)
    listed = set(names)
    kept = [name for name in selected if isinstance(name, str) and name in listed
            ] if isinstance(selected, list) else []
    return gr.Dropdown(choices=names, value=kept, multiselect=True)


def _wire(ctx: UiContext, box: PromptBox, visitor: gr.BrowserState
          ) -> dict[str, Callable[..., Any]]:
    def apply(who: Any, names: Any, prompt: Any, negative: Any,
              request: gr.Request = None  # type: ignore[assignment]
              ) -> tuple[Any, Any, Any]:
        who = ctx.visitor_id(who, request)
        try:
            new_prompt, new_negative = ctx.styles.apply(ctx.owner(who) if who else None,
                                                        names, prompt, negative)
        except StyleRefused as refused:
            toasts.warn(refused)
            return gr.Textbox(), gr.Textbox(), gr.Dropdown()
        return new_prompt, new_negative, gr.Dropdown(value=[], multiselect=True)

    def save(who: Any, name: Any, prompt: Any, negative: Any,
             request: gr.Request = None  # type: ignore[assignment]
             ) -> tuple[Any, Any]:
        who = ctx.visitor_id(who, request)
        if not save_style(ctx, who, name, prompt, negative):
            return gr.Dropdown(), gr.Textbox()
        return style_choices(ctx, who), gr.Textbox(value="")

    def pick_lora(name: str | None, prompt: str) -> tuple[Any, Any]:
        if not name:
            return gr.Textbox(), gr.Dropdown()
        return toggle_lora(prompt or "", name), gr.Dropdown(value=None)

    def pick_embedding(name: str | None, negative: str) -> tuple[Any, Any]:
        if not name:
            return gr.Textbox(), gr.Dropdown()
        return toggle_word(negative or "", name), gr.Dropdown(value=None)

    box.apply_styles.click(apply, [visitor, box.styles, box.prompt, box.negative],
                           [box.prompt, box.negative, box.styles])
    box.save_style.click(save, [visitor, box.style_name, box.prompt, box.negative],
                         [box.styles, box.style_name])
    box.lora.input(pick_lora, [box.lora, box.prompt], [box.prompt, box.lora])
    box.embedding.input(pick_embedding, [box.embedding, box.negative],
                        [box.negative, box.embedding])
    return {"apply": apply, "save": save}


def form_fill(form: Form, fields: dict[str, Any]) -> dict[Any, Any]:
    """Updates of the form's components for the named values (the others untouched). A radio
    of `type="index"` is set by its choice's value, the form holds the index."""
    updates: dict[Any, Any] = {}
    for name, value in fields.items():
        component = form.fields.get(name)
        if component is None:
            continue
        if isinstance(component, gr.Radio) and component.type == "index":
            choices = component.choices or []
            if not (isinstance(value, int) and 0 <= value < len(choices)):
                continue
            value = choices[value][1]
        updates[component] = value
    return updates


def wire_paste(ctx: UiContext, box: PromptBox, form: Form, tab: str) -> Callable[..., Any]:
    """↙ fills the form: from the infotext pasted into the prompt box, or, when the prompt is
    empty, from this visitor's last task of the tab (its request as stored, its seed)."""

    def read(*args: Any, request: gr.Request = None  # type: ignore[assignment]
             ) -> dict[Any, Any]:
        who, text = (args + (None, None))[:2]
        text = text if isinstance(text, str) else ""
        if text.strip():
            if not looks_like_infotext(text):
                toasts.info(NOT_INFOTEXT)
                return gr.skip()
            return form_fill(form, fields_from_infotext(text, checkpoint_codes(ctx)))
        who = ctx.visitor_id(who, request)
        if not who:
            toasts.warn(NO_VISITOR)
            return gr.skip()
        record = last_task(ctx.runtime.store, ctx.owner(who), tab)
        if record is None:
            toasts.info(NO_LAST_TASK)
            return gr.skip()
        return form_fill(form, fields_from_request(record.request, first_seed(record)))

    box.paste.click(read, inputs=[box.visitor, box.prompt], outputs=form.components,
                    queue=False)
    box.handlers["paste"] = read
    return read


def checkpoint_codes(ctx: UiContext) -> list[str]:
    try:
        return [c.value for c in ctx.catalog.checkpoints(show_adult=True)]
    except ZhiqiteError:  # the list is a nicety here: the prompt and numbers still go over
        return []


def picker_updates(ctx: UiContext, visitor: str | None, refresh: bool = False
                   ) -> tuple[Any, Any, Any]:
    """The LoRA and embedding pickers, and the names the prompt's autocomplete offers
    (`network_names`), as the visitor's key lists them."""
    catalog = ctx.catalog_for(visitor)
    try:
        loras = catalog.loras(show_adult=ctx.adult(visitor), refresh=refresh)
        embeddings = catalog.embeddings(refresh=refresh)
    except ZhiqiteError as exc:
        toasts.warn(Msg("lists.networks_not_loaded", reason=exc))
        return gr.Dropdown(), gr.Dropdown(), gr.HTML()
    return (gr.Dropdown(choices=[(f"{c.label} [{c.base_model or '?'}]", c.value)
                                 for c in loras], value=None),
            gr.Dropdown(choices=[(c.label, c.value) for c in embeddings], value=None),
            names_html(loras, embeddings, tags=ctx.runtime.tags is not None))


def build_network_names(ctx: UiContext) -> gr.HTML:
    """One per page, out of sight: the LoRA and embedding names as `<datalist>`s, which
    `assets/autocomplete.js` offers in every prompt box (filled by the page's load)."""
    return gr.HTML(names_html([], [], tags=ctx.runtime.tags is not None),
                   elem_id="zq_network_names", elem_classes="zq-hidden")


def names_html(loras: list[Any], embeddings: list[Any], *, tags: bool) -> str:
    def options(choices: list[Any]) -> str:
        return "".join(f'<option value="{html.escape(c.value)}">{html.escape(c.label)}</option>'
                       for c in choices)

    return (f'<datalist id="zq_lora_names" data-tags="{"on" if tags else "off"}">'
            f'{options(loras)}</datalist>'
            f'<datalist id="zq_embedding_names">{options(embeddings)}</datalist>')
