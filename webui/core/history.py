"""A visitor's task history: pages of summaries from the store (one indexed query per page, so
10,000 tasks page as fast as 10), small thumbnails cached on disk, re-run and delete."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from webui.api.endpoints import ENDPOINTS, TaskKind
from webui.api.models import TaskState
from webui.api.validation import parse_request
from webui.core.builder import TASK_ID_PREFIXES, new_task_id
from webui.core.store import TaskRecord, TaskStore
from webui.messages import Language, Msg, label, message

PAGE_SIZE = 20
THUMB_SIDE = 96
# store kind -> what the tabs call it (`Endpoint.label`), in tab order
KIND_LABELS: dict[str, str] = {kind.value: ENDPOINTS[kind].label or kind.value
                               for kind in TaskKind}
SEEDED_KINDS = tuple(kind.value for kind in TaskKind if ENDPOINTS[kind].seeded)

# What History tells the visitor besides its table (the History tab shows them)
TASK_GONE = Msg("history.task_gone")  # "That task is gone (deleted, or not yours)."
INPUTS_EXPIRED = Msg("history.inputs_expired")  # a re-run whose upload is past its 24 h


def deleted(task: TaskRecord) -> Msg:
    """What Delete did: Deleted the task and its N image file(s)."""
    return Msg("history.deleted", count=len(task.images))


def not_deleted(reason: object) -> Msg:
    """Why Delete did nothing (`reason`: a refusal carrying a message, or text)."""
    return Msg("history.not_deleted", reason=getattr(reason, "msg", None) or str(reason))


class StillRunning(ValueError):
    """A task is deleted only once it has finished (its results are on the way)."""

    def __init__(self) -> None:
        self.msg = Msg("history.still_running")
        super().__init__(str(self.msg))


@dataclass(frozen=True)
class HistoryRow:
    id: str
    kind: str  # the tab's name for it
    state: str  # a short phrase: "done", "running 40%", "failed: <reason>", ...
    final: bool
    failed: bool
    prompt: str
    images: int
    billed_calls: int
    created: str  # local time, "2026-11-24 21:08"
    took: str  # "12.3 s", "" while unfinished
    thumbnail: str | None  # data: URI of the first image, or None
    favourite: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryPage:
    rows: list[HistoryRow]
    total: int
    page: int  # from 1
    pages: int


def state_phrase(record: TaskRecord, language: Language = Language.EN) -> str:
    """A short phrase in `language`; the service's own reason for a failure as it gave it."""
    if record.state == TaskState.SUCCEEDED:
        phrase = message("task.state.done", language)
    elif record.state == TaskState.FAILED:
        # our own reason keyed (in `language`), the service's as it gave it
        reason = record.error_msg or record.error or Msg("task.state.no_reason")
        phrase = message("task.state.failed", language, reason=reason)
    elif record.state == TaskState.QUEUED:
        phrase = message("task.state.queued_at", language, position=record.queue_position) \
            if record.queue_position else message("task.state.queued", language)
    else:
        phrase = message("task.state.running_at", language,
                         percent=f"{record.progress * 100:.0f}") if record.progress \
            else message("task.state.running", language)
    if record.resumed:
        phrase = message("task.state.resumed", language, state=phrase)
    return phrase


def took(record: TaskRecord, language: Language = Language.EN) -> str:
    if record.finished_at is None:
        return ""
    seconds = max(0.0, record.finished_at - record.created_at)
    if seconds < 120:
        return message("history.took_seconds", language, seconds=f"{seconds:.1f}")
    return message("history.took_minutes", language, minutes=f"{seconds / 60:.1f}")


class Thumbnails:
    """First image of a task, THUMB_SIDE px, as a data URI (it travels only in the owner's
    own response, never through a file URL). Made once, kept in `<data dir>/thumbs/`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def _cached(self, image_path: str) -> Path:
        return self.folder / f"{hashlib.sha256(image_path.encode()).hexdigest()[:32]}.webp"

    def forget(self, image_path: str) -> None:
        self._cached(image_path).unlink(missing_ok=True)

    def uri(self, image_path: str | None) -> str | None:
        if not image_path:
            return None
        cached = self._cached(image_path)
        try:
            data = cached.read_bytes()
        except OSError:
            data = self._make(image_path, cached)
        if data is None:
            return None
        return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")

    @staticmethod
    def _make(image_path: str, cached: Path) -> bytes | None:
        try:
            with Image.open(image_path) as image:
                image.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))
                image.thumbnail((THUMB_SIDE, THUMB_SIDE))
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, "WEBP", quality=70)
        except OSError:  # deleted by hand, or not an image
            return None
        data = buffer.getvalue()
        cached.write_bytes(data)
        return data


MAX_TAGS = 10  # tags on one task
MAX_TAG_LENGTH = 32  # characters of one tag
TAG_SPLIT = re.compile(r"[\s,，#]+")  # tags are written apart by spaces, commas or "#"


class BadTags(ValueError):
    """Tags past the limits; carries the message naming them."""

    def __init__(self) -> None:
        self.msg = Msg("history.tags_invalid", most=MAX_TAGS, longest=MAX_TAG_LENGTH)
        super().__init__(str(self.msg))


def parse_tags(text: Any) -> list[str]:
    """The tags a visitor typed ("portrait, #sky  blue"), each once, in lower case. Raises
    BadTags past MAX_TAGS or MAX_TAG_LENGTH."""
    words = TAG_SPLIT.split(text if isinstance(text, str) else "")
    tags = list(dict.fromkeys(word.casefold() for word in words if word))
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH for tag in tags):
        raise BadTags
    return tags


def search_terms(text: str | None) -> tuple[str | None, tuple[str, ...]]:
    """A History search: "#word" asks for a tag (each one given), the rest is looked for in
    the prompts ("#portrait red kite")."""
    words = (text or "").split()
    tags = tuple(dict.fromkeys(word[1:].casefold() for word in words
                               if word.startswith("#") and len(word) > 1))[:MAX_TAGS]
    rest = " ".join(word for word in words if not word.startswith("#")).strip()
    return rest or None, tags


def _page_records(store: TaskStore, owner: str, page: int, kind: str | None,
                  text: str | None, favourites: bool, page_size: int
                  ) -> tuple[list[TaskRecord], int, int, int]:
    """(the page's records, total, the page clamped, pages) for History's filters."""
    text, tags = search_terms(text)
    total = store.count(owner, kind=kind, text=text, favourites=favourites, tags=tags)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    records = store.list(owner, limit=page_size, offset=(page - 1) * page_size, kind=kind,
                         text=text, favourites=favourites, tags=tags)
    # shown: their pictures on this replica (another replica's, from the bucket)
    return [store.local(record) for record in records], total, page, pages


def history_page(store: TaskStore, thumbs: Thumbnails, owner: str, *, page: int = 1,
                 kind: str | None = None, text: str | None = None, favourites: bool = False,
                 page_size: int = PAGE_SIZE, language: Language = Language.EN) -> HistoryPage:
    """`favourites`: only the tasks the owner marked; `text`: as `search_terms` reads it."""
    records, total, page, pages = _page_records(store, owner, page, kind, text, favourites,
                                                page_size)
    ids = [record.id for record in records]
    marked, tags = store.favourite_ids(owner, ids), store.tags_of(owner, ids)
    return HistoryPage([summary(record, thumbs, language, record.id in marked,
                                tuple(tags.get(record.id, ())))
                        for record in records], total, page, pages)


MAX_SEARCH = 200  # characters of a History search (a scripted call may send megabytes)
FAVOURITES = "favourites"  # the Kind filter's "only my favourites"


def list_filters(kind: Any, text: Any) -> dict[str, Any]:
    """The Kind filter and the search as the page sends them (any junk reads as none), for
    `history_page` and `history_pictures`."""
    favourites = kind == FAVOURITES
    return {"kind": kind if isinstance(kind, str) and kind and not favourites else None,
            "text": text[:MAX_SEARCH] if isinstance(text, str) else "",
            "favourites": favourites}


def page_number(value: Any) -> int:
    """The page number the browser sends back (any junk reads as page 1)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 1


@dataclass(frozen=True)
class Picture:
    """One shown picture of a task, for History's grid."""

    task_id: str
    path: str
    caption: str  # the task's prompt (or what a tool did), shortened


MAX_GRID_PICTURES = 120  # pictures of one History page shown in the grid


def history_pictures(store: TaskStore, owner: str, *, page: int = 1, kind: str | None = None,
                     text: str | None = None, favourites: bool = False,
                     page_size: int = PAGE_SIZE, language: Language = Language.EN,
                     limit: int = MAX_GRID_PICTURES) -> list[Picture]:
    """The shown pictures of the tasks on that page of the list (the same filters and
    paging as `history_page`), newest task first, at most `limit`."""
    records = _page_records(store, owner, page, kind, text, favourites, page_size)[0]
    pictures: list[Picture] = []
    for record in records:
        caption = record.prompt or _tool_line(record, language)
        caption = caption if len(caption) <= 80 else caption[:77] + "..."
        pictures += [Picture(record.id, image.path, caption) for image in record.images
                     if image.shown and image.path]
        if len(pictures) >= limit:
            break
    return pictures[:limit]


def summary(record: TaskRecord, thumbs: Thumbnails, language: Language = Language.EN,
            favourite: bool = False, tags: tuple[str, ...] = ()) -> HistoryRow:
    shown = [image for image in record.images if image.shown]
    prompt = record.prompt or _tool_line(record, language)
    return HistoryRow(
        id=record.id, kind=label(KIND_LABELS.get(record.kind, record.kind), language),
        state=state_phrase(record, language), final=record.is_final,
        failed=record.state == TaskState.FAILED, prompt=prompt, images=len(shown),
        billed_calls=record.billed_calls,
        created=time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at)),
        took=took(record, language), thumbnail=thumbs.uri(shown[0].path if shown else None),
        favourite=favourite, tags=tags)


def _tool_line(record: TaskRecord, language: Language = Language.EN) -> str:
    """What a tool's task did, in place of a prompt (the upscaler's name as the service has it)."""
    if record.kind == TaskKind.ENHANCE:
        r = record.request
        if r.get("resizeMode") == 1:
            return message("history.tool.upscale_to", language, width=r.get("upscalingResizeW"),
                           height=r.get("upscalingResizeH"))
        return message("history.tool.upscale_by", language, scale=r.get("upscalingResize"),
                       upscaler=r.get("upscaler1"))
    if record.kind == TaskKind.ROOP:
        return message("history.tool.face_swap", language)
    return ""


def stored_request(record: TaskRecord) -> Any:
    """The request a task was sent with, as its model (validated again: the row is data)."""
    return parse_request(ENDPOINTS[record.kind].request, record.request, record.kind)


def rerun_request(record: TaskRecord, *, new_seed: bool = False) -> Any:
    """The same request under a new task id (and seed -1 when asked), validated again."""
    request = stored_request(record).with_task_id(
        new_task_id(TASK_ID_PREFIXES.get(record.kind, "w")))
    if new_seed and record.kind in SEEDED_KINDS:
        request = request.with_seed(-1)
    return request


def delete_task(store: TaskStore, thumbs: Thumbnails, task_id: str, owner: str
                ) -> TaskRecord | None:
    """The row and its image files. An unfinished task is kept (its results are on the way):
    raises StillRunning (a ValueError carrying its message)."""
    record = store.get(task_id, owner)
    if record is None:
        return None
    if not record.is_final:
        raise StillRunning
    deleted = store.delete(task_id, owner)
    for image in record.images:
        if image.path:
            Path(image.path).unlink(missing_ok=True)
            thumbs.forget(image.path)
    return deleted
