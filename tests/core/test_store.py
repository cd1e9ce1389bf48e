"""The task store, on SQLite and on PostgreSQL alike: rows survive reopening, owners are
isolated, writers may race."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from webui.api.models import TaskState
from webui.core.store import SQLiteTaskStore, SqlTaskStore, StoredImage, TaskRecord


def record(task_id: str, owner: str = "a", prompt: str = "a cat", kind: str = "text2image",
           created_at: float = 0.0) -> TaskRecord:
    return TaskRecord(id=task_id, kind=kind, owner=owner, created_at=created_at,
                      request={"prompt": prompt, "steps": 20})


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], SqlTaskStore]]:
    """Opens the test's store (again: the same file or database)."""
    opened: list[Any] = []
    if request.param == "sqlite":
        yield lambda: SQLiteTaskStore.in_dir(tmp_path)
        return
    from webui.core.store_postgres import PostgresTaskStore

    url = request.getfixturevalue("postgres_url")

    def open_postgres() -> SqlTaskStore:
        opened.append(PostgresTaskStore(url))
        return opened[-1]

    yield open_postgres
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Callable[[], SqlTaskStore]) -> SqlTaskStore:
    return opener()


def test_row_round_trip_and_reopen(store: SqlTaskStore, opener: Callable[[], SqlTaskStore]
                                   ) -> None:
    store.create(record("t1"))
    images = (StoredImage(0, 5, "http://x/0.png", "/o/00000-5.png"),
              StoredImage(1, 6, hidden_reason="withheld by the service's content audit"))
    store.update("t1", state=TaskState.SUCCEEDED, images=images, finished_at=3.0)
    reopened = opener().get("t1")  # a second store on the same data (migrations run again)
    assert reopened is not None
    assert reopened.state == TaskState.SUCCEEDED and reopened.images == images
    assert reopened.request == {"prompt": "a cat", "steps": 20} and reopened.is_final
    if isinstance(store, SQLiteTaskStore):
        assert store.path.is_file()
        assert store._read("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_owner_is_checked_on_every_visitor_read(store: SqlTaskStore) -> None:
    store.create(record("t1", owner="alice"))
    assert store.get("t1", "bob") is None and store.get("t1", "alice") is not None
    assert store.list("bob") == [] and store.count("bob") == 0
    assert store.delete("t1", "bob") is None and store.get("t1") is not None
    assert store.delete("t1", "alice") is not None and store.get("t1") is None


def test_list_pages_newest_first_with_filters(store: SqlTaskStore) -> None:
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


def test_concurrent_writers_lose_no_update(store: SqlTaskStore) -> None:
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


def test_unfinished_lists_only_active_tasks(store: SqlTaskStore) -> None:
    for n, state in enumerate(TaskState):
        store.create(record(f"t{n}"))
        store.update(f"t{n}", state=state)
    assert {r.state for r in store.unfinished()} == {TaskState.QUEUED, TaskState.UPLOADING,
                                                     TaskState.GENERATING}


def test_duplicate_ids_and_unknown_fields_are_refused(store: SqlTaskStore) -> None:
    store.create(record("t1"))
    with pytest.raises(Exception, match="UNIQUE|unique constraint"):
        store.create(record("t1"))
    with pytest.raises(ValueError, match="unknown task fields"):
        store.update("t1", password="x")
    with pytest.raises(KeyError):
        store.update("missing", state=TaskState.FAILED)


def test_favourites_tags_shares_and_delete(store: SqlTaskStore) -> None:
    store.create(record("t1", owner="alice", prompt="A Red Kite", created_at=1))
    store.create(record("t2", owner="alice", prompt="a blue kite", created_at=2))
    assert store.count("alice", text="red kite") == 1  # the search ignores case on both
    assert store.set_favourite("t1", "alice", True) and store.set_favourite("t1", "alice", True)
    assert not store.set_favourite("t1", "bob", True)
    assert store.favourite_ids("alice", ["t1", "t2"]) == {"t1"}
    assert [r.id for r in store.list("alice", favourites=True)] == ["t1"]
    assert store.set_tags("t1", "alice", ["sky", "bird", "sky"])
    assert store.tags_of("alice", ["t1", "t2"]) == {"t1": ["bird", "sky"]}
    assert [r.id for r in store.list("alice", tags=("sky",))] == ["t1"]
    assert store.tags_of("bob", ["t1"]) == {}
    token = store.share("t1", "alice", 0)
    assert token and store.share("t1", "alice", 0) == token  # one link per picture
    assert store.share("t1", "bob", 0) is None and store.share_token("t1", "alice", 0) == token
    shared = store.shared(token)
    assert shared is not None and shared[0].id == "t1" and shared[1] == 0
    assert store.revoke_share("t1", "alice", 0) and store.shared(token) is None
    token = store.share("t1", "alice", 1)
    images = (StoredImage(0, 5, "http://x/0.png", "/o/00000-5.png", pixels="abc"),)
    store.update("t1", images=images)
    assert store.find_image("alice", "abc") == (store.get("t1"), images[0])
    assert store.find_image("bob", "abc") is None
    deleted = store.delete("t1", "alice")
    assert deleted is not None and deleted.id == "t1"
    assert store.shared(token or "") is None and store.favourite_ids("alice", ["t1"]) == set()
    assert store.find_image("alice", "abc") is None and store.tags_of("alice", ["t1"]) == {}


def test_styles_batches_and_active_tasks(store: SqlTaskStore) -> None:
    from webui.core.store import BatchRecord, Style

    assert store.save_style("alice", Style("warm", "warm light", "cold"), limit=2)
    assert store.save_style("alice", Style("warm", "golden light", ""), limit=2)  # replaced
    assert store.save_style("alice", Style("noir", "black and white", ""), limit=2)
    assert not store.save_style("alice", Style("third", "x", ""), limit=2)  # the limit
    assert [(s.name, s.prompt) for s in store.styles("alice")] == [
        ("noir", "black and white"), ("warm", "golden light")]
    assert store.styles("bob") == [] and not store.delete_style("bob", "warm")
    assert store.delete_style("alice", "warm") and [s.name for s in store.styles("alice")] == ["noir"]
    store.create_batch(BatchRecord(id="b1", owner="alice", tab="txt2img", task_ids=("t1",),
                                   layout={"rows": ["a"]}))
    store.set_batch_grid("b1", "alice", "/o/grid.png")
    batch = store.get_batch("b1", "alice")
    assert batch is not None and batch.grid_path == "/o/grid.png" and batch.task_ids == ("t1",)
    assert store.get_batch("b1", "bob") is None
    store.create(record("t1", owner="alice"))
    store.create(record("t2", owner="alice"))
    store.update("t2", state=TaskState.SUCCEEDED)
    assert [r.id for r in store.active("alice")] == ["t1"] and store.active("bob") == []
