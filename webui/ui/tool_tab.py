"""What every tool tab (Extras, Face swap, ...) shares: a Run button, one task per input image
(batch), the results panel with a before/after slider, and finding the batch again after a
reload. A tool's own module only lays out its inputs and turns them into requests."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from webui.api.endpoints import ENDPOINTS
from webui.api.errors import InvalidRequestError
from webui.core.outputs import read_infotext
from webui.core.store import BatchRecord, TaskRecord
from webui.core.submission import Plan, PlannedTask
from webui.messages import Language, Msg
from webui.ui import toasts
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.language import current_language, say
from webui.ui.results import (
    ResultsPanel,
    build_results_panel,
    grid_columns,
    meter_markdown,
    progress_html,
    status_markdown,
)
from webui.ui.served import shown as served
from webui.ui.tasks import (
    KEEP,
    make_follower,
    read_last_tasks,
    reattach,
    send_plan,
    then_follow,
    warn_invalid,
    write_last_tasks,
)


@dataclass
class ToolResults:
    tab: str
    panel: ResultsPanel
    slider: gr.ImageSlider
    pairs: gr.State  # [[before path or None, after path], ...], aligned with panel.results
    finished: gr.Textbox  # the id of each batch followed to its end (the page's notice)

    @property
    def outputs(self) -> list[Any]:
        return [*self.panel.outputs, self.slider, self.pairs]


def build_tool_results(tab: str) -> ToolResults:
    """The right-hand column of a tool tab (call inside a gr.Column)."""
    slider = gr.ImageSlider(label="Before / after (drag the handle)", type="filepath",
                            interactive=False, elem_id=f"{tab}_compare", max_height=420,
                            buttons=["fullscreen"])
    panel = build_results_panel(tab)
    finished = gr.Textbox("", visible="hidden", elem_id=f"{tab}_finished", label="finished")
    results = ToolResults(tab, panel, slider, gr.State([]), finished)
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
    endpoint = ENDPOINTS.get(record.kind)  # the field holding the picture a result replaces
    field = endpoint.before_field if endpoint else None
    path = ctx.runtime.local_host.path_for(record.request.get(field)) if field else None
    return str(path) if path else None


def run_tool(ctx: UiContext, results: ToolResults, *, visitor: str | None, last_tasks: Any,
             last_tasks_state: Any, build: Callable[[], list[Callable[[], Any]]],
             labels: dict[str, str]) -> dict[Any, Any]:
    """Check every input from its header (nothing is sent when one is bad; nothing decoded
    yet), then send one task per input (`SubmissionService`: places within the limits first,
    as many as allowed; each input decoded and hosted only once its task has a place), and
    remember the batch in the browser. Returns at once: the tab's follower shows it."""
    if not visitor:
        toasts.warn(NO_VISITOR)
        return KEEP  # a refusal keeps what is shown
    try:
        pending = build()
    except InvalidRequestError as error:
        warn_invalid(error, labels)
        return KEEP
    plan = Plan(results.tab, tuple(PlannedTask(make=make) for make in pending), whole=False)
    batch = send_plan(ctx, visitor, plan, labels)
    if batch is None:
        return KEEP
    remembered = write_last_tasks({**read_last_tasks(last_tasks), results.tab: batch.id})
    count = len(batch.task_ids)
    return {last_tasks_state: remembered, results.panel.gallery: [], results.panel.results: [],
            results.panel.infotext: "", results.pairs: [],
            results.slider: gr.ImageSlider(value=None),
            results.panel.status: say(Msg("tasks.submitted", count=count))}


@dataclass
class ToolView:
    """A batch of a tool tab in its results panel (`tasks.follow_tab` drives it)."""

    results: ToolResults

    @property
    def tab(self) -> str:
        return self.results.tab

    def stream(self, ctx: UiContext, visitor: str, batch: BatchRecord,
               stop: Callable[[], bool] | None = None, done: dict[Any, Any] | None = None
               ) -> Generator[dict[Any, Any], None, bool]:
        return (yield from follow(ctx, self.results, visitor, batch, stop=stop, done=done))


def follow(ctx: UiContext, results: ToolResults, visitor: str, batch: BatchRecord, *,
           stop: Callable[[], bool] | None = None, done: dict[Any, Any] | None = None
           ) -> Generator[dict[Any, Any], None, bool]:
    """Stream a batch: each task's status as it changes, the gallery growing as each one
    ends (in the batch's order). A failure is a toast only when it happens while followed:
    tasks that had already ended (a reload shows them) say so in the status line alone.
    Returns True once every task ended, False when `stop()` ended it first."""
    panel = results.panel
    owner = ctx.owner(visitor)
    ids = list(batch.task_ids)
    controls = False
    ended: set[str] = set()
    failed: list[str] = []
    complete = False
    for progress in ctx.submissions.follow(visitor, batch, stop=stop):
        language = current_language()  # set by Gradio around each step of the stream
        if progress.changed is None:
            ended = {e.task_id for e in progress.finished}
        event = progress.changed
        if event is None:
            event = next((progress.events[i] for i in ids if i in progress.events
                          and not progress.events[i].final), None) or \
                next(iter(progress.events.values()), None)
        if event is None:
            break
        number = ids.index(event.task_id) + 1

        def of_image(text: Any, number: int = number, language: Language = language) -> str:
            """'Image 2 of 3: ...' when there are several."""
            if len(ids) == 1:
                return say(text, language)
            return say(Msg("tools.image_of", number=number, total=len(ids), text=text),
                       language)

        update: dict[Any, Any] = {
            panel.status: of_image(status_markdown(event, language)),
            panel.progress: progress_html(event),
            panel.meter: meter_markdown(progress.billed_calls, ctx.engine.billed_calls(owner),
                                        language=language),
        }
        if not controls and not progress.done:
            update.update(panel.following())
            controls = True
        if progress.changed is not None and event.final and event.error:
            failed.append(of_image(event.reason))
            if event.task_id not in ended:
                toasts.warn(of_image(event.reason))
        elif progress.changed is None:
            failed = [of_image(e.reason, ids.index(e.task_id) + 1) for e in progress.failed]
        if progress.changed is None or event.final:
            update.update(_gallery(ctx, results, owner, ids, progress))
        if progress.done:
            complete = True
            update.update(panel.not_following())
            update.update(done or {})
            if len(ids) > 1:
                summary = say(Msg("tools.done", succeeded=len(ids) - len(progress.failed),
                                  total=len(ids)), language)
                if failed:
                    summary += "  \n" + "  \n".join(toasts.markdown_text(f) for f in failed)
                update[panel.status] = summary
        yield update
    return complete


def _gallery(ctx: UiContext, results: ToolResults, owner: str, ids: list[str],
             progress: Any) -> dict[Any, Any]:
    """The finished tasks' images, in order, each paired with the picture it replaces."""
    panel = results.panel
    paths: list[str] = []
    captions: list[tuple[str, str]] = []
    pairs: list[list[str | None]] = []
    for task_id in ids:
        event = progress.events.get(task_id)
        if event is None or not event.final:
            continue
        record = ctx.runtime.store.get(task_id, owner)
        before = before_path(ctx, record) if record else None
        for image in event.images:
            if image.shown and image.path:
                paths.append(image.path)
                captions.append((served(image.path), Path(image.path).name))
                pairs.append([before, image.path])
    update: dict[Any, Any] = {
        panel.gallery: gr.Gallery(value=list(captions), selected_index=None,
                                  columns=grid_columns(len(captions))),
        panel.results: list(paths), results.pairs: [list(pair) for pair in pairs]}
    if pairs:
        update[results.slider] = _slider_value(pairs[0])
        update[panel.infotext] = _first_infotext(paths)
    return update


def _first_infotext(paths: list[str]) -> str:
    try:
        return (read_infotext(paths[0]) or "") if paths else ""
    except OSError:
        return ""


def reattach_tool(ctx: UiContext, results: ToolResults, visitor: str,
                  last_tasks: Any) -> Iterator[dict[Any, Any]]:
    """After a reload: the tab's last batch, followed again or shown as it ended."""
    yield from reattach(ctx, ToolView(results), visitor, last_tasks)


def wire_tool(ctx: UiContext, results: ToolResults, *, run_button: gr.Button, visitor: Any,
              last_tasks: Any, inputs: set[Any],
              build: Callable[[dict[Any, Any]], list[Callable[[], Any]]],
              labels: dict[str, str]
              ) -> tuple[Any, Any, Callable[..., Iterator[dict[Any, Any]]]]:
    """Run button -> run_tool (returns at once), then the tab's follower. Returns (the
    click, the follow event, a handler that runs then follows, taking Gradio's value dict).
    `build(data)` checks the form and every input without decoding it, and gives one maker
    per input that decodes, hosts and returns its request."""

    def run(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
            ) -> dict[Any, Any]:
        data = ctx.with_visitor(data, visitor, request)
        return run_tool(ctx, results, visitor=data[visitor], last_tasks=data[last_tasks],
                        last_tasks_state=last_tasks, build=lambda: build(data), labels=labels)

    event = run_button.click(run, inputs={visitor, last_tasks, *inputs},
                             outputs=[*results.outputs, last_tasks], concurrency_limit=None,
                             show_progress="hidden", trigger_mode="multiple")
    follower = make_follower(ctx, ToolView(results), visitor=visitor, last_tasks=last_tasks,
                             outputs=[*results.outputs, results.finished],
                             finished=results.finished)
    follower.event = follower.after(event)
    return event, follower, then_follow(run, follower, last_tasks)
