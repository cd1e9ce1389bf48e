"""Concurrency: simulated visitors (gradio_client, one session and visitor id each) open the
page and run several txt2img tasks at once through the app's own Generate endpoint.

    python -m benchmarks.visitors [--visitors 50] [--tasks 3] [--scale 0.1]

The app runs in a process of its own (so its peak RSS is its own), against the offline backend
in another process behind a checking gateway (AppCode), with callbacks to the app's loopback
address: the deployment shape of the real service. Reported: tasks completed, lost (no final
result), misrouted (a visitor shown an image, infotext or PNG of another's task), end-to-end
time, the app's overhead beyond the task itself (end-to-end minus the task's life in the store,
from submit to stored result), and the app's RSS. The reference, in the same run: one visitor
running one task alone.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from benchmarks.report import ms, percentile, row
from benchmarks.ui import ROOT, free_port

CHECKPOINT = "photon_v1_84728.safetensors"
APPCODE = "benchmark-appcode"


@dataclass
class Outcome:
    prompt: str
    seed: int
    sent: float = 0.0  # wall clock, comparable with the store's timestamps
    seconds: float = 0.0
    status: str = ""
    lost: bool = False
    misrouted: bool = False


def wait_up(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak since start) of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Deployment:
    """The offline backend and the app, each a process of its own."""

    def __init__(self, scale: float, concurrency: int) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="bench-visitors-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIQITE_")}
        env.update(PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False")
        backend_port, app_port = free_port(), free_port()
        self.backend = subprocess.Popen(
            [sys.executable, "-m", "webui.offline", "--port", str(backend_port),
             "--time-scale", str(scale), "--concurrency", str(concurrency),
             "--appcode", APPCODE, "--data-dir", str(self.work / "backend")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{app_port}/"
        self.app = subprocess.Popen(
            [sys.executable, "-m", "webui", "--port", str(app_port)], cwd=self.work,
            env={**env, "ZHIQITE_BACKEND": "cloud", "ZHIQITE_APPCODE": APPCODE,
                 "ZHIQITE_API_BASE": f"http://127.0.0.1:{backend_port}",
                 "ZHIQITE_PUBLIC_URL": self.url.rstrip("/"),
                 "ZHIQITE_DATA_DIR": str(self.work / "data"),
                 "ZHIQITE_OUTPUTS_DIR": str(self.work / "outputs")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_up(f"http://127.0.0.1:{backend_port}/__offline/health", self.backend)
            wait_up(self.url, self.app)
        except RuntimeError:
            self.close()
            raise
        config = requests.get(self.url + "config", timeout=30).json()
        self.components = {c["id"]: c for c in config["components"]}
        self.dependencies = {d.get("api_name"): d for d in config["dependencies"]}

    def args(self, api_name: str, values: dict[str, Any]) -> list[Any]:
        """The endpoint's inputs in order: each component's default, or `values` by elem_id
        (or BrowserState storage key)."""
        out = []
        for component_id in self.dependencies[api_name]["inputs"]:
            props = self.components[component_id]["props"]
            key = props.get("elem_id") or props.get("storage_key")
            out.append(values[key] if key in values else
                       props.get("value", props.get("default_value")))
        return out

    def outputs(self, api_name: str) -> list[str]:
        """Names of what the endpoint returns to a client (gr.State stays on the server)."""
        return [self.components[i]["props"].get("elem_id")
                or self.components[i]["props"].get("storage_key") or self.components[i]["type"]
                for i in self.dependencies[api_name]["outputs"]
                if not self.components[i].get("skip_api")]  # State, Tab: not sent

    def stored(self) -> dict[str, tuple[float, float]]:
        """prompt -> (created, finished) of each task the app stored."""
        with sqlite3.connect(f"file:{self.work / 'data' / 'tasks.sqlite3'}?mode=ro",
                             uri=True) as db:
            rows = db.execute("SELECT prompt, created_at, finished_at FROM tasks").fetchall()
        return {prompt: (created, finished or 0.0) for prompt, created, finished in rows}

    def close(self) -> None:
        for process in (self.app, self.backend):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def open_page(deployment: Deployment) -> tuple[Any, str, float]:
    """A visitor's session: the client (config and API info, as a page load fetches) and the
    page's load event (model lists for this session). Returns (client, visitor id, seconds)."""
    from gradio_client import Client

    began = time.monotonic()
    client = Client(deployment.url, verbose=False)
    job = client.submit(*deployment.args("on_load", {"zhiqite_visitor": None,
                                                     "zhiqite_last_tasks": ""}),
                        api_name="/on_load")
    job.result(timeout=120)
    first = dict(zip(deployment.outputs("on_load"), job.outputs()[0], strict=False))
    visitor_token = first["zhiqite_visitor"]  # issued and signed by the app, as a page keeps it
    return client, visitor_token, time.monotonic() - began


def run_tasks(deployment: Deployment, number: int, client: Any, visitor_id: str, tasks: int,
              started: threading.Barrier) -> list[Outcome]:
    started.wait(timeout=300)  # every visitor submits at the same moment
    outcomes = [Outcome(f"visitor {number} task {k} {secrets.token_hex(4)}",
                        number * 100 + k) for k in range(tasks)]
    jobs = []
    for outcome in outcomes:
        jobs.append((outcome, time.time(), client.submit(*deployment.args("generate", {
            "zhiqite_visitor": visitor_id, "zhiqite_last_tasks": "",
            "zq_checkpoint": CHECKPOINT, "txt2img_prompt": outcome.prompt,
            "txt2img_seed": outcome.seed, "txt2img_steps": 20, "txt2img_width": 256,
            "txt2img_height": 256}), api_name="/generate")))
    names = deployment.outputs("generate")
    for outcome, outcome.sent, job in jobs:
        try:
            result = dict(zip(names, job.result(timeout=600), strict=True))
        except Exception as error:  # noqa: BLE001 - a benchmark counts, it does not stop
            outcome.lost, outcome.status = True, f"{type(error).__name__}: {error}"
            continue
        outcome.seconds = time.time() - outcome.sent
        outcome.status = str(result["txt2img_status"])
        gallery = (result["txt2img_gallery"] or {}).get("value") or []
        if not outcome.status.startswith("Done") or len(gallery) != 1:
            outcome.lost = True
            continue
        infotext = str(result["txt2img_infotext"])
        with Image.open(gallery[0]["image"]) as png:  # the file this visitor was given
            parameters = str(png.info.get("parameters", ""))
        mine = f"Seed: {outcome.seed},"
        outcome.misrouted = not (infotext.startswith(outcome.prompt + "\n") and mine in infotext
                                 and parameters.startswith(outcome.prompt + "\n")
                                 and mine in parameters
                                 and gallery[0].get("caption") == f"Seed {outcome.seed}")
    return outcomes


def run(deployment: Deployment, visitors: int, tasks: int
        ) -> tuple[list[Outcome], list[float], list[float]]:
    """Pages open four at a time (what is measured is tasks at once, and 50 page loads at the
    same instant on 2 CPUs time out gradio_client's 5 s reads), then every visitor submits its
    tasks at the same moment. Returns (outcomes, page open seconds, CPU seconds of the app,
    the backend and this process while the tasks ran)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(lambda _: open_page(deployment), range(visitors)))
    barrier = threading.Barrier(visitors)
    pids = (deployment.app.pid, deployment.backend.pid, os.getpid())
    cpu_before = [cpu_seconds(pid) for pid in pids]
    try:
        with ThreadPoolExecutor(max_workers=visitors) as pool:
            futures = [pool.submit(run_tasks, deployment, n, client, visitor_id, tasks, barrier)
                       for n, (client, visitor_id, _) in enumerate(pages)]
            outcomes = [outcome for future in futures for outcome in future.result()]
        cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        return outcomes, [seconds for _, _, seconds in pages], cpu
    finally:
        for client, _, _ in pages:
            client.close()


@dataclass
class Run:
    label: str
    outcomes: list[Outcome]
    unfinished: int  # rows the store holds without a final state
    seconds: list[float]  # end to end, of those completed
    overhead: list[float]  # end to end minus the row's submit-to-stored time
    opened: list[float]  # page opens


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=3, help="tasks each visitor runs at once")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="the backend's simulated seconds x scale = real seconds")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="tasks the backend generates at once")
    args = parser.parse_args(argv)
    began = time.monotonic()
    deployment = Deployment(args.scale, args.concurrency)
    try:
        idle = memory_mb(deployment.app.pid, "VmRSS")
        runs = []
        for label, visitors, tasks in (("reference: 1 visitor, 1 task", 1, 1),
                                       (f"{args.visitors} visitors x {args.tasks} at once",
                                        args.visitors, args.tasks)):
            outcomes, opened, cpu = run(deployment, visitors, tasks)
            print(f"{label}: CPU seconds while the tasks ran: app {cpu[0]:.1f}, backend "
                  f"{cpu[1]:.1f}, the visitors' clients {cpu[2]:.1f}")
            stored = deployment.stored()
            done = [o for o in outcomes if not o.lost]
            overhead, before, after = [], [], []
            for o in done:
                created, finished = stored.get(o.prompt, (0.0, 0.0))
                if finished:
                    overhead.append(o.seconds - (finished - created))
                    before.append(created - o.sent)
                    after.append(o.sent + o.seconds - finished)
            print(f"{label}: sent -> task stored p50/p95 {ms(before)} / {ms(before, .95)} ms; "
                  f"result stored -> visitor has it {ms(after)} / {ms(after, .95)} ms")
            unfinished = sum(1 for o in outcomes if not stored.get(o.prompt, (0, 0))[1])
            runs.append(Run(label, outcomes, unfinished, [o.seconds for o in done], overhead,
                            opened))
            for o in outcomes:
                if o.lost or o.misrouted:
                    print(f"{'lost' if o.lost else 'misrouted'}: {o.prompt}: {o.status[:200]}")
        peak = memory_mb(deployment.app.pid, "VmHWM")
    finally:
        deployment.close()

    print(f"# visitors benchmark: txt2img 256x256, 20 steps at {args.scale} x real time; "
          f"backend generates {args.concurrency} at once\n")
    widths = [30, 5, 9, 4, 9, 18, 20, 23]
    print(row(["run", "tasks", "completed", "lost", "misrouted", "not final in store",
               "end-to-end p50/p95 s", "app overhead p50/p95 ms"], widths))
    print(row(["-" * w for w in widths], widths))
    for r in runs:
        print(row([r.label, len(r.outcomes), len(r.seconds), sum(o.lost for o in r.outcomes),
                   sum(o.misrouted for o in r.outcomes), r.unfinished,
                   f"{percentile(r.seconds, .5):.2f} / {percentile(r.seconds, .95):.2f}",
                   f"{ms(r.overhead)} / {ms(r.overhead, .95)}"], widths))
    opened = runs[-1].opened
    print(f"\napp RSS: {idle:.0f} MB idle after start, peak {peak:.0f} MB (target < 600 MB)")
    print(f"page open (config, API info, load event), 4 at a time: p50 "
          f"{percentile(opened, .5):.2f} s, p95 {percentile(opened, .95):.2f} s")
    print("targets: 0 lost, 0 misrouted. 'app overhead': end-to-end minus the task's life in "
          "the store\n(submit to stored result): Gradio's queue, the form's validation, the "
          "stream to the visitor.\nAll three processes share this machine's CPUs: see the CPU "
          f"seconds above.\nRan {time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
