"""Task engine numbers: billed calls per task by mode (tasks of 5, 20 and 60 s), and
completion-to-event latency.

    python -m benchmarks.tasks [--tasks 50] [--scale 0.1]

Runs the offline backend in-process at `--scale` x real time and the engine's poll policy at
the same scale, so call counts are those of real-time tasks. Each figure is printed next to a
reference measured in the same run (a naive 1 s poller), since the machine is noisy.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from benchmarks.report import ms, row
from webui.api import ZhiqiteClient
from webui.api import models as m
from webui.api.validation import parse_request
from webui.core.engine import SPACED, PollPolicy, PreviewSchedule, TaskEngine
from webui.core.keys import Keys, load_or_create_key
from webui.core.outputs import OutputWriter
from webui.core.routes import callback_router
from webui.core.store import SQLiteTaskStore
from webui.offline.config import OfflineConfig
from webui.offline.server import OfflineServer, ThreadedServer

TASK_SECONDS = (5.0, 20.0, 60.0)  # how long the service takes, queue included
STEP_SECONDS = 0.25
QUEUE_SECONDS = 0.5


def steps_for(seconds: float) -> int:
    return int((seconds - QUEUE_SECONDS) / STEP_SECONDS)  # 18, 78, 238


def request(tag: str, seed: int, steps: int) -> m.Text2ImageRequest:
    """`steps` in all: past the 150 a job may have, split over batches (n_iter)."""
    jobs = -(-steps // 150)
    return parse_request(m.Text2ImageRequest, {
        "prompt": f"benchmark {tag}", "width": 256, "height": 256, "steps": steps // jobs,
        "n_iter": jobs, "seed": seed,
        "alwayson_scripts": {"sd_model_checkpoint": "photon_v1_84728.safetensors",
                             "id_task": f"bench{uuid.uuid4().hex[:20]}",
                             "output_image_format": "png"}})


class TimedEngine(TaskEngine):
    """Notes when each callback reaches the app, to split latency into the backend's part
    (busy rendering other tasks) and the engine's (store, download, save, emit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.callback_arrived: dict[str, float] = {}

    def receive_callback(self, task_id: str, token: str | None, body: bytes
                         ) -> tuple[int, dict[str, str]]:
        self.callback_arrived.setdefault(task_id, time.monotonic())
        return super().receive_callback(task_id, token, body)


@dataclass
class Setup:
    backend: OfflineServer
    engine: TimedEngine
    server: ThreadedServer | None

    def close(self) -> None:
        self.engine.shutdown()
        if self.server:
            self.server.stop()
        self.backend.stop()


def setup(scale: float, mode: str, concurrency: int = 8) -> Setup:
    data = Path(tempfile.mkdtemp(prefix="bench-tasks-"))
    backend = OfflineServer(OfflineConfig(time_scale=scale, concurrency=concurrency,
                                          step_seconds=STEP_SECONDS,
                                          queue_seconds=QUEUE_SECONDS, upload_seconds=0))
    backend.start()
    client = ZhiqiteClient(base_url=backend.url)
    engine = TimedEngine(client, SQLiteTaskStore.in_dir(data), OutputWriter(data / "outputs"),
                        Keys(load_or_create_key(data)), policy=PollPolicy().scaled(scale))
    server = None
    if mode == "callback":
        app = FastAPI()
        app.include_router(callback_router(engine))
        server = ThreadedServer(app).start()
        engine.public_url = server.url
    return Setup(backend, engine, server)


# --- billed calls ------------------------------------------------------------------------------


def lengths(s: Setup, scale: float) -> list[float]:
    """How long the backend's tasks took, in simulated seconds (rendering is not scaled, so
    on a loaded machine a task runs longer than it was sized for)."""
    return [((t.finished or t.created) - t.created) / scale
            for t in s.backend.runner.tasks.values()]


def billed_calls(scale: float, mode: str, preview: PreviewSchedule | float | None, tasks: int,
                 seconds: float) -> tuple[list[int], list[float]]:
    """Billed calls of `tasks` tasks of `seconds`, run side by side, one viewer each; and
    the tasks' lengths as run. `preview`: a schedule, or a steady interval in seconds."""
    s = setup(scale, mode, concurrency=tasks)
    try:
        handles = [s.engine.submit(request("calls", n, steps_for(seconds)), owner="bench")
                   for n in range(tasks)]
        interval: Any = (preview.scaled(scale) if isinstance(preview, PreviewSchedule)
                         else preview * scale if preview else None)
        threads = [threading.Thread(target=lambda h=h: list(h.events(interval)))
                   for h in handles]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [h.record().billed_calls for h in handles], lengths(s, scale)
    finally:
        s.close()


def naive_poller_calls(scale: float, tasks: int, seconds: float
                       ) -> tuple[list[int], list[float]]:
    """The reference: submit, then a query every (simulated) second until one answers final,
    like a page's setInterval: a tick does not wait for the last answer (at 0.1 x real time
    a loaded query takes about as long as the interval, and waiting would undercount)."""
    s = setup(scale, "poll", concurrency=tasks)
    client = s.engine.client
    counts = [0] * tasks

    def follow(n: int, pool: ThreadPoolExecutor) -> None:
        r = request("naive", n, steps_for(seconds))
        client.text2image(r)
        counts[n] = 1
        done = threading.Event()

        def query() -> None:
            info = client.query_task(r.task_id).data
            if info is not None and info.state.is_terminal:
                done.set()

        tick = time.monotonic()
        while not done.is_set():
            counts[n] += 1
            pool.submit(query)
            tick += 1.0 * scale
            done.wait(max(0.0, tick - time.monotonic()))

    try:
        with ThreadPoolExecutor(max_workers=8 * tasks) as pool:
            threads = [threading.Thread(target=follow, args=(n, pool)) for n in range(tasks)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        return counts, lengths(s, scale)
    finally:
        s.close()


# --- completion to event -----------------------------------------------------------------------


@dataclass
class Latency:
    samples: list[float]  # backend done -> event
    engine_part: list[float]  # callback arrived -> event (callback mode)
    lost: int
    misrouted: int


def completion_latency(scale: float, mode: str, tasks: int, in_flight: bool) -> Latency:
    """Time from the backend marking a task done to the engine emitting `succeeded` to a
    watcher (previews off), measured on one monotonic clock (the backend is in-process)."""
    s = setup(scale, mode, concurrency=tasks if in_flight else 8)
    samples: list[float] = []
    engine_part: list[float] = []
    lost = misrouted = 0
    lock = threading.Lock()

    def run(n: int) -> None:
        nonlocal lost, misrouted
        seed = 1000 + n
        handle = s.engine.submit(request(f"v{n}", seed, 20), owner=f"visitor{n}")
        final = None
        for event in handle.events(None):
            if event.final:
                final, received = event, time.monotonic()
        task = s.backend.runner.tasks.get(handle.task_id)
        with lock:
            if final is None or final.state != m.TaskState.SUCCEEDED or task is None:
                lost += 1
                return
            if [image.seed for image in final.images] != [seed] or not all(
                    Path(image.path or "").is_file() for image in final.images):
                misrouted += 1
            samples.append(received - (task.finished or received))
            arrived = s.engine.callback_arrived.get(handle.task_id)
            if arrived is not None:
                engine_part.append(received - arrived)

    try:
        if in_flight:
            threads = [threading.Thread(target=run, args=(n,)) for n in range(tasks)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for n in range(tasks):
                run(n)
    finally:
        s.close()
    return Latency(samples, engine_part, lost, misrouted)


# --- report ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=50, help="tasks per latency run")
    parser.add_argument("--billing-tasks", type=int, default=10, help="tasks per billing run")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="simulated seconds x scale = real seconds (default 0.1)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"# task engine benchmark at {args.scale} x real time\n")

    tasks = args.billing_tasks
    runs: list[tuple[str, Callable[[float], tuple[list[int], list[float]]], str]] = [
        # what a new browser gets: callbacks (a public URL) and spaced-out previews
        ("default settings (callback, previews 2/4/8..16 s)",
         lambda sec: billed_calls(args.scale, "callback", SPACED, tasks, sec), "<= 5 at 20 s"),
        ("polling, previews 2/4/8..16 s",
         lambda sec: billed_calls(args.scale, "poll", SPACED, tasks, sec), "-"),
        ("callback, previews off",
         lambda sec: billed_calls(args.scale, "callback", None, tasks, sec), "1"),
        ("polling, previews off",
         lambda sec: billed_calls(args.scale, "poll", None, tasks, sec), "<= 8 at 20 s"),
        ("callback, steady previews every 1.5 s",
         lambda sec: billed_calls(args.scale, "callback", 1.5, tasks, sec), "-"),
        ("polling, steady previews every 1.5 s",
         lambda sec: billed_calls(args.scale, "poll", 1.5, tasks, sec), "-"),
        ("reference: naive 1 s poller",
         lambda sec: naive_poller_calls(args.scale, tasks, sec), "-"),
    ]
    widths = [48, *[16] * len(TASK_SECONDS), 13]
    print(row(["billed calls per task, mean/max",
               *[f"{sec:.0f} s task (ran)" for sec in TASK_SECONDS], "target"], widths))
    print(row(["-" * w for w in widths], widths))
    for name, measure, target in runs:
        cells = []
        for sec in TASK_SECONDS:
            counts, ran = measure(sec)
            cells.append(f"{statistics.mean(counts):.1f} / {max(counts)} "
                         f"({statistics.mean(ran):.0f} s)")
        print(row([name, *cells, target], widths))

    print("(ran): the tasks' mean length as run, in simulated seconds: rendering is not scaled,"
          "\nand the naive poller's queries each render a preview, so its tasks run longest.\n")
    widths = [40, 6, 6, 17, 4, 9, 8]
    print(row(["completion -> event (ms)", "p50", "p95", "of which app p50/95", "lost",
               "misrouted", "target"], widths))
    print(row(["-" * w for w in widths], widths))
    for mode in ("callback", "poll"):
        for in_flight in (False, True):
            result = completion_latency(args.scale, mode, args.tasks, in_flight)
            name = f"{mode}, {args.tasks} tasks {'in flight at once' if in_flight else 'one by one'}"
            target = "p50<150" if mode == "callback" and not in_flight else (
                "0 lost" if in_flight else "-")
            app_part = f"{ms(result.engine_part, 0.5)} / {ms(result.engine_part, 0.95)}"
            print(row([name, ms(result.samples, 0.5), ms(result.samples, 0.95), app_part,
                       result.lost, result.misrouted, target], widths))
    print("\n'of which app': from the callback reaching the app to the event (store, download,"
          "\nsave, emit); the rest is the offline backend rendering the other tasks on the same"
          f"\nCPUs. Polling latency follows the idle back-off, scaled by {args.scale}."
          f"\nRan {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
