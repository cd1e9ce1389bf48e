"""Send to: a gallery's image and its parameters (or PNG Info's) to another tab, and the ↙
buttons of txt2img and img2img.

The parameters come from the stored task that made the image (its request as sent, the
image's own seed), found by the image's pixels; a picture of no task of this visitor's (an
A1111 one dropped on PNG Info) falls back to its infotext."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from webui.core.outputs import read_infotext
from webui.core.paste import fields_from_infotext, fields_from_request, record_of_image
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.prompt_box import checkpoint_codes, form_fill, wire_paste
from webui.ui.results import ResultsPanel, chosen_path
from webui.ui.served import shown as served
from webui.ui.tabs.extras import ExtrasTab
from webui.ui.tabs.faceswap import FaceSwapTab
from webui.ui.tabs.history import HistoryTab
from webui.ui.tabs.img2img import Img2ImgTab
from webui.ui.tabs.pnginfo import PngInfoTab
from webui.ui.tabs.txt2img import Txt2ImgTab

NOTHING_TO_SEND = Msg("send_to.no_image")
# not carried over: A1111's infotext has no batch count either (one picture was chosen)
NOT_CARRIED = ("n_iter",)


def parameters(ctx: UiContext, visitor: Any, path: str | None, text: str | None = None,
               request: Any = None) -> dict[str, Any]:
    """Form values for an image: its task's record when it is one of this visitor's results,
    else the infotext (`text`, or the one the file carries)."""
    who = ctx.visitor_id(visitor, request)
    found = record_of_image(ctx.runtime.store, ctx.owner(who), path) if who and path else None
    if found is not None:
        record, image = found
        fields = fields_from_request(record.request, image.seed)
    else:
        if text is None and path:
            try:
                text = read_infotext(path)
            except OSError:
                text = None
        fields = fields_from_infotext(text, checkpoint_codes(ctx)) if text else {}
    return {name: value for name, value in fields.items() if name not in NOT_CARRIED}


def form_updates(ctx: UiContext, tab: Any, text: str | None) -> dict[Any, Any]:
    """Every field the infotext names, into the tab's form (others untouched)."""
    if not text:
        return {}
    return form_fill(tab.form, fields_from_infotext(text, checkpoint_codes(ctx)))


def wire_send_to(ctx: UiContext, main_tabs: gr.Tabs, txt2img: Txt2ImgTab, img2img: Img2ImgTab,
                 extras: ExtrasTab, faceswap: FaceSwapTab, pnginfo: PngInfoTab,
                 panels: list[ResultsPanel], history: HistoryTab | None = None
                 ) -> dict[str, Callable[..., Any]]:
    """Every results panel's Send to buttons (SEND_TARGETS order), PNG Info's, History's Send
    to txt2img (History's panel is among `panels`, or pass `history`), and the ↙ buttons."""
    visitor = txt2img.box.visitor
    img2img_outputs = [main_tabs, img2img.mode_tabs, img2img.mode, img2img.init_image,
                       img2img.editor, *img2img.form.components]
    txt2img_outputs = [main_tabs, *txt2img.form.components]

    def to_img2img(path: str | None, fields: dict[str, Any], inpaint: bool) -> dict[Any, Any]:
        if not path:
            toasts.warn(NOTHING_TO_SEND)
            return gr.skip()
        mode = "inpaint" if inpaint else "img2img"
        shown = served(path)
        update: dict[Any, Any] = {main_tabs: gr.Tabs(selected="img2img"),
                                  img2img.mode_tabs: gr.Tabs(selected=mode), img2img.mode: mode}
        if inpaint:
            update[img2img.editor] = gr.ImageEditor(
                {"background": shown, "layers": [], "composite": shown}, visible=True)
        else:
            update[img2img.init_image] = shown
        update.update(form_fill(img2img.form, fields))
        return update

    def to_txt2img(fields: dict[str, Any]) -> dict[Any, Any]:
        if not fields:
            toasts.warn(Msg("send_to.no_parameters"))
            return gr.skip()
        return {main_tabs: gr.Tabs(selected="txt2img"), **form_fill(txt2img.form, fields)}

    def from_results(target: str) -> Callable[..., dict[Any, Any]]:
        def send(who: Any, results: Any, selected: Any,
                 request: gr.Request = None  # type: ignore[assignment]
                 ) -> dict[Any, Any]:
            path = chosen_path(results, selected)
            if target == "txt2img":
                if not path:
                    toasts.warn(NOTHING_TO_SEND)
                    return gr.skip()
                return to_txt2img(parameters(ctx, who, path, request=request))
            fields = parameters(ctx, who, path, request=request) if path else {}
            return to_img2img(path, fields, inpaint=target == "inpaint")
        return send

    def to_tool(tab: str, image: Any, mode: Any, mode_tabs: Any
                ) -> Callable[[Any, Any], dict[Any, Any]]:
        def send(results: Any, selected: Any) -> dict[Any, Any]:
            path = chosen_path(results, selected)
            if not path:
                toasts.warn(NOTHING_TO_SEND)
                return gr.skip()
            return {main_tabs: gr.Tabs(selected=tab), mode_tabs: gr.Tabs(selected="single"),
                    mode: "single", image: served(path)}
        return send

    send_extras = to_tool("extras", extras.image, extras.mode, extras.mode_tabs)
    send_faceswap = to_tool("faceswap", faceswap.target, faceswap.mode, faceswap.mode_tabs)
    extras_outputs = [main_tabs, extras.mode_tabs, extras.mode, extras.image]
    handlers: dict[str, Callable[..., Any]] = {
        target: from_results(target) for target in ("img2img", "inpaint", "txt2img")}
    for panel in panels:
        send_img2img, send_inpaint, to_extras, to_faceswap = panel.send_buttons
        for button, target in ((send_img2img, "img2img"), (send_inpaint, "inpaint")):
            button.click(handlers[target], inputs=[visitor, panel.results, panel.selected],
                         outputs=img2img_outputs)
        to_extras.click(send_extras, inputs=[panel.results, panel.selected],
                        outputs=extras_outputs)
        to_faceswap.click(send_faceswap, inputs=[panel.results, panel.selected],
                          outputs=[main_tabs, faceswap.mode_tabs, faceswap.mode,
                                   faceswap.target])
    if history is not None:
        history.send_txt2img.click(handlers["txt2img"],
                                   inputs=[visitor, history.panel.results,
                                           history.panel.selected],
                                   outputs=txt2img_outputs)

    # PNG Info: the dropped file (one of the visitor's results reads its record) and its text
    def png_fields(who: Any, path: Any, text: Any, request: Any) -> dict[str, Any]:
        return parameters(ctx, who, path if isinstance(path, str) else None,
                          text if isinstance(text, str) else "", request)

    def png_to(target: str) -> Callable[..., dict[Any, Any]]:
        def send(who: Any, path: Any, text: Any,
                 request: gr.Request = None  # type: ignore[assignment]
                 ) -> dict[Any, Any]:
            if target == "txt2img":
                return to_txt2img(png_fields(who, path, text, request))
            if target == "extras":
                return send_extras([path] if isinstance(path, str) and path else [], None)
            fields = png_fields(who, path, text, request) if path else {}
            return to_img2img(path if isinstance(path, str) else None, fields,
                              inpaint=target == "inpaint")
        return send

    png_inputs = [visitor, pnginfo.file, pnginfo.text]
    pnginfo.to_txt2img.click(png_to("txt2img"), inputs=png_inputs, outputs=txt2img_outputs)
    pnginfo.to_img2img.click(png_to("img2img"), inputs=png_inputs, outputs=img2img_outputs)
    pnginfo.to_inpaint.click(png_to("inpaint"), inputs=png_inputs, outputs=img2img_outputs)
    pnginfo.to_extras.click(png_to("extras"), inputs=png_inputs, outputs=extras_outputs)

    handlers["paste_txt2img"] = wire_paste(ctx, txt2img.box, txt2img.form, "txt2img")
    handlers["paste_img2img"] = wire_paste(ctx, img2img.box, img2img.form, "img2img")
    return handlers
