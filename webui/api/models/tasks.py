"""Task status: `queryTaskInfo` for SD tasks, `tool/{toolCode}/queryTask` for tool tasks, and
the two rules that turn their status codes into a `TaskState`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from webui.api.models.common import (
    SD_STATUS,
    AnyTaskId,
    Envelope,
    Lenient,
    LenientBool,
    LenientId,
    LenientInt,
    LenientText,
    RequestModel,
    ResponseModel,
    ResultSeed,
    TaskState,
)

log = logging.getLogger(__name__)


class QueryTaskRequest(RequestModel):
    # Any id, not only the ones this app makes (`TaskId`): a task submitted by another client
    # may be looked up too.
    businessTaskId: AnyTaskId = Field(..., description="The id_task / businessTaskId submitted")


# --- SD tasks ---------------------------------------------------------------------------------


def _progress(value: Any) -> Any:
    """progress is "0".."1" as a string; be tolerant of numbers and junk."""
    if value in (None, ""):
        return None
    try:
        return min(1.0, max(0.0, float(value)))
    except (TypeError, ValueError):
        return None


class TemporaryImage(ResponseModel):
    progress: Annotated[float | None, BeforeValidator(_progress)] = None
    currentImage: LenientText = Field(None, description="Preview, base64")
    jobNo: LenientInt = None
    jobCount: LenientInt = None


class ImageAudit(ResponseModel):
    confidence: Any = None  # typed `null` in the reference: whatever comes is kept as is
    label: LenientText = None


def _audits(value: Any) -> Any:
    """A list of audit objects; odd entries (not objects) are dropped, not fatal."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict | ImageAudit)]
    return value


class ResultImage(ResponseModel):
    img_audit: Annotated[list[ImageAudit] | None, BeforeValidator(_audits), Lenient] = None
    img_audit_status: LenientBool = None
    image_status: LenientInt = None
    image_url: LenientText = None
    seed: ResultSeed = None

    @property
    def hidden_reason(self) -> str | None:
        """Why this image must not be shown, or None if it may be."""
        if self.image_status == 2:
            return "deleted by the service for a content violation"
        if self.img_audit_status is False:
            labels = ", ".join(a.label for a in self.img_audit or [] if a.label) or "unspecified"
            return f"withheld by the service's content audit ({labels})"
        if not self.image_url:
            return "the service returned no image URL"
        return None


def sd_task_state(status: int | None) -> TaskState:
    """queryTaskInfo status -> state. Unknown codes are logged and read as still running."""
    state = SD_STATUS.get(status) if status is not None else None
    if state is None:
        log.warning("unknown SD task status %r, treating the task as still running", status)
        return TaskState.GENERATING
    return state


class TaskInfo(ResponseModel):
    id_task: LenientId = None
    status: LenientInt = None
    desc: LenientText = None
    temporaryImageDto: TemporaryImage | None = None
    differentialImageRspList: list[ResultImage] | None = None

    @property
    def state(self) -> TaskState:
        return sd_task_state(self.status)


class TaskInfoResponse(Envelope):
    data: TaskInfo | None = None


# --- tool tasks -------------------------------------------------------------------------------


def tool_task_state(
    status: int | None,
    output_url: str | None,
    serves_image: Callable[[str], bool],
) -> TaskState:
    """Ruling 5, the one place it lives.

    0 -> failed; 2 with a URL -> succeeded; 2 without -> failed; 1 with a URL -> succeeded
    only once that URL serves an image (`serves_image` fetches it: not a billed call);
    anything else -> still running (unknown codes are logged), until the caller's deadline.
    """
    if status == 0:
        return TaskState.FAILED
    if status == 2:
        return TaskState.SUCCEEDED if output_url else TaskState.FAILED
    if status == 1 and output_url:
        return TaskState.SUCCEEDED if serves_image(output_url) else TaskState.GENERATING
    if status not in (1, None):
        log.warning("unknown tool task status %r, treating the task as still running", status)
    return TaskState.GENERATING


class ToolTaskInfo(ResponseModel):
    businessTaskId: LenientId = None
    taskId: LenientId = None  # a string in the tables; a number would be read as its digits
    toolTask: LenientText = None
    status: LenientInt = None
    outputImageUrl: LenientText = None
    desc: LenientText = None  # not in the reference; the offline backend explains failures here

    def state(self, serves_image: Callable[[str], bool]) -> TaskState:
        return tool_task_state(self.status, self.outputImageUrl, serves_image)


class ToolTaskResponse(Envelope):
    data: ToolTaskInfo | None = None
