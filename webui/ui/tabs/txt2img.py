"""txt2img, laid out as A1111 lays it out: prompts on top, settings on the left, results on the
right. Every parameter the `text2image` endpoint takes; limits come from the request model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from webui.api import models as m
from webui.core.builder import HIRES_UPSCALERS, PLACEHOLDER_URL, Txt2ImgForm, build_request
from webui.ui.context import UiContext
from webui.ui.controls import (
    batch_controls,
    bounds,
    request_panel,
    sampler_controls,
    seed_controls,
    size_controls,
    styled_values,
)
from webui.ui.extensions import (
    AD_LABELS,
    ADetailerControls,
    ControlNetControls,
    build_adetailer,
    build_controlnet,
)
from webui.ui.followups import PanelFollowUp, build_panel_followup
from webui.ui.forms import Form
from webui.ui.networks import NetworksBrowser, build_networks
from webui.ui.prompt_box import PromptBox, build_prompt_box
from webui.ui.results import ResultsPanel, build_results_panel
from webui.ui.scripts import ScriptControls, build_scripts
from webui.ui.tasks import (
    Follower,
    GenerateHandlers,
    Prepared,
    SendControls,
    build_send_controls,
    host_files,
    wire_generate,
)
from webui.ui.topbar import TopBar

TAB = "txt2img"
MODEL = m.Text2ImageRequest

# API field -> the label on screen, for validation messages.
LABELS = {
    "prompt": "Prompt", "negative_prompt": "Negative prompt", "sampler_index": "Sampling method",
    "steps": "Sampling steps", "width": "Width", "height": "Height", "n_iter": "Batch count",
    "batch_size": "Batch size", "cfg_scale": "CFG Scale", "seed": "Seed",
    "hr_second_pass_steps": "Hires steps", "denoising_strength": "Denoising strength",
    "hr_scale": "Upscale by", "hr_resize_x": "Resize width to", "hr_resize_y": "Resize height to",
    "sd_model_checkpoint": "Stable Diffusion checkpoint", "sd_vae": "SD VAE",
    "CLIP_stop_at_last_layers": "Clip skip",
    # ControlNet units and ADetailer (the accordions' labels)
    "weight": "Control Weight", "guidance_start": "Starting Control Step",
    "guidance_end": "Ending Control Step", "processor_res": "Preprocessor resolution",
    "threshold_a": "Canny low threshold", "threshold_b": "Canny high threshold",
    # typed names are taken as typed (the dropdowns' choices narrow while a click is under
    # way) and refused here, so by their labels
    "module": "Preprocessor", "model": "Model",
    **AD_LABELS,
}


@dataclass
class Txt2ImgTab:
    form: Form
    box: PromptBox
    panel: ResultsPanel
    controlnet: ControlNetControls
    adetailer: ADetailerControls
    request_json: gr.Code
    request_curl: gr.Code
    generate_event: Any  # Generate's click (it sends and returns)
    follower: Follower  # what shows the tab's newest batch, after each click
    generate: Callable[..., Iterator[dict[Any, Any]]]  # send, then follow (for tests)
    preview_request: Callable[[dict[Any, Any]], dict[Any, Any]]
    networks: NetworksBrowser
    scripts: ScriptControls
    send: SendControls
    handlers: GenerateHandlers
    followup: PanelFollowUp | None = None  # wired by the app, which has History


def build_txt2img(ctx: UiContext, topbar: TopBar, visitor: gr.BrowserState,
                  last_tasks: gr.BrowserState) -> Txt2ImgTab:
    d = ctx.defaults["txt2img"]
    form = Form()
    topbar.register(form)
    box = build_prompt_box(ctx, TAB, visitor, topbar.checkpoint)
    networks = build_networks(ctx, TAB, box, topbar, visitor)
    form.add("prompt", box.prompt)
    form.add("negative_prompt", box.negative)
    form.add("styles", box.styles)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, elem_id=f"{TAB}_settings"):
            sampler_controls(form, TAB, d, MODEL)
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
                    form.add("hr_scale", gr.Slider(*bounds(MODEL, "hr_scale", (1, 4)), step=1,
                                                   value=d["hr_scale"], label="Upscale by",
                                                   info="whole numbers (the API's type)"))
                    form.add("hr_resize_x", gr.Slider(0, 2048, step=8, value=0,
                                                      label="Resize width to",
                                                      info="0: use Upscale by"))
                    form.add("hr_resize_y", gr.Slider(0, 2048, step=8, value=0,
                                                      label="Resize height to"))
            size_controls(ctx, form, TAB, d, MODEL)
            batch_controls(form, TAB, d, MODEL)
            form.add("cfg_scale", gr.Slider(*bounds(MODEL, "cfg_scale", (1, 30)), step=0.5,
                                            value=d["cfg_scale"], label="CFG Scale",
                                            elem_id=f"{TAB}_cfg_scale"))
            seed = seed_controls(form, TAB)
            controlnet = build_controlnet(TAB, ctx.controlnet_units,
                                          size=(form["width"], form["height"]))
            adetailer = build_adetailer(TAB, m.Text2ImageADetailerArgs, d)
            scripts = build_scripts(TAB, img2img=False)
            requests_view = request_panel(TAB)
        with gr.Column(scale=5, elem_id=f"{TAB}_results"):
            send = build_send_controls(TAB)
            panel = build_results_panel(TAB)
            followup = build_panel_followup(TAB)
    seed.wire(panel.results)

    def prepare(data: dict[Any, Any]) -> Prepared:
        """The form read once; each task's values are checked whole (placeholders for
        control images) before anything is uploaded, then uploaded and built."""
        units, files = controlnet.read(data, PLACEHOLDER_URL)
        ad = adetailer.read(data)

        def check(values: dict[str, Any]) -> Any:
            return build_request(TAB, Txt2ImgForm.from_values(values), units, ad)[1]

        def make(values: dict[str, Any]) -> Any:
            check(values)
            hosted = [replace(unit) for unit in units]
            for index, url in host_files(ctx, data.get(visitor), files).items():
                hosted[index].image_url = url
            return build_request(TAB, Txt2ImgForm.from_values(values), hosted, ad)[1]

        return Prepared(styled_values(ctx, form, data, data.get(visitor)), check, make)

    handlers = wire_generate(
        ctx, generate_button=box.generate, panel=panel, controls=send,
        requests_view=requests_view, visitor=visitor, last_tasks=last_tasks, prepare=prepare,
        labels=LABELS, scripts=scripts,
        inputs={*form.components, *controlnet.components, *adetailer.components})
    return Txt2ImgTab(form, box, panel, controlnet, adetailer, requests_view.json,
                      requests_view.curl, handlers.submit_event, handlers.follower,
                      handlers.generate, handlers.preview_request, networks, scripts, send,
                      handlers, followup)

