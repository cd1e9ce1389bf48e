"""A batch in an SD tab's results panel: one task as it always was (live previews, its
images), several as a growing gallery with the batch's progress, and a script's plot as a grid
whose cells fill in as they finish, saved once complete ("grid" in its name, with an
infotext describing the axes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from webui.api.models import TaskState
from webui.core.events import TaskEvent
from webui.core.outputs import read_infotext
from webui.core.scripts.plots import (
    PLOT_KINDS,
    cell_of,
    draw_plot,
    first_shown,
    is_plot,
    load,
    save_plot,
)
from webui.core.store import BatchRecord
from webui.core.submission import BatchProgress
from webui.messages import Language, Msg, label
from webui.ui import toasts
from webui.ui.language import current_language, say
from webui.ui.results import (
    ResultsPanel,
    grid_columns,
    meter_markdown,
    progress_html,
    status_markdown,
)
from webui.ui.served import shown as served

REDRAW_SECONDS = 1.0  # a live plot is drawn again at most this often (the last cell always)

Updates = Generator[dict[Any, Any], None, bool]


@dataclass
class BatchView:
    panel: ResultsPanel

    @property
    def tab(self) -> str:
        return self.panel.tab

    def stream(self, ctx: Any, visitor: str, batch: BatchRecord,
               stop: Callable[[], bool] | None = None,
               done: dict[Any, Any] | None = None) -> Updates:
        """Updates of the panel until the batch is done (returns True) or `stop()` (False).
        `done`: more updates sent with the last one, when the batch ended."""
        if len(batch.task_ids) == 1 and not batch.script:
            return (yield from self._single(ctx, visitor, batch, stop, done or {}))
        return (yield from self._many(ctx, visitor, batch, stop, done or {}))

    def _single(self, ctx: Any, visitor: str, batch: BatchRecord,
                stop: Callable[[], bool] | None, done: dict[Any, Any]) -> Updates:
        owner = ctx.owner(visitor)
        ended: list[TaskEvent] = []
        stopped: list[bool] = []

        def events() -> Any:
            for progress in ctx.submissions.follow(visitor, batch, previews=ctx.preview(visitor),
                                                   stop=stop):
                if progress.stopped:
                    stopped.append(True)
                    return
                event = progress.changed or progress.events.get(batch.task_ids[0])
                if event is not None:
                    if event.final:
                        ended.append(event)
                    yield event

        for update in self.panel.stream(events(), lambda: ctx.engine.billed_calls(owner)):
            yield {**update, **done} if self.panel.gallery in update else update
        if stopped:
            yield self.panel.interrupted()
        return bool(ended)

    def _many(self, ctx: Any, visitor: str, batch: BatchRecord,
              stop: Callable[[], bool] | None, done: dict[Any, Any]) -> Updates:
        panel = self.panel
        owner = ctx.owner(visitor)
        store = ctx.runtime.store
        layout = batch.layout or {}
        kind = layout.get("kind")
        records = {i: store.get(i, owner) for i in batch.task_ids}
        cells = {i: cell_of(r.meta, n) if r else n for n, (i, r) in enumerate(records.items())}
        name = batch.script or "Batch"
        already = set()  # ended before this look: their failures are not news
        controls = False
        last_drawn = 0.0
        images: dict[str, Image.Image] = {}
        complete = False
        for progress in ctx.submissions.follow(visitor, batch, stop=stop):
            language = current_language()  # set by Gradio around each step of the stream
            shown_name = label(name, language)  # "Batch", a script's name: A1111's words
            if progress.changed is None:
                already |= {e.task_id for e in progress.finished}
            finished, failed = progress.finished, progress.failed
            status = Msg("batch.progress", name=shown_name, done=len(finished),
                         total=progress.total, percent=f"{progress.progress * 100:.0f}")
            if failed:
                status = Msg("batch.progress_failed", progress=status, failed=len(failed))
            update: dict[Any, Any] = {
                panel.status: toasts.markdown_text(say(status, language)),
                panel.progress: progress_html(TaskEvent(
                    batch.id, progress.changed.state if progress.changed else finished_state(
                        progress), progress=progress.progress)),
                panel.meter: meter_markdown(progress.billed_calls,
                                            ctx.engine.billed_calls(owner), batch=True,
                                            language=language),
            }
            if not controls and not progress.done:
                update.update(panel.following())
                controls = True
            changed = progress.changed
            if changed is not None and changed.final and changed.error \
                    and changed.task_id not in already:
                toasts.warn(Msg("batch.task_failed", name=shown_name, reason=changed.reason))
            gallery_changed = changed is None or changed.final
            now = time.monotonic()
            if gallery_changed:
                paths = _paths(batch, progress)
                if kind in PLOT_KINDS and not progress.done:
                    if changed is None or now - last_drawn >= REDRAW_SECONDS:
                        last_drawn = now
                        grid = draw_plot(layout, _cell_images(progress, cells, images),
                                         len(cells))
                        update[panel.gallery] = gr.Gallery(value=[(grid, "X/Y/Z plot")
                                                                  if kind == "xyz" else
                                                                  (grid, "Prompt matrix")],
                                                           selected_index=None, columns=1)
                        update[panel.results] = []
                elif not progress.done:
                    update[panel.gallery] = gr.Gallery(
                        value=[(served(p), Path(p).name) for p in paths], selected_index=None,
                        columns=grid_columns(len(paths)))
                    update[panel.results] = paths
            if progress.done:
                complete = True
                update.update(self._done(ctx, batch, progress, shown_name, language))
                update.update(done)
            yield update
        return complete

    def _done(self, ctx: Any, batch: BatchRecord, progress: BatchProgress, name: str,
              language: Language) -> dict[Any, Any]:
        panel = self.panel
        layout = batch.layout or {}
        paths = _paths(batch, progress)
        shown: list[str] = []
        if is_plot(batch) and paths:
            grid_path = save_plot(ctx.runtime.store, batch)
            if grid_path:
                shown.append(grid_path)
            if layout.get("include_sub_images"):
                shown += paths
        else:
            shown = paths
        failed = progress.failed
        done = Msg("batch.done", name=name, succeeded=progress.total - len(failed),
                   total=progress.total)
        if progress.stopped:
            done = Msg("batch.done_unfollowed", done=done, unfollowed=len(progress.stopped))
        summary = toasts.markdown_text(say(done, language))
        if failed:
            summary += "  \n" + "  \n".join(toasts.markdown_text(say(e.reason or "", language))
                                             for e in failed[:5])
        return {**panel.not_following(), panel.status: summary,
                panel.gallery: gr.Gallery(value=[(served(p), Path(p).name) for p in shown],
                                          selected_index=None,
                                          columns=grid_columns(max(1, len(shown)))),
                panel.results: shown, panel.selected: None,
                panel.infotext: _infotext(shown[0]) if shown else ""}


def finished_state(progress: BatchProgress) -> TaskState:
    if progress.done:
        return TaskState.FAILED if len(progress.failed) == progress.total else \
            TaskState.SUCCEEDED
    return TaskState.GENERATING


def _paths(batch: BatchRecord, progress: BatchProgress) -> list[str]:
    """Shown images of the finished tasks, in the batch's order."""
    paths = []
    for task_id in batch.task_ids:
        event = progress.events.get(task_id)
        if event is not None and event.final:
            paths += [i.path for i in event.images if i.shown and i.path]
    return paths


def _cell_images(progress: BatchProgress, cells: dict[str, int],
                 cache: dict[str, Image.Image]) -> dict[int, Image.Image]:
    """Each finished cell's first image, loaded once."""
    out = {}
    for task_id, event in progress.events.items():
        path = first_shown(event.images) if event.final else None
        image = load(path, cache) if path else None
        if image is not None:
            out[cells[task_id]] = image
    return out


def _infotext(path: str) -> str:
    try:
        return read_infotext(path) or ""
    except OSError:
        return ""


__all__ = ["BatchView", "status_markdown"]
