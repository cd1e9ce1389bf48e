"""X/Y/Z plot: axis values parsed as A1111's `scripts/xyz_grid.py` parses them, and a cell plan.

Pure: no gradio, no numpy, no I/O. The UI passes the axis type, the text typed in the
"X values" box and the lists to check choices against; it gets back an `Axis` (or an
`XYZError` naming the axis), and `plan()` turns up to three axes into one `Cell` per
combination, each with the form overrides to submit.

Value syntax (A1111's):
- comma lists, read by `csv.reader` (quotes protect commas: `"a, b", c`; a new line also
  separates), each item stripped;
- whole-number ranges: `1-5` (1..5), `1-5 (+2)` (1, 3, 5), `10-1 (-3)` (10, 7, 4: the end is
  moved one *up* as A1111 does, so a falling range stops short of it), `1-10 [5]` (five values
  evenly spaced, truncated to whole numbers: 1, 3, 5, 7, 10);
- decimal ranges: `1.5-3 (+0.5)` (1.5, 2, 2.5, 3: `arange(start, end + step, step)`),
  `1-2 [3]` (1, 1.5, 2: `linspace`). The arithmetic is numpy's, step for step, so values
  match A1111's to the last bit.
A range that yields no value (`10-1` without a step, `[0]`), a zero step, or more than
`MAX_AXIS_VALUES` values is refused, where A1111 would crash or plot nothing.

LoRA weight (not an A1111 axis): `name: 0.2, 0.6, 1` or `name: 0-1 [5]` - the LoRA's name, a
colon, then weights in the decimal syntax. Each cell sets `<lora:name:w>` in the prompt:
an existing tag for that LoRA gets the weight, otherwise the tag is appended.
"""

from __future__ import annotations

import csv
import enum
import math
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from io import StringIO
from itertools import chain, product
from typing import Any

from webui.api.models import (
    MAX_PROMPT_CHARS,
    SAMPLERS,
    OverrideSettings,
    Range,
    Text2ImageRequest,
    bounds_of,
)
from webui.api.models.common import SEED_RANGE
from webui.core.scripts.common import RANDOM_SEEDS
from webui.messages import Msg, key_of_text

MAX_CELLS = 256  # images one plot may ask for (before batch count x batch size)
MAX_AXIS_VALUES = 1024  # a range is refused past this, before it is expanded
LORA_WEIGHT_RANGE = Range(-5, 5)  # ours: A1111 has no LoRA axis; wide enough for any use


class XYZError(ValueError):
    """A value refused before anything is sent. `axis` is "X", "Y" or "Z" (None: the plan);
    `msg` says what, rendered in the visitor's language where it is shown (`str()`: English)."""

    def __init__(self, msg: Msg, axis: str | None = None) -> None:
        super().__init__(str(msg))
        self.msg = msg
        self.axis = axis


class AxisValueError(ValueError):
    """One value or range of an axis refused; `msg` says why (`parse_axis` names the axis)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(str(msg))
        self.msg = msg


# The boxes' labels ("X values"), the prefix of a refusal; another name is shown as it is.
_VALUES_LABELS = {
    "X": Msg("scripts.x_values"), "Y": Msg("scripts.y_values"), "Z": Msg("scripts.z_values")
}
_TYPE_LABELS = {"X": Msg("scripts.x_type"), "Y": Msg("scripts.y_type"), "Z": Msg("scripts.z_type")}


def named(field: Msg | str, problem: Msg | str) -> Msg:
    """A refusal after the label of the field it is about: "X values: ..."."""
    return Msg("scripts.field", field=field, problem=problem)


def values_label(name: str) -> Msg | str:
    return _VALUES_LABELS.get(name, f"{name} values")


def type_label(name: str) -> Msg | str:
    return _TYPE_LABELS.get(name, f"{name} type")


class AxisType(enum.StrEnum):
    """The axes offered, with A1111's labels and in A1111's order (LoRA weight is ours)."""

    NOTHING = "Nothing"
    SEED = "Seed"
    STEPS = "Steps"
    HIRES_STEPS = "Hires steps"
    CFG_SCALE = "CFG Scale"
    PROMPT_SR = "Prompt S/R"
    SAMPLER = "Sampler"
    CHECKPOINT = "Checkpoint name"
    CLIP_SKIP = "Clip skip"
    DENOISING = "Denoising"
    HIRES_UPSCALER = "Hires upscaler"
    VAE = "VAE"
    LORA_WEIGHT = "LoRA weight"

    @property
    def kind(self) -> str:
        """How values parse: "int", "float", "choice", "text" or "none"."""
        return _KIND[self]

    @property
    def shown(self) -> Msg | str:
        """The type's name as the page shows it: its label in the catalogue (A1111's name is
        the English), else the name itself."""
        key = key_of_text(self.value)
        return Msg(key) if key else self.value

    @property
    def bounds(self) -> Range | None:
        """The allowed interval of a numeric axis, read from the request models."""
        return _bounds()[self] if self.kind in ("int", "float") else None

    @property
    def fields(self) -> tuple[str, ...]:
        """The form keys a value sets (Prompt S/R and LoRA weight edit the prompts)."""
        return _FIELDS[self]


_KIND: dict[AxisType, str] = {
    AxisType.NOTHING: "none",
    AxisType.SEED: "int",
    AxisType.STEPS: "int",
    AxisType.HIRES_STEPS: "int",
    AxisType.CFG_SCALE: "float",
    AxisType.PROMPT_SR: "text",
    AxisType.SAMPLER: "choice",
    AxisType.CHECKPOINT: "choice",
    AxisType.CLIP_SKIP: "int",
    AxisType.DENOISING: "float",
    AxisType.HIRES_UPSCALER: "choice",
    AxisType.VAE: "choice",
    AxisType.LORA_WEIGHT: "float",
}

# Keys of the txt2img / img2img forms (`webui.core.builder`). Denoising sets both the img2img
# strength and the Hires. fix one, as A1111's `p.denoising_strength` serves both.
_FIELDS: dict[AxisType, tuple[str, ...]] = {
    AxisType.NOTHING: (),
    AxisType.SEED: ("seed",),
    AxisType.STEPS: ("steps",),
    AxisType.HIRES_STEPS: ("hr_steps",),
    AxisType.CFG_SCALE: ("cfg_scale",),
    AxisType.PROMPT_SR: ("prompt", "negative_prompt"),
    AxisType.SAMPLER: ("sampler",),
    AxisType.CHECKPOINT: ("checkpoint",),
    AxisType.CLIP_SKIP: ("clip_skip",),
    AxisType.DENOISING: ("denoising_strength", "hr_denoising"),
    AxisType.HIRES_UPSCALER: ("hr_upscaler",),
    AxisType.VAE: ("vae",),
    AxisType.LORA_WEIGHT: ("prompt",),
}


def _bounds() -> dict[AxisType, Range | None]:
    return {
        AxisType.SEED: SEED_RANGE,
        AxisType.STEPS: bounds_of(Text2ImageRequest, "steps"),
        AxisType.HIRES_STEPS: bounds_of(Text2ImageRequest, "hr_second_pass_steps"),
        AxisType.CFG_SCALE: bounds_of(Text2ImageRequest, "cfg_scale"),
        AxisType.CLIP_SKIP: bounds_of(OverrideSettings, "CLIP_stop_at_last_layers"),
        AxisType.DENOISING: bounds_of(Text2ImageRequest, "denoising_strength"),
        AxisType.LORA_WEIGHT: LORA_WEIGHT_RANGE,
    }


@dataclass(frozen=True)
class AxisChoices:
    """What choice axes are checked against. None: not checked (taken as typed)."""

    samplers: Sequence[str] | None = SAMPLERS
    checkpoints: Sequence[str] | None = None
    vaes: Sequence[str] | None = None
    upscalers: Sequence[str] | None = None
    loras: Sequence[str] | None = None


VAE_AUTOMATIC = ("none", "automatic", "auto")  # A1111's specials; all mean "no VAE chosen"


# --- value syntax -----------------------------------------------------------------------------

# A1111's expressions; the decimal point is escaped here (A1111's `.` matches any character,
# which only changes which malformed values crash).
_INT = r"[+-]?\s*\d+"
_FLOAT = r"[+-]?\s*\d+(?:\.\d*)?"
RE_RANGE = re.compile(rf"\s*({_INT})\s*-\s*({_INT})(?:\s*\(([+-]\d+)\s*\))?\s*")
RE_RANGE_FLOAT = re.compile(rf"\s*({_FLOAT})\s*-\s*({_FLOAT})(?:\s*\(([+-]\d+(?:\.\d*)?)\s*\))?\s*")
RE_RANGE_COUNT = re.compile(rf"\s*({_INT})\s*-\s*({_INT})(?:\s*\[(\d+)\s*])?\s*")
RE_RANGE_COUNT_FLOAT = re.compile(rf"\s*({_FLOAT})\s*-\s*({_FLOAT})(?:\s*\[(\d+)\s*])?\s*")
_WHOLE = re.compile(r"[+-]?\d+")


def split_values(text: str) -> list[str]:
    """A1111's `csv_string_to_list_strip`: csv rows (one a line), items stripped."""
    return [item.strip() for item in chain.from_iterable(csv.reader(StringIO(text)))]


def join_values(values: Sequence[Any]) -> str:
    """A1111's `list_to_csv_string`: the inverse, quoting where needed (Fill button, infotext)."""
    with StringIO() as out:
        csv.writer(out).writerow(values)
        return out.getvalue().strip()


def linspace(start: float, stop: float, num: int) -> list[float]:
    """`numpy.linspace(start, stop, num).tolist()`, with numpy's arithmetic."""
    if num <= 0:
        return []
    if num == 1:
        return [float(start)]
    step = (stop - start) / (num - 1)
    if step == 0:
        values = [i / (num - 1) * (stop - start) + start for i in range(num)]
    else:
        values = [i * step + start for i in range(num)]
    values[-1] = float(stop)
    return values


def arange_length(start: float, stop: float, step: float) -> int:
    return max(0, math.ceil((stop - start) / step))


def arange(start: float, stop: float, step: float) -> list[float]:
    """`numpy.arange(start, stop, step).tolist()` for floats: numpy fills start + i * delta,
    delta being (start + step) - start."""
    length = arange_length(start, stop, step)
    if length == 0:
        return []
    second = start + step
    delta = second - start
    return [float(start), second, *(start + i * delta for i in range(2, length))][:length]


def _int(text: str) -> int:
    return int(text.replace(" ", ""))


def _float(text: str) -> float:
    return float(text.replace(" ", ""))


def _compact(item: str) -> str:
    """The item without blanks, for the range patterns: their optional blanks then never
    backtrack (a long run of spaces took seconds)."""
    return re.sub(r"\s+", "", item)


def expand_ints(item: str) -> list[int | str]:
    """One item of a whole-number axis: a range's values, or the item itself (checked later)."""
    compact = _compact(item)
    if m := RE_RANGE.fullmatch(compact):
        start, end = _int(m.group(1)), _int(m.group(2)) + 1
        step = int(m.group(3)) if m.group(3) is not None else 1
        if step == 0:
            raise AxisValueError(Msg("scripts.zero_step", item=repr(item)))
        values = range(start, end, step)
        _check_size(item, len(values))
        return list(values)
    if m := RE_RANGE_COUNT.fullmatch(compact):
        count = int(m.group(3)) if m.group(3) is not None else 1
        _check_size(item, count)
        return [int(v) for v in linspace(_int(m.group(1)), _int(m.group(2)), count)]
    return [item]


def expand_floats(item: str) -> list[float | str]:
    """One item of a decimal axis: a range's values, or the item itself (checked later)."""
    compact = _compact(item)
    if m := RE_RANGE_FLOAT.fullmatch(compact):
        start, end = _float(m.group(1)), _float(m.group(2))
        step = float(m.group(3)) if m.group(3) is not None else 1.0
        if step == 0:
            raise AxisValueError(Msg("scripts.zero_step", item=repr(item)))
        _check_size(item, arange_length(start, end + step, step))
        return list(arange(start, end + step, step))
    if m := RE_RANGE_COUNT_FLOAT.fullmatch(compact):
        count = int(m.group(3)) if m.group(3) is not None else 1
        _check_size(item, count)
        return list(linspace(_float(m.group(1)), _float(m.group(2)), count))
    return [item]


def _check_size(item: str, count: int) -> None:
    if count == 0:
        raise AxisValueError(Msg("scripts.range_empty", item=repr(item)))
    if count > MAX_AXIS_VALUES:
        raise AxisValueError(
            Msg("scripts.range_too_long", item=repr(item), count=count, limit=MAX_AXIS_VALUES)
        )


# --- axes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One parsed axis: its values in order, and how each is applied and labelled."""

    type: AxisType = AxisType.NOTHING
    values: tuple[Any, ...] = (None,)
    name: str = "X"  # which box: "X", "Y" or "Z" (for messages)
    lora: str = ""  # LoRA weight only: the LoRA's name

    def __len__(self) -> int:
        return len(self.values)

    def changes(self, form_values: Mapping[str, Any], value: Any) -> dict[str, Any]:
        """The form keys `value` sets, given the form as it stands."""
        kind = self.type
        if kind is AxisType.NOTHING:
            return {}
        if kind is AxisType.PROMPT_SR:
            return self._prompt_sr(form_values, value)
        if kind is AxisType.LORA_WEIGHT:
            return {
                "prompt": set_lora_weight(str(form_values.get("prompt") or ""), self.lora, value)
            }
        return dict.fromkeys(kind.fields, value)

    def apply(self, form_values: Mapping[str, Any], value: Any) -> dict[str, Any]:
        """A new dict of form values with `value` applied (the input is left alone)."""
        return {**form_values, **self.changes(form_values, value)}

    def _prompt_sr(self, form_values: Mapping[str, Any], value: str) -> dict[str, Any]:
        search = self.values[0]
        prompt = str(form_values.get("prompt") or "")
        negative = str(form_values.get("negative_prompt") or "")
        if search not in prompt and search not in negative:
            raise XYZError(
                named(values_label(self.name), Msg("scripts.sr_not_found", search=repr(search))),
                self.name,
            )
        for text in (prompt, negative):  # measured before it is built
            grown = len(text) + text.count(search) * (len(value) - len(search))
            if grown > MAX_PROMPT_CHARS:
                too_long = Msg("scripts.sr_too_long", length=grown, limit=MAX_PROMPT_CHARS)
                raise XYZError(named(values_label(self.name), too_long), self.name)
        return {
            "prompt": prompt.replace(search, value),
            "negative_prompt": negative.replace(search, value),
        }

    def label(self, value: Any) -> str:
        """The grid legend for a value, as A1111 writes it ("Steps: 20", "Euler a", "")."""
        if self.type is AxisType.NOTHING:
            return ""
        if isinstance(value, float):
            value = round(value, 8)
        if self.type in (AxisType.PROMPT_SR, AxisType.SAMPLER):
            return str(value)
        if self.type is AxisType.CHECKPOINT:
            return os.path.basename(str(value))
        if self.type is AxisType.LORA_WEIGHT:
            return f"{self.lora}: {value}"
        return f"{self.type.value}: {value if value is not None else 'None'}"

    def with_resolved_seeds(self, rng: random.Random) -> Axis:
        """Seed axis: each -1 replaced by a random seed (A1111 unless "Keep -1 for seeds")."""
        if self.type is not AxisType.SEED:
            return self
        values = tuple(rng.randrange(RANDOM_SEEDS) if v == -1 else v for v in self.values)
        return replace(self, values=values)


NOTHING = Axis()


def parse_axis(
    axis_type: AxisType | str,
    text: str,
    *,
    name: str = "X",
    choices: AxisChoices | None = None,
) -> Axis:
    """Read the text of an axis box; refuse a bad value with an `XYZError` naming the axis."""
    try:
        kind = AxisType(axis_type)
    except ValueError:
        unknown = Msg("scripts.unknown_axis", got=repr(axis_type))
        raise XYZError(named(type_label(name), unknown), name) from None
    choices = choices or AxisChoices()
    if kind is AxisType.NOTHING:
        return Axis(name=name)

    def refuse(problem: Msg | str) -> XYZError:
        return XYZError(named(values_label(name), problem), name)

    lora = ""
    if kind is AxisType.LORA_WEIGHT:
        lora, sep, text = text.partition(":")
        lora = lora.strip()
        if not sep or not lora:
            raise refuse(Msg("scripts.lora_name_first"))
        if choices.loras is not None and lora not in choices.loras:
            raise refuse(Msg("scripts.unknown_lora", got=repr(lora)))

    items = split_values(text)
    if not items:
        raise refuse(Msg("scripts.no_values", axis=kind.shown))
    try:
        if kind.kind in ("int", "float"):
            expand, read = (expand_ints, _whole) if kind.kind == "int" else \
                (expand_floats, _decimal)
            values: list[Any] = []
            for item in items:  # the total is bounded as it grows, not once all is built
                values += [read(v, kind) for v in expand(item)]  # type: ignore[operator]
                if len(values) > MAX_AXIS_VALUES:
                    raise AxisValueError(Msg("scripts.too_many_values", limit=MAX_AXIS_VALUES))
        elif kind.kind == "choice":
            values = [_choose(v, kind, choices) for v in items]
        else:
            values = items
    except ValueError as error:  # ours carry a message; any other is shown as it is
        raise refuse(getattr(error, "msg", None) or str(error)) from None
    bounds = kind.bounds
    for value in values:
        if bounds is not None and not bounds.contains(value):
            raise refuse(_out_of_range(kind, bounds, value))
    return Axis(type=kind, values=tuple(values), name=name, lora=lora)


def _number(value: float) -> str:
    """1.0 -> "1", 0.5 -> "0.5": a bound as a person writes it (as `Range.describe`)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _out_of_range(kind: AxisType, bounds: Range, value: float) -> Msg:
    """Every axis's bounds are a closed interval (a test holds them to it)."""
    shown = round(value, 8) if isinstance(value, float) else value
    return Msg("scripts.axis_out_of_range", axis=kind.shown, minimum=_number(bounds.lo or 0),
               maximum=_number(bounds.hi or 0), got=shown)


def _whole(value: int | str, kind: AxisType) -> int:
    if isinstance(value, int):
        return value
    if not _WHOLE.fullmatch(value):
        raise AxisValueError(Msg("scripts.not_whole", got=repr(value), axis=kind.shown))
    return int(value)


def _decimal(value: float | str, kind: AxisType) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        raise AxisValueError(Msg("scripts.not_number", got=repr(value), axis=kind.shown)) from None


def _choose(value: str, kind: AxisType, choices: AxisChoices) -> Any:
    if not value:
        raise AxisValueError(Msg("scripts.empty_value", axis=kind.shown))
    if kind is AxisType.SAMPLER:
        return _match(value, choices.samplers, Msg("scripts.unknown_sampler", got=repr(value)))
    if kind is AxisType.CHECKPOINT:
        unknown = Msg("scripts.unknown_checkpoint", got=repr(value))
        return _match(value, choices.checkpoints, unknown, substring=True)
    if kind is AxisType.VAE:
        if value.lower() in VAE_AUTOMATIC:
            return None
        unknown = Msg("scripts.unknown_vae", got=repr(value))
        return _match(value, choices.vaes, unknown, substring=True, case_sensitive=False)
    return _match(value, choices.upscalers, Msg("scripts.unknown_upscaler", got=repr(value)))


def _match(
    value: str,
    known: Sequence[str] | None,
    unknown: Msg,
    *,
    substring: bool = False,
    case_sensitive: bool = True,
) -> str:
    """The listed spelling of `value`: exact, then any case, then (checkpoints and VAEs, as
    A1111's closest match) the shortest name containing it."""
    if known is None:
        return value
    if value in known:
        return value
    folded = [name for name in known if name.casefold() == value.casefold()]
    if folded:
        return folded[0]
    if substring:
        if case_sensitive:
            found = [name for name in known if value in name]
        else:
            found = [name for name in known if value.lower() in name.lower()]
        if found:
            return min(found, key=len)
    raise AxisValueError(unknown)


def set_lora_weight(prompt: str, name: str, weight: float) -> str:
    """`<lora:name:weight>` in the prompt: every tag of that LoRA re-weighted, else appended."""
    tag = f"<lora:{name}:{weight:g}>"
    pattern = re.compile(r"<lora:" + re.escape(name) + r"(?::[^>]*)?>")
    if pattern.search(prompt):
        return pattern.sub(lambda _: tag, prompt)
    return f"{prompt.rstrip(' ,')}, {tag}" if prompt.strip() else tag


# --- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One image of the plot: its place, its axis values and what it changes in the form."""

    ix: int
    iy: int
    iz: int
    values: tuple[Any, Any, Any]
    labels: tuple[str, str, str]
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def indices(self) -> tuple[int, int, int]:
        return (self.ix, self.iy, self.iz)

    def apply(self, form_values: Mapping[str, Any]) -> dict[str, Any]:
        """The form values this cell submits."""
        return {**form_values, **self.overrides}


def plan(
    x: Axis = NOTHING,
    y: Axis = NOTHING,
    z: Axis = NOTHING,
    *,
    form_values: Mapping[str, Any] | None = None,
    keep_random_seeds: bool = False,
    rng: random.Random | None = None,
    max_cells: int = MAX_CELLS,
) -> list[Cell]:
    """One cell per combination, x varying fastest (A1111's image order: ix + iy*nx + iz*nx*ny).

    Unless `keep_random_seeds` ("Keep -1 for seeds"), a -1 seed in the form and each -1 on a
    Seed axis is drawn once from `rng`, as A1111 does, so every cell shares it and the cells
    differ only by their axes. Axes are applied x, then y, then z, each on the form as the
    previous left it; Prompt S/R fails (naming its axis) if its first value is not found.
    """
    total = len(x) * len(y) * len(z)
    if total > max_cells:
        raise XYZError(Msg("scripts.too_many_cells", total=total, x=len(x), y=len(y), z=len(z),
                           limit=max_cells))
    form = dict(form_values or {})
    base: dict[str, Any] = {}
    if not keep_random_seeds:
        rng = rng or random.Random()
        if form.get("seed") in (-1, "-1", None, ""):
            base["seed"] = rng.randrange(RANDOM_SEEDS)
        x, y, z = (a.with_resolved_seeds(rng) for a in (x, y, z))
    form.update(base)

    cells = []
    for (iz, vz), (iy, vy), (ix, vx) in product(
        enumerate(z.values), enumerate(y.values), enumerate(x.values)
    ):
        current, overrides = dict(form), dict(base)
        for axis, value in ((x, vx), (y, vy), (z, vz)):
            change = axis.changes(current, value)
            current.update(change)
            overrides.update(change)
        cells.append(
            Cell(ix, iy, iz, (vx, vy, vz), (x.label(vx), y.label(vy), z.label(vz)), overrides)
        )
    return cells
