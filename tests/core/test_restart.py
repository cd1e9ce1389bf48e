"""Nothing is lost across a restart or a crash: unfinished rows are followed again, and a
submit whose fate is unknown is resent under the same id, so the service starts it once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import fast_config, wait_sd
from tests.core.conftest import OWNER, Rig
from tests.core.test_engine import assert_saved, wait_submitted
from tests.helpers.offline import faults, stats
from webui.api.models import TaskState
from webui.core.store import TaskRecord
from webui.offline.server import OfflineServer

ROOT = Path(__file__).resolve().parents[2]
SLOW = [{"time_scale": 0.01}]  # 150 steps take 0.4 s: time to crash in between


@pytest.mark.parametrize("fresh_offline", SLOW, indirect=True)
def test_engine_stopped_mid_task_is_resumed_by_the_next_one(fresh_offline: OfflineServer,
                                                           tmp_path: Path) -> None:
    stopped_then_resumed(fresh_offline, lambda: Rig(fresh_offline, tmp_path))


def stopped_then_resumed(backend: OfflineServer, open_rig: Callable[[], Rig]) -> None:
    """An app stopped mid-task; the next one (`open_rig` again) follows the task to its end,
    started once at the service."""
    first = open_rig()
    handle = first.submit(steps=150)
    wait_submitted(first, handle.task_id)
    first.close()  # the app goes away mid-task

    second = open_rig()
    try:
        assert second.store.get(handle.task_id).state != TaskState.SUCCEEDED  # type: ignore[union-attr]
        assert second.engine.resume() == 1
        record = second.engine.wait(handle.task_id, OWNER, timeout=10)
        assert record.state == TaskState.SUCCEEDED and record.resumed == 1
        assert_saved(record, 1)
        assert stats(backend)["tasks_started"] == 1
        assert second.engine.resume() == 0  # nothing left
    finally:
        second.close()


def stored_unconfirmed(rig: Rig, request: object) -> None:
    """A row as the engine writes it just before sending the submit."""
    wire = request.to_wire()  # type: ignore[attr-defined]
    rig.store.create(TaskRecord(id=request.task_id, kind="text2image",  # type: ignore[attr-defined]
                                owner=OWNER, request=wire, created_at=time.time()))


def test_submit_that_landed_before_the_crash_is_not_started_twice(
        fresh_offline: OfflineServer, tmp_path: Path) -> None:
    rig = Rig(fresh_offline, tmp_path)
    try:
        request = rig.request()
        rig.client.text2image(request)  # it reached the service; the app died before noting it
        stored_unconfirmed(rig, request)
        assert rig.engine.resume() == 1
        record = rig.engine.wait(request.task_id, OWNER, timeout=10)
        assert record.state == TaskState.SUCCEEDED
        assert (stats(fresh_offline)["tasks_started"], stats(fresh_offline)["duplicate_submits"]
                ) == (1, 1)
    finally:
        rig.close()


def test_submit_that_never_left_is_sent_once(fresh_offline: OfflineServer,
                                             tmp_path: Path) -> None:
    rig = Rig(fresh_offline, tmp_path)
    try:
        request = rig.request()
        stored_unconfirmed(rig, request)
        rig.engine.resume()
        assert rig.engine.wait(request.task_id, OWNER, timeout=10).state == TaskState.SUCCEEDED
        assert stats(fresh_offline)["tasks_started"] == 1
    finally:
        rig.close()


def test_backend_that_forgot_its_tasks_gets_the_request_again(tmp_path: Path) -> None:
    """The embedded offline backend keeps tasks in memory: after a restart of the app (and
    so of it) the task is unknown there, and is sent again under its id."""
    with OfflineServer(fast_config()) as old:
        first = Rig(old, tmp_path)
        faults(old, tasks=["stuck"])
        handle = first.submit()
        wait_submitted(first, handle.task_id)
        first.close()
    with OfflineServer(fast_config()) as new:
        second = Rig(new, tmp_path)
        try:
            second.engine.resume()
            record = second.engine.wait(handle.task_id, OWNER, timeout=10)
            assert record.state == TaskState.SUCCEEDED
            assert_saved(record, 1)
            assert stats(new)["tasks_started"] == 1
        finally:
            second.close()


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.02}], indirect=True)
def test_app_killed_with_sigkill_mid_task_loses_nothing(fresh_offline: OfflineServer,
                                                        tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.engine_process", fresh_offline.url, str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        task_id = (process.stdout.readline() if process.stdout else "").strip()
        assert task_id, "the engine process did not submit"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert stats(fresh_offline)["tasks_in_flight"] == 1  # killed before the task finished

    rig = Rig(fresh_offline, tmp_path)
    try:
        row = rig.store.get(task_id)
        assert row is not None and row.submitted and not row.is_final
        assert rig.engine.resume() == 1
        record = rig.engine.wait(task_id, OWNER, timeout=15)
        assert record.state == TaskState.SUCCEEDED and record.resumed == 1
        assert_saved(record, 1)
        assert stats(fresh_offline)["tasks_started"] == 1
        assert record.billed_calls >= row.billed_calls + 1  # counting went on from the row
    finally:
        rig.close()


def test_task_found_past_its_deadline_gets_one_last_look(fresh_offline: OfflineServer,
                                                         tmp_path: Path) -> None:
    """The app was down longer than the deadline; the task finished meanwhile."""
    rig = Rig(fresh_offline, tmp_path)
    try:
        request = rig.request()
        rig.client.text2image(request)
        wait_sd(rig.client, request.task_id)
        rig.store.create(TaskRecord(id=request.task_id, kind="text2image", owner=OWNER,
                                    request=request.to_wire(), submitted=True,
                                    created_at=time.time() - 7200))
        rig.engine.resume()
        record = rig.engine.wait(request.task_id, OWNER, timeout=10)
        assert record.state == TaskState.SUCCEEDED and not record.timed_out
        assert_saved(record, 1)
    finally:
        rig.close()
