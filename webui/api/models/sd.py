"""The three SD submit endpoints: text2image, image2image, controlnet.

Defaults are A1111's where the reference names none, and are always sent: the image we store
and the infotext we write must describe what was asked for, not what a server assumed.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import AliasChoices, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from webui.api.models.adetailer import Image2ImageADetailer, Text2ImageADetailer
from webui.api.models.common import (
    OUTPUT_FORMATS,
    Envelope,
    HttpUrl,
    Prompt,
    RequestModel,
    RequiredPrompt,
    ResponseModel,
    Sampler,
    Seed,
    TaskId,
)
from webui.api.models.constraints import Choice, Range
from webui.api.models.controlnet import ControlNetArgs

# Ruling 1: each endpoint's example spelling of the scripts object. The one table to change
# if the vendor settles on one spelling. Reading accepts both.
SCRIPTS_KEY: dict[str, str] = {
    "text2image": "alwayson_scripts",
    "image2image": "alwayson_scripts",
    "controlnet": "always_on_scripts",
}
_SCRIPTS_ALIASES = AliasChoices("alwayson_scripts", "always_on_scripts")

IMAGE_SIZE = Range(0, 1024, lo_open=True, multiple_of=8)
HIRES_SIZE = Range(0, 2048, multiple_of=8)
IMG2IMG_RESIZE_MODES: tuple[str, ...] = (
    "Just resize", "Crop and resize", "Resize and fill", "Just resize (latent upscale)",
)
INPAINTING_FILLS: tuple[str, ...] = ("fill", "original", "latent noise", "latent nothing")


def scripts_field(endpoint: str, description: str) -> Any:
    return Field(
        ...,
        validation_alias=_SCRIPTS_ALIASES,
        serialization_alias=SCRIPTS_KEY[endpoint],
        description=description,
    )


# --- always_on_scripts ------------------------------------------------------------------------


class OverrideSettings(RequestModel):
    CLIP_stop_at_last_layers: Annotated[int | None, Range(1, 12)] = Field(
        None, description="Clip skip"
    )


class Image2ImageOverrideSettings(RequestModel):
    # Required by the img2img table once override_settings is given.
    CLIP_stop_at_last_layers: Annotated[int, Range(1, 12)] = Field(..., description="Clip skip")


class ScriptsBase(RequestModel):
    sd_model_checkpoint: str = Field(..., min_length=1, description="Checkpoint code")
    id_task: TaskId = Field(..., description="Caller-chosen unique task id")
    sd_vae: str | None = Field(None, description="VAE file name")
    output_image_format: Annotated[str | None, Choice(OUTPUT_FORMATS)] = None
    override_settings: OverrideSettings | None = None


class Text2ImageScripts(ScriptsBase):
    ADetailer: Text2ImageADetailer | None = None


class Image2ImageScripts(ScriptsBase):
    image_link: HttpUrl = Field(..., description="Init image URL")
    mask_link: HttpUrl | None = Field(None, description="Mask URL (white = repaint)")
    override_settings: Image2ImageOverrideSettings | None = None  # type: ignore[assignment]
    ADetailer: Image2ImageADetailer | None = None


class ControlNetScripts(ScriptsBase):
    image_link: HttpUrl | None = Field(None, description="img2img init image URL")
    controlnet: ControlNetArgs

    @field_validator("controlnet")
    @classmethod
    def _units_have_images(cls, controlnet: ControlNetArgs, info: ValidationInfo) -> Any:
        if info.data.get("image_link"):
            return controlnet
        for index, unit in enumerate(controlnet.args):
            if unit.enabled and not unit.image_link:
                raise PydanticCustomError(
                    "unit_needs_image",
                    "unit {index} needs an {link}: there is no img2img {link} to use as its "
                    "control image",
                    {"index": index, "link": "image_link"},
                )
        return controlnet


# --- requests ---------------------------------------------------------------------------------


class SDRequestBase(RequestModel):
    prompt: RequiredPrompt = Field(..., description="Prompt; LoRAs as <lora:name:weight>")
    negative_prompt: Prompt | None = Field(None, description="Negative prompt; embeddings here")
    # Ranges of n_iter, batch_size, steps are A1111's UI limits: the reference gives none.
    n_iter: Annotated[int, Range(1, 100)] = Field(1, description="Batch count")
    batch_size: Annotated[int, Range(1, 8)] = Field(1, description="Images per batch")
    steps: Annotated[int, Range(1, 150)] = Field(20, description="Sampling steps")
    seed: Seed = Field(-1, description="-1 for random")
    restore_faces: bool = False
    width: Annotated[int, IMAGE_SIZE] = 512
    height: Annotated[int, IMAGE_SIZE] = 512
    sampler_index: Sampler = "Euler a"
    denoising_strength: Annotated[float, Range(0, 1)] = Field(
        0.75, description="How much the image may change"
    )
    enable_hr: bool = Field(False, description="Hires. fix")
    hr_scale: Annotated[int | None, Range(1, 4)] = Field(None, description="Hires upscale by")
    hr_second_pass_steps: Annotated[int | None, Range(0, 150)] = None
    hr_resize_x: Annotated[int | None, HIRES_SIZE] = Field(None, description="Hires width")
    hr_resize_y: Annotated[int | None, HIRES_SIZE] = Field(None, description="Hires height")
    callbackUrl: HttpUrl | None = Field(None, description="Where the service POSTs the result")

    @property
    def task_id(self) -> str:
        return self.alwayson_scripts.id_task  # type: ignore[attr-defined]

    @property
    def image_count(self) -> int:
        return self.n_iter * self.batch_size

    @property
    def checkpoint(self) -> str:
        return self.alwayson_scripts.sd_model_checkpoint  # type: ignore[attr-defined]

    def with_adetailer(self, units: list[dict[str, Any]]) -> Self:
        """ADetailer's units (`args`), each validated by this endpoint's table (ruling 6)."""
        return self._with_scripts(ADetailer={"args": units})

    def _with_scripts(self, **changes: Any) -> Self:
        scripts = self.alwayson_scripts.model_dump(exclude_none=True)  # type: ignore[attr-defined]
        return self.revalidated(alwayson_scripts={**scripts, **changes})

    def with_task_id(self, task_id: str) -> Self:
        """The same request under another id (a re-run; ruling 9: ids are never reused)."""
        return self._with_scripts(id_task=task_id)

    def with_seed(self, seed: int) -> Self:
        """-1: a new random seed."""
        return self.revalidated(seed=seed)

    def with_output_format(self, output_format: str) -> Self:
        """The format the service sends (checked against OUTPUT_FORMATS)."""
        if self.alwayson_scripts.output_image_format == output_format:  # type: ignore[attr-defined]
            return self
        return self._with_scripts(output_image_format=output_format)


class Text2ImageRequest(SDRequestBase):
    cfg_scale: Annotated[float, Range(1, 30)] = 7.0
    hr_upscaler: str | None = Field(None, description="Hires upscaler")
    alwayson_scripts: Text2ImageScripts = scripts_field("text2image", "Model, task id, scripts")


class Image2ImageRequest(SDRequestBase):
    cfg_scale: Annotated[int, Range(1, 30)] = 7  # the img2img table says integer
    hr_upscaler: str | None = None
    resize_mode: Annotated[int, Choice((0, 1, 2, 3))] = Field(
        0, description=" / ".join(f"{i}: {n}" for i, n in enumerate(IMG2IMG_RESIZE_MODES))
    )
    mask_blur: Annotated[int | None, Range(0, 64)] = None
    mask_blur_x: Annotated[int | None, Range(0, 64)] = None
    mask_blur_y: Annotated[int | None, Range(0, 64)] = None
    inpainting_fill: Annotated[int | None, Choice((0, 1, 2, 3))] = Field(
        None, description=" / ".join(f"{i}: {n}" for i, n in enumerate(INPAINTING_FILLS))
    )
    inpaint_full_res: bool | None = Field(None, description="true: only masked area")
    inpaint_full_res_padding: Annotated[int | None, Range(0, 256)] = None
    inpainting_mask_invert: Annotated[int | None, Choice((0, 1))] = Field(
        None, description="0: inpaint masked, 1: inpaint not masked"
    )
    initial_noise_multiplier: Annotated[float | None, Range(0.5, 1.5)] = None
    image_cfg_scale: Annotated[float | None, Range(0, 3)] = None
    alwayson_scripts: Image2ImageScripts = scripts_field("image2image", "Model, images, scripts")


class ControlNetRequest(SDRequestBase):
    cfg_scale: Annotated[float, Range(1, 30)] = 7.0
    resize_mode: Annotated[int, Choice((0, 1, 2, 3))] = 0
    alwayson_scripts: ControlNetScripts = scripts_field("controlnet", "Model, units, scripts")


# --- response ---------------------------------------------------------------------------------


class SubmitData(ResponseModel):
    task_id: str


class SubmitResponse(Envelope):
    data: SubmitData | None = None
