"""The queue strip above the tabs: this visitor's pending and running tasks, from every tab
(tab, live preview, prompt, place in the service's queue, percent, ETA from the progress
rate), each with "Stop following". It reads the store, so a reload, another page of the same
visitor or an app restart shows the same queue.

One watcher per page, on the event loop (an async generator: an open page holds no thread),
looking at the engine's doorbell count for the owner once a second and rendering only when it
changed."""

from __future__ import annotations

import asyncio
import base64
import html
import io
import itertools
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.api.endpoints import ENDPOINTS
from webui.api.models import TaskState
from webui.core.history import state_phrase
from webui.core.store import TaskRecord
from webui.messages import Language, language_of, message
from webui.ui.context import UiContext
from webui.ui.tasks import KEEP

LOOK_SECONDS = 1.0  # how often a page's watcher looks at the doorbell
HEARTBEAT_SECONDS = 30.0  # a quiet page still hears from its watcher (a closed one ends)
MAX_SHOWN = 30  # rows in the strip (the rest counted)
THUMB = 48  # pixels: the live preview's size in the strip

STOP_JS = """
element.addEventListener('click', (e) => {
  const button = e.target.closest('[data-stop]');
  if (button) trigger('click', {stop: button.dataset.stop});
});
"""

TAB_OF_KIND = {"text2image": "txt2img", "image2image": "img2img", "controlnet": "txt2img",
               "enhance": "Extras", "roop": "Face swap"}


@dataclass
class QueueStrip:
    html: gr.HTML


def build_queue_strip() -> QueueStrip:
    strip = gr.HTML(empty(), elem_id="zq_queue", js_on_load=STOP_JS, padding=False,
                    elem_classes="zq-queue")
    return QueueStrip(strip)


class PageWatchers:
    """The newest watcher of each page: an older one ends at its next look (a page starts
    another when its language changes: the strip is rendered in the new one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._newest: dict[str, int] = {}
        self._numbers = itertools.count(1)

    def start(self, page: str) -> int:
        with self._lock:
            number = self._newest[page] = next(self._numbers)
            return number

    def current(self, page: str, number: int) -> bool:
        return self._newest.get(page) == number

    def end(self, page: str, number: int) -> None:
        with self._lock:
            if self._newest.get(page) == number:
                del self._newest[page]


def wire_queue_strip(ctx: UiContext, strip: QueueStrip, visitor: Any, after: Any,
                     page_language: Any = None) -> Any:
    """Start each page's watcher after `after` (the page's load event), and again when the
    page's language changes (`page_language`, set by `assets/language.js`); Stop following."""
    watchers = PageWatchers()

    async def watch(who: Any, request: gr.Request = None  # type: ignore[assignment]
                    ) -> AsyncIterator[Any]:
        who = ctx.visitor_id(who, request)
        if not who:
            return
        page = getattr(request, "session_hash", None) or secrets.token_hex(8)
        number = watchers.start(page)
        try:
            async for update in _watch(who, language_of(request),
                                       lambda: watchers.current(page, number)):
                yield update
        finally:
            watchers.end(page, number)

    async def _watch(who: str, language: Language, current: Callable[[], bool]
                     ) -> AsyncIterator[Any]:
        owner = ctx.owner(who)
        bell = ctx.engine.bell
        seen_rings, shown, last_sent = -1, None, time.monotonic()
        rates: dict[str, tuple[float, float]] = {}
        thumbs: dict[tuple[str, int], str] = {}
        while current():
            rings = bell.rings(owner)
            if rings != seen_rings:
                seen_rings = rings
                text = await asyncio.to_thread(render, ctx, who, rates, thumbs, language)
                if text != shown:
                    shown, last_sent = text, time.monotonic()
                    yield text
            if time.monotonic() - last_sent > HEARTBEAT_SECONDS:
                last_sent = time.monotonic()
                yield KEEP
            await asyncio.sleep(LOOK_SECONDS)
        # replaced by a newer watcher of the page: Gradio sends a stream's last value again
        # when it ends, and this one's must not land over the newer one's
        yield KEEP

    def stop(who: Any, event: gr.EventData, request: gr.Request = None  # type: ignore[assignment]
             ) -> Any:
        who = ctx.visitor_id(who, request)
        data = getattr(event, "_data", None)
        task_id = data.get("stop") if isinstance(data, dict) else None
        if who and isinstance(task_id, str):
            ctx.submissions.stop_following(who, task_id)
            return render(ctx, who, {}, {}, language_of(request))
        return KEEP

    strip.html.click(stop, inputs=[visitor], outputs=strip.html, concurrency_limit=None,
                     show_progress="hidden")
    if page_language is not None:
        page_language.change(watch, inputs=[visitor], outputs=strip.html,
                            concurrency_limit=None, show_progress="hidden",
                            trigger_mode="multiple")
    return after.then(watch, inputs=[visitor], outputs=strip.html, concurrency_limit=None,
                      show_progress="hidden")


def empty(language: Language = Language.EN) -> str:
    return (f'<div class="zq-queue"><span class="zq-queue-head">'
            f'{html.escape(message("queue.empty", language))}</span></div>')


def render(ctx: UiContext, visitor: str, rates: dict[str, tuple[float, float]],
           thumbs: dict[tuple[str, int], str], language: Language = Language.EN) -> str:
    """The strip's HTML in the visitor's language (the prompts as typed)."""
    tasks = ctx.submissions.queue(visitor)
    if not tasks:
        rates.clear()
        thumbs.clear()
        return empty(language)
    now = time.monotonic()
    rows = [_row(ctx, record, rates, thumbs, now, language) for record in tasks[:MAX_SHOWN]]
    running = sum(1 for r in tasks if r.state != TaskState.QUEUED)
    more = (f'<span class="zq-queue-more">'
            f'{html.escape(message("queue.more", language, count=len(tasks) - MAX_SHOWN))}'
            "</span>") if len(tasks) > MAX_SHOWN else ""
    for gone in set(rates) - {r.id for r in tasks}:
        del rates[gone]
    head = message("queue.head", language, running=running, waiting=len(tasks) - running)
    title = page_title(ctx, tasks, rates, now, language)
    # on the head: Gradio's HTML component keeps no attribute of the outermost element
    return (f'<div class="zq-queue"><span class="zq-queue-head" '
            f'data-title="{html.escape(title)}">{html.escape(head)}</span>'
            f'<ol class="zq-queue-list">{"".join(rows)}</ol>{more}</div>')


def page_title(ctx: UiContext, tasks: list[TaskRecord], rates: dict[str, tuple[float, float]],
               now: float, language: Language) -> str:
    """What the browser tab's title says while this visitor's tasks run, as A1111's does
    ("[42%] ETA 12 s"): the oldest running task's percent and time left, "+2" for the others;
    "[queued]" while none runs yet. The page's script puts it before the app's name."""
    running = [r for r in tasks if _state(ctx, r) != TaskState.QUEUED]
    if not running:
        return message("title.queued", language)
    first = running[0]
    latest = ctx.engine.latest(first.id)
    progress = latest.progress if latest and latest.progress is not None else first.progress
    percent = f"{(progress or 0) * 100:.0f}"
    left = _eta(first.id, progress, rates, now) if progress is not None else None
    title = message("title.progress_eta", language, percent=percent, seconds=left) \
        if left is not None else message("title.progress", language, percent=percent)
    others = len(tasks) - 1
    return message("title.more", language, title=title, count=others) if others else title


def _state(ctx: UiContext, record: TaskRecord) -> Any:
    latest = ctx.engine.latest(record.id)
    return latest.state if latest else record.state


def _row(ctx: UiContext, record: TaskRecord, rates: dict[str, tuple[float, float]],
         thumbs: dict[tuple[str, int], str], now: float, language: Language) -> str:
    latest = ctx.engine.latest(record.id)
    progress = latest.progress if latest and latest.progress is not None else record.progress
    position = latest.queue_position if latest else record.queue_position
    state = latest.state if latest else record.state
    if state == TaskState.QUEUED:
        where = message("queue.queued_at", language, position=position) if position \
            else message("queue.queued", language)
    elif progress is not None:
        left = _eta(record.id, progress, rates, now)
        percent = f"{progress * 100:.0f}"
        where = message("queue.percent_eta", language, percent=percent, seconds=left) \
            if left is not None else message("queue.percent", language, percent=percent)
    else:
        where = state_phrase(record, language)
    endpoint = ENDPOINTS.get(record.kind)
    tab = TAB_OF_KIND.get(str(record.kind), getattr(endpoint, "label", None) or record.kind)
    prompt = record.prompt.strip()
    shown = prompt or message("queue.no_prompt", language)
    thumb = _thumb(latest, thumbs) if latest is not None else ""
    image = f'<img class="zq-queue-thumb" alt="" src="{thumb}">' if thumb else \
        '<span class="zq-queue-thumb"></span>'
    stop, why = message("queue.stop", language), message("queue.stop_title", language)
    return (f'<li class="zq-queue-item" data-task="{html.escape(record.id)}">{image}'
            f'<span class="zq-queue-tab">{html.escape(str(tab))}</span>'
            f'<span class="zq-queue-prompt" title="{html.escape(shown[:500])}">'
            f"{html.escape(shown[:60])}</span>"
            f'<span class="zq-queue-where">{html.escape(where)}</span>'
            f'<button class="zq-queue-stop" data-stop="{html.escape(record.id)}" '
            f'title="{html.escape(why)}">{html.escape(stop)}</button></li>')


def _eta(task_id: str, progress: float, rates: dict[str, tuple[float, float]],
         now: float) -> str | None:
    """Seconds left from the rate seen since the first percent (None: not known yet)."""
    first = rates.setdefault(task_id, (now, progress))
    elapsed, gained = now - first[0], progress - first[1]
    if elapsed < 0.5 or gained <= 0.01 or progress >= 1:
        return None
    left = (1 - progress) * elapsed / gained
    return f"{left:.0f}" if left < 5400 else None


def _thumb(event: Any, thumbs: dict[tuple[str, int], str]) -> str:
    """The live preview as a small JPEG data URL, made once per preview."""
    if not event.preview:
        return ""
    key = (event.task_id, hash(event.preview))
    if key not in thumbs:
        image = event.preview_image()
        if image is None:
            return ""
        image.thumbnail((THUMB, THUMB))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=70)
        for old in [k for k in thumbs if k[0] == event.task_id]:
            del thumbs[old]
        thumbs[key] = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    return thumbs[key]


__all__ = ["QueueStrip", "build_queue_strip", "render", "wire_queue_strip"]
