"""The results column in the everyday loop: results fit their box, a refused Generate keeps
what is shown, Interrupt says what it did, and nothing below the results jumps."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import open_page
from tests.browser.test_txt2img import set_number
from tests.helpers.images import drawn_face, gradient
from webui.ui.app import Launched
from webui.ui.results import INTERRUPTED

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("ZHIQITE_SCREENSHOTS", "/tmp/i18"))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def generate(page: Any, prompt: str, *, count: int = 1) -> None:
    page.locator("#txt2img_prompt textarea").fill(prompt)
    page.locator("#txt2img_generate").click()
    page.wait_for_function(
        "n => document.querySelectorAll('#txt2img_gallery img').length === n "
        "&& document.querySelector('#txt2img_status').innerText.startsWith('Done')",
        arg=count, timeout=30_000)
    page.wait_for_timeout(300)  # the images lay out


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found, selector
    return found


def drawn(page: Any, selector: str) -> list[dict[str, float]]:
    """Each <img>'s box, and the box of the picture drawn in it (object-fit: contain)."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)].map(img => {
            const r = img.getBoundingClientRect();
            const fit = getComputedStyle(img).objectFit;
            let w = r.width, h = r.height;
            if (fit === 'contain' && img.naturalWidth) {
                const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
                w = img.naturalWidth * s; h = img.naturalHeight * s;
            }
            return {x: r.x + (r.width - w) / 2, y: r.y + (r.height - h) / 2, width: w,
                    height: h};
        })""", selector)


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1)


def visible(page: Any, elem_id: str) -> bool:
    return page.locator(f"#{elem_id}").is_visible()


def test_a_single_result_and_a_batch_fit_their_box(page: Any, app: Launched) -> None:
    set_number(page, "txt2img_width", 512)
    set_number(page, "txt2img_height", 512)
    set_number(page, "txt2img_steps", 4)
    generate(page, "a square lighthouse")
    shot(page, "fit-single")
    wrap = box(page, "#txt2img_gallery .grid-wrap")
    (single,) = drawn(page, "#txt2img_gallery .grid-wrap img")
    assert inside(single, wrap), (single, wrap)
    assert single["height"] > wrap["height"] * 0.8, "a single result fills its box"

    set_number(page, "txt2img_batch_size", 4)
    generate(page, "four square lighthouses", count=4)
    shot(page, "fit-batch")
    wrap = box(page, "#txt2img_gallery .grid-wrap")
    images = drawn(page, "#txt2img_gallery .grid-wrap img")
    assert len(images) == 4
    for image in images:
        assert inside(image, wrap), (image, wrap)
    assert len({round(i["y"]) for i in images}) == 2, "a 2x2 grid, both rows shown"
    # the selected picture is shown larger, the others as thumbnails
    page.locator("#txt2img_gallery .thumbnail-item").nth(1).click()
    page.locator("#txt2img_gallery .preview img").first.wait_for()
    shot(page, "fit-batch-selected")
    gallery = box(page, "#txt2img_gallery")
    big = drawn(page, "#txt2img_gallery .preview > .media-button img, "
                "#txt2img_gallery .preview button.media-button img")
    assert big and inside(big[0], gallery), (big, gallery)
    assert big[0]["height"] > images[0]["height"]


def test_a_refused_generate_keeps_the_last_result(page: Any, app: Launched) -> None:
    set_number(page, "txt2img_steps", 4)
    generate(page, "a kept lighthouse")
    status = page.locator("#txt2img_status").inner_text()
    source = page.locator("#txt2img_gallery img").first.get_attribute("src")
    page.locator("#txt2img_prompt textarea").fill("")
    page.locator("#txt2img_generate").click()
    page.get_by_text(re.compile(r"Prompt: .*must not be empty")).first.wait_for()
    page.wait_for_timeout(500)
    shot(page, "refused-keeps")
    assert page.locator("#txt2img_gallery img").first.get_attribute("src") == source
    assert page.locator("#txt2img_status").inner_text() == status


def test_interrupt_says_the_service_cannot_cancel(page: Any, app: Launched) -> None:
    assert not visible(page, "txt2img_interrupt") and not visible(page, "txt2img_progress")
    infotext_y = box(page, "#txt2img_infotext")["y"]
    set_number(page, "txt2img_steps", 150)
    page.locator("#txt2img_prompt textarea").fill("a very slow harbour")
    page.locator("#txt2img_generate").click()
    page.locator("#txt2img_preview img").first.wait_for()
    assert visible(page, "txt2img_interrupt") and visible(page, "txt2img_progress")
    assert abs(box(page, "#txt2img_infotext")["y"] - infotext_y) < 2, "nothing below moved"
    assert page.locator("#txt2img_status .progress-text, #txt2img_status .eta-bar").count() == 0
    shot(page, "interrupt-before")
    page.locator("#txt2img_interrupt").click()
    page.wait_for_function("t => document.querySelector('#txt2img_status').innerText.trim()"
                           " === t", arg=str(INTERRUPTED))
    time.sleep(1.0)  # a late update of the stopped stream must not overwrite it
    shot(page, "interrupt-after")
    assert page.locator("#txt2img_status").inner_text().strip() == str(INTERRUPTED)
    assert not visible(page, "txt2img_interrupt") and not visible(page, "txt2img_progress")
    assert abs(box(page, "#txt2img_infotext")["y"] - infotext_y) < 2


def test_a_failed_face_swap_is_not_warned_again_after_a_reload(browser: Any, app: Launched,
                                                              tmp_path: Path) -> None:
    """The warning belongs to the event that failed; a page that comes back shows the failure
    in the status line only, on no tab."""
    source, target = tmp_path / "face.png", tmp_path / "noface.png"
    drawn_face(256).save(source)
    gradient(256, 256).save(target)  # no face to replace
    context, page = open_page(browser, app)
    try:
        page.locator("#tab_faceswap-button").click()
        page.locator("#faceswap_source input[type=file]").set_input_files(str(source))
        page.locator("#faceswap_target input[type=file]").set_input_files(str(target))
        page.locator("#faceswap_target img").wait_for()
        page.locator("#faceswap_run").click()
        page.wait_for_function("() => /no face/.test(document.querySelector("
                               "'#faceswap_status')?.innerText || '')", timeout=30_000)
        page.locator(".toast-body").first.wait_for()  # the event's own warning
        page.reload()
        page.wait_for_function(
            "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
        page.locator("#tab_faceswap-button").click()
        page.wait_for_function("() => /no face/.test(document.querySelector("
                               "'#faceswap_status')?.innerText || '')", timeout=30_000)
        page.wait_for_timeout(1500)  # any toast of the load event would be up by now
        assert page.locator(".toast-body").count() == 0
    finally:
        context.close()
