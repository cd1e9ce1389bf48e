"""ControlNet units and ADetailer as form state, and the one table of what the API cannot
combine. `core/builder.py` routes a tab's form to exactly one endpoint with these."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from webui.api.models.controlnet import MODULE_DEFAULT_MODEL, MODULE_SLIDERS
from webui.messages import Msg


@dataclass
class ControlNetUnitForm:
    enabled: bool = False
    image_url: str | None = None  # hosted control image; None with use_init
    use_init: bool = False  # "use the img2img image" as the control image
    module: str = "canny"
    model: str = MODULE_DEFAULT_MODEL["canny"]
    weight: float = 1.0
    guidance_start: float = 0.0
    guidance_end: float = 1.0
    resize_mode: str = "Crop and Resize"
    processor_res: int | None = None
    threshold_a: int | None = None
    threshold_b: int | None = None
    pixel_perfect: bool = False
    low_vram: bool = False
    control_mode: str = "Balanced"
    page_number: int | None = None  # the unit's number on the page (its picker's)

    def number(self, index: int) -> int:
        """How a refusal names the unit: the page's number, else its place among the enabled
        units (the request's)."""
        return self.page_number if self.page_number is not None else index

    def wire(self) -> dict[str, Any]:
        # the page's dropdowns take any value (a script's list too): the request model
        # refuses what is not a name it lists
        sliders = MODULE_SLIDERS.get(self.module, {}) if isinstance(self.module, str) else {}
        unit: dict[str, Any] = {
            "enabled": True, "module": self.module, "model": self.model,
            "weight": number(self.weight), "resize_mode": self.resize_mode,
            "low_vram": bool(self.low_vram), "guidance_start": number(self.guidance_start),
            "guidance_end": number(self.guidance_end), "pixel_perfect": bool(self.pixel_perfect),
            "control_mode": self.control_mode,
        }
        for name in ("processor_res", "threshold_a", "threshold_b"):
            value = getattr(self, name)
            if name in sliders and value is not None:  # only what the preprocessor reads
                unit[name] = number(value)
        if not self.use_init:
            unit["image_link"] = self.image_url or ""
        return unit


def fitted_size(width: int, height: int, largest: int, step: int = 8) -> tuple[int, int]:
    """A control image's size as the size fields take it ("send dimensions"): its shape kept,
    scaled down to fit `largest`, each side a multiple of `step` (at least one step)."""
    scale = min(1.0, largest / max(width, height, 1))
    return tuple(max(step, min(largest // step * step, round(side * scale / step) * step))
                 for side in (width, height))  # type: ignore[return-value]


def default_model(module: Any) -> str:
    """The module's model (canny's for anything else, a forged list too)."""
    return MODULE_DEFAULT_MODEL.get(module, MODULE_DEFAULT_MODEL["canny"]) \
        if isinstance(module, str) else MODULE_DEFAULT_MODEL["canny"]


AD_ORDINALS = ("1st", "2nd", "3rd")  # ADetailer's tabs, named so in a refusal too
AD_UNITS = len(AD_ORDINALS)  # one `args` entry each
AD_ARG = re.compile(r"ADetailer\.args\[(\d+)\]")  # a unit's place in a field's path
CONTROLNET_UNITS = tuple(f"ControlNet Unit {index}" for index in range(3))  # A1111's tabs
# a unit's preprocessor sliders: which are shown, their bounds and defaults, are its module's
CONTROLNET_SLIDERS = ("processor_res", "threshold_a", "threshold_b")
CN_ARG = re.compile(r"controlnet\.args\[(\d+)\]")  # an enabled ControlNet unit's place


@dataclass
class ADetailerUnitForm:
    """One ADetailer tab, every field of the endpoint's table. A unit whose model is "None"
    is skipped, as ADetailer skips it (the 2nd and 3rd start so)."""
    model: str = "face_yolov8n.pt"
    prompt: str = ""
    negative_prompt: str = ""
    confidence: float = 0.3
    mask_min_ratio: float = 0.0
    mask_max_ratio: float = 1.0
    x_offset: int = 0
    y_offset: int = 0
    dilate_erode: int = 4
    mask_merge_invert: str = "None"
    mask_blur: int = 4
    denoising: float = 0.4
    inpaint_only_masked: bool = True
    padding: int = 32
    use_inpaint_size: bool = False
    inpaint_width: int = 512
    inpaint_height: int = 512
    use_steps: bool = False
    steps: int = 28
    use_cfg: bool = False
    cfg_scale: float = 7
    use_sampler: bool = False
    sampler: str = "DPM++ 2M Karras"
    use_noise_multiplier: bool = False
    noise_multiplier: float = 1
    restore_face: bool = False
    controlnet_model: str = "None"
    controlnet_module: str = "None"
    controlnet_weight: float = 1.0
    controlnet_guidance_start: float = 0.0
    controlnet_guidance_end: float = 1.0

    @property
    def active(self) -> bool:
        return self.model != "None"

    def wire(self) -> dict[str, Any]:
        args: dict[str, Any] = {
            "ad_model": self.model, "ad_prompt": self.prompt or None,
            "ad_negative_prompt": self.negative_prompt or None,
            "ad_confidence": number(self.confidence), "ad_mask_blur": number(self.mask_blur),
            "ad_dilate_erode": number(self.dilate_erode),
            "ad_denoising_strength": number(self.denoising),
            "ad_inpaint_only_masked": bool(self.inpaint_only_masked),
            "ad_inpaint_only_masked_padding": number(self.padding),
            "ad_use_inpaint_width_height": bool(self.use_inpaint_size),
            "ad_use_steps": bool(self.use_steps), "ad_use_cfg_scale": bool(self.use_cfg),
            "ad_use_sampler": bool(self.use_sampler),
            "ad_controlnet_model": self.controlnet_model,
        }
        # ADetailer's defaults are left out, as its infotext leaves them out
        for name, value, default in (
                ("ad_mask_min_ratio", self.mask_min_ratio, 0), ("ad_mask_max_ratio",
                 self.mask_max_ratio, 1), ("ad_x_offset", self.x_offset, 0),
                ("ad_y_offset", self.y_offset, 0),
                ("ad_mask_merge_invert", self.mask_merge_invert, "None"),
                ("ad_restore_face", self.restore_face, False)):
            if value != default:
                args[name] = number(value)
        if self.use_inpaint_size:
            args.update(ad_inpaint_width=number(self.inpaint_width),
                        ad_inpaint_height=number(self.inpaint_height))
        if self.use_steps:
            args["ad_steps"] = number(self.steps)
        if self.use_cfg:
            args["ad_cfg_scale"] = number(self.cfg_scale)
        if self.use_sampler:
            args["ad_sampler"] = self.sampler
        if self.use_noise_multiplier:
            args.update(ad_use_noise_multiplier=True,
                        ad_noise_multiplier=number(self.noise_multiplier))
        if self.controlnet_model != "None":
            args.update(ad_controlnet_module=self.controlnet_module,
                        ad_controlnet_weight=number(self.controlnet_weight),
                        ad_controlnet_guidance_start=number(self.controlnet_guidance_start),
                        ad_controlnet_guidance_end=number(self.controlnet_guidance_end))
        return {k: v for k, v in args.items() if v is not None}


@dataclass
class ADetailerForm:
    enabled: bool = False
    units: list[ADetailerUnitForm] = field(default_factory=lambda: [ADetailerUnitForm()])

    @property
    def active(self) -> bool:
        """Enabled, with a unit that has a model."""
        return self.enabled and any(unit.active for unit in self.units)

    def wire(self) -> list[dict[str, Any]]:
        """ADetailer's `args`: the units with a model, in their order."""
        return [unit.wire() for unit in self.units if unit.active]


# What the API cannot express together, and what to turn off. The controlnet endpoint takes
# no mask and lists no ADetailer; if the reference turns out to allow one, delete its row.
UNSUPPORTED: tuple[tuple[frozenset[str], Msg], ...] = (
    # "Inpainting and ControlNet cannot be combined: the controlnet endpoint takes no mask. ..."
    (frozenset({"mask", "controlnet"}), Msg("extensions.mask_and_controlnet")),
    # "ADetailer and ControlNet cannot be combined: the controlnet endpoint has no ADetailer. ..."
    (frozenset({"adetailer", "controlnet"}), Msg("extensions.adetailer_and_controlnet")),
)


def conflicts(features: set[str]) -> list[Msg]:
    return [message for needs, message in UNSUPPORTED if needs <= features]


def number(value: Any) -> Any:
    """Sliders and number boxes give floats: 512.0 -> 512; 7.5 stays; junk is left for the
    request model to refuse with a message."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
