"""The page as a slow line and a browser tab see it: compressed when the browser asks, and
the running task's progress in the tab's title (as A1111 does), its finish announced, and a
phone's screen and finger."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import open_page
from tests.browser.test_img2img import (
    changed_pixels,
    fill_inpaint_form,
    final_status,
    inpaint_canvas,
)
from tests.browser.test_txt2img import set_number
from webui.ui.app import Launched

pytestmark = pytest.mark.browser
MAX_PAGE_BYTES = 300 * 1024  # issue 21: the page with its config, compressed


def test_the_page_is_compressed_when_the_browser_asks(app: Launched) -> None:
    compressed = requests.get(app.url + "/", headers={"Accept-Encoding": "gzip"}, stream=True,
                              timeout=30)
    body = compressed.raw.read()
    assert compressed.headers["content-encoding"] == "gzip"
    assert len(body) <= MAX_PAGE_BYTES, len(body)
    plain = requests.get(app.url + "/", headers={"Accept-Encoding": "identity"}, timeout=30)
    assert "content-encoding" not in plain.headers
    assert gzip.decompress(body) == plain.content  # the same page
    assert b"gradio_config" in plain.content


def test_the_page_kept_for_one_address_is_not_given_to_another(app: Launched) -> None:
    """The page is made once per address (`PageCache`): each names the root it was asked by,
    which its script loads everything from."""
    def root(**headers: str) -> str:
        page = requests.get(app.url + "/", headers={"Accept-Encoding": "gzip", **headers},
                            timeout=30).text
        return page.split('"root":"', 1)[1].split('"', 1)[0]

    for _ in range(2):  # made, then kept
        assert root(Host="a.example") == "http://a.example"
        assert root(Host="b.example", **{"X-Forwarded-Proto": "https"}) == "https://b.example"
        assert root(Host="b.example", **{"X-Forwarded-Host": "space.example"}) \
            == "http://space.example"
        assert root() == app.url


def test_the_code_views_and_the_mask_editor_load_when_used(browser: Any, app: Launched
                                                         ) -> None:
    """Gradio fetches a component's script for every component not hidden at load: the code
    views (about 400 kB of script) and the mask editor (about 650 kB) start hidden and are
    shown when used."""
    config = requests.get(app.url + "/config", timeout=30).json()
    heavy = [c for c in config["components"] if c["type"] in ("code", "imageeditor")]
    assert len(heavy) >= 6 and all(c["props"]["visible"] is False for c in heavy)
    context, page = open_page(browser, app)
    try:
        page.locator("#txt2img_prompt textarea").fill("a paper boat")
        assert page.locator("#txt2img_request_json").count() == 0
        page.locator("#txt2img_request").get_by_text("Request", exact=True).first.click()
        page.locator("#txt2img_request_json").get_by_text("a paper boat").first.wait_for()
        assert "curl" in page.locator("#txt2img_request_curl").inner_text()
        page.locator("#tab_img2img-button").click()
        page.get_by_role("tab", name="Inpaint", exact=True).click()
        page.locator("#img2img_inpaint_editor canvas").first.wait_for()
    finally:
        context.close()


@pytest.mark.parametrize(("locale", "done_title"), [("en-US", "Done"), ("zh-CN", "完成")])
def test_the_tab_title_shows_the_running_tasks_progress(browser: Any, app: Launched,
                                                        locale: str, done_title: str) -> None:
    context, page = open_page(browser, app, locale)
    try:
        base = page.title()
        assert "%]" not in base
        page.locator("#txt2img_prompt textarea").fill("a slow lighthouse")
        set_number(page, "txt2img_steps", 60)  # about 3 s at the tests' time scale
        page.locator("#txt2img_generate").click()
        # while it runs: "[NN%] ... · <the app's title>"
        page.wait_for_function("base => /^\\[(\\d+%|queued|排队中)\\]/.test(document.title)"
                               " && document.title.endsWith(' · ' + base)", arg=base,
                               timeout=30_000)
        page.wait_for_function("() => /^\\[\\d+%\\]/.test(document.title)", timeout=30_000)
        # done: the title is the app's again
        page.wait_for_function("t => document.querySelector('#txt2img_status').innerText"
                               ".includes(t)", arg=done_title, timeout=60_000)
        page.wait_for_function("base => document.title === base", arg=base, timeout=10_000)
    finally:
        context.close()


FINISHED = "() => document.querySelector('#txt2img_finished textarea, #txt2img_finished input')?.value"
NOTICE_STUBS = """
window.zqNotices = [];
window.zqTones = 0;
window.Notification = class {
  constructor(title, options) { window.zqNotices.push([title, options && options.body]); }
  static requestPermission() { return Promise.resolve("granted"); }
};
window.Notification.permission = "granted";
window.AudioContext = class {
  constructor() { this.currentTime = 0; this.destination = {}; }
  createOscillator() {
    return {frequency: {}, connect: (next) => next, start: () => { window.zqTones += 1; },
            stop: () => {}};
  }
  createGain() { return {gain: {}, connect: (next) => next}; }
};
document.hasFocus = () => false;  // the page is in the background
"""


@pytest.mark.parametrize(("locale", "notice"), [("en-US", "txt2img: finished"),
                                                ("zh-CN", "文生图：已完成")])
def test_a_finished_generate_is_announced_when_asked(browser: Any, app: Launched, locale: str,
                                                     notice: str) -> None:
    context, page = open_page(browser, app, locale, init_script=NOTICE_STUBS)
    try:
        page.locator("#tab_settings-button").click()
        page.locator("#settings_notify input").check()
        page.locator("#tab_txt2img-button").click()
        page.locator("#txt2img_prompt textarea").fill("a bell")
        set_number(page, "txt2img_steps", 20)
        page.locator("#txt2img_generate").click()
        page.wait_for_function("() => window.zqNotices.length > 0", timeout=60_000)
        assert page.evaluate("window.zqNotices") == [
            ["Zhiqite WebUI" if locale == "en-US" else "智启特 WebUI", notice]]
        assert page.evaluate("window.zqTones") == 1
        # without the setting: nothing
        page.locator("#tab_settings-button").click()
        page.locator("#settings_notify input").uncheck()
        page.locator("#tab_txt2img-button").click()
        first = page.evaluate(FINISHED)
        page.locator("#txt2img_generate").click()
        page.wait_for_function(f"first => ({FINISHED})() !== first", arg=first,
                               timeout=60_000)  # the second batch ended too
        page.wait_for_timeout(500)
        assert len(page.evaluate("window.zqNotices")) == 1 and page.evaluate("window.zqTones") == 1
    finally:
        context.close()


def test_on_a_phone_generate_shows_its_picture_in_view(browser: Any, app: Launched) -> None:
    """390x844, touch: no horizontal scrolling; the results come before the settings, and
    Generate brings the new picture into the viewport."""
    context, page = open_page(browser, app, viewport={"width": 390, "height": 844},
                              is_mobile=True, has_touch=True)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        settings = page.locator("#txt2img_settings").bounding_box()
        results = page.locator("#txt2img_results").bounding_box()
        assert results["y"] < settings["y"]  # results first on a narrow screen
        page.locator("#txt2img_prompt textarea").fill("a small boat")
        page.locator("#txt2img_generate").tap()
        picture = page.locator("#txt2img_gallery img").first
        picture.wait_for(timeout=30_000)
        page.wait_for_timeout(800)  # the smooth scroll
        box = picture.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 100) <= 844
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_on_a_phone_every_tab_is_reachable_and_the_mask_is_painted_by_finger(
        browser: Any, app: Launched, tmp_path: Path) -> None:
    """390x844, touch: the tabs that do not fit are behind Gradio's "More tabs"; a finger
    drawn across the inpaint canvas paints the mask that the request sends."""
    context, page = open_page(browser, app, viewport={"width": 390, "height": 844},
                              is_mobile=True, has_touch=True)
    try:
        page.get_by_role("button", name="More tabs").tap()
        page.get_by_role("button", name="History", exact=True).tap()  # in its menu
        page.get_by_text("Search prompts").wait_for()
        page.get_by_role("tab", name="img2img").first.tap()
        page.get_by_role("tab", name="Inpaint", exact=True).tap()

        box = inpaint_canvas(page, tmp_path)
        x, y = box["x"] + box["width"] / 2 - 40, box["y"] + box["height"] / 2
        touch = context.new_cdp_session(page)  # Playwright taps; a drag needs the protocol

        def finger(kind: str, at_x: float = 0.0) -> None:
            points = [] if kind == "touchEnd" else [{"x": at_x, "y": y, "id": 1}]
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        finger("touchStart", x)
        for step in range(1, 17):
            finger("touchMove", x + step * 5)
        finger("touchEnd")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        fill_inpaint_form(page)
        known = set(app.runtime.offline.runner.tasks)
        page.locator("#img2img_generate").tap()
        status = final_status(page, "img2img")
        assert status.startswith("Done"), status
        task_id = next(key for key in app.runtime.offline.runner.tasks if key not in known)
        record = app.runtime.store.get(task_id)
        assert record is not None and record.request["alwayson_scripts"]["mask_link"]
        changed = changed_pixels(record)
        assert changed.sum() > 100, "the finger's stroke masked nothing"
        assert not changed[:40].any() and not changed[-40:].any()  # only around the stroke
    finally:
        context.close()


def test_the_more_tabs_menu_stays_open_after_a_tap(browser: Any, app: Launched) -> None:
    """The working state is written 0.1 s after any input (assets/work_save.js): by an input
    event, since a click would close Gradio's "More tabs" menu (it did, under a finger)."""
    context, page = open_page(browser, app, viewport={"width": 390, "height": 844},
                              is_mobile=True, has_touch=True)
    try:
        page.get_by_role("button", name="More tabs").tap()
        history = page.get_by_role("button", name="History", exact=True)
        history.wait_for()
        page.wait_for_timeout(600)  # past the save
        assert history.is_visible()
        history.tap()
        page.locator("#history_rows").wait_for()
    finally:
        context.close()


def test_on_a_phone_history_keeps_to_the_screen(browser: Any, app: Launched) -> None:
    """390x844: History's table fits (its wide columns go), and opening a row does not shift
    the page sideways (it did: a 438 px table moved the container 45 px)."""
    context, page = open_page(browser, app, "zh-CN", viewport={"width": 390, "height": 844},
                              is_mobile=True, has_touch=True)
    try:
        page.locator("#txt2img_prompt textarea").fill("一座很长很长的提示词里的海边灯塔与海鸥")
        page.locator("#txt2img_generate").tap()
        page.locator("#txt2img_gallery img").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="更多标签页").tap()
        page.get_by_role("button", name="历史记录", exact=True).tap()
        row = page.locator("#history_rows tr[data-task]").first
        row.wait_for()
        row.tap()
        page.locator("#history_gallery img").first.wait_for()
        assert page.evaluate("document.querySelector('.gradio-container').scrollLeft") == 0
        assert page.evaluate("document.querySelector('.zq-history')"
                             ".getBoundingClientRect().right") <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
