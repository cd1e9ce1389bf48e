"""txt2img in a real browser: as an artist uses it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from webui.ui.app import Launched
from webui.ui.results import INTERRUPTED

pytestmark = pytest.mark.browser


def set_number(page: Any, elem_id: str, value: int) -> None:
    """Type into a slider's number box, as a user does."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Tab")


def pick_checkpoint(page: Any, text: str) -> None:
    page.locator("#zq_checkpoint input").click()
    page.get_by_role("option", name=re.compile(text)).first.click()
    page.wait_for_function(
        f"() => document.querySelector('#zq_checkpoint input').value.includes('{text}')")


def test_generate_with_ctrl_enter_previews_then_gallery(page: Any, app: Launched,
                                                        tmp_path: Path) -> None:
    pick_checkpoint(page, "Photon")
    set_number(page, "txt2img_steps", 30)
    set_number(page, "txt2img_n_iter", 2)
    set_number(page, "txt2img_batch_size", 2)
    prompt = page.locator("#txt2img_prompt textarea")
    prompt.fill("a lighthouse at dusk, oil painting")
    started = app.runtime.offline.stats.tasks_started
    prompt.press("Control+Enter")

    previews: set[str] = set()
    gallery = page.locator("#txt2img_gallery img")
    deadline = time.monotonic() + 30
    while gallery.count() < 4 and time.monotonic() < deadline:
        src = page.evaluate("() => document.querySelector('#txt2img_preview img')?.src")
        if src:  # read in one step: the preview may vanish between two reads
            previews.add(src)
        time.sleep(0.05)
    assert gallery.count() == 4, "n_iter 2 x batch_size 2 images in the gallery"
    assert len(previews) >= 2, "the live preview changed during generation"
    assert app.runtime.offline.stats.tasks_started == started + 1

    infotext = page.locator("#txt2img_infotext textarea").input_value()
    assert infotext.startswith("a lighthouse at dusk, oil painting\nSteps: 30, ")
    seed = re.search(r"Seed: (\d+)", infotext)
    assert seed and "Model: photon_v1_84728" in infotext
    assert page.get_by_text(f"Seed {seed.group(1)}").count() >= 1  # the gallery caption
    assert "Done: 4 images" in page.locator("#txt2img_status").inner_text()
    # a second Generate in the same page (the browser state round-trips)
    set_number(page, "txt2img_n_iter", 1)
    set_number(page, "txt2img_batch_size", 1)
    page.locator("#txt2img_generate").click()
    page.get_by_text("Done: 1 image").wait_for()
    assert app.runtime.offline.stats.tasks_started == started + 2
    page.screenshot(path=str(tmp_path / "txt2img.png"), full_page=True)
    if shots := os.environ.get("ZHIQITE_SCREENSHOTS"):  # keep a copy to look at
        page.screenshot(path=str(Path(shots) / "txt2img.png"), full_page=True)
    assert (tmp_path / "txt2img.png").stat().st_size > 10_000


def test_invalid_size_gets_a_warning_naming_the_field(page: Any, app: Launched) -> None:
    submits = app.runtime.offline.stats.calls.get("text2image", 0)
    set_number(page, "txt2img_width", 1020)
    page.locator("#txt2img_prompt textarea").fill("a cat")
    page.locator("#txt2img_generate").click()
    toast = page.get_by_text(re.compile(r"Width: width must be a multiple of 8 in \(0, 1024\]"))
    toast.first.wait_for()
    time.sleep(0.3)
    assert app.runtime.offline.stats.calls.get("text2image", 0) == submits  # nothing sent
    assert page.locator("#txt2img_gallery img").count() == 0


def test_reload_reattaches_to_the_running_task(page: Any, app: Launched) -> None:
    # a task long enough to outlast a reload on a busy machine (~15 s)
    config = app.runtime.offline.config
    step_seconds, config.step_seconds = config.step_seconds, config.step_seconds * 2.5
    try:
        set_number(page, "txt2img_steps", 120)
        page.locator("#txt2img_prompt textarea").fill("a slow ship in fog")
        started = app.runtime.offline.stats.tasks_started
        page.locator("#txt2img_generate").click()
        page.locator("#txt2img_preview img").first.wait_for()
        page.reload()
        page.wait_for_selector("#txt2img_generate")
        # reattached: status and preview come back without a new submit, then the result
        page.locator("#txt2img_preview img").first.wait_for()
        page.locator("#txt2img_gallery img").first.wait_for(timeout=60_000)
        assert "Done: 1 image" in page.locator("#txt2img_status").inner_text()
        assert app.runtime.offline.stats.tasks_started == started + 1
    finally:
        config.step_seconds = step_seconds
    # and after the task finished, a reload shows its results at once
    page.reload()
    page.locator("#txt2img_gallery img").first.wait_for()


def test_interrupt_stops_following_but_the_task_completes(page: Any, app: Launched) -> None:
    set_number(page, "txt2img_steps", 100)
    page.locator("#txt2img_prompt textarea").fill("an interrupted harbour")
    known = set(app.runtime.offline.runner.tasks)
    page.locator("#txt2img_generate").click()
    page.locator("#txt2img_preview img").first.wait_for()
    page.locator("#txt2img_interrupt").click()
    page.wait_for_function("t => document.querySelector('#txt2img_status').innerText.trim()"
                           " === t", arg=str(INTERRUPTED))
    task_id = next(key for key in app.runtime.offline.runner.tasks if key not in known)
    deadline = time.monotonic() + 30
    while not (record := app.runtime.store.get(task_id)).is_final:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert record.state == "succeeded" and Path(record.images[0].path or "").is_file()
    assert page.locator("#txt2img_gallery img").count() == 0  # no longer shown here
