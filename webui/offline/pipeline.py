"""From a validated request and its fetched input images to result pictures."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageFilter

from webui.api import models as m
from webui.offline import render as r
from webui.offline.catalogue import Catalogue

SDRequest = m.Text2ImageRequest | m.Image2ImageRequest | m.ControlNetRequest


class TaskFailure(Exception):
    """The task fails (status 0) with this reason; the submit itself was fine."""


@dataclass
class Inputs:
    init: Image.Image | None = None
    mask: Image.Image | None = None
    controls: dict[int, Image.Image] = field(default_factory=dict)  # unit index -> image


def image_urls(request: SDRequest) -> dict[str, str]:
    """Every URL a task must fetch: 'init', 'mask', 'control:<unit>'."""
    scripts = request.alwayson_scripts
    urls: dict[str, str] = {}
    if getattr(scripts, "image_link", None):
        urls["init"] = scripts.image_link  # type: ignore[union-attr]
    if getattr(scripts, "mask_link", None):
        urls["mask"] = scripts.mask_link  # type: ignore[union-attr]
    if isinstance(request, m.ControlNetRequest):
        for index, unit in enumerate(request.alwayson_scripts.controlnet.args):
            if unit.enabled and unit.image_link:
                urls[f"control:{index}"] = unit.image_link
    return urls


def scene_params(request: SDRequest, catalogue: Catalogue) -> tuple[r.SceneParams, list[str]]:
    """Scene inputs, and notes for the task's desc (unknown LoRAs are ignored, as in A1111)."""
    notes = []
    known = []
    for name, weight in r.lora_tags(request.prompt):
        if catalogue.find("lora", name):
            known.append((name, weight))
        else:
            notes.append(f"LoRA '{name}' is not available and was ignored")
    scripts = request.alwayson_scripts
    return r.SceneParams(
        prompt=request.prompt, negative_prompt=request.negative_prompt or "",
        sampler=request.sampler_index, steps=request.steps, cfg_scale=float(request.cfg_scale),
        model=scripts.sd_model_checkpoint, vae=scripts.sd_vae, loras=tuple(known),
    ), notes


def output_size(request: SDRequest) -> tuple[int, int]:
    w, h = request.width, request.height
    if not request.enable_hr or isinstance(request, m.Image2ImageRequest):
        return w, h
    x, y = request.hr_resize_x or 0, request.hr_resize_y or 0
    if x or y:
        x = x or round(y * w / h / 8) * 8
        y = y or round(x * h / w / 8) * 8
        return min(x, 2048), min(y, 2048)
    scale = request.hr_scale or 2
    return min(w * scale, 2048), min(h * scale, 2048)


def compose(request: SDRequest, inputs: Inputs, params: r.SceneParams, seed: int,
            width: int, height: int, *, detail: bool = True) -> r.Array:
    """One picture at (width, height); detail=False skips ADetailer (for previews)."""
    scene = r.scene_for(params, seed)
    img = r.paint(scene, width, height)

    if inputs.init is not None:
        resize_mode = getattr(request, "resize_mode", 0)
        init = r.from_pil(r.fit(inputs.init.convert("RGB"), width, height, resize_mode))
        img = _img2img(request, inputs, init, img, scene, params, seed, width, height)

    if isinstance(request, m.ControlNetRequest):
        ink = scene.palette[0] * 0.35
        for index, unit in enumerate(request.alwayson_scripts.controlnet.args):
            control = inputs.controls.get(index) or inputs.init
            if not unit.enabled or control is None:
                continue
            fitted = r.fit(control.convert("RGB"), width, height, unit.resize_mode)
            cmap = r.control_map(unit.module, fitted, width, height, unit.threshold_a,
                                 unit.threshold_b, unit.processor_res)
            strength = (unit.weight * r.MODE_STRENGTH.get(unit.control_mode, 1.0)
                        * max(0.0, unit.guidance_end - unit.guidance_start))
            img = r.apply_control(img, cmap, strength, ink)

    ad = getattr(request.alwayson_scripts, "ADetailer", None)
    if detail and ad:
        for args in ad.args:
            if args.ad_model == "None":
                continue
            if args.ad_confidence is not None and args.ad_confidence > 0.95:
                continue  # as ADetailer: a threshold this high detects nothing
            regions = r.adetailer_regions(img, scene, args.ad_model)
            denoise = args.ad_denoising_strength if args.ad_denoising_strength is not None else 0.4
            img = r.apply_adetailer(img, regions, denoise, f"ADetailer {args.ad_model}")
    return img


def _img2img(request: SDRequest, inputs: Inputs, init: r.Array, generated: r.Array,
             scene: r.Scene, params: r.SceneParams, seed: int, width: int, height: int
             ) -> r.Array:
    denoise = request.denoising_strength
    if not isinstance(request, m.Image2ImageRequest) or inputs.mask is None:
        return r.blend_img2img(init, generated, denoise)
    blur = request.mask_blur
    blur_x = blur if blur is not None else (request.mask_blur_x or 0)
    blur_y = blur if blur is not None else (request.mask_blur_y or 0)
    mask = r.soft_mask(inputs.mask, width, height, request.resize_mode,
                       bool(request.inpainting_mask_invert), blur_x, blur_y)
    if request.inpaint_full_res:
        # Only masked: the masked area is painted at full resolution, then put back.
        box = r.mask_bbox(mask, request.inpaint_full_res_padding or 0)
        if box:
            x0, y0, x1, y1 = box
            zoomed = r.to_pil(r.paint(scene, width, height)).resize((x1 - x0, y1 - y0),
                                                                    Image.Resampling.LANCZOS)
            generated = generated.copy()
            generated[y0:y1, x0:x1] = r.from_pil(zoomed)
    return r.blend_img2img(init, generated, denoise, mask, request.inpainting_fill or 0, seed,
                           request.initial_noise_multiplier or 1.0)


def render_sd(request: SDRequest, inputs: Inputs, params: r.SceneParams, seed: int,
              index: int) -> Image.Image:
    """Image `index` of the task (A1111 gives image i the seed base + i)."""
    img = compose(request, inputs, params, seed + index, request.width, request.height)
    out_w, out_h = output_size(request)
    if (out_w, out_h) != (request.width, request.height):
        img = r.hires(img, out_w, out_h)
    return r.to_pil(img)


def preview(request: SDRequest, inputs: Inputs, params: r.SceneParams, seed: int, index: int,
            progress: float) -> str:
    factor = min(1.0, 256 / max(request.width, request.height))
    w, h = max(8, int(request.width * factor)), max(8, int(request.height * factor))
    img = compose(request, inputs, params, seed + index, w, h, detail=False)
    return r.preview_base64(img, progress, seed + index)


# --- tools --------------------------------------------------------------------------------------

_RESAMPLE = {"Nearest": Image.Resampling.NEAREST, "None": None}


def enhance(request: m.EnhanceRequest, image: Image.Image, max_output_pixels: int
            ) -> Image.Image:
    if max(image.size) > m.ENHANCE_MAX_INPUT:
        raise TaskFailure(
            f"the image is {image.width}x{image.height}; the upscaler takes at most "
            f"{m.ENHANCE_MAX_INPUT}x{m.ENHANCE_MAX_INPUT}")
    img = image.convert("RGB")
    if request.resizeMode == 1:
        target = (request.upscalingResizeW or img.width, request.upscalingResizeH or img.height)
    else:
        factor = request.upscalingResize or 1
        target = (img.width * factor, img.height * factor)
    if target[0] * target[1] > max_output_pixels:
        raise TaskFailure(f"the result would be {target[0]}x{target[1]}, more pixels than "
                          "this offline backend renders")

    def restore(pic: Image.Image) -> Image.Image:
        amount = max(request.gfpganVisibility or 0, request.codeformerVisibility or 0)
        if not amount:
            return pic
        sharp = pic.filter(ImageFilter.UnsharpMask(
            radius=2, percent=int(120 + 80 * (request.codeformerWeight or 0)), threshold=1))
        return Image.blend(pic, sharp, amount)

    def upscale(pic: Image.Image) -> Image.Image:
        method = _RESAMPLE.get(request.upscaler1 or "", Image.Resampling.LANCZOS)
        if request.resizeMode == 1 and request.upscalingCrop:
            return r.fit(pic, target[0], target[1], 1)
        first = pic.resize(target, method or Image.Resampling.LANCZOS)
        second_name = request.upscaler2 or "None"
        visibility = request.extrasUpscaler2Visibility or 0
        if second_name != "None" and visibility:
            second = pic.resize(target, _RESAMPLE.get(second_name) or Image.Resampling.BICUBIC)
            first = Image.blend(first, second, visibility)
        return first

    if request.upscaleFirst:
        return restore(upscale(img))
    return upscale(restore(img))


def face_swap(source: Image.Image, target: Image.Image) -> Image.Image:
    """Place the source's largest face on the target's largest face (OpenCV Haar cascade to
    find them, Poisson blending to seat the face)."""
    src = r.from_pil(source)
    tgt = r.from_pil(target)
    src_faces, tgt_faces = r.detect_faces(src), r.detect_faces(tgt)
    if not src_faces:
        raise TaskFailure("no face found in the source image")
    if not tgt_faces:
        raise TaskFailure("no face found in the target image")
    sx0, sy0, sx1, sy1 = src_faces[0]
    tx0, ty0, tx1, ty1 = tgt_faces[0]
    face = source.convert("RGB").crop((sx0, sy0, sx1, sy1)).resize(
        (tx1 - tx0, ty1 - ty0), Image.Resampling.LANCZOS)
    face_bgr = cv2.cvtColor(np.asarray(face), cv2.COLOR_RGB2BGR)
    target_bgr = cv2.cvtColor(np.asarray(target.convert("RGB")), cv2.COLOR_RGB2BGR)
    mask = np.zeros(face_bgr.shape[:2], np.uint8)
    h, w = mask.shape
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.42), int(h * 0.48)), 0, 0, 360, 255, -1)
    centre = ((tx0 + tx1) // 2, (ty0 + ty1) // 2)
    try:
        out = cv2.seamlessClone(face_bgr, target_bgr, mask, centre, cv2.NORMAL_CLONE)
    except cv2.error:  # face touching the border: plain feathered paste
        out = target_bgr.copy()
        alpha = cv2.GaussianBlur(mask, (0, 0), 4)[..., None] / 255.0
        region = out[ty0:ty1, tx0:tx1]
        out[ty0:ty1, tx0:tx1] = (face_bgr * alpha + region * (1 - alpha)).astype(np.uint8)
    return Image.fromarray(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))
