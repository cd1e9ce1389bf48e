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
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.api.endpoints import ENDPOINTS
from webui.api.models import TaskState
from webui.core.store import TaskRecord
from webui.ui.context import UiContext
from webui.ui.tasks import KEEP

LOOK_SECONDS = 1.0  # how often a page's watcher looks at the doorbell
HEARTBEAT_SECONDS = 30.0  # a quiet page still hears from its watcher (a closed one ends)
MAX_SHOWN = 30  # rows in the strip (the rest counted)
THUMB = 48  # pixels: the live preview's size in the strip
EMPTY = '<div class="zq-queue"><span class="zq-queue-head">Queue: nothing running</span></div>'

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
    strip = gr.HTML(EMPTY, elem_id="zq_queue", js_on_load=STOP_JS, padding=False,
                    elem_classes="zq-queue")
    return QueueStrip(strip)


def wire_queue_strip(ctx: UiContext, strip: QueueStrip, visitor: Any, after: Any) -> Any:
    """Start each page's watcher after `after` (the page's load event); Stop following."""

    async def watch(who: Any, request: gr.Request = None  # type: ignore[assignment]
                    ) -> AsyncIterator[Any]:
        who = ctx.visitor_id(who, request)
        if not who:
            return
        owner = ctx.owner(who)
        bell = ctx.engine.bell
        seen_rings, shown, last_sent = -1, None, time.monotonic()
        rates: dict[str, tuple[float, float]] = {}
        thumbs: dict[tuple[str, int], str] = {}
        while True:
            rings = bell.rings(owner)
            if rings != seen_rings:
                seen_rings = rings
                text = await asyncio.to_thread(render, ctx, who, rates, thumbs)
                if text != shown:
                    shown, last_sent = text, time.monotonic()
                    yield text
            if time.monotonic() - last_sent > HEARTBEAT_SECONDS:
                last_sent = time.monotonic()
                yield KEEP
            await asyncio.sleep(LOOK_SECONDS)

    def stop(who: Any, event: gr.EventData, request: gr.Request = None  # type: ignore[assignment]
             ) -> Any:
        who = ctx.visitor_id(who, request)
        data = getattr(event, "_data", None)
        task_id = data.get("stop") if isinstance(data, dict) else None
        if who and isinstance(task_id, str):
            ctx.submissions.stop_following(who, task_id)
            return render(ctx, who, {}, {})
        return KEEP

    strip.html.click(stop, inputs=[visitor], outputs=strip.html, concurrency_limit=None,
                     show_progress="hidden")
    return after.then(watch, inputs=[visitor], outputs=strip.html, concurrency_limit=None,
                      show_progress="hidden")


def render(ctx: UiContext, visitor: str, rates: dict[str, tuple[float, float]],
           thumbs: dict[tuple[str, int], str]) -> str:
    """The strip's HTML (empty when nothing runs: the strip takes no room)."""
    tasks = ctx.submissions.queue(visitor)
    if not tasks:
        rates.clear()
        thumbs.clear()
        return EMPTY
    now = time.monotonic()
    rows = [_row(ctx, record, rates, thumbs, now) for record in tasks[:MAX_SHOWN]]
    running = sum(1 for r in tasks if r.state != TaskState.QUEUED)
    more = f'<span class="zq-queue-more">+{len(tasks) - MAX_SHOWN} more</span>' \
        if len(tasks) > MAX_SHOWN else ""
    for gone in set(rates) - {r.id for r in tasks}:
        del rates[gone]
    return (f'<div class="zq-queue"><span class="zq-queue-head">Queue: {running} running, '
            f'{len(tasks) - running} waiting</span><ol class="zq-queue-list">'
            + "".join(rows) + f"</ol>{more}</div>")


def _row(ctx: UiContext, record: TaskRecord, rates: dict[str, tuple[float, float]],
         thumbs: dict[tuple[str, int], str], now: float) -> str:
    latest = ctx.engine.latest(record.id)
    progress = latest.progress if latest and latest.progress is not None else record.progress
    position = latest.queue_position if latest else record.queue_position
    state = latest.state if latest else record.state
    if state == TaskState.QUEUED:
        where = f"queued, position {position}" if position else "queued"
    elif progress is not None:
        where = f"{progress:.0%}{_eta(record.id, progress, rates, now)}"
    else:
        where = str(state)
    endpoint = ENDPOINTS.get(record.kind)
    tab = TAB_OF_KIND.get(str(record.kind), getattr(endpoint, "label", None) or record.kind)
    prompt = record.prompt.strip() or "(no prompt)"
    thumb = _thumb(latest, thumbs) if latest is not None else ""
    image = f'<img class="zq-queue-thumb" alt="" src="{thumb}">' if thumb else \
        '<span class="zq-queue-thumb"></span>'
    return (f'<li class="zq-queue-item" data-task="{html.escape(record.id)}">{image}'
            f'<span class="zq-queue-tab">{html.escape(str(tab))}</span>'
            f'<span class="zq-queue-prompt" title="{html.escape(prompt[:500])}">'
            f"{html.escape(prompt[:60])}</span>"
            f'<span class="zq-queue-where">{html.escape(where)}</span>'
            f'<button class="zq-queue-stop" data-stop="{html.escape(record.id)}" '
            f'title="The service has no cancel: the task finishes and is kept in History">'
            "Stop following</button></li>")


def _eta(task_id: str, progress: float, rates: dict[str, tuple[float, float]],
         now: float) -> str:
    """", about 12 s left" from the rate seen since the first percent."""
    first = rates.setdefault(task_id, (now, progress))
    elapsed, gained = now - first[0], progress - first[1]
    if elapsed < 0.5 or gained <= 0.01 or progress >= 1:
        return ""
    left = (1 - progress) * elapsed / gained
    return f", about {left:.0f} s left" if left < 5400 else ""


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
