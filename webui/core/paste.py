"""Parameters -> form fields: what Send to, PNG Info and the ↙ button fill in. From a stored
task's request when there is one (the record holds the exact request and seeds), else from an
A1111 / zhiqite-webui infotext. Field names are the form dataclasses' (`core/builder.py`);
anything not named is left alone, as A1111 does."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from PIL import Image

from webui.api.models import SAMPLERS
from webui.core import infotext
from webui.core.builder import HIRES_UPSCALERS
from webui.core.sources import pixel_fingerprint
from webui.core.store import StoredImage, TaskRecord, TaskStore

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


def _number(text: str | None, kind: type[int] | type[float]) -> int | float | None:
    """A finite number from infotext (None for "abc", "inf", "nan", "1e400")."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    return int(value) if kind is int else value


def fields_from_infotext(text: str, checkpoints: Iterable[str] = ()) -> dict[str, Any]:
    """Form values named by an A1111 / zhiqite-webui infotext. `checkpoints`: the service's
    checkpoint codes, to map `Model: <name>` back to one (A1111 writes the name without its
    extension)."""
    parsed = infotext.parse(text)
    fields: dict[str, Any] = {"prompt": parsed.get("Prompt", ""),
                              "negative_prompt": parsed.get("Negative prompt", "")}
    for key, (name, kind) in _SIMPLE.items():
        if key in parsed:
            value = _number(parsed[key], int) if kind is int else \
                _number(parsed[key], float) if kind is float else kind(parsed[key])
            if value is not None:
                fields[name] = value
    sampler = parsed.get("Sampler")
    if sampler in SAMPLERS:
        fields["sampler"] = sampler
    if parsed.get("Hires upscaler") in HIRES_UPSCALERS:
        fields["hr_upscaler"] = parsed["Hires upscaler"]
    denoising = _number(parsed.get("Denoising strength"), float)
    if any(key.startswith("Hires") for key in parsed):
        fields["enable_hr"] = True
        if denoising is not None:
            fields["hr_denoising"] = denoising
    elif denoising is not None:
        fields["denoising_strength"] = denoising
    if "Face restoration" in parsed:
        fields["restore_faces"] = True
    model = parsed.get("Model")
    if model:
        match = next((code for code in checkpoints
                      if code == model or infotext.stem(code) == model), None)
        if match:
            fields["checkpoint"] = match
    return fields


def looks_like_infotext(text: str | None) -> bool:
    """Whether a prompt box holds pasted generation parameters (A1111's last line: at least
    three "key: value" pairs, Steps among them)."""
    return bool(text and text.strip()) and "Steps" in infotext.parse(text or "")


# wire field -> form field: the request a task was sent with, back into a form
_FROM_REQUEST: dict[str, tuple[str, type]] = {
    "prompt": ("prompt", str),
    "negative_prompt": ("negative_prompt", str),
    "steps": ("steps", int),
    "width": ("width", int),
    "height": ("height", int),
    "n_iter": ("n_iter", int),
    "batch_size": ("batch_size", int),
    "cfg_scale": ("cfg_scale", float),
    "seed": ("seed", int),
    "restore_faces": ("restore_faces", bool),
    "hr_second_pass_steps": ("hr_steps", int),
    "hr_scale": ("hr_scale", float),
    "hr_resize_x": ("hr_resize_x", int),
    "hr_resize_y": ("hr_resize_y", int),
    "resize_mode": ("resize_mode", int),
    "image_cfg_scale": ("image_cfg_scale", float),
    "mask_blur": ("mask_blur", int),
    "inpainting_mask_invert": ("mask_mode", int),
    "inpainting_fill": ("masked_content", int),
    "inpaint_full_res": ("inpaint_area", int),
    "inpaint_full_res_padding": ("padding", int),
}


def fields_from_request(request: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
    """Form values of a stored task's request (the wire JSON a record keeps): what Send to
    and ↙ fill in, exactly as the task was sent. `seed`: the image's own seed (a batch's
    second image has seed + 1), in place of the request's (-1 for a random one)."""
    fields: dict[str, Any] = {}
    for key, (name, kind) in _FROM_REQUEST.items():
        value = request.get(key)
        if value is None:
            continue
        try:
            fields[name] = kind(value)
        except (TypeError, ValueError):
            continue
    if isinstance(request.get("sampler_index"), str) and request["sampler_index"] in SAMPLERS:
        fields["sampler"] = request["sampler_index"]
    # the scripts' block: spelt `alwayson_scripts` by SD, `always_on_scripts` by ControlNet
    scripts = request.get("alwayson_scripts") or request.get("always_on_scripts") or {}
    scripts = scripts if isinstance(scripts, dict) else {}
    denoising = request.get("denoising_strength")
    if request.get("enable_hr"):
        fields["enable_hr"] = True
        if request.get("hr_upscaler") in HIRES_UPSCALERS:
            fields["hr_upscaler"] = request["hr_upscaler"]
        if isinstance(denoising, int | float):
            fields["hr_denoising"] = float(denoising)
    elif isinstance(denoising, int | float) and scripts.get("image_link"):
        # img2img's own; a txt2img request without Hires. fix may carry the model's default
        fields["denoising_strength"] = float(denoising)
    if scripts:
        if isinstance(scripts.get("sd_model_checkpoint"), str) and scripts["sd_model_checkpoint"]:
            fields["checkpoint"] = scripts["sd_model_checkpoint"]
        if isinstance(scripts.get("sd_vae"), str) and scripts["sd_vae"]:
            fields["vae"] = scripts["sd_vae"]
        overrides = scripts.get("override_settings")
        clip = overrides.get("CLIP_stop_at_last_layers") if isinstance(overrides, dict) else None
        if isinstance(clip, int | float):
            fields["clip_skip"] = int(clip)
    if seed is not None:
        fields["seed"] = int(seed)
    return fields


def record_of_image(store: TaskStore, owner: str, path: str | None
                    ) -> tuple[TaskRecord, StoredImage] | None:
    """The owner's task that made this result image, and the image's entry (its seed): found
    by the pixels' fingerprint, the store's index (a copy elsewhere finds it too)."""
    if not path:
        return None
    try:
        with Image.open(path) as image:
            fingerprint = pixel_fingerprint(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return store.find_image(owner, fingerprint)


# the tab -> the kinds of task it makes (ControlNet from img2img carries the init image)
_TAB_KINDS = {"txt2img": ("text2image", "controlnet"), "img2img": ("image2image", "controlnet")}


def last_task(store: TaskStore, owner: str, tab: str, *, scan: int = 20) -> TaskRecord | None:
    """The owner's newest task made by that tab (txt2img or img2img), or None."""
    kinds = _TAB_KINDS.get(tab, ())
    for record in store.list(owner, limit=scan):
        if record.kind not in kinds:
            continue
        if record.kind == "controlnet":
            scripts = record.request.get("always_on_scripts") or record.request.get(
                "alwayson_scripts") or {}
            from_image = bool(isinstance(scripts, dict) and scripts.get("image_link"))
            if from_image != (tab == "img2img"):
                continue
        return record
    return None


def first_seed(record: TaskRecord) -> int | None:
    """The seed of the task's first shown image (the request's may be -1, random)."""
    return next((image.seed for image in record.images if image.shown and image.seed is not None),
                None)
