"""ControlNet units (`always_on_scripts.controlnet.args[]`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from webui.api.models.common import HttpUrl, RequestModel
from webui.api.models.constraints import Choice, Range

CONTROLNET_MODULES: tuple[str, ...] = (
    "canny", "depth_midas", "lineart_realistic", "mlsd", "normal_bae", "openpose",
    "scribble_xdog", "seg_ufade20k", "inpaint_global_harmonious",
)
CONTROLNET_MODELS: tuple[str, ...] = (
    "control_v11p_sd15_canny", "control_v11f1p_sd15_depth", "control_v11p_sd15_lineart",
    "control_v11p_sd15_mlsd", "control_v11p_sd15_normal_bae", "control_v11p_sd15_openpose",
    "control_v11p_sd15_scribble", "control_v11p_sd15_seg", "control_v1p_sd15_brightness",
    "control_v1p_sd15_qrcode",
)
# The model that fits each preprocessor, pre-selected in the UI. inpaint_global_harmonious
# has no inpaint model in the list; the reference's example pairs it with brightness.
MODULE_DEFAULT_MODEL: dict[str, str] = {
    "canny": "control_v11p_sd15_canny",
    "depth_midas": "control_v11f1p_sd15_depth",
    "lineart_realistic": "control_v11p_sd15_lineart",
    "mlsd": "control_v11p_sd15_mlsd",
    "normal_bae": "control_v11p_sd15_normal_bae",
    "openpose": "control_v11p_sd15_openpose",
    "scribble_xdog": "control_v11p_sd15_scribble",
    "seg_ufade20k": "control_v11p_sd15_seg",
    "inpaint_global_harmonious": "control_v1p_sd15_brightness",
}
# A1111's "Control Type": a type narrows the preprocessors and models offered to its own (the
# brightness and QR code models have no type of their own; "All" lists them).
CONTROL_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "All": (CONTROLNET_MODULES, CONTROLNET_MODELS),
    "Canny": (("canny",), ("control_v11p_sd15_canny",)),
    "Depth": (("depth_midas",), ("control_v11f1p_sd15_depth",)),
    "Lineart": (("lineart_realistic",), ("control_v11p_sd15_lineart",)),
    "MLSD": (("mlsd",), ("control_v11p_sd15_mlsd",)),
    "NormalMap": (("normal_bae",), ("control_v11p_sd15_normal_bae",)),
    "OpenPose": (("openpose",), ("control_v11p_sd15_openpose",)),
    "Scribble": (("scribble_xdog",), ("control_v11p_sd15_scribble",)),
    "Segmentation": (("seg_ufade20k",), ("control_v11p_sd15_seg",)),
    "Inpaint": (("inpaint_global_harmonious",), ("control_v1p_sd15_brightness",
                                                  "control_v1p_sd15_qrcode")),
}
# Which preprocessors read processor_res / threshold_a / threshold_b, with A1111's labels,
# bounds and defaults: (label, lo, hi, default).
MODULE_SLIDERS: dict[str, dict[str, tuple[str, int, int, int]]] = {
    "canny": {
        "processor_res": ("Preprocessor resolution", 64, 2048, 512),
        "threshold_a": ("Canny low threshold", 1, 255, 100),
        "threshold_b": ("Canny high threshold", 1, 255, 200),
    },
    "depth_midas": {"processor_res": ("Preprocessor resolution", 64, 2048, 512)},
    "lineart_realistic": {"processor_res": ("Preprocessor resolution", 64, 2048, 512)},
    # MLSD's thresholds are fractions (0.1 by default) but the API types threshold_a/b as
    # integers: -1 sends "the preprocessor's default", whole numbers are sent as they are.
    "mlsd": {
        "processor_res": ("Preprocessor resolution", 64, 2048, 512),
        "threshold_a": ("MLSD value threshold (-1: default)", -1, 2, -1),
        "threshold_b": ("MLSD distance threshold (-1: default)", -1, 20, -1),
    },
    "normal_bae": {"processor_res": ("Preprocessor resolution", 64, 2048, 512)},
    "openpose": {"processor_res": ("Preprocessor resolution", 64, 2048, 512)},
    "scribble_xdog": {
        "processor_res": ("Preprocessor resolution", 64, 2048, 512),
        "threshold_a": ("XDoG threshold", 1, 64, 32),
    },
    "seg_ufade20k": {"processor_res": ("Preprocessor resolution", 64, 2048, 512)},
    "inpaint_global_harmonious": {},
}

PREPROCESSOR_DEFAULT = -1

RESIZE_MODES: tuple[str, ...] = ("Just Resize", "Crop and Resize", "Resize and Fill")
CONTROL_MODES: tuple[str, ...] = (
    "Balanced", "My prompt is more important", "ControlNet is more important",
)


def _name_from_index(names: tuple[str, ...]) -> Any:
    """The table documents 0/1/2, the example sends the name: accept both, send the name
    (ruling 7)."""

    def convert(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            # An index out of range becomes text, so the choice check names the options.
            return names[value] if 0 <= value < len(names) else str(value)
        return value

    return BeforeValidator(convert)


class ControlNetUnit(RequestModel):
    image_link: HttpUrl | None = Field(None, description="Control image URL")
    enabled: bool = True
    module: Annotated[str, Choice(CONTROLNET_MODULES)] = Field(..., description="Preprocessor")
    model: Annotated[str, Choice(CONTROLNET_MODELS)] = Field(..., description="ControlNet model")
    weight: Annotated[float, Range(0, 2)] = 1.0
    resize_mode: Annotated[str, _name_from_index(RESIZE_MODES), Choice(RESIZE_MODES)] = (
        "Crop and Resize"
    )
    low_vram: bool = False
    # No range in the reference; -1 is "the preprocessor's default", as A1111's ControlNet
    # API takes it.
    processor_res: Annotated[int | None, Range(64, 2048, also=(PREPROCESSOR_DEFAULT,))] = None
    threshold_a: Annotated[int | None, Range(0, 2048, also=(PREPROCESSOR_DEFAULT,))] = None
    threshold_b: Annotated[int | None, Range(0, 2048, also=(PREPROCESSOR_DEFAULT,))] = None
    guidance_start: Annotated[float, Range(0, 1)] = 0.0
    guidance_end: Annotated[float, Range(0, 1)] = 1.0
    pixel_perfect: bool = False
    control_mode: Annotated[str, _name_from_index(CONTROL_MODES), Choice(CONTROL_MODES)] = (
        "Balanced"
    )

    @field_validator("guidance_end")
    @classmethod
    def _end_not_before_start(cls, end: float, info: ValidationInfo) -> float:
        start = info.data.get("guidance_start")
        if start is not None and end < start:
            raise PydanticCustomError(
                "not_before", "must not be less than {other} ({start}), got {got}",
                {"other": "guidance_start", "start": start, "got": end},
            )
        return end


class ControlNetArgs(RequestModel):
    args: list[ControlNetUnit] = Field(..., min_length=1, max_length=10)
