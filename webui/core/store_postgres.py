"""The task store on PostgreSQL, for several app replicas sharing one store (issue 23):
`ZHIQITE_DATABASE_URL=postgresql://user:password@host/db`. The SQL is the SQLite store's
(`store.SqlTaskStore`); this gives it psycopg 3's connection pool, the parameter style
psycopg reads, and writers one at a time (a transaction-level advisory lock, as SQLite's
BEGIN IMMEDIATE does for one file). A change of a task is announced to the other replicas
with NOTIFY (`announce`, `listen`): a callback that reached one wakes the visitors watching
from another."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import Cursor
from psycopg_pool import ConnectionPool, PoolTimeout

from webui.core.store import _ADDED_COLUMNS, _SCHEMA, SqlTaskStore

# advisory lock keys (any two numbers of our own)
SCHEMA_LOCK = 0x5A51_0001  # one replica creates or migrates the tables at a time
WRITE_LOCK = 0x5A51_0002  # writers one at a time: a read-modify-write loses no update
CHANNEL = "zhiqite_tasks"  # NOTIFY's channel: {"task": id, "owner": key, "by": replica}
RELISTEN_SECONDS = 2.0  # after the listening connection broke
log = logging.getLogger(__name__)
_PARAMETER = re.compile(r"\?|(?<!:):(\w+)")  # SQLite's `?` and `:name`


def psycopg_sql(query: str) -> str:
    """`?` -> `%s`, `:name` -> `%(name)s` (the store's SQL has no literal % or ? of its own)."""
    return _PARAMETER.sub(lambda m: f"%({m.group(1)})s" if m.group(1) else "%s", query)


class Row(dict[str, Any]):
    """A row read by column name or by position, as sqlite3.Row."""

    def __init__(self, names: Sequence[str], values: Sequence[Any]) -> None:
        super().__init__(zip(names, values, strict=True))
        self._values = tuple(values)

    def __getitem__(self, key: str | int) -> Any:  # type: ignore[override]
        return self._values[key] if isinstance(key, int) else super().__getitem__(key)


def _row_factory(cursor: Cursor[Any]) -> Callable[[Sequence[Any]], Row]:
    names = [column.name for column in cursor.description or ()]
    return lambda values: Row(names, values)


class Fetched:
    """A statement's rows, read before its connection went back to the pool."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Row]:
        return self.rows


class Writer:
    """A connection inside a transaction, taking the store's SQL."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, query: str, args: Any = ()) -> Any:
        return self._connection.execute(psycopg_sql(query), args)

    def executemany(self, query: str, rows: list[Any]) -> None:
        if rows:
            with self._connection.cursor() as cursor:
                cursor.executemany(psycopg_sql(query), rows)


class StoreUnreachable(RuntimeError):
    """No connection to the database within the wait."""


class PostgresTaskStore(SqlTaskStore):
    serves_replicas = True

    def __init__(self, url: str, *, clock: Any = time.time, max_connections: int = 10,
                 connect_timeout: float = 15.0) -> None:
        self._clock = clock
        self._url = url
        self._closed = threading.Event()
        self._pool = ConnectionPool(url, min_size=1, max_size=max_connections, open=True,
                                    kwargs={"autocommit": True, "row_factory": _row_factory})
        try:
            self._pool.wait(timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close()
            raise StoreUnreachable("no connection to the database") from None
        self._migrate()

    def _migrate(self) -> None:
        with self._pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
            connection.execute(_SCHEMA)  # no parameters: several statements at once
            columns = {row["column_name"] for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'tasks'")}
            for name, ddl in _ADDED_COLUMNS.items():  # stores made by an earlier version
                if name not in columns:
                    connection.execute(f"ALTER TABLE tasks ADD COLUMN {name} {ddl}")

    def _read(self, query: str, args: Any = ()) -> Fetched:
        with self._pool.connection() as connection:
            cursor = connection.execute(psycopg_sql(query), args)
            rows = cursor.fetchall() if cursor.description else []
            return Fetched(rows, cursor.rowcount)

    @contextmanager
    def _transaction(self) -> Iterator[Writer]:
        with self._pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            yield Writer(connection)

    def shared_key(self, size: int) -> bytes:
        """The app's secret, the same for every replica (owner keys, callback tokens, sealed
        keys and visitor ids must match whichever replica a request reaches): made by the
        first replica, kept in the database instead of `<data dir>/app.key`."""
        with self._pool.connection() as connection, connection.transaction():
            connection.execute("CREATE TABLE IF NOT EXISTS app_secret "
                               "(id INTEGER PRIMARY KEY, secret BYTEA NOT NULL)")
            connection.execute("INSERT INTO app_secret (id, secret) VALUES (1, %s) "
                               "ON CONFLICT DO NOTHING", [secrets.token_bytes(size)])
            return bytes(connection.execute(
                "SELECT secret FROM app_secret WHERE id = 1").fetchone()[0])

    def announce(self, task_id: str, owner: str, holder: str) -> None:
        """Tell the other replicas that the task's row changed (`holder`: this replica, which
        does not need telling)."""
        payload = json.dumps({"task": task_id, "owner": owner, "by": holder})
        with self._pool.connection() as connection:
            connection.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])

    def listen(self, holder: str, heard: Callable[[str, str], None]) -> threading.Thread:
        """Call `heard(task id, owner)` for each change another replica announces, from a
        thread of its own with a connection of its own (LISTEN), until `close`; a broken
        connection is made again."""
        def run() -> None:
            while not self._closed.is_set():
                try:
                    with psycopg.connect(self._url, autocommit=True) as connection:
                        connection.execute(f"LISTEN {CHANNEL}")
                        while not self._closed.is_set():  # a look at `close` each second
                            for note in connection.notifies(timeout=1.0):
                                self._hear(note.payload, holder, heard)
                except Exception:  # the database away a moment: listen again
                    if not self._closed.is_set():
                        log.warning("listening for other replicas' changes failed; again in "
                                    "%.0f s", RELISTEN_SECONDS, exc_info=True)
                        self._closed.wait(RELISTEN_SECONDS)

        thread = threading.Thread(target=run, daemon=True, name="store-listen")
        thread.start()
        return thread

    @staticmethod
    def _hear(payload: str, holder: str, heard: Callable[[str, str], None]) -> None:
        try:
            note = json.loads(payload)
            task_id, owner, by = note["task"], note["owner"], note["by"]
        except (ValueError, KeyError, TypeError):
            return  # not ours
        if by != holder and isinstance(task_id, str) and isinstance(owner, str):
            try:
                heard(task_id, owner)
            except Exception:
                log.exception("a change of task %s heard from another replica failed", task_id)

    def close(self) -> None:
        self._closed.set()  # the listening thread ends within a second
        self._pool.close()
