"""The task engine on the PostgreSQL store (issue 23): the same loop as on SQLite, many
visitors at once, callbacks, and a restart that resumes from the shared database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import FAST_POLICY, OWNER, Rig, replica_of
from tests.core.test_engine import assert_saved, many_visitors_at_once, wait_submitted
from tests.core.test_restart import SLOW, stopped_then_resumed
from tests.helpers.offline import stats
from webui.api.models import TaskState
from webui.core.runtime import SettingError, Settings, open_store
from webui.core.store import TaskRecord
from webui.core.store_postgres import PostgresTaskStore
from webui.offline.server import OfflineServer


def test_settings_choose_the_store(postgres_url: str, tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path, database_url=postgres_url))
    try:
        assert isinstance(store, PostgresTaskStore)
        assert not (tmp_path / "tasks.sqlite3").exists()  # nothing on the local disk
    finally:
        store.close()
    assert "postgresql" not in repr(Settings(database_url=postgres_url))  # may hold a password


@pytest.mark.parametrize("mode", ["poll", "callback"])
def test_many_visitors_at_once_on_postgres(fresh_offline: OfflineServer, tmp_path: Path,
                                           postgres_url: str, mode: str) -> None:
    rig = Rig(fresh_offline, tmp_path, mode=mode, store=PostgresTaskStore(postgres_url))
    try:
        many_visitors_at_once(rig, visitors=5, each=3)
        assert sum(rig.store.billed_total(f"visitor{n}") for n in range(5)) >= 15
    finally:
        rig.close()


@pytest.mark.parametrize("fresh_offline", SLOW, indirect=True)
def test_a_stopped_engine_is_resumed_from_the_database(fresh_offline: OfflineServer,
                                                       tmp_path: Path, postgres_url: str) -> None:
    """The next app has another data dir: all it knows of the task is in the database."""
    opened = iter(("a", "b"))
    stopped_then_resumed(fresh_offline, lambda: Rig(fresh_offline, tmp_path / next(opened),
                                                    store=PostgresTaskStore(postgres_url)))


def test_a_wrong_or_unreachable_database_stops_the_start_without_its_url(
        tmp_path: Path) -> None:
    with pytest.raises(SettingError) as wrong:
        Settings.from_env({"ZHIQITE_DATABASE_URL": "mysql://user:s3cret@db.example/tasks"})
    assert "ZHIQITE_DATABASE_URL" in str(wrong.value) and "s3cret" not in str(wrong.value)
    # nothing listens on port 1: the start stops within the wait, naming the variable
    with pytest.raises(SettingError) as unreachable:
        open_store(Settings(data_dir=tmp_path,
                            database_url="postgresql://user:s3cret@127.0.0.1:1/tasks"),
                   connect_timeout=1.0)
    assert "ZHIQITE_DATABASE_URL" in str(unreachable.value)
    assert "s3cret" not in str(unreachable.value)


@pytest.mark.parametrize("fresh_offline", SLOW, indirect=True)
def test_two_replicas_follow_each_task_once(fresh_offline: OfflineServer, tmp_path: Path,
                                            postgres_url: str) -> None:
    """Replica B starting (or sweeping) while A follows its tasks takes none of them."""
    a = Rig(fresh_offline, tmp_path / "a", store=PostgresTaskStore(postgres_url))
    b = Rig(fresh_offline, tmp_path / "b", store=PostgresTaskStore(postgres_url))
    try:
        handles = [a.submit(steps=150, seed=n) for n in range(4)]
        for handle in handles:
            wait_submitted(a, handle.task_id)
        assert b.engine.resume() == 0  # A holds every lease (renewed while it follows)
        time.sleep(a.engine.policy.lease * 1.5)
        assert b.engine.resume() == 0  # still: A renews them
        for handle in handles:
            record = a.engine.wait(handle.task_id, OWNER, timeout=15)
            assert record.state == TaskState.SUCCEEDED and record.resumed == 0
        assert stats(fresh_offline)["tasks_started"] == 4
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("fresh_offline", SLOW, indirect=True)
def test_a_dead_replicas_task_is_taken_over_when_its_lease_ends(
        fresh_offline: OfflineServer, tmp_path: Path, postgres_url: str) -> None:
    """A replica killed mid-task (no goodbye: its lease stands) hands nothing on until the
    lease ends; then another's sweep follows the task to its end, started once."""
    b = Rig(fresh_offline, tmp_path / "b", store=PostgresTaskStore(postgres_url))
    try:
        request = b.request(steps=150)
        b.client.text2image(request)  # the dead replica had sent it
        b.store.create(TaskRecord(id=request.task_id, kind="text2image", owner=OWNER,
                                  request=request.to_wire(), submitted=True,
                                  created_at=time.time()), holder="dead-replica", lease=0.5)
        assert b.engine.resume() == 0
        b.engine.sweep(every=0.1)
        record = b.engine.wait(request.task_id, OWNER, timeout=15)
        assert record.state == TaskState.SUCCEEDED and record.resumed == 1
        assert_saved(record, 1)
        assert stats(fresh_offline)["tasks_started"] == 1
    finally:
        b.close()


def listening_rig(backend: OfflineServer, data_dir: Path, url: str, mode: str = "poll",
                  bucket: tuple[Any, str] | None = None) -> Rig:
    """A replica on the shared database that hears the others' changes (`bucket`: its
    results go to that bucket too)."""
    rig = Rig(backend, data_dir, mode=mode, store=PostgresTaskStore(url), bucket=bucket,
              policy=replace(FAST_POLICY, safety_first=10.0))  # callbacks, not safety polls
    assert rig.engine.listen()
    return rig


@contextmanager
def listening_pair(backend: OfflineServer, tmp_path: Path, url: str, mode: str = "poll",
                   bucket: tuple[Any, str] | None = None) -> Iterator[tuple[Rig, Rig]]:
    """Replicas A (`mode`) and B (polling) on the shared database, hearing each other."""
    a = listening_rig(backend, tmp_path / "a", url, mode, bucket)
    b = listening_rig(backend, tmp_path / "b", url, bucket=bucket)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("fresh_offline", SLOW, indirect=True)
@pytest.mark.parametrize("mode", ["callback", "poll"])
def test_a_visitor_on_another_replica_sees_the_task_go_on_and_end(
        fresh_offline: OfflineServer, tmp_path: Path, postgres_url: str, mode: str) -> None:
    """Replica A follows the task (its callback reaches A); a visitor watching from replica B,
    which does not follow it, sees its progress and its end (NOTIFY from A, LISTEN in B:
    without them B's visitor would wait for ever)."""
    with listening_pair(fresh_offline, tmp_path, postgres_url, mode) as (a, b):
        handle = a.submit(steps=150)
        wait_submitted(a, handle.task_id)
        seen = list(b.engine.events(handle.task_id, OWNER, preview_interval=None, timeout=15))
        assert seen[-1].final and seen[-1].state == TaskState.SUCCEEDED
        assert [image.path for image in seen[-1].images] == \
            [image.path for image in a.store.get(handle.task_id).images]  # type: ignore[union-attr]
        if mode == "poll":  # A's polls learn the progress (in callback mode only the end)
            assert any(e.state == TaskState.GENERATING and e.progress for e in seen[:-1])
        holder = b.store._read("SELECT lease_holder FROM tasks WHERE id = ?",
                               [handle.task_id]).fetchone()[0]
        assert holder == replica_of(tmp_path / "a")  # B never followed it
        assert stats(fresh_offline)["tasks_started"] == 1


def test_replicas_share_the_apps_secret(postgres_url: str) -> None:
    """Owner keys, callback tokens and visitor ids must match on whichever replica a request
    reaches: the secret is the database's, made once."""
    first, second = PostgresTaskStore(postgres_url), PostgresTaskStore(postgres_url)
    try:
        key = first.shared_key(32)
        assert len(key) == 32 and second.shared_key(32) == key
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.03}], indirect=True)
def test_a_visitor_on_another_replica_gets_live_previews_only_when_asked(
        fresh_offline: OfflineServer, tmp_path: Path, postgres_url: str) -> None:
    """B's visitor wants previews of a task A follows (callback mode: A polls for nobody):
    B asks through the store, A polls on its schedule and puts each preview in the store, B
    shows them. Watched without previews, A makes no call beyond the submit."""
    with listening_pair(fresh_offline, tmp_path, postgres_url, "callback") as (a, b):
        quiet = a.submit(steps=150)
        wait_submitted(a, quiet.task_id)
        seen = list(b.engine.events(quiet.task_id, OWNER, preview_interval=None, timeout=20))
        assert seen[-1].final and not any(e.preview for e in seen)
        assert a.store.get(quiet.task_id).billed_calls == 1  # type: ignore[union-attr]

        watched = a.submit(steps=150)  # ~1.1 s at this scale
        wait_submitted(a, watched.task_id)
        seen = list(b.engine.events(watched.task_id, OWNER, preview_interval=0.05,
                                    timeout=20))
        assert seen[-1].final and seen[-1].state == TaskState.SUCCEEDED
        previews = [e.preview_image() for e in seen if e.preview and not e.final]
        assert len(previews) >= 2 and all(p is not None and p.size == (256, 256)
                                           for p in previews), len(previews)
        record = a.store.get(watched.task_id)
        assert record is not None and record.billed_calls >= 1 + len(previews) // 2
        holder = b.store._read("SELECT lease_holder FROM tasks WHERE id = ?",
                               [watched.task_id]).fetchone()[0]
        assert holder == replica_of(tmp_path / "a")  # B asked, A fetched
        assert b.store.preview(watched.task_id) is None  # dropped at the end
        assert stats(fresh_offline)["tasks_started"] == 2


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.03}], indirect=True)
def test_a_failed_ask_for_previews_does_not_end_the_watch(
        fresh_offline: OfflineServer, tmp_path: Path, postgres_url: str) -> None:
    """The database away while B asks A for previews: B's visitor still sees the end."""
    import psycopg

    def away(task_id: str, until: float) -> None:
        raise psycopg.OperationalError("the database went away")

    with listening_pair(fresh_offline, tmp_path, postgres_url, "callback") as (a, b):
        b.store.want_previews = away
        handle = a.submit(steps=60)
        wait_submitted(a, handle.task_id)
        seen = list(b.engine.events(handle.task_id, OWNER, preview_interval=0.05, timeout=20))
        assert seen[-1].final and seen[-1].state == TaskState.SUCCEEDED
