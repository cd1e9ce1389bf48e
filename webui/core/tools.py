"""Form state -> tool requests (`enhance`, `roop`), as `builder.py` does for the SD endpoints.

The request models validate; `check_enhance_input` adds the one rule a URL cannot carry (the
picture's size). A further vendor tool adds its request model in `api/models/tools.py`, a
`*_request` function here and a small tab module: the engine, store, outputs, History and the
results panel already handle every tool by its `toolCode`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webui.api import models as m
from webui.api.errors import InvalidRequestError
from webui.api.validation import parse_request
from webui.core.builder import TASK_ID_PREFIXES, issue, new_task_id
from webui.core.headers import Header
from webui.core.hosting import (
    PreparedImage,
    UploadRefused,
    check_header,
    labelled,
    prepare_upload,
)
from webui.core.sources import Sources
from webui.messages import Msg

RESIZE_MODES = ("Scale by", "Scale to")


@dataclass
class EnhanceForm:
    """A1111's Extras tab, field for field."""

    resize_mode: str = "Scale by"
    scale: int = 2
    width: int = 1024
    height: int = 1024
    crop: bool = True
    upscaler1: str = "R-ESRGAN 4x+"
    upscaler2: str = "None"
    upscaler2_visibility: float = 0.0
    gfpgan_visibility: float = 0.0
    codeformer_visibility: float = 0.0
    codeformer_weight: float = 0.0
    upscale_first: bool = False


def enhance_request(form: EnhanceForm, image_url: str) -> m.EnhanceRequest:
    scale_to = form.resize_mode == "Scale to"
    body: dict[str, object] = {
        "businessTaskId": new_task_id(TASK_ID_PREFIXES["enhance"]),
        "image": image_url,
        "resizeMode": 1 if scale_to else 0,
        "upscaler1": form.upscaler1,
        "upscaleFirst": bool(form.upscale_first),
    }
    if scale_to:
        body.update(upscalingResizeW=form.width, upscalingResizeH=form.height,
                    upscalingCrop=bool(form.crop))
    else:
        body["upscalingResize"] = form.scale
    if form.upscaler2 and form.upscaler2 != "None" and form.upscaler2_visibility:
        body.update(upscaler2=form.upscaler2, extrasUpscaler2Visibility=form.upscaler2_visibility)
    if form.gfpgan_visibility:
        body["gfpganVisibility"] = form.gfpgan_visibility
    if form.codeformer_visibility:
        body.update(codeformerVisibility=form.codeformer_visibility,
                    codeformerWeight=form.codeformer_weight)
    return parse_request(m.EnhanceRequest, body, "enhance")


def roop_request(source_url: str, target_url: str) -> m.RoopRequest:
    return parse_request(m.RoopRequest, {"businessTaskId": new_task_id(TASK_ID_PREFIXES["roop"]),
                                         "sourceUrl": source_url, "targetUrl": target_url},
                         "roop")


MAX_BATCH = 32  # pictures in one batch (one task each)


def check_batch(files: list[Any], field: str, label: str) -> None:
    """A batch is at most MAX_BATCH pictures (a scripted call may name thousands)."""
    if len(files) > MAX_BATCH:
        raise InvalidRequestError([issue(field, labelled(label, Msg(
            "tools.batch_too_large", limit=MAX_BATCH, got=len(files))))])


def check_upload(path: str | Path, field: str, label: str) -> Header:
    """An uploaded file's format, size and pixels from its header alone (nothing decoded);
    a refusal names the field."""
    try:
        with Path(path).open("rb") as stream:
            return check_header(stream, Path(path).stat().st_size, label)
    except OSError:
        raise _unread(field, label) from None
    except UploadRefused as refused:
        raise _refused(field, refused) from None


def read_upload(path: str | Path, field: str, label: str) -> PreparedImage:
    """Check an uploaded file (format, size, damage); a refusal names the field."""
    try:
        return prepare_upload(Path(path).read_bytes(), label)
    except OSError:
        raise _unread(field, label) from None
    except UploadRefused as refused:
        raise _refused(field, refused) from None


def host_upload(sources: Sources, owner: str, image: PreparedImage, field: str,
                label: str = "Image") -> str:
    """The URL the service reads the picture at: its own result URL when the picture is one
    of the owner's results, else a hosted copy; a refusal names the field and the ways out."""
    try:
        return sources.url_for(owner, image.image, png=image.png, what=label).url
    except UploadRefused as refused:
        raise _refused(field, refused) from None


def _unread(field: str, label: str) -> InvalidRequestError:
    return InvalidRequestError([issue(field, labelled(label, Msg("upload.read_failed")))])


def _refused(field: str, refused: UploadRefused) -> InvalidRequestError:
    """An upload refused (its message names the field's label)."""
    return InvalidRequestError([issue(field, refused.msg)])
