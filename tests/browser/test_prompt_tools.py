"""Prompt tooling in a real browser: A1111's token counter over the prompt, Ctrl+Up /
Ctrl+Down on a word's weight, and the LoRA warning before sending."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_toasts import toast_with
from tests.browser.test_txt2img import pick_checkpoint

pytestmark = pytest.mark.browser

COUNTER = "#txt2img_token_counter"


def counter_shows(page: Any, text: str, selector: str = COUNTER) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.innerText.includes(text)",
        arg=[selector, text], timeout=10_000)


def test_the_token_counter_shows_a1111s_count(page: Any) -> None:
    prompt = page.locator("#txt2img_prompt textarea")
    prompt.fill("masterpiece, best quality, 1girl, solo")
    counter_shows(page, "9/75")
    prompt.fill("cat " * 76)  # one token past the first chunk: A1111's second chunk shows
    counter_shows(page, "76/150")
    page.locator("#txt2img_neg_prompt textarea").fill("blurry, low quality")
    counter_shows(page, "4/75", "#txt2img_negative_token_counter")


def test_ctrl_up_and_down_change_a_words_weight(page: Any) -> None:
    prompt = page.locator("#txt2img_prompt textarea")
    prompt.fill("a cat on a mat")
    prompt.evaluate("area => area.setSelectionRange(3, 3)")  # the caret inside "cat"
    prompt.press("Control+ArrowUp")
    assert prompt.input_value() == "a (cat:1.1) on a mat"
    prompt.press("Control+ArrowUp")
    assert prompt.input_value() == "a (cat:1.2) on a mat"
    for _ in range(2):
        prompt.press("Control+ArrowDown")
    assert prompt.input_value() == "a cat on a mat"  # back at 1: no brackets
    prompt.evaluate("area => area.setSelectionRange(9, 14)")  # "a mat" selected
    prompt.press("Control+ArrowDown")
    assert prompt.input_value() == "a cat on (a mat:0.9)"
    # the page's value follows (the counter counts it): brackets and weight are no tokens
    counter_shows(page, "5/75")
    prompt.fill("a <lora:add_detail_58390:0.8>")
    for start, end in ((12, 12), (25, 28)):  # the caret, or "0.8" selected, in the tag
        prompt.evaluate("(area, [s, e]) => area.setSelectionRange(s, e)", [start, end])
        prompt.press("Control+ArrowUp")
        assert prompt.input_value() == "a <lora:add_detail_58390:0.8>"  # the tag is the service's
    prompt.fill("(cat:1.25)")
    prompt.evaluate("area => area.setSelectionRange(2, 2)")
    prompt.press("Control+ArrowUp")
    assert prompt.input_value() == "(cat:1.35)"  # a finer weight keeps its second decimal


def test_a_lora_for_another_model_family_is_warned_before_sending(page: Any) -> None:
    pick_checkpoint(page, "Juggernaut XL")
    page.locator("#txt2img_prompt textarea").fill("a cat, <lora:add_detail_58390:0.8>")
    counter_shows(page, "SD 1.5")
    warning = page.locator(f"{COUNTER} .zq-warning")
    assert "Juggernaut XL" in warning.inner_text() and warning.is_visible()
    pick_checkpoint(page, "Photon")  # an SD 1.5 checkpoint: the warning goes
    page.wait_for_function(f"() => !document.querySelector('{COUNTER} .zq-warning')")


def completions(page: Any) -> list[str]:
    page.wait_for_selector(".zq-complete .zq-complete-item", timeout=10_000)
    return page.locator(".zq-complete .zq-complete-item").all_inner_texts()


def test_autocomplete_offers_the_listed_loras_after_lora_tag(page: Any) -> None:
    prompt = page.locator("#txt2img_prompt textarea")
    prompt.fill("a cat, ")
    prompt.press("End")
    prompt.type("<lora:")  # every LoRA (the first 12), not what "<lora" matched as a word
    page.wait_for_function(
        "() => document.querySelectorAll('.zq-complete .zq-complete-item').length === 12")
    prompt.type("detail")
    offered = completions(page)
    assert any("Detail Tweaker" in item for item in offered)
    prompt.press("Enter")  # takes the first: the tag whole, with A1111's weight 1
    assert prompt.input_value() == "a cat, <lora:add_detail_58390:1>"
    assert page.locator(".zq-complete").count() == 0


def test_autocomplete_offers_tags_and_embeddings_on_a_word(page: Any) -> None:
    prompt = page.locator("#txt2img_prompt textarea")
    prompt.fill("masterpiece, ")
    prompt.press("End")
    prompt.type("blu")
    # the list for the last keystroke ("bl" may show first, with a LoRA matching it)
    page.wait_for_function("() => document.querySelector('.zq-complete .zq-complete-item')"
                           "?.innerText.startsWith('blush')", timeout=10_000)
    offered = completions(page)
    assert [item.split("\n")[0] for item in offered[:2]] == ["blush", "blue eyes"]
    prompt.press("ArrowDown")
    prompt.press("Tab")
    assert prompt.input_value() == "masterpiece, blue eyes, "
    negative = page.locator("#txt2img_neg_prompt textarea")
    negative.click()
    negative.type("easyneg")
    assert any("EasyNegative" in item for item in completions(page))
    negative.press("Escape")
    assert page.locator(".zq-complete").count() == 0 and negative.input_value() == "easyneg"
    # the caret moved away: what was offered is not put where it no longer is
    negative.type(" blu")
    completions(page)
    negative.press("Home")
    assert page.locator(".zq-complete").count() == 0
    negative.press("Enter")
    assert negative.input_value() == "\neasyneg blu"


def test_a_style_is_edited_then_deleted_in_the_editor(page: Any) -> None:
    page.locator("#txt2img_prompt textarea").fill("oil painting, thick brush strokes")
    page.locator("#txt2img_style_name input").fill("my oils")
    page.locator("#txt2img_save_style").click()
    toast_with(page, "my oils")
    page.locator("#txt2img_style_editor").get_by_text("Edit a style", exact=True).click()
    names = page.locator("#txt2img_edit_style_name input")
    names.click()
    page.get_by_role("option", name="my oils", exact=True).click()
    style_prompt = page.locator("#txt2img_edit_style_prompt textarea")
    page.wait_for_function(
        "() => document.querySelector('#txt2img_edit_style_prompt textarea').value"
        ".includes('thick brush')")
    style_prompt.fill("oil painting, palette knife")
    page.locator("#txt2img_update_style").click()
    toast_with(page, "saved")
    page.locator("#txt2img_delete_style").click()
    toast_with(page, "again")
    page.locator("#txt2img_delete_style").click()
    toast_with(page, "deleted")
    page.wait_for_function(
        "() => document.querySelector('#txt2img_edit_style_prompt textarea').value === ''")
    page.locator("#txt2img_styles input").click()
    assert "my oils" not in page.get_by_role("option").all_inner_texts()
