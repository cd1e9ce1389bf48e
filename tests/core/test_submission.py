"""The submission service on a real offline backend: a plan priced, sent within the visitor's
limits (a fan-out whole or not at all, a tool's batch in part), and followed to the end; a
task the visitor stops following leaves the stream and still lands in the store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import new_id, t2i
from tests.core.conftest import Rig
from webui.api import models as m
from webui.api.errors import InvalidRequestError
from webui.api.validation import parse_request
from webui.core.builder import Txt2ImgForm, build_request
from webui.core.limits import Limiter, Limits, Quota, RateLimited
from webui.core.submission import (
    MAX_BATCH_TASKS,
    Plan,
    PlannedTask,
    SubmissionService,
)

VISITOR = "visitor-a"


def service(rig: Rig, limits: Limits | None = None) -> SubmissionService:
    limiter = Limiter(limits, is_running=rig.engine.is_following)
    return SubmissionService(rig.engine, rig.store, limiter, owner=lambda visitor: visitor,
                             own_client=lambda visitor: None, metered=lambda visitor: True,
                             address=lambda visitor: "127.0.0.1")


def request(**fields: Any) -> m.Text2ImageRequest:
    return parse_request(m.Text2ImageRequest, t2i(new_id(), **fields))


def plan(count: int, *, whole: bool = True, **fields: Any) -> Plan:
    """`count` tasks; each says what it asks for (its request is made only once it has a
    place, so the planner counts the images)."""
    images = fields.get("n_iter", 1) * fields.get("batch_size", 1)
    return Plan("txt2img", tuple(PlannedTask(make=lambda: request(**fields), images=images,
                                             meta={"cell": n}) for n in range(count)),
                script="X/Y/Z plot", whole=whole)


def invalid() -> Any:
    """What the builder raises for a form without a checkpoint."""
    return build_request("txt2img", Txt2ImgForm(prompt="no checkpoint"))[1]


def follow_all(svc: SubmissionService, batch: Any) -> list[Any]:
    return list(svc.follow(VISITOR, batch, heartbeat=0.05))


# --- the bill --------------------------------------------------------------------------------


def test_estimate_counts_tasks_images_and_polls(rig: Rig) -> None:
    svc = service(rig)
    bill = svc.estimate(VISITOR, plan(4, n_iter=2, batch_size=2))
    assert (bill.tasks, bill.images, bill.polling, bill.previews) == (4, 16, True, 0)
    assert bill.calls % 4 == 0 and bill.calls > 2 * 4  # a submit and the back-off's queries
    assert bill.describe().startswith("4 tasks, 16 images, about ")
    assert "each status query is billed" in bill.describe()


def test_callback_estimate_matches_the_calls_once_the_visitor_has_history(
        callback_rig: Rig) -> None:
    svc = service(callback_rig)
    first = svc.estimate(VISITOR, plan(3))
    assert not first.polling and 3 <= first.calls <= 3 * 2  # a submit, maybe a safety poll
    sent = svc.submit(VISITOR, plan(3))
    assert sent.batch is not None
    follow_all(svc, sent.batch)
    counted = sum(callback_rig.store.get(i, VISITOR).billed_calls  # type: ignore[union-attr]
                  for i in sent.batch.task_ids)
    assert counted == 3
    assert svc.estimate(VISITOR, plan(3)).calls == counted


# --- sending and following --------------------------------------------------------------------


def test_a_fan_out_is_sent_stored_as_a_batch_and_followed_to_the_end(rig: Rig) -> None:
    svc = service(rig)
    sent = svc.submit(VISITOR, plan(4, steps=6))
    assert sent.batch is not None and sent.not_sent == 0 and sent.refused is None
    batch = sent.batch
    assert len(batch.task_ids) == 4 and rig.store.get_batch(batch.id, VISITOR) == batch
    assert svc.followers.newest(VISITOR, "txt2img") == batch.id
    assert svc.batch(VISITOR, batch.id) == batch and svc.batch("someone-else", batch.id) is None

    progress = follow_all(svc, batch)
    assert progress[0].changed is None and progress[-1].done
    last = progress[-1]
    assert last.progress == 1.0 and not last.failed and len(last.finished) == 4
    records = [rig.store.get(i, VISITOR) for i in batch.task_ids]
    assert all(r is not None and r.state == m.TaskState.SUCCEEDED for r in records)
    assert [r.meta for r in records] == [{"cell": n, "batch": batch.id}  # type: ignore[union-attr]
                                         for n in range(4)]
    billed = sum(r.billed_calls for r in records)  # type: ignore[union-attr]
    assert last.billed_calls == billed == rig.engine.billed_calls(VISITOR) >= 8


def test_following_a_finished_batch_is_one_look(rig: Rig) -> None:
    svc = service(rig)
    sent = svc.submit(VISITOR, plan(2))
    assert sent.batch is not None
    follow_all(svc, sent.batch)
    again = follow_all(svc, sent.batch)
    assert len(again) == 1 and again[0].done


def test_an_empty_plan_sends_nothing_and_an_oversized_one_is_refused(rig: Rig) -> None:
    svc = service(rig)
    assert svc.submit(VISITOR, Plan("txt2img", ())).batch is None
    made: list[int] = []
    huge = Plan("txt2img", tuple(PlannedTask(make=lambda: made.append(1))
                                 for _ in range(MAX_BATCH_TASKS + 1)))
    with pytest.raises(RateLimited):
        svc.submit(VISITOR, huge)
    assert made == [] and rig.store.count(VISITOR) == 0


def test_a_first_invalid_request_sends_nothing_a_later_one_sends_the_rest_before_it(
        rig: Rig) -> None:
    svc = service(rig, Limits(visitor=Quota(concurrent_tasks=2)))
    with pytest.raises(InvalidRequestError):
        svc.submit(VISITOR, Plan("txt2img", (PlannedTask(make=invalid),
                                             PlannedTask(make=request))))
    assert rig.store.count(VISITOR) == 0
    mixed = Plan("txt2img", (PlannedTask(make=request), PlannedTask(make=invalid),
                             PlannedTask(make=request)), whole=False)
    sent = svc.submit(VISITOR, mixed)
    assert sent.batch is not None and len(sent.batch.task_ids) == 1
    assert sent.invalid is not None and sent.not_sent == 2
    follow_all(svc, sent.batch)
    # the places of the requests not sent were given back: two at once go again
    again = svc.submit(VISITOR, plan(2))
    assert again.batch is not None and len(again.batch.task_ids) == 2


# --- limits: whole or nothing ----------------------------------------------------------------


def test_a_fan_out_past_the_tasks_at_once_goes_whole_or_not_at_all(rig: Rig) -> None:
    svc = service(rig, Limits(visitor=Quota(concurrent_tasks=2)))
    made: list[int] = []
    counted = Plan("txt2img", tuple(PlannedTask(make=lambda: (made.append(1), request())[1])
                                    for _ in range(3)))
    with pytest.raises(RateLimited, match="3 tasks at once"):
        svc.submit(VISITOR, counted)
    assert made == [] and rig.store.count(VISITOR) == 0
    sent = svc.submit(VISITOR, plan(2))  # the places taken for the refused plan came back
    assert sent.batch is not None and len(sent.batch.task_ids) == 2
    follow_all(svc, sent.batch)


def test_a_tools_batch_goes_in_part_and_says_why_the_rest_did_not(rig: Rig) -> None:
    svc = service(rig, Limits(visitor=Quota(concurrent_tasks=2)))
    sent = svc.submit(VISITOR, plan(3, whole=False))
    assert sent.batch is not None and len(sent.batch.task_ids) == 2
    assert sent.not_sent == 1 and isinstance(sent.refused, RateLimited)
    follow_all(svc, sent.batch)


def test_a_fan_out_needing_more_calls_than_are_left_today_is_refused(rig: Rig) -> None:
    svc = service(rig, Limits(visitor=Quota(calls_per_day=2)))
    with pytest.raises(RateLimited, match="3 tasks need at least 3 billed calls"):
        svc.submit(VISITOR, plan(3))
    assert rig.store.count(VISITOR) == 0
    tickets, refused = svc.reserve(VISITOR, 2, whole=True)
    assert len(tickets) == 2 and refused is None
    for ticket in tickets:
        ticket.release()


# --- stop following ---------------------------------------------------------------------------


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.01}], indirect=True)
def test_a_stopped_task_leaves_the_stream_and_still_lands_in_the_store(rig: Rig) -> None:
    svc = service(rig)
    slow, quick = request(steps=150, n_iter=4), request(steps=4)  # about 1.5 s and 20 ms
    sent = svc.submit(VISITOR, Plan("txt2img", (PlannedTask(make=lambda: slow),
                                                PlannedTask(make=lambda: quick))))
    assert sent.batch is not None
    stream = svc.follow(VISITOR, sent.batch, heartbeat=0.05)
    assert next(stream).changed is None
    assert svc.stop_following(VISITOR, slow.task_id)
    assert slow.task_id not in [r.id for r in svc.queue(VISITOR)]
    rest = list(stream)
    assert rest[-1].done and slow.task_id in rest[-1].stopped
    assert not rest[-1].events[slow.task_id].final  # the stream did not wait for it
    assert rest[-1].events[quick.task_id].final
    assert not svc.stop_following("someone-else", quick.task_id)  # not theirs
    assert not svc.stop_following(VISITOR, quick.task_id)  # already final
    record = rig.engine.wait(slow.task_id, VISITOR, timeout=30)
    assert record.state == m.TaskState.SUCCEEDED  # no cancel: it finished on its own
