"""What the task engine tells its watchers: one immutable snapshot per change of a task."""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from PIL import Image

from webui.api.models import TaskState
from webui.core.store import StoredImage, TaskRecord
from webui.messages import Msg


@dataclass(frozen=True)
class TaskEvent:
    task_id: str
    state: TaskState
    version: int = 0
    queue_position: int | None = None
    progress: float | None = None  # 0..1
    job_no: int | None = None
    job_count: int | None = None
    preview: bytes | None = field(default=None, repr=False)  # the service's preview, decoded
    images: tuple[StoredImage, ...] = ()
    error: str | None = None  # in English (as stored); `reason` is what to show
    error_msg: Msg | None = None  # the same, keyed, when the reason is our own
    billed_calls: int = 0
    resumed: bool = False
    notice: Msg | str | None = None  # a passing problem (e.g. a status query failed; retrying)

    @property
    def final(self) -> bool:
        return self.state.is_terminal

    @property
    def kind(self) -> str:
        """queued, uploading, progress, succeeded or failed."""
        return "progress" if self.state == TaskState.GENERATING else str(self.state)

    def preview_image(self) -> Image.Image | None:
        if not self.preview:
            return None
        try:
            image = Image.open(io.BytesIO(self.preview))
            image.load()
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        return image

    @property
    def reason(self) -> Msg | str | None:
        """Why it failed: our own reason as a message, or the service's words as it gave them."""
        return self.error_msg or self.error

    @property
    def status(self) -> Msg:
        """The status line, to render in the visitor's language."""
        if self.state == TaskState.QUEUED:
            return Msg("task.status.queued_at", position=self.queue_position) \
                if self.queue_position else Msg("task.status.queued")
        if self.state == TaskState.UPLOADING:
            return Msg("task.status.uploading")
        if self.state == TaskState.GENERATING:
            return self._generating()
        if self.state == TaskState.SUCCEEDED:
            shown = sum(1 for image in self.images if image.shown)
            return Msg("task.status.done_one", count=shown) if shown == 1 \
                else Msg("task.status.done", count=shown)
        return Msg("task.status.failed", reason=self.reason or Msg("task.status.no_reason"))

    def _generating(self) -> Msg:
        batch = bool(self.job_count and self.job_count > 1 and self.job_no)
        if self.progress is None:
            return Msg("task.status.generating_batch", job=self.job_no, jobs=self.job_count) \
                if batch else Msg("task.status.generating")
        percent = f"{self.progress:.0%}".removesuffix("%")  # rounded as the line always was
        if batch:
            return Msg("task.status.generating_batch_percent", job=self.job_no,
                       jobs=self.job_count, percent=percent)
        return Msg("task.status.generating_percent", percent=percent)

    @property
    def status_line(self) -> str:
        """The status line in English (logs, the CLI)."""
        return str(self.status)

    @classmethod
    def from_record(cls, record: TaskRecord, version: int = 0) -> TaskEvent:
        return cls(task_id=record.id, state=record.state, version=version,
                   queue_position=record.queue_position, progress=record.progress,
                   job_no=record.job_no, job_count=record.job_count, images=record.images,
                   error=record.error, error_msg=record.error_msg,
                   billed_calls=record.billed_calls,
                   resumed=record.resumed > 0)


def decode_preview(data: str | None) -> bytes | None:
    """`currentImage` is base64, sometimes as a data: URL."""
    if not data:
        return None
    text = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None


_POSITION = re.compile(r"position\D{0,3}(\d+)|第\s*(\d+)\s*位", re.IGNORECASE)


def queue_position(desc: str | None) -> int | None:
    """The reference gives no queue position field; read one from `desc` when it says so."""
    match = _POSITION.search(desc or "")
    if not match:
        return None
    return int(match.group(1) or match.group(2))


class Channel:
    """Latest snapshot of one task; watchers wait for a newer version. Intermediate progress
    snapshots may be skipped by a slow watcher, the final one never is (it stays)."""

    def __init__(self, first: TaskEvent) -> None:
        self._condition = threading.Condition()
        self._event = first
        self._version = 0

    @property
    def latest(self) -> TaskEvent:
        return self._event

    def publish(self, event: TaskEvent) -> TaskEvent:
        with self._condition:
            self._version += 1
            self._event = replace(event, version=self._version)
            self._condition.notify_all()
            return self._event

    def wait_newer(self, version: int, timeout: float) -> TaskEvent | None:
        with self._condition:
            if self._event.version > version:
                return self._event
            self._condition.wait(timeout)
            return self._event if self._event.version > version else None



class Doorbell:
    """Wakes whoever waits on any of several keys (task ids, owners): a watcher of a batch or
    of a visitor's whole queue sleeps on one `threading.Event` instead of one thread per
    task. A ring may wake a watcher for nothing; it then reads the snapshots and sleeps."""

    MAX_COUNTED = 20_000  # keys whose rings are counted (the least recently rung go)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[threading.Event]] = {}
        self._rings: OrderedDict[str, int] = OrderedDict()

    def rings(self, key: str) -> int:
        """How often `key` was rung (lately): a watcher on the event loop compares it instead
        of blocking a thread on an Event."""
        with self._lock:
            return self._rings.get(key, 0)

    def subscribe(self, keys: list[str] | tuple[str, ...] | set[str]) -> threading.Event:
        event = threading.Event()
        with self._lock:
            for key in keys:
                self._waiting.setdefault(key, set()).add(event)
        return event

    def unsubscribe(self, keys: list[str] | tuple[str, ...] | set[str],
                    event: threading.Event) -> None:
        with self._lock:
            for key in keys:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._waiting[key]

    def ring(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._rings[key] = self._rings.pop(key, 0) + 1
            while len(self._rings) > self.MAX_COUNTED:
                self._rings.popitem(last=False)
            events = [e for key in keys for e in self._waiting.get(key, ())]
        for event in events:
            event.set()
