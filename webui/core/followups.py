"""One-click follow-ups of a result image, each exactly one request (Fooocus's Vary, A1111's
Extras upscale, an ADetailer pass, "poor man's" outpainting):

- Vary (subtle / strong): img2img of the picture with its task's parameters, a new seed, at
  Fooocus's denoising (0.5 / 0.85).
- Upscale x2: Extras (`enhance`), scale by 2 with R-ESRGAN 4x+.
- Detail faces: img2img that leaves the picture as it is (denoising 0) with one ADetailer
  unit (face_yolov8n.pt) that redraws each face it finds.
- Outpaint left / right / up / down: the canvas grown by a quarter on that side (within the
  API's 1024 a side: the picture is scaled with it), the new strip filled with the picture's
  edge and masked (with an overlap into the picture so that the seam blends), inpainted.

The parameters are the task's request as sent (`paste.fields_from_request`); a tool's result
has no prompt, so only Upscale follows it up (the others say to send it to img2img). ControlNet
units, Hires. fix and the batch are not carried: a follow-up is one picture from one picture."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PIL import Image, ImageDraw

from webui.api.errors import InvalidRequestError
from webui.api.models.sd import IMAGE_SIZE
from webui.api.models.tools import check_enhance_input
from webui.core.builder import PLACEHOLDER_URL, Img2ImgForm, build_request, issue
from webui.core.extensions import ADetailerForm, ADetailerUnitForm, fitted_size
from webui.core.paste import fields_from_request
from webui.core.tools import EnhanceForm, enhance_request
from webui.messages import Msg

API_LARGEST = int(IMAGE_SIZE.hi or 1024)  # the SD endpoints' largest width / height


class FollowUp(StrEnum):
    VARY_SUBTLE = "vary_subtle"
    VARY_STRONG = "vary_strong"
    UPSCALE = "upscale_2x"
    DETAIL_FACES = "detail_faces"
    OUTPAINT_LEFT = "outpaint_left"
    OUTPAINT_RIGHT = "outpaint_right"
    OUTPAINT_UP = "outpaint_up"
    OUTPAINT_DOWN = "outpaint_down"

    @property
    def outpaint(self) -> bool:
        return self.value.startswith("outpaint_")


VARY_DENOISING = {FollowUp.VARY_SUBTLE: 0.5, FollowUp.VARY_STRONG: 0.85}  # Fooocus's values
OUTPAINT_SHARE = 0.25  # the new strip: a quarter of the picture's side (at least MIN_STRIP)
MIN_STRIP = 64
OUTPAINT_OVERLAP = 16  # pixels of the picture masked with the strip, for the seam
OUTPAINT_DENOISING = 0.9  # masked content "fill" wants a high denoising (A1111's advice)
OUTPAINT_MASK_BLUR = 8
UPSCALE_BY = 2


def outpaint_canvas(picture: Image.Image, side: FollowUp, largest: int = API_LARGEST
                    ) -> tuple[Image.Image, Image.Image]:
    """(the grown canvas, its mask: white where the service paints). The canvas fits the
    API (each side at most `largest`, a multiple of 8), the picture scaled into it with its
    shape kept; the strip starts as the picture's edge stretched out."""
    picture = picture.convert("RGB")
    width, height = picture.size
    across = side in (FollowUp.OUTPAINT_LEFT, FollowUp.OUTPAINT_RIGHT)
    strip = max(MIN_STRIP, round(OUTPAINT_SHARE * (width if across else height) / 8) * 8)
    canvas_w, canvas_h = fitted_size(width + strip if across else width,
                                     height if across else height + strip, largest)
    if across:  # the picture's height is the canvas's; the rest of the width is new
        inner = (min(canvas_w - 8, max(8, round(width * canvas_h / height))), canvas_h)
    else:
        inner = (canvas_w, min(canvas_h - 8, max(8, round(height * canvas_w / width))))
    scaled = picture.resize(inner, Image.Resampling.LANCZOS)
    gap = (canvas_w - inner[0]) if across else (canvas_h - inner[1])
    at = {FollowUp.OUTPAINT_LEFT: (gap, 0), FollowUp.OUTPAINT_RIGHT: (0, 0),
          FollowUp.OUTPAINT_UP: (0, gap), FollowUp.OUTPAINT_DOWN: (0, 0)}[side]
    # the strip and the edge of the picture it continues (one pixel row or column)
    strip_box, edge_box = {
        FollowUp.OUTPAINT_LEFT: ((0, 0, gap, canvas_h), (0, 0, 1, inner[1])),
        FollowUp.OUTPAINT_RIGHT: ((inner[0], 0, canvas_w, canvas_h),
                                  (inner[0] - 1, 0, inner[0], inner[1])),
        FollowUp.OUTPAINT_UP: ((0, 0, canvas_w, gap), (0, 0, inner[0], 1)),
        FollowUp.OUTPAINT_DOWN: ((0, inner[1], canvas_w, canvas_h),
                                 (0, inner[1] - 1, inner[0], inner[1])),
    }[side]
    canvas = Image.new("RGB", (canvas_w, canvas_h))
    canvas.paste(scaled, at)
    edge = scaled.crop(edge_box).resize((strip_box[2] - strip_box[0],
                                         strip_box[3] - strip_box[1]))
    canvas.paste(edge, strip_box[:2])
    overlap = min(OUTPAINT_OVERLAP, (inner[0] if across else inner[1]) // 4)
    grown = {FollowUp.OUTPAINT_LEFT: (0, 0, overlap, 0), FollowUp.OUTPAINT_RIGHT: (-overlap, 0, 0, 0),
             FollowUp.OUTPAINT_UP: (0, 0, 0, overlap), FollowUp.OUTPAINT_DOWN: (0, -overlap, 0, 0)
             }[side]
    mask = Image.new("L", (canvas_w, canvas_h), 0)
    ImageDraw.Draw(mask).rectangle(
        [strip_box[0] + grown[0], strip_box[1] + grown[1],
         strip_box[2] + grown[2] - 1, strip_box[3] + grown[3] - 1], fill=255)
    return canvas, mask


def followup_pictures(kind: FollowUp, picture: Image.Image
                      ) -> tuple[Image.Image, Image.Image | None]:
    """What the follow-up sends: (the picture to start from, its mask or None)."""
    if kind.outpaint:
        return outpaint_canvas(picture, kind)
    return picture, None


def followup_request(kind: FollowUp, request: dict[str, Any], picture_size: tuple[int, int],
                     init_url: str, mask_url: str | None = None) -> Any:
    """The one request of a follow-up of a picture (`picture_size`: what `followup_pictures`
    gave) made by a task whose stored request is `request`. Raises InvalidRequestError (each
    issue names its field) as any form does."""
    if kind is FollowUp.UPSCALE:
        check_enhance_input(*picture_size)
        return enhance_request(EnhanceForm(scale=UPSCALE_BY), init_url)
    fields = fields_from_request(request if isinstance(request, dict) else {})
    if not str(fields.get("prompt") or "").strip():  # a tool's result
        raise InvalidRequestError([issue("prompt", Msg("followup.no_prompt"), "missing")],
                                  "image2image")
    width, height = fitted_size(*picture_size, API_LARGEST)
    values: dict[str, Any] = {**fields, "width": width, "height": height, "seed": -1,
                              "n_iter": 1, "batch_size": 1, "resize_mode": 0,
                              "init_url": init_url, "mode": "img2img"}
    adetailer = None
    if kind in VARY_DENOISING:
        values["denoising_strength"] = VARY_DENOISING[kind]
    elif kind is FollowUp.DETAIL_FACES:
        values["denoising_strength"] = 0.0
        adetailer = ADetailerForm(enabled=True, units=[ADetailerUnitForm()])
    else:  # outpaint: inpaint the masked strip, filled first
        values.update(mode="inpaint", mask_url=mask_url, denoising_strength=OUTPAINT_DENOISING,
                      mask_blur=OUTPAINT_MASK_BLUR, mask_mode=0, masked_content=0,
                      inpaint_area=0)
    return build_request("img2img", Img2ImgForm.from_values(values), [], adetailer)[1]


def make_followup(kind: FollowUp, request: dict[str, Any], picture: Image.Image,
                  host: Callable[[Image.Image, str], str]) -> Any:
    """The follow-up's request, checked whole before anything is hosted; `host(image, what)`
    gives the service a URL for a picture (the service's own for one of the visitor's
    results)."""
    start, mask = followup_pictures(kind, picture)
    placeholder_mask = PLACEHOLDER_URL if mask is not None else None
    followup_request(kind, request, start.size, PLACEHOLDER_URL, placeholder_mask)
    init_url = host(start, "Image")
    mask_url = host(mask, "Mask") if mask is not None else None
    return followup_request(kind, request, start.size, init_url, mask_url)
