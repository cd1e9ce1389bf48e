"""Send to: a gallery's image (and its parameters) or PNG Info's fields to another tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from webui.api.errors import ZhiqiteError
from webui.core.outputs import read_infotext
from webui.core.paste import fields_from_infotext
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.results import ResultsPanel
from webui.ui.served import shown as served
from webui.ui.tabs.extras import ExtrasTab
from webui.ui.tabs.faceswap import FaceSwapTab
from webui.ui.tabs.img2img import Img2ImgTab
from webui.ui.tabs.pnginfo import PngInfoTab
from webui.ui.tabs.txt2img import Txt2ImgTab


def form_updates(ctx: UiContext, tab: Any, text: str | None) -> dict[Any, Any]:
    """Every field the infotext names, into the tab's form (others untouched)."""
    if not text:
        return {}
    try:
        codes = [c.value for c in ctx.catalog.checkpoints(show_adult=True)]
    except ZhiqiteError:  # the list is a nicety here: the prompt and numbers still go over
        codes = []
    fields = fields_from_infotext(text, codes)
    return {tab.form[name]: value for name, value in fields.items() if name in tab.form.fields}


def wire_send_to(ctx: UiContext, main_tabs: gr.Tabs, txt2img: Txt2ImgTab, img2img: Img2ImgTab,
                 extras: ExtrasTab, faceswap: FaceSwapTab, pnginfo: PngInfoTab,
                 panels: list[ResultsPanel]) -> None:
    """Every results panel's Send to buttons (SEND_TARGETS order), and PNG Info's."""
    img2img_outputs = [main_tabs, img2img.mode_tabs, img2img.mode, img2img.init_image,
                       img2img.editor, *img2img.form.components]

    def to_img2img(path: str | None, text: str | None, inpaint: bool) -> dict[Any, Any]:
        if not path:
            toasts.warn("No image to send: generate or drop one first.")
            return gr.skip()
        mode = "inpaint" if inpaint else "img2img"
        path = served(path)
        update: dict[Any, Any] = {main_tabs: gr.Tabs(selected="img2img"),
                                  img2img.mode_tabs: gr.Tabs(selected=mode), img2img.mode: mode}
        if inpaint:
            update[img2img.editor] = {"background": path, "layers": [], "composite": path}
        else:
            update[img2img.init_image] = path
            update.update(form_updates(ctx, img2img, text))
        return update

    def to_tool(tab: str, image: Any, mode: Any, mode_tabs: Any
                ) -> Callable[[list[str] | None, int | None], dict[Any, Any]]:
        def send(results: list[str] | None, selected: int | None) -> dict[Any, Any]:
            path, _ = _chosen(results, selected)
            if not path:
                toasts.warn("No image to send: generate or drop one first.")
                return gr.skip()
            return {main_tabs: gr.Tabs(selected=tab), mode_tabs: gr.Tabs(selected="single"),
                    mode: "single", image: served(path)}
        return send

    send_extras = to_tool("extras", extras.image, extras.mode, extras.mode_tabs)
    send_faceswap = to_tool("faceswap", faceswap.target, faceswap.mode, faceswap.mode_tabs)
    for panel in panels:
        send_img2img, send_inpaint, to_extras, to_faceswap = panel.send_buttons
        for button, inpaint in ((send_img2img, False), (send_inpaint, True)):
            button.click(lambda results, selected, inpaint=inpaint: to_img2img(
                *_chosen(results, selected), inpaint=inpaint),
                inputs=[panel.results, panel.selected], outputs=img2img_outputs)
        to_extras.click(send_extras, inputs=[panel.results, panel.selected],
                        outputs=[main_tabs, extras.mode_tabs, extras.mode, extras.image])
        to_faceswap.click(send_faceswap, inputs=[panel.results, panel.selected],
                          outputs=[main_tabs, faceswap.mode_tabs, faceswap.mode,
                                   faceswap.target])

    pnginfo.to_img2img.click(lambda path, text: to_img2img(path, text, inpaint=False),
                             inputs=[pnginfo.file, pnginfo.text], outputs=img2img_outputs)
    pnginfo.to_txt2img.click(
        lambda text: {main_tabs: gr.Tabs(selected="txt2img"), **form_updates(ctx, txt2img, text)},
        inputs=pnginfo.text, outputs=[main_tabs, *txt2img.form.components])


def _chosen(results: list[str] | None, selected: int | None) -> tuple[str | None, str | None]:
    """The selected result, else the first; with its infotext."""
    if not results:
        return None, None
    path = results[selected] if selected is not None and selected < len(results) else results[0]
    try:
        return path, read_infotext(path)
    except OSError:
        return path, None

