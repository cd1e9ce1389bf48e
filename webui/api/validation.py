"""Turn pydantic's validation errors into messages that name the field and the rule.

`parse_request(Model, data)` is the one entry point used by the client, the offline backend
and the UI, so a bad value reads the same wherever it is caught. Each `FieldIssue` carries the
sentence as a message by key (`issue.msg`, "width must be ... , got 1020" / "width 必须是
...，当前为 1020") and in English (`issue.message`); the field's wire path and the values are
parameters, never translated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from webui.api.errors import FieldIssue, InvalidRequestError
from webui.api.models.constraints import choice_rule, range_rule
from webui.messages import Msg

M = TypeVar("M", bound=BaseModel)

Error = dict[str, Any]  # one item of `ValidationError.errors()`


def _got(error: Error) -> str:
    """The offending value as the message shows it (repr, long text cut)."""
    value = error.get("input")
    if isinstance(value, str) and len(value) > 60:
        value = value[:57] + "..."
    return repr(value)


def _ctx(error: Error) -> dict[str, Any]:
    return error.get("ctx") or {}


def _too_short(error: Error) -> Msg:
    minimum = _ctx(error).get("min_length")
    return Msg("field.empty") if minimum == 1 else Msg("field.too_few_characters",
                                                       minimum=minimum)


def _size_needed(error: Error) -> Msg:
    ctx = _ctx(error)
    missing = list(ctx.get("fields") or [])
    named: Any = missing[-1] if missing else ""
    for earlier in reversed(missing[:-1]):  # "upscalingResizeW and upscalingResizeH"
        named = Msg("field.and", first=earlier, rest=named)
    return Msg("field.size_needed", field=ctx.get("field"), missing=named, range=ctx.get("range"))


# pydantic's error type (and ours, from `PydanticCustomError`) -> what to say after the field's
# name. A type not listed says pydantic's own English sentence.
_PROBLEMS: dict[str, Callable[[Error], Msg]] = {
    "missing": lambda e: Msg("field.missing"),
    "extra_forbidden": lambda e: Msg("field.extra_forbidden"),
    "int_type": lambda e: Msg("field.not_whole_number", got=_got(e)),
    "int_parsing": lambda e: Msg("field.not_whole_number", got=_got(e)),
    "int_parsing_size": lambda e: Msg("field.not_whole_number", got=_got(e)),
    "int_from_float": lambda e: Msg("field.not_whole_number", got=_got(e)),
    "float_type": lambda e: Msg("field.not_number", got=_got(e)),
    "float_parsing": lambda e: Msg("field.not_number", got=_got(e)),
    "finite_number": lambda e: Msg("field.not_finite", got=_got(e)),
    "bool_type": lambda e: Msg("field.not_bool", got=_got(e)),
    "bool_parsing": lambda e: Msg("field.not_bool", got=_got(e)),
    "string_type": lambda e: Msg("field.not_text", got=_got(e)),
    "model_type": lambda e: Msg("field.not_object"),
    "model_attributes_type": lambda e: Msg("field.not_object"),
    "dict_type": lambda e: Msg("field.not_object"),
    "list_type": lambda e: Msg("field.not_list"),
    "string_too_short": _too_short,
    "string_too_long": lambda e: Msg("field.too_many_characters",
                                     maximum=_ctx(e).get("max_length"), length=len(e["input"])),
    "too_short": lambda e: Msg("field.too_few_items", minimum=_ctx(e).get("min_length")),
    "too_long": lambda e: Msg("field.too_many_items", maximum=_ctx(e).get("max_length")),
    "string_pattern_mismatch": lambda e: Msg("field.bad_characters", got=repr(e["input"])),
    # ours (webui/api/models)
    "out_of_range": lambda e: Msg("field.must_be", rule=range_rule(_ctx(e)),
                                  got=_ctx(e).get("got")),
    "not_a_choice": lambda e: Msg("field.must_be", rule=choice_rule(_ctx(e)),
                                  got=_ctx(e).get("got")),
    "seed": lambda e: Msg("field.seed", got=_ctx(e).get("got")),
    "url": lambda e: Msg("field.url", got=_ctx(e).get("got")),
    "blank": lambda e: Msg("field.blank"),
    "not_before": lambda e: Msg("field.not_before", other=_ctx(e).get("other"),
                                start=_ctx(e).get("start"), got=_ctx(e).get("got")),
    "unit_needs_image": lambda e: Msg("field.unit_needs_image", index=_ctx(e).get("index"),
                                      link=_ctx(e).get("link")),
    "size_needed": _size_needed,
}


def _problem(error: Error) -> Msg:
    kind = error["type"]
    problem = _PROBLEMS.get(kind)
    if problem:
        return problem(error)
    if kind == "value_error":  # a validator that raised ValueError: its own sentence
        return Msg("error.plain", text=str(_ctx(error).get("error", error["msg"])))
    return Msg("error.plain", text=error["msg"])


def field_path(loc: tuple[Any, ...]) -> str:
    """('alwayson_scripts', 'ADetailer', 'args', 0, 'ad_steps') ->
    'alwayson_scripts.ADetailer.args[0].ad_steps'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def issue_msg(path: str, problem: Msg) -> Msg:
    """"width" + "must be ..." -> "width must be ..." (a check of the whole request, with no
    path, names its fields itself)."""
    return Msg("field.named", field=path, problem=problem) if path else problem


def issues_from(error: ValidationError) -> list[FieldIssue]:
    issues = []
    for item in error.errors(include_url=False):
        path = field_path(item["loc"])
        msg = issue_msg(path, _problem(item))
        context = {k: v for k, v in (item.get("ctx") or {}).items() if k != "error"}
        issues.append(FieldIssue(path, str(msg), item["type"], context, msg))
    return issues


def parse_request(model: type[M], data: Any, endpoint: str | None = None) -> M:
    """Validate `data` (a model instance or a dict with the vendor's field names)."""
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(by_alias=True, exclude_none=True)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError(issues_from(exc), endpoint) from None
