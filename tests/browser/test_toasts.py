"""Service text in a toast is text: a link and a tracking picture in an error show as the
characters they are made of, and the toast holds no <a> or <img> element."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import open_page
from tests.helpers.images import gradient
from webui.api.errors import ServiceError
from webui.core.catalog import Catalog
from webui.offline import pipeline
from webui.ui.app import Launched

pytestmark = pytest.mark.browser
HOSTILE = '<a href="https://evil.example">click</a><img src="https://track.example/p.gif">'


def toast_with(page: Any, text: str) -> Any:
    toast = page.locator(".toast-body", has_text=text).first
    toast.wait_for(timeout=30_000)
    return toast


def assert_shown_as_text(toast: Any) -> None:
    assert toast.locator("a, img").count() == 0
    assert HOSTILE in toast.inner_text()


def test_a_list_error_shows_as_text(browser: Any, app: Launched,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ServiceError(HOSTILE)

    monkeypatch.setattr(Catalog, "loras", refuse)
    monkeypatch.setattr(Catalog, "embeddings", refuse)
    requested: list[str] = []
    context, page = open_page(browser, app)  # the page's load fills the pickers
    try:
        page.on("request", lambda r: requested.append(r.url))
        assert_shown_as_text(toast_with(page, "Could not load the LoRA / embedding lists"))
        assert not any("example" in url for url in requested)
    finally:
        context.close()


def test_a_failed_tool_task_shows_as_text(page: Any, app: Launched, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise pipeline.TaskFailure(HOSTILE)  # the service's words for the failure

    monkeypatch.setattr(pipeline, "enhance", fail)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    source = tmp_path / "small.png"
    gradient(64, 48).save(source)
    page.locator("#tab_extras-button").click()
    page.locator("#extras_image input[type=file]").set_input_files(str(source))
    page.locator("#extras_image img").wait_for()
    page.locator("#extras_run").click()
    assert_shown_as_text(toast_with(page, "Task failed"))
    status = page.locator("#extras_status")
    page.wait_for_function("() => document.querySelector('#extras_status')?.innerText"
                           ".includes('evil.example')")
    assert status.locator("a, img").count() == 0
    assert not any("example" in url for url in requested)
