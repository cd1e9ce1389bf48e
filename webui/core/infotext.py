"""AUTOMATIC1111 "infotext": the generation parameters kept in a PNG's `parameters` text chunk.

Written in A1111's exact layout so that A1111's PNG Info and other readers parse our images:

    <prompt>
    Negative prompt: <negative prompt>
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, Model: photon_v1, ...

`parse` is A1111's `parse_generation_parameters` (same regex, same quoting rules), so it reads
ours and any A1111 image alike.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel

from webui.api import models as m
from webui.api.models.sd import INPAINTING_FILLS, SDRequestBase

VERSION = "zhiqite-webui"

# A1111 modules/infotext_utils.py: one "key: value" pair, value quoted when it holds , : or \n.
# The key is bounded (A1111's are a few words): unbounded, a long line without ":" took time
# growing with the square of its length (100,000 characters held the server for a minute).
_PARAM = re.compile(r'\s*(\w[\w \-/]{0,79}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
MAX_TEXT = 64 * 1024  # characters of an infotext read (a prompt is at most 8,000)
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def quote(text: str) -> str:
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def number(value: float | int) -> str:
    """7.0 -> "7", 0.75 -> "0.75": as A1111's sliders print them."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stem(file_name: str | None) -> str | None:
    """Checkpoint and VAE names as A1111 prints them: without folder and extension."""
    if not file_name:
        return None
    name = PurePosixPath(file_name).name
    for ext in (".safetensors", ".ckpt", ".pt", ".bin", ".pth"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def compose(prompt: str, negative_prompt: str | None, params: dict[str, Any]) -> str:
    """A1111's create_infotext layout. None values are left out; a key equal to its value is
    written alone (A1111's convention for flags)."""
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        text = number(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else str(value)
        pairs.append(key if key == text else f"{key}: {quote(text)}")
    negative = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt}{negative}\n{', '.join(pairs)}".strip()


def parse(text: str) -> dict[str, str]:
    """A1111's parse_generation_parameters: "Prompt", "Negative prompt", then each key; a
    "WxH" value is also split into "<key>-1" and "<key>-2" (Size-1 = width)."""
    result: dict[str, str] = {}
    prompt, negative, in_negative = "", "", False
    *lines, last = text[:MAX_TEXT].strip().split("\n")
    if len(_PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[16:].strip()
        if in_negative:
            negative += ("" if negative == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    result["Prompt"], result["Negative prompt"] = prompt, negative
    for key, value in _PARAM.findall(last):
        value = unquote(value) if value[:1] == '"' and value[-1:] == '"' else value
        size = _SIZE.match(value)
        if size:
            result[f"{key}-1"], result[f"{key}-2"] = size.group(1), size.group(2)
        result[key] = value
    return result


# --- parameters of each endpoint --------------------------------------------------------------


def for_request(kind: str, request: BaseModel, seed: int | None, index: int = 0, *,
                model_hash: str | None = None) -> str:
    """The infotext of image `index` of a task (its seed as the service reported it).
    `model_hash`: the checkpoint's short hash, written as A1111 writes it so that Civitai and
    image readers link the checkpoint."""
    if isinstance(request, SDRequestBase):
        return compose(request.prompt, request.negative_prompt,
                       sd_params(request, seed, index, model_hash))
    if isinstance(request, m.EnhanceRequest):
        return compose("", None, enhance_params(request))
    if isinstance(request, m.RoopRequest):
        return compose("", None, {"Postprocess face swap": "roop", "Version": VERSION})
    raise TypeError(f"no infotext for {kind}")


def sd_params(request: SDRequestBase, seed: int | None, index: int,
              model_hash: str | None = None) -> dict[str, Any]:
    scripts: Any = request.alwayson_scripts  # type: ignore[attr-defined]
    override = scripts.override_settings
    clip_skip = override.CLIP_stop_at_last_layers if override else None
    img2img = isinstance(request, m.Image2ImageRequest)
    params: dict[str, Any] = {
        "Steps": request.steps,
        "Sampler": request.sampler_index,
        "CFG scale": request.cfg_scale,  # type: ignore[attr-defined]
        "Image CFG scale": getattr(request, "image_cfg_scale", None),
        "Seed": seed if seed is not None else request.seed,
        "Face restoration": "Service default" if request.restore_faces else None,
        "Size": f"{request.width}x{request.height}",
        "Model hash": model_hash,  # A1111's place for it: before the model's name
        "Model": stem(scripts.sd_model_checkpoint),
        "VAE": stem(scripts.sd_vae),
        "Batch size": request.batch_size if request.batch_size > 1 else None,
        "Batch pos": index % request.batch_size if request.batch_size > 1 else None,
        "Denoising strength": request.denoising_strength
        if img2img or request.enable_hr or getattr(scripts, "image_link", None) else None,
        "Clip skip": clip_skip if clip_skip and clip_skip > 1 else None,
    }
    if img2img:
        params.update(inpaint_params(request))  # type: ignore[arg-type]
    if request.enable_hr:
        resize = request.hr_resize_x or request.hr_resize_y
        params.update({
            "Hires upscale": None if resize else (request.hr_scale or 2),
            "Hires resize": f"{request.hr_resize_x or 0}x{request.hr_resize_y or 0}"
            if resize else None,
            "Hires steps": request.hr_second_pass_steps or None,
            "Hires upscaler": request.hr_upscaler,  # type: ignore[attr-defined]
        })
    params.update(adetailer_params(getattr(scripts, "ADetailer", None)))
    controlnet = getattr(scripts, "controlnet", None)
    if controlnet is not None:
        params.update(controlnet_params(controlnet))
    params["Version"] = VERSION
    return params


def inpaint_params(request: m.Image2ImageRequest) -> dict[str, Any]:
    if not request.alwayson_scripts.mask_link:
        return {}
    fill = request.inpainting_fill
    return {
        "Mask blur": request.mask_blur,
        "Mask mode": "Inpaint not masked" if request.inpainting_mask_invert else None,
        "Masked content": INPAINTING_FILLS[fill] if fill is not None else None,
        "Inpaint area": "Only masked" if request.inpaint_full_res else None,
        "Masked area padding": request.inpaint_full_res_padding
        if request.inpaint_full_res else None,
    }


def adetailer_params(adetailer: Any) -> dict[str, Any]:
    """As the ADetailer extension writes them: `ADetailer model`, then `ADetailer model 2nd`..."""
    params: dict[str, Any] = {}
    for position, args in enumerate(adetailer.args if adetailer else []):
        suffix = "" if position == 0 else f" {_ordinal(position + 1)}"
        for field, label in _ADETAILER_LABELS.items():
            value = getattr(args, field, None)
            if value is not None and value != "":
                params[f"ADetailer {label}{suffix}"] = value
    return params


_ADETAILER_LABELS = {
    "ad_model": "model", "ad_prompt": "prompt", "ad_negative_prompt": "negative prompt",
    "ad_confidence": "confidence", "ad_mask_min_ratio": "mask min ratio",
    "ad_mask_max_ratio": "mask max ratio", "ad_x_offset": "x offset", "ad_y_offset": "y offset",
    "ad_dilate_erode": "dilate erode", "ad_mask_merge_invert": "mask merge invert",
    "ad_mask_blur": "mask blur", "ad_denoising_strength": "denoising strength",
    "ad_inpaint_only_masked": "inpaint only masked",
    "ad_inpaint_only_masked_padding": "inpaint padding",
    "ad_inpaint_width": "inpaint width", "ad_inpaint_height": "inpaint height",
    "ad_steps": "steps", "ad_cfg_scale": "CFG scale", "ad_sampler": "sampler",
    "ad_noise_multiplier": "noise multiplier", "ad_restore_face": "restore face",
    "ad_controlnet_model": "ControlNet model", "ad_controlnet_module": "ControlNet module",
    "ad_controlnet_weight": "ControlNet weight",
    "ad_controlnet_guidance_start": "ControlNet guidance start",
    "ad_controlnet_guidance_end": "ControlNet guidance end",
}


def _ordinal(n: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def controlnet_params(controlnet: Any) -> dict[str, Any]:
    """`ControlNet 0: "Module: canny, Model: ..., Weight: 1, ..."` as the extension writes."""
    params: dict[str, Any] = {}
    for index, unit in enumerate(u for u in controlnet.args if u.enabled):
        fields = {
            "Module": unit.module, "Model": unit.model, "Weight": number(unit.weight),
            "Resize Mode": unit.resize_mode, "Processor Res": unit.processor_res,
            "Threshold A": unit.threshold_a, "Threshold B": unit.threshold_b,
            "Guidance Start": number(unit.guidance_start),
            "Guidance End": number(unit.guidance_end),
            "Pixel Perfect": unit.pixel_perfect, "Control Mode": unit.control_mode,
        }
        params[f"ControlNet {index}"] = ", ".join(
            f"{k}: {v}" for k, v in fields.items() if v is not None)
    return params


def enhance_params(request: m.EnhanceRequest) -> dict[str, Any]:
    scale_to = request.resizeMode == 1
    return {
        "Postprocess upscale by": None if scale_to else request.upscalingResize,
        "Postprocess upscale to": f"{request.upscalingResizeW}x{request.upscalingResizeH}"
        if scale_to else None,
        "Postprocess crop to fit": request.upscalingCrop if scale_to else None,
        "Postprocess upscaler": request.upscaler1,
        "Postprocess upscaler 2": request.upscaler2,
        "Postprocess upscaler 2 visibility": request.extrasUpscaler2Visibility,
        "GFPGAN visibility": request.gfpganVisibility or None,
        "CodeFormer visibility": request.codeformerVisibility or None,
        "CodeFormer weight": request.codeformerWeight if request.codeformerVisibility else None,
        "Postprocess upscale first": request.upscaleFirst or None,
        "Version": VERSION,
    }
