"""The task engine: submit a request, follow the task to a final state, store it, have its
images saved (`core/collect.py`), and tell watchers about each change.

One follower thread per unfinished task. It learns the result from the service's callback when
the app has a public URL (then it polls only as a safety net, or at the live-preview interval
while a watcher wants previews), else by polling with adaptive back-off. Every submit and
status query is a billed call and is counted on the task's row.

Nothing is lost: the row is written before the submit, a submit whose answer was lost is
retried under the same task id (the service treats it as the same task), and on start
`resume()` picks up every unfinished row. Callbacks are received by `core/callbacks.py`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

from webui.api import models as m
from webui.api.client import ZhiqiteClient
from webui.api.endpoints import ENDPOINTS, CallKind, TaskKind
from webui.api.errors import ServiceError, ZhiqiteError
from webui.api.models import TaskState
from webui.core.callbacks import CallbackOutcome
from webui.core.collect import NotYet, ResultCollector, TaskResults
from webui.core.delivery import DeliveryMode
from webui.core.events import Channel, Doorbell, TaskEvent, decode_preview, queue_position
from webui.core.keys import Keys
from webui.core.outputs import Downloader, OutputWriter
from webui.core.store import StoredImage, TaskRecord, TaskStore
from webui.messages import Msg

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/zhiqite/callback"
NO_CANCEL = Msg("task.no_cancel")  # "The API has no cancel: the task keeps running ..."
PREVIEW_DEFAULT: Any = object()  # "the policy's preview interval"


@dataclass(frozen=True)
class PreviewSchedule:
    """When a watcher wants live previews: the first after `first` seconds, each later gap
    `growth` times the one before, never more than `cap`. Every preview is a billed status
    query, so by default watching costs about log2 of the task's length, not its length:
    2 s, 4 s, 8 s, 16 s, 16 s ... (3 previews in a 20 s task, 5 in a minute)."""

    first: float = 2.0
    growth: float = 2.0
    cap: float = 16.0

    @classmethod
    def steady(cls, interval: float) -> PreviewSchedule:
        """One every `interval` seconds (what a visitor asks for while their tab is shown)."""
        return cls(interval, 1.0, interval)

    def gap(self, previews_so_far: int) -> float:
        """Seconds from the last status query to the next preview."""
        return min(self.cap, self.first * self.growth ** min(previews_so_far, 64))

    def times(self, seconds: float) -> list[float]:
        """When previews come in a task of `seconds` (for the cost shown in Settings)."""
        out, at = [], 0.0
        while True:
            at += self.gap(len(out))
            if at >= seconds:
                return out
            out.append(at)

    def scaled(self, factor: float) -> PreviewSchedule:
        return replace(self, first=self.first * factor, cap=self.cap * factor)


SPACED = PreviewSchedule()
# A watcher's schedule, or a function giving the current one (it may change while watching,
# e.g. faster only while the visitor's tab is visible); None: no previews.
PreviewSource = PreviewSchedule | Callable[[], "PreviewSchedule | None"] | None


def as_source(preview: PreviewSource | float) -> Callable[[], PreviewSchedule | None]:
    """A number is a steady interval in seconds (0 or None: no previews)."""
    if callable(preview) and not isinstance(preview, PreviewSchedule):
        return preview
    if isinstance(preview, int | float) and not isinstance(preview, bool):
        schedule = PreviewSchedule.steady(float(preview)) if preview > 0 else None
    else:
        schedule = preview if isinstance(preview, PreviewSchedule) else None
    return lambda: schedule


@dataclass(frozen=True)
class PollPolicy:
    """Seconds. Status queries are billed, so the engine asks only as often as someone needs."""

    preview: PreviewSchedule | None = SPACED  # while a watcher wants live previews (None: off)
    idle_first: float = 2.0  # polling mode, nobody wants previews: 2 s, 3 s, 4.5 s, ... 30 s
    idle_growth: float = 1.5
    idle_cap: float = 30.0
    # Callback mode: a poll in case the callback is lost. The service itself re-sends a failed
    # callback after 3, 5, 15, 30 and 60 s; a first look at 60 s billed a second call for
    # every task of a minute or more (benchmarks/tasks.py), so 2 min.
    safety_first: float = 120.0
    safety_growth: float = 2.0
    safety_cap: float = 600.0
    resubmit_delay: float = 5.0  # a submit that got no answer is sent again (same task id)
    deadline: float = 3600.0  # from submit to giving up on a final status
    # a replica's hold on the tasks it follows (renewed at a third of it): when it dies,
    # another replica takes them over after this (`TaskEngine.resume`)
    lease: float = 60.0
    # a visitor watching from a replica that does not follow the task asks the follower for
    # live previews; one ask holds this long (asked again at a third of it while watching)
    remote_previews: float = 10.0

    def scaled(self, factor: float) -> PollPolicy:
        """Every duration times `factor` (tests run a fast offline backend)."""
        changes = {f.name: getattr(self, f.name) * factor for f in fields(self)
                   if f.name not in ("idle_growth", "safety_growth", "preview")
                   and getattr(self, f.name) is not None}
        preview = self.preview.scaled(factor) if self.preview else None
        return replace(self, **changes, preview=preview)


class _Live:
    """A task followed by this process: its lock, wake-up, watchers and latest snapshot."""

    def __init__(self, record: TaskRecord, request: Any, mode: DeliveryMode, deadline: float,
                 policy: PollPolicy, now: float, bell: Doorbell,
                 announce: Callable[[str, str], None] | None = None) -> None:
        self.id, self.kind, self.owner = record.id, record.kind, record.owner
        self.request = request
        self.mode = mode
        self.deadline = deadline
        self.submitted = record.submitted
        self.resumed = record.resumed > 0
        self.billed = record.billed_calls
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.channel = Channel(TaskEvent.from_record(record))
        self.bell = bell
        self.announce = announce  # to the other replicas (a shared store), or None
        self.watchers: dict[int, Callable[[], PreviewSchedule | None]] = {}
        self.previews = 0  # status queries made for watchers (their gaps grow with it)
        self.last_poll = now
        self.next_submit_at = now
        self.idle_delay = policy.idle_first
        self.safety_delay = policy.safety_first
        self.results = TaskResults(record.kind, request)  # images saved or fetched so far
        self.final = record.is_final
        self.unknown_answers = 0
        self.resent_unknown = False
        self.thread: threading.Thread | None = None
        self.own_key = record.own_key
        self.client: ZhiqiteClient | None = None  # the visitor's own, when own_key
        self.charge: Callable[[], None] | None = None  # the submitter's budgets, per call
        self.remote_until = 0.0  # a watcher on another replica wants previews until then

    def publish(self, event: TaskEvent) -> None:
        """A new snapshot for the task's watchers, and a ring for batch and queue watchers."""
        self.channel.publish(event)
        self.bell.ring(self.id, self.owner)
        if self.announce is not None:
            self.announce(self.id, self.owner)

    @property
    def followed(self) -> bool:
        """This replica follows the task (its thread runs); otherwise it is only watched
        here, followed elsewhere or by nobody yet."""
        return self.thread is not None and self.thread.is_alive()

    @property
    def tool_code(self) -> str | None:
        return ENDPOINTS[self.kind].tool_code

    def preview_gap(self) -> float | None:
        """Seconds until the next preview the watchers want (the most eager one), or None."""
        wanted = [schedule.gap(self.previews) for source in list(self.watchers.values())
                  if (schedule := source()) is not None]
        return min(wanted) if wanted else None


_REMOTE_WATCHER = -1  # `_Live.watchers` key of the watchers on other replicas


def said(exc: BaseException) -> Msg | str:
    """What an error says: its message when it carries one (ours, or the API layer's words
    for a service refusal), else its text (the service's words, as it gave them)."""
    carried = getattr(exc, "msg", None)
    return carried if isinstance(carried, Msg) else str(exc)


def kind_of(request: Any) -> TaskKind:
    for endpoint in ENDPOINTS.values():
        if endpoint.kind == CallKind.SUBMIT and type(request) is endpoint.request:
            return TaskKind(endpoint.name)
    raise TypeError(f"{type(request).__name__} is not a submit request")


class TaskEngine:
    def __init__(self, client: ZhiqiteClient, store: TaskStore, writer: OutputWriter,
                 keys: Keys, *, public_url: str | None = None,
                 policy: PollPolicy | None = None, downloader: Downloader | None = None,
                 clock: Callable[[], float] = time.time,
                 model_hash: Callable[[str], str | None] | None = None,
                 holder: str | None = None) -> None:
        self.client, self.store, self.keys = client, store, keys
        self.public_url = public_url.rstrip("/") if public_url else None
        self.policy = policy or PollPolicy()
        self.collector = ResultCollector(writer, downloader or Downloader(),
                                         model_hash or (lambda checkpoint: None))
        self.clock = clock
        self._live: dict[str, _Live] = {}
        self._registry_lock = threading.Lock()
        self._stopping = threading.Event()
        self.bell = Doorbell()  # rung with a task's id and its owner at each of its changes
        # this replica, as the store's leases name it: a restart of the same replica takes
        # its tasks back at once, another waits for their leases to end
        self.holder = holder or secrets.token_hex(8)
        self._announce: Callable[[str, str], None] | None = None  # see `listen`
        self._adopting = threading.Lock()  # a submit's new row vs. a resume's sweep

    @property
    def mode(self) -> DeliveryMode:
        return DeliveryMode.CALLBACK if self.public_url else DeliveryMode.POLL

    # --- submitting -------------------------------------------------------------------------

    def submit(self, request: Any, *, owner: str, mode: DeliveryMode | None = None,
               client: ZhiqiteClient | None = None,
               charge: Callable[[], None] | None = None,
               meta: dict[str, Any] | None = None) -> TaskHandle:
        """Store the task, then send it in the background. Returns at once. The request is a
        validated model (see `webui.api.validation.parse_request`). `client`: a visitor's own
        API key; it is held in memory only, so after a restart such a task waits for its
        callback, or for its owner to come back with the key (`events(client=...)`).
        `charge`: called for each billed call of the task (the submitter's budgets)."""
        mode = DeliveryMode(mode) if mode else self.mode
        if mode == DeliveryMode.CALLBACK and not self.public_url:
            raise ValueError("callback mode needs a public URL (ZHIQITE_PUBLIC_URL)")
        kind = kind_of(request)
        wire = request.to_wire()
        wire.pop("callbackUrl", None)  # holds the per-task token: derived again, never stored
        own_key = client is not None and client is not self.client
        record = TaskRecord(id=request.task_id, kind=kind, owner=owner, request=wire,
                            mode=mode, state=TaskState.QUEUED, created_at=self.clock(),
                            own_key=own_key, meta=dict(meta or {}))
        if self.store.get(request.task_id) is not None:
            raise ValueError(f"task id {request.task_id} is already used")
        with self._adopting:
            record = self.store.create(record, holder=self.holder, lease=self.policy.lease)
            live = self._adopt(record)
        live.client = client if own_key else None
        live.charge = charge
        self._start(live, leased=True)
        self.bell.ring(record.id, owner)  # a new task in the owner's queue
        return TaskHandle(self, record.id, owner)

    def callback_url(self, task_id: str) -> str:
        return (f"{self.public_url}{CALLBACK_PATH}/{task_id}"
                f"?token={self.keys.callback_token(task_id)}")

    def _wire_request(self, live: _Live) -> Any:
        url = (self.callback_url(live.id)
               if live.mode == DeliveryMode.CALLBACK and self.public_url else None)
        return live.request.with_callback_url(url)

    def _adopt(self, record: TaskRecord) -> _Live:
        with self._registry_lock:
            live = self._live.get(record.id)
            if live is None:
                # read again: it may have finished (and left `_live`) since the caller read it
                record = self.store.get(record.id) or record
                request = ENDPOINTS[record.kind].request.model_validate(record.request)
                mode = DeliveryMode(record.mode) if self.public_url else DeliveryMode.POLL
                live = _Live(record, request, mode, record.created_at + self.policy.deadline,
                             self.policy, self.clock(), self.bell, self._announce)
                self._live[record.id] = live
            return live

    def _start(self, live: _Live, *, leased: bool = False) -> None:
        """Follow the task in a thread of its own, unless it is followed already, here or (its
        lease held by another replica) elsewhere. `leased`: this replica holds it already."""
        with self._registry_lock:
            if live.final or live.followed:
                return
            if not leased and not self.store.acquire(live.id, self.holder, self.policy.lease):
                return  # another replica follows it; `sweep` takes it if that one dies
            live.thread = threading.Thread(target=self._follow, args=(live,), daemon=True,
                                           name=f"task-{live.id}")
            live.thread.start()

    def resume(self) -> int:
        """Follow again every unfinished task of the store that no other replica follows
        (after a restart or a crash; `sweep` calls it now and then for a replica that
        died)."""
        count = 0
        for record in self.store.unfinished():
            with self._adopting:
                known = self._live.get(record.id)  # followed here, or only watched here
                if (known is not None and (known.final or known.followed)) \
                        or self._stopping.is_set() \
                        or not self.store.acquire(record.id, self.holder, self.policy.lease):
                    continue
                record = self.store.update(record.id, resumed=record.resumed + 1)
                live = self._adopt(record)
            live.resumed = True
            live.last_poll = float("-inf")  # we were away: ask at once, a callback may be lost
            self._start(live, leased=True)
            count += 1
        if count:
            log.info("resumed %d unfinished task(s)", count)
        return count

    def listen(self) -> bool:
        """With a store shared by several replicas (PostgreSQL): announce each change of a
        task to the others, and hear theirs: a task followed by another replica (its callback
        reached that one) shows its progress and its end to the visitors watching from here,
        and a task that another replica finished stops being followed here. False: the store
        is this process's own (SQLite), there is nobody to tell."""
        if not self.store.serves_replicas:
            return False

        def told(task_id: str, owner: str) -> None:
            try:
                self.store.announce(task_id, owner, self.holder)
            except Exception:  # the others learn it at their next look at the store
                log.warning("could not announce a change of task %s", task_id, exc_info=True)

        self._announce = told
        self.store.listen(self.holder, self._heard)
        return True

    def _heard(self, task_id: str, owner: str) -> None:
        """Another replica changed the task's row (or asked for its previews)."""
        live = self._live.get(task_id)
        if live is not None and not live.final:
            self._changed_elsewhere(live)
        self.bell.ring(task_id, owner)  # the owner's queue strip reads the store again

    def _changed_elsewhere(self, live: _Live) -> None:
        record = self.store.get(live.id)
        if record is None:
            return
        if live.followed and not record.is_final:  # this replica's own news: an ask only
            self._asked_for_previews(live)
            return
        if record.is_final:  # a callback that reached another replica: the results as files
            event = TaskEvent.from_record(self.store.local(record))  # of this replica
        else:  # followed elsewhere: its progress, and its preview when one was asked for
            event = TaskEvent.from_record(record)
            if live.watchers:
                event = replace(event, preview=self.store.preview(live.id))
        with live.lock:
            if live.final:  # finished here meanwhile
                return
            live.channel.publish(event)
            if record.is_final:
                live.final = True
                live.wake.set()
        if record.is_final:
            with self._registry_lock:
                if self._live.get(live.id) is live:
                    del self._live[live.id]

    def _asked_for_previews(self, live: _Live) -> None:
        """A watcher on another replica may want this followed task's previews: polled for
        as for a watcher here (the policy's schedule) while its ask holds, each preview put
        in the store for that replica (`_apply`)."""
        until = self.store.previews_wanted_until(live.id)
        if until is None or until <= live.remote_until:
            return
        live.remote_until = until
        live.watchers[_REMOTE_WATCHER] = lambda: self.policy.preview \
            if self.clock() < live.remote_until else None
        live.wake.set()

    def sweep(self, every: float | None = None) -> threading.Thread:
        """`resume` every `every` seconds (half the lease) in the background, until shutdown:
        the tasks of a replica that died are followed again once their leases end."""
        every = every if every is not None else self.policy.lease / 2

        def run() -> None:
            while not self._stopping.wait(every):
                try:
                    self.resume()
                except Exception:  # the database away a moment: the next sweep tries again
                    log.warning("the sweep for unfollowed tasks failed", exc_info=True)

        thread = threading.Thread(target=run, daemon=True, name="task-sweep")
        thread.start()
        return thread

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop following (tasks stay unfinished in the store, their leases let go: `resume`
        here or in another replica picks them up)."""
        self._stopping.set()
        for live in list(self._live.values()):
            live.wake.set()
        for live in list(self._live.values()):
            if live.thread:
                live.thread.join(timeout)
            if not live.final:
                try:
                    self.store.release(live.id, self.holder)
                except Exception:  # a store already gone: the lease ends on its own
                    log.warning("could not let go of task %s", live.id, exc_info=True)

    # --- following --------------------------------------------------------------------------

    def _follow(self, live: _Live) -> None:
        renew_at = self.clock() + self.policy.lease / 3
        try:
            while not live.final and not self._stopping.is_set():
                live.wake.clear()
                now = self.clock()
                if now >= live.deadline:
                    self._time_out(live)
                    return
                if now >= renew_at:
                    if not self.store.renew(live.id, self.holder, self.policy.lease):
                        self._let_go(live)  # this replica stalled past its lease: another
                        return              # follows the task now
                    renew_at = now + self.policy.lease / 3
                due = live.next_submit_at if not live.submitted else self._next_poll_at(live)
                if live.own_key and live.client is None:
                    due = live.deadline  # no key to ask with: a callback or its owner wakes it
                if now >= due:
                    self._submit(live) if not live.submitted else self._poll(live)
                    continue
                live.wake.wait(min(due, live.deadline, renew_at) - now)
        except Exception:  # a bug must not leave the task silently unfinished
            log.exception("following task %s failed", live.id)
            self._finish(live, TaskState.FAILED, error=Msg("task.reason.internal_error"),
                         keep_open=True)

    def _next_poll_at(self, live: _Live) -> float:
        gap = live.preview_gap()
        if gap:
            return live.last_poll + gap
        if live.mode == DeliveryMode.CALLBACK:
            return live.last_poll + live.safety_delay
        return live.last_poll + live.idle_delay

    def _meter(self, live: _Live) -> Callable[[str], None]:
        def count(endpoint: str) -> None:
            live.billed += 1
            self.store.add_billed(live.id)
            if live.charge is not None:
                live.charge()

        return count

    def _submit(self, live: _Live) -> None:
        try:
            answer = self._client(live).call(live.kind, self._wire_request(live),
                                             meter=self._meter(live))
        except ServiceError as exc:
            # Refused by the service: but if an earlier attempt of ours (lost answer, restart)
            # started it, the id is taken by that very task. Ask before calling it failed.
            if not self._found_submitted(live):
                self._finish(live, TaskState.FAILED, error=said(exc))
            return
        except ZhiqiteError as exc:
            if not exc.retryable:  # refused at the gateway (auth, quota, input): nothing started
                self._finish(live, TaskState.FAILED, error=said(exc))
                return
            if not self._found_submitted(live):
                live.next_submit_at = self.clock() + self.policy.resubmit_delay
                self._notice(live, Msg("task.notice.resubmitting", error=said(exc)))
            return
        self._mark_submitted(live)
        data = getattr(answer, "data", None)
        if live.tool_code and isinstance(data, m.ToolTaskInfo):
            self._apply(live, data)  # a tool's submit answer is already a status

    def _found_submitted(self, live: _Live) -> bool:
        try:
            info = self._query(live)
        except ZhiqiteError:
            return False
        if info is None or info.status is None:
            return False
        self._mark_submitted(live)
        self._apply(live, info)
        return True

    def _mark_submitted(self, live: _Live) -> None:
        if not live.submitted:
            live.submitted = True
            live.last_poll = self.clock()
            self.store.update(live.id, submitted=True)

    def _client(self, live: _Live) -> ZhiqiteClient:
        return live.client or self.client

    def _query(self, live: _Live) -> Any:
        meter = self._meter(live)
        client = self._client(live)
        if live.tool_code:
            return client.query_tool_task(live.tool_code, live.id, meter=meter).data
        return client.query_task(live.id, meter=meter).data

    def _poll(self, live: _Live) -> None:
        previewing = live.preview_gap() is not None
        if previewing:
            live.previews += 1
        try:
            info = self._query(live)
            live.unknown_answers = 0
        except ServiceError as exc:
            info = None
            self._unknown_to_service(live, exc)
        except ZhiqiteError as exc:
            info = None
            self._notice(live, Msg("task.notice.query_failed", error=said(exc)))
        live.last_poll = self.clock()
        if not previewing:
            if live.mode == DeliveryMode.CALLBACK:
                live.safety_delay = min(self.policy.safety_cap,
                                        live.safety_delay * self.policy.safety_growth)
            else:
                live.idle_delay = min(self.policy.idle_cap,
                                      live.idle_delay * self.policy.idle_growth)
        if info is not None:
            self._apply(live, info)

    def _unknown_to_service(self, live: _Live, exc: ServiceError) -> None:
        """The service says it has no such task: a backend that lost its tasks (the embedded
        offline backend restarts with the app). After three such answers (one for a task
        resumed after a restart), send the stored request again under the same id, once: a
        service that does know the id refuses it, and then the task fails with that answer
        instead of waiting for the deadline."""
        live.unknown_answers += 1
        self._notice(live, Msg("task.notice.query_refused", error=said(exc)))
        patience = 1 if live.resumed else 3  # after a restart, a backend may have lost it
        if live.unknown_answers >= patience and not live.resent_unknown:
            live.resent_unknown = True
            live.submitted = False
            live.next_submit_at = self.clock()

    # --- applying a status ------------------------------------------------------------------

    def _state_of(self, live: _Live, info: Any) -> TaskState:
        return self.collector.state_of(live.results, info)

    def _apply(self, live: _Live, info: Any) -> bool:
        """Apply a status (from a poll, a submit answer or a callback). True once final."""
        state = self._state_of(live, info)
        if state.is_terminal:
            return self._finalize(live, info, state)
        temporary = getattr(info, "temporaryImageDto", None)
        previous = live.channel.latest
        event = TaskEvent(
            task_id=live.id, state=state, billed_calls=live.billed, resumed=live.resumed,
            queue_position=queue_position(info.desc) if state == TaskState.QUEUED else None,
            progress=temporary.progress if temporary else previous.progress,
            job_no=temporary.jobNo if temporary else previous.job_no,
            job_count=temporary.jobCount if temporary else previous.job_count,
            preview=decode_preview(temporary.currentImage) if temporary else previous.preview,
        )
        with live.lock:
            if live.final:
                return True
            self.store.update(live.id, state=state, progress=event.progress,
                              job_no=event.job_no, job_count=event.job_count,
                              queue_position=event.queue_position)
            if temporary and event.preview and live.remote_until > self.clock():
                self.store.put_preview(live.id, event.preview)  # before the announcement
            live.publish(event)
        return False

    def _finalize(self, live: _Live, info: Any, state: TaskState) -> bool:
        with live.lock:
            record = self.store.get(live.id)
            if record is None:  # deleted by its owner meanwhile
                live.final = True
                return True
            if record.is_final and not record.timed_out:  # stored by another replica (its
                # callback went there): its watchers here may not have heard it yet
                live.channel.publish(TaskEvent.from_record(self.store.local(record)))
                live.final = True
                return True
            if state == TaskState.FAILED:
                said_by_service = (info.desc or "").strip()
                self._finish(live, TaskState.FAILED,
                             error=said_by_service or Msg("task.reason.service_failed"))
                return True
            try:
                images = self.collector.collect(live.results, info)
            except NotYet as exc:
                self._notice(live, Msg("task.notice.fetch_later", error=exc.msg))
                return False
            if not images:
                self._finish(live, TaskState.FAILED, error=Msg("task.reason.no_image"))
            elif all(image.error for image in images):
                self._finish(live, TaskState.FAILED, images=images,
                             error=Msg("task.reason.download_failed",
                                       detail=images[0].error_msg or images[0].error))
            else:
                self._finish(live, TaskState.SUCCEEDED, images=images)
            return True

    def _finish(self, live: _Live, state: TaskState, *, images: tuple[StoredImage, ...] = (),
                error: Msg | str | None = None, timed_out: bool = False,
                keep_open: bool = False) -> None:
        """Store the final state, then tell watchers. `error`: our own reason (a message, kept
        keyed beside its English) or the service's words. `keep_open`: tell watchers it failed
        but leave the row unfinished so that a restart tries again."""
        error_msg = error if isinstance(error, Msg) else None
        text = str(error) if error is not None else None
        with live.lock:
            changes: dict[str, Any] = {"images": images, "error": text, "error_msg": error_msg}
            if not keep_open:
                changes.update(state=state, finished_at=self.clock(), timed_out=timed_out,
                               submitted=live.submitted or state == TaskState.SUCCEEDED)
                if state == TaskState.SUCCEEDED:
                    changes["progress"] = 1.0
            try:
                record = self.store.update(live.id, **changes)
            except KeyError:  # deleted meanwhile
                record = None
            live.final = True
            event = TaskEvent.from_record(record) if record else TaskEvent(live.id, state)
            live.publish(replace(event, state=state, error=text, error_msg=error_msg,
                                 billed_calls=live.billed, resumed=live.resumed))
            live.wake.set()
        # Done: the store has it all. Watchers still hold `live`; nothing else keeps it (an
        # app that ran 100,000 tasks holds only the unfinished ones).
        live.results.probed.clear()
        if live.remote_until and not keep_open:
            try:
                self.store.drop_preview(live.id)
            except Exception:  # a row left: deleted with the task
                log.warning("the preview of task %s stays in the store", live.id,
                            exc_info=True)
        if not keep_open:
            with self._registry_lock:
                if self._live.get(live.id) is live:
                    del self._live[live.id]

    def _let_go(self, live: _Live) -> None:
        """Another replica took the task over (this one held it past its lease: a pause of the
        process, the database away): this one stops following it, nothing stored."""
        log.warning("task %s is followed by another app replica now", live.id)
        with self._registry_lock:
            if self._live.get(live.id) is live:
                del self._live[live.id]

    def _time_out(self, live: _Live) -> None:
        # one last look (the app may have been down when it finished), never with another key
        if live.submitted and not (live.own_key and live.client is None):
            self._poll(live)
            if live.final:
                return
        minutes = self.policy.deadline / 60
        self._finish(live, TaskState.FAILED, timed_out=True,
                     error=Msg("task.reason.timed_out", minutes=f"{minutes:g}"))

    def _notice(self, live: _Live, text: Msg) -> None:
        log.info("task %s: %s", live.id, text)
        live.publish(replace(live.channel.latest, notice=text, billed_calls=live.billed))

    # --- callbacks --------------------------------------------------------------------------

    def receive_final(self, record: TaskRecord, info: Any) -> CallbackOutcome:
        """A status the service sent for an unfinished task of the store (a callback, see
        `core/callbacks.py`): stored when final, once its images are saved."""
        live = self._adopt(record)
        if not self._state_of(live, info).is_terminal:
            return CallbackOutcome.NOT_FINAL
        if not self._apply(live, info):
            return CallbackOutcome.NOT_FETCHED
        return CallbackOutcome.STORED

    # --- watching ---------------------------------------------------------------------------

    def events(self, task_id: str, owner: str, *, preview_interval: Any = PREVIEW_DEFAULT,
               timeout: float | None = None, heartbeat: float = 0.5,
               client: ZhiqiteClient | None = None) -> Iterator[TaskEvent]:
        """The task's snapshots, newest first yielded at once, until the final one. While the
        generator is open the task counts as watched (previews on `preview_interval`: a
        PreviewSchedule, a function giving one, seconds for a steady pace, or None); closing
        it (Interrupt, page closed) stops nothing on the service (NO_CANCEL). `timeout`:
        raise TimeoutError when no final snapshot came by then (the task goes on)."""
        record = self.store.get(task_id, owner)
        if record is None:
            raise LookupError(f"no task {task_id} for this visitor")
        if record.is_final:
            yield TaskEvent.from_record(self.store.local(record), version=1)
            return
        live = self._adopt(record)
        if live.own_key and live.client is None and client is not None \
                and client is not self.client:
            live.client = client  # its owner is back with the key: follow it again
        self._start(live)  # a task found unfinished (e.g. before resume ran) is followed now
        source = as_source(self.policy.preview if preview_interval is PREVIEW_DEFAULT
                           else preview_interval)
        token = object()
        live.watchers[id(token)] = source
        live.wake.set()  # the poll schedule may have changed
        end = None if timeout is None else time.monotonic() + timeout
        ask_at = 0.0  # when to ask another replica that follows the task for its previews
        try:
            version = -1
            while not self._stopping.is_set():
                if self.store.serves_replicas and time.monotonic() >= ask_at:
                    ask_at = time.monotonic() + self._ask_for_previews(live, source)
                event = live.channel.wait_newer(version, heartbeat)
                if event is None:
                    if end is not None and time.monotonic() > end:
                        raise TimeoutError(f"task {task_id} still {live.channel.latest.state} "
                                           f"after {timeout} s; it goes on in the background")
                    continue
                version = event.version
                yield event
                if event.final:
                    return
        finally:
            live.watchers.pop(id(token), None)

    def _ask_for_previews(self, live: _Live, source: Callable[[], PreviewSchedule | None]
                          ) -> float:
        """A watcher here of a task another replica follows: ask that one for previews while
        the watcher wants them (`_asked_for_previews` there). Seconds until the next look."""
        if not (live.followed or live.final or source() is None):
            try:
                self.store.want_previews(live.id, self.clock() + self.policy.remote_previews)
                if self._announce is not None:
                    self._announce(live.id, live.owner)
            except Exception:  # the database away a moment: the watch goes on, asks again
                log.warning("could not ask for the previews of task %s", live.id,
                            exc_info=True)
        return self.policy.remote_previews / 3

    def watch(self, task_ids: list[str], owner: str, *, preview_interval: Any = None,
              heartbeat: float = 0.5, stop: Callable[[], bool] | None = None
              ) -> Iterator[TaskEvent]:
        """Snapshots of several tasks of `owner` as they change, in the order they come, until
        every one is final (or `stop()` says so, looked at every `heartbeat` seconds). Each
        task's current snapshot comes first. One wake-up for the whole batch (`Doorbell`),
        not a thread per task. Unknown or foreign ids are skipped. `preview_interval` as in
        `events` (None: no previews, the default for a batch: each is a billed call)."""
        ids = list(dict.fromkeys(task_ids))
        doorbell = self.bell.subscribe(ids)
        lives: dict[str, _Live] = {}
        seen: dict[str, int] = {}
        token = object()
        try:
            for task_id in ids:
                record = self.store.get(task_id, owner)
                if record is None:
                    continue
                if record.is_final:
                    yield TaskEvent.from_record(self.store.local(record), version=1)
                    continue
                live = lives[task_id] = self._adopt(record)
                self._start(live)
                if preview_interval is not None:
                    live.watchers[id(token)] = as_source(preview_interval)
                    live.wake.set()
            pending = set(lives)
            while pending and not self._stopping.is_set():
                doorbell.clear()
                for task_id in [i for i in ids if i in pending]:
                    event = lives[task_id].channel.latest
                    if event.version > seen.get(task_id, -1):
                        seen[task_id] = event.version
                        yield event
                        if event.final:
                            pending.discard(task_id)
                if not pending or (stop is not None and stop()):
                    return
                doorbell.wait(heartbeat)
        finally:
            self.bell.unsubscribe(ids, doorbell)
            for live in lives.values():
                live.watchers.pop(id(token), None)

    def wait(self, task_id: str, owner: str, timeout: float | None = None) -> TaskRecord:
        """Block until the task is final, without counting as a watcher (no previews)."""
        record = self.store.get(task_id, owner)
        if record is None:
            raise LookupError(f"no task {task_id} for this visitor")
        if not record.is_final:
            live = self._adopt(record)
            self._start(live)
            end = None if timeout is None else time.monotonic() + timeout
            version = -1
            while not live.final:
                event = live.channel.wait_newer(version, 0.5)
                if event is not None:
                    version = event.version
                if end is not None and time.monotonic() > end:
                    raise TimeoutError(f"task {task_id} still {live.channel.latest.state} "
                                       f"after {timeout} s")
        record = self.store.get(task_id, owner)
        if record is None:
            raise LookupError(f"task {task_id} was deleted")
        return record

    def reschedule(self, owner: str) -> None:
        """The owner's watchers may want previews at another pace now (their page was shown
        or hidden): each of their tasks works out its next query again."""
        for live in list(self._live.values()):
            if live.owner == owner and not live.final:
                live.wake.set()

    def latest(self, task_id: str) -> TaskEvent | None:
        """The newest snapshot of a task this process follows (its live preview included)."""
        live = self._live.get(task_id)
        return live.channel.latest if live is not None else None

    def is_following(self, task_id: str) -> bool:
        """The task is unfinished and this process follows it (counts as running)."""
        live = self._live.get(task_id)
        return live is not None and not live.final

    def handle(self, task_id: str, owner: str) -> TaskHandle | None:
        return TaskHandle(self, task_id, owner) if self.store.get(task_id, owner) else None

    def billed_calls(self, owner: str) -> int:
        """The cost meter of a visitor: submits and status queries over all their tasks."""
        return self.store.billed_total(owner)


@dataclass(frozen=True)
class TaskHandle:
    engine: TaskEngine
    task_id: str
    owner: str

    def events(self, preview_interval: Any = PREVIEW_DEFAULT) -> Iterator[TaskEvent]:
        return self.engine.events(self.task_id, self.owner, preview_interval=preview_interval)

    def record(self) -> TaskRecord:
        record = self.engine.store.get(self.task_id, self.owner)
        if record is None:
            raise LookupError(f"task {self.task_id} was deleted")
        return record

    def wait(self, timeout: float | None = None) -> TaskRecord:
        return self.engine.wait(self.task_id, self.owner, timeout)


