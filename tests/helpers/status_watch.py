"""A tab's status line, watched for a new run: after a second click, the first run's "Done"
is not taken for this one's. Used by the browser tests and `benchmarks/ui.py`."""

from __future__ import annotations

from typing import Any

# Arms the watch: the flag is set once the line shows anything but "Done" (a new run always
# passes through "Submitted"). Evaluate it with the tab's name just before the click.
WATCH_NEW_RUN = """tab => {
    const line = document.querySelector('#' + tab + '_status');
    window.__zqNewRun = window.__zqNewRun || {};
    window.__zqNewRun[tab] = false;
    new MutationObserver((_, observer) => {
        if (!line.innerText.startsWith('Done')) {
            window.__zqNewRun[tab] = true;
            observer.disconnect();
        }
    }).observe(line, {subtree: true, childList: true, characterData: true});
}"""


def new_run_done(tab: str) -> str:
    """A JS expression: the run the watch was armed for has reached "Done"."""
    return (f"window.__zqNewRun?.['{tab}'] && document.querySelector('#{tab}_status')"
            ".innerText.startsWith('Done')")


def click_and_wait_done(page: Any, tab: str, button: str | None = None,
                        timeout: int = 30_000) -> None:
    """Clicks the tab's Generate (or `button`) and waits for this run's "Done"."""
    page.evaluate(WATCH_NEW_RUN, tab)
    page.locator(button or f"#{tab}_generate").click()
    page.wait_for_function(f"() => {new_run_done(tab)}", timeout=timeout)
