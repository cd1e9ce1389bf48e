"""Collecting a finished task's results: each image downloaded once (the service's URLs
expire), saved as PNG with its A1111 infotext by the `OutputWriter`, and described by a
`StoredImage` for the task's row. The task engine holds one `ResultCollector`; each task it
follows has its own `TaskResults` (what is saved or fetched so far)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from webui.api import models as m
from webui.api.models import TaskState
from webui.core import infotext
from webui.core.outputs import Downloaded, Downloader, DownloadError, OutputWriter
from webui.core.sources import pixel_fingerprint
from webui.core.store import StoredImage
from webui.messages import Msg


class NotYet(Exception):
    """The result exists but an image could not be fetched yet (network, 5xx): try later."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(str(msg))
        self.msg = msg


@dataclass
class TaskResults:
    """One task's results so far: its images saved by index (each saved once, however often
    the final status arrives) and the tool URLs already fetched by a probe."""

    kind: str
    request: Any
    saved: dict[int, StoredImage] = field(default_factory=dict)
    probed: dict[str, Downloaded] = field(default_factory=dict)


class ResultCollector:
    def __init__(self, writer: OutputWriter, downloader: Downloader,
                 model_hash: Callable[[str], str | None]) -> None:
        self.writer, self.downloader = writer, downloader
        self.model_hash = model_hash  # for infotext

    def state_of(self, task: TaskResults, info: Any) -> TaskState:
        """The state a status reports; a tool's counts as succeeded only once its image is
        served (ruling 5)."""
        if isinstance(info, m.ToolTaskInfo):
            return info.state(lambda url: self.probe(task, url))
        return info.state

    def probe(self, task: TaskResults, url: str) -> bool:
        """Ruling 5: a tool's URL counts only once it serves an image (fetched once, kept)."""
        if url in task.probed:
            return True
        try:
            task.probed[url] = self.downloader.fetch(url)
        except DownloadError:
            return False
        return True

    def collect(self, task: TaskResults, info: Any) -> tuple[StoredImage, ...]:
        """Every result image of a final status, saved. Raises NotYet when one could not be
        fetched for now (those saved are kept for the next try)."""
        if isinstance(info, m.ToolTaskInfo):
            rows = [m.ResultImage(image_url=info.outputImageUrl, image_status=1)]
        else:
            rows = info.differentialImageRspList or []
        for index, row in enumerate(rows):
            if index not in task.saved:
                task.saved[index] = self._save(task, index, row)
        return tuple(task.saved[index] for index in range(len(rows)))

    def _save(self, task: TaskResults, index: int, row: m.ResultImage) -> StoredImage:
        if row.image_status == 2 or row.img_audit_status is False:
            return StoredImage(index, row.seed, hidden_reason=row.hidden_reason)
        if not row.image_url:
            return _lost(index, row.seed, Msg("task.reason.no_image_url"))
        try:
            downloaded = task.probed.get(row.image_url) or self.downloader.fetch(row.image_url)
        except DownloadError as exc:
            if exc.transient:
                raise NotYet(exc.msg) from exc
            return _lost(index, row.seed, exc.msg, url=row.image_url)
        checkpoint = getattr(task.request, "checkpoint", None)
        text = infotext.for_request(task.kind, task.request, row.seed, index,
                                    model_hash=self.model_hash(checkpoint) if checkpoint
                                    else None)
        path = self.writer.save(task.kind, downloaded.image, row.seed, text,
                                original=downloaded.data)
        return StoredImage(index, row.seed, url=row.image_url, path=str(path),
                           pixels=pixel_fingerprint(downloaded.image),
                           key=self.writer.publish(path))


def _lost(index: int, seed: int | None, reason: Msg, url: str | None = None) -> StoredImage:
    """An image that could not be had: why, in English and keyed."""
    return StoredImage(index, seed, url=url, error=str(reason), error_msg=reason)
