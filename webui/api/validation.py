"""Turn pydantic's validation errors into sentences that name the field and the rule.

`parse_request(Model, data)` is the one entry point used by the client, the offline backend
and the UI, so a bad value reads the same wherever it is caught.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from webui.api.errors import FieldIssue, InvalidRequestError

M = TypeVar("M", bound=BaseModel)

# pydantic error type -> what to say after the field name. `{input}` is the offending value.
_SENTENCES: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "int_type": "must be a whole number, got {input!r}",
    "int_parsing": "must be a whole number, got {input!r}",
    "int_from_float": "must be a whole number, got {input!r}",
    "float_type": "must be a number, got {input!r}",
    "float_parsing": "must be a number, got {input!r}",
    "finite_number": "must be a finite number, got {input!r}",
    "bool_type": "must be true or false, got {input!r}",
    "bool_parsing": "must be true or false, got {input!r}",
    "string_type": "must be text, got {input!r}",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
}


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


def _sentence(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("out_of_range", "not_a_choice", "seed", "url"):
        return error["msg"]
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must be at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters, got {len(error['input'])}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"has characters that are not allowed, got {error['input']!r}"
    if kind == "value_error":
        # Raised by our own validators with a full sentence already.
        return str(ctx.get("error", error["msg"]))
    template = _SENTENCES.get(kind)
    if template:
        return template.format(input=_clip(error.get("input")))
    return error["msg"]


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


def issues_from(error: ValidationError) -> list[FieldIssue]:
    issues = []
    for item in error.errors(include_url=False):
        path = field_path(item["loc"])
        sentence = _sentence(item)
        message = f"{path} {sentence}" if path else sentence
        context = {k: v for k, v in (item.get("ctx") or {}).items() if k != "error"}
        issues.append(FieldIssue(path, message, item["type"], context))
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
