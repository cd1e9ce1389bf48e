"""Live previews that do not bill by the second: spaced out by default (2 s, 4 s, 8 s ... up to
16 s), steady only when a visitor asks for it and only while their page is shown."""

from __future__ import annotations

import pytest

from tests.core.conftest import Rig
from webui.api.models import TaskState
from webui.core.engine import SPACED, PreviewSchedule
from webui.core.visitors import Preferences, PreviewMode, Visitors
from webui.messages import Language, render
from webui.ui.tabs.settings import calls_per_task, tradeoff_text


def test_the_default_schedule_costs_little_and_still_shows_progress() -> None:
    assert SPACED.times(5) == [2]
    assert SPACED.times(20) == [2, 6, 14]  # at least 3 previews in a 20 s task
    assert SPACED.times(60) == [2, 6, 14, 30, 46]
    # billed calls with callbacks: the submit and each preview
    assert [calls_per_task(SPACED, "callback", t) for t in (5, 20, 60)] == [2, 4, 6]
    assert calls_per_task(SPACED, "callback", 20) <= 5  # the target
    steady = PreviewSchedule.steady(1.5)
    assert calls_per_task(steady, "callback", 20) == 14
    assert calls_per_task(None, "callback", 20) == 1


def test_settings_show_the_cost_next_to_the_choice() -> None:
    text = str(tradeoff_text(PreviewMode.SPACED, 1.5, "callback"))
    assert "spaced out" in text and "**4** billed calls" in text and "**6**" in text
    assert "**14**" in str(tradeoff_text(PreviewMode.STEADY, 1.5, "callback"))
    chinese = render(tradeoff_text(PreviewMode.STEADY, 1.5, "callback"), Language.ZH_CN)
    assert chinese.startswith("实时预览**每 1.5 秒**") and "**14**" in chinese


def test_steady_previews_only_while_the_page_is_shown() -> None:
    prefs = Preferences(preview_mode=PreviewMode.STEADY, preview_interval=1.0)
    assert prefs.schedule(page_visible=True) == PreviewSchedule.steady(1.0)
    assert prefs.schedule(page_visible=False) == SPACED
    assert Preferences().schedule() == SPACED  # the default of a new browser
    assert Preferences(preview_mode=PreviewMode.OFF).schedule() is None
    # preferences saved before the modes existed: 0 was off, the rest is the new default
    assert Preferences.checked({"preview_interval": 0}).schedule() is None
    assert Preferences.checked({"preview_interval": 1.5}).preview_mode == PreviewMode.SPACED

    class NoClient:
        pass

    people = Visitors(NoClient(), defaults=prefs)  # type: ignore[arg-type]
    assert people.preview_schedule("v1") == PreviewSchedule.steady(1.0)
    people.set_page_visible("v1", False)
    assert people.preview_schedule("v1") == SPACED
    people.set_page_visible("v1", True)
    assert people.preview_schedule("v1") == PreviewSchedule.steady(1.0)


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.2}], indirect=True)
def test_watching_a_task_bills_logarithmically(callback_rig: Rig) -> None:
    """The same 40-step task (~2 s here) watched with the spaced schedule and with a steady
    one at its first gap, both scaled to the task: spaced bills a few calls, steady many."""
    spaced = SPACED.scaled(0.05)  # 0.1 s, 0.2 s, 0.4 s, 0.8 s, 0.8 s ...
    steady = PreviewSchedule.steady(spaced.first)
    billed = {}
    for name, schedule in (("spaced", spaced), ("steady", steady)):
        handle = callback_rig.submit(steps=40)
        events = list(handle.events(preview_interval=schedule))
        record = handle.record()
        assert record.state == TaskState.SUCCEEDED
        previews = {e.preview for e in events if e.preview}
        took = (record.finished_at or 0) - record.created_at
        billed[name] = record.billed_calls
        if name == "spaced":
            assert len(previews) >= 3, "still a few previews"
            # the submit, one query per scheduled preview (+1: a gap may end on the result)
            assert record.billed_calls <= 2 + len(spaced.times(took)), (record.billed_calls,
                                                                        took)
    assert billed["steady"] >= 2 * billed["spaced"], billed
