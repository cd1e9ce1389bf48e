"""Control groups every SD tab lays out the same way (A1111's): sampler and steps, size with
swap and presets, batch, seed with random/reuse, the Request panel; and reading a form's values
with styles applied."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import BaseModel

from webui.api import models as m
from webui.api.errors import FieldIssue, InvalidRequestError
from webui.core.delivery import DeliveryMode
from webui.core.engine import kind_of
from webui.core.presets import StyleRefused
from webui.core.request_view import curl, wire_json
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.forms import Form
from webui.ui.topbar import VAE_AUTOMATIC


def bounds(model: type[BaseModel], field: str, fallback: tuple[float, float]
           ) -> tuple[float, float]:
    found = m.bounds_of(model, field)
    if found is None or found.lo is None or found.hi is None:
        return fallback
    return found.lo, found.hi


def sampler_controls(form: Form, tab: str, d: dict[str, Any], model: type[BaseModel]) -> None:
    with gr.Row():
        form.add("sampler", gr.Dropdown(list(m.SAMPLERS), value=d["sampler"],
                                        label="Sampling method", elem_id=f"{tab}_sampler"))
        form.add("steps", gr.Slider(*bounds(model, "steps", (1, 150)), step=1, value=d["steps"],
                                    label="Sampling steps", elem_id=f"{tab}_steps"))


def size_controls(ctx: UiContext, form: Form, tab: str, d: dict[str, Any],
                  model: type[BaseModel]) -> tuple[gr.Slider, gr.Slider]:
    with gr.Row(equal_height=True):
        with gr.Column(scale=6):
            width = form.add("width", gr.Slider(64, bounds(model, "width", (0, 1024))[1], step=8,
                                                value=d["width"], label="Width",
                                                elem_id=f"{tab}_width"))
            height = form.add("height", gr.Slider(64, bounds(model, "height", (0, 1024))[1],
                                                  step=8, value=d["height"], label="Height",
                                                  elem_id=f"{tab}_height"))
        # wide enough for the longest preset name ("Widescreen 16:9 (912x512)") beside its arrow
        with gr.Column(scale=3, min_width=240):
            swap = gr.Button("⇅", size="sm", elem_id=f"{tab}_swap", elem_classes="zq-tool")
            preset = gr.Dropdown(list(ctx.sizes), value=None, label="Preset",
                                 elem_id=f"{tab}_size_preset", elem_classes="zq-size-preset")
    swap.click(None, [width, height], [width, height], js="(w, h) => [h, w]", queue=False)
    preset.input(lambda name: ctx.sizes.get(name, (gr.Slider(), gr.Slider())), preset,
                 [width, height], queue=False)
    return width, height


def batch_controls(form: Form, tab: str, d: dict[str, Any], model: type[BaseModel]) -> None:
    with gr.Row():
        form.add("n_iter", gr.Slider(*bounds(model, "n_iter", (1, 100)), step=1,
                                     value=d["n_iter"], label="Batch count",
                                     elem_id=f"{tab}_n_iter"))
        form.add("batch_size", gr.Slider(*bounds(model, "batch_size", (1, 8)), step=1,
                                         value=d["batch_size"], label="Batch size",
                                         elem_id=f"{tab}_batch_size"))


@dataclass
class SeedControls:
    seed: gr.Number
    dice: gr.Button
    recycle: gr.Button

    def wire(self, results: gr.State) -> None:
        self.dice.click(lambda: -1, None, self.seed, queue=False)
        self.recycle.click(last_seed, results, self.seed, queue=False)


def seed_controls(form: Form, tab: str) -> SeedControls:
    with gr.Row(equal_height=True):
        seed = form.add("seed", gr.Number(value=-1, precision=0, label="Seed", info="-1: random",
                                          elem_id=f"{tab}_seed", scale=4))
        dice = gr.Button("⚄", size="sm", scale=0, min_width=40, elem_id=f"{tab}_random_seed",
                         elem_classes="zq-tool")
        recycle = gr.Button("♻", size="sm", scale=0, min_width=40, elem_id=f"{tab}_reuse_seed",
                            elem_classes="zq-tool")
    form.add("restore_faces", gr.Checkbox(label="Restore faces", elem_id=f"{tab}_restore_faces"))
    gr.Markdown("Variation seeds and tiling are not offered by the Zhiqite API.",
                elem_classes="zq-note")
    return SeedControls(seed, dice, recycle)


def last_seed(results: list[str]) -> Any:
    """The seed of the first image shown (files are named NNNNN-<seed>.png)."""
    for path in results or []:
        match = re.match(r"^\d+-(\d+)$", Path(path).stem)
        if match:
            return int(match.group(1))
    toasts.info(Msg("seed.none_yet"))
    return gr.Number()


@dataclass
class RequestPanel:
    accordion: gr.Accordion
    show: gr.Button
    json: gr.Code
    curl: gr.Code

    @property
    def outputs(self) -> list[gr.Code]:
        return [self.json, self.curl]

    def views(self, ctx: UiContext, request: Any) -> dict[Any, Any]:
        endpoint = kind_of(request)
        client = ctx.runtime.client
        return {self.json: wire_json(request, callback=ctx.engine.mode == DeliveryMode.CALLBACK),
                self.curl: curl(endpoint, request, base_url=client.base_url,
                                auth_mode=client.auth_mode)}

    def invalid(self, error: InvalidRequestError) -> dict[Any, Any]:
        return {self.json: "\n".join(f"// {issue.message}" for issue in error.issues),
                self.curl: ""}

    def wire(self, preview: Any, inputs: set[Any]) -> None:
        self.show.click(preview, inputs=inputs, outputs=self.outputs)
        self.accordion.expand(preview, inputs=inputs, outputs=self.outputs)
        # the views start hidden (see shown_code)
        gr.on([self.show.click, self.accordion.expand],
              lambda: (gr.Code(visible=True), gr.Code(visible=True)), outputs=self.outputs,
              queue=False, show_progress="hidden")


def shown_code(text: Any) -> Any:
    """A code view's text, the view shown. The code views start hidden, so that the page
    loads the code editor's script (about 400 kB) only once one is used (issue 21)."""
    return gr.Code(text, visible=True)


def request_panel(tab: str) -> RequestPanel:
    with gr.Accordion("Request", open=False, elem_id=f"{tab}_request") as accordion:
        show = gr.Button("Show the request for these settings", size="sm",
                         elem_id=f"{tab}_show_request")
        json_view = gr.Code(language="json", label="JSON body (credentials are headers, never "
                            "shown)", buttons=["copy"], elem_id=f"{tab}_request_json",
                            interactive=False, visible=False)  # see shown_code
        curl_view = gr.Code(language="shell", label="As curl (credentials read from your "
                            "environment)", buttons=["copy"], elem_id=f"{tab}_request_curl",
                            interactive=False, visible=False)  # see shown_code
    return RequestPanel(accordion, show, json_view, curl_view)


def styled_values(ctx: UiContext, form: Form, data: dict[Any, Any],
                  visitor: str | None = None) -> dict[str, Any]:
    """The form's values by name, with the chosen styles (the visitor's own and the shipped
    ones; any other name raises InvalidRequestError) applied to the prompts and the VAE
    "Automatic" read as none. No checkpoint yet (Generate pressed before the page's list
    arrived): the one the page is about to show, the first the visitor's key lists."""
    values = form.values(data)
    if not (values.get("checkpoint") or "").strip():
        values["checkpoint"] = ctx.default_checkpoint(visitor) or ""
    owner = ctx.owner(visitor) if visitor else None
    try:  # only the visitor's own styles and the shipped ones
        prompt, negative = ctx.styles.apply(owner, values.pop("styles", None),
                                            values.get("prompt") or "",
                                            values.get("negative_prompt") or "")
    except StyleRefused as refused:
        raise InvalidRequestError([FieldIssue(refused.field, str(refused),
                                              msg=refused.msg)]) from None
    values.update(prompt=prompt, negative_prompt=negative)
    if values.get("vae") == VAE_AUTOMATIC:
        values["vae"] = None
    return values
