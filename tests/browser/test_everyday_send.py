"""The everyday loop (issue 18) in a real browser: Send to carries the parameters, ↙ reads them
back, a non-picture is refused as it is dropped, History's Delete asks first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_toasts import toast_with
from tests.browser.test_tools_history import wait_done
from tests.browser.test_txt2img import set_number
from tests.helpers.status_watch import click_and_wait_done
from webui.ui.app import Launched

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("ZHIQITE_SCREENSHOTS")


def shot(page: Any, selector: str, name: str) -> None:
    if SHOTS:
        page.locator(selector).screenshot(path=str(Path(SHOTS) / name))


def generate(page: Any, prompt: str, seed: int, steps: int) -> None:
    page.locator("#tab_txt2img-button").click()
    set_number(page, "txt2img_steps", steps)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    page.locator("#txt2img_neg_prompt textarea").fill("blurry, low quality")
    page.locator("#txt2img_seed input").fill(str(seed))
    click_and_wait_done(page, "txt2img")


def value(page: Any, selector: str) -> str:
    return page.locator(selector).input_value()


def test_send_to_inpaint_brings_the_parameters(page: Any, app: Launched) -> None:
    generate(page, "a brass compass on a map", 4711, 9)
    page.locator("#txt2img_send_inpaint").click()
    page.wait_for_function("() => document.querySelector('#img2img_prompt textarea')?.value"
                           " === 'a brass compass on a map'")
    page.locator("#img2img_inpaint_editor canvas").first.wait_for()
    assert value(page, "#img2img_neg_prompt textarea") == "blurry, low quality"
    assert value(page, "#img2img_seed input") == "4711"
    assert value(page, "#img2img_steps input[type=number]") == "9"
    shot(page, "#tab_img2img", "send_inpaint.png")


def test_history_sends_to_txt2img(page: Any, app: Launched) -> None:
    generate(page, "a paper lantern over a river", 5150, 7)
    page.locator("#txt2img_prompt textarea").fill("")
    page.locator("#txt2img_seed input").fill("-1")
    page.locator("#tab_history-button").click()
    row = page.locator("#history_rows tr[data-task]", has_text="a paper lantern")
    row.first.click()
    wait_done(page, "history")
    page.locator("#history_gallery img").first.wait_for()
    page.locator("#history_send_txt2img").click()
    page.wait_for_function("() => document.querySelector('#txt2img_prompt textarea')?.value"
                           " === 'a paper lantern over a river'")
    assert value(page, "#txt2img_seed input") == "5150"
    assert value(page, "#txt2img_steps input[type=number]") == "7"


def test_arrow_reads_pasted_infotext_and_the_last_task(page: Any, app: Launched) -> None:
    pasted = ("a red fox in snow, <lora:film:0.5>\nNegative prompt: blurry, watermark\n"
              "Steps: 17, Sampler: DPM++ 2M, CFG scale: 6, Seed: 1234, Size: 640x448, "
              "Model: whatever")
    page.locator("#txt2img_prompt textarea").fill(pasted)
    page.locator("#txt2img_paste").click()
    page.wait_for_function("() => document.querySelector('#txt2img_prompt textarea')?.value"
                           " === 'a red fox in snow, <lora:film:0.5>'")
    assert value(page, "#txt2img_neg_prompt textarea") == "blurry, watermark"
    assert value(page, "#txt2img_steps input[type=number]") == "17"
    assert value(page, "#txt2img_seed input") == "1234"
    assert value(page, "#txt2img_width input[type=number]") == "640"
    assert value(page, "#txt2img_height input[type=number]") == "448"
    assert value(page, "#txt2img_sampler input") == "DPM++ 2M"
    shot(page, "#tab_txt2img", "arrow_infotext.png")

    # an empty prompt: the visitor's last txt2img task comes back, with its seed
    generate(page, "a quiet harbour at dusk", 2468, 6)
    page.locator("#txt2img_prompt textarea").fill("")
    page.locator("#txt2img_seed input").fill("-1")
    set_number(page, "txt2img_steps", 30)
    page.locator("#txt2img_paste").click()
    page.wait_for_function("() => document.querySelector('#txt2img_prompt textarea')?.value"
                           " === 'a quiet harbour at dusk'")
    assert value(page, "#txt2img_seed input") == "2468"
    assert value(page, "#txt2img_steps input[type=number]") == "6"


def test_a_fake_png_is_refused_when_dropped(page: Any, app: Launched, tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("just some text, not a picture\n" * 20)
    page.locator("#tab_img2img-button").click()
    page.locator("#img2img_image input[type=file]").set_input_files(str(fake))
    toast = toast_with(page, "Image for img2img: not a readable image (PNG, JPEG or WebP)")
    assert toast.is_visible()
    # the input is cleared: no broken picture left to generate from
    page.wait_for_function("() => !document.querySelector('#img2img_image img')")
    shot(page, "#tab_img2img", "fake_png_refused.png")

    page.locator("#tab_extras-button").click()
    page.locator("#extras_image input[type=file]").set_input_files(str(fake))
    toast_with(page, "Source: not a readable image (PNG, JPEG or WebP)")
    page.wait_for_function("() => !document.querySelector('#extras_image img')")

    page.locator("#tab_pnginfo-button").click()
    page.locator("#pnginfo_file input[type=file]").set_input_files(str(fake))
    toast = toast_with(page, "Drop an image (PNG, JPEG or WebP): not a readable image")
    text = toast.inner_text()
    assert "/" not in text.replace("PNG, JPEG or WebP", "") and "notes.png" not in text, text
    # refused, then cleared: the drop zone is back
    page.wait_for_function("() => !document.querySelector('#pnginfo_file')?.innerText"
                           ".includes('notes.png')")


def test_history_delete_asks_first(page: Any, app: Launched) -> None:
    generate(page, "a tin robot watering plants", 9090, 6)
    page.locator("#tab_history-button").click()
    row = page.locator("#history_rows tr[data-task]", has_text="a tin robot")
    row.first.click()
    wait_done(page, "history")
    page.locator("#history_gallery img").first.wait_for()
    delete = page.locator("#history_delete")
    before = delete.bounding_box()
    shot(page, "#history_detail", "history_opened.png")
    questions: list[str] = []

    def answer(accept: bool) -> Any:
        def handle(dialog: Any) -> None:
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))
    delete.click()
    page.wait_for_timeout(1500)
    assert questions and "Delete this task" in questions[0]
    assert row.count() == 1  # Cancel: nothing deleted
    assert page.locator("#history_gallery img").count() >= 1

    page.once("dialog", answer(True))
    delete.click()
    page.wait_for_function("() => !document.querySelector('#history_rows')?.innerText"
                           ".includes('a tin robot')")
    assert len(questions) == 2
    page.wait_for_timeout(1000)
    after = delete.bounding_box()
    assert delete.inner_text().strip() == "Delete"
    assert before and after and abs(after["width"] - before["width"]) < 2
    assert abs(after["height"] - before["height"]) < 2
    # no button of the row lost its text (a handler's None once emptied one)
    for button in ("send_txt2img", "rerun", "rerun_seed", "delete"):
        box = page.locator(f"#history_{button}").bounding_box()
        assert page.locator(f"#history_{button}").inner_text().strip(), button
        assert box and box["height"] > 20, (button, box)
    shot(page, "#tab_history", "history_after_delete.png")


def test_the_size_preset_shows_its_whole_name(page: Any, app: Launched) -> None:
    name = "Widescreen 16:9 (912x512)"
    page.locator("#txt2img_size_preset input").click()
    page.get_by_role("option", name=name).click()
    page.wait_for_function("() => document.querySelector('#txt2img_width input[type=number]')"
                           "?.value === '912'")
    box = page.locator("#txt2img_size_preset input")
    assert box.input_value() == name
    assert box.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the name is cut off"
    shot(page, "#txt2img_settings", "size_preset.png")
