"""History: this visitor's tasks, newest first, a page at a time (filter by kind, search the
prompt). Opening one shows its images, infotext and request, follows it live while it runs,
and offers Send to, re-run (same or new seed) and delete."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from webui.api.errors import InvalidRequestError
from webui.core.history import (
    FAVOURITES,
    INPUTS_EXPIRED,
    KIND_LABELS,
    SEEDED_KINDS,
    TASK_GONE,
    BadTags,
    HistoryPage,
    HistoryRow,
    delete_task,
    history_page,
    list_filters,
    not_deleted,
    page_number,
    parse_tags,
    rerun_request,
)
from webui.core.history import deleted as deleted_message
from webui.core.hosting import UPLOADS_PATH
from webui.core.limits import RateLimited
from webui.messages import Language, Msg, message
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.controls import shown_code
from webui.ui.followups import FollowUpRow, bill_markdown, build_followups, wire_followups
from webui.ui.history_grid import (
    HistoryGrid,
    build_history_grid,
    build_view_switch,
    wire_history_grid,
)
from webui.ui.language import confirm_first_js, current_language, say
from webui.ui.opened import opened_picture, opened_task, opened_value
from webui.ui.results import ResultsPanel, build_results_panel, meter_markdown
from webui.ui.share_link import ShareRow, build_share_row, existing_link, wire_share_row
from webui.ui.tasks import warn_invalid

TAB = "history"
KIND_CHOICES = [("All kinds", ""), ("★ Favourites", FAVOURITES),
                *((label, kind) for kind, label in KIND_LABELS.items())]
MAX_TAGS_TEXT = 2_000  # characters of the Tags box read (a scripted call may send megabytes)
# the browser asks first (a cancel deletes nothing)
CONFIRM_DELETE_JS = confirm_first_js("history.delete_question")
ROW_CLICK_JS = """
const open = (row) => row && trigger('click', {task: row.dataset.task});
element.addEventListener('click', (e) => open(e.target.closest('[data-task]')));
element.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') open(e.target.closest('[data-task]'));
});
"""


@dataclass
class HistoryTab:
    tab: gr.Tab
    kind: gr.Dropdown
    search: gr.Textbox
    page: gr.State
    rows: gr.HTML
    pager: gr.Markdown
    panel: ResultsPanel
    opened: gr.State  # "<task id>|<nonce>": a change re-opens, even the same task
    request_json: gr.Code
    rerun: gr.Button
    rerun_seed: gr.Button
    delete: gr.Button
    favourite: gr.Button  # ☆ / ★: the opened task marked, kept in the store
    tags: gr.Textbox  # the opened task's tags ("#tag" in the search finds them)
    save_tags: gr.Button
    send_txt2img: gr.Button  # wired by `ui/send_to.py`, with the panel's other Send to
    followups: FollowUpRow  # Vary, Upscale, Detail faces, Outpaint of the chosen picture
    grid: HistoryGrid  # the page's pictures, A / B compare
    share: ShareRow  # a read-only link to the chosen picture
    refresh_outputs: list[Any]
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)  # for tests


def build_history(ctx: UiContext, visitor: gr.BrowserState) -> HistoryTab:
    with gr.Tab("History", id=TAB, elem_id="tab_history") as tab:
        with gr.Row(equal_height=False):
            with gr.Column(scale=6):
                with gr.Row():
                    kind = gr.Dropdown(KIND_CHOICES, value="", label="Kind", scale=1,
                                       elem_id=f"{TAB}_kind")
                    search = gr.Textbox(label="Search prompts", max_lines=1, scale=2,
                                        placeholder="words of the prompt; #tag for a tag",
                                        elem_id=f"{TAB}_search")
                    view = build_view_switch(TAB)
                    refresh = gr.Button("Refresh", size="sm", scale=0,
                                        elem_id=f"{TAB}_refresh")
                rows = gr.HTML("", js_on_load=ROW_CLICK_JS, elem_id=f"{TAB}_rows",
                               padding=False)
                with gr.Row():
                    previous = gr.Button("◀ Newer", size="sm", elem_id=f"{TAB}_newer")
                    pager = gr.Markdown("", elem_id=f"{TAB}_pager")
                    following = gr.Button("Older ▶", size="sm", elem_id=f"{TAB}_older")
                grid = build_history_grid(TAB, view)
            with gr.Column(scale=5, elem_id=f"{TAB}_detail"):
                panel = build_results_panel(TAB)
                with gr.Row():
                    send_txt2img = gr.Button("Send to txt2img", size="sm",
                                             elem_id=f"{TAB}_send_txt2img")
                    rerun = gr.Button("Re-run", size="sm", elem_id=f"{TAB}_rerun")
                    rerun_seed = gr.Button("Re-run with a new seed", size="sm",
                                           elem_id=f"{TAB}_rerun_seed")
                    favourite = gr.Button("☆ Favourite", size="sm",
                                          elem_id=f"{TAB}_favourite")
                    delete = gr.Button("Delete", size="sm", variant="stop",
                                       elem_id=f"{TAB}_delete")
                with gr.Row(equal_height=True):
                    tags = gr.Textbox(label="Tags", max_lines=1, scale=3,
                                      placeholder="portrait, sky (search them as #portrait)",
                                      elem_id=f"{TAB}_tags")
                    save_tags = gr.Button("Save tags", size="sm", scale=0, min_width=100,
                                          elem_id=f"{TAB}_save_tags")
                share = build_share_row(TAB)
                followups = build_followups(TAB)
                # the answer to "Delete this task?" (CONFIRM_DELETE_JS sets it)
                confirmed = gr.Checkbox(False, visible="hidden", show_label=False,
                                        elem_id=f"{TAB}_delete_confirmed")
                request_json = gr.Code(label="Request JSON (as sent, callback URL left out)",
                                       language="json", interactive=False,
                                       elem_id=f"{TAB}_request",
                                       visible=False)  # shown with a task: see shown_code
        page = gr.State(1)  # inside the tab: between two tabs it would show as one
        opened = gr.State("")
    listing = [rows, pager, page]
    history = HistoryTab(tab, kind, search, page, rows, pager, panel, opened, request_json,
                         rerun, rerun_seed, delete, favourite, tags, save_tags, send_txt2img, followups, grid,
                         share, listing)
    history.handlers = _wire(ctx, history, visitor, refresh, previous, following, confirmed)
    handlers, events = wire_followups(
        ctx, followups, visitor=visitor, opened=opened, results=panel.results,
        selected=panel.selected)
    for event in events:  # the new task's row
        event.then(history.handlers["listing"], inputs=[visitor, kind, search, page],
                   outputs=listing, queue=False)
    history.handlers.update({f"followup_{name}": handler for name, handler in handlers.items()})
    history.handlers.update({f"share_{name}": handler for name, handler in wire_share_row(
        ctx, share, visitor=visitor, opened=opened, selected=panel.selected,
        gallery=panel.gallery).items()})

    history.handlers.update({f"grid_{name}": handler for name, handler in wire_history_grid(
        ctx, grid, visitor=visitor, kind=kind, search=search, page=page, rows=rows,
        opened=opened, listing=history.handlers["listing"],
        listing_outputs=listing).items()})
    return history


def _wire(ctx: UiContext, h: HistoryTab, visitor: Any, refresh: gr.Button,
          previous: gr.Button, following: gr.Button, confirmed: gr.Checkbox
          ) -> dict[str, Callable[..., Any]]:
    def listing(visitor_id: str | None, kind: str, text: str, page: int,
                request: gr.Request = None  # type: ignore[assignment]
                ) -> dict[Any, Any]:
        visitor_id = ctx.visitor_id(visitor_id, request)
        if not visitor_id:
            return gr.skip()
        return page_of(visitor_id, kind, text, page, current_language())

    def page_of(visitor_id: str, kind: str, text: str, page: Any,
                language: Language = Language.EN) -> dict[Any, Any]:
        """A page of the list, for a visitor already resolved by the calling handler, in the
        visitor's language (what they typed shown as typed)."""
        found = history_page(ctx.runtime.store, ctx.thumbs, ctx.owner(visitor_id),
                             page=page_number(page or 1), language=language,
                             **list_filters(kind, text))
        return {h.rows: rows_html(found, language), h.pager: pager_text(found, language),
                h.page: found.page}

    filters = [visitor, h.kind, h.search]
    for trigger in (h.tab.select, refresh.click):
        trigger(listing, inputs=[*filters, h.page], outputs=h.refresh_outputs, queue=False)
    def first_page(v: Any, k: str, t: str, request: gr.Request) -> dict[Any, Any]:
        return listing(v, k, t, 1, request)

    def newer(v: Any, k: str, t: str, p: Any, request: gr.Request) -> dict[Any, Any]:
        return listing(v, k, t, page_number(p) - 1, request)

    def older(v: Any, k: str, t: str, p: Any, request: gr.Request) -> dict[Any, Any]:
        return listing(v, k, t, page_number(p) + 1, request)

    for trigger in (h.kind.change, h.search.submit, h.search.change):
        trigger(first_page, inputs=filters, outputs=h.refresh_outputs,
                queue=False, trigger_mode="always_last")
    previous.click(newer, inputs=[*filters, h.page], outputs=h.refresh_outputs, queue=False)
    following.click(older, inputs=[*filters, h.page], outputs=h.refresh_outputs, queue=False)

    def show(visitor_id: str | None, opened: str,
             request: gr.Request = None  # type: ignore[assignment]
             ) -> Iterator[dict[Any, Any]]:
        # Every way out yields: a generator that yields nothing sets each output to None, and
        # a button set to None loses its text (Delete's clearing of `opened` comes here). The
        # way out yields one skip() ("change none"): Gradio refuses an empty dict for several
        # outputs with a ValueError in the log.
        visitor_id = ctx.visitor_id(visitor_id, request)
        task_id, picked = opened_task(opened), opened_picture(opened)  # the grid's picture
        if not visitor_id or not task_id:
            yield gr.skip()
            return
        owner = ctx.owner(visitor_id)
        record = ctx.runtime.store.get(task_id, owner)
        if record is None:
            toasts.warn(TASK_GONE)
            yield gr.skip()
            return
        marked = task_id in ctx.runtime.store.favourite_ids(owner, [task_id])
        first = {h.request_json: shown_code(json.dumps(record.request, indent=2,
                                                       ensure_ascii=False)),
                 h.rerun_seed: gr.Button(interactive=record.kind in SEEDED_KINDS),
                 h.favourite: favourite_button(marked),
                 h.followups.bill: bill_markdown(ctx, visitor_id),
                 h.tags: ", ".join(ctx.runtime.store.tags_of(owner, [task_id]).get(task_id, [])),
                 h.share.link: existing_link(ctx, record, owner, picked)}
        if record.is_final:
            yield {**first, **h.panel.show_record(ctx.runtime.store.local(record),
                                                  ctx.engine.billed_calls(owner), picked)}
            return
        yield {**first, h.panel.gallery: [], h.panel.results: [], h.panel.infotext: ""}
        yield from h.panel.stream(ctx.events(visitor_id, task_id),
                                  lambda: ctx.engine.billed_calls(owner))

    show_event = h.opened.change(
        show, inputs=[visitor, h.opened],
        outputs=[*h.panel.outputs, h.request_json, h.rerun_seed, h.favourite,
                 h.followups.bill, h.share.link, h.tags],
        concurrency_limit=None,
        show_progress="hidden")
    # when the opened task ends, its row shows it
    show_event.then(listing, inputs=[*filters, h.page], outputs=h.refresh_outputs, queue=False)
    h.rows.click(opened_from_click, outputs=h.opened, cancels=[show_event])
    # as on the other tabs: the status says what stopping means once the cancel went through
    h.panel.interrupt.click(None, cancels=[show_event], queue=False).then(
        h.panel.interrupted, outputs=h.panel.interrupt_outputs, queue=False,
        show_progress="hidden")

    def rerun(visitor_id: str | None, opened: str, kind: str, text: str, new_seed: bool,
              request: Any = None) -> dict[Any, Any]:
        visitor_id = ctx.visitor_id(visitor_id, request)
        task_id = _opened_task(visitor_id, opened)
        if not visitor_id or not task_id:
            return gr.skip()
        owner = ctx.owner(visitor_id)
        record = ctx.runtime.store.get(task_id, owner)
        if record is None:
            toasts.warn(TASK_GONE)
            return gr.skip()
        if _expired_inputs(ctx, record.request):
            toasts.warn(INPUTS_EXPIRED)
            return gr.skip()
        try:
            task_request = rerun_request(record, new_seed=new_seed)
        except InvalidRequestError as error:
            warn_invalid(error, {})
            return gr.skip()
        try:
            handle = ctx.submit(visitor_id, task_request)
        except RateLimited as limited:
            toasts.warn(Msg("send.not_sent", reason=limited))
            return gr.skip()
        return {**page_of(visitor_id, kind, text, 1, current_language()),
                h.opened: opened_value(handle.task_id)}

    def rerun_same(v: Any, o: str, k: str, t: str, request: gr.Request) -> dict[Any, Any]:
        return rerun(v, o, k, t, False, request)

    def rerun_new_seed(v: Any, o: str, k: str, t: str, request: gr.Request) -> dict[Any, Any]:
        return rerun(v, o, k, t, True, request)

    for button, handler in ((h.rerun, rerun_same), (h.rerun_seed, rerun_new_seed)):
        button.click(handler, inputs=[visitor, h.opened, h.kind, h.search],
                     outputs=[*h.refresh_outputs, h.opened], cancels=[show_event])

    def delete(visitor_id: str | None, opened: str, kind: str, text: str, page: int,
               confirmed: Any = True, request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[Any, Any]:
        if confirmed is not True:  # the visitor answered Cancel to "Delete this task?"
            return gr.skip()
        visitor_id = ctx.visitor_id(visitor_id, request)
        task_id = _opened_task(visitor_id, opened)
        if not visitor_id or not task_id:
            return gr.skip()
        try:
            deleted = delete_task(ctx.runtime.store, ctx.thumbs, task_id, ctx.owner(visitor_id))
        except ValueError as exc:
            toasts.warn(not_deleted(exc))
            return gr.skip()
        if deleted is None:
            toasts.warn(TASK_GONE)
        else:
            toasts.info(deleted_message(deleted))
        owner = ctx.owner(visitor_id)
        cleared = {h.panel.gallery: [], h.panel.results: [], h.panel.selected: None,
                   h.panel.infotext: "", h.panel.status: say(Msg("history.deleted_status")),
                   h.request_json: gr.Code("", visible=False),
                   h.panel.meter: meter_markdown(0, ctx.engine.billed_calls(owner)),
                   h.opened: "", h.favourite: favourite_button(False), h.share.link: "",
                   h.tags: ""}
        return {**page_of(visitor_id, kind, text, page, current_language()), **cleared}

    def favourite(visitor_id: str | None, opened: str, kind: str, text: str, page: int,
                  request: gr.Request = None  # type: ignore[assignment]
                  ) -> dict[Any, Any]:
        """☆ marks the opened task, ★ unmarks it (the button says which it is now)."""
        visitor_id = ctx.visitor_id(visitor_id, request)
        task_id = _opened_task(visitor_id, opened)
        if not visitor_id or not task_id:
            return gr.skip()
        owner = ctx.owner(visitor_id)
        marked = task_id in ctx.runtime.store.favourite_ids(owner, [task_id])
        if not ctx.runtime.store.set_favourite(task_id, owner, not marked):
            toasts.warn(TASK_GONE)
            return gr.skip()
        return {**page_of(visitor_id, kind, text, page, current_language()),
                h.favourite: favourite_button(not marked)}

    def save_tags(visitor_id: str | None, opened: str, typed: Any, kind: str, text: str,
                  page: int, request: gr.Request = None  # type: ignore[assignment]
                  ) -> dict[Any, Any]:
        """The opened task's tags become what is typed (each once, lower case)."""
        visitor_id = ctx.visitor_id(visitor_id, request)
        task_id = _opened_task(visitor_id, opened)
        if not visitor_id or not task_id:
            return gr.skip()
        try:
            tags = parse_tags(typed[:MAX_TAGS_TEXT] if isinstance(typed, str) else "")
        except BadTags as bad:
            toasts.warn(Msg("field.labelled", label=Msg("history.tags"), text=bad.msg))
            return gr.skip()
        if not ctx.runtime.store.set_tags(task_id, ctx.owner(visitor_id), tags):
            toasts.warn(TASK_GONE)
            return gr.skip()
        toasts.info(Msg("history.tags_saved", count=len(tags)))
        return {**page_of(visitor_id, kind, text, page, current_language()),
                h.tags: ", ".join(sorted(tags))}  # as it shows when opened

    # queued: its toasts reach the page only through the queue
    h.save_tags.click(save_tags, inputs=[visitor, h.opened, h.tags, h.kind, h.search, h.page],
                      outputs=[*h.refresh_outputs, h.tags], show_progress="hidden")
    h.tags.submit(save_tags, inputs=[visitor, h.opened, h.tags, h.kind, h.search, h.page],
                  outputs=[*h.refresh_outputs, h.tags], show_progress="hidden")
    h.favourite.click(favourite, inputs=[visitor, h.opened, h.kind, h.search, h.page],
                      outputs=[*h.refresh_outputs, h.favourite], queue=False,
                      show_progress="hidden")
    h.delete.click(delete, inputs=[visitor, h.opened, h.kind, h.search, h.page, confirmed],
                   outputs=[*h.refresh_outputs, *h.panel.outputs, h.request_json, h.opened,
                            h.favourite, h.share.link, h.tags],
                   js=CONFIRM_DELETE_JS, cancels=[show_event])
    return {"listing": listing, "show": show, "rerun": rerun, "delete": delete,
            "favourite": favourite, "save_tags": save_tags}


def favourite_button(marked: bool) -> Any:
    return gr.Button(value=say(Msg("history.unfavourite") if marked else Msg("history.favourite")))


def _opened_task(visitor_id: str | None, opened: Any) -> str | None:
    task_id = opened_task(opened)
    if not visitor_id or not task_id:
        toasts.warn(Msg("history.open_first"))
        return None
    return task_id


def opened_from_click(event: gr.EventData) -> str:
    """The row's task id (the page sends it), with a nonce so the same row re-opens."""
    task_id = getattr(event, "_data", None) or {}
    task_id = task_id.get("task") if isinstance(task_id, dict) else None
    return opened_value(task_id) if isinstance(task_id, str) and task_id else ""


def _expired_inputs(ctx: UiContext, request: Any) -> bool:
    """Whether any picture of the request was our own upload and is gone by now."""
    prefix = f"{(ctx.runtime.public_url or '').rstrip('/')}{UPLOADS_PATH}/"

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        elif isinstance(value, str) and value.startswith(prefix):
            yield value

    return any(ctx.runtime.local_host.path_for(url) is None for url in walk(request))


# --- rendering ----------------------------------------------------------------------------------


HEADINGS = ("kind", "state", "prompt", "images", "billed_calls", "took", "created")


def rows_html(found: HistoryPage, language: Language = Language.EN) -> str:
    """The table, rendered here in the visitor's language (nothing in it is rewritten in the
    browser: a prompt is shown as typed)."""
    if not found.rows:
        return f'<p class="zq-history-empty">{html.escape(message("history.empty", language))}</p>'
    body = "".join(_row(row, language) for row in found.rows)
    headings = "".join(f"<th>{html.escape(message(f'history.heading.{name}', language))}</th>"
                       for name in HEADINGS)
    return (f'<table class="zq-history"><thead><tr><th></th>{headings}'
            f"</tr></thead><tbody>{body}</tbody></table>")


def _row(row: HistoryRow, language: Language = Language.EN) -> str:
    e = html.escape
    thumb = (f'<img src="{e(row.thumbnail)}" alt="" width="48" height="48" loading="lazy">'
             if row.thumbnail else '<span class="zq-nothumb"></span>')
    tags = "".join(f' <span class="zq-tag">#{e(tag)}</span>' for tag in row.tags)
    state_class = "zq-failed" if row.failed else ("zq-done" if row.final else "zq-running")
    prompt = row.prompt if len(row.prompt) <= 140 else row.prompt[:137] + "..."
    return (f'<tr data-task="{e(row.id)}" tabindex="0" '
            f'title="{e(message("history.open", language))}">'
            f'<td>{thumb}</td><td class="zq-nowrap">{e(row.kind)}</td>'
            f'<td class="{state_class}">{e(row.state)}</td>'
            f'<td>{"★ " if row.favourite else ""}{e(prompt)}{tags}</td>'
            f"<td>{row.images}</td><td>{row.billed_calls}</td>"
            f'<td class="zq-nowrap">{e(row.took)}</td>'
            f'<td class="zq-nowrap">{e(row.created)}</td></tr>')


def pager_text(found: HistoryPage, language: Language = Language.EN) -> str:
    return message("history.pager", language, page=found.page, pages=found.pages,
                   total=found.total)
