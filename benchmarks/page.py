"""What a visitor downloads first, next to a bare Gradio Blocks app measured in the same run:
the page (HTML with its config) as sent compressed (the browser asks for gzip) and as it is,
its config alone, how long the server takes to send it (made for an address not seen before,
and seen again: the app keeps the page it made, `webui/core/page_cache.py`), and the number
of components the page is made of: all of them, and those a visitor reaches without opening
anything (not in a closed accordion, not in a tab other than the first of its tab set, not
hidden). Those are the ones the browser builds at load: Gradio builds a closed accordion's
content and another tab's when they are opened.

    python -m benchmarks.page
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.ui import BARE_APP, ROOT, free_port, start

TARGET_PAGE_KB = 300  # issue 21: the page, compressed
PAGE_VIEWS = 5


def reachable(config: dict[str, Any]) -> int:
    """Components in view without opening an accordion or choosing another tab."""
    components = {c["id"]: c for c in config.get("components", [])}
    count = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal count
        component = components.get(node.get("id"), {})
        props = component.get("props", {})
        if props.get("visible") in (False, "hidden"):
            return
        if component.get("type") == "accordion" and not props.get("open", True):
            count += 1  # its header is in view
            return
        count += 1
        children = node.get("children") or []
        if component.get("type") == "tabs":
            items = [c for c in children
                     if components.get(c.get("id"), {}).get("props", {}).get("visible")
                     not in (False, "hidden")]
            selected = props.get("selected")
            shown = next((c for c in items if components[c["id"]]["props"].get("id")
                          == selected), items[0] if items else None)
            count += len(items) - 1  # the other tabs' buttons
            children = [shown] if shown else []
        for child in children:
            walk(child)

    walk(config.get("layout", {}))
    return count - 1  # the page itself


def send_time(url: str, host: str) -> float:
    """Seconds from the request to the page's last byte, compressed as a browser asks."""
    began = time.perf_counter()
    with requests.get(url, headers={"Accept-Encoding": "gzip, deflate, br", "Host": host},
                      stream=True, timeout=60) as response:
        response.raw.read()
    return time.perf_counter() - began


def measure(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/"
    # a page for an address not seen before is made anew; the same address again may be kept
    made = statistics.median(send_time(url, f"view-{n}.example") for n in range(PAGE_VIEWS))
    kept = statistics.median(send_time(url, "view-0.example") for _ in range(PAGE_VIEWS))
    compressed = requests.get(url, headers={"Accept-Encoding": "gzip, deflate, br"},
                              stream=True, timeout=60)
    sent = len(compressed.raw.read())
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    config = requests.get(url + "config", headers={"Accept-Encoding": "identity"}, timeout=60)
    return {"page sent (KB)": sent / 1024, "page as it is (KB)": len(plain.content) / 1024,
            "config as it is (KB)": len(config.content) / 1024,
            "components": len(config.json().get("components", [])),
            "components in view": reachable(config.json()),
            "page made (ms)": made * 1000, "page seen again (ms)": kept * 1000,
            "compressed": compressed.headers.get("content-encoding") or "no"}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-page-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIQITE_")}
    env.update(PYTHONPATH=str(ROOT), BENCH_CWD=str(work), GRADIO_ANALYTICS_ENABLED="False")
    (work / "bare.py").write_text(BARE_APP)
    rows = {}
    for name, command in (("zhiqite-webui", [sys.executable, "-m", "webui", "--port"]),
                          ("bare Gradio", [sys.executable, str(work / "bare.py")])):
        port = free_port()
        process, _ = start([*command, str(port)], port, env)
        try:
            rows[name] = measure(port)
        finally:
            process.terminate()
            process.wait(timeout=30)
    app, bare = rows["zhiqite-webui"], rows["bare Gradio"]
    print("# the page a visitor downloads first\n")
    print(f"{'what':<24} | {'zhiqite-webui':>13} | {'bare Gradio':>11} | {'ratio':>6} | target")
    print(f"{'-' * 24} | {'-' * 13} | {'-' * 11} | {'-' * 6} | ------")
    for what in ("page sent (KB)", "page as it is (KB)", "config as it is (KB)",
                 "components", "components in view", "page made (ms)",
                 "page seen again (ms)"):
        ratio = app[what] / bare[what] if bare[what] else float("nan")
        target = f"<= {TARGET_PAGE_KB}" if what == "page sent (KB)" else "-"
        print(f"{what:<24} | {app[what]:>13.0f} | {bare[what]:>11.0f} | {ratio:>6.1f} | {target}")
    print(f"\ncompressed: {app['compressed']} (zhiqite-webui), {bare['compressed']} (bare); "
          f"times: medians of {PAGE_VIEWS} views, each by a new address (made) or by one "
          "address again (seen again), to the last byte")


if __name__ == "__main__":
    main()
