"""The SQLite task store: rows survive reopening, owners are isolated, writers may race."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from webui.api.models import TaskState
from webui.core.store import SQLiteTaskStore, StoredImage, TaskRecord


def record(task_id: str, owner: str = "a", prompt: str = "a cat", kind: str = "text2image",
           created_at: float = 0.0) -> TaskRecord:
    return TaskRecord(id=task_id, kind=kind, owner=owner, created_at=created_at,
                      request={"prompt": prompt, "steps": 20})


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTaskStore:
    return SQLiteTaskStore.in_dir(tmp_path)


def test_row_round_trip_and_reopen(store: SQLiteTaskStore, tmp_path: Path) -> None:
    store.create(record("t1"))
    images = (StoredImage(0, 5, "http://x/0.png", "/o/00000-5.png"),
              StoredImage(1, 6, hidden_reason="withheld by the service's content audit"))
    store.update("t1", state=TaskState.SUCCEEDED, images=images, finished_at=3.0)
    reopened = SQLiteTaskStore.in_dir(tmp_path).get("t1")
    assert reopened is not None
    assert reopened.state == TaskState.SUCCEEDED and reopened.images == images
    assert reopened.request == {"prompt": "a cat", "steps": 20} and reopened.is_final
    assert (tmp_path / "tasks.sqlite3").is_file()
    mode = store._connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_owner_is_checked_on_every_visitor_read(store: SQLiteTaskStore) -> None:
    store.create(record("t1", owner="alice"))
    assert store.get("t1", "bob") is None and store.get("t1", "alice") is not None
    assert store.list("bob") == [] and store.count("bob") == 0
    assert store.delete("t1", "bob") is None and store.get("t1") is not None
    assert store.delete("t1", "alice") is not None and store.get("t1") is None


def test_list_pages_newest_first_with_filters(store: SQLiteTaskStore) -> None:
    for n in range(30):
        store.create(record(f"t{n:02d}", prompt=f"cat {n}" if n % 3 else f"50% dog_{n}",
                            kind="enhance" if n % 5 == 0 else "text2image", created_at=n + 1))
    page = store.list("a", limit=10, offset=10)
    assert [r.id for r in page] == [f"t{n:02d}" for n in range(19, 9, -1)]
    assert store.count("a") == 30 and store.count("a", kind="enhance") == 6
    assert {r.id for r in store.list("a", text="50% dog", limit=50)} == \
        {f"t{n:02d}" for n in range(0, 30, 3)}
    assert store.count("a", text="%") == 10  # LIKE wildcards in the search are literal
    assert store.count("a", text="_") == 10


def test_concurrent_writers_lose_no_update(store: SQLiteTaskStore) -> None:
    for n in range(4):
        store.create(record(f"t{n}"))

    def bump(task_id: str) -> None:
        for _ in range(50):
            store.add_billed(task_id)
            store.update(task_id, state=TaskState.GENERATING)

    threads = [threading.Thread(target=bump, args=(f"t{n % 4}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [store.get(f"t{n}").billed_calls for n in range(4)] == [100] * 4  # type: ignore[union-attr]
    assert store.billed_total("a") == 400


def test_unfinished_lists_only_active_tasks(store: SQLiteTaskStore) -> None:
    for n, state in enumerate(TaskState):
        store.create(record(f"t{n}"))
        store.update(f"t{n}", state=state)
    assert {r.state for r in store.unfinished()} == {TaskState.QUEUED, TaskState.UPLOADING,
                                                     TaskState.GENERATING}


def test_duplicate_ids_and_unknown_fields_are_refused(store: SQLiteTaskStore) -> None:
    store.create(record("t1"))
    with pytest.raises(Exception, match="UNIQUE"):
        store.create(record("t1"))
    with pytest.raises(ValueError, match="unknown task fields"):
        store.update("t1", password="x")
    with pytest.raises(KeyError):
        store.update("missing", state=TaskState.FAILED)
