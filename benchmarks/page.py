"""What a visitor downloads first, next to a bare Gradio Blocks app measured in the same run:
the page (HTML with its config) as sent compressed (the browser asks for gzip) and as it is,
its config alone, and the number of components the page is built of.

    python -m benchmarks.page
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import requests

from benchmarks.ui import BARE_APP, ROOT, free_port, start

TARGET_PAGE_KB = 300  # issue 21: the page, compressed


def measure(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/"
    compressed = requests.get(url, headers={"Accept-Encoding": "gzip, deflate, br"},
                              stream=True, timeout=60)
    sent = len(compressed.raw.read())
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    config = requests.get(url + "config", headers={"Accept-Encoding": "identity"}, timeout=60)
    return {"page sent (KB)": sent / 1024, "page as it is (KB)": len(plain.content) / 1024,
            "config as it is (KB)": len(config.content) / 1024,
            "components": len(config.json().get("components", [])),
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
    print(f"{'what':<22} | {'zhiqite-webui':>13} | {'bare Gradio':>11} | {'ratio':>6} | target")
    print(f"{'-' * 22} | {'-' * 13} | {'-' * 11} | {'-' * 6} | ------")
    for what in ("page sent (KB)", "page as it is (KB)", "config as it is (KB)",
                 "components"):
        ratio = app[what] / bare[what] if bare[what] else float("nan")
        target = f"<= {TARGET_PAGE_KB}" if what == "page sent (KB)" else "-"
        print(f"{what:<22} | {app[what]:>13.0f} | {bare[what]:>11.0f} | {ratio:>6.1f} | {target}")
    print(f"\ncompressed: {app['compressed']} (zhiqite-webui), {bare['compressed']} (bare)")


if __name__ == "__main__":
    main()
