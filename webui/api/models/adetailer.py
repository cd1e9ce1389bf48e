"""ADetailer arguments (`alwayson_scripts.ADetailer.args[]`).

The txt2img and img2img tables disagree on ranges and types (ruling 6), so each endpoint has
its own class; the shared fields live in the base. Where a table says "integer" for a value
ADetailer treats as a float, the table wins: the vendor's backend would truncate 0.35 to 0
silently, and an honest refusal is better than that.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from webui.api.models.common import Prompt, RequestModel, Sampler
from webui.api.models.constraints import Choice, Range

# ADetailer's detector models (the reference only says "model name, must be given").
AD_MODELS: tuple[str, ...] = (
    "face_yolov8n.pt", "face_yolov8s.pt", "hand_yolov8n.pt", "person_yolov8n-seg.pt",
    "person_yolov8s-seg.pt", "mediapipe_face_full", "mediapipe_face_short",
    "mediapipe_face_mesh", "mediapipe_face_mesh_eyes_only", "None",
)
AD_MASK_MERGE_MODES: tuple[str, ...] = ("None", "Merge", "Merge and Invert")
AD_CONTROLNET_MODELS: tuple[str, ...] = (
    "None",
    "control_v11f1e_sd15_tile [a371b31b]",
    "control_v11p_sd15_inpaint [ebff9138]",
    "control_v11p_sd15_lineart [43d4be0d]",
    "control_v11p_sd15_openpose [cab727d4]",
    "control_v11p_sd15_scribble [d4ba51ff]",
    # The img2img table spells it "linear_anime": a typo for ControlNet's real model name.
    "control_v11p_sd15s2_lineart_anime [3825e83e]",
)
# The reference lists only "None" for the module (both tables); an undocumented module name
# could be refused or misread by the service, so none other is offered or sent.
AD_CONTROLNET_MODULES: tuple[str, ...] = ("None",)

Unit = Annotated[float | None, Range(0, 1)]


class ADetailerArgsBase(RequestModel):
    ad_model: str = Field(..., min_length=1, description="Detector model, e.g. face_yolov8n.pt")
    ad_prompt: Prompt | None = Field(None, description="Prompt for the detailed region")
    ad_negative_prompt: Prompt | None = None
    ad_confidence: Unit = Field(None, description="Detection confidence threshold")
    ad_mask_min_ratio: Unit = None
    ad_mask_max_ratio: Unit = None
    ad_x_offset: int | None = None
    ad_y_offset: int | None = None
    ad_mask_merge_invert: Annotated[str | None, Choice(AD_MASK_MERGE_MODES)] = None
    ad_mask_blur: Annotated[int | None, Range(0, 64)] = None
    ad_denoising_strength: Unit = None
    ad_inpaint_only_masked: bool | None = None
    ad_inpaint_only_masked_padding: Annotated[int | None, Range(0, 256)] = None
    ad_use_inpaint_width_height: bool | None = None
    ad_inpaint_width: Annotated[int | None, Range(0, 2048, lo_open=True, multiple_of=8)] = None
    ad_inpaint_height: Annotated[int | None, Range(0, 2048, lo_open=True, multiple_of=8)] = None
    ad_use_steps: bool | None = None
    ad_use_cfg_scale: bool | None = None
    ad_cfg_scale: Annotated[int | None, Range(1, 30)] = None
    ad_use_sampler: bool | None = None
    ad_sampler: Sampler | None = None
    ad_use_noise_multiplier: bool | None = None
    # Both tables: integer (ADetailer's own float range is [0.5, 1.5], so 1 is the only value
    # the service can take as documented; a float would be truncated silently).
    ad_noise_multiplier: Annotated[int | None, Range(0.5, 1.5)] = None
    ad_restore_face: bool | None = None
    ad_controlnet_model: Annotated[str | None, Choice(AD_CONTROLNET_MODELS)] = None
    ad_controlnet_module: Annotated[str | None, Choice(AD_CONTROLNET_MODULES)] = None


class Text2ImageADetailerArgs(ADetailerArgsBase):
    ad_dilate_erode: Annotated[int | None, Range(-128, 128)] = None
    ad_steps: Annotated[int | None, Range(1, 50)] = None
    ad_controlnet_weight: Annotated[float | None, Range(0, 2)] = None
    ad_controlnet_guidance_start: Unit = None
    ad_controlnet_guidance_end: Unit = None


class Image2ImageADetailerArgs(ADetailerArgsBase):
    ad_dilate_erode: Annotated[int | None, Range(0, 256)] = None
    ad_steps: Annotated[int | None, Range(1, 150)] = None
    # The img2img table types these as integers, with no range; ADetailer's ranges apply.
    ad_controlnet_weight: Annotated[int | None, Range(0, 2)] = None
    ad_controlnet_guidance_start: Annotated[int | None, Range(0, 1)] = None
    ad_controlnet_guidance_end: Annotated[int | None, Range(0, 1)] = None


class Text2ImageADetailer(RequestModel):
    args: list[Text2ImageADetailerArgs] = Field(default_factory=list, max_length=10)


class Image2ImageADetailer(RequestModel):
    args: list[Image2ImageADetailerArgs] = Field(..., max_length=10)
