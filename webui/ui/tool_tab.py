"""What every tool tab (Extras, Face swap, ...) shares: a Run button, one task per input image
(batch), the results panel with a before/after slider, and finding the batch again after a
reload. A tool's own module only lays out its inputs and turns them into requests."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from webui.api.errors import InvalidRequestError
from webui.core.limits import RateLimited
from webui.core.outputs import read_infotext
from webui.core.store import TaskRecord
from webui.ui import toasts
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.results import (
    ResultsPanel,
    build_results_panel,
    grid_columns,
    meter_markdown,
    progress_html,
    status_markdown,
)
from webui.ui.served import shown as served
from webui.ui.tasks import KEEP, read_last_tasks, warn_invalid, write_last_tasks

# The request field holding the picture a tool's result replaces, per tool code.
BEFORE_FIELDS = {"enhance": "image", "roop": "targetUrl"}


@dataclass
class ToolResults:
    tab: str
    panel: ResultsPanel
    slider: gr.ImageSlider
    pairs: gr.State  # [[before path or None, after path], ...], aligned with panel.results

    @property
    def outputs(self) -> list[Any]:
        return [*self.panel.outputs, self.slider, self.pairs]


def build_tool_results(tab: str) -> ToolResults:
    """The right-hand column of a tool tab (call inside a gr.Column)."""
    slider = gr.ImageSlider(label="Before / after (drag the handle)", type="filepath",
                            interactive=False, elem_id=f"{tab}_compare", max_height=420,
                            buttons=["fullscreen"])
    panel = build_results_panel(tab)
    results = ToolResults(tab, panel, slider, gr.State([]))
    panel.gallery.select(_compare, inputs=results.pairs, outputs=slider, queue=False,
                         show_progress="hidden")
    return results


def _compare(pairs: list[list[str | None]], event: gr.SelectData) -> Any:
    index = event.index if isinstance(event.index, int) else 0
    if not pairs or not 0 <= index < len(pairs):
        return gr.ImageSlider()
    return _slider_value(pairs[index])


def _slider_value(pair: list[str | None]) -> Any:
    before, after = pair
    return gr.ImageSlider(value=(served(before or after), served(after)))


def before_path(ctx: UiContext, record: TaskRecord) -> str | None:
    """The task's input picture while our own upload of it lasts (None for a pasted URL)."""
    field = BEFORE_FIELDS.get(record.kind)
    path = ctx.runtime.local_host.path_for(record.request.get(field)) if field else None
    return str(path) if path else None


def run_tool(ctx: UiContext, results: ToolResults, *, visitor: str | None, last_tasks: Any,
             last_tasks_state: Any, build: Callable[[], list[Callable[[], Any]]],
             labels: dict[str, str]) -> Iterator[dict[Any, Any]]:
    """Check every input from its header (nothing is sent when one is bad; nothing decoded
    yet), take places within the limits, then for each place decode and host one input and
    submit its task (a task that may not run costs no memory or disk), remember the batch in
    the browser, then follow the tasks in order. `build` gives one maker per input."""
    if not visitor:
        toasts.warn(NO_VISITOR)
        yield KEEP  # a refusal keeps what is shown
        return
    try:
        pending = build()
    except InvalidRequestError as error:
        warn_invalid(error, labels)
        yield KEEP
        return
    try:
        tickets, refused = ctx.reserve(visitor, len(pending))
    except RateLimited as limited:
        toasts.warn(f"Not sent: {limited}")
        yield KEEP
        return
    ids: list[str] = []
    for number, (make, ticket) in enumerate(zip(pending, tickets, strict=False)):
        try:
            ids.append(ctx.submit(visitor, make(), ticket).task_id)
        except InvalidRequestError as error:  # the ones sent go on and are followed
            for unused in tickets[number:]:
                unused.release()
            warn_invalid(error, labels)
            refused = None
            break
        except BaseException:
            for unused in tickets[number:]:
                unused.release()
            raise
    if refused is not None:
        toasts.warn(f"{len(pending) - len(tickets)} not sent: {refused}")
    if not ids:
        yield KEEP
        return
    remembered = write_last_tasks({**read_last_tasks(last_tasks), results.tab: ",".join(ids)})
    yield {last_tasks_state: remembered, results.panel.gallery: [], results.panel.results: [],
           results.panel.infotext: "", results.pairs: [],
           results.slider: gr.ImageSlider(value=None),
           results.panel.status: f"Submitted {len(ids)} task(s)",
           **results.panel.following()}
    yield from follow(ctx, results, visitor, ids, controls_shown=True)


def follow(ctx: UiContext, results: ToolResults, visitor: str, ids: list[str], *,
           ended: Collection[str] = (),
           controls_shown: bool = False) -> Iterator[dict[Any, Any]]:
    """Stream a batch: each task's status in turn, the gallery growing as each one ends.
    A failure is a toast only when it happens while followed: the tasks in `ended` had
    already ended (a reload shows them), and say so in the status line alone."""
    panel = results.panel
    if not controls_shown and not all(i in ended for i in ids):
        yield panel.following()
    owner = ctx.owner(visitor)
    paths: list[str] = []
    captions: list[tuple[str, str]] = []
    pairs: list[list[str | None]] = []
    failed: list[str] = []
    calls = 0
    for number, task_id in enumerate(ids, 1):
        prefix = f"Image {number} of {len(ids)}: " if len(ids) > 1 else ""
        for event in ctx.events(visitor, task_id, previews=False):
            update: dict[Any, Any] = {
                panel.status: prefix + status_markdown(event),
                panel.progress: progress_html(event),
                panel.meter: meter_markdown(calls + event.billed_calls,
                                            ctx.engine.billed_calls(owner)),
            }
            if event.final:
                calls += event.billed_calls
                record = ctx.runtime.store.get(task_id, owner)
                before = before_path(ctx, record) if record else None
                shown_before = len(pairs)
                for image in event.images:
                    if image.shown and image.path:
                        paths.append(image.path)
                        captions.append((served(image.path), Path(image.path).name))
                        pairs.append([before, image.path])
                if event.error:
                    failed.append(f"{prefix}{event.error}")
                    if task_id not in ended:
                        toasts.warn(f"{prefix}{event.error}")
                update.update({panel.gallery: gr.Gallery(value=list(captions),
                                                         selected_index=None,
                                                         columns=grid_columns(len(captions))),
                               panel.results: list(paths),
                               results.pairs: [list(pair) for pair in pairs]})
                if pairs and not shown_before:  # the first result goes on the slider
                    update[results.slider] = _slider_value(pairs[0])
                    update[panel.infotext] = _first_infotext(paths)
            yield update
    done: dict[Any, Any] = panel.not_following()
    if len(ids) > 1:
        summary = f"Done: {len(ids) - len(failed)} of {len(ids)} succeeded"
        if failed:
            summary += "  \n" + "  \n".join(toasts.markdown_text(f) for f in failed)
        done[panel.status] = summary
    yield done


def _first_infotext(paths: list[str]) -> str:
    try:
        return (read_infotext(paths[0]) or "") if paths else ""
    except OSError:
        return ""


def reattach_tool(ctx: UiContext, results: ToolResults, visitor: str,
                  last_tasks: Any) -> Iterator[dict[Any, Any]]:
    """After a reload: the tab's last batch, followed again or shown as it ended."""
    value = read_last_tasks(last_tasks).get(results.tab)
    owner = ctx.owner(visitor)
    records = {i: ctx.runtime.store.get(i, owner) for i in (value or "").split(",") if i}
    ids = [i for i, record in records.items() if record]
    ended = {i for i, record in records.items() if record and record.is_final}
    if ids:
        yield from follow(ctx, results, visitor, ids, ended=ended)


def wire_tool(ctx: UiContext, results: ToolResults, *, run_button: gr.Button, visitor: Any,
              last_tasks: Any, inputs: set[Any],
              build: Callable[[dict[Any, Any]], list[Callable[[], Any]]],
              labels: dict[str, str]) -> tuple[Any, Callable[..., Iterator[dict[Any, Any]]]]:
    """Run button -> run_tool. Returns (the event, its handler taking Gradio's value dict).
    `build(data)` checks the form and every input without decoding it, and gives one maker
    per input that decodes, hosts and returns its request."""

    def run(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
            ) -> Iterator[dict[Any, Any]]:
        data = ctx.with_visitor(data, visitor, request)
        yield from run_tool(ctx, results, visitor=data[visitor], last_tasks=data[last_tasks],
                            last_tasks_state=last_tasks, build=lambda: build(data),
                            labels=labels)

    event = run_button.click(run, inputs={visitor, last_tasks, *inputs},
                             outputs=[*results.outputs, last_tasks], concurrency_limit=None,
                             show_progress="hidden")
    return event, run
