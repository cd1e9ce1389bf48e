"""The callback receiver answers domain outcomes; `core/routes.py` turns each into the HTTP
answer the service expects (only {"code": "200"} stops its retries)."""

from __future__ import annotations

import json

from tests.core.conftest import Rig
from tests.core.test_engine import final_body, wait_submitted
from tests.helpers.offline import faults
from webui.core.callbacks import CallbackOutcome, CallbackReceiver
from webui.core.routes import CALLBACK_ANSWERS, callback_answer


def test_every_outcome_has_an_answer_and_only_stored_ones_stop_retries() -> None:
    assert set(CALLBACK_ANSWERS) == set(CallbackOutcome)
    assert {outcome for outcome, (status, _) in CALLBACK_ANSWERS.items() if status == 200} == {
        CallbackOutcome.STORED, CallbackOutcome.ALREADY_STORED}
    response = callback_answer(CallbackOutcome.NOT_FETCHED)
    assert response.status_code == 503
    assert json.loads(response.body) == {"code": "503",
                                         "msg": "result images not fetched yet; retry later"}


def test_the_receiver_tells_what_became_of_a_callback(rig: Rig) -> None:
    faults(rig.backend, tasks=["stuck"])
    stuck = rig.submit()
    wait_submitted(rig, stuck.task_id)
    done = rig.submit().wait(timeout=10)
    receiver, token = CallbackReceiver(rig.engine), rig.keys.callback_token
    body = json.dumps(final_body(rig, done.id)).encode()
    own = json.dumps(final_body(rig, stuck.task_id)).encode()
    before = rig.store.get(stuck.task_id)
    assert [receiver.receive(*call) for call in [
        (stuck.task_id, "forged", own),
        ("nosuchtask", token("nosuchtask"), body),
        (stuck.task_id, token(stuck.task_id), b"<html>"),
        (stuck.task_id, token(stuck.task_id), body),
        (stuck.task_id, token(stuck.task_id), own),
        (done.id, token(done.id), body),
    ]] == [CallbackOutcome.FORBIDDEN, CallbackOutcome.UNKNOWN_TASK, CallbackOutcome.BAD_BODY,
           CallbackOutcome.OTHER_TASK, CallbackOutcome.NOT_FINAL, CallbackOutcome.ALREADY_STORED]
    after = rig.store.get(stuck.task_id)
    assert after is not None and before is not None
    assert (after.state, after.images, after.error) == (before.state, before.images, before.error)
    assert rig.store.get(done.id) == done
