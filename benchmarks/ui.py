"""Web UI numbers, each next to a reference measured in the same run:

- app start (process start -> the page answers) vs a bare Gradio Blocks app;
- page load in chromium (navigation -> Generate button visible) vs the bare app, and vs a bare
  app as large as ours (as many plain components and events: what Gradio's page script costs
  at this size whoever writes the app);
- with the offline backend, in callback and in polling mode: click -> first live preview,
  and backend done -> gallery shown.

    python -m benchmarks.ui [--rounds 3] [--tasks 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.report import ms
from tests.helpers.status_watch import WATCH_NEW_RUN, new_run_done

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BARE_APP = """
import sys, gradio as gr
with gr.Blocks() as demo:
    gr.Textbox(label="Prompt")
    gr.Button("Generate", elem_id="txt2img_generate")
demo.launch(server_port=int(sys.argv[1]), prevent_thread_lock=False)
"""
# as many components (a slider in a row: row, form, slider) and events as the app's page
SIZED_APP = """
import sys, gradio as gr
port, components, events = map(int, sys.argv[1:4])
with gr.Blocks() as demo:
    prompt = gr.Textbox(label="Prompt")
    gr.Button("Generate", elem_id="txt2img_generate")
    sliders = []
    with gr.Accordion("Settings", open=False):
        for n in range(max(1, (components - 4) // 3)):
            with gr.Row():
                sliders.append(gr.Slider(0, 10, label=f"setting {n}"))
    for n in range(events):
        sliders[n % len(sliders)].change(lambda x: x, sliders[n % len(sliders)], prompt)
demo.launch(server_port=port, prevent_thread_lock=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], port: int, env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=env.get("BENCH_CWD", ROOT), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    while time.monotonic() - began < 120:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return process, time.monotonic() - began
        except requests.RequestException:
            pass
        time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"{' '.join(command)} did not start")


def page_load(browser: Any, port: int) -> float:
    page = browser.new_page()
    began = time.monotonic()
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_selector("#txt2img_generate", state="visible", timeout=60_000)
    elapsed = time.monotonic() - began
    page.close()
    return elapsed


def page_size(port: int) -> tuple[int, int]:
    """The page's components and events (dependencies), from its config."""
    config = requests.get(f"http://127.0.0.1:{port}/config", timeout=30).json()
    return len(config["components"]), len(config["dependencies"])


def start_and_load(rounds: int, browser: Any) -> dict[str, Any]:
    results: dict[str, Any] = {f"{name} {what}": [] for name in ("app", "bare", "sized")
                               for what in ("start", "page")}
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIQITE_")}
    env.update(PYTHONPATH=str(ROOT), BENCH_CWD=str(work), GRADIO_ANALYTICS_ENABLED="False")
    for _ in range(rounds):  # alternate, so drift of the machine hits all alike
        for name, command in (
            ("app", [sys.executable, "-m", "webui", "--port", "{port}"]),
            ("bare", [sys.executable, "-c", BARE_APP, "{port}"]),
            ("sized", [sys.executable, "-c", SIZED_APP, "{port}", "{components}", "{events}"]),
        ):
            port = free_port()
            size = results.get("size", (0, 0))
            process, seconds = start([c.replace("{port}", str(port))
                                      .replace("{components}", str(size[0]))
                                      .replace("{events}", str(size[1])) for c in command],
                                     port, env)
            try:
                results[f"{name} start"].append(seconds)
                if name in ("app", "sized"):
                    results[f"{name} size" if name == "sized" else "size"] = page_size(port)
                page_load(browser, port)  # first load warms caches; measure the second
                results[f"{name} page"].append(page_load(browser, port))
            finally:
                process.terminate()
                process.wait(timeout=10)
    return results


DONE = (new_run_done("txt2img") + " && "
        "document.querySelectorAll('#txt2img_gallery img').length > 0")


def ui_overhead(tasks: int, browser: Any, mode: str) -> tuple[list[float], list[float]]:
    """In-process app (the backend's finish time is on this process's clock). Polling mode
    learns the result at the next preview poll (every 0.5 s while the page watches)."""
    from webui.core.runtime import Settings
    from webui.ui.app import launch

    root = Path(tempfile.mkdtemp(prefix="bench-ui-app-"))
    launched = launch(Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                               backend="offline", offline_time_scale=0.1),
                      port=free_port(), preview_interval=0.5, quiet=True)
    first_preview: list[float] = []
    done_to_gallery: list[float] = []
    runner = launched.runtime.offline.runner
    if mode == "poll":
        launched.runtime.set_public_url(launched.url, callbacks=False)
    try:
        page = browser.new_page()
        page.goto(launched.url)
        page.wait_for_selector("#txt2img_generate", state="visible")
        page.wait_for_function(
            "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
        page.locator("#txt2img_prompt textarea").fill("benchmark")
        steps = page.locator("#txt2img_steps input[type=number]")
        for n in range(tasks):
            # 24..36 steps: tasks that all took as long would finish at the same point of the
            # poll cycle, and polling's latency would be that one point, not its spread
            steps.fill(str(24 + n * 5 % 13))
            steps.press("Tab")
            known = set(runner.tasks)
            page.evaluate(WATCH_NEW_RUN, "txt2img")  # the last run's Done is not this one's
            page.locator("#txt2img_generate").click()
            clicked = time.monotonic()
            # checked inside the page every 5 ms, so the probe adds no round trips
            page.wait_for_function(f"() => document.querySelector('#txt2img_preview img') "
                                   f"|| ({DONE})", polling=5, timeout=60_000)
            if page.locator("#txt2img_preview img").count():
                first_preview.append(time.monotonic() - clicked)
            page.wait_for_function(f"() => {DONE}", polling=5, timeout=60_000)
            shown = time.monotonic()
            task = next(t for key, t in runner.tasks.items() if key not in known)
            done_to_gallery.append(shown - (task.finished or shown))
        page.close()
    finally:
        launched.close()
    return first_preview, done_to_gallery


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=30, help="tasks per mode")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        timings = start_and_load(args.rounds, browser)
        shown = {mode: ui_overhead(args.tasks, browser, mode) for mode in ("callback", "poll")}
        browser.close()

    print(f"# web UI benchmark ({args.rounds} alternating rounds; medians)\n")
    components, events = timings["size"]
    print("what                         | zhiqite-webui | bare Gradio | ratio | target | "
          "Gradio at our size | ratio")
    print("---------------------------- | ------------- | ----------- | ----- | ------ | "
          "------------------ | -----")
    for label, key in (("app start (s)", "start"), ("page load to Generate (s)", "page")):
        app = statistics.median(timings[f"app {key}"])
        bare = statistics.median(timings[f"bare {key}"])
        sized = statistics.median(timings[f"sized {key}"])
        print(f"{label:<28} | {app:13.2f} | {bare:11.2f} | {app / bare:5.2f} | <= 1.5x | "
              f"{sized:18.2f} | {app / sized:5.2f}")
    sized_components, sized_events = timings["sized size"]
    print(f"\n'Gradio at our size': a bare Gradio app with {sized_components} components "
          f"(sliders in rows, in a closed accordion) and {sized_events} events (change handlers), "
          f"as the page's {components} and {events}: what "
          "Gradio's page script costs at this size; the page's time grows with components x "
          "events (Gradio's page looks up each component's events in the whole list).")
    print(f"\nwith the offline backend, {args.tasks} tasks per mode (24-36 steps at 0.1x "
          "real time, previews every 0.5 s), in chromium:\n")
    print("results by  | click -> first preview p50/p95 ms | backend done -> gallery p50/p95 ms"
          " | target")
    print("----------- | --------------------------------- | ----------------------------------"
          " | ------")
    for mode, (previews, gallery) in shown.items():
        print(f"{mode:<11} | {ms(previews) + ' / ' + ms(previews, 0.95):<33} | "
              f"{ms(gallery) + ' / ' + ms(gallery, 0.95):<34} | p50 < 300")


if __name__ == "__main__":
    main()
