"""Inpainting in a real browser: upload, paint a stroke, generate, and only the stroke's
surroundings change."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.test_txt2img import set_number
from tests.helpers.images import gradient
from tests.helpers.status_watch import click_and_wait_done
from webui.ui.app import Launched

pytestmark = pytest.mark.browser
SIZE = 256


def stable_box(locator: Any) -> dict[str, float]:
    """The element's box once two reads 200 ms apart agree (it is laid out)."""
    previous = None
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None and box == previous:
            return box
        previous = box
        time.sleep(0.2)
    raise AssertionError(f"the box never settled: {previous}")


def final_status(page: Any, tab: str) -> str:
    """The tab's status line once the task has ended, or the refusal's toast."""
    page.wait_for_function(
        f"() => /^(Done|Failed)/.test(document.querySelector('#{tab}_status')?.innerText || '')"
        " || document.querySelector('.toast-body') !== null", timeout=60_000)
    toasts = page.locator(".toast-body").all_inner_texts()
    return page.locator(f"#{tab}_status").inner_text() + "".join(f" | toast: {t}" for t in toasts)


def inpaint_canvas(page: Any, tmp_path: Path) -> dict[str, float]:
    """The Inpaint editor (its tab open) given a gradient picture: the canvas's box, in view."""
    init_path = tmp_path / "init.png"
    gradient(SIZE, SIZE).save(init_path)
    editor = page.locator("#img2img_inpaint_editor")
    brush_size = editor.get_by_role("button", name="Brush Size")
    # Gradio's editor drops a file given while it still sets up its canvas (seen on a loaded
    # machine: the editor stays empty): wait for the canvas, and give the file again if the
    # toolbar has not gained its brush controls (it does once the image is on the canvas)
    editor.locator("canvas").first.wait_for(state="attached", timeout=60_000)
    for attempt in range(3):
        editor.locator("input[type=file]").first.set_input_files(str(init_path))
        try:
            brush_size.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    canvas = editor.locator("canvas").last
    canvas.scroll_into_view_if_needed()  # a pointer paints only inside the viewport
    return stable_box(canvas)  # the editor fits the image to the canvas


def fill_inpaint_form(page: Any) -> None:
    set_number(page, "img2img_width", SIZE)
    set_number(page, "img2img_height", SIZE)
    set_number(page, "img2img_steps", 10)
    page.locator("#img2img_prompt textarea").fill("a red door")


def changed_pixels(record: Any) -> Any:
    """Where the task's result differs from the gradient it was given."""
    result = np.asarray(Image.open(record.images[0].path or "").convert("RGB")).astype(int)
    init = np.asarray(gradient(SIZE, SIZE).convert("RGB")).astype(int)
    return np.abs(result - init).sum(axis=2) > 0


def test_paint_a_stroke_and_inpaint_only_there(page: Any, app: Launched, tmp_path: Path) -> None:
    page.locator("#tab_img2img-button").click()
    page.get_by_role("tab", name="Inpaint", exact=True).click()
    box = inpaint_canvas(page, tmp_path)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 30, cy)
    page.mouse.down()
    for step in range(1, 13):
        page.mouse.move(cx - 30 + step * 5, cy, steps=2)
    page.mouse.up()

    fill_inpaint_form(page)
    set_number(page, "img2img_mask_blur", 2)
    known = set(app.runtime.offline.runner.tasks)
    page.locator("#img2img_generate").click()
    status = final_status(page, "img2img")
    assert status.startswith("Done"), status
    page.locator("#img2img_gallery img").first.wait_for(timeout=60_000)
    task_id = next(key for key in app.runtime.offline.runner.tasks if key not in known)
    record = app.runtime.store.get(task_id)
    assert record is not None and record.kind == "image2image"
    assert record.request["alwayson_scripts"]["mask_link"]

    changed = changed_pixels(record)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 100, "the stroke changed nothing"
    # everything that changed is near the stroke: a band across the middle
    assert ys.min() > SIZE * 0.2 and ys.max() < SIZE * 0.8, (ys.min(), ys.max())
    assert xs.min() > SIZE * 0.15 and xs.max() < SIZE * 0.85, (xs.min(), xs.max())
    assert not changed[:40].any() and not changed[-40:].any()  # top and bottom untouched
    page.screenshot(path=str(tmp_path / "inpaint.png"), full_page=True)
    if shots := os.environ.get("ZHIQITE_SCREENSHOTS"):  # keep a copy to look at
        page.locator("#tab_img2img").screenshot(path=str(Path(shots) / "inpaint.png"))


def test_send_to_img2img_and_png_info_round_trip(page: Any, app: Launched) -> None:
    set_number(page, "txt2img_steps", 12)
    page.locator("#txt2img_prompt textarea").fill("a blue boat, sunrise")
    page.locator("#txt2img_seed input").fill("4242")
    click_and_wait_done(page, "txt2img")
    assert "Seed: 4242" in page.locator("#txt2img_infotext textarea").input_value()

    # gallery -> img2img: the tab switches, the image and the parameters come along
    page.locator("#txt2img_send_img2img").click()
    page.wait_for_function("() => document.querySelector('#img2img_prompt textarea')?.value"
                           " === 'a blue boat, sunrise'")
    assert page.locator("#tab_img2img").is_visible()
    page.locator("#img2img_image img").first.wait_for()
    assert page.locator("#img2img_seed input").input_value() == "4242"
    assert page.locator("#img2img_steps input[type=number]").input_value() == "12"

    # PNG Info reads the saved file and sends its fields to txt2img
    saved = sorted(Path(app.runtime.settings.outputs_dir).rglob("*-4242.png"))[-1]
    page.locator("#tab_pnginfo-button").click()
    page.locator("#pnginfo_file input[type=file]").set_input_files(str(saved))
    page.wait_for_function("() => document.querySelector('#pnginfo_text textarea')?.value"
                           ".includes('Seed: 4242')")
    assert "Sampler" in page.locator("#pnginfo_fields").inner_text()
    page.locator("#pnginfo_send_txt2img").click()
    page.wait_for_function("() => document.querySelector('#tab_txt2img')?.offsetParent !== null")
    assert page.locator("#txt2img_prompt textarea").input_value() == "a blue boat, sunrise"
    assert page.locator("#txt2img_seed input").input_value() == "4242"
