"""txt2img, laid out as A1111 lays it out: prompts on top, settings on the left, results on the
right. Every parameter the `text2image` endpoint takes; limits come from the request model."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from webui.api import models as m
from webui.api.errors import InvalidRequestError
from webui.core.builder import HIRES_UPSCALERS, Txt2ImgForm, txt2img_request
from webui.core.request_view import curl, wire_json
from webui.ui.context import UiContext
from webui.ui.forms import Form
from webui.ui.prompt_box import PromptBox, build_prompt_box
from webui.ui.results import ResultsPanel, build_results_panel
from webui.ui.tasks import submit_and_stream
from webui.ui.topbar import VAE_AUTOMATIC, TopBar

TAB = "txt2img"

# API field -> the label on screen, for validation messages.
LABELS = {
    "prompt": "Prompt", "negative_prompt": "Negative prompt", "sampler_index": "Sampling method",
    "steps": "Sampling steps", "width": "Width", "height": "Height", "n_iter": "Batch count",
    "batch_size": "Batch size", "cfg_scale": "CFG Scale", "seed": "Seed",
    "hr_second_pass_steps": "Hires steps", "denoising_strength": "Denoising strength",
    "hr_scale": "Upscale by", "hr_resize_x": "Resize width to", "hr_resize_y": "Resize height to",
    "sd_model_checkpoint": "Stable Diffusion checkpoint", "sd_vae": "SD VAE",
    "CLIP_stop_at_last_layers": "Clip skip",
}


@dataclass
class Txt2ImgTab:
    form: Form
    box: PromptBox
    panel: ResultsPanel
    request_json: gr.Code
    request_curl: gr.Code
    generate_event: Any
    generate: Callable[[dict[Any, Any]], Iterator[dict[Any, Any]]]  # the handlers, for tests
    preview_request: Callable[[dict[Any, Any]], dict[Any, Any]]


def _bounds(field: str, fallback: tuple[float, float]) -> tuple[float, float]:
    bounds = m.bounds_of(m.Text2ImageRequest, field)
    if bounds is None or bounds.lo is None or bounds.hi is None:
        return fallback
    return bounds.lo, bounds.hi


def build_txt2img(ctx: UiContext, topbar: TopBar, visitor: gr.BrowserState,
                  last_tasks: gr.BrowserState) -> Txt2ImgTab:
    d = ctx.defaults["txt2img"]
    form = Form()
    topbar.register(form)
    box = build_prompt_box(ctx, TAB)
    form.add("prompt", box.prompt)
    form.add("negative_prompt", box.negative)
    form.add("styles", box.styles)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, elem_id=f"{TAB}_settings"):
            with gr.Row():
                form.add("sampler", gr.Dropdown(list(m.SAMPLERS), value=d["sampler"],
                                                label="Sampling method", elem_id=f"{TAB}_sampler"))
                form.add("steps", gr.Slider(*_bounds("steps", (1, 150)), step=1,
                                            value=d["steps"], label="Sampling steps",
                                            elem_id=f"{TAB}_steps"))
            with gr.Accordion("Hires. fix", open=False, elem_id=f"{TAB}_hires"):
                form.add("enable_hr", gr.Checkbox(label="Enable Hires. fix",
                                                  elem_id=f"{TAB}_enable_hr"))
                with gr.Row():
                    form.add("hr_upscaler", gr.Dropdown(list(HIRES_UPSCALERS),
                                                        value=d["hr_upscaler"], label="Upscaler"))
                    form.add("hr_steps", gr.Slider(0, 150, step=1, value=d["hr_steps"],
                                                   label="Hires steps",
                                                   info="0: same as sampling steps"))
                    form.add("hr_denoising", gr.Slider(0, 1, step=0.01, value=d["hr_denoising"],
                                                       label="Denoising strength"))
                with gr.Row():
                    form.add("hr_scale", gr.Slider(*_bounds("hr_scale", (1, 4)), step=1,
                                                   value=d["hr_scale"], label="Upscale by",
                                                   info="whole numbers (the API's type)"))
                    form.add("hr_resize_x", gr.Slider(0, 2048, step=8, value=0,
                                                      label="Resize width to",
                                                      info="0: use Upscale by"))
                    form.add("hr_resize_y", gr.Slider(0, 2048, step=8, value=0,
                                                      label="Resize height to"))
            with gr.Row(equal_height=True):
                with gr.Column(scale=6):
                    width = form.add("width", gr.Slider(64, _bounds("width", (0, 1024))[1],
                                                        step=8, value=d["width"], label="Width",
                                                        elem_id=f"{TAB}_width"))
                    height = form.add("height", gr.Slider(64, _bounds("height", (0, 1024))[1],
                                                          step=8, value=d["height"],
                                                          label="Height",
                                                          elem_id=f"{TAB}_height"))
                with gr.Column(scale=1, min_width=80):
                    swap = gr.Button("⇅", size="sm", elem_id=f"{TAB}_swap",
                                     elem_classes="zq-tool")
                    size_preset = gr.Dropdown(list(ctx.sizes), value=None, label="Preset",
                                              elem_id=f"{TAB}_size_preset")
            with gr.Row():
                form.add("n_iter", gr.Slider(*_bounds("n_iter", (1, 100)), step=1,
                                             value=d["n_iter"], label="Batch count",
                                             elem_id=f"{TAB}_n_iter"))
                form.add("batch_size", gr.Slider(*_bounds("batch_size", (1, 8)), step=1,
                                                 value=d["batch_size"], label="Batch size",
                                                 elem_id=f"{TAB}_batch_size"))
            form.add("cfg_scale", gr.Slider(*_bounds("cfg_scale", (1, 30)), step=0.5,
                                            value=d["cfg_scale"], label="CFG Scale",
                                            elem_id=f"{TAB}_cfg_scale"))
            with gr.Row(equal_height=True):
                seed = form.add("seed", gr.Number(value=-1, precision=0, label="Seed",
                                                  info="-1: random", elem_id=f"{TAB}_seed",
                                                  scale=4))
                dice = gr.Button("⚄", size="sm", scale=0, min_width=40,
                                 elem_id=f"{TAB}_random_seed", elem_classes="zq-tool")
                recycle = gr.Button("♻", size="sm", scale=0, min_width=40,
                                    elem_id=f"{TAB}_reuse_seed", elem_classes="zq-tool")
            form.add("restore_faces", gr.Checkbox(label="Restore faces",
                                                  elem_id=f"{TAB}_restore_faces"))
            gr.Markdown("Variation seeds and tiling are not offered by the Zhiqite API.",
                        elem_classes="zq-note")
            with gr.Accordion("Request", open=False, elem_id=f"{TAB}_request") as request_box:
                show_request = gr.Button("Show the request for these settings", size="sm",
                                         elem_id=f"{TAB}_show_request")
                request_json = gr.Code(language="json", label="JSON body (credentials are "
                                       "headers, never shown)", buttons=["copy"],
                                       elem_id=f"{TAB}_request_json", interactive=False)
                request_curl = gr.Code(language="shell", label="As curl (credentials read "
                                       "from your environment)", buttons=["copy"],
                                       elem_id=f"{TAB}_request_curl", interactive=False)
        with gr.Column(scale=5, elem_id=f"{TAB}_results"):
            panel = build_results_panel(TAB)

    def form_of(data: dict[Any, Any]) -> Txt2ImgForm:
        values = form.values(data)
        prompt, negative = ctx.styles.apply(values.pop("styles", None) or [],
                                            values.get("prompt") or "",
                                            values.get("negative_prompt") or "")
        values.update(prompt=prompt, negative_prompt=negative)
        if values.get("vae") == VAE_AUTOMATIC:
            values["vae"] = None
        return Txt2ImgForm.from_values(values)

    def request_views(request: Any) -> dict[Any, Any]:
        client = ctx.runtime.client
        return {request_json: wire_json(request, callback=ctx.engine.mode == "callback"),
                request_curl: curl("text2image", request, base_url=client.base_url,
                                   auth_mode=client.auth_mode)}

    def generate(data: dict[Any, Any]) -> Iterator[dict[Any, Any]]:
        yield from submit_and_stream(
            ctx, panel, visitor=data[visitor], last_tasks=data[last_tasks],
            last_tasks_state=last_tasks, build=lambda: txt2img_request(form_of(data)),
            labels=LABELS, extra=request_views)

    def preview_request(data: dict[Any, Any]) -> dict[Any, Any]:
        try:
            return request_views(txt2img_request(form_of(data)))
        except InvalidRequestError as error:
            text = "\n".join(f"// {issue.message}" for issue in error.issues)
            return {request_json: text, request_curl: ""}

    inputs = {visitor, last_tasks, *form.components}
    generate_event = box.generate.click(generate, inputs=inputs,
                                        outputs=[*panel.outputs, last_tasks, request_json,
                                                 request_curl],
                                        concurrency_limit=None, show_progress="hidden")
    view_inputs = set(form.components)
    show_request.click(preview_request, inputs=view_inputs,
                       outputs=[request_json, request_curl])
    request_box.expand(preview_request, inputs=view_inputs, outputs=[request_json, request_curl])
    swap.click(None, [width, height], [width, height], js="(w, h) => [h, w]", queue=False)
    size_preset.input(lambda name: ctx.sizes.get(name, (gr.Slider(), gr.Slider())),
                      size_preset, [width, height], queue=False)
    dice.click(lambda: -1, None, seed, queue=False)
    recycle.click(last_seed, panel.results, seed, queue=False)
    return Txt2ImgTab(form, box, panel, request_json, request_curl, generate_event, generate,
                      preview_request)


def last_seed(results: list[str]) -> Any:
    """The seed of the first image shown (files are named NNNNN-<seed>.png)."""
    for path in results or []:
        match = re.match(r"^\d+-(\d+)$", Path(path).stem)
        if match:
            return int(match.group(1))
    gr.Info("No seed to reuse yet: generate first.")
    return gr.Number()
