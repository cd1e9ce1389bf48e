"""The Script dropdown: its controls read back (as Gradio passes them, or as a scripted client
forges them) into a plan of one cell per image, refusals naming the field by its label."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from webui.core.presets import PRESETS_DIR
from webui.core.scripts.common import PromptScriptError
from webui.core.scripts.wildcards import Wildcards
from webui.core.scripts.xyz import AxisChoices, XYZError
from webui.messages import Language, render
from webui.ui.scripts import Script, ScriptControls, ScriptPlan, build_scripts, wildcard_prompt

VALUES: dict[str, Any] = {
    "prompt": "a cat",
    "negative_prompt": "blurry",
    "sampler": "Euler a",
    "steps": 20,
    "cfg_scale": 7.0,
    "seed": 1234,
    "n_iter": 1,
    "batch_size": 1,
    "checkpoint": "photon_v1_84728.safetensors",
}
CHOICES = AxisChoices(checkpoints=["photon_v1_84728.safetensors"])


@pytest.fixture(scope="module")
def txt2img() -> ScriptControls:
    with gr.Blocks():
        return build_scripts("txt2img", img2img=False)


@pytest.fixture(scope="module")
def img2img() -> ScriptControls:
    with gr.Blocks():
        return build_scripts("img2img", img2img=True)


def data(controls: ScriptControls, script: str, **changed: Any) -> dict[Any, Any]:
    """Every control at its default, as Gradio passes them, with `changed` by field path
    ("xyz.x_type")."""
    out = {component: component.value for component in controls.components}
    out[controls.script] = script
    for path, value in changed.items():
        part, name = path.split("__")
        out[getattr(getattr(controls, part), name)] = value
    return out


def plan(controls: ScriptControls, script: str, values: dict[str, Any] | None = None,
         wildcards: Wildcards | None = None, **changed: Any) -> ScriptPlan:
    return controls.plan(data(controls, script, **changed), values or VALUES, choices=CHOICES,
                         wildcards=wildcards, rng=random.Random(7))


def xyz(controls: ScriptControls, x: tuple[str, str], y: tuple[str, str] = ("Nothing", ""),
        **changed: Any) -> ScriptPlan:
    return plan(controls, "X/Y/Z plot", xyz__x_type=x[0], xyz__x_values=x[1],
                xyz__y_type=y[0], xyz__y_values=y[1], **changed)


# --- the controls -----------------------------------------------------------------------------


def test_dropdown_and_ids(txt2img: ScriptControls) -> None:
    assert txt2img.script.label == "Script" and txt2img.script.value == "None"
    assert [c[1] for c in txt2img.script.choices] == [
        "None", "Prompt matrix", "Prompts from file or textbox", "X/Y/Z plot",
        "Dynamic prompts (all combinations)",
    ]
    ids = {c.elem_id for c in txt2img.components}
    for name in ("script", "xyz_x_type", "xyz_x_values", "xyz_y_type", "xyz_y_values",
                 "xyz_z_type", "xyz_z_values", "xyz_draw_legend", "xyz_include_sub_images",
                 "prompts_list"):
        assert f"txt2img_{name}" in ids
    assert txt2img.xyz.draw_legend.value is True
    assert txt2img.xyz.include_sub_images.value is False
    assert txt2img.xyz.keep_random_seeds.label == "Keep -1 for seeds"
    assert (txt2img.xyz.margin.minimum, txt2img.xyz.margin.maximum) == (0, 500)
    assert txt2img.from_file.prompts.label == "List of prompt inputs"
    assert txt2img.dynamic.max_generations.value == 64
    assert all(not group.visible for group in txt2img.groups.values())


def test_axis_types_by_tab(txt2img: ScriptControls, img2img: ScriptControls) -> None:
    def listed(controls: ScriptControls) -> list[str]:
        return [c[1] for c in controls.xyz.x_type.choices]

    assert "Hires steps" in listed(txt2img) and "Hires upscaler" in listed(txt2img)
    assert "Denoising" not in listed(txt2img)
    assert "Denoising" in listed(img2img) and "Hires steps" not in listed(img2img)
    assert listed(img2img)[:3] == ["Nothing", "Seed", "Steps"]


def test_none_is_one_plain_cell(txt2img: ScriptControls) -> None:
    planned = plan(txt2img, "None")
    assert planned.script == "" and planned.count == 1
    assert planned.cells[0].overrides == {} and planned.cells[0].meta == {}


# --- X/Y/Z plot -------------------------------------------------------------------------------


def test_xyz_two_by_two_in_a1111_order(txt2img: ScriptControls) -> None:
    planned = xyz(txt2img, ("CFG Scale", "5, 9"), ("Steps", "10, 20"))
    assert planned.script == "X/Y/Z plot" and planned.count == 4
    pairs = [(c.overrides["cfg_scale"], c.overrides["steps"]) for c in planned.cells]
    assert pairs == [(5.0, 10), (9.0, 10), (5.0, 20), (9.0, 20)]  # x varies fastest
    assert [c.meta for c in planned.cells] == [{"cell": i} for i in range(4)]
    assert all("seed" not in c.overrides for c in planned.cells)  # the form's seed is fixed
    assert planned.layout == {
        "kind": "xyz",
        "x_labels": ["CFG Scale: 5.0", "CFG Scale: 9.0"],
        "y_labels": ["Steps: 10", "Steps: 20"],
        "z_labels": [""],
        "draw_legend": True,
        "include_sub_images": False,
        "margin": 0,
        "axes": [["X", "CFG Scale", "5, 9"], ["Y", "Steps", "10, 20"]],
    }
    json.dumps(planned.layout), json.dumps([c.meta for c in planned.cells])


def test_xyz_random_seed_drawn_once_unless_kept(txt2img: ScriptControls) -> None:
    values = {**VALUES, "seed": -1}
    drawn = plan(txt2img, "X/Y/Z plot", values, xyz__x_type="Steps", xyz__x_values="10, 20")
    seeds = {c.overrides["seed"] for c in drawn.cells}
    assert len(seeds) == 1 and seeds != {-1}
    kept = plan(txt2img, "X/Y/Z plot", values, xyz__x_type="Steps", xyz__x_values="10, 20",
                xyz__keep_random_seeds=True)
    assert all("seed" not in c.overrides for c in kept.cells)


def test_xyz_bad_values_name_the_axis(txt2img: ScriptControls) -> None:
    with pytest.raises(XYZError, match=r"^X values: .*'fast'") as refused:
        xyz(txt2img, ("Steps", "10, fast"))
    assert refused.value.axis == "X"
    with pytest.raises(XYZError, match=r"^Y values: no values"):
        xyz(txt2img, ("Steps", "10"), ("CFG Scale", ""))
    with pytest.raises(XYZError, match="would make 400 images"):
        xyz(txt2img, ("Steps", "1-20"), ("Seed", "1-20"))


def test_xyz_forged_axis_type_refused(txt2img: ScriptControls, img2img: ScriptControls) -> None:
    with pytest.raises(XYZError, match=r"^X type: unknown axis 'rm -rf'"):
        xyz(txt2img, ("rm -rf", "1"))
    with pytest.raises(XYZError, match=r"^Y type: unknown axis 'Hires steps'"):
        xyz(img2img, ("Steps", "10"), ("Hires steps", "5"))  # not offered in img2img
    with pytest.raises(XYZError, match=r"^Z type: unknown axis \['Steps'\]"):
        plan(txt2img, "X/Y/Z plot", xyz__z_type=["Steps"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("xyz__x_values", 20, "X values: expected text"),
        ("xyz__draw_legend", "false", "Draw legend: expected true or false"),
        ("xyz__margin", 10_000, r"Grid margins \(px\): must be from 0 to 500"),
        ("xyz__margin", float("nan"), r"Grid margins \(px\): must be from 0 to 500"),
        ("xyz__margin", True, r"Grid margins \(px\): expected a whole number"),
    ],
)
def test_xyz_forged_fields_refused(txt2img: ScriptControls, field: str, value: Any,
                                   message: str) -> None:
    changed = {"xyz__x_type": "Steps", "xyz__x_values": "10", field: value}
    with pytest.raises(XYZError, match=f"^{message}"):
        plan(txt2img, "X/Y/Z plot", **changed)


def test_xyz_huge_values_refused_quickly(txt2img: ScriptControls) -> None:
    huge = "1, " * (350 * 1024)  # ~1 MB
    start = time.perf_counter()
    with pytest.raises(XYZError, match=r"^X values: \d+ characters; at most"):
        xyz(txt2img, ("Steps", huge))
    assert time.perf_counter() - start < 0.5


def test_unknown_script_refused(txt2img: ScriptControls) -> None:
    with pytest.raises(PromptScriptError, match=r"^Script: unknown script 'Loopback'"):
        plan(txt2img, "Loopback")
    with pytest.raises(PromptScriptError, match=r"^Script: unknown script None"):
        plan(txt2img, None)  # type: ignore[arg-type]


# --- Prompt matrix ----------------------------------------------------------------------------


def test_matrix_four_cells(txt2img: ScriptControls) -> None:
    planned = plan(txt2img, "Prompt matrix", {**VALUES, "prompt": "a|b|c", "batch_size": 4},
                   matrix__margin=4)
    assert planned.script == "Prompt matrix" and planned.count == 4
    assert [c.overrides["prompt"] for c in planned.cells] == ["a", "a, b", "a, c", "a, b, c"]
    assert all(c.overrides["n_iter"] == 1 and c.overrides["batch_size"] == 1
               for c in planned.cells)
    assert {c.overrides["seed"] for c in planned.cells} == {1234}
    assert [c.meta for c in planned.cells] == [{"cell": i} for i in range(4)]
    assert planned.layout == {"kind": "matrix", "parts": ["a", "b", "c"], "margin": 4,
                              "include_sub_images": True}


def test_matrix_negative_and_different_seeds(txt2img: ScriptControls) -> None:
    planned = plan(txt2img, "Prompt matrix", {**VALUES, "negative_prompt": "ugly|dark"},
                   matrix__prompt_type="negative", matrix__different_seeds=True,
                   matrix__delimiter="space")
    assert [c.overrides["negative_prompt"] for c in planned.cells] == ["ugly", "ugly dark"]
    assert [c.overrides["seed"] for c in planned.cells] == [1234, 1235]
    with pytest.raises(PromptScriptError, match=r"^Select prompt: unknown prompt 'both'"):
        plan(txt2img, "Prompt matrix", matrix__prompt_type="both")


# --- Prompts from file or textbox -------------------------------------------------------------


def test_prompts_from_file_lines(txt2img: ScriptControls) -> None:
    text = '--prompt "a cat" --steps 30 --cfg_scale 5\n\na dog\n--prompt "a fox" --steps 20'
    planned = plan(txt2img, "Prompts from file or textbox", {**VALUES, "prompt": ""},
                   from_file__prompts=text)
    assert planned.script == "Prompts from file or textbox" and planned.count == 3
    assert [c.overrides for c in planned.cells] == [
        {"prompt": "a cat", "steps": 30, "cfg_scale": 5.0},
        {"prompt": "a dog"},
        {"prompt": "a fox"},  # steps 20 is the form's already
    ]
    assert [c.meta for c in planned.cells] == [{"line": 1}, {"line": 3}, {"line": 4}]
    assert planned.layout == {"kind": "list"}


def test_prompts_from_file_joins_and_iterates(txt2img: ScriptControls) -> None:
    planned = plan(txt2img, "Prompts from file or textbox", from_file__prompts="red\nblue",
                   from_file__position="end", from_file__iterate_seed=True)
    assert [c.overrides for c in planned.cells] == [
        {"prompt": "a cat red"},
        {"prompt": "a cat blue", "seed": 1235},
    ]


def test_prompts_from_file_refusals_name_the_field(txt2img: ScriptControls) -> None:
    def run(text: Any, **changed: Any) -> ScriptPlan:
        return plan(txt2img, "Prompts from file or textbox", from_file__prompts=text, **changed)

    with pytest.raises(PromptScriptError, match=r"^List of prompt inputs: line 3: unknown"):
        run("a cat\n--steps 20\n--bogus 1")
    with pytest.raises(PromptScriptError, match=r"^List of prompt inputs: no prompts"):
        run("  \n")
    with pytest.raises(PromptScriptError, match=r"^List of prompt inputs: the list holds 300"):
        run("a cat\n" * 300)
    with pytest.raises(PromptScriptError, match=r"^List of prompt inputs: \d+ characters"):
        run("a" * (1024 * 1024))
    with pytest.raises(PromptScriptError, match=r"^List of prompt inputs: expected text"):
        run({"path": "/etc/passwd"})
    with pytest.raises(PromptScriptError, match=r"^Insert prompts at the: unknown position"):
        run("a cat", from_file__position="middle")


# --- Dynamic prompts --------------------------------------------------------------------------


def test_dynamic_prompts_all_combinations(txt2img: ScriptControls, tmp_path: Path) -> None:
    planned = plan(txt2img, "Dynamic prompts (all combinations)",
                   {**VALUES, "prompt": "{red|green} cat"})
    assert planned.script == "Dynamic prompts (all combinations)"
    assert [c.overrides for c in planned.cells] == [{"prompt": "red cat"},
                                                    {"prompt": "green cat"}]
    assert [c.meta for c in planned.cells] == [{"template": "{red|green} cat"}] * 2
    (tmp_path / "size.txt").write_text("big\nsmall\n# a comment\n", encoding="utf-8")
    planned = plan(txt2img, "Dynamic prompts (all combinations)",
                   {**VALUES, "prompt": "__size__ {red|green} cat"}, Wildcards([tmp_path]))
    assert planned.count == 4


def test_dynamic_prompts_bounded(txt2img: ScriptControls) -> None:
    many = {**VALUES, "prompt": "{a|b|c|d} {a|b|c|d} {a|b|c|d}"}  # 64
    assert plan(txt2img, "Dynamic prompts (all combinations)", many).count == 64
    with pytest.raises(PromptScriptError, match=r"^Prompt: the template makes 64 prompts; at "
                                                r"most 10 .*\(Max generations\)"):
        plan(txt2img, "Dynamic prompts (all combinations)", many, dynamic__max_generations=10)
    with pytest.raises(PromptScriptError, match=r"^Max generations: must be from 1 to 256"):
        plan(txt2img, "Dynamic prompts (all combinations)", many, dynamic__max_generations=10**9)
    with pytest.raises(PromptScriptError, match=r"^Prompt: wildcard __colors__ not found"):
        plan(txt2img, "Dynamic prompts (all combinations)", {**VALUES, "prompt": "__colors__"})


# --- in the visitor's language ----------------------------------------------------------------

_LOCALIZED: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("Prompts from file or textbox", {}, {"from_file__prompts": "a cat\n--steps 20\n--bogus 1"},
     "List of prompt inputs: line 3: unknown option --bogus", "提示词输入列表：第 3 行：未知的选项 --bogus"),
    ("Prompts from file or textbox", {}, {"from_file__prompts": "  \n"},
     "List of prompt inputs: no prompts; write one a line", "提示词输入列表：没有提示词；请每行写一个"),
    ("Prompts from file or textbox", {}, {"from_file__prompts": "a", "from_file__position": "mid"},
     "Insert prompts at the: unknown position 'mid'", "提示词插入位置：未知的插入位置 'mid'"),
    ("Dynamic prompts (all combinations)", {"prompt": "{a|b|c|d} {a|b|c|d} {a|b|c|d}"},
     {"dynamic__max_generations": 10},
     "Prompt: the template makes 64 prompts; at most 10 are allowed (Max generations)",
     "正向提示词：模板会生成 64 个提示词；最多允许 10 个（最多生成数）"),
    ("Dynamic prompts (all combinations)", {"prompt": "a {cat"}, {},
     "Prompt: unmatched '{' at character 3", "正向提示词：第 3 个字符处的 '{' 没有闭合"),
    ("Dynamic prompts (all combinations)", {}, {"dynamic__max_generations": 10**9},
     "Max generations: must be from 1 to 256, got 1000000000",
     "最多生成数：必须在 1 到 256 之间，当前为 1000000000"),
    ("Prompt matrix", {}, {"matrix__prompt_type": "both"},
     "Select prompt: unknown prompt 'both'", "选择提示词：未知的提示词类型 'both'"),
    ("Prompt matrix", {"seed": "abc"}, {},
     "seed: 'abc' is not a whole number", "seed：'abc' 不是整数"),
    ("X/Y/Z plot", {}, {"xyz__x_type": "Steps", "xyz__x_values": 20},
     "X values: expected text, got int", "X 轴值：应为文本，收到的是 int"),
    ("X/Y/Z plot", {}, {"xyz__x_type": "Steps", "xyz__x_values": "10", "xyz__margin": True},
     "Grid margins (px): expected a whole number, got True",
     "网格边距（像素）：应为整数，收到的是 True"),
    ("X/Y/Z plot", {}, {"xyz__x_type": "rm -rf"},
     "X type: unknown axis 'rm -rf'", "X 轴类型：未知的轴类型 'rm -rf'"),
    ("X/Y/Z plot", {}, {"xyz__x_type": "Steps", "xyz__x_values": "10, 9000"},
     "X values: Steps must be in [1, 150], got 9000",
     "X 轴值：迭代步数必须在 [1, 150] 之内，当前为 9000"),
    ("Loopback", {}, {}, "Script: unknown script 'Loopback'", "脚本：未知的脚本 'Loopback'"),
]


@pytest.mark.parametrize(("script", "values", "changed", "english", "chinese"), _LOCALIZED)
def test_refusals_in_both_languages(txt2img: ScriptControls, script: str, values: dict[str, Any],
                                    changed: dict[str, Any], english: str, chinese: str) -> None:
    with pytest.raises((PromptScriptError, XYZError)) as refused:
        plan(txt2img, script, {**VALUES, **values}, **changed)
    assert str(refused.value) == english == render(refused.value)
    assert render(refused.value, Language.ZH_CN) == chinese


# --- wildcard_prompt --------------------------------------------------------------------------


def test_wildcard_prompt_by_seed(tmp_path: Path) -> None:
    (tmp_path / "color.txt").write_text("\n".join(f"colour{i}" for i in range(50)),
                                        encoding="utf-8")
    cards = Wildcards([tmp_path])
    template = "a __color__ {cat|dog|fox|owl}"
    first = wildcard_prompt({"prompt": template, "seed": 5}, cards)
    again = wildcard_prompt({"prompt": template, "seed": 5}, cards)
    assert first == again and first[1] == {"template": template} and first[0]["seed"] == 5
    assert "__" not in first[0]["prompt"] and "{" not in first[0]["prompt"]
    others = {wildcard_prompt({"prompt": template, "seed": s}, cards)[0]["prompt"]
              for s in range(6, 16)}
    assert len(others - {first[0]["prompt"]}) > 0


def test_wildcard_prompt_draws_a_random_seed() -> None:
    overrides, meta = wildcard_prompt({"prompt": "{a|b}", "seed": -1}, None, random.Random(3))
    assert overrides["prompt"] in ("a", "b") and overrides["seed"] >= 0
    assert meta == {"template": "{a|b}"}


def test_wildcard_prompt_leaves_plain_prompts() -> None:
    for prompt in ("a cat", "snake_case__name here", r"a \{literal\} brace", "", None, 3):
        assert wildcard_prompt({"prompt": prompt, "seed": -1}, None) == ({}, {})
    with pytest.raises(PromptScriptError, match=r"^Prompt: unmatched"):
        wildcard_prompt({"prompt": "a {cat|dog", "seed": 1}, None)


def test_shipped_wildcards() -> None:
    cards = Wildcards([PRESETS_DIR / "wildcards"])
    assert {"colors", "animals"} <= set(cards.names())
    overrides, _ = wildcard_prompt({"prompt": "a __colors__ __animals__", "seed": 1}, cards)
    assert "__" not in overrides["prompt"]


def test_visibility_follows_the_dropdown() -> None:
    with gr.Blocks() as demo:
        controls = build_scripts("txt2img", img2img=False)
    (dependency,) = [fn for fn in demo.fns.values()
                     if (controls.script._id, "change") in fn.targets]
    assert dependency.queue is False and dependency.show_progress == "hidden"
    for script in Script:
        shown = dependency.fn(script.value)
        assert [update.visible for update in shown] == [s is script for s in controls.groups]
    assert not any(update.visible for update in dependency.fn("forged"))
