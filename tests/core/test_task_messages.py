"""The task side's sentences by key: status lines, our own failure reasons (kept keyed in the
store beside their English), History's refusals, the bill, the fan-out refusals, the
builder's, styles', downloads' and settings' refusals. English reads as it always did;
Chinese holds no English word but the values, the wire's field names and product names."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_id, t2i
from tests.core.conftest import OWNER, Rig
from tests.helpers.offline import faults
from webui.api import models as m
from webui.api.errors import InvalidRequestError
from webui.api.models import TaskState
from webui.api.validation import parse_request
from webui.core.builder import (
    ControlNetUnitForm,
    Img2ImgForm,
    Txt2ImgForm,
    build_request,
    txt2img_request,
)
from webui.core.events import TaskEvent
from webui.core.history import (
    INPUTS_EXPIRED,
    TASK_GONE,
    StillRunning,
    Thumbnails,
    delete_task,
    deleted,
    not_deleted,
    state_phrase,
    summary,
    took,
)
from webui.core.limits import Limiter, Limits, Quota, RateLimited
from webui.core.outputs import Downloader, DownloadError, decode
from webui.core.presets import Style, StyleRefused, checked_style
from webui.core.runtime import SettingError, Settings
from webui.core.store import SQLiteTaskStore, StoredImage, TaskRecord
from webui.core.submission import Bill, Plan, PlannedTask, SubmissionService
from webui.core.tools import MAX_BATCH, check_batch
from webui.messages import Language, Msg, msg_from_data, msg_to_data, render

ZH = Language.ZH_CN
# Words Chinese technical text keeps as they are (and the product names the UI never translates)
KEPT = {"URL", "ID", "API", "MB", "ControlNet", "ADetailer", "controlnet", "http", "s"}


def english_words(text: str, *values: object) -> set[str]:
    """Latin words of `text` that are neither a value given nor a word kept as it is."""
    allowed = set(KEPT)
    for value in values:
        allowed |= set(re.findall(r"[A-Za-z_]+", str(value)))
    return set(re.findall(r"[A-Za-z_]+", text)) - allowed


def chinese(value: Any, *values: object) -> str:
    text = render(value, ZH)
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert not english_words(text, *values), (text, english_words(text, *values))
    return text


def event(state: TaskState, **fields: Any) -> TaskEvent:
    return TaskEvent(task_id="t1", state=state, **fields)


def shown_images(count: int) -> tuple[StoredImage, ...]:
    return tuple(StoredImage(i, 1, path=f"/x/{i}.png") for i in range(count))


# --- status lines ----------------------------------------------------------------------------


@pytest.mark.parametrize("snapshot, english", [
    (event(TaskState.QUEUED), "Queued"),
    (event(TaskState.QUEUED, queue_position=3), "Queued (position 3)"),
    (event(TaskState.UPLOADING), "Uploading input images"),
    (event(TaskState.GENERATING), "Generating"),
    (event(TaskState.GENERATING, progress=0.4), "Generating, 40%"),
    (event(TaskState.GENERATING, job_no=2, job_count=4), "Generating, batch 2/4"),
    (event(TaskState.GENERATING, job_no=2, job_count=4, progress=0.125),
     "Generating, batch 2/4, 12%"),
    (event(TaskState.SUCCEEDED, images=shown_images(1)), "Done: 1 image"),
    (event(TaskState.SUCCEEDED, images=shown_images(2)), "Done: 2 images"),
    (event(TaskState.SUCCEEDED), "Done: 0 images"),
    (event(TaskState.FAILED), "Failed: unknown reason"),
])
def test_status_lines_read_as_before_in_english_and_wholly_in_chinese(
        snapshot: TaskEvent, english: str) -> None:
    assert snapshot.status_line == english == str(snapshot.status)
    chinese(snapshot.status, english.split()[-1])  # the numbers


def test_a_failure_shows_the_services_words_as_given_and_ours_translated() -> None:
    service = event(TaskState.FAILED, error="Task failed: could not process")
    assert service.status_line == "Failed: Task failed: could not process"
    assert render(service.status, ZH) == "失败：Task failed: could not process"
    ours = Msg("task.reason.timed_out", minutes="60")
    keyed = event(TaskState.FAILED, error=str(ours), error_msg=ours)
    assert keyed.status_line == ("Failed: no final status within 60 min; if the service still "
                                 "finishes the task, its callback is still accepted")
    assert chinese(keyed.status).startswith("失败：60 分钟内没有得到最终状态")


# --- our own reasons, stored keyed -----------------------------------------------------------


def test_a_reason_of_ours_is_stored_in_english_and_by_key(tmp_path: Path) -> None:
    store = SQLiteTaskStore(tmp_path / "tasks.sqlite3")
    detail = Msg("download.gone", status=404)
    reason = Msg("task.reason.download_failed", detail=detail)
    store.create(TaskRecord(id="t1", kind="text2image", owner="o", request={"prompt": "original"},
                            state=TaskState.FAILED, error=str(reason), error_msg=reason,
                            images=(StoredImage(0, 5, error=str(detail), error_msg=detail),)))
    record = store.get("t1")
    assert record is not None and record.error_msg == reason
    assert record.images[0].error_msg == detail
    assert record.error == ("no result image could be downloaded: the image URL answered 404 "
                            "(expired or deleted)")
    assert state_phrase(record) == f"failed: {record.error}"
    assert chinese(state_phrase(record, ZH), 404) == \
        "失败：没有一张结果图像能下载：图像 URL 返回了 404（已过期或已删除）"
    # the service's words: as given, in every language
    store.update("t1", error="Task failed: no GPU", error_msg=None)
    record = store.get("t1")
    assert record is not None and record.error_msg is None
    assert state_phrase(record, ZH) == "失败：Task failed: no GPU"


def test_a_stored_message_is_data_read_with_care() -> None:
    nested = Msg("task.reason.download_failed", detail=Msg("download.failed", error="Timeout"))
    assert msg_from_data(msg_to_data(nested)) == nested
    listed = Msg("bill.with_notes", bill="x", notes=[Msg("bill.note.polling"), "y"], n=None)
    assert msg_from_data(msg_to_data(listed)) == listed
    for junk in (None, 3, "x", {"key": 3}, {"key": "a.b", "params": []}):
        assert msg_from_data(junk) is None
    assert msg_from_data({"key": "a.b", "params": {"p": {"x": 1}, "q": 2}}) == Msg("a.b", q=2)
    deep: Any = {"key": "a.b", "params": {}}
    for _ in range(100):
        deep = {"key": "a.b", "params": {"p": deep}}
    assert msg_from_data(deep) is not None  # too deep a parameter is left out, not followed


def test_the_engine_keeps_its_own_reason_keyed(rig: Rig) -> None:
    faults(rig.backend, tasks=["expired"])
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.FAILED and record.error_msg is not None
    assert record.error_msg.key == "task.reason.download_failed"
    assert record.error == str(record.error_msg)
    assert "404" in chinese(TaskEvent.from_record(record).status, 404)
    assert record.images[0].error_msg is not None
    assert record.images[0].error == str(record.images[0].error_msg)


def test_a_service_failure_is_kept_as_the_service_said_it(rig: Rig) -> None:
    faults(rig.backend, tasks=["fail"])
    record = rig.submit().wait(timeout=10)
    assert record.state == TaskState.FAILED and record.error
    assert render(TaskEvent.from_record(record).status, ZH) == f"失败：{record.error}"


# --- History ---------------------------------------------------------------------------------


def test_historys_refusals_and_notes(tmp_path: Path) -> None:
    assert str(TASK_GONE) == "That task is gone (deleted, or not yours)."
    assert str(INPUTS_EXPIRED) == ("A picture this task started from has expired (uploads are "
                                   "kept 24 h): open its tab and upload the picture again.")
    store = SQLiteTaskStore(tmp_path / "tasks.sqlite3")
    thumbs = Thumbnails(tmp_path / "thumbs")
    store.create(TaskRecord(id="t1", kind="text2image", owner="o", request={},
                            state=TaskState.GENERATING))
    with pytest.raises(StillRunning) as refused:
        delete_task(store, thumbs, "t1", "o")
    assert str(refused.value) == "the task is still running: delete it once it has finished"
    assert str(not_deleted(refused.value)) == ("Not deleted: the task is still running: delete "
                                               "it once it has finished.")
    record = store.update("t1", state=TaskState.SUCCEEDED, images=shown_images(2))
    assert str(deleted(record)) == "Deleted the task and its 2 image file(s)."
    for msg in (TASK_GONE, INPUTS_EXPIRED, not_deleted(refused.value), deleted(record)):
        chinese(msg, 2)


def test_a_history_row_speaks_the_visitors_language(tmp_path: Path) -> None:
    record = TaskRecord(id="t1", kind="enhance", owner="o", created_at=100.0, finished_at=112.3,
                        request={"resizeMode": 0, "upscalingResize": 2, "upscaler1": "ESRGAN_4x"},
                        state=TaskState.SUCCEEDED)
    assert took(record) == "12.3 s" and took(record, ZH) == "12.3 秒"
    minutes = TaskRecord(**{**record.__dict__, "finished_at": 400.0})
    assert took(minutes) == "5.0 min" and took(minutes, ZH) == "5.0 分钟"
    thumbs = Thumbnails(tmp_path / "thumbs")
    english, zh = summary(record, thumbs), summary(record, thumbs, ZH)
    assert (english.kind, english.prompt) == ("Extras", "upscale x2 (ESRGAN_4x)")
    assert (zh.kind, zh.prompt) == ("后期处理", "放大 2 倍（ESRGAN_4x）")
    to_size = TaskRecord(**{**record.__dict__, "request": {
        "resizeMode": 1, "upscalingResizeW": 1024, "upscalingResizeH": 768}})
    assert summary(to_size, thumbs).prompt == "upscale to 1024x768"
    assert summary(to_size, thumbs, ZH).prompt == "放大到 1024x768"
    swap = TaskRecord(**{**record.__dict__, "kind": "roop", "request": {}})
    assert (summary(swap, thumbs).prompt, summary(swap, thumbs, ZH).prompt) == \
        ("face swap", "换脸")


# --- the bill and the fan-out refusals -------------------------------------------------------


@pytest.mark.parametrize("bill, english", [
    (Bill(1, 1, 1, False, 0), "1 task, 1 image, about 1 billed call"),
    (Bill(1, 800, 1, False, 0), "1 task, 800 images, about 1 billed call"),
    (Bill(4, 16, 36, True, 0),
     "4 tasks, 16 images, about 36 billed calls (polling: each status query is billed)"),
    (Bill(1, 1, 5, True, 3), "1 task, 1 image, about 5 billed calls (polling: each status "
     "query is billed; 3 of them live previews)"),
    (Bill(1, 4, 4, False, 3), "1 task, 4 images, about 4 billed calls (3 of them live "
     "previews)"),
])
def test_the_bill_reads_as_before_and_in_chinese(bill: Bill, english: str) -> None:
    assert bill.describe() == english == str(bill.summary)
    text = chinese(bill.summary)
    assert f"{bill.tasks} 个任务，{bill.images} 张图像，约 {bill.calls} 次计费调用" in text


def service(rig: Rig, limits: Limits) -> SubmissionService:
    limiter = Limiter(limits, is_running=rig.engine.is_following)
    return SubmissionService(rig.engine, rig.store, limiter, owner=lambda visitor: visitor,
                             own_client=lambda visitor: None, metered=lambda visitor: True,
                             address=lambda visitor: "127.0.0.1")


def fan_out(count: int) -> Plan:
    make = lambda: parse_request(m.Text2ImageRequest, t2i(new_id()))  # noqa: E731
    return Plan("txt2img", tuple(PlannedTask(make=make) for _ in range(count)))


def test_fan_out_refusals_are_keyed(rig: Rig) -> None:
    svc = service(rig, Limits(visitor=Quota(concurrent_tasks=2)))
    with pytest.raises(RateLimited) as at_once:
        svc.submit(OWNER, fan_out(3))
    assert str(at_once.value).startswith("3 tasks at once is more than allowed: at most 2 ")
    assert at_once.value.msg is not None and at_once.value.msg.key == "limits.tasks_at_once"
    chinese(at_once.value, 2, 3)
    svc = service(rig, Limits(visitor=Quota(calls_per_day=2)))
    with pytest.raises(RateLimited) as calls:
        svc.submit(OWNER, fan_out(3))
    assert str(calls.value) == "3 tasks need at least 3 billed calls, and 2 are left today"
    chinese(calls.value, 2, 3)
    with pytest.raises(RateLimited) as huge:
        svc.submit(OWNER, fan_out(257))
    assert str(huge.value) == "257 tasks in one Generate; at most 256"
    chinese(huge.value, 256, 257)


# --- refusals of the forms, styles, downloads and settings -----------------------------------


def refusal(call: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as refused:
        call()
    return refused.value


def test_the_builders_refusals_name_the_wire_field() -> None:
    none = refusal(lambda: txt2img_request(Txt2ImgForm(prompt="x")))
    assert none.issues[0].message == "sd_model_checkpoint is empty: pick a checkpoint in the " \
                                     "top bar"
    chinese(none.issues[0].msg, "sd_model_checkpoint")
    bare = refusal(lambda: build_request("img2img", Img2ImgForm(checkpoint="c", mode="inpaint")))
    assert [i.message for i in bare.issues] == [
        "image_link is empty: upload an image or paste its URL",
        "mask_link is empty: paint the area to change, or upload a mask"]
    for issue in bare.issues:
        chinese(issue.msg, "image_link", "mask_link")
    unit = ControlNetUnitForm(enabled=True, guidance_start=0.8, guidance_end=0.2)
    cn = refusal(lambda: build_request("txt2img", Txt2ImgForm(checkpoint="c"), [unit]))
    assert [i.message for i in cn.issues] == [
        "ControlNet unit 0: add a control image",
        "ControlNet unit 0: guidance start (0.8) must not be after guidance end (0.2)"]
    for issue in cn.issues:
        chinese(issue.msg, 0.8, 0.2)
    mixed = refusal(lambda: build_request("img2img", Img2ImgForm(checkpoint="c", mode="inpaint"),
                                          [unit]))
    assert mixed.issues[0].message.startswith("Inpainting and ControlNet cannot be combined: ")
    chinese(mixed.issues[0].msg)


def test_a_batch_too_large_is_refused_in_the_visitors_language() -> None:
    big = refusal(lambda: check_batch([1] * (MAX_BATCH + 1), "image", "Image"))
    assert big.issues[0].message == f"Image: at most {MAX_BATCH} images in one batch, got 33"
    assert chinese(big.issues[0].msg, MAX_BATCH, 33).startswith("图像：")


@pytest.mark.parametrize("style, english", [
    (Style(""), "Style name: must not be empty"),
    (Style("x" * 101), "Style name: at most 100 characters"),
    (Style("a\nb"), "Style name: no line breaks or control characters"),
    (Style("s", prompt="p" * 8001),
     "Prompt: a style keeps at most 8000 characters (this one has 8001)"),
])
def test_style_refusals_read_as_before_and_in_chinese(style: Style, english: str) -> None:
    with pytest.raises(StyleRefused) as refused:
        checked_style(style)
    assert str(refused.value) == english
    chinese(refused.value, 100, 8000, 8001)


def test_download_refusals_are_keyed() -> None:
    with pytest.raises(DownloadError) as junk:
        decode(b"not an image")
    assert str(junk.value).startswith("not a readable image: ")
    assert render(junk.value, ZH).startswith("无法读取的图像：")
    with pytest.raises(DownloadError) as ftp:
        Downloader().fetch("ftp://example.com/a.png")
    assert str(ftp.value) == "not an http(s) URL: 'ftp://example.com/a.png'"
    assert render(ftp.value, ZH) == "不是 http(s) URL：'ftp://example.com/a.png'"


def test_settings_refusals_are_keyed() -> None:
    with pytest.raises(SettingError) as refused:
        Settings.from_env({"ZHIQITE_OFFLINE_TIME_SCALE": "fast"})
    assert str(refused.value) == "ZHIQITE_OFFLINE_TIME_SCALE must be a number, got 'fast'"
    chinese(refused.value, "ZHIQITE_OFFLINE_TIME_SCALE", "fast")
    with pytest.raises(ValueError, match="must be on or off, got 'maybe'"):
        Settings.from_env({"ZHIQITE_OFFLINE_REACHES_APP": "maybe"})
    assert Settings.from_env({"ZHIQITE_LEASE_SECONDS": "3"}).lease_seconds == 3.0
    assert Settings.from_env({}).lease_seconds == 60.0
    for bad in ("1", "4000", "soon", "nan"):
        with pytest.raises(SettingError) as refused:
            Settings.from_env({"ZHIQITE_LEASE_SECONDS": bad})
        assert str(refused.value) == \
            f"ZHIQITE_LEASE_SECONDS must be seconds between 2 and 3600, got {bad!r}"
        assert "2" in render(refused.value.msg, ZH) and "秒" in render(refused.value.msg, ZH)


def test_a_store_of_an_earlier_version_gains_the_keyed_reason(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    SQLiteTaskStore(path).create(TaskRecord(id="t1", kind="text2image", owner="o", request={},
                                            state=TaskState.FAILED, error="Task failed: x"))
    with sqlite3.connect(path) as db:  # as an earlier version made it
        db.execute("ALTER TABLE tasks DROP COLUMN error_msg")
    store = SQLiteTaskStore(path)
    record = store.get("t1")
    assert record is not None and (record.error, record.error_msg) == ("Task failed: x", None)
    reason = Msg("task.reason.no_image")
    assert store.update("t1", error=str(reason), error_msg=reason).error_msg == reason
    assert store.get("t1").error_msg == reason  # type: ignore[union-attr]
