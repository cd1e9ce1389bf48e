"""The reference for the visitors benchmark's CPU per task: a bare Gradio app with the same
events as a Generate (a click with as many plain inputs as the txt2img form, then a chained
follower that streams 4 messages), driven the same way (50 pages x 3 clicks at once). What
Gradio itself costs per task; the app's figure is measured next to it.

    python -m benchmarks.bare_events [--inputs 111] [--blocks gradio|page]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

import requests

from benchmarks.page_session import PageSession
from benchmarks.report import cpu_seconds
from benchmarks.ui import ROOT, free_port

APP = """
import sys, time
import gradio as gr
if sys.argv[3] == "page":
    from webui.ui.page_blocks import PageBlocks as Blocks
else:
    Blocks = gr.Blocks
with Blocks() as demo:
    fields = [gr.Slider(0, 100, value=5) for _ in range(int(sys.argv[2]))]
    out, done = gr.Textbox(), gr.Textbox()
    def send(*values):
        return str(sum(values))
    def follow(sent):
        for step in range(3):
            time.sleep(0.2)
            yield {out: f"step {step}"}
        yield {out: "Done", done: sent}
    gr.Button("Generate").click(send, fields, out, api_name="generate",
                                concurrency_limit=None).then(
        follow, out, [out, done], concurrency_limit=None)
demo.queue(default_concurrency_limit=None)
demo.launch(server_port=int(sys.argv[1]), max_threads=200)
"""


def measure(inputs: int, blocks: str, visitors: int = 50, clicks: int = 3) -> float:
    """CPU milliseconds per task of the bare app."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen([sys.executable, "-c", APP, str(port), str(inputs), blocks],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(url + "config", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or app.poll() is not None:
                    raise RuntimeError("the bare app did not start") from None
                time.sleep(0.2)
        config = requests.get(url + "config", timeout=30).json()
        generate = next(d for d in config["dependencies"] if d.get("api_name") == "generate")
        follower = next(d for d in config["dependencies"]
                        if d.get("trigger_after") == generate["id"])
        pages = [PageSession(url, config) for _ in range(visitors)]
        time.sleep(1)
        before = cpu_seconds(app.pid)

        def visit(page: PageSession) -> None:
            sent = [page.join(generate, {}) for _ in range(clicks)]
            followed = []
            for event in sent:
                event.ended.wait(120)
                followed.append(page.join(follower, {}))
            for event in followed:
                event.ended.wait(120)

        threads = [threading.Thread(target=visit, args=(page,)) for page in pages]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return 1000 * (cpu_seconds(app.pid) - before) / (visitors * clicks)
    finally:
        app.terminate()
        app.wait(timeout=15)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=111)
    parser.add_argument("--blocks", choices=("gradio", "page"), default="gradio")
    args = parser.parse_args(argv)
    print(f"bare app, {args.inputs} inputs, {args.blocks} blocks: "
          f"{measure(args.inputs, args.blocks):.0f} ms CPU per task")


if __name__ == "__main__":
    main()
