"""The Chinese of server messages: real messages from the code paths, each translated."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import BuiltUi
from webui.api.models import TaskState
from webui.core.engine import NO_CANCEL
from webui.core.events import TaskEvent
from webui.ui.messages import PATTERNS, translate
from webui.ui.results import meter_markdown

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def status_lines() -> list[str]:
    def event(state: TaskState, **kw: object) -> str:
        return TaskEvent(task_id="t", state=state, **kw).status_line  # type: ignore[arg-type]

    return [event(TaskState.QUEUED), event(TaskState.QUEUED, queue_position=3),
            event(TaskState.UPLOADING), event(TaskState.GENERATING, progress=0.4),
            event(TaskState.GENERATING, progress=0.4, job_no=2, job_count=3),
            event(TaskState.SUCCEEDED), event(TaskState.FAILED, error="no face found in the "
                                                                       "target image")]


def warnings_of(ui: BuiltUi, **values: object) -> list[str]:
    with pytest.warns(UserWarning) as warned:
        list(ui.tab.generate(ui.data(**values)))
    return [str(w.message) for w in warned]


def test_status_meter_and_validation_messages_are_translated(ui: BuiltUi) -> None:
    messages = status_lines()
    messages += [part.strip() for part in meter_markdown(1, 7).split("**")[::2]]
    messages += warnings_of(ui, prompt="a cat", width=1020)
    messages += warnings_of(ui, prompt="", steps=3)
    messages += [f"Interrupted: no longer following the task. {NO_CANCEL}",
                 "Page 2 of 500 · 10000 task(s)", "Done: 2 of 3 succeeded",
                 "Not sent: at most 1 task(s) a minute on this app: try again in 42 s"]
    for message in messages:
        chinese = translate(message)
        assert CHINESE.search(chinese) and chinese != message, message
    assert translate("Width: width must be a multiple of 8 in (0, 1024], got 1020") == \
        "宽度：width 必须是 8 的倍数，范围 (0, 1024]，当前为 1020"
    assert translate("Failed: no face found in the target image") == "失败：目标图像中未找到人脸"


def test_patterns_are_valid_and_anchored() -> None:
    for pattern, _ in PATTERNS:
        re.compile(pattern)
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
