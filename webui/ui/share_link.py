"""History's share link of the opened task's chosen picture (`core/shares.py` serves it):
Share link makes it (or shows the one made before), Revoke link ends it. The link is shown
whole: the page makes it absolute against its own address (behind any proxy or path)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.core.history import TASK_GONE
from webui.core.shares import share_path
from webui.core.store import TaskRecord
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.opened import opened_task

# "/share/<token>" -> "https://<the page's address>/share/<token>"
ABSOLUTE_JS = """(link) => {
  if (!link || !link.startsWith('/')) return link;
  const here = location.href.split('#')[0].split('?')[0].replace(/[^/]*$/, '');
  return new URL(link.slice(1), here).href;
}"""


@dataclass
class ShareRow:
    share: gr.Button
    revoke: gr.Button
    link: gr.Textbox


def build_share_row(tab: str) -> ShareRow:
    with gr.Row(equal_height=True):
        share = gr.Button("Share link", size="sm", scale=0, min_width=120,
                          elem_id=f"{tab}_share")
        revoke = gr.Button("Revoke link", size="sm", scale=0, min_width=120,
                           elem_id=f"{tab}_revoke")
        link = gr.Textbox(label="Read-only link to the chosen picture", interactive=False,
                          max_lines=1, buttons=["copy"], elem_id=f"{tab}_share_url", scale=3)
    return ShareRow(share, revoke, link)


def existing_link(ctx: UiContext, record: TaskRecord, owner: str, picture: Any) -> str:
    """The link already made for that picture of the task, or ""."""
    index = picture if isinstance(picture, int) else 0
    token = ctx.runtime.store.share_token(record.id, owner, index)
    return share_path(token) if token else ""


def wire_share_row(ctx: UiContext, row: ShareRow, *, visitor: Any, opened: gr.State,
                   selected: gr.State, gallery: gr.Gallery) -> dict[str, Callable[..., Any]]:
    """`gallery`: the opened task's; a picture chosen in it shows its own link."""
    def chosen(visitor_id: Any, opened_value: Any, picture: Any, request: Any
               ) -> tuple[str, str, int] | None:
        """(owner, task id, picture) of the opened task's chosen picture, the owner's."""
        visitor_id = ctx.visitor_id(visitor_id, request)
        task_id = opened_task(opened_value)
        if not visitor_id or not task_id:
            toasts.warn(Msg("history.open_first"))
            return None
        owner = ctx.owner(visitor_id)
        record = ctx.runtime.store.get(task_id, owner)
        index = picture if isinstance(picture, int) and not isinstance(picture, bool) else 0
        shown = [image for image in record.images if image.shown] if record else []
        if record is None or not 0 <= index < len(shown):
            toasts.warn(TASK_GONE)
            return None
        return owner, task_id, index

    def share(visitor_id: Any, opened_value: Any, picture: Any,
              request: gr.Request = None  # type: ignore[assignment]
              ) -> Any:
        found = chosen(visitor_id, opened_value, picture, request)
        token = ctx.runtime.store.share(found[1], found[0], found[2]) if found else None
        if token is None:
            return gr.skip()
        toasts.info(Msg("history.share_made"))
        return share_path(token)

    def revoke(visitor_id: Any, opened_value: Any, picture: Any,
               request: gr.Request = None  # type: ignore[assignment]
               ) -> Any:
        found = chosen(visitor_id, opened_value, picture, request)
        if found is None:
            return gr.skip()
        if not ctx.runtime.store.revoke_share(found[1], found[0], found[2]):
            toasts.warn(Msg("history.share_none"))
            return gr.skip()
        toasts.info(Msg("history.share_revoked"))
        return ""

    def picked_link(visitor_id: Any, opened_value: Any, event: gr.SelectData,
                    request: gr.Request = None  # type: ignore[assignment]
                    ) -> Any:
        """A picture chosen in the opened task's gallery: its link, if it has one."""
        who = ctx.visitor_id(visitor_id, request)
        task_id = opened_task(opened_value)
        record = ctx.runtime.store.get(task_id, ctx.owner(who)) if who and task_id else None
        if record is None:
            return gr.skip()
        return existing_link(ctx, record, ctx.owner(who), event.index)

    inputs = [visitor, opened, selected]
    # queued: their toasts reach the page only through the queue
    row.share.click(share, inputs=inputs, outputs=row.link)
    row.revoke.click(revoke, inputs=inputs, outputs=row.link)
    row.link.change(None, inputs=row.link, outputs=row.link, js=ABSOLUTE_JS)
    gallery.select(picked_link, inputs=[visitor, opened], outputs=row.link, queue=False,
                   show_progress="hidden")
    return {"share": share, "revoke": revoke, "picked_link": picked_link}
