"""X/Y/Z plot through the submission service: a plot's cells sent at once (a fan-out) against
the same requests sent one after another, and the bill shown before against the calls billed.

    python -m benchmarks.xyz [--cells 4] [--scale 0.1] [--concurrency 0] [--mode callback]

An NxN plot (X: CFG Scale 3-9, Y: Steps 10-40, N values each) is planned as the X/Y/Z script
plans it (`core/scripts/xyz.py`), one request per cell by the builder, priced with
`SubmissionService.estimate`, sent with `submit` and streamed with `follow` to the end. Then
the same cells (new task ids) go one at a time: submit, wait for the final status, next. The
offline backend runs in-process at `--scale` x real time and the engine's poll policy at the
same scale, so billed-call counts are those of real-time tasks; each run has its own visitor
(their own meter).

How to read it:
- wall: from `submit` to the last final status. ratio = sequential / fan-out: how much sooner
  a plot is done when its cells go at once. Its ceiling (printed) is the sum of the cells'
  lengths over the longest one, or over what the backend runs at once (`--concurrency`, 0: as
  many as cells) when that is fewer. "backend s" sums the tasks' lengths as the backend ran
  them, its queue included: side by side they render on the same CPUs (rendering is not
  scaled), so the fan-out's are longer; the sequential wall minus its "backend s" is the
  app's share.
- billed calls: "estimated" is the bill shown before sending; "store" sums the tasks' rows,
  "engine meter" is `TaskEngine.billed_calls(owner)`, "follow" the last snapshot's sum,
  "limiter" what was charged to the visitor's day budget, "backend" what the offline backend
  counted as billed. All but "estimated" should agree. The estimate prices a visitor with no
  finished tasks at a typical length (`TYPICAL_SECONDS`, scaled as the poll policy is); it is
  shown again after each run ("re-estimated"), from the visitor's own task lengths.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from benchmarks.report import row
from webui.api import ZhiqiteClient
from webui.api import models as m
from webui.core.builder import Txt2ImgForm, build_request
from webui.core.engine import PollPolicy
from webui.core.limits import Limiter, Limits, Quota
from webui.core.routes import callback_router
from webui.core.runtime import Runtime, Settings
from webui.core.scripts import xyz
from webui.core.submission import Bill, Plan, PlannedTask, SubmissionService
from webui.offline.config import OfflineConfig
from webui.offline.server import OfflineServer, ThreadedServer

CHECKPOINT = "photon_v1_84728.safetensors"
FORM: dict[str, Any] = {"prompt": "benchmark plot, a lighthouse at dusk",
                        "checkpoint": CHECKPOINT, "width": 256, "height": 256, "seed": 1234}
# A day's budget no run reaches: unlimited in effect, but the limiter keeps count of what it
# is charged (`calls_left`), a meter of its own.
BUDGET = 10**9
ADDRESS = "127.0.0.1"


class Bench:
    """The offline backend, a runtime on it (the callback route on a loopback server in
    callback mode), and a submission service with a limiter, as the UI wires them."""

    def __init__(self, scale: float, concurrency: int, mode: str) -> None:
        data = Path(tempfile.mkdtemp(prefix="bench-xyz-"))
        self.backend = OfflineServer(OfflineConfig(time_scale=scale, concurrency=concurrency,
                                                   upload_seconds=0))
        self.backend.start()
        settings = Settings(data_dir=data / "data", outputs_dir=data / "outputs",
                            backend="offline", offline_time_scale=scale)
        self.runtime = Runtime(settings, ZhiqiteClient(base_url=self.backend.url),
                               self.backend, PollPolicy().scaled(scale))
        self.server: ThreadedServer | None = None
        if mode == "callback":
            app = FastAPI()
            app.include_router(callback_router(self.runtime.engine))
            self.server = ThreadedServer(app).start()
            self.runtime.set_public_url(self.server.url)
        # the model lists, as the app loads them at start: the first result's infotext would
        # otherwise bill a list call (the model hash) in the middle of the first run
        self.runtime.catalog.warm()
        self.limiter = Limiter(Limits(visitor=Quota(calls_per_day=BUDGET)),
                               is_running=self.runtime.engine.is_following)
        self.service = SubmissionService(
            self.runtime.engine, self.runtime.store, self.limiter, owner=self.runtime.owner,
            own_client=lambda visitor: None, metered=lambda visitor: self.runtime.is_offline,
            address=lambda visitor: ADDRESS)

    def backend_billed(self) -> int:
        return sum(self.backend.stats.billed.values())

    def close(self) -> None:
        if self.server:
            self.server.stop()
        self.runtime.close()  # the engine, the client and the backend


def cell_request(values: dict[str, Any]) -> Any:
    return build_request("txt2img", Txt2ImgForm.from_values(values))[1]


def plot_plan(cells: int) -> Plan:
    """An NxN plot as the X/Y/Z script plans it: one task per cell, x varying fastest."""
    x = xyz.parse_axis(xyz.AxisType.CFG_SCALE, f"3-9 [{cells}]", name="X")
    y = xyz.parse_axis(xyz.AxisType.STEPS, f"10-40 [{cells}]", name="Y")
    planned = xyz.plan(x, y, form_values=FORM)
    tasks = tuple(PlannedTask(make=partial(cell_request, cell.apply(FORM)),
                              meta={"cell": list(cell.indices)}) for cell in planned)
    return Plan("txt2img", tasks, script="X/Y/Z plot",
                layout={"x": [x.label(v) for v in x.values],
                        "y": [y.label(v) for v in y.values]})


@dataclass
class Run:
    label: str
    bill: Bill
    wall: float = 0.0
    submitting: float = 0.0  # in `submit` (the fan-out: one call; sequential: all of them)
    task_ids: tuple[str, ...] = ()
    snapshots: int = 0  # follow's snapshots (fan-out only)
    followed_calls: int = 0  # the last snapshot's billed calls (fan-out only)
    succeeded: int = 0
    failed: int = 0
    store_calls: int = 0
    meter_calls: int = 0
    limiter_calls: int = 0
    backend_calls: int = 0
    busy: float = 0.0  # the sum of the tasks' lengths on the backend
    longest: float = 0.0
    bill_after: Bill | None = None


def fan_out(bench: Bench, visitor: str, plan: Plan) -> Run:
    run = Run("fan-out (submit all, follow)", bench.service.estimate(visitor, plan))
    billed_before = bench.backend_billed()
    started = time.perf_counter()
    submitted = bench.service.submit(visitor, plan)
    run.submitting = time.perf_counter() - started
    if submitted.batch is None or submitted.not_sent:
        raise RuntimeError(f"not all sent: {submitted}")
    last = None
    for progress in bench.service.follow(visitor, submitted.batch):
        run.snapshots, last = run.snapshots + 1, progress
    run.wall = time.perf_counter() - started
    if last is None or not last.done:
        raise RuntimeError("follow ended before the batch was done")
    run.followed_calls = last.billed_calls
    run.task_ids = submitted.batch.task_ids
    return tally(bench, visitor, plan, run, billed_before)


def sequential(bench: Bench, visitor: str, plan: Plan) -> Run:
    run = Run("sequential (submit, wait, next)", bench.service.estimate(visitor, plan))
    billed_before = bench.backend_billed()
    owner = bench.runtime.owner(visitor)
    ids: list[str] = []
    started = time.perf_counter()
    for task in plan.tasks:
        began = time.perf_counter()
        one = bench.service.submit(visitor, Plan(plan.tab, (task,), script=plan.script,
                                                 layout=plan.layout))
        run.submitting += time.perf_counter() - began
        if one.batch is None or not one.batch.task_ids:
            raise RuntimeError(f"not sent: {one}")
        ids.append(one.batch.task_ids[0])
        bench.runtime.engine.wait(ids[-1], owner)
    run.wall = time.perf_counter() - started
    run.task_ids = tuple(ids)
    return tally(bench, visitor, plan, run, billed_before)


def tally(bench: Bench, visitor: str, plan: Plan, run: Run, billed_before: int) -> Run:
    owner = bench.runtime.owner(visitor)
    for task_id in run.task_ids:
        record = bench.runtime.store.get(task_id, owner)
        assert record is not None
        run.succeeded += record.state == m.TaskState.SUCCEEDED
        run.failed += record.state != m.TaskState.SUCCEEDED
        run.store_calls += record.billed_calls
        task = bench.backend.runner.tasks.get(task_id)
        if task is not None:
            length = (task.finished or task.created) - task.created
            run.busy += length
            run.longest = max(run.longest, length)
    run.meter_calls = bench.runtime.engine.billed_calls(owner)
    run.limiter_calls = BUDGET - (bench.limiter.calls_left(visitor, ADDRESS) or 0)
    run.backend_calls = bench.backend_billed() - billed_before
    run.bill_after = bench.service.estimate(visitor, plan)
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=4,
                        help="N for an NxN plot (at most 16: 256 cells)")
    parser.add_argument("--scale", type=float, default=0.1,
                        help="simulated seconds x scale = real seconds (default 0.1)")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="tasks the backend generates at once (0: as many as cells)")
    parser.add_argument("--mode", choices=("callback", "poll"), default="callback",
                        help="how results come back (callback: the app with the embedded "
                             "backend; poll: a service that cannot reach the app)")
    args = parser.parse_args(argv)
    if not 1 <= args.cells <= 16:
        parser.error("--cells must be 1..16")
    began = time.monotonic()
    plan = plot_plan(args.cells)
    concurrency = args.concurrency or len(plan.tasks)
    bench = Bench(args.scale, concurrency, args.mode)
    try:
        runs = [fan_out(bench, "visitor-fan-out", plan),
                sequential(bench, "visitor-sequential", plan)]
    finally:
        bench.close()

    count = len(plan.tasks)
    print(f"# X/Y/Z plot benchmark: {args.cells}x{args.cells} = {count} txt2img 256x256 "
          f"(CFG 3-9 x steps 10-40)\n# at {args.scale} x real time, {args.mode} mode, "
          f"backend runs {concurrency} at once\n")
    print(f"bill shown before sending: {runs[0].bill.describe()}\n")
    widths = [32, 7, 5, 6, 10, 12, 14, 10, 9]
    print(row(["run", "wall s", "ok", "failed", "submit s", "backend s",
               "longest task s", "calls/task", "snapshots"], widths))
    print(row(["-" * w for w in widths], widths))
    for r in runs:
        print(row([r.label, f"{r.wall:.2f}", r.succeeded, r.failed, f"{r.submitting:.2f}",
                   f"{r.busy:.2f}", f"{r.longest:.2f}", f"{r.store_calls / count:.2f}",
                   r.snapshots or "-"], widths))
    fan, seq = runs
    # the fan-out can be no shorter than its longest cell, nor than the work over the places
    ceiling = seq.busy / max(seq.longest, seq.busy / concurrency)
    print(f"\nratio sequential / fan-out: {seq.wall / fan.wall:.1f} x (ceiling at {concurrency} "
          f"at once: about {ceiling:.1f} x, from the sequential run's task lengths)")
    print(f"sequential overhead beyond the backend: "
          f"{(seq.wall - seq.busy) / count * 1000:.0f} ms a task\n")

    widths = [32, 9, 5, 12, 6, 7, 7, 13]
    print(row(["billed calls", "estimated", "store", "engine meter", "follow", "limiter",
               "backend", "re-estimated"], widths))
    print(row(["-" * w for w in widths], widths))
    for r in runs:
        print(row([r.label, r.bill.calls, r.store_calls, r.meter_calls,
                   r.followed_calls if r is fan else "-", r.limiter_calls, r.backend_calls,
                   r.bill_after.calls if r.bill_after else "-"], widths))
    print("\nre-estimated: the same plan priced after the run, from the visitor's own task "
          "lengths\n(before it, a visitor with no finished task is priced at a typical length)."
          f"\nRan {time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
