"""Results on S3-compatible storage (issue 23): each replica puts its results in the bucket
under its own name, and any replica shows any owner's results, fetched once from the bucket
(moto's S3 server on loopback; PostgreSQL for the two-replica test)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.core.conftest import OWNER
from tests.core.test_engine import wait_submitted
from tests.core.test_postgres_engine import listening_rig
from tests.helpers.images import gradient
from webui.api.models import TaskState
from webui.core.history import history_pictures
from webui.core.outputs import OutputWriter
from webui.core.result_files import MirroredStore, ResultMirror, results_wanted
from webui.core.store import SQLiteTaskStore, StoredImage, TaskRecord
from webui.offline.server import OfflineServer

DAY = dt.date(2026, 12, 3)


@pytest.fixture
def bucket(s3_endpoint: str) -> tuple[Any, str]:
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    name = "results-" + uuid.uuid4().hex[:12]
    client.create_bucket(Bucket=name)
    return client, name


def replica(tmp_path: Path, name: str, bucket: tuple[Any, str]) -> tuple[OutputWriter, ResultMirror]:
    mirror = ResultMirror(bucket[0], bucket[1], replica=f"host:{tmp_path / name}",
                          outputs_dir=tmp_path / name / "outputs",
                          cache_dir=tmp_path / name / "results")
    return OutputWriter(tmp_path / name / "outputs", mirror), mirror


def saved(writer: OutputWriter, colour: int) -> StoredImage:
    image = Image.new("RGB", (8, 8), (colour, 0, 0))
    path = writer.save("text2image", image, 5, "a red square", day=DAY)
    return StoredImage(0, 5, path=str(path), key=writer.publish(path))


def test_any_replica_shows_a_result_another_one_saved(tmp_path: Path,
                                                      bucket: tuple[Any, str]) -> None:
    (writer_a, mirror_a), (writer_b, mirror_b) = (replica(tmp_path, name, bucket)
                                                  for name in ("a", "b"))
    made_on_a, made_on_b = saved(writer_a, 200), saved(writer_b, 50)
    # the same file name in each replica's folder, two objects in the bucket
    assert Path(made_on_a.path or "").name == Path(made_on_b.path or "").name
    assert made_on_a.key and made_on_b.key and made_on_a.key != made_on_b.key
    store = SQLiteTaskStore.in_dir(tmp_path / "db")
    store.create(TaskRecord(id="t-a", kind="text2image", owner=OWNER, request={},
                            state=TaskState.SUCCEEDED, images=(made_on_a,)))
    on_b = MirroredStore(store, mirror_b)
    shown = on_b.get("t-a", OWNER).images[0]  # type: ignore[union-attr]
    assert Path(shown.path or "").is_relative_to(tmp_path / "b" / "results")
    assert Path(shown.path or "").read_bytes() == Path(made_on_a.path or "").read_bytes()
    # the replica that saved it reads its own file; a third one, after A's disk is gone,
    # still has it from the bucket
    assert MirroredStore(store, mirror_a).get("t-a").images[0].path == made_on_a.path  # type: ignore[union-attr]
    Path(made_on_a.path or "").unlink()
    _, mirror_c = replica(tmp_path, "c", bucket)
    third = MirroredStore(store, mirror_c).get("t-a").images[0]  # type: ignore[union-attr]
    assert Path(third.path or "").read_bytes() == Path(shown.path or "").read_bytes()
    assert on_b.get("t-a", "someone-else") is None  # the owner check is the store's
    # deleted on any replica: out of the bucket too
    assert on_b.delete("t-a", OWNER) is not None
    keys = [o["Key"] for o in bucket[0].list_objects_v2(Bucket=bucket[1]).get("Contents", [])]
    assert keys == [made_on_b.key]


def test_a_forged_key_or_an_unreachable_bucket_shows_nothing_and_raises_nothing(
        tmp_path: Path, bucket: tuple[Any, str]) -> None:
    _, mirror = replica(tmp_path, "b", bucket)
    for key in ("../../../etc/passwd", "zhiqite-results/x/../../y.png", "a b.png", "x" * 600):
        image = StoredImage(0, 1, path="/etc/hostname", key=key)
        assert mirror.local(image) == image  # not fetched, not put anywhere
    assert not (tmp_path / "b" / "results").exists()
    missing = mirror.local(StoredImage(0, 1, path="/elsewhere/00000-1.png",
                                       key="zhiqite-results/other/txt2img/none.png"))
    assert missing.path is None and not missing.shown and missing.error
    import boto3

    away = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        aws_access_key_id="t", aws_secret_access_key="t")
    writer, dead = OutputWriter(tmp_path / "d" / "outputs"), None
    dead = ResultMirror(away, "b", replica="d", outputs_dir=tmp_path / "d" / "outputs",
                        cache_dir=tmp_path / "d" / "results")
    writer.mirror = dead
    path = writer.save("text2image", gradient(8, 8), 1, "x", day=DAY)
    assert path.is_file() and writer.publish(path) is None  # kept here, said in the log


def test_results_go_to_the_bucket_by_default_only_with_a_shared_store() -> None:
    assert results_wanted({}, shared_store=True) and not results_wanted({}, shared_store=False)
    assert results_wanted({"ZHIQITE_S3_RESULTS": "on"}, shared_store=False)
    assert not results_wanted({"ZHIQITE_S3_RESULTS": "off"}, shared_store=True)
    with pytest.raises(ValueError, match="ZHIQITE_S3_RESULTS"):
        results_wanted({"ZHIQITE_S3_RESULTS": "sometimes"}, shared_store=True)


def test_a_visitor_on_another_replica_sees_the_pictures_from_the_bucket(
        fresh_offline: OfflineServer, tmp_path: Path, postgres_url: str,
        bucket: tuple[Any, str]) -> None:
    """Replica A follows the task and saves its pictures on its own disk and in the bucket;
    the visitor watching from replica B gets them as files on B (its live view and its
    History), though B never followed the task and A's outputs folder is not B's."""
    a = listening_rig(fresh_offline, tmp_path / "a", postgres_url, bucket=bucket)
    b = listening_rig(fresh_offline, tmp_path / "b", postgres_url, bucket=bucket)
    try:
        handle = a.submit(batch_size=2, steps=20)
        wait_submitted(a, handle.task_id)
        seen = list(b.engine.events(handle.task_id, OWNER, preview_interval=None, timeout=15))
        assert seen[-1].final and seen[-1].state == TaskState.SUCCEEDED
        on_a = a.store.get(handle.task_id).images
        on_b = seen[-1].images
        assert len(on_b) == 2 and all(i.key for i in on_a)
        for mine, theirs in zip(on_a, on_b, strict=True):
            assert Path(theirs.path or "").is_relative_to(tmp_path / "b" / "results")
            assert Path(theirs.path or "").read_bytes() == Path(mine.path or "").read_bytes()
        pictures = history_pictures(b.store, OWNER)
        assert [p.path for p in pictures] == [i.path for i in on_b]
    finally:
        a.close()
        b.close()
