"""One way to send work, for every tab: a batch of planned tasks (a single Generate is a batch
of one; a tool's images, a plot's cells and a prompts file's lines are batches of many).

`SubmissionService.estimate` prices a plan before anything is sent (tasks, images, billed
calls); `submit` takes places within the visitor's limits (`core/limits.py`: all of them for a
fan-out, or as many as allowed for a tool's batch), then makes each request (decoding and
hosting only what has a place) and hands it to the task engine; a `BatchRecord` in the store
finds the batch again after a reload. `follow` streams the batch's progress: one snapshot per
change of any of its tasks, with the counts for the whole batch.

Which batch a tab shows is the visitor's newest for that tab (`newest`); one follower per
page and tab (`Followers`) switches to the newest when a new one is sent, so quick clicks
never leave two streams writing one results panel.
"""

from __future__ import annotations

import logging
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from webui.api.errors import InvalidRequestError
from webui.core.delivery import DeliveryMode
from webui.core.engine import PollPolicy, PreviewSchedule, TaskEngine
from webui.core.events import TaskEvent
from webui.core.limits import BoundedMap, Limiter, RateLimited, Scope, Ticket
from webui.core.scripts.plots import is_plot, save_plot
from webui.core.store import BatchRecord, TaskRecord, TaskStore
from webui.messages import Msg

log = logging.getLogger(__name__)

TYPICAL_SECONDS = 20.0  # a task's length before the visitor has finished any
MAX_BATCH_TASKS = 256  # tasks one Generate may plan (a plot's cells, a prompts file's lines)
MAX_STOPPED = 500  # tasks a visitor stopped following, remembered per visitor
DAY = 86_400.0


@dataclass(frozen=True)
class PlannedTask:
    """One task of a plan. `make` builds its request (it may decode and host an upload, so it
    runs only once the task has a place); `images` is what it asks for (n_iter x batch_size);
    `meta` goes into the task's record (a script's cell, the prompt template)."""

    make: Callable[[], Any]
    images: int = 1
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    tab: str
    tasks: tuple[PlannedTask, ...]
    script: str = ""  # the script's name, "" for a plain Generate or Run
    layout: dict[str, Any] = field(default_factory=dict)  # what the script draws with
    whole: bool = True  # a fan-out goes whole or not at all; a tool's batch may go in part

    @property
    def images(self) -> int:
        return sum(task.images for task in self.tasks)


@dataclass(frozen=True)
class Bill:
    """What a plan will cost, shown before it is sent."""

    tasks: int
    images: int
    calls: int  # estimated billed calls: submits, status queries and live previews
    polling: bool  # status queries are billed per query (no callback URL)
    previews: int  # of `calls`, the live previews

    @property
    def summary(self) -> Msg:
        """What the plan costs, to render in the visitor's language: in English, "4 tasks, 16
        images, about 4 billed calls (polling: each status query is billed)"."""
        counts = Msg("bill.counts", tasks=counted(self.tasks, "task"),
                     images=counted(self.images, "image"),
                     calls=counted(self.calls, "billed_call"))
        notes: list[Msg] = []
        if self.polling:
            notes.append(Msg("bill.note.polling"))
        if self.previews:
            notes.append(Msg("bill.note.previews", previews=self.previews))
        return Msg("bill.with_notes", bill=counts, notes=notes) if notes else counts

    def describe(self) -> str:
        """The summary in English."""
        return str(self.summary)

    def needs_confirmation(self, max_images: int, max_calls: int) -> bool:
        """Above the visitor's thresholds. Live previews do not count: they are only made
        while somebody watches, and stop when the day's budget runs low."""
        return self.images > max_images or self.calls - self.previews > max_calls


# "1 task", "2 tasks": a key for one and a key for any other count (English has a plural;
# Chinese words both alike). The keys stand in `Msg(...)` here so that extraction finds them.
COUNTED: dict[str, tuple[Msg, Msg]] = {
    "task": (Msg("count.task_one"), Msg("count.task_many")),
    "image": (Msg("count.image_one"), Msg("count.image_many")),
    "billed_call": (Msg("count.billed_call_one"), Msg("count.billed_call_many")),
}


def counted(count: int, noun: str) -> Msg:
    """`count` of `noun` (a key of COUNTED), worded for that count."""
    one, many = COUNTED[noun]
    return Msg((one if count == 1 else many).key, count=count)


@dataclass
class Submitted:
    """What `submit` sent: the batch (None when nothing went), and why the rest did not."""

    batch: BatchRecord | None
    refused: RateLimited | None = None  # places ran out after the first
    invalid: InvalidRequestError | None = None  # a request was refused when made
    not_sent: int = 0


@dataclass(frozen=True)
class BatchProgress:
    """A batch after one change: each task's latest snapshot (in the batch's order)."""

    batch: BatchRecord
    events: dict[str, TaskEvent]
    changed: TaskEvent | None  # the snapshot that just came (None: the first look)
    stopped: frozenset[str] = frozenset()  # tasks the visitor stopped following

    @property
    def total(self) -> int:
        return len(self.batch.task_ids)

    @property
    def finished(self) -> list[TaskEvent]:
        return [e for e in self.events.values() if e.final]

    @property
    def failed(self) -> list[TaskEvent]:
        return [e for e in self.events.values() if e.final and e.error]

    @property
    def done(self) -> bool:
        # a task deleted meanwhile (from History) has no snapshot: nothing to wait for
        return all(i in self.stopped or i not in self.events or self.events[i].final
                   for i in self.batch.task_ids)

    @property
    def progress(self) -> float:
        """0..1 over the batch: a finished task counts whole, a running one by its percent."""
        if not self.batch.task_ids:
            return 1.0
        parts = [1.0 if e.final else (e.progress or 0.0) for e in self.events.values()]
        return sum(parts) / self.total

    @property
    def billed_calls(self) -> int:
        return sum(e.billed_calls for e in self.events.values())


class Followers:
    """Which batch each visitor's tab shows (their newest), and the one follower per page and
    tab that shows it (the latest started: an earlier one ends)."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._lock = threading.Lock()
        self._newest: BoundedMap[tuple[str, str], str] = BoundedMap(capacity, DAY,
                                                                    time.monotonic)
        self._active: dict[tuple[str, str], object] = {}  # bounded by Gradio's sessions

    def sent(self, owner: str, tab: str, batch_id: str) -> None:
        with self._lock:
            self._newest.pop((owner, tab))
            self._newest.get((owner, tab), lambda: batch_id)

    def newest(self, owner: str, tab: str) -> str | None:
        with self._lock:
            return self._newest.peek((owner, tab))

    def start(self, page: str, tab: str, *, take_over: bool = True) -> object | None:
        """A token for a new follower of the page's `tab`. `take_over`: it replaces the
        current one (which sees `current` go false and ends; a follower whose event was
        cancelled never keeps the place from a click); else None when one is at work."""
        with self._lock:
            if not take_over and (page, tab) in self._active:
                return None
            token = self._active[(page, tab)] = object()
            return token

    def current(self, page: str, tab: str, token: object) -> bool:
        with self._lock:
            return self._active.get((page, tab)) is token

    def finish(self, page: str, tab: str, token: object, owner: str, shown: str) -> bool:
        """The follower is done showing batch `shown`: True (and it is released) unless a newer
        batch was sent meanwhile, which it should show next."""
        with self._lock:
            if self._active.get((page, tab)) is not token:
                return True
            if self._newest.peek((owner, tab)) not in (None, shown):
                return False
            del self._active[(page, tab)]
            return True

    def release(self, page: str, tab: str, token: object) -> None:
        with self._lock:
            if self._active.get((page, tab)) is token:
                del self._active[(page, tab)]


class SubmissionService:
    """Sends plans for visitors. The callables say, for a visitor, their owner key (whose
    tasks they see), their own client (None: the operator's key), whether their calls count
    against the operator's budgets, and their network address."""

    def __init__(self, engine: TaskEngine, store: TaskStore, limiter: Limiter, *,
                 owner: Callable[[str], str], own_client: Callable[[str], Any],
                 metered: Callable[[str], bool], address: Callable[[str], str]) -> None:
        self.engine, self.store, self.limiter = engine, store, limiter
        self._owner, self._own_client = owner, own_client
        self._metered, self._address = metered, address
        self.followers = Followers()
        self._stopped: BoundedMap[str, set[str]] = BoundedMap(20_000, DAY, time.monotonic)
        self._stopped_lock = threading.Lock()

    # --- the bill ---------------------------------------------------------------------------

    def typical_seconds(self, owner: str) -> float:
        """How long the visitor's tasks take (the median of their last 20 finished ones)."""
        took = [r.finished_at - r.created_at for r in self.store.list(owner, limit=20)
                if r.finished_at and r.state.is_terminal and not r.error]
        if took:
            return statistics.median(took)
        # as fast as the engine's policy is scaled (a test's offline backend runs faster)
        return TYPICAL_SECONDS * self.engine.policy.idle_first / PollPolicy().idle_first

    def estimate(self, visitor: str, plan: Plan, previews: PreviewSchedule | None = None
                 ) -> Bill:
        """Tasks, images and billed calls of `plan`. A callback-mode task is one call (the
        submit) plus a safety poll when it runs past the policy's first one; polling adds
        the status queries of the back-off schedule; `previews` (a single task watched
        with live previews) adds one status query per preview."""
        seconds = self.typical_seconds(self._owner(visitor))
        policy = self.engine.policy
        polling = self.engine.mode != DeliveryMode.CALLBACK
        per_task = 1 + (_polls(policy, seconds) if polling else
                        int(seconds >= policy.safety_first))
        shown = len(previews.times(seconds)) if previews and len(plan.tasks) == 1 else 0
        count = len(plan.tasks)
        return Bill(tasks=count, images=plan.images, calls=count * per_task + shown,
                    polling=polling, previews=shown)

    # --- sending ----------------------------------------------------------------------------

    def reserve(self, visitor: str, count: int, *, whole: bool = False
                ) -> tuple[list[Ticket], RateLimited | None]:
        """Places for up to `count` tasks, before anything is decoded or hosted. `whole`: all
        of them or none (a fan-out); else as many as allowed, and why the rest were refused.
        Raises RateLimited when not even one (or, `whole`, not all) is allowed."""
        tickets: list[Ticket] = []
        address, metered = self._address(visitor), self._metered(visitor)
        if whole and metered and count > 1:
            left = self.limiter.calls_left(visitor, address)
            if left is not None and left < count:
                raise RateLimited(Msg("limits.calls_for_tasks", count=count, left=left),
                                  scope=Scope.VISITOR)
        for _ in range(count):
            try:
                tickets.append(self.limiter.admit_task(visitor, address, metered=metered))
            except RateLimited as limited:
                if not tickets or whole:
                    for ticket in tickets:
                        ticket.release()
                    if whole and count > 1:
                        raise RateLimited(Msg("limits.tasks_at_once", count=count,
                                              reason=limited.msg or str(limited)),
                                          scope=limited.scope,
                                          retry_after=limited.retry_after) from None
                    raise
                return tickets, limited
        return tickets, None

    def submit(self, visitor: str, plan: Plan) -> Submitted:
        """Send `plan` for `visitor`. Raises RateLimited (nothing sent) and, when the first
        request is refused as it is made, InvalidRequestError (nothing sent)."""
        if not plan.tasks:
            return Submitted(None)
        if len(plan.tasks) > MAX_BATCH_TASKS:
            raise RateLimited(Msg("limits.batch_tasks", count=len(plan.tasks),
                                  limit=MAX_BATCH_TASKS), scope=Scope.VISITOR)
        tickets, refused = self.reserve(visitor, len(plan.tasks), whole=plan.whole)
        owner = self._owner(visitor)
        client = self._own_client(visitor)
        batch_id = "b" + secrets.token_hex(12)
        sent: list[str] = []
        invalid: InvalidRequestError | None = None
        for number, (planned, ticket) in enumerate(zip(plan.tasks, tickets, strict=False)):
            try:
                request = planned.make()
                handle = self.engine.submit(request, owner=owner, client=client,
                                            charge=ticket.charge,
                                            meta={**planned.meta, "batch": batch_id})
            except InvalidRequestError as error:
                for unused in tickets[number:]:
                    unused.release()
                if not sent:
                    raise
                invalid, refused = error, None
                break
            except BaseException:
                for unused in tickets[number:]:
                    unused.release()
                if sent:  # the tasks already sent run and are billed: the tab must find them
                    self._record(owner, batch_id, plan, sent)
                raise
            ticket.bind(handle.task_id)
            sent.append(handle.task_id)
        batch = self._record(owner, batch_id, plan, sent)
        if is_plot(batch):
            threading.Thread(target=self._keep_plot, args=(batch,), daemon=True,
                             name=f"plot-{batch_id}").start()
        return Submitted(batch, refused=refused, invalid=invalid,
                         not_sent=len(plan.tasks) - len(sent))

    def _keep_plot(self, batch: BatchRecord) -> None:
        """Save the plot's grid once its last cell ends, whoever watches (a page may have
        moved on to a newer Generate, or closed)."""
        try:
            for _ in self.engine.watch(list(batch.task_ids), batch.owner, heartbeat=5.0):
                pass
            save_plot(self.store, batch)
        except Exception:  # a plot not drawn must not take anything else down
            log.exception("plot %s could not be saved", batch.id)

    def _record(self, owner: str, batch_id: str, plan: Plan, sent: list[str]) -> BatchRecord:
        batch = self.store.create_batch(BatchRecord(
            id=batch_id, owner=owner, tab=plan.tab, task_ids=tuple(sent), script=plan.script,
            layout=plan.layout))
        self.followers.sent(owner, plan.tab, batch_id)
        return batch

    # --- following --------------------------------------------------------------------------

    def batch(self, visitor: str, key: str) -> BatchRecord | None:
        """A batch of the visitor by id; also a task id or comma-separated ids (kept by pages
        of earlier versions), as a batch of those tasks of theirs."""
        owner = self._owner(visitor)
        if not isinstance(key, str) or not 0 < len(key) <= 20_000:
            return None
        found = self.store.get_batch(key, owner)
        if found is not None:
            return found
        ids = tuple(i for i in key.split(",")[:MAX_BATCH_TASKS]
                    if i and self.store.get(i, owner) is not None)
        return BatchRecord(id=key, owner=owner, tab="", task_ids=ids) if ids else None

    def follow(self, visitor: str, batch: BatchRecord, *, previews: Any = None,
               stop: Callable[[], bool] | None = None, heartbeat: float = 0.5
               ) -> Iterator[BatchProgress]:
        """The batch's progress: a first look, then one per change, until every task is final
        or stopped following (or `stop()`)."""
        owner = self._owner(visitor)
        events: dict[str, TaskEvent] = {}
        for task_id in batch.task_ids:
            record = self.store.get(task_id, owner)
            if record is not None:
                events[task_id] = TaskEvent.from_record(self.store.local(record))
        stopped = self.stopped(owner) & set(batch.task_ids)
        yield BatchProgress(batch, dict(events), None, frozenset(stopped))
        watched = [i for i in events if not events[i].final and i not in stopped]
        while watched:
            halt = _Halt(self, owner, set(watched), set(stopped), stop)
            for event in self.engine.watch(watched, owner, preview_interval=previews,
                                           heartbeat=heartbeat, stop=halt):
                events[event.task_id] = event
                yield BatchProgress(batch, dict(events), event, frozenset(stopped))
            if not halt.newly_stopped:
                return
            stopped = self.stopped(owner) & set(batch.task_ids)
            yield BatchProgress(batch, dict(events), None, frozenset(stopped))
            watched = [i for i in watched if not events[i].final and i not in stopped]

    # --- stop following ---------------------------------------------------------------------

    def stop_following(self, visitor: str, task_id: Any) -> bool:
        """The visitor no longer watches this task of theirs (the service has no cancel: it
        finishes and lands in History). False for anything not theirs."""
        owner = self._owner(visitor)
        if not isinstance(task_id, str) or len(task_id) > 100:
            return False
        record = self.store.get(task_id, owner)
        if record is None or record.is_final:
            return False
        with self._stopped_lock:
            stopped = self._stopped.get(owner, set)
            assert stopped is not None
            if len(stopped) >= MAX_STOPPED:
                stopped.intersection_update({i for i in stopped if not self._is_final(i, owner)})
            stopped.add(task_id)
        self.engine.bell.ring(task_id, owner)
        return True

    def _is_final(self, task_id: str, owner: str) -> bool:
        record = self.store.get(task_id, owner)
        return record is None or record.is_final

    def stopped(self, owner: str) -> set[str]:
        with self._stopped_lock:
            return set(self._stopped.peek(owner) or ())

    def queue(self, visitor: str) -> list[TaskRecord]:
        """The visitor's unfinished tasks they still follow, oldest first."""
        owner = self._owner(visitor)
        stopped = self.stopped(owner)
        return [r for r in self.store.active(owner) if r.id not in stopped]


@dataclass
class _Halt:
    """`TaskEngine.watch`'s stop: the caller's, or a task of the batch newly stopped."""

    service: SubmissionService
    owner: str
    watched: set[str]
    stopped: set[str]
    stop: Callable[[], bool] | None
    newly_stopped: bool = False

    def __call__(self) -> bool:
        self.newly_stopped = bool((self.service.stopped(self.owner) & self.watched)
                                  - self.stopped)
        return self.newly_stopped or (self.stop is not None and self.stop())


def _polls(policy: PollPolicy, seconds: float) -> int:
    """Status queries of the idle back-off until a task of `seconds` is seen final."""
    count, at, gap = 0, 0.0, policy.idle_first
    while True:  # the last query is the first at or after the end
        at += gap
        count += 1
        if at >= seconds or count > 10_000:
            return count
        gap = min(policy.idle_cap, gap * policy.idle_growth)
