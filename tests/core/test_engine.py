"""The task engine against the offline backend on loopback: both ways of learning results,
previews, billing, and every fault the backend can play. Each task must end in a final stored
state with its images on disk, and no submit may start two billed tasks."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.conftest import new_id
from tests.core.conftest import OWNER, Rig
from tests.helpers.images import drawn_face, gradient, png
from tests.helpers.offline import faults, stats
from tests.helpers.servers import ImageHost
from tests.helpers.waiting import wait_until
from webui.api import models as m
from webui.api.models import TaskState
from webui.api.validation import parse_request
from webui.core import infotext
from webui.core.engine import PollPolicy
from webui.core.outputs import read_infotext
from webui.offline.server import OfflineServer


def wait_submitted(rig: Rig, task_id: str) -> None:
    deadline = time.monotonic() + 10
    while not rig.store.get(task_id).submitted:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "never submitted"
        time.sleep(0.005)


def billed_at_backend(server: OfflineServer) -> int:
    return sum(stats(server)["billed"].values())


def assert_saved(record, count: int) -> None:  # type: ignore[no-untyped-def]
    saved = [image for image in record.images if image.path]
    assert len(saved) == count
    for image in saved:
        path = Path(image.path)
        assert path.is_file() and path.suffix == ".png"
        assert path.name.endswith(f"-{image.seed}.png")
        assert infotext.parse(read_infotext(path) or "")["Seed"] == str(image.seed)


# --- the normal path ---------------------------------------------------------------------------


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.01}], indirect=True)
def test_poll_mode_streams_progress_previews_then_images(rig: Rig) -> None:
    handle = rig.submit(n_iter=2, batch_size=2, steps=20, seed=1000, negative_prompt="blurry")
    events = list(handle.events(preview_interval=0.01))
    kinds = [event.kind for event in events]
    assert kinds[-1] == "succeeded" and "progress" in kinds
    assert [e.version for e in events] == sorted(set(e.version for e in events))
    previews = [e.preview_image() for e in events if e.preview]
    assert len(previews) >= 3 and all(p is not None and p.size == (256, 256) for p in previews)
    progress = [e.progress for e in events if e.progress is not None]
    assert progress == sorted(progress)  # never goes backwards
    assert any(e.job_count == 2 for e in events)

    record = handle.record()
    assert record.state == TaskState.SUCCEEDED and record.finished_at
    assert_saved(record, 4)
    assert [image.seed for image in record.images] == [1000, 1001, 1002, 1003]
    assert Path(record.images[0].path).parent.parent.name == "txt2img"
    text = read_infotext(record.images[1].path)
    assert text is not None and text.startswith("a lighthouse at dusk\nNegative prompt: blurry\n")
    assert "Seed: 1001, Size: 256x256, Model: photon_v1_84728" in text
    assert "Batch size: 2, Batch pos: 1" in text
    # every submit and query the backend billed is on the task's row, and on the event
    assert record.billed_calls == billed_at_backend(rig.backend)
    assert events[-1].billed_calls == record.billed_calls
    assert rig.engine.billed_calls(OWNER) == record.billed_calls
    assert "callbackUrl" not in record.request


def test_callback_mode_bills_one_call_when_nobody_watches_previews(callback_rig: Rig) -> None:
    records = [callback_rig.submit(seed=i).wait(timeout=10) for i in range(3)]
    assert all(r.state == TaskState.SUCCEEDED for r in records)
    assert [r.billed_calls for r in records] == [1, 1, 1]
    assert stats(callback_rig.backend)["billed"] == {"text2image": 3}
    # the backend counts an acknowledgement when our answer reaches it, which may be just
    # after the task's row turned final (the row is written before the answer goes out)
    wait_until(lambda: stats(callback_rig.backend)["callbacks_acknowledged"] >= 3, 10)
    assert stats(callback_rig.backend)["callbacks_acknowledged"] == 3
    for record in records:
        assert_saved(record, 1)


def test_poll_mode_backs_off_when_previews_are_off(fresh_offline: OfflineServer,
                                                    tmp_path: Path) -> None:
    """Idle polls at 20, 30, 45, 67 ... ms (the policy at 1/100): a task of ~0.5 s (20 s at
    this scale... of the backend's 0.002) needs a handful of queries, not one per 20 ms."""
    policy = PollPolicy(idle_first=0.02, idle_growth=1.5, idle_cap=0.3)
    r = Rig(fresh_offline, tmp_path, policy=policy)
    try:
        record = r.submit(steps=150).wait(timeout=10)  # 150 x 0.25 s x 0.002 = 75 ms
        assert record.state == TaskState.SUCCEEDED
        assert 2 <= record.billed_calls <= 8
    finally:
        r.close()


def test_interrupting_a_watcher_leaves_the_task_running(rig: Rig) -> None:
    handle = rig.submit(steps=30)
    stream = handle.events()
    next(stream)
    stream.close()  # the UI's Interrupt: stop watching
    record = handle.wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED
    assert_saved(record, 1)


def test_visitors_only_see_their_own_tasks(rig: Rig) -> None:
    handle = rig.submit(owner="alice")
    with pytest.raises(LookupError):
        next(rig.engine.events(handle.task_id, "bob"))
    assert rig.engine.handle(handle.task_id, "bob") is None
    handle.wait(timeout=10)
    assert rig.store.get(handle.task_id, "bob") is None
    assert rig.engine.billed_calls("bob") == 0 < rig.engine.billed_calls("alice")


@pytest.mark.parametrize("fresh_offline", [{"concurrency": 8}], indirect=True)
def many_visitors_at_once(rig: Rig, visitors: int = 6, each: int = 4) -> None:
    """`visitors` threads submit `each` tasks at once: every one ends with its own picture,
    seen by its owner only."""
    handles = {}
    lock = threading.Lock()

    def visitor(n: int) -> None:
        for k in range(each):
            seed = n * 100 + k
            handle = rig.submit(owner=f"visitor{n}", seed=seed)
            with lock:
                handles[handle.task_id] = (f"visitor{n}", seed)

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(visitors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for task_id, (owner, seed) in handles.items():
        record = rig.engine.wait(task_id, owner, timeout=20)
        assert record.state == TaskState.SUCCEEDED
        assert [image.seed for image in record.images] == [seed]
        assert_saved(record, 1)
        assert rig.store.get(task_id, "someone else") is None
    assert stats(rig.backend)["tasks_started"] == visitors * each


def test_many_visitors_at_once_get_their_own_results(rig: Rig) -> None:
    many_visitors_at_once(rig)


# --- faults ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["http500", "http503", "http429", "throttle403", "malformed"])
def test_submit_faults_are_retried_without_a_second_task(rig: Rig, fault: str) -> None:
    faults(rig.backend, calls=[{"endpoint": "text2image", "fault": fault}] * 2)
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED
    assert_saved(record, 1)
    assert stats(rig.backend)["tasks_started"] == 1


def test_lost_submit_answer_does_not_start_a_second_task(rig: Rig) -> None:
    faults(rig.backend, calls=[{"endpoint": "text2image", "fault": "lost"}])
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED
    assert stats(rig.backend)["tasks_started"] == 1


def test_submit_unconfirmed_after_all_retries_is_sent_again_later(rig: Rig) -> None:
    """5 failures outlast the client's 4 attempts: the engine queries, then resubmits under
    the same id after resubmit_delay."""
    faults(rig.backend, calls=[{"endpoint": "text2image", "fault": "http503"}] * 4
           + [{"endpoint": "query_task", "fault": "http503"}] * 4)
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED
    assert stats(rig.backend)["tasks_started"] == 1


def test_quota_refusal_fails_at_once_with_the_reason(rig: Rig) -> None:
    faults(rig.backend, calls=[{"endpoint": "text2image", "fault": "quota"}])
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.FAILED
    assert "quota" in (record.error or "").lower()
    assert stats(rig.backend)["tasks_started"] == 0


def test_status_query_faults_are_ridden_out(rig: Rig) -> None:
    faults(rig.backend, calls=[{"endpoint": "query_task", "fault": f}
                               for f in ("http500", "timeout", "malformed", "http429")] * 2)
    record = rig.submit().wait(timeout=15)
    assert record.state == TaskState.SUCCEEDED
    assert_saved(record, 1)


def test_failed_task_is_stored_with_the_services_reason(rig: Rig) -> None:
    faults(rig.backend, tasks=["fail"])
    events = list(rig.submit().events(preview_interval=None))
    assert events[-1].state == TaskState.FAILED and "Task failed" in (events[-1].error or "")
    record = rig.store.get(events[-1].task_id)
    assert record is not None and record.state == TaskState.FAILED and record.finished_at
    assert record.images == ()


@pytest.mark.parametrize("outcome, reason", [("deleted", "content violation"),
                                             ("hidden", "content audit")])
def test_withheld_images_are_recorded_never_saved(rig: Rig, outcome: str, reason: str) -> None:
    faults(rig.backend, tasks=[outcome])
    record = rig.submit(n_iter=2, seed=7).wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED
    first, second = record.images
    assert first.path is None and first.url is None and reason in (first.hidden_reason or "")
    assert not first.shown
    assert second.path and second.shown and second.seed == 8
    assert len(list((rig.data_dir / "outputs").rglob("*.png"))) == 1


def test_result_url_that_404s_ends_the_task_as_failed(rig: Rig) -> None:
    faults(rig.backend, tasks=["expired"])
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.FAILED
    assert "no result image could be downloaded" in (record.error or "") and "404" in (record.error or "")
    assert record.images[0].error and not record.images[0].path


def test_task_that_never_finishes_fails_at_the_deadline(fresh_offline: OfflineServer,
                                                        tmp_path: Path) -> None:
    r = Rig(fresh_offline, tmp_path, policy=PollPolicy(idle_first=0.02, idle_cap=0.05,
                                                       deadline=0.4))
    try:
        faults(fresh_offline, tasks=["stuck"])
        record = r.submit().wait(timeout=10)
        assert record.state == TaskState.FAILED and record.timed_out
        assert "no final status" in (record.error or "")
    finally:
        r.close()


# --- callbacks ---------------------------------------------------------------------------------


def callback_post(rig: Rig, task_id: str, body: object, token: str | None = None,
                  raw: bytes | None = None) -> requests.Response:
    assert rig.server is not None
    token = rig.keys.callback_token(task_id) if token is None else token
    return requests.post(f"{rig.server.url}/api/zhiqite/callback/{task_id}",
                         params={"token": token}, data=raw or json.dumps(body),
                         headers={"Content-Type": "application/json"}, timeout=10)


def final_body(rig: Rig, task_id: str) -> dict:
    return rig.backend.runner.status_body(rig.backend.runner.tasks[task_id])


def test_lost_callback_is_caught_by_the_safety_net_poll(fresh_offline: OfflineServer,
                                                        tmp_path: Path) -> None:
    r = Rig(fresh_offline, tmp_path, mode="callback")  # safety net from 1.2 s
    try:
        faults(fresh_offline, callbacks=["drop"])
        record = r.submit().wait(timeout=10)
        assert record.state == TaskState.SUCCEEDED
        assert_saved(record, 1)
        assert record.billed_calls >= 2  # the submit and at least one safety-net query
    finally:
        r.close()


def test_duplicate_and_late_callbacks_change_nothing(callback_rig: Rig) -> None:
    faults(callback_rig.backend, callbacks=["duplicate"])
    record = callback_rig.submit().wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED
    late = callback_post(callback_rig, record.id, final_body(callback_rig, record.id))
    assert late.status_code == 200 and late.json()["code"] == "200"
    assert callback_rig.store.get(record.id) == record
    assert len(list((callback_rig.data_dir / "outputs").rglob("*.png"))) == 1


def test_forged_and_wrong_callbacks_are_refused_without_a_change(callback_rig: Rig) -> None:
    faults(callback_rig.backend, tasks=["stuck"])
    handle = callback_rig.submit()
    wait_submitted(callback_rig, handle.task_id)  # the stuck outcome goes to the first submit
    other = callback_rig.submit().wait(timeout=10)
    before = callback_rig.store.get(handle.task_id)
    body = final_body(callback_rig, other.id)
    wrong_id = json.loads(json.dumps(body))

    answers = {
        "no token": callback_post(callback_rig, handle.task_id, body, token=""),
        "another task's token": callback_post(callback_rig, handle.task_id, body,
                                              token=callback_rig.keys.callback_token(other.id)),
        "body of another task": callback_post(callback_rig, handle.task_id, wrong_id),
        "not json": callback_post(callback_rig, handle.task_id, None, raw=b"<html>"),
        "not final": callback_post(callback_rig, handle.task_id,
                                   final_body(callback_rig, handle.task_id)),
        "too large": callback_post(callback_rig, handle.task_id, None,
                                   raw=b"{" + b" " * (2 << 20) + b"}"),
        "unknown task": callback_post(callback_rig, "nosuchtask", body),
    }
    codes = {name: answer.status_code for name, answer in answers.items()}
    assert codes == {"no token": 403, "another task's token": 403, "body of another task": 400,
                     "not json": 400, "not final": 409, "too large": 413, "unknown task": 404}
    assert all(answer.json()["code"] != "200" for answer in answers.values())
    after = callback_rig.store.get(handle.task_id)
    assert after is not None and before is not None
    assert (after.state, after.images, after.error) == (before.state, before.images, before.error)


def test_callback_revives_a_task_past_its_deadline(fresh_offline: OfflineServer,
                                                   tmp_path: Path) -> None:
    r = Rig(fresh_offline, tmp_path, mode="callback",
            policy=PollPolicy(safety_first=0.05, deadline=0.3))
    try:
        faults(fresh_offline, callbacks=["drop"], calls=[{"endpoint": "query_task",
                                                          "fault": "http503"}] * 40)
        handle = r.submit()
        record = handle.wait(timeout=10)
        assert record.state == TaskState.FAILED and record.timed_out
        answer = callback_post(r, record.id, final_body(r, record.id))
        assert answer.status_code == 200
        revived = handle.record()
        assert revived.state == TaskState.SUCCEEDED and not revived.timed_out
        assert_saved(revived, 1)
    finally:
        r.close()


# --- tool tasks --------------------------------------------------------------------------------


def test_enhance_goes_through_the_same_engine(rig: Rig, image_host: ImageHost) -> None:
    url = image_host.put(png(gradient(200, 120)))
    request = parse_request(m.EnhanceRequest, {"businessTaskId": new_id(), "image": url,
                                               "upscalingResize": 2})
    handle = rig.engine.submit(request, owner=OWNER)
    record = handle.wait(timeout=10)
    assert record.state == TaskState.SUCCEEDED and record.kind == "enhance"
    path = Path(record.images[0].path or "")
    assert path.parent.parent.name == "extras"
    with Image.open(path) as image:
        assert image.size == (400, 240)
        assert "Postprocess upscale by: 2" in image.info["parameters"]
    assert record.billed_calls == billed_at_backend(rig.backend)


def test_face_swap_and_its_failure(rig: Rig, image_host: ImageHost) -> None:
    face = image_host.put(png(drawn_face()))
    target = image_host.put(png(drawn_face(skin=(200, 160, 130))))
    body = {"businessTaskId": new_id(), "sourceUrl": face, "targetUrl": target}
    done = rig.engine.submit(parse_request(m.RoopRequest, body), owner=OWNER).wait(timeout=10)
    assert done.state == TaskState.SUCCEEDED
    assert Path(done.images[0].path or "").parent.parent.name == "faceswap"

    faults(rig.backend, tasks=["fail"])
    body = {**body, "businessTaskId": new_id()}
    failed = rig.engine.submit(parse_request(m.RoopRequest, body), owner=OWNER).wait(timeout=10)
    assert failed.state == TaskState.FAILED and "could not process" in (failed.error or "")


def test_tool_done_without_a_url_is_a_failure(rig: Rig, image_host: ImageHost) -> None:
    faults(rig.backend, tasks=["no_url"])
    request = parse_request(m.EnhanceRequest, {"businessTaskId": new_id(),
                                               "image": image_host.put(png(gradient(64, 64)))})
    record = rig.engine.submit(request, owner=OWNER).wait(timeout=10)
    assert record.state == TaskState.FAILED


def test_tool_task_in_callback_mode_bills_only_the_submit(callback_rig: Rig,
                                                          image_host: ImageHost) -> None:
    request = parse_request(m.EnhanceRequest, {"businessTaskId": new_id(),
                                               "image": image_host.put(png(gradient(64, 64)))})
    record = callback_rig.engine.submit(request, owner=OWNER).wait(timeout=10)
    # done by the callback, or by ruling 5's probe of the URL the submit answered (not billed)
    assert record.state == TaskState.SUCCEEDED and record.billed_calls == 1
