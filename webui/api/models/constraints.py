"""Field constraints that explain themselves.

`Range` and `Choice` are attached to fields with `Annotated[...]`. They do three jobs from one
declaration: validate (with a message that states the rule and the offending value), publish
the bounds in the JSON schema, and let the UI read slider bounds and dropdown choices from the
model itself (`bounds_of(Model, "width")`), so each limit is written once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from webui.messages import Msg


def _num(value: float) -> str:
    """1.0 -> '1', 0.5 -> '0.5': how a person writes a bound."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Constraint:
    """Runs `check` after the field's own type validation."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))


@dataclass(frozen=True)
class Range(_Constraint):
    """A closed or half-open numeric interval, optionally restricted to a step."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    multiple_of: int | None = None
    also: tuple[float, ...] = ()  # single values allowed besides the interval (e.g. -1)

    def describe(self) -> str:
        """The rule in English, for the JSON schema (`rule()` is the same rule as a message)."""
        parts = [" or ".join(_num(v) for v in self.also) + " or"] if self.also else []
        if self.multiple_of:
            parts.append(f"a multiple of {self.multiple_of}")
        if self.lo is not None and self.hi is not None:
            left = "(" if self.lo_open else "["
            right = ")" if self.hi_open else "]"
            parts.append(f"in {left}{_num(self.lo)}, {_num(self.hi)}{right}")
        elif self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {_num(self.lo)}")
        elif self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {_num(self.hi)}")
        return " ".join(parts)

    def parts(self) -> dict[str, Any]:
        """The rule in pieces that hold no words (the interval "[64, 2048]", a one-sided bound,
        the step, the values allowed besides), so a message can say it in any language."""
        parts: dict[str, Any] = {}
        if self.also:
            parts["also"] = [_num(v) for v in self.also]
        if self.multiple_of:
            parts["multiple_of"] = self.multiple_of
        if self.lo is not None and self.hi is not None:
            left = "(" if self.lo_open else "["
            right = ")" if self.hi_open else "]"
            parts["range"] = f"{left}{_num(self.lo)}, {_num(self.hi)}{right}"
        elif self.lo is not None:
            parts["above" if self.lo_open else "at_least"] = _num(self.lo)
        elif self.hi is not None:
            parts["below" if self.hi_open else "at_most"] = _num(self.hi)
        return parts

    def rule(self) -> Msg:
        """The rule as a message ("in [1, 30]", "在 [1, 30] 之内"): `describe()`, translated."""
        return range_rule(self.parts())

    def contains(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if value in self.also:
            return True
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        if self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi):
            return False
        return not (self.multiple_of and value % self.multiple_of != 0)

    def check(self, value: Any) -> Any:
        if value is None or isinstance(value, bool) or self.contains(value):
            return value
        raise PydanticCustomError(
            "out_of_range",
            "must be {rule}, got {got}",
            {"rule": self.describe(), "got": _num(value), **self.parts()},
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if self.also:  # the interval alone would not describe the extra values
            json_schema["description"] = (json_schema.get("description", "") + " "
                                          + self.describe()).strip()
            return json_schema
        if self.lo is not None:
            json_schema["exclusiveMinimum" if self.lo_open else "minimum"] = self.lo
        if self.hi is not None:
            json_schema["exclusiveMaximum" if self.hi_open else "maximum"] = self.hi
        if self.multiple_of:
            json_schema["multipleOf"] = self.multiple_of
        return json_schema


@dataclass(frozen=True)
class Choice(_Constraint):
    """One of a fixed list of values (the vendor's enums are strings or small ints)."""

    values: tuple[Any, ...]

    def describe(self) -> str:
        """The rule in English, for the JSON schema (`rule()` is the same rule as a message)."""
        return "one of " + self.listed()

    def listed(self) -> str:
        """The values as the user types them (not translated: they are the wire's values)."""
        return ", ".join(str(v) for v in self.values)

    def rule(self) -> Msg:
        return choice_rule({"choices": self.listed()})

    def check(self, value: Any) -> Any:
        if value is None or value in self.values:
            return value
        raise PydanticCustomError(
            "not_a_choice",
            "must be {rule}, got {got}",
            {"rule": self.describe(), "got": repr(value), "choices": self.listed()},
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["enum"] = list(self.values)
        return json_schema


def range_rule(parts: Mapping[str, Any]) -> Msg:
    """The message of a `Range` rule from its `parts()` (also the context of an
    "out_of_range" error). English: exactly `Range.describe()`."""
    multiple = parts.get("multiple_of")
    rule: Msg
    if "range" in parts:
        rule = (Msg("range.multiple_in", multiple_of=multiple, range=parts["range"]) if multiple
                else Msg("range.in", range=parts["range"]))
    else:
        bound = _one_sided(parts)
        if multiple and bound:
            rule = Msg("range.multiple_and", multiple_of=multiple, rule=bound)
        elif multiple:
            rule = Msg("range.multiple", multiple_of=multiple)
        else:
            rule = bound or Msg("range.any")
    for value in reversed(parts.get("also") or ()):  # "-1 or in [64, 2048]"
        rule = Msg("range.or_value", value=value, rule=rule)
    return rule


def _one_sided(parts: Mapping[str, Any]) -> Msg | None:
    if "at_least" in parts:
        return Msg("range.at_least", minimum=parts["at_least"])
    if "above" in parts:
        return Msg("range.above", minimum=parts["above"])
    if "at_most" in parts:
        return Msg("range.at_most", maximum=parts["at_most"])
    if "below" in parts:
        return Msg("range.below", maximum=parts["below"])
    return None


def choice_rule(parts: Mapping[str, Any]) -> Msg:
    """The message of a `Choice` rule from the context of a "not_a_choice" error."""
    return Msg("choice.one_of", choices=parts["choices"])


def _constraint_of(model: type[BaseModel], field: str, kind: type) -> Any:
    info = model.model_fields[field]
    for item in info.metadata:
        if isinstance(item, kind):
            return item
    return None


def bounds_of(model: type[BaseModel], field: str) -> Range | None:
    """The `Range` declared on a field, for sliders and help texts."""
    return _constraint_of(model, field, Range)


def choices_of(model: type[BaseModel], field: str) -> tuple[Any, ...]:
    """The allowed values declared on a field, for dropdowns."""
    choice = _constraint_of(model, field, Choice)
    return choice.values if choice else ()


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
