"""Form state -> request model. A tab's handler turns its components' values into one of these
dataclasses (by name), and the builder makes the one request it stands for; the request models
validate, so a bad value is refused here, naming the field, before anything is sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from typing import Any

from webui.api import models as m
from webui.api.errors import FieldIssue, InvalidRequestError
from webui.api.validation import parse_request
from webui.core.extensions import (
    AD_ARG,
    CN_ARG,
    ADetailerForm,
    ControlNetUnitForm,
    conflicts,
    number,
)
from webui.messages import Msg

# A1111's hires upscalers; the API takes the name as a string.
HIRES_UPSCALERS: tuple[str, ...] = (
    "Latent", "Latent (antialiased)", "Latent (bicubic)", "Latent (bicubic antialiased)",
    "Latent (nearest)", "Latent (nearest-exact)", "None", "Lanczos", "Nearest", "ESRGAN_4x",
    "LDSR", "R-ESRGAN 4x+", "R-ESRGAN 4x+ Anime6B", "ScuNET GAN", "ScuNET PSNR", "SwinIR 4x",
)


def issue(field: str, msg: Msg, kind: str = "invalid") -> FieldIssue:
    """A refusal of `field`: its sentence in English and by key."""
    return FieldIssue(field, str(msg), kind, msg=msg)


NO_CHECKPOINT = issue("alwayson_scripts.sd_model_checkpoint",
                      Msg("builder.no_checkpoint", field="sd_model_checkpoint"), "missing")


PLACEHOLDER_URL = "http://127.0.0.1/placeholder.png"  # checks a form before any upload
TASK_ID_PREFIXES = {"enhance": "x", "roop": "f"}  # by kind; SD tasks: "w"


def new_task_id(prefix: str = "w") -> str:
    """Unguessable (it keys the callback URL) and URL-safe (ruling 9)."""
    return f"{prefix}{uuid.uuid4().hex}"


@dataclass
class CommonForm:
    """The top bar, shared by every SD tab."""

    checkpoint: str = ""
    vae: str | None = None
    clip_skip: int = 1


@dataclass
class Txt2ImgForm(CommonForm):
    prompt: str = ""
    negative_prompt: str = ""
    sampler: str = "Euler a"
    steps: int = 20
    width: int = 512
    height: int = 512
    n_iter: int = 1
    batch_size: int = 1
    cfg_scale: float = 7.0
    seed: int = -1
    restore_faces: bool = False
    enable_hr: bool = False
    hr_upscaler: str = "Latent"
    hr_steps: int = 0
    hr_denoising: float = 0.7
    hr_scale: float = 2
    hr_resize_x: int = 0
    hr_resize_y: int = 0

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Txt2ImgForm:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def txt2img_body(form: Txt2ImgForm, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt": form.prompt,
        "negative_prompt": form.negative_prompt or None,
        "sampler_index": form.sampler,
        "steps": number(form.steps),
        "width": number(form.width),
        "height": number(form.height),
        "n_iter": number(form.n_iter),
        "batch_size": number(form.batch_size),
        "cfg_scale": number(form.cfg_scale),
        "seed": number(form.seed) if form.seed not in (None, "") else -1,
        "restore_faces": bool(form.restore_faces),
        "alwayson_scripts": {
            "sd_model_checkpoint": form.checkpoint,
            "id_task": task_id,
            "sd_vae": form.vae or None,
            "output_image_format": "png",  # lossless: the file we keep is a PNG
            "override_settings": {"CLIP_stop_at_last_layers": number(form.clip_skip)},
        },
    }
    if form.enable_hr:
        by_size = bool(form.hr_resize_x or form.hr_resize_y)
        body.update({
            "enable_hr": True,
            "hr_upscaler": form.hr_upscaler,
            "hr_second_pass_steps": number(form.hr_steps),
            "denoising_strength": number(form.hr_denoising),
            "hr_scale": None if by_size else number(form.hr_scale),
            "hr_resize_x": number(form.hr_resize_x) if by_size else None,
            "hr_resize_y": number(form.hr_resize_y) if by_size else None,
        })
    return _without_none(body)


def txt2img_request(form: Txt2ImgForm, task_id: str | None = None) -> m.Text2ImageRequest:
    """Raises InvalidRequestError (each issue names its field) for anything out of range."""
    if not (form.checkpoint or "").strip():
        raise InvalidRequestError([NO_CHECKPOINT], "text2image")
    return parse_request(m.Text2ImageRequest, txt2img_body(form, task_id or new_task_id()),
                         "text2image")


@dataclass
class Img2ImgForm(Txt2ImgForm):
    """img2img / inpaint. `init_url` and `mask_url` are hosted (or pasted) image URLs."""

    mode: str = "img2img"  # img2img, inpaint, inpaint upload
    init_url: str = ""
    mask_url: str | None = None
    resize_mode: int = 0  # just resize, crop and resize, resize and fill, latent upscale
    denoising_strength: float = 0.75
    image_cfg_scale: float | None = None
    mask_blur: int = 4
    mask_mode: int = 0  # 0 inpaint masked, 1 inpaint not masked
    masked_content: int = 1  # fill, original, latent noise, latent nothing
    inpaint_area: int = 0  # 0 whole picture, 1 only masked
    padding: int = 32


RESIZE_MODES: tuple[str, ...] = ("Just resize", "Crop and resize", "Resize and fill",
                                 "Just resize (latent upscale)")
MASK_MODES: tuple[str, ...] = ("Inpaint masked", "Inpaint not masked")
MASKED_CONTENT: tuple[str, ...] = ("fill", "original", "latent noise", "latent nothing")
INPAINT_AREAS: tuple[str, ...] = ("Whole picture", "Only masked")


def img2img_body(form: Img2ImgForm, task_id: str) -> dict[str, Any]:
    body = txt2img_body(form, task_id)
    for hires in ("enable_hr", "hr_upscaler", "hr_second_pass_steps", "hr_scale",
                  "hr_resize_x", "hr_resize_y"):
        body.pop(hires, None)  # no Hires. fix in img2img (A1111 neither)
    body.update({
        "resize_mode": number(form.resize_mode),
        "denoising_strength": number(form.denoising_strength),
        "image_cfg_scale": number(form.image_cfg_scale),
    })
    body["alwayson_scripts"]["image_link"] = form.init_url
    if form.mode != "img2img":
        body["alwayson_scripts"]["mask_link"] = form.mask_url
        body.update({
            "mask_blur": number(form.mask_blur),
            "inpainting_mask_invert": number(form.mask_mode),
            "inpainting_fill": number(form.masked_content),
            "inpaint_full_res": bool(form.inpaint_area),
            "inpaint_full_res_padding": number(form.padding),
        })
    return _without_none(body)


def img2img_request(form: Img2ImgForm, task_id: str | None = None) -> m.Image2ImageRequest:
    issues = []
    if not (form.checkpoint or "").strip():
        issues.append(NO_CHECKPOINT)
    if not form.init_url:
        issues.append(issue("alwayson_scripts.image_link",
                            Msg("builder.no_image", field="image_link"), "missing"))
    if form.mode != "img2img" and not form.mask_url:
        issues.append(issue("alwayson_scripts.mask_link",
                            Msg("builder.no_mask", field="mask_link"), "missing"))
    if issues:
        raise InvalidRequestError(issues, "image2image")
    return parse_request(m.Image2ImageRequest, img2img_body(form, task_id or new_task_id()),
                         "image2image")


def build_request(tab: str, form: Txt2ImgForm, units: list[ControlNetUnitForm] | None = None,
                  adetailer: ADetailerForm | None = None, task_id: str | None = None
                  ) -> tuple[str, Any]:
    """The one place a tab's form becomes exactly one request for exactly one endpoint:

    txt2img -> text2image, or controlnet when a unit is enabled;
    img2img / inpaint -> image2image, or controlnet (with image_link) when a unit is enabled.
    Combinations the API cannot express are refused (`extensions.UNSUPPORTED`)."""
    enabled = [unit for unit in units or [] if unit.enabled]
    features = {"controlnet"} if enabled else set()
    if adetailer is not None and adetailer.active:
        features.add("adetailer")
    if isinstance(form, Img2ImgForm) and form.mode != "img2img":
        features.add("mask")
    refused = conflicts(features)
    if refused:
        raise InvalidRequestError([issue("controlnet", msg, "unsupported") for msg in refused],
                                  tab)
    task_id = task_id or new_task_id()
    if not enabled:
        request = (img2img_request(form, task_id) if isinstance(form, Img2ImgForm)
                   else txt2img_request(form, task_id))
        if "adetailer" in features:
            try:
                request = request.with_adetailer(adetailer.wire())
            except InvalidRequestError as refused:
                raise _by_unit(refused, adetailer) from None
        return request_endpoint(request), request
    return "controlnet", controlnet_request(form, enabled, task_id)


def _by_unit(refused: InvalidRequestError, adetailer: ADetailerForm) -> InvalidRequestError:
    """ADetailer's `args` hold only the units with a model: `args[i]` of a refusal is renamed
    to the unit's own place (the 3rd tab is `args[2]` even when the 2nd is skipped)."""
    places = [place for place, unit in enumerate(adetailer.units) if unit.active]

    def renamed(value: Any) -> Any:
        if isinstance(value, str):
            return AD_ARG.sub(lambda m: f"ADetailer.args[{places[int(m.group(1))]}]"
                               if int(m.group(1)) < len(places) else m.group(0), value)
        if isinstance(value, Msg):
            return Msg(value.key, **{k: renamed(v) for k, v in value.params.items()})
        return value

    return InvalidRequestError(
        [replace(issue, field=renamed(issue.field), message=renamed(issue.message),
                 msg=renamed(issue.msg)) for issue in refused.issues], refused.endpoint)


def request_endpoint(request: Any) -> str:
    return "image2image" if isinstance(request, m.Image2ImageRequest) else "text2image"


def controlnet_request(form: Txt2ImgForm, units: list[ControlNetUnitForm], task_id: str
                       ) -> m.ControlNetRequest:
    if not (form.checkpoint or "").strip():
        raise InvalidRequestError([NO_CHECKPOINT], "controlnet")
    body = txt2img_body(form, task_id)
    body.pop("hr_upscaler", None)  # not in the controlnet table
    scripts = body["alwayson_scripts"]
    if isinstance(form, Img2ImgForm):
        for hires in ("enable_hr", "hr_upscaler", "hr_second_pass_steps", "hr_scale",
                      "hr_resize_x", "hr_resize_y"):
            body.pop(hires, None)
        body.update(resize_mode=number(form.resize_mode),
                    denoising_strength=number(form.denoising_strength))
        scripts["image_link"] = form.init_url or None
    issues = [issue(f"controlnet.args.{index}.image_link",
                    Msg("builder.no_control_image", unit=unit.number(index)), "missing")
              for index, unit in enumerate(units)
              if not unit.use_init and not unit.image_url]
    issues += [issue(f"controlnet.args.{index}.guidance_start",
                     Msg("builder.guidance_order", unit=unit.number(index),
                         start=unit.guidance_start,
                         end=unit.guidance_end), "order")
               for index, unit in enumerate(units) if unit.guidance_start > unit.guidance_end]
    if issues:
        raise InvalidRequestError(issues, "controlnet")
    scripts["controlnet"] = {"args": [unit.wire() for unit in units]}
    try:
        return parse_request(m.ControlNetRequest, _without_none(body), "controlnet")
    except InvalidRequestError as refused:
        raise with_page_units(refused, units) from None


def with_page_units(refused: InvalidRequestError, units: list[ControlNetUnitForm]
                    ) -> InvalidRequestError:
    """A refused unit's field is `controlnet.args[i]` (its place among the enabled units):
    its context says which unit of the page it is (`controlnet_unit`), for the refusal's
    label."""
    issues = []
    for issue in refused.issues:
        found = CN_ARG.search(issue.field)
        index = int(found.group(1)) if found else -1
        if 0 <= index < len(units):
            issue = replace(issue, context={**issue.context,
                                            "controlnet_unit": units[index].number(index)})
        issues.append(issue)
    return InvalidRequestError(issues, refused.endpoint)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value
