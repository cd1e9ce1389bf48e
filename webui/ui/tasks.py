"""Running a task from a tab, and finding it again after a reload: the glue between a tab's
form, the task engine and its results panel."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from webui.api.errors import FieldIssue, InvalidRequestError
from webui.core import untrusted
from webui.core.hosting import UploadRefused, prepare_upload
from webui.core.limits import RateLimited
from webui.ui import toasts
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.results import ResultsPanel

MAX_LAST_TASKS = 20_000  # characters of the browser's {tab: task ids} map


def read_last_tasks(value: Any) -> dict[str, str]:
    """The browser's {tab: task id} map. Kept as a JSON string: Gradio 6 hands a dict held in
    a BrowserState back with an "__type__": "update" key added, and then reads it as an
    update of the component."""
    if isinstance(value, str) and value:
        value = untrusted.loads(value, MAX_LAST_TASKS)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str) and not k.startswith("__")}


def write_last_tasks(tasks: dict[str, str]) -> str:
    return json.dumps(tasks, separators=(",", ":"))


# What a refused Generate or Run yields before it ends: a generator that ends without a yield
# has Gradio reset every output (the last good result and its status would go). One skip()
# for several outputs is "change none of them" (gradio/blocks.py, postprocess_data).
KEEP: Any = gr.skip()

PLACEHOLDER_URL = "http://127.0.0.1/placeholder.png"  # checks a form before any upload


def host_files(ctx: UiContext, visitor: str | None, files: dict[Any, str]) -> dict[Any, str]:
    """Check uploaded files and give each a URL for the service ({key: path} -> {key: URL}):
    the service's own URL for one of the visitor's results, else hosted. A refusal names the
    file's field and says why."""
    urls = {}
    owner = ctx.owner(visitor or "")
    for key, path in files.items():
        try:
            prepared = prepare_upload(Path(path).read_bytes(), "Control image")
            urls[key] = ctx.runtime.sources.url_for(owner, prepared.image, png=prepared.png,
                                                    what="Control image").url
        except OSError:
            raise _invalid("Control image: the upload could not be read") from None
        except UploadRefused as refused:
            raise _invalid(str(refused)) from None
    return urls


def _invalid(message: str) -> InvalidRequestError:
    return InvalidRequestError([FieldIssue("controlnet.image_link", message)])


def warn_invalid(error: InvalidRequestError, labels: dict[str, str]) -> None:
    """One warning per bad field, with the label the user sees and the allowed range."""
    for issue in error.issues:
        name = issue.field.split(".")[-1]
        label = labels.get(name)
        named = label and not issue.message.startswith(f"{label}:")  # uploads name themselves
        toasts.warn(f"{label}: {issue.message}" if named else issue.message)


def submit_and_stream(ctx: UiContext, panel: ResultsPanel, *, visitor: str | None,
                      last_tasks: Any, last_tasks_state: Any,
                      build: Callable[[], Any], labels: dict[str, str],
                      extra: Callable[[Any], dict[Any, Any]] | None = None
                      ) -> Iterator[dict[Any, Any]]:
    """A place within the limits first (nothing is uploaded for a task that may not run),
    then validate and upload (nothing is sent if invalid), submit, remember the task in the
    browser (so a reload finds it), then stream its events into the panel. A refusal keeps
    what the panel shows (see `KEEP`)."""
    if not visitor:
        toasts.warn(NO_VISITOR)
        yield KEEP
        return
    try:
        ticket = ctx.reserve(visitor)[0][0]
    except RateLimited as limited:
        toasts.warn(f"Not sent: {limited}")
        yield KEEP
        return
    try:
        request = build()
        handle = ctx.submit(visitor, request, ticket)
    except InvalidRequestError as error:
        ticket.release()
        warn_invalid(error, labels)
        yield KEEP
        return
    except BaseException:
        ticket.release()
        raise
    owner = ctx.owner(visitor)
    remembered = write_last_tasks({**read_last_tasks(last_tasks), panel.tab: handle.task_id})
    first = {last_tasks_state: remembered, panel.status: "Submitted", panel.gallery: [],
             panel.results: [], panel.infotext: "", **panel.following()}
    if extra:
        first.update(extra(request))
    yield first
    yield from panel.stream(ctx.events(visitor, handle.task_id),
                            lambda: ctx.engine.billed_calls(owner), controls_shown=True)


def wire_generate(ctx: UiContext, *, generate_button: Any, panel: ResultsPanel,
                  requests_view: Any, visitor: Any, last_tasks: Any, inputs: set[Any],
                  build: Callable[[dict[Any, Any]], Any],
                  preview: Callable[[dict[Any, Any]], Any], labels: dict[str, str]
                  ) -> tuple[Any, Callable[..., Iterator[dict[Any, Any]]],
                             Callable[[dict[Any, Any]], dict[Any, Any]]]:
    """Generate (validate, upload, submit, stream) and the Request panel of an SD tab.
    `build(data)` makes the request to send (uploading what it needs); `preview(data)` the
    same request without uploading. Returns (the Generate event, its handler, the preview
    handler); the handlers take the dict of component values Gradio passes."""

    def formatted(data: dict[Any, Any], make: Callable[[dict[Any, Any]], Any]) -> Any:
        return make(data).with_output_format(ctx.prefs(data[visitor]).output_format)

    def generate(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                 ) -> Iterator[dict[Any, Any]]:
        # before the page's load event has stored the id, the session's id is the same one
        data = ctx.with_visitor(data, visitor, request)
        yield from submit_and_stream(
            ctx, panel, visitor=data[visitor], last_tasks=data[last_tasks],
            last_tasks_state=last_tasks, build=lambda: formatted(data, build), labels=labels,
            extra=lambda sent: requests_view.views(ctx, sent))

    def preview_request(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                        ) -> dict[Any, Any]:
        data = ctx.with_visitor(data, visitor, request)
        try:
            return requests_view.views(ctx, formatted(data, preview))
        except InvalidRequestError as error:
            return requests_view.invalid(error)

    event = generate_button.click(generate, inputs={visitor, last_tasks, *inputs},
                                  outputs=[*panel.outputs, last_tasks, *requests_view.outputs],
                                  concurrency_limit=None, show_progress="hidden")
    requests_view.wire(preview_request, {visitor, *inputs})
    return event, generate, preview_request


def reattach(ctx: UiContext, panel: ResultsPanel, visitor: str,
             last_tasks: Any) -> Iterator[dict[Any, Any]]:
    """After a reload: follow the tab's last task again (no new submit), or show its results
    if it finished meanwhile. Only a task of this owner is ever shown."""
    task_id = read_last_tasks(last_tasks).get(panel.tab)
    if not task_id:
        return
    owner = ctx.owner(visitor)
    record = ctx.runtime.store.get(task_id, owner)
    if record is None:
        return
    if record.is_final:
        yield panel.show_record(record, ctx.engine.billed_calls(owner))
        return
    yield from panel.stream(ctx.events(visitor, task_id),
                            lambda: ctx.engine.billed_calls(owner))
