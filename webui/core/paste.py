"""Infotext -> form fields: what PNG Info's and the galleries' "Send to" fill in. Field names
are the form dataclasses' (`core/builder.py`); anything the infotext does not name is left
alone, as A1111 does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from webui.api.models import SAMPLERS
from webui.core import infotext
from webui.core.builder import HIRES_UPSCALERS

# infotext key -> (form field, type)
_SIMPLE: dict[str, tuple[str, type]] = {
    "Steps": ("steps", int),
    "CFG scale": ("cfg_scale", float),
    "Seed": ("seed", int),
    "Size-1": ("width", int),
    "Size-2": ("height", int),
    "Clip skip": ("clip_skip", int),
    "Batch size": ("batch_size", int),
    "Hires steps": ("hr_steps", int),
    "Hires upscale": ("hr_scale", float),
    "Hires resize-1": ("hr_resize_x", int),
    "Hires resize-2": ("hr_resize_y", int),
    "Image CFG scale": ("image_cfg_scale", float),
    "Mask blur": ("mask_blur", int),
    "Masked area padding": ("padding", int),
}


def fields_from_infotext(text: str, checkpoints: Iterable[str] = ()) -> dict[str, Any]:
    """Form values named by an A1111 / zhiqite-webui infotext. `checkpoints`: the service's
    checkpoint codes, to map `Model: <name>` back to one (A1111 writes the name without its
    extension)."""
    parsed = infotext.parse(text)
    fields: dict[str, Any] = {"prompt": parsed.get("Prompt", ""),
                              "negative_prompt": parsed.get("Negative prompt", "")}
    for key, (name, kind) in _SIMPLE.items():
        if key in parsed:
            try:
                value = kind(float(parsed[key])) if kind is int else kind(parsed[key])
            except ValueError:
                continue
            fields[name] = value
    sampler = parsed.get("Sampler")
    if sampler in SAMPLERS:
        fields["sampler"] = sampler
    if parsed.get("Hires upscaler") in HIRES_UPSCALERS:
        fields["hr_upscaler"] = parsed["Hires upscaler"]
    if any(key.startswith("Hires") for key in parsed):
        fields["enable_hr"] = True
        if "Denoising strength" in parsed:
            fields["hr_denoising"] = float(parsed["Denoising strength"])
    elif "Denoising strength" in parsed:
        fields["denoising_strength"] = float(parsed["Denoising strength"])
    if "Face restoration" in parsed:
        fields["restore_faces"] = True
    model = parsed.get("Model")
    if model:
        match = next((code for code in checkpoints
                      if code == model or infotext.stem(code) == model), None)
        if match:
            fields["checkpoint"] = match
    return fields
