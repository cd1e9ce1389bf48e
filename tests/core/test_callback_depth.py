"""A callback with a valid token and a body nested past the JSON parser's depth: a 400 like
any other body that is not a task status, never a 500, and nothing changes."""

from __future__ import annotations

import json

from tests.core.conftest import Rig
from tests.core.test_engine import callback_post, final_body, wait_submitted
from tests.helpers.offline import faults


def test_deeply_nested_callback_bodies_are_a_400(callback_rig: Rig) -> None:
    faults(callback_rig.backend, tasks=["stuck"])
    handle = callback_rig.submit()
    wait_submitted(callback_rig, handle.task_id)
    other = callback_rig.submit().wait(timeout=10)
    before = callback_rig.store.get(handle.task_id)
    deep = 100_000
    barely = 900  # parsed, then refused by the model or the task id check
    lists = b'{"code": "200", "data": ' + b"[" * deep + b"]" * deep + b"}"
    objects = b'{"code": "200", "data": ' + b'{"a": ' * deep + b"1" + b"}" * deep + b"}"
    body = final_body(callback_rig, other.id)
    body["data"]["extra"] = json.loads("[" * barely + "]" * barely)
    answers = {
        "lists": callback_post(callback_rig, handle.task_id, None, raw=lists),
        "objects": callback_post(callback_rig, handle.task_id, None, raw=objects),
        "nested data": callback_post(callback_rig, handle.task_id, None,
                                     raw=b'{"data": ' + b"[" * deep + b"]" * deep + b"}"),
        "parsed, another task": callback_post(callback_rig, handle.task_id, body),
    }
    assert {name: a.status_code for name, a in answers.items()} == {
        "lists": 400, "objects": 400, "nested data": 400, "parsed, another task": 400}
    assert all(a.json()["msg"] == "not a task status body" for name, a in answers.items()
               if name != "parsed, another task")
    after = callback_rig.store.get(handle.task_id)
    assert after is not None and before is not None
    assert (after.state, after.images, after.error) == (before.state, before.images, before.error)
    # the route still serves: the stuck task's own body is answered as before
    assert callback_post(callback_rig, handle.task_id,
                         final_body(callback_rig, handle.task_id)).status_code == 409
