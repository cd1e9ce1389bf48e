"""The results panel's handlers in the everyday loop: a refusal keeps what is shown, a reload
shows a finished task's failure in the status line only, Interrupt says what it did."""

from __future__ import annotations

import warnings
from pathlib import Path

import gradio as gr
import pytest

from tests.helpers.images import drawn_face, gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_tools import picture, swap
from tests.ui.test_txt2img import merged
from webui.messages import Language, render
from webui.ui.results import INTERRUPTED, grid_columns
from webui.ui.tasks import reattach
from webui.ui.tool_tab import reattach_tool

VISITOR = "visitor-0123456789abcdef"


def prop(update: object, name: str) -> object:
    """A prop of an update (Gradio 6 hands back the component itself)."""
    return update[name] if isinstance(update, dict) else getattr(update, name)


def test_a_refused_generate_changes_nothing_shown(ui: BuiltUi) -> None:
    with pytest.warns(UserWarning):
        updates = list(ui.tab.generate(ui.data(prompt="")))
    with pytest.warns(UserWarning):
        updates += list(ui.tab.generate(ui.data(prompt="a cat", width=1020)))
    assert updates == [gr.skip(), gr.skip()]  # one skip for several outputs: none changes


def test_a_refused_run_changes_nothing_shown(ui: BuiltUi) -> None:
    tab = ui.faceswap
    data = ui.tool_data({tab.mode: "single", tab.source: None, tab.target: None})
    with pytest.warns(UserWarning):
        assert list(tab.run(data)) == [gr.skip()]


def test_reattaching_a_failed_face_swap_shows_it_without_a_toast(ui: BuiltUi,
                                                                 tmp_path: Path) -> None:
    source = picture(tmp_path, "face.png", drawn_face(256))
    target = picture(tmp_path, "t.png", gradient(256, 256))  # no face in it
    with pytest.warns(UserWarning, match="no face found"):  # the event that caused it
        final = swap(ui, source, target=target)
    panel = ui.faceswap.results.panel
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        shown = merged(list(reattach_tool(ui.ctx, ui.faceswap.results, VISITOR,
                                          final[ui.last_tasks])))
    assert not warned, [str(w.message) for w in warned]
    assert "no face found" in shown[panel.status]
    assert shown[panel.progress] == ""  # nothing is followed: no bar, so no Interrupt


def test_reattaching_a_finished_txt2img_task_adds_no_toast(ui: BuiltUi) -> None:
    final = merged(list(ui.tab.generate(ui.data(prompt="a cat", steps=3))))
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        shown = merged(list(reattach(ui.ctx, ui.tab.panel, VISITOR, final[ui.last_tasks])))
    assert not warned
    assert shown[ui.tab.panel.status].startswith("Done: 1 image")


def test_interrupt_writes_the_status_and_hides_the_controls(ui: BuiltUi) -> None:
    panel = ui.tab.panel
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        update = panel.interrupted()
    assert not warned  # the status line says it; no toast on top
    assert update[panel.status] == str(INTERRUPTED)
    assert set(update) <= set(panel.interrupt_outputs)
    # the bar empties and Interrupt goes with it (assets/app.css); the preview empties
    assert update[panel.progress] == "" and update[panel.preview] is None


def test_generate_shows_interrupt_while_following_only(ui: BuiltUi) -> None:
    updates = list(ui.tab.generate(ui.data(prompt="a cat", steps=3)))
    panel = ui.tab.panel
    bars = [u[panel.progress] for u in updates if panel.progress in u]
    # a bar (and with it Interrupt) while following, none at the end; never a prop update
    assert bars[0] and bars[-1] == "" and all(isinstance(b, str) for b in bars)
    assert panel.interrupt not in merged(updates)
    assert prop(merged(updates)[panel.gallery], "columns") == 1


def test_a_batch_is_a_square_grid() -> None:
    assert [grid_columns(n) for n in (0, 1, 2, 4, 5, 8, 9, 10)] == [1, 1, 2, 2, 3, 3, 3, 4]


def test_the_interrupt_sentence_has_its_chinese() -> None:
    assert render(INTERRUPTED, Language.ZH_CN) == \
        "已停止跟踪——服务不支持取消；此任务会继续完成，并保存在历史记录中"
