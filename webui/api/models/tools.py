"""Tool endpoints (`saas/tool/{toolCode}`): face swap (`roop`) and upscale (`enhance`).

Adding a vendor tool (for example `hair/change`) takes one request model here and one row in
`webui.api.endpoints.TOOLS`: the client, the offline backend's routing, the status rule and
the task engine are shared by every tool.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from webui.api.errors import FieldIssue, InvalidRequestError
from webui.api.models.common import HttpUrl, RequestModel, TaskId
from webui.api.models.constraints import Choice, Range
from webui.api.models.tasks import ToolTaskResponse
from webui.messages import Msg

ENHANCE_MAX_INPUT = 1536  # input images at most 1536x1536
UPSCALERS: tuple[str, ...] = (
    "None", "Lanczos", "Nearest", "ESRGAN_4x", "LDSR", "R-ESRGAN 4x+",
    "R-ESRGAN 4x+ Anime6B", "ScuNET GAN", "ScuNET PSNR", "SwinIR 4x",
)
Unit = Annotated[float | None, Range(0, 1)]
TARGET_SIZE = Range(64, 2048)  # enhance's upscalingResizeW / H


class ToolRequest(RequestModel):
    businessTaskId: TaskId = Field(..., description="Caller-chosen unique task id")
    # Not in the tool tables, but the reference's intro offers callbacks for every async call.
    callbackUrl: HttpUrl | None = Field(None, description="Where the service POSTs the result")

    @property
    def task_id(self) -> str:
        return self.businessTaskId

    def with_task_id(self, task_id: str) -> Self:
        """The same request under another id (a re-run; ruling 9: ids are never reused)."""
        return self.revalidated(businessTaskId=task_id)


class RoopRequest(ToolRequest):
    sourceUrl: HttpUrl = Field(..., description="Image with the face to copy")
    targetUrl: HttpUrl = Field(..., description="Image whose face is replaced")


class EnhanceRequest(ToolRequest):
    image: HttpUrl = Field(..., description="Image URL, at most 1536x1536")
    resizeMode: Annotated[int, Choice((0, 1))] = Field(
        0, description="0: scale by upscalingResize, 1: scale to upscalingResizeW x H"
    )
    showExtrasResults: bool | None = Field(None, description="Deprecated by the vendor")
    gfpganVisibility: Unit = None
    codeformerVisibility: Unit = None
    codeformerWeight: Unit = None
    upscalingResize: Annotated[int | None, Range(1, 8)] = Field(2, description="Scale factor")
    upscalingResizeW: Annotated[int | None, TARGET_SIZE] = None
    upscalingResizeH: Annotated[int | None, TARGET_SIZE] = None
    upscalingCrop: bool | None = Field(None, description="Crop to fit the target size")
    upscaler1: str | None = Field("ESRGAN_4x", description="Main upscaler")
    upscaler2: str | None = Field(None, description="Second upscaler")
    extrasUpscaler2Visibility: Unit = None
    upscaleFirst: bool | None = Field(None, description="Upscale before face restoration")

    @model_validator(mode="after")
    def _target_size_with_resize_mode_1(self) -> EnhanceRequest:
        # The table: upscalingResizeW/H are "used when resize_mode is 1"; without them the
        # service has no size to scale to.
        missing = [name for name in ("upscalingResizeW", "upscalingResizeH")
                   if self.resizeMode == 1 and getattr(self, name) is None]
        if missing:
            raise PydanticCustomError(
                "size_needed",
                "{field} 1 (scale to a size) needs {missing}: the target width and height "
                "in {range}",
                {"field": "resizeMode", "missing": " and ".join(missing), "fields": missing,
                 "range": TARGET_SIZE.parts()["range"]},
            )
        return self


class RoopResponse(ToolTaskResponse):
    """Submit answer: taskId, toolTask, status, outputImageUrl (the status fields)."""


class EnhanceResponse(ToolTaskResponse):
    """Submit answer: businessTaskId, outputImageUrl, status, taskId (the status fields)."""


def check_enhance_input(width: int, height: int) -> None:
    """The input limit the service states for `enhance`, checked on the picture itself (the
    request only carries its URL), so an oversized upload is refused before it is sent."""
    if width > ENHANCE_MAX_INPUT or height > ENHANCE_MAX_INPUT:
        msg = Msg("field.image_too_large", field="image", width=width, height=height,
                  maximum=ENHANCE_MAX_INPUT)
        raise InvalidRequestError([FieldIssue("image", str(msg), "out_of_range", {
            "width": width, "height": height, "maximum": ENHANCE_MAX_INPUT}, msg)], "enhance")
