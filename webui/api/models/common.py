"""Types shared by every endpoint: base classes, seed, URLs, task ids, samplers, task states,
and the response envelope `{"code": "200", "msg": ..., "data": ...}`."""

from __future__ import annotations

import enum
import json
import logging
import math
import re
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from webui.api.models.constraints import Choice, Range


class RequestModel(BaseModel):
    """Requests refuse unknown fields: a typo must not be silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)

    def revalidated(self, **changes: Any) -> Self:
        """A copy with `changes` (python field names), validated again as a whole: the
        helpers below build on it, so no caller edits the vendor's dicts. Raises
        InvalidRequestError naming the field, like any request built from a form."""
        from webui.api.validation import parse_request  # validation imports the models

        return parse_request(type(self), {**self.model_dump(exclude_none=True), **changes})

    def with_callback_url(self, url: str | None) -> Self:
        """The request with the callback URL the service posts the result to (or none)."""
        return self.revalidated(callbackUrl=url)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object to send: vendor field names, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_body(self) -> bytes:
        """The exact bytes sent (and signed)."""
        return json.dumps(self.to_wire(), ensure_ascii=False, separators=(",", ":")).encode()


class ResponseModel(BaseModel):
    """Responses ignore unknown fields: the vendor adds fields without notice."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- scalar types -----------------------------------------------------------------------------

SEED_RANGE = Range(-1, 2**32 - 1)


def _seed_in(value: Any) -> Any:
    """Seeds arrive as "1221212", 1221212 or "-1" (ruling 2)."""
    if isinstance(value, bool):
        raise PydanticCustomError("seed", "must be a whole number (-1 for random), got {got}",
                                  {"got": repr(value)})
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+", text):
            raise PydanticCustomError(
                "seed", "must be a whole number (-1 for random), got {got}", {"got": repr(value)}
            )
        return int(text)
    return value


# Sent as a string ("-1" = random), read from a string or an int.
Seed = Annotated[
    int,
    BeforeValidator(_seed_in),
    SEED_RANGE,
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]

log = logging.getLogger(__name__)


def _lenient(value: Any, handler: ValidatorFunctionWrapHandler, info: Any) -> Any:
    """A response field the service may send in an odd shape: the value when it validates,
    else None with the raw value logged. One odd field must never fail a billed answer."""
    try:
        return handler(value)
    except (ValidationError, ValueError, TypeError):
        log.warning("ignoring %s=%r in the service's answer: not the documented type",
                    info.field_name or "a field", value if not isinstance(value, str)
                    else value[:80])
        return None


Lenient = WrapValidator(_lenient)

# Read-only seed in responses: "123", 123, or anything else read as unknown (None).
ResultSeed = Annotated[int | None, BeforeValidator(lambda v: _seed_in(v) if v != "" else None),
                       Lenient]  # last: it wraps the validators before it

MAX_URL_CHARS = 4096


def _http_url(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not re.match(r"^https?://[^\s/]+", text, re.IGNORECASE):
            raise PydanticCustomError(
                "url", "must be an http:// or https:// URL, got {got}", {"got": repr(value[:80])}
            )
        return text
    return value


HttpUrl = Annotated[
    str, BeforeValidator(_http_url), StringConstraints(max_length=MAX_URL_CHARS)
]

# Caller-chosen task ids key the callback URL and the store: short and URL-safe (ruling 9).
TaskId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]

# Any id the service may hold, for queries: a task made by another client may use ":" or
# "/". Only printable text (it is echoed in logs and messages).
AnyTaskId = Annotated[str, StringConstraints(min_length=1, max_length=256,
                                             pattern=r"^[^\x00-\x1f\x7f]+$")]

MAX_PROMPT_CHARS = 8000  # not in the reference; bounds cost and the size of infotext
Prompt = Annotated[str, StringConstraints(max_length=MAX_PROMPT_CHARS)]


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank", "must not be empty (it holds only spaces)")
    return text


RequiredPrompt = Annotated[
    str, StringConstraints(strip_whitespace=False, min_length=1, max_length=MAX_PROMPT_CHARS),
    AfterValidator(_not_blank),
]

SAMPLERS: tuple[str, ...] = (
    "Euler a", "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "DPM++ 2S a", "DPM++ 2M",
    "DPM++ SDE", "DPM fast", "DPM adaptive", "LMS Karras", "DPM2 Karras", "DPM2 a Karras",
    "DPM++ 2S a Karras", "DPM++ SDE Karras", "DPM++ 2M Karras",
)
Sampler = Annotated[str, Choice(SAMPLERS)]

OUTPUT_FORMATS: tuple[str, ...] = ("jpg", "png")  # jpg is the service's default


def required_text(description: str, **kwargs: Any) -> Any:
    return Field(..., description=description, min_length=1, **kwargs)


# --- task states ------------------------------------------------------------------------------


class TaskState(enum.StrEnum):
    """One vocabulary for SD tasks and tool tasks."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    GENERATING = "generating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED)


# queryTaskInfo status codes: 3 queued, 5 uploading, 1 generating, 2 success, 0 failed.
SD_STATUS: dict[int, TaskState] = {
    3: TaskState.QUEUED,
    5: TaskState.UPLOADING,
    1: TaskState.GENERATING,
    2: TaskState.SUCCEEDED,
    0: TaskState.FAILED,
}
SD_STATUS_CODE: dict[TaskState, int] = {state: code for code, state in SD_STATUS.items()}


# --- response envelope ------------------------------------------------------------------------


class Envelope(ResponseModel):
    code: Annotated[str, BeforeValidator(str)]
    msg: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == "200"


class Page(ResponseModel):
    total: int
    pageSize: int
    pageNum: int


def int_or_none(value: Any) -> Any:
    """Status fields come as 2 or "2" (the tool tables say string, the examples send ints);
    2.0 is 2. Anything else (2.5, "done", [], true) is logged with its raw value and read as
    unknown (None): ruling 5 treats an unknown status as still running."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if text == "":
            return None
    log.warning("status-like field with a value that is not a whole number: %r",
                value if not isinstance(value, str) else value[:80])
    return None


LenientInt = Annotated[int | None, BeforeValidator(int_or_none)]
# An id the service reports (taskId, businessTaskId, id_task): a string or a number.
LenientId = Annotated[str | None,
                      BeforeValidator(lambda v: str(v) if isinstance(v, int | float)
                                      and not isinstance(v, bool) else v), Lenient]
LenientText = Annotated[str | None, Lenient]
LenientBool = Annotated[bool | None, Lenient]
