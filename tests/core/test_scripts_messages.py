"""The scripts' refusals are messages: each renders the English it always did, and in Chinese
holds no English word but the values, the wire names and A1111's identifiers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webui.api.models import MAX_PROMPT_CHARS
from webui.core.scripts import grid
from webui.core.scripts.common import PromptScriptError
from webui.core.scripts.from_file import parse_prompt_line, parse_prompt_lines
from webui.core.scripts.matrix import prompt_matrix
from webui.core.scripts.wildcards import Wildcards, expand_all, expand_random, parse_template
from webui.core.scripts.xyz import Axis, AxisChoices, AxisType, parse_axis, plan
from webui.messages import Language, Msg, catalogue, key_of_text, render

CHOICES = AxisChoices(checkpoints=["sdxl.safetensors"], vaes=["vae-ft-mse"], upscalers=["4x"],
                      loras=["add_more"])
# Latin words a Chinese message may hold besides its values: acronyms and names that have no
# Chinese (and A1111's names the page's labels keep in brackets: "提示词引导系数 (CFG Scale)")
IDENTIFIERS = {"API", "LoRA", "VAE", "CFG", "Scale", "Seed", "true", "false", "txt"}


def refusal(action: Callable[[], Any]) -> Any:
    with pytest.raises((PromptScriptError, ValueError)) as caught:
        action()
    assert isinstance(caught.value.msg, Msg), caught.value
    return caught.value


def english_words(text: str, values: tuple[str, ...]) -> set[str]:
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, " ")
    return set(re.findall(r"[A-Za-z]{2,}", text)) - IDENTIFIERS


def check(error: Any, english: str, values: tuple[str, ...]) -> None:
    assert str(error) == english == render(error)
    chinese = render(error, Language.ZH_CN)
    assert not english_words(chinese, values), chinese
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese


AXIS_CASES = [
    ("X", "Steps", "10, abc", "X values: 'abc' is not a whole number for Steps", ("'abc'",)),
    ("X", "Steps", "10, 9000", "X values: Steps must be in [1, 150], got 9000", ()),
    ("Y", "CFG Scale", "0.5", "Y values: CFG Scale must be in [1, 30], got 0.5", ()),
    ("Z", "Denoising", "0.5-1.5 [3]", "Z values: Denoising must be in [0, 1], got 1.5", ()),
    ("X", "CFG Scale", "abc", "X values: 'abc' is not a number for CFG Scale", ("'abc'",)),
    ("X", "Steps", "", "X values: no values for Steps", ()),
    ("X", "Steps", "10-1", "X values: '10-1' gives no values", ()),
    ("X", "Steps", "1-5 (+0)", "X values: '1-5 (+0)': the step must not be 0", ()),
    ("X", "Seed", "1-99999999", "X values: '1-99999999' gives 99999999 values; the most is 1024",
     ()),
    ("X", "Steps", "1-150, 1-150, 1-150, 1-150, 1-150, 1-150, 1-150",
     "X values: more than 1024 values", ()),
    ("X", "Sampler", "Euler z", "X values: unknown sampler 'Euler z'", ("'Euler z'",)),
    ("Y", "Checkpoint name", "sd3", "Y values: unknown checkpoint name 'sd3'", ("'sd3'",)),
    ("Y", "VAE", "kl-f8", "Y values: unknown VAE 'kl-f8'", ("'kl-f8'",)),
    ("Y", "Hires upscaler", "Lanczos", "Y values: unknown hires upscaler 'Lanczos'",
     ("'Lanczos'",)),
    ("Y", "Sampler", "Euler, ", "Y values: an empty value for Sampler", ()),
    ("Z", "LoRA weight", "0.5, 1",
     "Z values: LoRA weight needs the LoRA's name first, as in 'name: 0.5, 1'", ()),
    ("Z", "LoRA weight", "nope: 0.5", "Z values: unknown LoRA 'nope'", ("'nope'",)),
    ("Z", "Size", "512", "Z type: unknown axis 'Size'", ("'Size'",)),
]


@pytest.mark.parametrize(("name", "kind", "text", "english", "values"), AXIS_CASES)
def test_axis_refusals(name: str, kind: str, text: str, english: str,
                       values: tuple[str, ...]) -> None:
    check(refusal(lambda: parse_axis(kind, text, name=name, choices=CHOICES)), english, values)


def test_the_chinese_names_the_axis_box_and_its_type() -> None:
    error = refusal(lambda: parse_axis("Steps", "10, 9000", name="X"))
    assert render(error, Language.ZH_CN) == "X 轴值：迭代步数必须在 [1, 150] 之内，当前为 9000"


def test_plan_refusals() -> None:
    steps = parse_axis("Steps", "1-20")
    check(refusal(lambda: plan(steps, parse_axis("Seed", "1-13", name="Y"))),
          "the plot would make 260 images (20 x 13 x 1); the most is 256", ())
    sr = parse_axis("Prompt S/R", "cat, dog")
    check(refusal(lambda: plan(sr, form_values={"prompt": "a fox"})),
          "X values: Prompt S/R did not find 'cat' in the prompt or the negative prompt",
          ("'cat'",))
    long = parse_axis("Prompt S/R", "a, " + "b" * (MAX_PROMPT_CHARS + 1))
    check(refusal(lambda: plan(long, form_values={"prompt": "a"})),
          f"X values: Prompt S/R would make a prompt of {MAX_PROMPT_CHARS + 1} characters; "
          f"at most {MAX_PROMPT_CHARS}", ())


def test_every_axis_type_has_a_label_in_both_languages() -> None:
    for kind in AxisType:
        key = key_of_text(kind.value)  # how `AxisType.shown` finds it, at run time
        assert key is not None, kind
        assert catalogue(Language.EN)[key] == kind.value
        assert key in catalogue(Language.ZH_CN)


def test_axis_bounds_are_closed_intervals() -> None:
    """What the out-of-range message states ("in [1, 150]")."""
    for kind in AxisType:
        bounds = kind.bounds
        if bounds is not None:
            assert bounds.lo is not None and bounds.hi is not None, kind
            assert not (bounds.lo_open or bounds.hi_open or bounds.multiple_of or bounds.also)


def test_the_grid_legend_stays_as_a1111_writes_it() -> None:
    assert Axis(AxisType.STEPS, (20,)).label(20) == "Steps: 20"
    assert grid.xyz_infotext("", [("X", "CFG Scale", "5, 9")]) == \
        'Script: X/Y/Z plot, X Type: CFG Scale, X Values: "5, 9"'


LINE_CASES = [
    ("a\nb\n--steps x", "Line 3: --steps 'x' is not a whole number", ("--steps", "'x'")),
    ("--cfg_scale high", "Line 1: --cfg_scale 'high' is not a number", ("--cfg_scale", "'high'")),
    ("--restore_faces yes", "Line 1: --restore_faces 'yes' is not true or false",
     ("--restore_faces", "'yes'")),
    ("\n--clip_skip 2", "Line 2: unknown option --clip_skip", ("--clip_skip",)),
    ("--steps", "Line 1: --steps has no value", ("--steps",)),
    ('--prompt "a cat', "Line 1: cannot be read as options (No closing quotation)", ()),
    ("--steps 20 oops --width 512", "Line 1: 'oops' must start with \"--\"", ("'oops'",)),
    ("--tiling true", "Line 1: --tiling cannot be used: tiling is not supported by the API",
     ("--tiling", "tiling")),
    ("--subseed 5",
     "Line 1: --subseed cannot be used: variation seeds (subseeds) are not supported by the API",
     ("--subseed", "subseed")),
    ("--outpath_samples /etc", "Line 1: --outpath_samples cannot be used: output folders on the "
     "server cannot be set; images go to the app's outputs", ("--outpath_samples",)),
    ("--sampler_index 3", "Line 1: --sampler_index cannot be used: sampler indices differ "
     "between installs; use --sampler_name", ("--sampler_index", "--sampler_name")),
    ("--sampler_name Foo", "Line 1: --sampler_name 'Foo' is not a sampler this API offers",
     ("--sampler_name", "'Foo'")),
    ("a\nb\nc", "The list holds 3 prompts; at most 2 are allowed", ()),
]


@pytest.mark.parametrize(("text", "english", "values"), LINE_CASES)
def test_prompts_file_refusals(text: str, english: str, values: tuple[str, ...]) -> None:
    check(refusal(lambda: parse_prompt_lines(text, limit=2 if english.startswith("The") else 3)), english,
          values)


def test_unknown_checkpoint_and_matrix() -> None:
    check(refusal(lambda: parse_prompt_line("--sd_model nope", checkpoints=["a.ckpt"])),
          "Line 1: --sd_model 'nope' is not a checkpoint your key lists", ("--sd_model", "'nope'"))
    check(refusal(lambda: prompt_matrix("a|b|c|d", limit=4)),
          "Prompt matrix: 3 variable parts make 8 prompts; at most 4 are allowed", ())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "loop.txt").write_text("__loop__\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    (tmp_path / "big.txt").write_text("x" * 64, encoding="utf-8")
    (tmp_path / "pet.txt").write_text("cat\ndog\nfox\n", encoding="utf-8")
    return tmp_path


def test_wildcard_refusals(folder: Path) -> None:
    cards = Wildcards([folder])
    where = f"{folder.parent.name}/{folder.name}"  # never the server's whole path
    check(refusal(lambda: expand_random("a __planets__", 1, cards)),
          f"Wildcard __planets__ not found: no planets.txt in {where}",
          ("__planets__", "planets.txt", where))
    check(refusal(lambda: expand_random("a __planets__", 1, Wildcards([]))),
          "Wildcard __planets__ not found: no planets.txt in no folder",
          ("__planets__", "planets.txt"))
    check(refusal(lambda: expand_all("__planets__")),
          "Wildcard __planets__ not found: no wildcard folders", ("__planets__",))
    check(refusal(lambda: expand_random("__../secret__", 1, cards)),
          "__../secret__ is not a wildcard name: use letters, digits, _ - and / between folders "
          "(no '..', no absolute paths)", ("__../secret__",))
    check(refusal(lambda: expand_random("__loop__", 1, cards)),
          "Wildcards nest deeper than 10 (" + " -> ".join(["__loop__"] * 11) +
          "); does one include itself?", ("__loop__",))
    check(refusal(lambda: expand_random("__empty__", 1, cards)),
          "Wildcard __empty__ has no lines", ("__empty__",))
    check(refusal(lambda: expand_random("__big__", 1, Wildcards([folder], max_bytes=10))),
          "Wildcard __big__ is too large (64 bytes; at most 10)", ("__big__",))
    check(refusal(lambda: expand_all("__pet__ __pet__", cards, limit=5)),
          "The template makes 9 prompts; at most 5 are allowed", ())
    check(refusal(lambda: expand_random("a" * 200, 1, max_chars=100)),
          "The expanded prompt is longer than 100 characters", ())


def test_template_syntax_refusals() -> None:
    check(refusal(lambda: parse_template("a {cat|dog")),
          "Unmatched '{' at character 3", ("'{'",))
    check(refusal(lambda: parse_template("a cat}")),
          "Unmatched '}' at character 6", ("'}'",))
    check(refusal(lambda: parse_template("{" * 40 + "}" * 40)),
          "Braces nest deeper than 32 levels at character 33", ())


def test_grid_refusals() -> None:
    check(refusal(lambda: grid.draw_grid([], 1)), "a grid needs at least one cell", ())
    check(refusal(lambda: grid.draw_grid([None] * 300, 1)),
          "a grid of 300 cells is more than the 256 allowed", ())
    check(refusal(lambda: grid.draw_grid([None] * 2, 0)), "a grid has 1 to 256 columns, not 0",
          ())
    check(refusal(lambda: grid.draw_grid([None] * 2, 2, x_labels=["a", "b", "c"])),
          "x_labels has 3 labels for 2 columns", ("x_labels",))
    check(refusal(lambda: grid.draw_grid([None] * 2, 2, y_labels=["a", "b"])),
          "y_labels has 2 labels for 1 rows", ("y_labels",))
    check(refusal(lambda: grid.draw_xyz_grid({4: None}, ["a", "b"], ["c", "d"], [""])),
          "image index 4 is outside the 2x2x1 plot", ())
    check(refusal(lambda: grid.draw_matrix_grid([None] * 3, ["a", "b", "c"])),
          "a prompt matrix of 2 optional parts has 4 images, not 3", ())
    check(refusal(lambda: grid.draw_matrix_grid([None] * 512, ["a"] * 10)),
          "a prompt matrix of 512 cells is more than 256", ())
    check(refusal(lambda: grid.draw_grid([None], 1, cell_size=(0, 5))),
          "a cell of 0x5 pixels is empty", ())
