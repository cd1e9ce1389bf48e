"""The working state survives a reload (issue 18): what the visitor typed and picked, and the
defaults saved in Settings."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import open_page
from webui.ui.app import Launched

pytestmark = pytest.mark.browser


def number(page: Any, selector: str) -> str:
    return page.locator(f"{selector} input[type=number]").input_value()


def set_number(page: Any, selector: str, value: int) -> None:
    box = page.locator(f"{selector} input[type=number]")
    box.fill(str(value))
    box.press("Tab")


def settle(page: Any) -> None:
    """The load event's last step has run (the lists are in)."""
    page.wait_for_function(
        "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
    page.wait_for_timeout(1200)


def save_defaults(page: Any, **values: int) -> None:
    page.locator("#tab_settings-button").click()
    settings = page.locator("#tab_settings")
    # (the test app's 0.25 s preview interval is below the slider's minimum: Save refuses it)
    for label, value in ({**{k.title(): v for k, v in values.items()},
                          "Steady interval, seconds": 1}).items():
        box = settings.locator(f"input[aria-label='number input for {label}']")
        box.fill(str(value))
        box.press("Tab")
    page.locator("#settings_save").click()
    page.get_by_text("Settings saved in this browser.").first.wait_for()
    page.locator("#tab_txt2img-button").click()
    page.wait_for_timeout(300)


def test_prompt_steps_and_checkpoint_survive_a_reload(browser: Any, app: Launched) -> None:
    context, page = open_page(browser, app)
    try:
        page.locator("#txt2img_prompt textarea").fill("a lighthouse at dusk")
        page.locator("#txt2img_neg_prompt textarea").fill("blurry")
        set_number(page, "#txt2img_steps", 37)
        page.locator("#zq_checkpoint input").click()
        page.get_by_role("option", name=re.compile("Photon")).first.click()
        page.wait_for_function(
            "() => document.querySelector('#zq_checkpoint input').value.includes('Photon')")
        page.wait_for_timeout(500)
        page.reload()
        settle(page)
        assert page.locator("#txt2img_prompt textarea").input_value() == "a lighthouse at dusk"
        assert page.locator("#txt2img_neg_prompt textarea").input_value() == "blurry"
        assert number(page, "#txt2img_steps") == "37"
        assert "Photon" in page.locator("#zq_checkpoint input").input_value()
    finally:
        context.close()


def test_saved_defaults_apply_after_a_reload(browser: Any, app: Launched) -> None:
    context, page = open_page(browser, app)
    try:
        save_defaults(page, steps=33, width=640)
        page.locator("#tab_txt2img-button").click()
        page.wait_for_function(
            "() => document.querySelector('#txt2img_steps input[type=number]').value === '33'")
        # a new page in the same browser (its localStorage), then a reload
        second = context.new_page()
        second.goto(app.url)
        settle(second)
        assert number(second, "#txt2img_steps") == "33"
        assert number(second, "#txt2img_width") == "640"
        second.reload()
        settle(second)
        assert number(second, "#txt2img_steps") == "33"
        assert number(second, "#txt2img_width") == "640"
        # a field the visitor changed keeps their value over the default
        set_number(second, "#txt2img_steps", 12)
        second.wait_for_timeout(300)
        second.reload()
        settle(second)
        assert number(second, "#txt2img_steps") == "12"
        assert number(second, "#txt2img_width") == "640"
        # new defaults saved: they replace the visitor's own value of those fields
        save_defaults(second, steps=41)
        second.reload()
        settle(second)
        assert number(second, "#txt2img_steps") == "41"
    finally:
        context.close()


def test_a_reattached_task_and_the_form_agree(browser: Any, app: Launched) -> None:
    """Generate writes the working state: after a reload the form shows the parameters of
    the task the panel follows again."""
    context, page = open_page(browser, app)
    try:
        set_number(page, "#txt2img_steps", 110)
        # set by the app (as Send to does), not typed: Generate still keeps it
        page.locator("#txt2img_prompt textarea").fill("a slow ship in fog")
        set_number(page, "#txt2img_cfg_scale", 9)
        page.locator("#txt2img_generate").click()
        page.locator("#txt2img_preview img").first.wait_for()
        page.reload()
        settle(page)
        page.locator("#txt2img_gallery img").first.wait_for(timeout=30_000)
        infotext = page.locator("#txt2img_infotext textarea").input_value()
        assert infotext.startswith("a slow ship in fog\nSteps: 110, ")
        assert page.locator("#txt2img_prompt textarea").input_value() == "a slow ship in fog"
        assert number(page, "#txt2img_steps") == "110"
        assert number(page, "#txt2img_cfg_scale") == "9"
    finally:
        context.close()
