"""The task store on PostgreSQL, for several app replicas sharing one store (issue 23):
`ZHIQITE_DATABASE_URL=postgresql://user:password@host/db`. The SQL is the SQLite store's
(`store.SqlTaskStore`); this gives it psycopg 3's connection pool, the parameter style
psycopg reads, and writers one at a time (a transaction-level advisory lock, as SQLite's
BEGIN IMMEDIATE does for one file)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import Cursor
from psycopg_pool import ConnectionPool, PoolTimeout

from webui.core.store import _ADDED_COLUMNS, _SCHEMA, SqlTaskStore

# advisory lock keys (any two numbers of our own)
SCHEMA_LOCK = 0x5A51_0001  # one replica creates or migrates the tables at a time
WRITE_LOCK = 0x5A51_0002  # writers one at a time: a read-modify-write loses no update
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
    def __init__(self, url: str, *, clock: Any = time.time, max_connections: int = 10,
                 connect_timeout: float = 15.0) -> None:
        self._clock = clock
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

    def close(self) -> None:
        self._pool.close()
