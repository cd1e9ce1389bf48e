"""The prompt's LoRA warnings: a tag that names no LoRA in the list, and a LoRA of another
model family than the checkpoint's; what the lists do not say is not claimed."""

from __future__ import annotations

from webui.core.catalog import Choice
from webui.core.prompts import MAX_LORA_WARNINGS, BaseFamily, base_family, lora_warnings
from webui.messages import Language, render

SD15 = Choice("Photon", "photon_v1.safetensors", base_model="SD 1.5")
XL = Choice("Juggernaut XL", "juggernautXL.safetensors", base_model="SDXL 1.0")
LORAS = [Choice("Detail Tweaker", "add_detail", base_model="SD 1.5"),
         Choice("XL Helper", "xl_helper", base_model="SDXL 1.0"),
         Choice("Pony style", "pony_style", base_model="Pony"),
         Choice("Mystery", "mystery", base_model=None)]


def texts(prompt: str, checkpoint: Choice | None, language: Language = Language.EN) -> list[str]:
    return [render(warning, language) for warning in lora_warnings(prompt, LORAS, checkpoint)]


def test_families_are_read_from_the_lists_free_spelling() -> None:
    assert base_family("SD 1.5") is base_family("SD1.4") is BaseFamily.SD1
    assert base_family("SDXL 1.0") is base_family("Pony") is base_family("Illustrious") \
        is BaseFamily.SDXL
    assert base_family("SD 2.1") is BaseFamily.SD2
    assert base_family("Flux.1 D") is BaseFamily.FLUX
    assert base_family(None) is None and base_family("Other") is None


def test_a_lora_of_another_family_is_named_with_both_bases() -> None:
    [warning] = texts("a cat, <lora:add_detail:0.8>", XL)
    assert "Detail Tweaker" in warning and "SD 1.5" in warning and "SDXL 1.0" in warning
    assert texts("a cat, <lora:add_detail:0.8>", SD15) == []
    assert texts("a cat, <lora:pony_style:1>", XL) == []  # Pony is an SDXL model


def test_a_tag_naming_no_lora_is_named() -> None:
    [warning] = texts("<lora:add_detial:1> a cat", SD15)
    assert "<lora:add_detial>" in warning
    assert "add_detial" in texts("<lora:add_detial>", None, Language.ZH_CN)[0]


def test_what_the_lists_do_not_say_is_not_claimed() -> None:
    assert texts("<lora:mystery:1>", XL) == []  # the LoRA's base is not listed
    assert texts("<lora:add_detail:1>", Choice("Odd", "odd", base_model="Kolors")) == []
    assert texts("<lora:add_detail:1>", None) == []  # no checkpoint chosen


def test_each_name_once_and_at_most_a_few_lines() -> None:
    assert len(texts("<lora:nope:1> <lora:nope:0.5>", SD15)) == 1
    many = " ".join(f"<lora:nope{n}:1>" for n in range(100))
    assert len(texts(many, SD15)) == MAX_LORA_WARNINGS


def test_any_text_is_read_in_one_pass() -> None:
    """Tags that never close ("<lora:<lora:...") took minutes with a backtracking pattern."""
    for text in ("<lora:" * 50_000, "<lora:a:" * 50_000, "<lora:a" + ">" * 100_000):
        assert len(lora_warnings(text, LORAS, SD15)) <= MAX_LORA_WARNINGS
