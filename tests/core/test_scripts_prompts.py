"""Prompt matrix, prompts from file (A1111's scripts) and dynamic prompts / wildcards."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from webui.core.scripts.common import PromptScriptError
from webui.core.scripts.from_file import parse_prompt_line, parse_prompt_lines, prompt_file_jobs
from webui.core.scripts.matrix import plan_prompt_matrix, prompt_matrix
from webui.core.scripts.wildcards import Wildcards, count_expansions, expand_all, expand_random

# --- Prompt matrix -----------------------------------------------------------------------------


def test_matrix_order_as_a1111() -> None:
    # bit n of the prompt's index switches part n + 1 on; the first part is kept verbatim
    assert prompt_matrix("a cat|red|big") == [
        "a cat",
        "a cat, red",
        "a cat, big",
        "a cat, red, big",
    ]
    assert prompt_matrix("a cat | red ,| big", delimiter="space") == [
        "a cat ",
        "a cat  red ",
        "a cat  big",
        "a cat  red  big",
    ]


def test_matrix_put_at_start_and_plain_prompt() -> None:
    assert prompt_matrix("cat|red|big", put_at_start=True) == [
        "cat",
        "red, cat",
        "big, cat",
        "red, big, cat",
    ]
    assert prompt_matrix("just a cat") == ["just a cat"]


def test_matrix_cap_names_the_count() -> None:
    assert len(prompt_matrix("|".join("abcdefghi"))) == 256
    with pytest.raises(PromptScriptError, match="1024 prompts; at most 256") as refused:
        prompt_matrix("|".join("abcdefghijk"))
    assert refused.value.context == {"count": 1024, "limit": 256}


def test_matrix_plan_negative_and_seeds() -> None:
    plan = plan_prompt_matrix(
        "a cat", "blurry|ugly", 10, prompt_type="negative", different_seeds=True
    )
    assert plan.prompts == ("a cat", "a cat")
    assert plan.negative_prompts == ("blurry", "blurry, ugly")
    assert plan.seeds == (10, 11)
    assert plan.n_iter(batch_size=1) == 2
    same = plan_prompt_matrix("a|b|c", "", -1, rng=random.Random(1))
    assert len(set(same.seeds)) == 1 and same.seeds[0] >= 0 and len(same.prompts) == 4
    assert same.n_iter(batch_size=3) == 2


# --- Prompts from file or textbox --------------------------------------------------------------


def test_plain_lines_and_blank_lines() -> None:
    lines = parse_prompt_lines("a cat\n\n  a dog  \n")
    assert [(line.number, dict(line.values)) for line in lines] == [
        (1, {"prompt": "a cat"}),
        (3, {"prompt": "a dog"}),
    ]


def test_options_mapped_to_form_fields() -> None:
    line = parse_prompt_line(
        '--prompt "a cat" on a mat --negative_prompt "blurry" '
        "--steps 30 --cfg_scale 5.5 --sampler_name 'dpm++ 2m karras' "
        "--width 768 --height 512 --seed -1 --batch_size 2 --n_iter 3 "
        "--restore_faces true --styles 'Cinematic, Photo' "
        "--sd_model sdxl --do_not_save_grid true --tiling false",
        checkpoints=["sdxl.safetensors"],
    )
    assert dict(line.values) == {
        "prompt": "a cat on a mat",
        "negative_prompt": "blurry",
        "steps": 30,
        "cfg_scale": 5.5,
        "sampler": "DPM++ 2M Karras",
        "width": 768,
        "height": 512,
        "seed": -1,
        "batch_size": 2,
        "n_iter": 3,
        "restore_faces": True,
        "styles": ["Cinematic", "Photo"],
        "checkpoint": "sdxl.safetensors",
    }
    assert line.dropped == ("do_not_save_grid", "tiling")


def test_line_with_dashes_but_no_leading_option_is_a_prompt() -> None:
    assert parse_prompt_line("a cat -- dog").values == {"prompt": "a cat -- dog"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\nb\n--steps x", "Line 3: --steps 'x' is not a whole number"),
        ("--cfg_scale high", "Line 1: --cfg_scale 'high' is not a number"),
        ("--restore_faces yes", "Line 1: --restore_faces 'yes' is not true or false"),
        ("\n--clip_skip 2", "Line 2: unknown option --clip_skip"),
        ("--steps", "Line 1: --steps has no value"),
        ('--prompt "a cat', "Line 1: cannot be read as options"),
        ("--steps 20 oops --width 512", "Line 1: 'oops' must start with"),
        ("--tiling true", "Line 1: --tiling cannot be used: tiling is not supported"),
        ("--subseed 5", "Line 1: --subseed cannot be used: variation seeds"),
        ("--outpath_samples /etc", "Line 1: --outpath_samples cannot be used"),
        ("--sampler_name Foo", "Line 1: --sampler_name 'Foo' is not a sampler"),
    ],
)
def test_line_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PromptScriptError) as refused:
        parse_prompt_lines(text)
    assert str(refused.value).startswith(message)
    assert refused.value.context["line"] == text.count("\n") + 1


def test_unknown_checkpoint_refused_and_line_cap() -> None:
    with pytest.raises(PromptScriptError, match="'nope' is not a checkpoint"):
        parse_prompt_line("--sd_model nope", checkpoints=["sdxl.safetensors"])
    with pytest.raises(PromptScriptError, match="holds 3 prompts; at most 2"):
        parse_prompt_lines("a\nb\nc", limit=2)


def test_jobs_join_prompts_and_iterate_seeds() -> None:
    lines = parse_prompt_lines('a cat\n--prompt "a dog" --seed 99 --steps 5')
    base = {
        "prompt": "photo",
        "negative_prompt": "",
        "seed": 7,
        "steps": 20,
        "batch_size": 2,
        "n_iter": 2,
    }
    jobs = prompt_file_jobs(lines, base, iterate_seed=True)
    assert [(j["prompt"], j["seed"], j["steps"]) for j in jobs] == [
        ("a cat photo", 7, 20),
        ("a dog photo", 99, 5),
    ]
    jobs = prompt_file_jobs(parse_prompt_lines("a\nb\nc"), base, iterate_seed=True, position="end")
    assert [(j["prompt"], j["seed"]) for j in jobs] == [
        ("photo a", 7),
        ("photo b", 11),
        ("photo c", 15),
    ]
    same = prompt_file_jobs(
        parse_prompt_lines("a\nb"), {**base, "seed": -1}, same_seed=True, rng=random.Random(3)
    )
    assert same[0]["seed"] == same[1]["seed"] != -1
    fresh = prompt_file_jobs(parse_prompt_lines("a"), {"prompt": "", "seed": -1})
    assert fresh == [{"prompt": "a", "seed": -1}]


# --- Dynamic prompts and wildcards -------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "colors.txt").write_text("red\ngreen\n# a comment\n\nblue\n")
    (tmp_path / "animals.txt").write_text("cat\n{small|big} dog\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "pet.txt").write_text("__colors__ __animals__\n")
    (tmp_path / "loop.txt").write_text("again __loop__\n")
    return tmp_path


def test_same_seed_same_expansion_and_seeds_vary(folder: Path) -> None:
    wildcards = Wildcards([folder])
    template = "a {red|green|blue|pink|gold} __nested/pet__, {2$$a|b|c|d}"
    first = expand_random(template, 1234, wildcards)
    assert first == expand_random(template, 1234, Wildcards([folder]))
    assert first.template == template and "{" not in first.text and "__" not in first.text
    texts = {expand_random(template, seed, wildcards).text for seed in range(40)}
    assert len(texts) > 10


def test_combinatorial_count_order_and_nesting(folder: Path) -> None:
    wildcards = Wildcards([folder])
    assert [e.text for e in expand_all("{a|b{1|2}} x")] == ["a x", "b1 x", "b2 x"]
    assert [e.text for e in expand_all("__animals__", wildcards)] == ["cat", "small dog", "big dog"]
    assert count_expansions("__nested/pet__", wildcards) == 9
    every = expand_all("__nested/pet__ {x|y}", wildcards)
    assert len(every) == 18 and every[0].text == "red cat x" and every[1].text == "red cat y"
    assert [e.text for e in expand_all("{2$$ and $$a|b|c}")] == ["a and b", "a and c", "b and c"]
    assert count_expansions("{1-2$$a|b|c}") == 6
    assert [e.text for e in expand_all(r"a \{b\} | c")] == ["a {b} | c"]


def test_combinatorial_cap_names_the_count(folder: Path) -> None:
    with pytest.raises(PromptScriptError, match="makes 81 prompts; at most 80"):
        expand_all("__nested/pet__ " * 2, Wildcards([folder]), limit=80)


def test_missing_wildcard_refused_with_its_name(folder: Path) -> None:
    with pytest.raises(PromptScriptError, match="__planets__ not found: no planets.txt"):
        expand_random("a __planets__", 1, Wildcards([folder]))
    with pytest.raises(PromptScriptError, match="__planets__ not found"):
        expand_all("__planets__")


@pytest.mark.parametrize("name", ["../secret", "/etc/passwd", "a/../../b", "a\\b", "x.y"])
def test_path_traversal_refused(folder: Path, name: str) -> None:
    (folder.parent / "secret.txt").write_text("leaked\n")
    with pytest.raises(PromptScriptError, match="is not a wildcard name"):
        expand_random(f"__{name}__", 1, Wildcards([folder / "nested"]))


def test_symlink_out_of_folder_is_not_followed(folder: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("leaked\n")
    (folder / "link.txt").symlink_to(outside)
    with pytest.raises(PromptScriptError, match="__link__ not found"):
        expand_random("__link__", 1, Wildcards([folder]))


def test_self_including_wildcard_is_bounded(folder: Path) -> None:
    with pytest.raises(PromptScriptError, match="nest deeper than 10") as refused:
        expand_random("__loop__", 1, Wildcards([folder]))
    assert refused.value.kind == "wildcard_depth"
    with pytest.raises(PromptScriptError, match="nest deeper"):
        expand_all("__loop__", Wildcards([folder]))


def test_size_and_length_bounds(folder: Path) -> None:
    (folder / "big.txt").write_text("x" * 2000 + "\n")
    with pytest.raises(PromptScriptError, match="too large"):
        expand_random("__big__", 1, Wildcards([folder], max_bytes=1000))
    with pytest.raises(PromptScriptError, match="longer than 100 characters"):
        expand_random("__big__", 1, Wildcards([folder]), max_chars=100)
    (folder / "wide.txt").write_text("__big__ __big__ __big__ __big__\n")
    with pytest.raises(PromptScriptError, match="longer than 5000"):
        expand_all("__wide__", Wildcards([folder]), max_chars=5000)


def test_syntax_errors_and_first_folder_wins(folder: Path, tmp_path_factory) -> None:
    with pytest.raises(PromptScriptError, match="Unmatched '\\{'"):
        expand_random("a {b|c", 1)
    with pytest.raises(PromptScriptError, match="Unmatched '\\}'"):
        expand_random("a b}", 1)
    other = tmp_path_factory.mktemp("data")
    (other / "colors.txt").write_text("mauve\n")
    (other / "shapes.txt").write_text("round\n")
    wildcards = Wildcards([other, folder])
    assert expand_all("__colors__", wildcards)[0].text == "mauve"
    assert wildcards.names() == ["animals", "colors", "loop", "nested/pet", "shapes"]
