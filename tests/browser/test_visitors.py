"""Two visitors with their own keys, in two browser contexts: neither sees the other's history
or images, and result files are not served by path."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.browser.conftest import open_page
from tests.browser.test_txt2img import set_number
from tests.helpers.status_watch import click_and_wait_done
from webui.ui.app import Launched

pytestmark = pytest.mark.browser


def use_own_key(page: Any, appcode: str) -> None:
    page.locator("#tab_settings-button").click()
    page.locator("#settings_appcode input").fill(appcode)
    page.locator("#settings_use_keys").click()
    page.wait_for_function("() => document.querySelector('#settings_key_status')"
                           ".innerText.includes('your own key')")
    page.wait_for_function(  # the field is cleared after use
        "() => document.querySelector('#settings_appcode input').value === ''")


def generate(page: Any, prompt: str) -> None:
    page.locator("#tab_txt2img-button").click()
    set_number(page, "txt2img_steps", 6)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    click_and_wait_done(page, "txt2img")


def history_text(page: Any) -> str:
    page.locator("#tab_history-button").click()
    page.locator("#history_refresh").click()
    page.wait_for_selector("#history_rows table, #history_rows .zq-history-empty")
    page.wait_for_timeout(300)
    return page.locator("#history_rows").inner_text()


def test_two_visitors_with_their_own_keys_see_only_their_own(browser: Any,
                                                             app: Launched) -> None:
    context_a, alice = open_page(browser, app)
    context_b, bob = open_page(browser, app)
    try:
        use_own_key(alice, "alice-appcode-0123456789")
        use_own_key(bob, "bob-appcode-9876543210")
        generate(alice, "alpha lighthouse at dusk")
        assert "No tasks" in history_text(bob)
        generate(bob, "beta windmill in snow")
        seen_by_alice, seen_by_bob = history_text(alice), history_text(bob)
        assert "alpha lighthouse" in seen_by_alice and "beta windmill" not in seen_by_alice
        assert "beta windmill" in seen_by_bob and "alpha lighthouse" not in seen_by_bob

        # Alice's file, asked for by path: Gradio serves only its own cache, not outputs/
        rows = app.runtime.store._connection().execute(
            "SELECT id FROM tasks WHERE prompt = ?", ["alpha lighthouse at dusk"]).fetchall()
        record = app.runtime.store.get(rows[0][0])
        assert record is not None and record.images[0].path
        answer = requests.get(f"{app.url}/gradio_api/file={record.images[0].path}", timeout=10)
        assert answer.status_code == 403
    finally:
        context_a.close()
        context_b.close()


def test_a_browser_finds_its_history_after_the_app_restarts(browser: Any,
                                                            tmp_path: Any) -> None:
    from tests.browser.conftest import free_port
    from webui.core.runtime import Settings
    from webui.ui.app import launch

    settings = Settings(data_dir=tmp_path / "data", outputs_dir=tmp_path / "outputs",
                        backend="offline", offline_time_scale=0.2)
    port = free_port()  # the same origin both times: localStorage is per host and port
    first = launch(settings, port=port, quiet=True)
    context, page = open_page(browser, first)
    try:
        generate(page, "kept across a restart")
        first.close()
        second = launch(settings, port=port, quiet=True)
        try:
            page.reload()
            page.wait_for_function(
                "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
            assert "kept across a restart" in history_text(page)
        finally:
            second.close()
    finally:
        context.close()
