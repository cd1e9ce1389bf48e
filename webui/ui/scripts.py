"""The "Script" dropdown of txt2img and img2img, as A1111 shows it, and the plan it stands for.

`build_scripts(tab, img2img=...)` lays out the dropdown and one group of controls per script
(shown only while chosen); `ScriptControls.plan(data, values, ...)` reads the controls from the
dict Gradio passes and turns the tab's form values into a `ScriptPlan`: one `ScriptCell` per
image (one task each), with the form keys to set, what goes into the task's record (`meta`) and
what the grid is drawn from (`layout`). The parsing is `webui/core/scripts`'; this module only
reads the controls, and reads them as untrusted: a scripted client may send any value, so each
is coerced and bounded here, and a refusal (`XYZError` / `PromptScriptError`) names the field
by its label ("X values: ...", "List of prompt inputs: line 3: ..."): its `msg` is rendered in
the visitor's language where it is shown (`toasts.warn(error)`).

`wildcard_prompt(values, wildcards, rng)` expands `{a|b}` / `__name__` in a plain task's prompt
from its seed, so the same syntax works in every script's cells.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import gradio as gr

from webui.api.models import MAX_PROMPT_CHARS
from webui.core.scripts import xyz
from webui.core.scripts.common import RANDOM_SEEDS, PromptScriptError
from webui.core.scripts.from_file import PromptPosition, parse_prompt_lines, prompt_file_jobs
from webui.core.scripts.matrix import Delimiter, PromptType, plan_prompt_matrix
from webui.core.scripts.wildcards import Wildcards, _Text, expand_all, expand_random, parse_template
from webui.core.scripts.xyz import AxisChoices, AxisType, XYZError, named, type_label, values_label
from webui.messages import Language, Msg

MAX_CELLS = xyz.MAX_CELLS  # images one script may plan (the submission service's batch cap)
MAX_AXIS_CHARS = 16 * 1024  # one "X values" box; refused before it is parsed
MAX_PROMPTS_CHARS = 256 * 1024  # the "List of prompt inputs" box
MAX_MARGIN = 500  # A1111's "Grid margins (px)" slider
DEFAULT_GENERATIONS = 64
_SHOWN_CHARS = 60  # of a refused value, echoed in the message


class Script(enum.StrEnum):
    """The dropdown's choices, A1111's names and order (the dynamic prompts one is ours)."""

    NONE = "None"
    PROMPT_MATRIX = "Prompt matrix"
    PROMPTS_FROM_FILE = "Prompts from file or textbox"
    XYZ = "X/Y/Z plot"
    DYNAMIC_PROMPTS = "Dynamic prompts (all combinations)"


def axis_types(img2img: bool) -> list[AxisType]:
    """The axis types a tab offers: img2img has Denoising, txt2img the Hires. fix ones."""
    left_out = {AxisType.HIRES_STEPS, AxisType.HIRES_UPSCALER} if img2img else {AxisType.DENOISING}
    return [kind for kind in AxisType if kind not in left_out]


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptCell:
    """One image: the form keys it sets on top of the tab's values, and its record's extra
    (JSON-able: `{"cell": i}`, `{"line": n}` or `{"template": text}`)."""

    overrides: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScriptPlan:
    """What a Generate with a script sends: `script` is the dropdown's choice ("" for None),
    `cells` in the grid's order, `layout` (JSON-able) what the grid is drawn from: `kind` is
    "xyz", "matrix" or "list" (no grid)."""

    script: str
    cells: list[ScriptCell]
    layout: dict[str, Any] = field(default_factory=lambda: {"kind": "list"})

    @property
    def count(self) -> int:
        return len(self.cells)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}..."


# The controls' labels that refusals are named by (the page shows them, translated, too)
PROMPT_LABEL = Msg("prompt.prompt")
MARGIN_LABEL = Msg("scripts.grid_margins_px")
MAX_GENERATIONS_LABEL = Msg("scripts.max_generations")


def _prompt_error(msg: Msg) -> PromptScriptError:
    return PromptScriptError(msg, "invalid_field")


class _Embedded(Msg):
    """A sentence of its own placed after a label's colon: in English its first word loses
    its capital ("Line 3: ..." -> "List of prompt inputs: line 3: ..."), as "X values" keeps
    it; other languages are as written."""

    __slots__ = ()

    def __init__(self, inner: Msg) -> None:
        super().__init__(inner.key, **inner.params)

    def render(self, language: Language = Language.EN) -> str:
        text = super().render(language)
        if language is Language.EN and text[:1].isupper() and text[1:2].islower():
            return text[0].lower() + text[1:]
        return text


def _named(label: Msg | str, error: PromptScriptError, see: Msg | None = None
           ) -> PromptScriptError:
    """The core's refusal, prefixed with the field's label; `see`: the control that sets the
    limit it hit, in brackets after it ("... (Max generations)")."""
    problem = _Embedded(error.msg)
    msg = named(label, problem) if see is None else \
        Msg("scripts.field_see", field=label, problem=problem, see=see)
    return PromptScriptError(msg, error.kind, error.context)


@dataclass(frozen=True)
class _Field:
    """Reads one control's value from Gradio's dict, refusing what its control cannot send."""

    component: Any
    label: Msg | str  # the control's label as the page shows it
    refuse: Callable[[Msg], Exception]

    def raw(self, data: Mapping[Any, Any]) -> Any:
        return data.get(self.component, self.component.value)

    def error(self, problem: Msg) -> Exception:
        return self.refuse(named(self.label, problem))

    def text(self, data: Mapping[Any, Any], limit: int) -> str:
        value = self.raw(data)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.error(Msg("scripts.expected_text", type=type(value).__name__))
        if len(value) > limit:
            raise self.error(Msg("scripts.too_many_chars", length=len(value), limit=limit))
        return value

    def flag(self, data: Mapping[Any, Any]) -> bool:
        value = self.raw(data)
        if value is None:
            return bool(self.component.value)
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise self.error(Msg("scripts.expected_bool", got=_shown(value)))

    def whole(self, data: Mapping[Any, Any], low: int, high: int) -> int:
        value = self.raw(data)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(Msg("scripts.expected_whole", got=_shown(value)))
        if not math.isfinite(value) or not low <= value <= high:
            raise self.error(
                Msg("scripts.out_of_range", minimum=low, maximum=high, got=_shown(value))
            )
        return round(value)

    def choice(
        self, data: Mapping[Any, Any], choices: Sequence[str], unknown: Callable[[str], Msg]
    ) -> str:
        """One of `choices`; else `unknown(what was sent)` names the refusal."""
        value = self.raw(data)
        if not isinstance(value, str) or value not in choices:
            raise self.error(unknown(_shown(value)))
        return value


def _unknown_script(got: str) -> Msg:
    return Msg("scripts.unknown_script", got=got)


def _unknown_axis(got: str) -> Msg:
    return Msg("scripts.unknown_axis", got=got)


def _unknown_prompt_type(got: str) -> Msg:
    return Msg("scripts.unknown_prompt_type", got=got)


def _unknown_joining_char(got: str) -> Msg:
    return Msg("scripts.unknown_joining_char", got=got)


def _unknown_position(got: str) -> Msg:
    return Msg("scripts.unknown_position", got=got)


def _form_int(values: Mapping[str, Any], name: str, default: int) -> int:
    """A whole number of the tab's form (its own checks come later, in the builder); the
    refusal names the form field by its wire name."""
    value = values.get(name, default)
    if value is None or value == "":
        return default
    not_whole = named(name, Msg("scripts.not_whole_value", got=_shown(value)))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _prompt_error(not_whole) from None
    if not math.isfinite(number) or not number.is_integer():
        raise _prompt_error(not_whole)
    return int(number)


# --- controls ---------------------------------------------------------------------------------


@dataclass
class XYZControls:
    x_type: gr.Dropdown
    x_values: gr.Textbox
    y_type: gr.Dropdown
    y_values: gr.Textbox
    z_type: gr.Dropdown
    z_values: gr.Textbox
    draw_legend: gr.Checkbox
    include_sub_images: gr.Checkbox
    keep_random_seeds: gr.Checkbox
    margin: gr.Slider


@dataclass
class MatrixControls:
    put_at_start: gr.Checkbox
    different_seeds: gr.Checkbox
    prompt_type: gr.Radio
    delimiter: gr.Radio
    margin: gr.Slider


@dataclass
class FromFileControls:
    iterate_seed: gr.Checkbox
    same_seed: gr.Checkbox
    position: gr.Radio
    prompts: gr.Textbox


@dataclass
class DynamicControls:
    max_generations: gr.Number


def _components(controls: Any) -> set[Any]:
    return {getattr(controls, f.name) for f in fields(controls)}


@dataclass
class ScriptControls:
    script: gr.Dropdown
    groups: dict[Script, gr.Group]  # one per script but None, shown while chosen
    xyz: XYZControls
    matrix: MatrixControls
    from_file: FromFileControls
    dynamic: DynamicControls
    axis_types: list[AxisType]

    @property
    def components(self) -> set[Any]:
        """Every input `plan` reads (pass them as part of the Generate's `inputs` set)."""
        parts = (self.xyz, self.matrix, self.from_file, self.dynamic)
        return {self.script}.union(*(_components(part) for part in parts))

    def chosen(self, data: Mapping[Any, Any]) -> Script:
        script = _Field(self.script, Msg("scripts.script"), _prompt_error)
        name = script.choice(data, list(Script), _unknown_script)
        return Script(name)

    def plan(
        self,
        data: Mapping[Any, Any],
        values: Mapping[str, Any],
        *,
        choices: AxisChoices,
        wildcards: Wildcards | None,
        rng: random.Random | None = None,
    ) -> ScriptPlan:
        """The chosen script's cells over the tab's form `values` (styles applied). `choices`
        checks the X/Y/Z choice axes and a prompts file's --sd_model; `wildcards` serves
        `__name__` in dynamic prompts; `rng` draws the seeds -1 stands for."""
        script = self.chosen(data)
        if script is Script.NONE:
            return ScriptPlan("", [ScriptCell()])
        if script is Script.XYZ:
            return self._xyz(data, values, choices, rng)
        if script is Script.PROMPT_MATRIX:
            return self._matrix(data, values, rng)
        if script is Script.PROMPTS_FROM_FILE:
            return self._from_file(data, values, choices, rng)
        return self._dynamic(data, values, wildcards)

    def _xyz(
        self,
        data: Mapping[Any, Any],
        values: Mapping[str, Any],
        choices: AxisChoices,
        rng: random.Random | None,
    ) -> ScriptPlan:
        c = self.xyz
        offered = [kind.value for kind in self.axis_types]

        def xyz_error(axis: str | None) -> Callable[[Msg], XYZError]:
            return lambda msg: XYZError(msg, axis)

        boxes = (
            ("X", c.x_type, c.x_values),
            ("Y", c.y_type, c.y_values),
            ("Z", c.z_type, c.z_values),
        )
        # every type first: a forged one is named before any values are parsed
        kinds = [
            AxisType(
                _Field(box, type_label(name), xyz_error(name)).choice(data, offered, _unknown_axis)
            )
            for name, box, _ in boxes
        ]
        axes, typed = [], []
        for kind, (name, _, box) in zip(kinds, boxes, strict=True):
            text = ""
            if kind is not AxisType.NOTHING:
                text = _Field(box, values_label(name), xyz_error(name)).text(data, MAX_AXIS_CHARS)
                typed.append([name, kind.value, text.strip()])
            axes.append(xyz.parse_axis(kind, text, name=name, choices=choices))
        general = xyz_error(None)
        draw_legend = _Field(c.draw_legend, Msg("scripts.draw_legend"), general).flag(data)
        sub_images = _Field(c.include_sub_images, Msg("scripts.include_sub_images"), general
                            ).flag(data)
        keep = _Field(c.keep_random_seeds, Msg("scripts.keep_1_for_seeds"), general).flag(data)
        margin = _Field(c.margin, MARGIN_LABEL, general).whole(data, 0, MAX_MARGIN)

        x, y, z = axes
        cells = xyz.plan(
            x, y, z, form_values=values, keep_random_seeds=keep, rng=rng, max_cells=MAX_CELLS
        )
        nx, ny = len(x), len(y)
        by_index = {cell.ix + cell.iy * nx + cell.iz * nx * ny: cell for cell in cells}
        ordered = [by_index[index] for index in sorted(by_index)]
        layout = {
            "kind": "xyz",
            # from the cells: a -1 on a Seed axis is shown as the seed drawn for it
            "x_labels": [by_index[ix].labels[0] for ix in range(nx)],
            "y_labels": [by_index[iy * nx].labels[1] for iy in range(ny)],
            "z_labels": [by_index[iz * nx * ny].labels[2] for iz in range(len(z))],
            "draw_legend": draw_legend,
            "include_sub_images": sub_images,
            "margin": margin,
            "axes": typed,
        }
        return ScriptPlan(
            Script.XYZ.value,
            [ScriptCell(dict(cell.overrides), {"cell": i}) for i, cell in enumerate(ordered)],
            layout,
        )

    def _matrix(
        self, data: Mapping[Any, Any], values: Mapping[str, Any], rng: random.Random | None
    ) -> ScriptPlan:
        c = self.matrix
        at_start = _Field(c.put_at_start, Msg("scripts.put_variable_parts_at_start_of"),
                          _prompt_error)
        different = _Field(c.different_seeds, Msg("scripts.use_different_seed_for_each_picture"),
                           _prompt_error)
        kind = _Field(c.prompt_type, Msg("scripts.select_prompt"), _prompt_error)
        joiner = _Field(c.delimiter, Msg("scripts.select_joining_char"), _prompt_error)
        margin = _Field(c.margin, MARGIN_LABEL, _prompt_error).whole(data, 0, MAX_MARGIN)
        planned = plan_prompt_matrix(
            str(values.get("prompt") or ""),
            str(values.get("negative_prompt") or ""),
            _form_int(values, "seed", -1),
            put_at_start=at_start.flag(data),
            different_seeds=different.flag(data),
            prompt_type=kind.choice(data, list(PromptType), _unknown_prompt_type),
            delimiter=joiner.choice(data, list(Delimiter), _unknown_joining_char),
            limit=MAX_CELLS,
            rng=rng,
        )
        cells = [
            ScriptCell(
                # one image each: A1111's batches hold different prompts, ours cannot
                {
                    "prompt": prompt,
                    "negative_prompt": negative,
                    "seed": seed,
                    "n_iter": 1,
                    "batch_size": 1,
                },
                {"cell": i},
            )
            for i, (prompt, negative, seed) in enumerate(
                zip(planned.prompts, planned.negative_prompts, planned.seeds, strict=True)
            )
        ]
        layout = {
            "kind": "matrix",
            "parts": list(planned.parts),
            "margin": margin,
            "include_sub_images": True,
        }
        return ScriptPlan(Script.PROMPT_MATRIX.value, cells, layout)

    def _from_file(
        self,
        data: Mapping[Any, Any],
        values: Mapping[str, Any],
        choices: AxisChoices,
        rng: random.Random | None,
    ) -> ScriptPlan:
        c = self.from_file
        label = Msg("scripts.list_of_prompt_inputs")
        iterate = _Field(c.iterate_seed, Msg("scripts.iterate_seed_every_line"), _prompt_error
                         ).flag(data)
        same = _Field(c.same_seed, Msg("scripts.use_same_random_seed_for_all"), _prompt_error
                      ).flag(data)
        position = _Field(c.position, Msg("scripts.insert_prompts_at_the"), _prompt_error).choice(
            data, list(PromptPosition), _unknown_position
        )
        text = _Field(c.prompts, label, _prompt_error).text(data, MAX_PROMPTS_CHARS)
        try:
            lines = parse_prompt_lines(text, choices.checkpoints, limit=MAX_CELLS)
        except PromptScriptError as error:
            raise _named(label, error) from None
        if not lines:
            raise PromptScriptError(named(label, Msg("scripts.no_prompts")), "empty")
        base = {
            **values,
            "seed": _form_int(values, "seed", -1),
            "batch_size": _form_int(values, "batch_size", 1),
            "n_iter": _form_int(values, "n_iter", 1),
        }
        jobs = prompt_file_jobs(
            lines, base, iterate_seed=iterate, same_seed=same, position=position, rng=rng
        )
        cells = [
            ScriptCell(
                {k: v for k, v in job.items() if k not in values or values[k] != v},
                {"line": line.number},
            )
            for line, job in zip(lines, jobs, strict=True)
        ]
        return ScriptPlan(Script.PROMPTS_FROM_FILE.value, cells)

    def _dynamic(
        self, data: Mapping[Any, Any], values: Mapping[str, Any], wildcards: Wildcards | None
    ) -> ScriptPlan:
        limit = _Field(self.dynamic.max_generations, MAX_GENERATIONS_LABEL, _prompt_error).whole(
            data, 1, MAX_CELLS
        )
        template = values.get("prompt") or ""
        if not isinstance(template, str):
            expected = Msg("scripts.expected_text", type=type(template).__name__)
            raise _prompt_error(named(PROMPT_LABEL, expected))
        _check_length(template)
        try:
            expansions = expand_all(template, wildcards, limit=limit)
        except PromptScriptError as error:
            see = MAX_GENERATIONS_LABEL if error.kind == "too_many" else None
            raise _named(PROMPT_LABEL, error, see) from None
        cells = [ScriptCell({"prompt": e.text}, {"template": template}) for e in expansions]
        return ScriptPlan(Script.DYNAMIC_PROMPTS.value, cells)


def _check_length(template: str) -> None:
    """A template is a prompt: bounded as the request bounds it, before it is parsed."""
    if len(template) > MAX_PROMPT_CHARS:
        too_long = Msg("scripts.too_many_chars", length=len(template), limit=MAX_PROMPT_CHARS)
        raise _prompt_error(named(PROMPT_LABEL, too_long))


def wildcard_prompt(
    values: Mapping[str, Any], wildcards: Wildcards | None, rng: random.Random | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """For one task: its prompt's `{a|b}` / `__name__` expanded at random from its seed (a -1
    seed drawn first, so the seed sent is the one that chose), as ({"prompt", "seed"}
    overrides, {"template": the prompt as typed}); a prompt without that syntax: ({}, {})."""
    template = values.get("prompt")
    if not isinstance(template, str) or ("{" not in template and "__" not in template):
        return {}, {}
    _check_length(template)
    try:
        nodes = parse_template(template)
    except PromptScriptError as error:
        raise _named(PROMPT_LABEL, error) from None
    if all(isinstance(node, _Text) for node in nodes):  # only escapes, or "__" in a word
        return {}, {}
    seed = _form_int(values, "seed", -1)
    if seed == -1:
        seed = (rng or random.Random()).randrange(RANDOM_SEEDS)
    try:
        expansion = expand_random(template, seed, wildcards)
    except PromptScriptError as error:
        raise _named(PROMPT_LABEL, error) from None
    return {"prompt": expansion.text, "seed": seed}, {"template": template}


# --- layout -----------------------------------------------------------------------------------

_DYNAMIC_HELP = """\
Makes one image for every combination of the prompt's choices: `{red|green|blue} cat` makes
three. `__name__` stands for each line of the wildcard file `name.txt` (the app's
`presets/wildcards/` folder and the data folder's `wildcards/`). Without this script the same
syntax picks one choice per image, at random from its seed.
"""


def build_scripts(tab: str, *, img2img: bool) -> ScriptControls:
    """The dropdown and each script's controls; call inside a Blocks context."""
    script = gr.Dropdown(
        [s.value for s in Script],
        value=Script.NONE.value,
        label="Script",
        elem_id=f"{tab}_script",
    )
    types = axis_types(img2img)
    with gr.Group(visible=False, elem_id=f"{tab}_script_matrix") as matrix_group:
        matrix = _matrix_controls(tab)
    with gr.Group(visible=False, elem_id=f"{tab}_script_prompts") as prompts_group:
        from_file = _from_file_controls(tab)
    with gr.Group(visible=False, elem_id=f"{tab}_script_xyz") as xyz_group:
        xyz_controls = _xyz_controls(tab, types)
    with gr.Group(visible=False, elem_id=f"{tab}_script_dynamic") as dynamic_group:
        gr.Markdown(_DYNAMIC_HELP)
        dynamic = DynamicControls(
            gr.Number(
                DEFAULT_GENERATIONS,
                label="Max generations",
                minimum=1,
                maximum=MAX_CELLS,
                precision=0,
                elem_id=f"{tab}_dynamic_max_generations",
            )
        )
    groups = {
        Script.PROMPT_MATRIX: matrix_group,
        Script.PROMPTS_FROM_FILE: prompts_group,
        Script.XYZ: xyz_group,
        Script.DYNAMIC_PROMPTS: dynamic_group,
    }

    def show(name: Any) -> list[Any]:
        return [gr.Group(visible=name == chosen.value) for chosen in groups]

    script.change(
        show, inputs=script, outputs=list(groups.values()), queue=False, show_progress="hidden"
    )
    return ScriptControls(script, groups, xyz_controls, matrix, from_file, dynamic, types)


def _margin(elem_id: str) -> gr.Slider:
    return gr.Slider(0, MAX_MARGIN, value=0, step=2, label="Grid margins (px)", elem_id=elem_id)


def _xyz_controls(tab: str, types: list[AxisType]) -> XYZControls:
    choices = [kind.value for kind in types]
    boxes = []
    for axis, default in (("x", AxisType.SEED), ("y", AxisType.NOTHING), ("z", AxisType.NOTHING)):
        with gr.Row():
            kind = gr.Dropdown(
                choices,
                value=default.value,
                label=f"{axis.upper()} type",
                elem_id=f"{tab}_xyz_{axis}_type",
                scale=1,
            )
            values = gr.Textbox(
                label=f"{axis.upper()} values",
                lines=1,
                scale=3,
                max_length=MAX_AXIS_CHARS,
                elem_id=f"{tab}_xyz_{axis}_values",
            )
        boxes += [kind, values]
    with gr.Row():
        draw_legend = gr.Checkbox(True, label="Draw legend", elem_id=f"{tab}_xyz_draw_legend")
        keep = gr.Checkbox(False, label="Keep -1 for seeds", elem_id=f"{tab}_xyz_keep_seeds")
    with gr.Row():
        sub_images = gr.Checkbox(
            False, label="Include Sub Images", elem_id=f"{tab}_xyz_include_sub_images"
        )
    margin = _margin(f"{tab}_xyz_margin")
    return XYZControls(*boxes, draw_legend, sub_images, keep, margin)


def _matrix_controls(tab: str) -> MatrixControls:
    with gr.Row():
        at_start = gr.Checkbox(
            False,
            label="Put variable parts at start of prompt",
            elem_id=f"{tab}_matrix_put_at_start",
        )
        different = gr.Checkbox(
            False,
            label="Use different seed for each picture",
            elem_id=f"{tab}_matrix_different_seeds",
        )
    with gr.Row():
        kind = gr.Radio(
            [p.value for p in PromptType],
            value=PromptType.POSITIVE.value,
            label="Select prompt",
            elem_id=f"{tab}_matrix_prompt_type",
        )
        joiner = gr.Radio(
            [d.value for d in Delimiter],
            value=Delimiter.COMMA.value,
            label="Select joining char",
            elem_id=f"{tab}_matrix_delimiter",
        )
    margin = _margin(f"{tab}_matrix_margin")
    return MatrixControls(at_start, different, kind, joiner, margin)


def _from_file_controls(tab: str) -> FromFileControls:
    with gr.Row():
        iterate = gr.Checkbox(
            False, label="Iterate seed every line", elem_id=f"{tab}_prompts_iterate_seed"
        )
        same = gr.Checkbox(
            False, label="Use same random seed for all lines", elem_id=f"{tab}_prompts_same_seed"
        )
    position = gr.Radio(
        [p.value for p in PromptPosition],
        value=PromptPosition.START.value,
        label="Insert prompts at the",
        elem_id=f"{tab}_prompts_position",
    )
    prompts = gr.Textbox(
        label="List of prompt inputs",
        lines=4,
        max_length=MAX_PROMPTS_CHARS,
        elem_id=f"{tab}_prompts_list",
    )
    return FromFileControls(iterate, same, position, prompts)
