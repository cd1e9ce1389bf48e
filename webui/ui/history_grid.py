"""History's grid: the pictures of the listed page's tasks (same filters and page as the
rows), in a gallery whose larger view steps with the arrow keys; choosing one opens its task
beside it, and the last two chosen can be compared on a slider (A / B). "Select pictures"
turns clicks into a selection (✓ in the caption) to download as one zip or to delete (their
tasks, after the browser asks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.core.history import (
    StillRunning,
    delete_task,
    history_pictures,
    list_filters,
    page_number,
)
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.language import confirm_first_js, current_language, say
from webui.ui.opened import opened_value
from webui.ui.results import zip_download
from webui.ui.served import shown as served

ROWS, GRID = "rows", "grid"
VIEW_CHOICES = [("Rows", ROWS), ("Pictures", GRID)]
TICK = "✓ "  # a selected picture's caption starts so
CONFIRM_DELETE_SELECTED_JS = confirm_first_js("history.delete_selected_question")


@dataclass
class HistoryGrid:
    view: gr.Radio
    gallery: gr.Gallery
    items: gr.State  # [task id, path, caption] per picture of the gallery, in its order
    picked: gr.State  # the last two pictures chosen: [A, B] paths
    compare: gr.Button
    slider: gr.ImageSlider
    bulk: gr.Row  # the selection's row, shown with the grid
    selecting: gr.Checkbox  # clicks select (for a zip or to delete) instead of opening
    selection: gr.State  # the selected pictures' places in `items`
    selected_text: gr.Markdown  # "3 pictures of 2 tasks selected"
    zip: gr.Button
    delete: gr.Button
    download: gr.File
    confirmed: gr.Checkbox  # the answer to "Delete the selected pictures' tasks?"


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
    with gr.Row(visible=False, elem_id=f"{tab}_bulk") as bulk:
        selecting = gr.Checkbox(False, label="Select pictures (for a zip or to delete)",
                                elem_id=f"{tab}_selecting", scale=2)
        selected_text = gr.Markdown("", elem_id=f"{tab}_selected_text")
        zip_button = gr.Button("Download selected (zip)", size="sm", scale=0, min_width=120,
                               elem_id=f"{tab}_zip_selected")
        delete = gr.Button("Delete selected", size="sm", variant="stop", scale=0,
                           min_width=120, elem_id=f"{tab}_delete_selected")
    download = gr.File(label="Download", visible=False, interactive=False,
                       elem_id=f"{tab}_selected_zip")
    confirmed = gr.Checkbox(False, visible="hidden", show_label=False,
                            elem_id=f"{tab}_delete_selected_confirmed")
    return HistoryGrid(view, gallery, gr.State([]), gr.State([]), compare, slider, bulk,
                       selecting, gr.State([]), selected_text, zip_button, delete, download,
                       confirmed)


def wire_history_grid(ctx: UiContext, grid: HistoryGrid, *, visitor: Any, kind: Any,
                      search: Any, page: Any, rows: Any, opened: gr.State,
                      listing: Callable[..., Any], listing_outputs: list[Any]
                      ) -> dict[str, Callable[..., Any]]:
    """`rows.change` refreshes the grid (every way the list changes goes through the rows);
    `listing(visitor, kind, search, page)`: the list's refresh into `listing_outputs`, after
    a delete."""

    def gallery_of(items: list[list[str]], selection: list[int], **props: Any) -> Any:
        chosen = set(selection)
        return gr.Gallery(value=[(served(path), (TICK if place in chosen else "") + caption)
                                 for place, (_, path, caption) in enumerate(items)],
                          selected_index=None, **props)

    def pictures(visitor_id: Any, kind_value: Any, text: Any, page_value: Any, view: Any,
                 request: gr.Request = None  # type: ignore[assignment]
                 ) -> Any:
        if view != GRID:
            return gr.skip()
        visitor_id = ctx.visitor_id(visitor_id, request)
        if not visitor_id:
            return gr.skip()
        found = history_pictures(ctx.runtime.store, ctx.owner(visitor_id),
                                 page=page_number(page_value), language=current_language(),
                                 **list_filters(kind_value, text))
        items = [[p.task_id, p.path, p.caption] for p in found]
        # a new page starts with nothing selected
        return {grid.gallery: gallery_of(items, []), grid.items: items, grid.selection: [],
                grid.selected_text: ""}

    def switch(view: Any) -> Any:
        on = view == GRID
        return {rows: gr.HTML(visible=not on), grid.gallery: gr.Gallery(visible=on),
                grid.compare: gr.Button(visible=on), grid.bulk: gr.Row(visible=on),
                grid.slider: gr.ImageSlider(visible=False, value=None)}

    def choose(items: Any, picked: Any, selecting: Any, selection: Any,
               event: gr.SelectData) -> Any:
        index = event.index if isinstance(event.index, int) else None
        items = _valid_items(items)
        if index is None or not 0 <= index < len(items):
            return gr.skip()
        task_id, path, _ = items[index]
        if selecting is True:  # a click ticks the picture, or unticks it
            chosen = [p for p in _valid_selection(selection, len(items)) if p != index]
            if len(chosen) == len(_valid_selection(selection, len(items))):
                chosen.append(index)
            return {grid.gallery: gallery_of(items, chosen), grid.selection: chosen,
                    grid.selected_text: selected_text(items, chosen)}
        # its place among its task's pictures (the grid lists them in the task's order)
        place = sum(1 for other in items[:index] if other[0] == task_id)
        last = [p for p in (picked if isinstance(picked, list) else []) if p != path][-1:]
        return {opened: opened_value(task_id, place), grid.picked: [*last, path]}

    def selecting_changed(selecting: Any, items: Any) -> Any:
        """Either way the selection starts empty; the larger view is off while selecting."""
        items = _valid_items(items)
        return {grid.gallery: gallery_of(items, [], allow_preview=selecting is not True),
                grid.selection: [], grid.selected_text: ""}

    def compare(picked: Any) -> Any:
        if not isinstance(picked, list) or len(picked) < 2:
            toasts.warn(Msg("history.compare_pick_two"))
            return gr.skip()
        return gr.ImageSlider(value=(served(picked[-2]), served(picked[-1])), visible=True)

    def zip_selected(items: Any, selection: Any,
                     request: gr.Request = None  # type: ignore[assignment]
                     ) -> Any:
        items = _valid_items(items)
        paths = [items[p][1] for p in _valid_selection(selection, len(items))]
        if not paths:
            toasts.warn(Msg("history.select_first"))
            return gr.File(visible=False)
        return zip_download(getattr(request, "session_hash", None) or "",
                            "history-selected.zip", paths)

    def delete_selected(visitor_id: Any, items: Any, selection: Any, confirmed: Any = True,
                        request: gr.Request = None  # type: ignore[assignment]
                        ) -> Any:
        """The tasks of the selected pictures, each only if it is the visitor's and ended."""
        if confirmed is not True:  # the visitor answered Cancel
            return gr.skip()
        visitor_id = ctx.visitor_id(visitor_id, request)
        items = _valid_items(items)
        task_ids = list(dict.fromkeys(items[p][0] for p in
                                      _valid_selection(selection, len(items))))
        if not visitor_id or not task_ids:
            toasts.warn(Msg("history.select_first"))
            return gr.skip()
        owner, gone, running = ctx.owner(visitor_id), 0, 0
        for task_id in task_ids:
            try:
                gone += delete_task(ctx.runtime.store, ctx.thumbs, task_id, owner) is not None
            except StillRunning:
                running += 1
        toasts.info(Msg("history.deleted_selected", count=gone, running=running))
        return {grid.selection: [], grid.selected_text: "", opened: ""}

    inputs = [visitor, kind, search, page, grid.view]
    outputs = [grid.gallery, grid.items, grid.selection, grid.selected_text]
    grid.view.change(switch, inputs=grid.view,
                     outputs=[rows, grid.gallery, grid.compare, grid.bulk, grid.slider],
                     queue=False, show_progress="hidden").then(
        pictures, inputs=inputs, outputs=outputs, queue=False)
    rows.change(pictures, inputs=inputs, outputs=outputs, queue=False,
                show_progress="hidden", trigger_mode="always_last")
    # queued: its change of `opened` did not start History's `show` with queue=False (Gradio 6)
    grid.gallery.select(choose, inputs=[grid.items, grid.picked, grid.selecting, grid.selection],
                        outputs=[opened, grid.picked, grid.gallery, grid.selection,
                                 grid.selected_text], show_progress="hidden")
    grid.selecting.change(selecting_changed, inputs=[grid.selecting, grid.items],
                          outputs=[grid.gallery, grid.selection, grid.selected_text],
                          queue=False, show_progress="hidden")
    # queued: their toasts reach the page only through the queue
    grid.compare.click(compare, inputs=grid.picked, outputs=grid.slider)
    grid.zip.click(zip_selected, inputs=[grid.items, grid.selection], outputs=grid.download)
    grid.delete.click(delete_selected,
                      inputs=[visitor, grid.items, grid.selection, grid.confirmed],
                      outputs=[grid.selection, grid.selected_text, opened],
                      js=CONFIRM_DELETE_SELECTED_JS).then(
        listing, inputs=[visitor, kind, search, page], outputs=listing_outputs, queue=False)
    return {"pictures": pictures, "choose": choose, "compare": compare, "switch": switch,
            "selecting": selecting_changed, "zip": zip_selected, "delete": delete_selected}


def selected_text(items: list[list[str]], selection: list[int]) -> str:
    if not selection:
        return ""
    tasks = len({items[place][0] for place in selection})
    return say(Msg("history.selected", pictures=len(selection), tasks=tasks))


def _valid_items(items: Any) -> list[list[str]]:
    """The grid's items as the server keeps them (a State): anything else reads as none."""
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, list) and len(item) == 3
            and all(isinstance(part, str) for part in item)]


def _valid_selection(selection: Any, count: int) -> list[int]:
    if not isinstance(selection, list):
        return []
    places = [place for place in selection
              if isinstance(place, int) and not isinstance(place, bool) and 0 <= place < count]
    return list(dict.fromkeys(places))
