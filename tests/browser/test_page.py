"""The page as a slow line and a browser tab see it: compressed when the browser asks, and
the running task's progress in the tab's title (as A1111 does)."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
import requests

from tests.browser.conftest import open_page
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
