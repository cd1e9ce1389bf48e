"""The prompt box's counter handler as a page or a raw API call would call it: A1111's token
count with the chosen styles counted in, the LoRA warnings against the service's lists and
the checkpoint, escaped text, and an answer (no traceback) for any argument."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import BuiltUi
from tests.ui.test_styles import JUNK

A = "visitor-a-0123456789abcdef"
XL_CHECKPOINT = "sdXL_v10VAEFix_101055.safetensors"
SD15_CHECKPOINT = "photon_v1_84728.safetensors"


def counted(ui: BuiltUi, text: Any, styles: Any = (), checkpoint: Any = None) -> str:
    return ui.tab.box.handlers["count"](ui.token(A), text, list(styles), checkpoint)


def test_the_count_is_a1111s_with_the_styles_counted_in(ui: BuiltUi) -> None:
    assert counted(ui, "masterpiece, best quality, 1girl, solo") == "9/75"
    styled = counted(ui, "masterpiece, best quality, 1girl, solo", ["Photographic"])
    assert int(styled.split("/")[0]) > 9


def test_a_lora_of_another_family_or_unknown_is_warned_under_the_count(ui: BuiltUi) -> None:
    prompt = "a cat, <lora:add_detail_58390:0.8>"
    assert counted(ui, prompt, checkpoint=SD15_CHECKPOINT) == counted(ui, "a cat,")
    warned = counted(ui, prompt, checkpoint=XL_CHECKPOINT)
    assert "zq-warning" in warned and "SD 1.5" in warned and "SDXL 1.0" in warned
    unknown = counted(ui, '<lora:x" onmouseover="alert(1)&:1>', checkpoint=SD15_CHECKPOINT)
    assert "x&quot; onmouseover=&quot;alert(1)&amp;" in unknown  # the prompt is text, not HTML
    assert '"' not in unknown


def test_every_argument_is_answered_without_a_traceback(ui: BuiltUi) -> None:
    count = ui.tab.box.handlers["count"]
    for junk in JUNK:
        for who in (ui.token(A), None, "forged", junk):
            assert isinstance(count(who, junk, junk, junk), str)
            assert isinstance(count(who, "a <lora:x:1>", junk, junk), str)
