"""History's grid: the pictures of the listed page's tasks (same filters and page as the
rows), in a gallery whose larger view steps with the arrow keys; choosing one opens its task
beside it, and the last two chosen can be compared on a slider (A / B)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.core.history import MAX_SEARCH, history_pictures, page_number
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.language import current_language
from webui.ui.served import shown as served

ROWS, GRID = "rows", "grid"
VIEW_CHOICES = [("Rows", ROWS), ("Pictures", GRID)]


@dataclass
class HistoryGrid:
    view: gr.Radio
    gallery: gr.Gallery
    items: gr.State  # [task id, path] per picture of the gallery, in its order
    picked: gr.State  # the last two pictures chosen: [A, B] paths
    compare: gr.Button
    slider: gr.ImageSlider


def build_view_switch(tab: str) -> gr.Radio:
    """Rows or pictures (call where the switch goes, above the rows)."""
    return gr.Radio(VIEW_CHOICES, value=ROWS, label="View", elem_id=f"{tab}_view", scale=1,
                    min_width=160)


def build_history_grid(tab: str, view: gr.Radio) -> HistoryGrid:
    """The gallery and the compare slider (call under the rows), hidden until the view is
    switched to pictures."""
    gallery = gr.Gallery(label="Pictures", columns=4, height=520, object_fit="cover",
                         visible=False, interactive=False, elem_id=f"{tab}_grid",
                         format="png", allow_preview=True)
    compare = gr.Button("Compare the last two chosen (A / B)", size="sm", visible=False,
                        elem_id=f"{tab}_compare_button")
    slider = gr.ImageSlider(label="A / B (drag the handle)", type="filepath",
                            interactive=False, visible=False, elem_id=f"{tab}_compare",
                            max_height=480, buttons=["fullscreen"])
    return HistoryGrid(view, gallery, gr.State([]), gr.State([]), compare, slider)


def wire_history_grid(ctx: UiContext, grid: HistoryGrid, *, visitor: Any, kind: Any,
                      search: Any, page: Any, rows: Any, opened: gr.State,
                      favourites: str) -> dict[str, Callable[..., Any]]:
    """`rows.change` refreshes the grid (every way the list changes goes through the rows);
    `favourites`: the Kind filter's value for "only my favourites"."""

    def pictures(visitor_id: Any, kind_value: Any, text: Any, page_value: Any, view: Any,
                 request: gr.Request = None  # type: ignore[assignment]
                 ) -> Any:
        if view != GRID:
            return gr.skip()
        visitor_id = ctx.visitor_id(visitor_id, request)
        if not visitor_id:
            return gr.skip()
        only_marked = kind_value == favourites
        found = history_pictures(
            ctx.runtime.store, ctx.owner(visitor_id), page=page_number(page_value),
            kind=kind_value if isinstance(kind_value, str) and kind_value and not only_marked
            else None, text=text[:MAX_SEARCH] if isinstance(text, str) else "",
            favourites=only_marked, language=current_language())
        return {grid.gallery: gr.Gallery(value=[(served(p.path), p.caption) for p in found],
                                         selected_index=None),
                grid.items: [[p.task_id, p.path] for p in found]}

    def switch(view: Any) -> Any:
        on = view == GRID
        return {rows: gr.HTML(visible=not on), grid.gallery: gr.Gallery(visible=on),
                grid.compare: gr.Button(visible=on),
                grid.slider: gr.ImageSlider(visible=False, value=None)}

    def choose(items: Any, picked: Any, event: gr.SelectData) -> Any:
        index = event.index if isinstance(event.index, int) else None
        if not isinstance(items, list) or index is None or not 0 <= index < len(items):
            return gr.skip()
        item = items[index]
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(part, str)
                                                                   for part in item)):
            return gr.skip()
        task_id, path = item
        # its place among its task's pictures (the grid lists them in the task's order)
        place = sum(1 for other in items[:index] if isinstance(other, list) and other
                    and other[0] == task_id)
        last = [p for p in (picked if isinstance(picked, list) else []) if p != path][-1:]
        return {opened: f"{task_id}|{time.monotonic()}|{place}", grid.picked: [*last, path]}

    def compare(picked: Any) -> Any:
        if not isinstance(picked, list) or len(picked) < 2:
            toasts.warn(Msg("history.compare_pick_two"))
            return gr.skip()
        return gr.ImageSlider(value=(served(picked[-2]), served(picked[-1])), visible=True)

    inputs = [visitor, kind, search, page, grid.view]
    outputs = [grid.gallery, grid.items]
    grid.view.change(switch, inputs=grid.view,
                     outputs=[rows, grid.gallery, grid.compare, grid.slider],
                     queue=False, show_progress="hidden").then(
        pictures, inputs=inputs, outputs=outputs, queue=False)
    rows.change(pictures, inputs=inputs, outputs=outputs, queue=False,
                show_progress="hidden", trigger_mode="always_last")
    # queued: its change of `opened` did not start History's `show` with queue=False (Gradio 6)
    grid.gallery.select(choose, inputs=[grid.items, grid.picked],
                        outputs=[opened, grid.picked], show_progress="hidden")
    # queued: its toast reaches the page only through the queue
    grid.compare.click(compare, inputs=grid.picked, outputs=grid.slider)
    return {"pictures": pictures, "choose": choose, "compare": compare, "switch": switch}
