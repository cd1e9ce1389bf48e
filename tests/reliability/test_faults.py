"""Fault catalogue: every fault the offline backend can play, through the task engine, checked
against the same invariants. After each fault every task is in a final stored state, every image
shown as a result is a PNG on disk with its seed in the infotext, no task id starts two billed
tasks, and the cost meter counts what the service billed (plus, never minus, the calls that may
have been served: 5xx answers and timeouts).

The app killed with SIGKILL mid-task and restarted is in tests/core/test_restart.py (it needs a
process of its own); the callback route's answer to each kind of forgery is pinned in
tests/core/test_engine.py. Below: the 200-task load with 10% of calls faulted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_id
from tests.core.conftest import FAST_POLICY, Rig
from tests.core.test_engine import callback_post
from tests.helpers.offline import faults, stats
from webui.api.models import TaskState
from webui.core import infotext
from webui.core.outputs import read_infotext
from webui.core.store import TaskRecord
from webui.offline.server import OfflineServer

SUCCEEDED, FAILED = TaskState.SUCCEEDED, TaskState.FAILED
MAYBE_SERVED = {"http500", "http503", "http504", "timeout", "malformed"}


def calls(endpoint: str, *names: str) -> dict[str, Any]:
    return {"calls": [{"endpoint": endpoint, "fault": name} for name in names]}


@dataclass(frozen=True)
class Fault:
    plan: dict[str, Any]  # for POST /__offline/faults
    ends: TaskState
    mode: str = "poll"
    shown: int = 1  # images shown and saved when it ends well
    error: str = ""  # in the stored reason when it fails
    started: int = 1  # tasks the service started
    n_iter: int = 1
    client_timeout: float = 2.0  # below the backend's "timeout" delay makes it a read timeout
    forge: bool = False  # forged callbacks reach the app before the real one

    @property
    def metered_unbilled(self) -> int:
        """Calls the app's meter counts that the offline backend did not bill: answers that do
        not prove the service skipped the work (5xx, read timeouts, a body not the service's).
        Gateway 4xx refusals are neither; a lost answer is both."""
        return sum(call["fault"] in MAYBE_SERVED for call in self.plan.get("calls", ()))


CATALOGUE: dict[str, Fault] = {
    "5xx burst on submit": Fault(calls("text2image", "http500", "http503", "http504"), SUCCEEDED),
    "submit read timeout": Fault(calls("text2image", "timeout"), SUCCEEDED, client_timeout=0.3),
    "429 with Retry-After on submit": Fault(calls("text2image", "http429", "http429"), SUCCEEDED),
    "403 flow control with Retry-After": Fault(calls("text2image", "throttle403"), SUCCEEDED),
    "malformed submit answer": Fault(calls("text2image", "malformed"), SUCCEEDED),
    "submit answer lost": Fault(calls("text2image", "lost"), SUCCEEDED),
    "5xx burst on status": Fault(calls("query_task", *["http500", "http503", "http504"] * 3),
                                 SUCCEEDED),
    "status read timeouts": Fault(calls("query_task", "timeout", "timeout"), SUCCEEDED,
                                  client_timeout=0.3),
    "throttled status queries": Fault(calls("query_task", "http429", "throttle403", "http429"),
                                      SUCCEEDED),
    "malformed status answers": Fault(calls("query_task", "malformed", "malformed"), SUCCEEDED),
    "quota used up": Fault(calls("text2image", "quota"), FAILED, error="quota", started=0),
    "account in arrears": Fault(calls("text2image", "arrears"), FAILED, error="in arrears",
                                started=0),
    "status 0": Fault({"tasks": ["fail"]}, FAILED, error="Task failed"),
    "deleted image": Fault({"tasks": ["deleted"]}, SUCCEEDED, n_iter=2),
    "audited image": Fault({"tasks": ["hidden"]}, SUCCEEDED, n_iter=2),
    "expired result URL": Fault({"tasks": ["expired"]}, FAILED, error="404"),
    "callback lost": Fault({"callbacks": ["drop"]}, SUCCEEDED, mode="callback"),
    "callback twice": Fault({"callbacks": ["duplicate"]}, SUCCEEDED, mode="callback"),
    "forged callback first": Fault({}, SUCCEEDED, mode="callback", forge=True),
    "callback lost and status 5xx": Fault({"callbacks": ["drop"], **calls("query_task", "http503",
                                                                          "http500")},
                                          SUCCEEDED, mode="callback"),
}


def make_rig(backend: OfflineServer, data_dir: Path, fault: Fault) -> Rig:
    # Callback mode: the safety-net poll comes after 0.6 s, so a lost callback costs little.
    rig = Rig(backend, data_dir, mode=fault.mode, policy=replace(FAST_POLICY, safety_first=0.6))
    rig.client.timeout = fault.client_timeout
    return rig


def forge_callback(rig: Rig, task_id: str) -> None:
    """A final body that points at somebody else's picture, without the task's token."""
    body = {"code": "200", "msg": "success", "data": {
        "businessTaskId": task_id, "status": 1, "desc": "Task succeeded.", "progress": 1,
        "differentialImageRspList": [{"image_url": "http://127.0.0.1:9/evil.png", "seed": 1,
                                      "image_status": 1, "img_audit_status": True}]}}
    for token in ("", "0" * 64, rig.keys.callback_token(new_id())):
        assert callback_post(rig, task_id, body, token=token).status_code == 403


def assert_final_and_saved(record: TaskRecord | None) -> TaskRecord:
    assert record is not None and record.is_final and record.finished_at, record
    for image in record.images:
        if image.shown:
            path = Path(image.path or "")
            assert path.is_file() and path.suffix == ".png", image
            assert infotext.parse(read_infotext(path) or "")["Seed"] == str(image.seed)
        else:  # withheld or not downloadable: nothing shown, nothing kept, a reason recorded
            assert not image.path and (image.hidden_reason or image.error), image
    return record


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_fault(name: str, fresh_offline: OfflineServer, tmp_path: Path) -> None:
    fault = CATALOGUE[name]
    rig = make_rig(fresh_offline, tmp_path, fault)
    try:
        faults(fresh_offline, **fault.plan)
        handle = rig.submit(n_iter=fault.n_iter, seed=40)
        if fault.forge:
            forge_callback(rig, handle.task_id)
        record = assert_final_and_saved(handle.wait(timeout=20))
        assert record.state == fault.ends, record.error
        if fault.ends == SUCCEEDED:
            assert sum(image.shown for image in record.images) == fault.shown
            assert len(record.images) == fault.n_iter
        else:
            assert fault.error in (record.error or ""), record.error
        served = stats(fresh_offline)
        assert served["tasks_started"] == fault.started
        # the cost meter: never less than the bill, more only by calls that may have been served
        assert record.billed_calls == sum(served["billed"].values()) + fault.metered_unbilled
        saved = sorted(p.name for p in (tmp_path / "outputs").rglob("*.png"))
        assert saved == sorted(Path(i.path).name for i in record.images if i.path)
    finally:
        rig.close()


# --- load ---------------------------------------------------------------------------------------

LOAD_TASKS, VISITORS = 200, 10


@pytest.mark.parametrize("fresh_offline", [{"fail_rate": 0.06, "throttle_rate": 0.04,
                                            "task_fail_rate": 0.03, "concurrency": 16}],
                         indirect=True)
def test_load_200_tasks_with_a_tenth_of_calls_faulted(fresh_offline: OfflineServer,
                                                      tmp_path: Path) -> None:
    """10 visitors, 200 tasks, callback and poll mode alternating; 6% of calls answer 5xx or
    lose their answer, 4% are throttled, 3% of tasks end in status 0."""
    rig = Rig(fresh_offline, tmp_path, mode="callback",
              policy=replace(FAST_POLICY, safety_first=0.6))
    try:
        owners: dict[str, str] = {}
        for n in range(LOAD_TASKS):
            owner = f"visitor-{n % VISITORS}"
            handle = rig.engine.submit(rig.request(seed=n, width=64, height=64, steps=4),
                                       owner=owner, mode="poll" if n % 2 else "callback")
            owners[handle.task_id] = owner
        for task_id, owner in owners.items():
            rig.engine.wait(task_id, owner, timeout=120)
        stored = {task_id: rig.store.get(task_id, owner) for task_id, owner in owners.items()}
        served = stats(fresh_offline)
        ends = Counter(r.state.name.lower() for r in stored.values() if r is not None)
        lost = sum(1 for r in stored.values() if r is None or not r.is_final)
        print(f"\nload: {LOAD_TASKS} tasks, {ends['succeeded']} completed, {ends['failed']} "
              f"failed, {lost} lost; backend: {sum(served['calls'].values())} calls, "
              f"{sum(served['rejected'].values())} faulted, {served['tasks_started']} tasks "
              f"started, {served['duplicate_submits']} resubmits answered without a new task")
        assert lost == 0
        for record in stored.values():
            record = assert_final_and_saved(record)
            if record.state == FAILED:  # only what the service itself failed
                assert "Task failed" in (record.error or ""), record.error
            else:
                assert [image.seed for image in record.images] == [int(record.request["seed"])]
        assert served["tasks_started"] == LOAD_TASKS  # every id once: no second billed task
        assert ends["failed"] == served["tasks_failed"]
        for n in range(VISITORS):  # each visitor's history holds exactly its own tasks
            owner = f"visitor-{n}"
            mine = {t for t, o in owners.items() if o == owner}
            assert {r.id for r in rig.store.list(owner, limit=LOAD_TASKS)} == mine
    finally:
        rig.close()
