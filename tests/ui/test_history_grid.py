"""History's grid: the listed page's pictures (its filters, its owner's only), choosing one
opens its task, the last two chosen compare on a slider; any argument answered."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.ui.conftest import BuiltUi
from tests.ui.test_history import VISITOR, generate, owner
from webui.ui import toasts
from webui.ui.history_grid import GRID, ROWS

OTHER = "someone-else-0123456789"


def pictures(ui: BuiltUi, kind: str = "", text: str = "", page: Any = 1, view: str = GRID,
             visitor: str = VISITOR) -> Any:
    return ui.history.handlers["grid_pictures"](ui.token(visitor), kind, text, page, view)


def chosen(index: Any) -> gr.SelectData:
    return gr.SelectData(None, {"index": index, "value": None})


def test_the_grid_shows_the_pages_pictures_and_opens_the_chosen_ones_task(
        ui: BuiltUi, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(toasts, "warn", lambda text, *_: said.append(str(text)))
    generate(ui, "a red kite", batch_size=2)
    generate(ui, "a blue boat")
    kite, boat = (ui.ctx.runtime.store.list(owner(ui), limit=2)[i] for i in (1, 0))
    shown = pictures(ui)
    grid = ui.history.grid
    items = shown[grid.items]
    assert [task for task, _, _ in items] == [boat.id, kite.id, kite.id]  # newest first
    assert [path for _, path, _ in items] == [boat.images[0].path, kite.images[0].path,
                                              kite.images[1].path]
    captions = [item["caption"] for item in shown[grid.gallery].value]
    assert captions == ["a blue boat", "a red kite", "a red kite"]
    # the filters of the rows; the rows view and other visitors get nothing of it
    assert [task for task, _, _ in pictures(ui, text="kite")[grid.items]] == [kite.id, kite.id]
    assert pictures(ui, view=ROWS) == gr.skip()  # nothing read while the rows show
    assert pictures(ui, visitor=OTHER)[grid.items] == []
    ui.ctx.runtime.store.set_favourite(boat.id, owner(ui), True)
    assert [task for task, _, _ in pictures(ui, kind="favourites")[grid.items]] == [boat.id]

    choose, compare = ui.history.handlers["grid_choose"], ui.history.handlers["grid_compare"]
    first = choose(items, [], False, [], chosen(2))
    assert first[ui.history.opened].startswith(f"{kite.id}|")
    assert first[ui.history.opened].endswith("|1")  # the task's second picture
    shown = list(ui.history.handlers["show"](ui.token(VISITOR), first[ui.history.opened]))[-1]
    assert shown[ui.history.panel.selected] == 1
    assert f"Seed: {kite.images[1].seed}" in shown[ui.history.panel.infotext]
    assert first[grid.picked] == [kite.images[1].path]
    assert compare(first[grid.picked]) is not None and said == [
        "Choose two pictures in the grid first (click one, then another)."]
    second = choose(items, first[grid.picked], False, [], chosen(0))
    assert second[ui.history.opened].startswith(f"{boat.id}|")
    assert second[grid.picked] == [kite.images[1].path, boat.images[0].path]
    third = choose(items, second[grid.picked], False, [], chosen(1))
    assert third[grid.picked] == [boat.images[0].path, kite.images[0].path]  # the last two
    slider = compare(third[grid.picked])
    assert isinstance(slider, gr.ImageSlider) and slider.visible is True


def test_switching_the_view_shows_one_or_the_other(ui: BuiltUi) -> None:
    switch = ui.history.handlers["grid_switch"]
    on, off = switch(GRID), switch(ROWS)
    grid = ui.history.grid
    assert on[grid.gallery].visible is True and on[ui.history.rows].visible is False
    assert off[grid.gallery].visible is False and off[ui.history.rows].visible is True
    assert on[grid.slider].visible is False  # a new view starts without a comparison


def test_selected_pictures_go_in_one_zip_or_their_tasks_are_deleted(
        ui: BuiltUi, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(toasts, "info", lambda text, *_: said.append(str(text)))
    monkeypatch.setattr(toasts, "warn", lambda text, *_: said.append(str(text)))
    generate(ui, "a red kite", batch_size=2)
    generate(ui, "a blue boat")
    generate(ui, "a green lantern")
    lantern, boat, kite = ui.ctx.runtime.store.list(owner(ui), limit=3)
    grid, handlers = ui.history.grid, ui.history.handlers
    items = pictures(ui)[grid.items]  # lantern, boat, kite 1, kite 2
    assert handlers["grid_zip"](items, []).visible is False
    assert said[-1].startswith("Select pictures first")
    # selecting: a click ticks (or unticks) a picture instead of opening its task
    assert handlers["grid_selecting"](True, items)[grid.gallery].allow_preview is False
    selection: list[int] = []
    for place in (3, 1, 0, 0, 2):
        ticked = handlers["grid_choose"](items, [], True, selection, chosen(place))
        assert ui.history.opened not in ticked
        selection = ticked[grid.selection]
    assert selection == [3, 1, 2]
    assert ticked[grid.selected_text] == "3 picture(s) of 2 task(s) selected"
    captions = [item["caption"] for item in ticked[grid.gallery].value]
    assert captions == ["a green lantern", "✓ a blue boat", "✓ a red kite", "✓ a red kite"]
    archive = handlers["grid_zip"](items, selection)
    with zipfile.ZipFile(archive.value["path"]) as made:
        assert len(made.namelist()) == 3
    # Cancel deletes nothing; OK deletes the two tasks (all their pictures), not the third
    assert handlers["grid_delete"](ui.token(VISITOR), items, selection, False) == gr.skip()
    assert len(ui.ctx.runtime.store.list(owner(ui), limit=10)) == 3
    done = handlers["grid_delete"](ui.token(VISITOR), items, selection, True)
    assert done[grid.selection] == [] and said[-1] == "Deleted 2 task(s); 0 still running were kept."
    assert [r.id for r in ui.ctx.runtime.store.list(owner(ui), limit=10)] == [lantern.id]
    assert not Path(kite.images[0].path or "").exists()
    # another visitor's selection of these items deletes nothing of theirs
    handlers["grid_delete"](ui.token(OTHER), pictures(ui)[grid.items], [0], True)
    assert [r.id for r in ui.ctx.runtime.store.list(owner(ui), limit=10)] == [lantern.id]


def test_the_grid_answers_any_argument(ui: BuiltUi) -> None:
    generate(ui, "a red kite")
    handlers = ui.history.handlers
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for junk in (None, 3, [], {"a": 1}, "x" * 100_000, [None], [["forged", "/etc/passwd"]],
                     -1, 10**30, GRID):
            for who in (ui.token(VISITOR), None, "forged", junk):
                handlers["grid_pictures"](who, junk, junk, junk, junk)
                handlers["grid_pictures"](who, junk, junk, junk, GRID)
            handlers["grid_choose"](junk, junk, junk, junk, chosen(junk))
            handlers["grid_choose"](junk, junk, True, junk, chosen(0))
            handlers["grid_selecting"](junk, junk)
            handlers["grid_zip"](junk, junk)
            for who in (ui.token(VISITOR), None, "forged", junk):
                handlers["grid_delete"](who, junk, junk, junk)
                handlers["grid_delete"](who, [["forged", "/etc/passwd", "x"]], [0], True)
            handlers["grid_compare"](junk)
            handlers["grid_switch"](junk)
