"""The app itself on a free loopback port, and Debian's chromium driven by Playwright
(`playwright install` cannot download a browser here)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webui.core.runtime import Settings
from webui.ui.app import Launched, launch

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


TAGS_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "tags.csv"  # autocomplete


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    root = tmp_path_factory.mktemp("app")
    # 0.2 x real time: a 30-step task takes ~1.5 s, enough to see several previews at 0.25 s
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=0.2, tags_csv=TAGS_CSV)
    launched = launch(settings, port=free_port(), preview_interval=0.25, quiet=True)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, app: Launched) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(app.url)
    page.wait_for_selector("#txt2img_generate")
    # the page's load event fills the checkpoint list
    page.wait_for_function(
        "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
    yield page
    context.close()


def open_page(browser: Any, app: Launched, locale: str = "en-US", *,
              init_script: str | None = None, **options: Any) -> tuple[Any, Any]:
    """A page of its own (a new browser context: another visitor), loaded. `init_script`
    runs before the page's own; `options` for the context (a phone's viewport, touch)."""
    context = browser.new_context(**{"locale": locale,
                                     "viewport": {"width": 1400, "height": 1100}, **options})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(app.url)
    page.wait_for_function(
        "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
    return context, page

