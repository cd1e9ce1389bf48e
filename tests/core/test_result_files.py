"""Results on S3-compatible storage (issue 23): each replica puts its results in the bucket
under its own name, and any replica shows any owner's results, fetched once from the bucket
(moto's S3 server on loopback; PostgreSQL for the two-replica test)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.core.conftest import OWNER
from tests.core.test_engine import wait_submitted
from tests.core.test_postgres_engine import listening_pair
from tests.helpers.images import gradient
from webui.api.models import TaskState
from webui.core.history import history_pictures
from webui.core.outputs import OutputWriter
from webui.core.result_files import MirroredStore, ResultMirror
from webui.core.shares import shared_picture
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
    assert on_b.get("t-a", OWNER).images[0] == made_on_a  # type: ignore[union-attr]  # a look
    shown = on_b.local(on_b.get("t-a", OWNER)).images[0]  # type: ignore[arg-type]  # shown
    assert Path(shown.path or "").is_relative_to(tmp_path / "b" / "results")
    assert Path(shown.path or "").read_bytes() == Path(made_on_a.path or "").read_bytes()
    # the replica that saved it reads its own file; a third one, after A's disk is gone,
    # still has it from the bucket
    on_a = MirroredStore(store, mirror_a)
    assert on_a.local(on_a.get("t-a")).images[0].path == made_on_a.path  # type: ignore[arg-type]
    Path(made_on_a.path or "").unlink()
    _, mirror_c = replica(tmp_path, "c", bucket)
    on_c = MirroredStore(store, mirror_c)
    third = on_c.local(on_c.get("t-a")).images[0]  # type: ignore[arg-type]
    assert Path(third.path or "").read_bytes() == Path(shown.path or "").read_bytes()
    assert on_b.get("t-a", "someone-else") is None  # the owner check is the store's
    # deleted on any replica: out of the bucket too
    assert on_b.delete("t-a", OWNER) is not None
    keys = [o["Key"] for o in bucket[0].list_objects_v2(Bucket=bucket[1]).get("Contents", [])]
    assert keys == [made_on_b.key]


def test_a_forged_key_reaches_nothing_outside_the_cache(tmp_path: Path,
                                                       bucket: tuple[Any, str]) -> None:
    """Keys come from the store's rows: one that is not a result's (another prefix, an
    absolute or climbing path) is neither fetched, nor shown, nor deleted."""
    _, mirror = replica(tmp_path, "b", bucket)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    bucket[0].put_object(Bucket=bucket[1], Key=str(tmp_path / "outside" / "evil.png"),
                         Body=b"PAYLOAD")
    forged = ["../../../etc/passwd", "zhiqite-results/x/../../y.png", "a b.png", "x" * 600,
              "/etc/hostname", str(tmp_path / "outside" / "evil.png"),
              "zhiqite-results//etc/hostname", "zhiqite-results/../victim.txt",
              "other-prefix/r/t/txt2img/00000-1.png"]
    for key in forged:
        image = StoredImage(0, 1, path="/nowhere/00000-1.png", key=key)
        assert mirror.local(image) == image  # not fetched, not put anywhere
        mirror.delete(image)
    assert not (tmp_path / "outside").exists() and victim.read_text() == "keep"
    assert not (tmp_path / "b" / "results").exists()


def test_a_picture_the_bucket_cannot_give_keeps_its_place(tmp_path: Path,
                                                          bucket: tuple[Any, str]) -> None:
    """Not fetched (the object gone, the bucket away): a placeholder with the reason, in the
    picture's place, so that a share link naming the second picture still shows the second
    (never the third), and the first's link shows nothing. Asked again only after a while."""
    writer_a, _ = replica(tmp_path, "a", bucket)
    _, mirror_b = replica(tmp_path, "b", bucket)
    pictures = tuple(replace(saved(writer_a, 60 * n), index=n, seed=10 + n) for n in range(3))
    bucket[0].delete_object(Bucket=bucket[1], Key=pictures[0].key)
    store = SQLiteTaskStore.in_dir(tmp_path / "db")
    store.create(TaskRecord(id="t", kind="text2image", owner=OWNER, request={},
                            state=TaskState.SUCCEEDED, images=pictures))
    first, second = store.share("t", OWNER, 0), store.share("t", OWNER, 1)
    on_b = MirroredStore(store, mirror_b)
    local = on_b.local(store.get("t")).images  # type: ignore[arg-type]
    assert all(image.shown for image in local)
    assert local[0].error_msg is not None and local[0].error_msg.key == "task.reason.not_in_bucket"
    assert Path(local[1].path or "").read_bytes() == Path(pictures[1].path or "").read_bytes()
    assert shared_picture(on_b, first or "") is None  # 404, not another picture
    found = shared_picture(on_b, second or "")
    assert found is not None and found[1].seed == 11
    calls: list[str] = []
    fetch = mirror_b.client.download_file
    mirror_b.client.download_file = lambda *a, **k: (calls.append(a[1]), fetch(*a, **k))[1]
    for _ in range(5):
        on_b.local(store.get("t"))  # type: ignore[arg-type]
    assert calls == []  # the missing one is not asked for again at once, the others cached


def test_an_unreachable_bucket_raises_nothing(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    away = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        aws_access_key_id="t", aws_secret_access_key="t",
                        config=Config(retries={"max_attempts": 1}))
    dead = ResultMirror(away, "b", replica="d", outputs_dir=tmp_path / "d" / "outputs",
                        cache_dir=tmp_path / "d" / "results")
    writer = OutputWriter(tmp_path / "d" / "outputs", dead)
    path = writer.save("text2image", gradient(8, 8), 1, "x", day=DAY)
    assert path.is_file() and writer.publish(path) is None  # kept here, said in the log
    image = dead.local(StoredImage(0, 1, path="/elsewhere/00000-1.png",
                                   key="zhiqite-results/other/abc/txt2img/00000-1.png"))
    assert image.shown and image.error and Path(image.path or "").is_file()


def test_results_go_to_the_bucket_by_default_only_with_a_shared_store(
        tmp_path: Path, bucket: tuple[Any, str], postgres_url: str) -> None:
    from webui.api.client import ZhiqiteClient
    from webui.core.hosting import S3ImageHost
    from webui.core.runtime import Runtime, SettingError, Settings

    host = S3ImageHost(bucket[1], client=bucket[0])

    def mirrored(**settings: Any) -> bool:
        runtime = Runtime(Settings(data_dir=tmp_path / uuid.uuid4().hex, **settings),
                          ZhiqiteClient(base_url="http://127.0.0.1:9"), s3=host)
        try:
            return isinstance(runtime.store, MirroredStore)
        finally:
            runtime.close()

    assert mirrored(database_url=postgres_url) and not mirrored()
    assert mirrored(s3_results=True)
    assert not mirrored(database_url=postgres_url, s3_results=False)
    assert Settings.from_env({"ZHIQITE_S3_RESULTS": "on"}).s3_results is True
    assert Settings.from_env({"ZHIQITE_S3_RESULTS": "off"}).s3_results is False
    assert Settings.from_env({}).s3_results is None
    with pytest.raises(SettingError, match="ZHIQITE_S3_RESULTS"):
        Settings.from_env({"ZHIQITE_S3_RESULTS": "sometimes"})
    for prefix in ("../x/", "/abs/", "no-slash", "a b/"):
        with pytest.raises(SettingError, match="ZHIQITE_S3_RESULTS_PREFIX"):
            Settings.from_env({"ZHIQITE_S3_RESULTS_PREFIX": prefix})
    assert Settings.from_env({"ZHIQITE_S3_RESULTS_PREFIX": "team/results/"}
                             ).s3_results_prefix == "team/results/"


def test_a_visitor_on_another_replica_sees_the_pictures_from_the_bucket(
        fresh_offline: OfflineServer, tmp_path: Path, postgres_url: str,
        bucket: tuple[Any, str]) -> None:
    """Replica A follows the task and saves its pictures on its own disk and in the bucket;
    the visitor watching from replica B gets them as files on B (its live view and its
    History), though B never followed the task and A's outputs folder is not B's."""
    with listening_pair(fresh_offline, tmp_path, postgres_url, bucket=bucket) as (a, b):
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
