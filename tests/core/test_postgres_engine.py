"""The task engine on the PostgreSQL store (issue 23): the same loop as on SQLite, many
visitors at once, callbacks, and a restart that resumes from the shared database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.conftest import Rig
from tests.core.test_engine import many_visitors_at_once
from tests.core.test_restart import SLOW, stopped_then_resumed
from webui.core.runtime import SettingError, Settings, open_store
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
