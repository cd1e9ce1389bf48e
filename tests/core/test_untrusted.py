"""What a scripted caller sends in place of a saved form or a pasted infotext (an attack pass
on issue 18's handlers): deep JSON, numbers that are not finite, a long line that made the
infotext pattern take time growing with the square of its length."""

from __future__ import annotations

import pytest

from webui.core import infotext, untrusted
from webui.core.paste import fields_from_infotext
from webui.ui.tasks import read_last_tasks
from webui.ui.working_state import parse

DEEP = "[" * 90_000 + "]" * 90_000  # 180 kB: past the JSON parser's recursion limit


def test_deep_json_is_junk_not_a_recursion_error() -> None:
    assert untrusted.loads(DEEP, 200_000) is untrusted.JUNK
    assert untrusted.loads('{"a": 1}', 10) == {"a": 1}
    assert untrusted.loads("x" * 11, 10) is untrusted.JUNK
    assert untrusted.loads(None, 10) is untrusted.JUNK
    assert read_last_tasks(DEEP) == {}  # the page's load event read these
    assert parse(DEEP) == {}


@pytest.mark.parametrize("line", ["Seed: inf", "Steps: 1e400", "Seed: nan",
                                  "Denoising strength: abc", "CFG scale: nan"])
def test_numbers_that_are_not_finite_are_left_out(line: str) -> None:
    text = f"a cat\nSampler: Euler, Size: 512x512, {line}"
    fields = fields_from_infotext(text)
    assert fields["prompt"] == "a cat" and fields["width"] == 512
    key = line.split(":")[0]
    name = {"Seed": "seed", "Steps": "steps", "Denoising strength": "denoising_strength",
            "CFG scale": "cfg_scale"}[key]
    assert name not in fields


def test_an_infotext_is_read_within_bounds() -> None:
    long_key = "k" * 200
    parsed = infotext.parse(f"a cat\nSteps: 20, Sampler: Euler, {long_key}: 1")
    assert parsed["Steps"] == "20" and long_key not in parsed  # keys are a few words
    huge = "a" * (infotext.MAX_TEXT * 3)
    assert len(infotext.parse(huge)["Prompt"]) == infotext.MAX_TEXT
