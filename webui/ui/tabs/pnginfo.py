"""PNG Info: drop an image made by A1111 or by this app, read its generation parameters, and
send them (and the image) to txt2img, img2img or inpaint, or the image to Extras."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from webui.core import infotext
from webui.core.hosting import MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.inputs import GuardedFile

USER_COMMENT = 0x9286  # EXIF: where A1111 keeps the parameters of JPEG and WebP images
EXIF_IFD = 0x8769


@dataclass
class PngInfoTab:
    file: gr.File
    image: gr.Image
    text: gr.Textbox
    fields: gr.HTML
    to_txt2img: gr.Button
    to_img2img: gr.Button
    to_inpaint: gr.Button
    to_extras: gr.Button


def build_pnginfo() -> PngInfoTab:
    with gr.Row(equal_height=False):
        with gr.Column():
            file = GuardedFile(label="Drop an image (PNG, JPEG or WebP)",
                               elem_id="pnginfo_file",
                               file_types=[".png", ".jpg", ".jpeg", ".webp"], type="filepath")
            image = gr.Image(label="Image", interactive=False, elem_id="pnginfo_image",
                             height=360)
        with gr.Column():
            text = gr.Textbox(label="Parameters", lines=8, interactive=False, buttons=["copy"],
                              elem_id="pnginfo_text")
            fields = gr.HTML(elem_id="pnginfo_fields")
            with gr.Row():
                to_txt2img = gr.Button("Send to txt2img", elem_id="pnginfo_send_txt2img")
                to_img2img = gr.Button("Send to img2img", elem_id="pnginfo_send_img2img")
                to_inpaint = gr.Button("Send to inpaint", elem_id="pnginfo_send_inpaint")
                to_extras = gr.Button("Send to extras", elem_id="pnginfo_send_extras")
    tab = PngInfoTab(file, image, text, fields, to_txt2img, to_img2img, to_inpaint, to_extras)
    # The guarded input refuses a file that is no picture before this runs, in the app's
    # words (the field named, never the file's path on the server); the input is then cleared.
    read = file.change(read_parameters, file, [image, text, fields])
    read.failure(lambda: None, None, file, queue=False, show_progress="hidden")
    return tab


def read_parameters(path: str | None) -> tuple[Any, str, str]:
    if not path:
        return None, "", ""
    # The reasons are our own words: an exception's text names the file's path on the server.
    try:
        if Path(path).stat().st_size > MAX_UPLOAD_BYTES:
            raise _Unreadable(Msg("pnginfo.over_limit", limit=MAX_UPLOAD_BYTES >> 20))
        with Image.open(path) as probe:
            if max(probe.size) > MAX_UPLOAD_SIDE:
                raise _Unreadable(Msg("upload.too_many_pixels", width=probe.width,
                                      height=probe.height, max_width=MAX_UPLOAD_SIDE,
                                      max_height=MAX_UPLOAD_SIDE))
            probe.load()
            text = parameters_of(probe)
    except _Unreadable as exc:
        toasts.warn(Msg("pnginfo.unreadable", reason=exc.msg))
        return None, "", ""
    except Image.DecompressionBombError:
        toasts.warn(Msg("pnginfo.unreadable", reason=Msg("pnginfo.bomb")))
        return None, "", ""
    except (OSError, ValueError, SyntaxError):
        toasts.warn(Msg("pnginfo.unreadable", reason=Msg("pnginfo.not_an_image")))
        return None, "", ""
    if not text:
        toasts.info(Msg("pnginfo.no_parameters"))
        return path, "", ""
    return path, text, fields_table(text)


class _Unreadable(ValueError):
    """A reason of our own, safe to show."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(str(msg))
        self.msg = msg


def parameters_of(image: Image.Image) -> str | None:
    text = image.info.get("parameters")
    if text:
        return str(text)
    comment = image.getexif().get_ifd(EXIF_IFD).get(USER_COMMENT)
    if isinstance(comment, bytes):
        if comment.startswith(b"UNICODE\0"):
            body = comment[8:]
            for encoding in ("utf-16-be", "utf-16-le"):
                try:
                    return body.decode(encoding)
                except UnicodeDecodeError:
                    continue
        return comment.split(b"\0", 1)[-1].decode("utf-8", "replace") or None
    return str(comment) if comment else None


def fields_table(text: str) -> str:
    rows = "".join(f"<tr><th>{html.escape(key)}</th><td>{html.escape(value)}</td></tr>"
                   for key, value in infotext.parse(text).items() if value)
    return f'<table class="zq-fields">{rows}</table>'
