"""X/Y/Z plot axis values (A1111's syntax and results) and the cell plan."""

from __future__ import annotations

import random
import re

import pytest

from webui.core.scripts import xyz
from webui.core.scripts.xyz import AxisChoices, AxisType, XYZError, parse_axis, plan

CHOICES = AxisChoices(
    checkpoints=("sdxl_base_1.0", "sd15_dreamshaper_8", "sd15_dreamshaper_8_inpainting"),
    vaes=("sdxl_vae.safetensors", "vae-ft-mse-840000.safetensors"),
    upscalers=("Latent", "Latent (nearest)", "R-ESRGAN 4x+"),
    loras=("detail_tweaker", "add_more"),
)


def values(axis_type: str, text: str) -> list:
    return list(parse_axis(axis_type, text, choices=CHOICES).values)


# --- syntax: A1111's outputs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5, 9", [5, 9]),
        ("1-5", [1, 2, 3, 4, 5]),
        ("1-5 (+2)", [1, 3, 5]),
        ("1-6 (+2)", [1, 3, 5]),
        ("10-1 (-3)", [10, 7, 4]),  # A1111 moves the end up by one: a falling range stops short
        ("1-10 [5]", [1, 3, 5, 7, 10]),  # linspace 1, 3.25, 5.5, 7.75, 10 truncated
        ("10-1 [4]", [10, 7, 4, 1]),
        ("3-3 [3]", [3, 3, 3]),
        ("5-8 [1]", [5]),
        (" 1 - 3 , 7", [1, 2, 3, 7]),
        ("1-3, 2-4 (+2)", [1, 2, 3, 2, 4]),
        ("20\n30", [20, 30]),  # csv rows: a new line separates too
    ],
)
def test_integer_ranges(text: str, expected: list[int]) -> None:
    got = values("Steps", text)
    assert got == expected
    assert all(type(v) is int for v in got)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5, 9", [5.0, 9.0]),
        ("1.5-3 (+0.5)", [1.5, 2.0, 2.5, 3.0]),
        ("1-2 [3]", [1.0, 1.5, 2.0]),
        ("3-1 (-0.5)", [3.0, 2.5, 2.0, 1.5, 1.0]),  # floats: arange(start, end + step, step)
        ("1-3", [1.0, 2.0, 3.0]),
        ("7.5", [7.5]),
    ],
)
def test_float_ranges(text: str, expected: list[float]) -> None:
    got = values("CFG Scale", text)
    assert got == expected
    assert all(type(v) is float for v in got)


def test_float_steps_keep_a1111s_rounding() -> None:
    # numpy's arange, as in A1111: ceil((0.4 - 0.1) / 0.1) = 4 values, the last past the end,
    # and start + i * ((start + step) - start), not a rounded decimal.
    assert values("Denoising", "0.1-0.3 (+0.1)") == [0.1, 0.2, 0.30000000000000004, 0.4]


_A_RANGE = re.compile(r"\s*([+-]?\s*\d+)\s*-\s*([+-]?\s*\d+)(?:\s*\(([+-]\d+)\s*\))?\s*")
_A_COUNT = re.compile(r"\s*([+-]?\s*\d+)\s*-\s*([+-]?\s*\d+)(?:\s*\[(\d+)\s*])?\s*")
_A_RANGE_F = re.compile(
    r"\s*([+-]?\s*\d+(?:.\d*)?)\s*-\s*([+-]?\s*\d+(?:.\d*)?)(?:\s*\(([+-]\d+(?:.\d*)?)\s*\))?\s*"
)
_A_COUNT_F = re.compile(
    r"\s*([+-]?\s*\d+(?:.\d*)?)\s*-\s*([+-]?\s*\d+(?:.\d*)?)(?:\s*\[(\d+(?:.\d*)?)\s*])?\s*"
)


def a1111_expand(item: str, is_int: bool) -> list:
    """A1111's `process_axis` for one item, verbatim, with numpy."""
    np = pytest.importorskip("numpy")
    if is_int:
        if m := _A_RANGE.fullmatch(item):
            step = int(m.group(3)) if m.group(3) is not None else 1
            return list(range(int(m.group(1)), int(m.group(2)) + 1, step))
        if mc := _A_COUNT.fullmatch(item):
            num = int(mc.group(3)) if mc.group(3) is not None else 1
            return [int(x) for x in np.linspace(int(mc.group(1)), int(mc.group(2)), num).tolist()]
        return [int(item)]
    if m := _A_RANGE_F.fullmatch(item):
        start, end = float(m.group(1)), float(m.group(2))
        step = float(m.group(3)) if m.group(3) is not None else 1
        return np.arange(start, end + step, step).tolist()
    if mc := _A_COUNT_F.fullmatch(item):
        num = int(mc.group(3)) if mc.group(3) is not None else 1
        return np.linspace(float(mc.group(1)), float(mc.group(2)), num).tolist()
    return [float(item)]


def test_same_values_as_a1111_with_numpy() -> None:
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        a, b = rng.randint(1, 150), rng.randint(1, 150)
        for item in (
            f"{a}-{b}",
            f"{a}-{b} (+{rng.randint(1, 9)})",
            f"{a}-{b} (-{rng.randint(1, 9)})",
            f"{a}-{b} [{rng.randint(1, 12)}]",
        ):
            expected = a1111_expand(item, True)
            if expected:
                assert values("Steps", item) == expected, item
                checked += 1
        fa, fb = round(rng.uniform(0, 1), rng.randint(1, 3)), round(rng.uniform(0, 1), 2)
        fs = round(rng.uniform(0.05, 0.3), rng.randint(1, 3)) or 0.1
        for item in (
            f"{fa}-{fb} (+{fs})",
            f"{fb}-{fa} (-{fs})",
            f"{fa}-{fb} [{rng.randint(1, 9)}]",
        ):
            expected = a1111_expand(item, False)
            if expected and all(0 <= v <= 1 for v in expected):
                assert values("Denoising", item) == expected, item
                checked += 1
    assert checked > 1000


def test_csv_quoting() -> None:
    # csv.reader as A1111 calls it: a quote opens a quoted item only right after the comma
    axis = parse_axis("Prompt S/R", 'cat,"dog, running",\'x\',"say ""hi"""')
    assert axis.values == ("cat", "dog, running", "'x'", 'say "hi"')
    assert parse_axis("Prompt S/R", 'cat, "dog, run"').values == ("cat", '"dog', 'run"')
    assert xyz.split_values(xyz.join_values(["a, b", "c"])) == ["a, b", "c"]
    # an empty item is kept for Prompt S/R (replace by nothing), as A1111 does
    assert parse_axis("Prompt S/R", "red hat, ").values == ("red hat", "")


# --- each axis type ------------------------------------------------------------------------


FORM = {
    "prompt": "a red hat, <lora:detail_tweaker:0.3>",
    "negative_prompt": "red blur",
    "steps": 20,
    "cfg_scale": 7.0,
    "seed": 1234,
    "sampler": "Euler a",
    "checkpoint": "sdxl_base_1.0",
    "vae": None,
    "clip_skip": 1,
    "hr_steps": 0,
    "hr_upscaler": "Latent",
    "denoising_strength": 0.75,
    "hr_denoising": 0.7,
}


@pytest.mark.parametrize(
    ("axis_type", "text", "parsed", "changes"),
    [
        ("Seed", "1, -1, 4294967295", [1, -1, 4294967295], {"seed": 1}),
        ("Steps", "10, 20", [10, 20], {"steps": 10}),
        ("Hires steps", "0-10 [3]", [0, 5, 10], {"hr_steps": 0}),
        ("CFG Scale", "5, 9", [5.0, 9.0], {"cfg_scale": 5.0}),
        (
            "Sampler",
            "euler a, DPM++ 2M Karras",
            ["Euler a", "DPM++ 2M Karras"],
            {"sampler": "Euler a"},
        ),
        (
            "Checkpoint name",
            "sdxl_base_1.0, dreamshaper",
            ["sdxl_base_1.0", "sd15_dreamshaper_8"],
            {"checkpoint": "sdxl_base_1.0"},
        ),
        (
            "VAE",
            "None, mse, SDXL_VAE.safetensors",
            [None, "vae-ft-mse-840000.safetensors", "sdxl_vae.safetensors"],
            {"vae": None},
        ),
        ("Clip skip", "1-3", [1, 2, 3], {"clip_skip": 1}),
        ("Denoising", "0.2, 0.6", [0.2, 0.6], {"denoising_strength": 0.2, "hr_denoising": 0.2}),
        (
            "Hires upscaler",
            "latent, R-ESRGAN 4x+",
            ["Latent", "R-ESRGAN 4x+"],
            {"hr_upscaler": "Latent"},
        ),
    ],
)
def test_axis_parse_and_apply(axis_type: str, text: str, parsed: list, changes: dict) -> None:
    axis = parse_axis(axis_type, text, choices=CHOICES)
    assert axis.type == AxisType(axis_type)
    assert list(axis.values) == parsed
    assert axis.changes(FORM, axis.values[0]) == changes
    applied = axis.apply(FORM, axis.values[0])
    assert applied == {**FORM, **changes}
    assert FORM["steps"] == 20  # the input is left alone


def test_nothing_axis() -> None:
    axis = parse_axis("Nothing", "whatever")
    assert axis.values == (None,)
    assert axis.apply(FORM, None) == FORM
    assert axis.label(None) == ""


def test_prompt_search_and_replace() -> None:
    axis = parse_axis("Prompt S/R", "red, blue, green", name="Y")
    assert axis.apply(FORM, "blue")["prompt"] == "a blue hat, <lora:detail_tweaker:0.3>"
    assert axis.apply(FORM, "blue")["negative_prompt"] == "blue blur"
    only_negative = parse_axis("Prompt S/R", "blur, haze")
    assert only_negative.apply(FORM, "haze")["negative_prompt"] == "red haze"
    missing = parse_axis("Prompt S/R", "purple, blue", name="Y")
    with pytest.raises(XYZError, match=r"^Y values: Prompt S/R did not find 'purple'") as error:
        missing.apply(FORM, "blue")
    assert error.value.axis == "Y"


def test_lora_weight_axis() -> None:
    axis = parse_axis("LoRA weight", "detail_tweaker: 0-1 [3]", choices=CHOICES)
    assert axis.lora == "detail_tweaker"
    assert axis.values == (0.0, 0.5, 1.0)
    assert axis.apply(FORM, 0.5)["prompt"] == "a red hat, <lora:detail_tweaker:0.5>"
    added = parse_axis("LoRA weight", "add_more: 0.8", choices=CHOICES)
    assert added.apply(FORM, 0.8)["prompt"] == FORM["prompt"] + ", <lora:add_more:0.8>"
    assert added.apply({"prompt": ""}, 0.8)["prompt"] == "<lora:add_more:0.8>"
    assert added.label(0.8) == "add_more: 0.8"


def test_labels_as_a1111() -> None:
    assert parse_axis("Steps", "20").label(20) == "Steps: 20"
    assert parse_axis("CFG Scale", "5").label(5.0) == "CFG Scale: 5.0"
    assert parse_axis("Denoising", "0.1-0.3 (+0.1)").label(0.30000000000000004) == "Denoising: 0.3"
    assert parse_axis("Sampler", "Euler").label("Euler") == "Euler"
    assert parse_axis("Checkpoint name", "a/b.ckpt").label("models/b.ckpt") == "b.ckpt"


# --- refusals name the axis ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "axis_type", "text", "message"),
    [
        ("X", "Steps", "10, abc", "X values: 'abc' is not a whole number for Steps"),
        ("X", "Steps", "7.5", "X values: '7.5' is not a whole number for Steps"),
        ("X", "CFG Scale", "abc", "X values: 'abc' is not a number for CFG Scale"),
        ("Y", "Steps", "20, 200", "Y values: Steps must be in [1, 150], got 200"),
        ("Y", "CFG Scale", "0.5", "Y values: CFG Scale must be in [1, 30], got 0.5"),
        ("Z", "Clip skip", "1-13", "Z values: Clip skip must be in [1, 12], got 13"),
        ("Z", "Denoising", "0.5-1.5 [3]", "Z values: Denoising must be in [0, 1], got 1.5"),
        ("X", "Seed", "-2", "X values: Seed must be in [-1, 4294967295], got -2"),
        ("X", "CFG Scale", "nan", "X values: CFG Scale must be in [1, 30], got nan"),
        ("X", "Steps", "", "X values: no values for Steps"),
        ("X", "Steps", "5,,9", "X values: '' is not a whole number for Steps"),
        ("X", "Steps", "10-1", "X values: '10-1' gives no values"),
        ("X", "Steps", "1-5 (-1)", "X values: '1-5 (-1)' gives no values"),
        ("X", "Steps", "1-5 (+0)", "X values: '1-5 (+0)': the step must not be 0"),
        ("X", "Steps", "1-5 [0]", "X values: '1-5 [0]' gives no values"),
        (
            "X",
            "Seed",
            "1-99999999",
            "X values: '1-99999999' gives 99999999 values; the most is 1024",
        ),
        ("X", "Sampler", "Euler z", "X values: unknown sampler 'Euler z'"),
        ("Y", "Checkpoint name", "sd3", "Y values: unknown checkpoint name 'sd3'"),
        ("Y", "VAE", "kl-f8", "Y values: unknown VAE 'kl-f8'"),
        ("Y", "Hires upscaler", "Lanczos", "Y values: unknown hires upscaler 'Lanczos'"),
        ("Y", "Sampler", "Euler, ", "Y values: an empty value for Sampler"),
        ("Z", "LoRA weight", "0.5, 1", "Z values: LoRA weight needs the LoRA's name first"),
        ("Z", "LoRA weight", "nope: 0.5", "Z values: unknown LoRA 'nope'"),
        ("Z", "LoRA weight", "add_more: 6", "Z values: LoRA weight must be in [-5, 5], got 6"),
        ("Z", "Size", "512", "Z type: unknown axis 'Size'"),
    ],
)
def test_bad_values_refused_naming_the_axis(
    name: str, axis_type: str, text: str, message: str
) -> None:
    with pytest.raises(XYZError) as error:
        parse_axis(axis_type, text, name=name, choices=CHOICES)
    assert str(error.value).startswith(message)
    assert error.value.axis == name


def test_unchecked_choices_are_taken_as_typed() -> None:
    assert parse_axis("Checkpoint name", "anything").values == ("anything",)


# --- plan ---------------------------------------------------------------------------------


def test_plan_two_by_two() -> None:
    x = parse_axis("CFG Scale", "5, 9", name="X")
    y = parse_axis("Steps", "10, 20", name="Y")
    cells = plan(x, y, form_values=FORM)
    assert [c.indices for c in cells] == [(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)]
    assert [c.overrides for c in cells] == [
        {"cfg_scale": 5.0, "steps": 10},
        {"cfg_scale": 9.0, "steps": 10},
        {"cfg_scale": 5.0, "steps": 20},
        {"cfg_scale": 9.0, "steps": 20},
    ]
    assert cells[1].values == (9.0, 10, None)
    assert cells[3].labels == ("CFG Scale: 9.0", "Steps: 20", "")
    assert cells[2].apply(FORM) == {**FORM, "cfg_scale": 5.0, "steps": 20}


def test_plan_three_axes_x_fastest_and_applied_in_order() -> None:
    x = parse_axis("Prompt S/R", "red, blue", name="X")
    y = parse_axis("Prompt S/R", "hat, cap", name="Y")
    z = parse_axis("LoRA weight", "detail_tweaker: 0.5, 1", name="Z")
    cells = plan(x, y, z, form_values=FORM)
    assert len(cells) == 8
    assert [c.indices for c in cells][:3] == [(0, 0, 0), (1, 0, 0), (0, 1, 0)]
    assert cells[-1].indices == (1, 1, 1)
    assert cells[-1].overrides["prompt"] == "a blue cap, <lora:detail_tweaker:1>"


def test_plan_fixes_random_seeds_once_unless_kept() -> None:
    seeds = parse_axis("Seed", "-1, 5, -1", name="X")
    steps = parse_axis("Steps", "10, 20", name="Y")
    cells = plan(seeds, steps, form_values={**FORM, "seed": -1}, rng=random.Random(1))
    drawn = [c.overrides["seed"] for c in cells]
    assert drawn[:3] == drawn[3:]  # the same seed down each column
    assert drawn[1] == 5 and -1 not in drawn and drawn[0] != drawn[2]

    base = plan(steps, form_values={**FORM, "seed": -1}, rng=random.Random(1))
    assert base[0].overrides["seed"] == base[1].overrides["seed"] != -1
    kept = plan(seeds, steps, form_values={**FORM, "seed": -1}, keep_random_seeds=True)
    assert [c.overrides["seed"] for c in kept][:3] == [-1, 5, -1]
    assert (
        "seed"
        not in plan(steps, form_values={**FORM, "seed": -1}, keep_random_seeds=True)[0].overrides
    )


def test_plan_fails_on_prompt_sr_not_found_before_sending() -> None:
    with pytest.raises(XYZError, match="^X values: Prompt S/R did not find 'cat'"):
        plan(parse_axis("Prompt S/R", "cat, dog"), form_values=FORM)


def test_plan_cap() -> None:
    x = parse_axis("Steps", "1-20", name="X")
    y = parse_axis("CFG Scale", "1-13", name="Y")
    assert len(plan(x, parse_axis("CFG Scale", "1-12"), form_values=FORM)) == 240
    with pytest.raises(XYZError, match=r"would make 260 images \(20 x 13 x 1\); the most is 256"):
        plan(x, y, form_values=FORM)
    assert len(plan(x, y, form_values=FORM, max_cells=300)) == 260
    assert len(plan()) == 1  # all Nothing: one plain image
