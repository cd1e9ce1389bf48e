"""Generate through the submission service, as the page calls it: the bill, the confirmation
above the visitor's threshold, a fan-out refused whole past the limits, the meter agreeing
with the bill, wildcard templates kept, the plot saved whoever watches."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.ui.conftest import BuiltUi
from tests.ui.test_txt2img import merged
from webui.core.limits import Limiter, Limits, Quota
from webui.ui.tasks import KEEP, read_last_tasks

VISITOR = "visitor-0123456789abcdef"
MALLORY = "visitor-mallory-0123456789"


def with_script(ui: BuiltUi, data: dict[Any, Any], script: str, **values: Any) -> dict[Any, Any]:
    """`data` with the tab's script inputs at their defaults, then `values` by elem_id."""
    scripts = ui.tab.scripts
    data.update({c: c.value for c in scripts.components})
    data[scripts.script] = script
    by_id = {c.elem_id: c for c in scripts.components}
    for elem_id, value in values.items():
        data[by_id[f"txt2img_{elem_id}"]] = value
    return data


def plot(ui: BuiltUi, visitor: str = VISITOR, **form: Any) -> dict[Any, Any]:
    data = ui.data(visitor, prompt="a plot of a harbour", steps=4, width=64, height=64, **form)
    return with_script(ui, data, "X/Y/Z plot", xyz_x_type="CFG Scale", xyz_x_values="5, 9",
                       xyz_y_type="Steps", xyz_y_values="3, 6")


def test_a_large_batch_asks_first_and_only_its_visitor_can_send_it(ui: BuiltUi) -> None:
    started = ui.stats().tasks_started
    asked = ui.tab.handlers.submit(ui.data(prompt="a crowd", n_iter=100, batch_size=8))
    send = ui.tab.send
    assert asked[send.confirm_row].visible is True
    assert "1 task, 800 images" in asked[send.confirm_text]
    assert ui.stats().tasks_started == started  # nothing sent yet
    # Mallory's Send finds no plan of hers; Alice's plan stays hers
    forged = ui.tab.handlers.confirm({ui.visitor: ui.token(MALLORY), ui.last_tasks: ""})
    assert forged[send.confirm_row].visible is False and ui.last_tasks not in forged
    sent = ui.tab.handlers.confirm({ui.visitor: ui.token(VISITOR), ui.last_tasks: ""})
    assert read_last_tasks(sent[ui.last_tasks])["txt2img"]
    assert "Sent: 1 task, 800 images" in sent[send.bill]
    again = ui.tab.handlers.confirm({ui.visitor: ui.token(VISITOR), ui.last_tasks: ""})
    assert ui.last_tasks not in again  # a plan is sent once


def test_a_plot_makes_one_task_per_cell_and_the_meter_agrees_with_the_bill(
        ui: BuiltUi) -> None:
    # the poll in case a callback is lost comes after 1.2 s at the tests' pace: on a loaded
    # machine a callback came later (a CI billed 7), and the bill is about callbacks
    ui.ctx.engine.policy = replace(ui.ctx.engine.policy, safety_first=60.0)
    final = merged(list(ui.tab.generate(plot(ui))))
    assert "Sent: 4 tasks, 4 images, about 4 billed calls" in final[ui.tab.send.bill]
    batch = ui.ctx.submissions.batch(VISITOR, read_last_tasks(final[ui.last_tasks])["txt2img"])
    assert batch is not None and len(batch.task_ids) == 4 and batch.script == "X/Y/Z plot"
    owner = ui.ctx.owner(VISITOR)
    records = [ui.ctx.runtime.store.get(i, owner) for i in batch.task_ids]
    pairs = sorted((r.request["cfg_scale"], r.request["steps"]) for r in records if r)
    assert pairs == [(5, 3), (5, 6), (9, 3), (9, 6)]
    # callback mode: one billed call a task, as the bill said
    assert sum(r.billed_calls for r in records if r) == 4
    assert ui.ctx.engine.billed_calls(owner) == 4
    shown = final[ui.tab.panel.results]
    assert len(shown) == 1 and Path(shown[0]).name.startswith("grid-")
    with Image.open(shown[0]) as grid:
        assert "X Type: CFG Scale" in grid.info["parameters"]


def test_a_plot_is_saved_even_when_nobody_watches_it(ui: BuiltUi) -> None:
    first = ui.tab.handlers.submit(plot(ui))
    batch_id = read_last_tasks(first[ui.last_tasks])["txt2img"]
    owner = ui.ctx.owner(VISITOR)
    batch = ui.ctx.runtime.store.get_batch(batch_id, owner)
    assert batch is not None
    for task_id in batch.task_ids:
        ui.ctx.engine.wait(task_id, owner, timeout=30)
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        batch = ui.ctx.runtime.store.get_batch(batch_id, owner)
        if batch and batch.grid_path:
            break
        time.sleep(0.05)
    assert batch is not None and batch.grid_path and Path(batch.grid_path).is_file()


def test_a_fan_out_past_the_limits_is_refused_whole(ui: BuiltUi) -> None:
    ui.ctx.submissions.limiter = Limiter(Limits(visitor=Quota(concurrent_tasks=2)),
                                         is_running=ui.ctx.engine.is_following)
    started = ui.stats().tasks_started
    with pytest.warns(UserWarning) as warned:
        assert ui.tab.handlers.submit(plot(ui)) == KEEP
    text = " ".join(str(w.message) for w in warned)
    assert "4 tasks at once" in text and "at most 2 task(s) at once" in text
    assert ui.stats().tasks_started == started
    assert ui.ctx.runtime.store.count(ui.ctx.owner(VISITOR)) == 0


def test_a_bad_axis_is_refused_naming_it_before_anything_is_sent(ui: BuiltUi) -> None:
    data = with_script(ui, ui.data(prompt="a cat"), "X/Y/Z plot", xyz_x_type="Steps",
                       xyz_x_values="10, 9000")
    with pytest.warns(UserWarning) as warned:
        assert ui.tab.handlers.submit(data) == KEEP
    assert any(str(w.message).startswith("X values: ") for w in warned)
    assert ui.stats().tasks_started == 0


def test_a_wildcard_prompt_is_sent_expanded_and_its_template_kept(ui: BuiltUi) -> None:
    template = "a {red|green|blue} lantern"
    final = merged(list(ui.tab.generate(ui.data(prompt=template, seed=99, steps=3, width=64,
                                                height=64))))
    batch = ui.ctx.submissions.batch(VISITOR, read_last_tasks(final[ui.last_tasks])["txt2img"])
    assert batch is not None
    record = ui.ctx.runtime.store.get(batch.task_ids[0], ui.ctx.owner(VISITOR))
    assert record is not None and record.meta["template"] == template
    assert record.request["prompt"] in ("a red lantern", "a green lantern", "a blue lantern")
    assert final[ui.tab.panel.infotext].startswith(record.request["prompt"] + "\n")
