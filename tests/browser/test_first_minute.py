"""The first minute on a freshly started app: a prompt typed and Ctrl+Enter pressed the moment
Generate shows. Nothing is dropped, nothing says "reload": the task runs, its image shows, and
it is the same visitor's task after a reload."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import free_port
from webui.core.runtime import Settings
from webui.ui.app import Launched, launch

pytestmark = pytest.mark.browser


@pytest.fixture
def cold_app(tmp_path: Path) -> Iterator[Launched]:
    """An app of this test's own, just started: nothing warmed by earlier tests."""
    settings = Settings(data_dir=tmp_path / "data", outputs_dir=tmp_path / "outputs",
                        backend="offline", offline_time_scale=0.05)
    launched = launch(settings, port=free_port(), quiet=True)
    yield launched
    launched.close()


def test_ctrl_enter_at_once_on_a_cold_start(browser: Any, cold_app: Launched,
                                            tmp_path: Path) -> None:
    # every list call the page might wait for now takes 0.8 s: a click must not wait for it
    assert cold_app.runtime.offline is not None
    cold_app.runtime.offline.config.latency = 0.8
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    toasts: list[str] = []
    page.on("console", lambda message: None)
    try:
        page.goto(cold_app.url)
        prompt = page.locator("#txt2img_prompt textarea")
        page.locator("#txt2img_generate").wait_for()  # the moment Generate shows
        prompt.fill("a lighthouse on a cliff")
        prompt.press("Control+Enter")
        clicked = time.monotonic()
        page.locator("#txt2img_gallery img").first.wait_for(timeout=30_000)
        took = time.monotonic() - clicked
        for toast in page.locator(".toast-body").all():
            toasts.append(toast.inner_text())
        assert not any("reload" in text.lower() for text in toasts), toasts
        assert "Done: 1 image" in page.locator("#txt2img_status").inner_text()
        assert cold_app.runtime.offline.stats.tasks_started == 1
        page.screenshot(path=str(tmp_path / "first-minute.png"))
        if shots := os.environ.get("ZHIQITE_SCREENSHOTS"):
            page.screenshot(path=str(Path(shots) / "first-minute.png"))
        # the early click's visitor is the one the page kept: after a reload it is theirs
        page.reload()
        page.locator("#tab_history-button").click()
        page.locator("#history_rows [data-task]").first.wait_for()
        assert page.locator("#history_rows [data-task]").count() == 1
        assert "a lighthouse on a cliff" in page.locator("#history_rows").inner_text()
        print(f"first image {took:.1f} s after Ctrl+Enter; toasts: {toasts}")
    finally:
        context.close()
