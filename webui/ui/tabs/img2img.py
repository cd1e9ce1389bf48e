"""img2img, with A1111's sub-tabs: img2img, Inpaint (paint the mask on the image), Inpaint upload
(image plus a mask file). Every `image2image` parameter; uploads are hosted for the service
(`core/hosting.py`), a pasted public URL goes to the service as is."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from webui.api import models as m
from webui.api.errors import InvalidRequestError
from webui.core.builder import (
    INPAINT_AREAS,
    MASK_MODES,
    MASKED_CONTENT,
    PLACEHOLDER_URL,
    RESIZE_MODES,
    Img2ImgForm,
    build_request,
)
from webui.core.hosting import (
    MAX_UPLOAD_SIDE,
    UploadRefused,
    is_public_url,
    labelled,
    prepare_upload,
    to_png,
)
from webui.core.masks import mask_from_editor, mask_from_upload
from webui.messages import Msg
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
    ADetailerControls,
    ControlNetControls,
    build_adetailer,
    build_controlnet,
)
from webui.ui.followups import PanelFollowUp, build_panel_followup
from webui.ui.forms import Form
from webui.ui.inputs import GuardedImage, GuardedImageEditor
from webui.ui.networks import NetworksBrowser, build_networks
from webui.ui.prompt_box import PromptBox, build_prompt_box
from webui.ui.results import ResultsPanel, build_results_panel
from webui.ui.scripts import ScriptControls, build_scripts
from webui.ui.tabs.txt2img import LABELS as TXT2IMG_LABELS
from webui.ui.tasks import (
    Follower,
    Prepared,
    SendControls,
    build_send_controls,
    host_files,
    refusal,
    wire_generate,
)
from webui.ui.topbar import TopBar

TAB = "img2img"
MODEL = m.Image2ImageRequest
MODES = {"img2img": "img2img", "inpaint": "Inpaint", "inpaint_upload": "Inpaint upload"}
LABELS = {**TXT2IMG_LABELS, "resize_mode": "Resize mode", "image_cfg_scale": "Image CFG Scale",
          "mask_blur": "Mask blur", "inpaint_full_res_padding": "Only masked padding",
          "image_link": "Image", "mask_link": "Mask"}


@dataclass
class Img2ImgTab:
    form: Form
    box: PromptBox
    panel: ResultsPanel
    mode: gr.State
    mode_tabs: gr.Tabs
    init_image: gr.Image
    editor: gr.ImageEditor
    upload_image: gr.Image
    upload_mask: gr.Image
    image_url: gr.Textbox
    controlnet: ControlNetControls
    adetailer: ADetailerControls
    scale_by: gr.Slider
    request_json: gr.Code
    generate_event: Any  # Generate's click (it sends and returns)
    follower: Follower  # what shows the tab's newest batch, after each click
    generate: Callable[..., Iterator[dict[Any, Any]]]  # send, then follow (for tests)
    networks: NetworksBrowser
    scripts: ScriptControls
    send: SendControls
    followup: PanelFollowUp | None = None  # wired by the app, which has History


def build_img2img(ctx: UiContext, topbar: TopBar, visitor: gr.BrowserState,
                  last_tasks: gr.BrowserState) -> Img2ImgTab:
    d = ctx.defaults["txt2img"]
    form = Form()
    topbar.register(form)
    box = build_prompt_box(ctx, TAB, visitor, topbar.checkpoint)
    networks = build_networks(ctx, TAB, box, topbar, visitor)
    form.add("prompt", box.prompt)
    form.add("negative_prompt", box.negative)
    form.add("styles", box.styles)
    mode = gr.State("img2img")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, elem_id=f"{TAB}_settings"):
            with gr.Tabs(elem_id=f"{TAB}_mode_tabs") as mode_tabs:
                with gr.Tab("img2img", id="img2img") as tab_img2img:
                    init_image = GuardedImage(label="Image for img2img", type="filepath",
                                              sources=["upload", "clipboard"], height=400,
                                              elem_id=f"{TAB}_image")
                with gr.Tab("Inpaint", id="inpaint") as tab_inpaint:
                    editor = GuardedImageEditor(
                        label="Paint the area to change (white)", type="pil", format="png",
                        image_mode="RGBA", sources=["upload", "clipboard"], height=480,
                        layers=False, transforms=(), elem_id=f"{TAB}_inpaint_editor",
                        visible=False,  # shown with its tab: its script (650 kB) loads then
                        brush=gr.Brush(colors=["#ffffff"], default_color="#ffffff",
                                       color_mode="fixed", default_size=32),
                        eraser=gr.Eraser(default_size=32))
                with gr.Tab("Inpaint upload", id="inpaint_upload") as tab_upload:
                    with gr.Row():
                        upload_image = GuardedImage(label="Image", type="filepath",
                                                    sources=["upload", "clipboard"],
                                                    height=300, elem_id=f"{TAB}_upload_image")
                        upload_mask = GuardedImage(label="Mask (white = change)",
                                                   type="filepath",
                                                   sources=["upload", "clipboard"], height=300,
                                                   elem_id=f"{TAB}_upload_mask")
            image_url = gr.Textbox(label="…or a public image URL (sent to the service as is)",
                                   max_lines=1, elem_id=f"{TAB}_image_url")
            form.add("resize_mode", gr.Radio(list(RESIZE_MODES), type="index", value=RESIZE_MODES[0],
                                             label="Resize mode", elem_id=f"{TAB}_resize_mode"))
            with gr.Group(visible=False) as inpaint_group:
                with gr.Row():
                    form.add("mask_blur", gr.Slider(*bounds(MODEL, "mask_blur", (0, 64)),
                                                    step=1, value=4, label="Mask blur",
                                                    elem_id=f"{TAB}_mask_blur"))
                    form.add("mask_mode", gr.Radio(list(MASK_MODES), type="index", value=MASK_MODES[0],
                                                   label="Mask mode"))
                form.add("masked_content", gr.Radio(list(MASKED_CONTENT), type="index",
                                                    value=MASKED_CONTENT[1],
                                                    label="Masked content",
                                                    elem_id=f"{TAB}_masked_content"))
                with gr.Row():
                    form.add("inpaint_area", gr.Radio(list(INPAINT_AREAS), type="index",
                                                      value=INPAINT_AREAS[0],
                                                      label="Inpaint area",
                                                      elem_id=f"{TAB}_inpaint_area"))
                    form.add("padding", gr.Slider(0, 256, step=4, value=32,
                                                  label="Only masked padding, pixels"))
            sampler_controls(form, TAB, d, MODEL)
            with gr.Tabs():
                with gr.Tab("Resize to"):
                    size_controls(ctx, form, TAB, d, MODEL)
                with gr.Tab("Resize by"):
                    scale_by = gr.Slider(0.05, 4, step=0.05, value=1, label="Scale",
                                         info="of the image's size; overrides Resize to when "
                                              "not 1", elem_id=f"{TAB}_scale_by")
            batch_controls(form, TAB, d, MODEL)
            with gr.Row():
                form.add("cfg_scale", gr.Slider(*bounds(MODEL, "cfg_scale", (1, 30)), step=1,
                                                value=int(d["cfg_scale"]), label="CFG Scale",
                                                info="whole numbers (the img2img type)"))
                form.add("image_cfg_scale", gr.Slider(0, 3, step=0.05, value=1.5,
                                                      label="Image CFG Scale"))
            form.add("denoising_strength", gr.Slider(0, 1, step=0.01, value=0.75,
                                                     label="Denoising strength",
                                                     elem_id=f"{TAB}_denoising"))
            seed = seed_controls(form, TAB)
            controlnet = build_controlnet(TAB, ctx.controlnet_units, img2img=True,
                                          size=(form["width"], form["height"]))
            adetailer = build_adetailer(TAB, m.Image2ImageADetailerArgs, d)
            scripts = build_scripts(TAB, img2img=True)
            requests_view = request_panel(TAB)
        with gr.Column(scale=5, elem_id=f"{TAB}_results"):
            send = build_send_controls(TAB)
            panel = build_results_panel(TAB)
            followup = build_panel_followup(TAB)
    seed.wire(panel.results)

    for tab, key in ((tab_img2img, "img2img"), (tab_inpaint, "inpaint"),
                     (tab_upload, "inpaint_upload")):
        tab.select(lambda key=key: (key, gr.Group(visible=key != "img2img")),
                   outputs=[mode, inpaint_group], queue=False)
    tab_inpaint.select(lambda: gr.ImageEditor(visible=True), outputs=editor, queue=False,
                       show_progress="hidden")

    images = {mode, init_image, editor, upload_image, upload_mask, image_url, scale_by}

    def form_of(data: dict[Any, Any], values: dict[str, Any], init_url: str,
                mask_url: str | None, init_size: tuple[int, int] | None) -> Img2ImgForm:
        values = dict(values)
        scale = float(data[scale_by] or 1)
        if init_size and abs(scale - 1) > 1e-6:  # "Resize by": from the image, multiple of 8
            values["width"], values["height"] = (max(8, round(side * scale / 8) * 8)
                                                 for side in init_size)
        return Img2ImgForm.from_values({**values, "mode": data[mode], "init_url": init_url,
                                        "mask_url": mask_url})

    def prepare(data: dict[Any, Any]) -> Prepared:
        """The form and its pictures read once; each task's values are checked whole
        (placeholders for the uploads) before anything is uploaded; the pictures are
        hosted once, for the first task that is made."""
        units, files = controlnet.read(data, PLACEHOLDER_URL)
        ad = adetailer.read(data)
        init, init_png, mask = pictures(data)
        size = init.size if init is not None else None
        placeholder_mask = PLACEHOLDER_URL if mask is not None else None
        pasted = (data[image_url] or "").strip()
        if init is None and pasted:
            if not is_public_url(pasted):
                raise _invalid("image_link", Msg("img2img.url_scheme", field="image_link"))
            init_url = pasted
        else:
            init_url = PLACEHOLDER_URL if init is not None else ""
        hosted: dict[str, Any] = {}

        def check(values: dict[str, Any]) -> Any:
            return build_request(TAB, form_of(data, values, init_url, placeholder_mask, size),
                                 units, ad)[1]

        def host() -> dict[str, Any]:
            if hosted:
                return hosted
            sources, owner = ctx.runtime.sources, ctx.owner(data.get(visitor) or "")
            try:
                # one of the visitor's results goes by the service's own URL
                hosted["init"] = (sources.url_for(owner, init, png=init_png, what="Image").url
                                  if init is not None else init_url)
                hosted["mask"] = (sources.url_for(owner, mask, png=to_png(mask),
                                                  what="Mask").url
                                  if mask is not None else None)
            except UploadRefused as refused:
                raise _invalid("image_link", refused.msg) from None
            hosted["units"] = host_files(ctx, data.get(visitor), files)
            return hosted

        def make(values: dict[str, Any]) -> Any:
            check(values)
            urls = host()
            made = [replace(unit) for unit in units]
            for index, url in urls["units"].items():
                made[index].image_url = url
            return build_request(TAB, form_of(data, values, urls["init"], urls["mask"], size),
                                 made, ad)[1]

        return Prepared(styled_values(ctx, form, data, data.get(visitor)), check, make)

    def pictures(data: dict[Any, Any]
                 ) -> tuple[Image.Image | None, bytes | None, Image.Image | None]:
        """(init image, its checked PNG when uploaded as a file, mask) for the current mode."""
        current = data[mode]
        if current == "inpaint":
            init, mask = mask_from_editor(data[editor])
            if init is not None:
                _check_size(init)
            return init, None, mask
        if current == "inpaint_upload":
            init, init_png = _open(data[upload_image], "Image")
            mask_file, _ = _open(data[upload_mask], "Mask")
            mask = mask_from_upload(mask_file, init.size) if init and mask_file else None
            return init, init_png, mask
        init, init_png = _open(data[init_image], "Image")
        return init, init_png, None

    handlers = wire_generate(
        ctx, generate_button=box.generate, panel=panel, controls=send,
        requests_view=requests_view, visitor=visitor, last_tasks=last_tasks, prepare=prepare,
        labels=LABELS, scripts=scripts,
        inputs={*form.components, *images, *controlnet.components, *adetailer.components})
    return Img2ImgTab(form, box, panel, mode, mode_tabs, init_image, editor, upload_image,
                      upload_mask, image_url, controlnet, adetailer, scale_by,
                      requests_view.json, handlers.submit_event, handlers.follower,
                      handlers.generate, networks, scripts, send, followup)


def _invalid(field: str, text: Msg) -> InvalidRequestError:
    return refusal(f"alwayson_scripts.{field}", text, endpoint="image2image")


def _open(path: Any, what: str) -> tuple[Image.Image | None, bytes | None]:
    """An uploaded file, checked as every upload is (format, size, EXIF orientation)."""
    if not path:
        return None, None
    try:
        prepared = prepare_upload(Path(path).read_bytes(), what)
    except OSError:
        raise _invalid("image_link", labelled(what, Msg("upload.read_failed"))) from None
    except UploadRefused as refused:
        raise _invalid("image_link", refused.msg) from None
    return Image.open(io.BytesIO(prepared.png)), prepared.png


def _check_size(image: Image.Image) -> None:
    if max(image.size) > MAX_UPLOAD_SIDE:
        raise _invalid("image_link", labelled("Image", Msg(
            "upload.too_many_pixels", width=image.width, height=image.height,
            max_width=MAX_UPLOAD_SIDE, max_height=MAX_UPLOAD_SIDE)))
