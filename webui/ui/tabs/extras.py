"""Extras (the `enhance` tool), laid out as A1111's Extras tab: single image or batch, scale by /
scale to, two upscalers, GFPGAN and CodeFormer. One task per image."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.api import models as m
from webui.core.tools import (
    EnhanceForm,
    check_batch,
    check_upload,
    enhance_request,
    host_upload,
    read_upload,
)
from webui.messages import Msg
from webui.ui.context import UiContext
from webui.ui.controls import bounds
from webui.ui.forms import Form
from webui.ui.inputs import GuardedFile, GuardedImage
from webui.ui.tasks import Follower, refusal
from webui.ui.tool_tab import ToolResults, build_tool_results, wire_tool

TAB = "extras"
MODEL = m.EnhanceRequest
LABELS = {"image": "Source image", "upscalingResize": "Resize (scale by)",
          "upscalingResizeW": "Width", "upscalingResizeH": "Height",
          "upscaler1": "Upscaler 1", "upscaler2": "Upscaler 2",
          "extrasUpscaler2Visibility": "Upscaler 2 visibility",
          "gfpganVisibility": "GFPGAN visibility",
          "codeformerVisibility": "CodeFormer visibility",
          "codeformerWeight": "CodeFormer weight"}


@dataclass
class ExtrasTab:
    form: Form
    mode: gr.State  # "single" | "batch"
    mode_tabs: gr.Tabs
    image: gr.Image
    batch: gr.File
    run_button: gr.Button
    results: ToolResults
    run_event: Any  # Run's click (it sends and returns)
    follower: Follower  # what shows the tab's newest batch
    run: Callable[[dict[Any, Any]], Iterator[dict[Any, Any]]]


def build_extras(ctx: UiContext, visitor: gr.BrowserState, last_tasks: gr.BrowserState
                 ) -> ExtrasTab:
    form = Form()
    mode = gr.State("single")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, elem_id=f"{TAB}_settings"):
            with gr.Tabs(elem_id=f"{TAB}_mode_tabs") as mode_tabs:
                with gr.Tab("Single image", id="single") as tab_single:
                    image = GuardedImage(label="Source", type="filepath", height=360,
                                         sources=["upload", "clipboard"],
                                         elem_id=f"{TAB}_image")
                with gr.Tab("Batch", id="batch") as tab_batch:
                    batch = GuardedFile(label="Images (one task each)",
                                        file_count="multiple", file_types=["image"],
                                        elem_id=f"{TAB}_batch")
            run_button = gr.Button("Upscale", variant="primary", elem_id=f"{TAB}_run")
            with gr.Tabs():
                with gr.Tab("Scale by", id="by") as tab_by:
                    form.add("scale", gr.Slider(*bounds(MODEL, "upscalingResize", (1, 8)),
                                                step=1, value=2, label="Resize",
                                                elem_id=f"{TAB}_scale"))
                with gr.Tab("Scale to", id="to") as tab_to:
                    with gr.Row():
                        side = bounds(MODEL, "upscalingResizeW", (64, 2048))
                        form.add("width", gr.Slider(*side, step=8, value=1024, label="Width",
                                                    elem_id=f"{TAB}_width"))
                        form.add("height", gr.Slider(*side, step=8, value=1024, label="Height",
                                                     elem_id=f"{TAB}_height"))
                    form.add("crop", gr.Checkbox(value=True, label="Crop to fit"))
            resize_mode = form.add("resize_mode", gr.State("Scale by"))
            with gr.Row():
                form.add("upscaler1", gr.Dropdown(list(m.UPSCALERS), value="R-ESRGAN 4x+",
                                                  label="Upscaler 1",
                                                  elem_id=f"{TAB}_upscaler1"))
                form.add("upscaler2", gr.Dropdown(list(m.UPSCALERS), value="None",
                                                  label="Upscaler 2"))
            form.add("upscaler2_visibility", gr.Slider(0, 1, step=0.001, value=0,
                                                       label="Upscaler 2 visibility"))
            form.add("gfpgan_visibility", gr.Slider(0, 1, step=0.001, value=0,
                                                    label="GFPGAN visibility"))
            with gr.Row():
                form.add("codeformer_visibility", gr.Slider(0, 1, step=0.001, value=0,
                                                            label="CodeFormer visibility"))
                form.add("codeformer_weight", gr.Slider(
                    0, 1, step=0.001, value=0,
                    label="CodeFormer weight (0 = maximum effect, 1 = minimum effect)"))
            form.add("upscale_first", gr.Checkbox(value=False,
                                                  label="Upscale before restoring faces"))
        with gr.Column(scale=5, elem_id=f"{TAB}_results"):
            results = build_tool_results(TAB)

    tab_single.select(lambda: "single", outputs=mode, queue=False)
    tab_batch.select(lambda: "batch", outputs=mode, queue=False)
    tab_by.select(lambda: "Scale by", outputs=resize_mode, queue=False)
    tab_to.select(lambda: "Scale to", outputs=resize_mode, queue=False)

    def build(data: dict[Any, Any]) -> list[Callable[[], Any]]:
        enhance = EnhanceForm(**form.values(data))
        enhance_request(enhance, "http://127.0.0.1/placeholder.png")  # the form, before uploads
        files = [data[image]] if data[mode] == "single" else list(data[batch] or [])
        files = [f for f in files if isinstance(f, str) and f]
        if not files:
            what = Msg("upload.what_an_image") if data[mode] == "single" \
                else Msg("upload.what_images")
            raise refusal("image", Msg("upload.required", field="image", what=what), "missing",
                          "enhance")
        check_batch(files, "image", "Images")
        labels = [Msg("fields.image_number", number=n) if len(files) > 1 else LABELS["image"]
                  for n in range(1, len(files) + 1)]
        for path, label in zip(files, labels, strict=True):  # all checked before any decodes
            header = check_upload(path, "image", label)
            m.check_enhance_input(header.width, header.height)
        owner = ctx.owner(data[visitor])

        def make(path: str, label: str) -> Callable[[], Any]:
            def request() -> Any:  # decoded and hosted once its task may run
                picture = read_upload(path, "image", label)
                m.check_enhance_input(picture.width, picture.height)
                return enhance_request(enhance, host_upload(ctx.runtime.sources, owner, picture,
                                                            "image", "Source image"))
            return request

        return [make(path, label) for path, label in zip(files, labels, strict=True)]

    run_event, follower, run = wire_tool(ctx, results, run_button=run_button, visitor=visitor,
                               last_tasks=last_tasks,
                               inputs={mode, image, batch, *form.components}, build=build,
                               labels=LABELS)
    return ExtrasTab(form, mode, mode_tabs, image, batch, run_button, results, run_event,
                       follower, run)
