"""Concurrency: simulated visitors (a page's Gradio session each, on the wire as the page's
script speaks it: benchmarks/page_session.py; a visitor id each) open the page and run several txt2img tasks at once through the app's own Generate endpoint and the
follower the page chains after it (the page shows a tab's newest batch; the others must be
final in the store with their image on disk).

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
import io
import json
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

from benchmarks.bare_events import measure
from benchmarks.page_session import PageSession
from benchmarks.report import cpu_seconds, ms, percentile, row
from benchmarks.ui import ROOT, free_port
from webui.api.models.common import TaskState

CHECKPOINT = "photon_v1_84728.safetensors"
APPCODE = "benchmark-appcode"


@dataclass
class Outcome:
    prompt: str
    seed: int
    sent: float = 0.0  # wall clock, comparable with the store's timestamps
    seconds: float = 0.0
    status: str = ""
    shown: bool = False  # the task the page ended on
    lost: bool = False
    messages: int = 0  # stream messages of the follower that showed it
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


def memory_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak since start) of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Deployment:
    """The offline backend and the app, each a process of its own; `replicas` app processes
    on one PostgreSQL database (`database_url`) and one outputs folder, each with its own
    data dir, and each naming the next one as its public address, so that every callback
    reaches a replica that does not follow the task (the other replicas hear of it)."""

    def __init__(self, scale: float, concurrency: int, *, replicas: int = 1,
                 database_url: str | None = None) -> None:
        if replicas > 1 and not database_url:
            raise ValueError("several replicas share a PostgreSQL database: database_url")
        self.work = Path(tempfile.mkdtemp(prefix="bench-visitors-"))
        self.database_url = database_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIQITE_")}
        env.update(PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False")
        backend_port = free_port()
        self.backend = subprocess.Popen(
            [sys.executable, "-m", "webui.offline", "--port", str(backend_port),
             "--time-scale", str(scale), "--concurrency", str(concurrency),
             "--appcode", APPCODE, "--data-dir", str(self.work / "backend")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ports = [free_port() for _ in range(replicas)]
        self.urls = [f"http://127.0.0.1:{port}/" for port in ports]
        self.url = self.urls[0]
        self.apps = []
        for k, port in enumerate(ports):
            data_dir = self.work / ("data" if replicas == 1 else f"data-{k}")
            extra = {"ZHIQITE_DATABASE_URL": database_url} if database_url else {}
            self.apps.append(subprocess.Popen(
                [sys.executable, "-m", "webui", "--port", str(port)], cwd=self.work,
                env={**env, **extra, "ZHIQITE_BACKEND": "cloud", "ZHIQITE_APPCODE": APPCODE,
                     "ZHIQITE_API_BASE": f"http://127.0.0.1:{backend_port}",
                     "ZHIQITE_PUBLIC_URL": self.urls[(k + 1) % replicas].rstrip("/"),
                     "ZHIQITE_DATA_DIR": str(data_dir),
                     "ZHIQITE_OUTPUTS_DIR": str(self.work / "outputs")},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.app = self.apps[0]
        try:
            wait_up(f"http://127.0.0.1:{backend_port}/__offline/health", self.backend)
            for url, app in zip(self.urls, self.apps, strict=True):
                wait_up(url, app)
        except RuntimeError:
            self.close()
            raise
        config = requests.get(self.url + "config", timeout=30).json()
        self.config = config
        self.components = {c["id"]: c for c in config["components"]}
        self.dependencies = {d.get("api_name"): d for d in config["dependencies"]}
        # txt2img's follower: the event the page chains after Generate's
        generate = self.dependencies["generate"]["id"]
        self.follower = next(d for d in config["dependencies"]
                             if d.get("trigger_after") == generate)
        self.by_id = {d["id"]: d for d in config["dependencies"]}

    def named(self, dependency: str | int, data: list[Any]) -> dict[str, Any]:
        """An event's output values (as its messages carry them, in its outputs' order) by
        elem_id or BrowserState storage key."""
        found = self.dependencies[dependency] if isinstance(dependency, str) \
            else self.by_id[dependency]
        names = [self.components[i]["props"].get("elem_id")
                 or self.components[i]["props"].get("storage_key") or str(i)
                 for i in found["outputs"]]
        return dict(zip(names, data, strict=False))

    def stored(self) -> dict[str, tuple[float, float, str, int]]:
        """prompt -> (created, finished, state, images on disk) of each task the app
        stored."""
        query = "SELECT prompt, created_at, finished_at, state, images FROM tasks"
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as db:
                rows = db.execute(query).fetchall()
        else:
            with sqlite3.connect(f"file:{self.work / 'data' / 'tasks.sqlite3'}?mode=ro",
                                 uri=True) as db:
                rows = db.execute(query).fetchall()
        out = {}
        for prompt, created, finished, state, images in rows:
            on_disk = sum(1 for image in json.loads(images)
                          if image.get("path") and any(
                              (base / image["path"]).is_file()
                              for base in (self.work, self.work / "outputs")))
            out[prompt] = (created, finished or 0.0, state, on_disk)
        return out

    def close(self) -> None:
        for process in (*self.apps, self.backend):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def open_page(deployment: Deployment, replica: int = 0) -> tuple[PageSession, str, float]:
    """A visitor's page on one replica (as a load balancer's sticky session keeps it): the
    HTML (compressed, as a browser asks) and the page's load event (model lists for this
    session). Returns (session, visitor token, seconds)."""
    began = time.monotonic()
    url = deployment.urls[replica]
    page = PageSession(url, deployment.config)
    page.http.get(url, headers={"Accept-Encoding": "gzip, br"}, timeout=120).raise_for_status()
    load = deployment.dependencies["on_load"]
    loaded = page.join(load, {"zhiqite_visitor": None, "zhiqite_last_tasks": ""})
    if not loaded.ended.wait(120) or loaded.error or not loaded.outputs:
        raise RuntimeError(f"the page's load event: {loaded.error or 'no answer'}")
    first = deployment.named("on_load", loaded.outputs[-1])
    # what the page chains after its load: each tab's follower finding nothing to reattach
    # to, and the queue strip's stream, which runs as long as the page is open
    for chained in deployment.config["dependencies"]:
        if chained.get("trigger_after") == load["id"]:
            page.join(chained, {"zhiqite_visitor": first["zhiqite_visitor"],
                                "zhiqite_last_tasks": ""})
    return page, str(first["zhiqite_visitor"]), time.monotonic() - began


def gallery_items(value: Any) -> list[dict[str, Any]]:
    """A gallery output as sent: a plain list, or a prop update with its value."""
    if isinstance(value, dict):
        value = value.get("value")
    return list(value or [])


def run_tasks(deployment: Deployment, number: int, page: PageSession, visitor_id: str,
              tasks: int, started: threading.Barrier) -> list[Outcome]:
    """What a page does for `tasks` Generate clicks at once: each click's event sends and
    returns, then its follower (the `.then` event the page chains) streams the tab's newest
    batch; a newer click's follower takes over, so the page ends on the newest task, which
    is checked against what the visitor was shown (the infotext, and the PNG fetched as the
    browser does). The others must be final in the store with their image on disk."""
    started.wait(timeout=300)  # every visitor submits at the same moment
    outcomes = [Outcome(f"visitor {number} task {k} {secrets.token_hex(4)}",
                        number * 100 + k) for k in range(tasks)]
    sent = []
    for outcome in outcomes:
        outcome.sent = time.time()
        sent.append((outcome, page.join(deployment.dependencies["generate"], {
            "zhiqite_visitor": visitor_id, "zhiqite_last_tasks": "",
            "zq_checkpoint": CHECKPOINT, "txt2img_prompt": outcome.prompt,
            "txt2img_seed": outcome.seed, "txt2img_steps": 20, "txt2img_width": 256,
            "txt2img_height": 256})))
    by_batch: dict[str, Outcome] = {}
    followers = []
    for outcome, event in sent:
        if not event.ended.wait(600) or event.error or not event.outputs:
            outcome.lost, outcome.status = True, f"not sent: {event.error or 'no answer'}"
            continue
        last_tasks = deployment.named("generate", event.outputs[-1])["zhiqite_last_tasks"]
        by_batch[json.loads(last_tasks)["txt2img"]] = outcome
        followers.append(page.join(deployment.follower, {
            "zhiqite_visitor": visitor_id, "zhiqite_last_tasks": last_tasks}))
    for event in followers:
        if not event.ended.wait(600) or event.error:
            print(f"visitor {number}: a follower failed: {event.error or 'no answer'}")
            continue
        ended = time.time()
        last = deployment.named(deployment.follower["id"], event.outputs[-1]) \
            if event.outputs else {}
        outcome = by_batch.get(str(last.get("txt2img_finished") or ""))
        if outcome is None:  # a follower a newer click took over: it ends showing nothing
            continue
        outcome.shown, outcome.seconds = True, ended - outcome.sent
        outcome.messages = event.steps + 1
        status = last.get("txt2img_status")
        outcome.status = str(status.get("value") if isinstance(status, dict) else status)
        gallery = gallery_items(last.get("txt2img_gallery"))
        if not outcome.status.startswith("Done") or len(gallery) != 1:
            outcome.lost = True
            continue
        infotext = str(last.get("txt2img_infotext"))
        # the file this visitor was given, fetched as the browser does
        with Image.open(io.BytesIO(page.download(gallery[0]["image"]["url"]))) as png:
            parameters = str(png.info.get("parameters", ""))
        mine = f"Seed: {outcome.seed},"
        outcome.misrouted = not (infotext.startswith(outcome.prompt + "\n") and mine in infotext
                                 and parameters.startswith(outcome.prompt + "\n")
                                 and mine in parameters
                                 and gallery[0].get("caption") == f"Seed {outcome.seed}")
    return outcomes


def run(deployment: Deployment, visitors: int, tasks: int
        ) -> tuple[list[Outcome], list[float], list[float]]:
    """Pages open four at a time (what is measured is tasks at once, not 50 page loads at the
    same instant on 2 CPUs), then every visitor submits its
    tasks at the same moment. Returns (outcomes, page open seconds, CPU seconds of the app,
    the backend and this process while the tasks ran)."""
    replicas = len(deployment.urls)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pages = list(pool.map(lambda n: open_page(deployment, n % replicas), range(visitors)))
    barrier = threading.Barrier(visitors)
    print(f"{visitors} page(s) open; sending their tasks", flush=True)
    pids = [deployment.backend.pid, os.getpid(), *(app.pid for app in deployment.apps)]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    try:
        with ThreadPoolExecutor(max_workers=visitors) as pool:
            futures = [pool.submit(run_tasks, deployment, n, page, visitor_id, tasks, barrier)
                       for n, (page, visitor_id, _) in enumerate(pages)]
            outcomes = [outcome for future in futures for outcome in future.result()]
        used = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        # [the apps together, the backend, this process]
        return outcomes, [seconds for _, _, seconds in pages], [sum(used[2:]), *used[:2]]
    finally:
        for page, _, _ in pages:
            page.close()


@dataclass
class Run:
    label: str
    outcomes: list[Outcome]
    unfinished: int  # rows the store holds without a final state
    seconds: list[float]  # end to end, of the tasks the pages ended on
    overhead: list[float]  # end to end minus the row's submit-to-stored time
    opened: list[float]  # page opens
    cpu_per_task: float  # ms of the app's CPU per task while the tasks ran


def measured(deployment: Deployment, label: str, visitors: int, tasks: int) -> Run:
    """One run of `visitors` x `tasks` at once, checked against the store; its figures are
    printed as it goes."""
    outcomes, opened, cpu = run(deployment, visitors, tasks)
    print(f"{label}: CPU seconds while the tasks ran: app {cpu[0]:.1f}, backend "
          f"{cpu[1]:.1f}, the visitors' clients {cpu[2]:.1f}")
    stored = deployment.stored()
    for o in outcomes:  # those the page did not end on: final, with their image
        created, finished, state, on_disk = stored.get(o.prompt, (0, 0, "", 0))
        if not o.shown and not o.lost and (state != TaskState.SUCCEEDED or on_disk != 1):
            o.lost, o.status = True, f"in the store: {state or 'missing'}, " \
                                     f"{on_disk} image(s) on disk"
    done = [o for o in outcomes if o.shown and not o.lost]
    overhead, before, after = [], [], []
    for o in done:
        created, finished, _, _ = stored.get(o.prompt, (0.0, 0.0, "", 0))
        if finished:
            overhead.append(o.seconds - (finished - created))
            before.append(created - o.sent)
            after.append(o.sent + o.seconds - finished)
    print(f"{label}: sent -> task stored p50/p95 {ms(before)} / {ms(before, .95)} ms; "
          f"result stored -> visitor has it {ms(after)} / {ms(after, .95)} ms")
    shown = [o.messages for o in outcomes if o.shown]
    print(f"{label}: messages streamed per shown task, mean "
          f"{sum(shown) / max(1, len(shown)):.1f}")
    print(f"{label}: app CPU per task {1000 * cpu[0] / max(1, len(outcomes)):.0f} ms "
          f"(target <= 30 ms)")
    unfinished = sum(1 for o in outcomes if not stored.get(o.prompt, (0, 0, "", 0))[1])
    for o in outcomes:
        if o.lost or o.misrouted:
            print(f"{'lost' if o.lost else 'misrouted'}: {o.prompt}: {o.status[:200]}")
    return Run(label, outcomes, unfinished, [o.seconds for o in done], overhead, opened,
               1000 * cpu[0] / max(1, len(outcomes)))


def table(runs: list[Run]) -> None:
    widths = [30, 5, 9, 4, 9, 18, 27, 23]
    print(row(["run", "tasks", "completed", "lost", "misrouted", "not final in store",
               "shown: end-to-end p50/p95 s", "app overhead p50/p95 ms"], widths))
    print(row(["-" * w for w in widths], widths))
    for r in runs:
        print(row([r.label, len(r.outcomes), sum(not o.lost for o in r.outcomes),
                   sum(o.lost for o in r.outcomes),
                   sum(o.misrouted for o in r.outcomes), r.unfinished,
                   f"{percentile(r.seconds, .5):.2f} / {percentile(r.seconds, .95):.2f}",
                   f"{ms(r.overhead)} / {ms(r.overhead, .95)}"], widths))


def load_arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    """--visitors, --tasks, --scale, --concurrency (this benchmark's and replicas.py's)."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=3, help="tasks each visitor runs at once")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="the backend's simulated seconds x scale = real seconds")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="tasks the backend generates at once")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = load_arguments(__doc__ or "", argv)
    began = time.monotonic()
    deployment = Deployment(args.scale, args.concurrency)
    try:
        idle = memory_mb(deployment.app.pid, "VmRSS")
        runs = []
        for label, visitors, tasks in (("reference: 1 visitor, 1 task", 1, 1),
                                       (f"{args.visitors} visitors x {args.tasks} at once",
                                        args.visitors, args.tasks)):
            runs.append(measured(deployment, label, visitors, tasks))
        peak = memory_mb(deployment.app.pid, "VmHWM")
    finally:
        deployment.close()

    print(f"# visitors benchmark: txt2img 256x256, 20 steps at {args.scale} x real time; "
          f"backend generates {args.concurrency} at once\n")
    table(runs)
    opened = runs[-1].opened
    inputs = len(deployment.dependencies["generate"]["inputs"])
    bare_gradio, bare_page = (measure(inputs, blocks, args.visitors, args.tasks)
                              for blocks in ("gradio", "page"))
    app_cpu = runs[-1].cpu_per_task
    print(f"\napp CPU per task: {app_cpu:.0f} ms (target <= 30). Reference, same run: a bare "
          f"Gradio app with the same events\n(a click with {inputs} plain inputs, then a "
          f"follower streaming 4 messages; {args.visitors} x {args.tasks}): "
          f"{bare_gradio:.0f} ms per task with gr.Blocks, {bare_page:.0f} ms with the app's "
          f"PageBlocks\n(webui/ui/page_blocks.py). Ratio app / bare Gradio: "
          f"{app_cpu / max(bare_gradio, 1e-9):.2f}")
    print(f"\napp RSS: {idle:.0f} MB idle after start, peak {peak:.0f} MB (target < 600 MB)")
    print(f"page open (config, API info, load event), 4 at a time: p50 "
          f"{percentile(opened, .5):.2f} s, p95 {percentile(opened, .95):.2f} s")
    print("targets: 0 lost, 0 misrouted. 'app overhead': end-to-end minus the task's life in "
          "the store\n(submit to stored result): Gradio's queue, the form's validation, the "
          "stream to the visitor.\nAll three processes share this machine's CPUs: see the CPU "
          f"seconds above.\nRan {time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
