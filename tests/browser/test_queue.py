"""The queue and the scripts in a real browser: Generate never blocks, every task shows in the
queue strip and History, an X/Y/Z plot fans out and draws its grid, a wildcard prompt expands
the same way for the same seed, and a reload reattaches a fan-out."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.browser.test_txt2img import set_number
from tests.helpers.waiting import wait_until
from webui.core.infotext import parse
from webui.ui.app import Launched

pytestmark = pytest.mark.browser


def choose(page: Any, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.locator(f"#{elem_id}").get_by_role("option", name=text, exact=True).click()
    page.wait_for_function(f"() => document.querySelector('#{elem_id} input').value === "
                           f"{text!r}")


def fill(page: Any, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input[type=text]").first.fill(text)


def rows(app: Launched, prompt: str) -> list[dict[str, Any]]:
    """The stored tasks of a prompt (the test's own: each test has its own prompt)."""
    db = app.runtime.store._connection()  # type: ignore[attr-defined]
    found = db.execute("SELECT id, state, request, meta, owner FROM tasks WHERE prompt = ? "
                       "ORDER BY created_at", [prompt]).fetchall()
    return [{"id": r["id"], "state": r["state"], "request": json.loads(r["request"]),
             "meta": json.loads(r["meta"]), "owner": r["owner"]} for r in found]


def small(page: Any, steps: int) -> None:
    set_number(page, "txt2img_width", 64)
    set_number(page, "txt2img_height", 64)
    set_number(page, "txt2img_steps", steps)


def test_three_quick_clicks_make_three_tasks(page: Any, app: Launched) -> None:
    prompt = "three quick clicks, a harbour"
    small(page, 60)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    for _ in range(3):
        page.locator("#txt2img_generate").click()
    tasks = wait_until(lambda: len(rows(app, prompt)) == 3 and rows(app, prompt))
    ids = {task["id"] for task in tasks}
    seen: set[str] = set()

    def listed() -> bool:  # the strip lists them while they run (it looks once a second)
        seen.update(page.eval_on_selector_all(
            "#zq_queue [data-task]", "items => items.map(i => i.dataset.task)"))
        return seen >= ids or all(t["state"] == "succeeded" for t in rows(app, prompt))

    wait_until(listed)
    assert seen & ids, "the queue strip listed the running tasks"
    wait_until(lambda: all(t["state"] == "succeeded" for t in rows(app, prompt)))
    # the tab shows the newest, and the strip empties
    wait_until(lambda: page.locator("#txt2img_gallery img").count() == 1)
    wait_until(lambda: page.locator("#zq_queue [data-task]").count() == 0)
    page.locator("#tab_history-button").click()
    wait_until(lambda: page.locator("#history_rows").get_by_text(prompt).count() >= 3)


def test_xyz_plot_makes_one_task_per_cell_and_a_grid(page: Any, app: Launched) -> None:
    prompt = "an x/y/z plot of a lighthouse"
    small(page, 10)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    choose(page, "txt2img_script", "X/Y/Z plot")
    choose(page, "txt2img_xyz_x_type", "CFG Scale")
    fill(page, "txt2img_xyz_x_values", "5, 9")
    choose(page, "txt2img_xyz_y_type", "Steps")
    fill(page, "txt2img_xyz_y_values", "10, 20")
    page.locator("#txt2img_generate").click()
    wait_until(lambda: "done, 4 of 4 succeeded" in page.locator("#txt2img_status").inner_text())
    tasks = rows(app, prompt)
    assert sorted((t["request"]["cfg_scale"], t["request"]["steps"]) for t in tasks) == \
        [(5, 10), (5, 20), (9, 10), (9, 20)]
    assert all(t["state"] == "succeeded" for t in tasks)
    assert sorted(t["meta"]["cell"] for t in tasks) == [0, 1, 2, 3]
    batch = app.runtime.store.get_batch(tasks[0]["meta"]["batch"], tasks[0]["owner"])
    assert batch is not None and batch.grid_path and "grid" in Path(batch.grid_path).name
    assert Path(batch.grid_path).parent.parent.name == "txt2img"
    with Image.open(batch.grid_path) as grid:
        fields = parse(grid.info["parameters"])
        # 2x2 cells of 64 px and a legend band above and to the left
        assert grid.width >= 128 and grid.height >= 128
        assert grid.width < 128 * 2 and grid.height < 128 * 2
    assert fields["Script"] == "X/Y/Z plot" and fields["X Type"] == "CFG Scale"
    assert fields["X Values"] == "5, 9" and fields["Y Values"] == "10, 20"
    assert page.locator("#txt2img_gallery img").count() == 1  # the grid alone


def test_a_wildcard_prompt_expands_the_same_way_for_the_same_seed(page: Any,
                                                                    app: Launched) -> None:
    template = "a {red|green|blue|violet} __animals__ in the snow"
    small(page, 4)
    set_number(page, "txt2img_seed", 4242)
    page.locator("#txt2img_prompt textarea").fill(template)
    expanded: list[dict[str, Any]] = []
    for attempt in (1, 2):
        page.locator("#txt2img_generate").click()
        wait_until(lambda n=attempt: len(_templated(app, template)) == n)
        try:
            wait_until(lambda: page.locator("#txt2img_gallery img").count() == 1)
        except AssertionError:
            page.screenshot(path="/tmp/wild-fail.png", full_page=True)
            raise AssertionError(page.locator("#txt2img_status").inner_text() + " | " + str(
                page.locator("#txt2img_gallery img").count()) + " | " + page.evaluate(
                "() => document.querySelector('#txt2img_gallery').outerHTML.slice(0, 3000)")
                ) from None
    expanded = _templated(app, template)
    first, second = (task["request"]["prompt"] for task in expanded)
    assert first == second and "{" not in first and "__" not in first
    assert first.startswith("a ") and first.endswith(" in the snow")
    infotext = page.locator("#txt2img_infotext textarea").input_value()
    assert infotext.startswith(first + "\n")  # what was sent is what the infotext records


def _templated(app: Launched, template: str) -> list[dict[str, Any]]:
    db = app.runtime.store._connection()  # type: ignore[attr-defined]
    found = db.execute("SELECT request, meta FROM tasks ORDER BY created_at").fetchall()
    return [{"request": json.loads(r["request"]), "meta": json.loads(r["meta"])}
            for r in found if json.loads(r["meta"]).get("template") == template]


def test_a_reload_in_the_middle_of_a_fan_out_reattaches_all_of_it(page: Any,
                                                                 app: Launched) -> None:
    prompt = "a fan-out across a reload"
    small(page, 80)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    choose(page, "txt2img_script", "X/Y/Z plot")
    choose(page, "txt2img_xyz_x_type", "CFG Scale")
    fill(page, "txt2img_xyz_x_values", "4, 6, 8")
    choose(page, "txt2img_xyz_y_type", "Nothing")
    page.locator("#txt2img_generate").click()
    wait_until(lambda: len(rows(app, prompt)) == 3)
    page.reload()
    page.wait_for_function(
        "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
    # the queue strip and the tab's panel both pick the running plot up again
    assert wait_until(lambda: page.locator("#zq_queue [data-task]").count() >= 1
                      or all(t["state"] == "succeeded" for t in rows(app, prompt)))
    wait_until(lambda: "done, 3 of 3 succeeded" in page.locator("#txt2img_status").inner_text())
    assert page.locator("#txt2img_gallery img").count() == 1  # the grid, drawn after reload
    assert len(rows(app, prompt)) == 3  # nothing sent again


def test_generate_forever_sends_again_until_unticked(page: Any, app: Launched) -> None:
    prompt = "forever a tide pool"
    small(page, 4)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    page.locator("#txt2img_forever input").check()
    page.locator("#txt2img_generate").click()
    wait_until(lambda: len(rows(app, prompt)) >= 3, seconds=40)  # each one after the last
    page.locator("#txt2img_forever input").uncheck()
    time.sleep(3)  # the one running ends; no new one follows it
    settled = len(rows(app, prompt))
    time.sleep(3)
    assert len(rows(app, prompt)) == settled
    states = [t["state"] for t in rows(app, prompt)]
    assert all(state == "succeeded" for state in states), states
