"""History's follow-ups of the opened task's picture (the selected one, else the first):
Vary, Upscale x2, Detail faces, Outpaint (`core/followups.py`), one request each, sent as
Generate sends (the visitor's limits, their key, their bill) and opened in History at once.
The line above the buttons says what one costs, from the same estimate Generate shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr
from PIL import Image

from webui.api.errors import InvalidRequestError
from webui.core.followups import FollowUp, make_followup
from webui.core.history import TASK_GONE
from webui.core.hosting import UploadRefused
from webui.core.limits import RateLimited
from webui.core.sources import pixel_fingerprint
from webui.core.submission import Plan, PlannedTask
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.language import say
from webui.ui.opened import opened_value
from webui.ui.results import chosen_path
from webui.ui.tasks import warn_invalid

BUTTONS = {FollowUp.VARY_SUBTLE: "Vary (subtle)", FollowUp.VARY_STRONG: "Vary (strong)",
           FollowUp.UPSCALE: "Upscale ×2", FollowUp.DETAIL_FACES: "Detail faces",
           FollowUp.OUTPAINT_LEFT: "Outpaint ◀", FollowUp.OUTPAINT_RIGHT: "Outpaint ▶",
           FollowUp.OUTPAINT_UP: "Outpaint ▲", FollowUp.OUTPAINT_DOWN: "Outpaint ▼"}
FOLLOW_UPS = {kind.value for kind in FollowUp}
LABELS = {"image_link": "Image", "mask_link": "Mask", "image": "Image"}  # refusals' fields


@dataclass
class FollowUpRow:
    bill: gr.Markdown  # "Each is one request: 1 task, 1 image, about 1 billed call"
    buttons: dict[FollowUp, gr.Button]


def build_followups(tab: str) -> FollowUpRow:
    bill = gr.Markdown("", elem_id=f"{tab}_followup_bill", elem_classes="zq-meter")
    buttons = {}
    with gr.Column(elem_id=f"{tab}_followups"):
        for outpaint in (False, True):  # the four sides on a row of their own
            with gr.Row():
                buttons.update({kind: gr.Button(text, size="sm", min_width=60,
                                                elem_id=f"{tab}_followup_{kind.value}")
                                for kind, text in BUTTONS.items() if kind.outpaint == outpaint})
    return FollowUpRow(bill, buttons)


@dataclass
class PanelFollowUp:
    """txt2img's and img2img's follow-up of their chosen picture: it runs in History."""

    choice: gr.Dropdown
    send: gr.Button


def build_panel_followup(tab: str) -> PanelFollowUp:
    """Call under the tab's results panel."""
    with gr.Row(equal_height=True):
        choice = gr.Dropdown([(text, kind.value) for kind, text in BUTTONS.items()], value=None,
                             label="Follow up the chosen picture",
                             info="one request each; it runs in History, with its bill there",
                             scale=3, elem_id=f"{tab}_followup")
        send = gr.Button("Follow up", size="sm", scale=0, min_width=100,
                         elem_id=f"{tab}_followup_send")
    return PanelFollowUp(choice, send)


def wire_panel_followup(ctx: UiContext, row: PanelFollowUp, *, visitor: Any, results: gr.State,
                        selected: gr.State, opened: gr.State, main_tabs: gr.Tabs
                        ) -> Callable[..., Any]:
    """The chosen follow-up is sent, then History opens it (`opened`, and its tab)."""

    def panel_followup(visitor_id: Any, shown: Any, chosen: Any, kind: Any,
               request: gr.Request = None  # type: ignore[assignment]
               ) -> Any:
        if kind not in FOLLOW_UPS:
            toasts.warn(Msg("followup.choose_first"))
            return gr.skip()
        sent = send_followup(ctx, FollowUp(kind), visitor_id, shown, chosen, request)
        if sent is None:
            return gr.skip()
        return {opened: sent, main_tabs: gr.Tabs(selected="history")}

    # queued: its toasts reach the page only through the queue
    row.send.click(panel_followup, inputs=[visitor, results, selected, row.choice],
                   outputs=[opened, main_tabs])
    return panel_followup


def bill_markdown(ctx: UiContext, visitor_id: str) -> str:
    """What one follow-up costs the visitor now (callback or polling, their typical time, the
    live previews History shows while it runs), as Generate estimates a task."""
    plan = Plan("history", (PlannedTask(make=lambda: None),))
    bill = ctx.submissions.estimate(visitor_id, plan, ctx.preview(visitor_id)())
    return say(Msg("followup.bill", bill=bill.summary))


def wire_followups(ctx: UiContext, row: FollowUpRow, *, visitor: Any, opened: gr.State,
                   results: gr.State, selected: gr.State) -> tuple[dict[str, Callable[..., Any]], list[Any]]:
    """Each button sends its follow-up of the chosen picture and sets `opened` to the new
    task (History follows it there). The handlers by follow-up, and the click events (for
    the tab to chain its list after)."""

    def handler_of(kind: FollowUp) -> Callable[..., Any]:
        def handler(visitor_id: Any, shown: Any, chosen: Any,
                    request: gr.Request = None  # type: ignore[assignment]
                    ) -> Any:
            sent = send_followup(ctx, kind, visitor_id, shown, chosen, request)
            return gr.skip() if sent is None else sent
        return handler

    handlers, events = {}, []
    for kind, button in row.buttons.items():
        handlers[kind.value] = handler_of(kind)
        # queued: its toasts reach the page only through the queue
        events.append(button.click(handlers[kind.value],
                                   inputs=[visitor, results, selected],
                                   outputs=opened, api_name=f"followup_{kind.value}"))
    return handlers, events


def send_followup(ctx: UiContext, kind: FollowUp, visitor_id: Any, shown: Any, chosen: Any,
                  request: Any = None) -> str | None:
    """Sends the follow-up of a results panel's chosen picture (`shown`, `chosen`: its
    results and selected index), the visitor's own only. "<task id>|<nonce>" for History's
    `opened`, or None after a toast saying why not."""
    visitor_id = ctx.visitor_id(visitor_id, request)
    path = chosen_path(shown, chosen)
    if not visitor_id or not path:
        toasts.warn(Msg("history.open_first"))
        return None
    owner = ctx.owner(visitor_id)
    try:  # the file read once: its pixels find the task (only the owner's results)
        with Image.open(path) as image:
            found = ctx.runtime.store.find_image(owner, pixel_fingerprint(image))
            picture = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        found = None
    if found is None:
        toasts.warn(TASK_GONE)
        return None
    record, _ = found

    def host(image: Image.Image, what: str) -> str:
        return ctx.runtime.sources.url_for(owner, image, what=what).url

    try:
        task_request = make_followup(kind, record.request, picture, host)
        handle = ctx.submit(visitor_id, task_request)
    except InvalidRequestError as error:
        warn_invalid(error, LABELS)
        return None
    except UploadRefused as refused:
        toasts.warn(refused.msg)
        return None
    except RateLimited as limited:
        toasts.warn(Msg("send.not_sent", reason=limited))
        return None
    toasts.info(Msg("followup.sent", what=Msg(f"followup.{kind.value}")))
    return opened_value(handle.task_id)
