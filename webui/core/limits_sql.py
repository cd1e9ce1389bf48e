"""The limiter's counts in the task store's database, for several replicas (issue 23): a
visitor's tasks a minute, tasks at once and day's budget hold for all the replicas together,
whichever one each request reaches. The same SQL serves SQLite and PostgreSQL (the store's
`_transaction` and `_read`); a session is one of the store's write transactions, so what it
counted still holds when it adds (PostgreSQL: the store's advisory write lock).

Tasks at once: a ticket is a row, running while it is not released and either its task is
not final in the store and followed (its lease runs) or, not yet a task (being sent), it is
younger than `RESERVATION_SECONDS` (a replica that died while sending frees its places
then).
The clock is the wall clock (the replicas share it, not their monotonic clocks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from webui.api.models import TaskState
from webui.core.limits import Counter, Scope, Ticket
from webui.core.store import SqlTaskStore

log = logging.getLogger(__name__)
RESERVATION_SECONDS = 600.0  # a ticket not yet bound to a task (its upload and submit)
TICKET_MAX_AGE = 7 * 86_400.0  # a ticket whose task row is gone (deleted while it ran)
PRUNE_EVERY = 200  # sessions between two sweeps of rows no count can reach any more
SEEN_SECONDS = 3600.0  # new visitors per address and hour
_LIVE = tuple(state.value for state in TaskState if not state.is_terminal)
_WHO_COLUMN = {Scope.VISITOR: "t.visitor = ?", Scope.ADDRESS: "t.address = ?",
               Scope.DEPLOYMENT: "? = ''"}


class SqlLimitView:
    """The counts inside one write transaction (`db`: the store's connection)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    @staticmethod
    def _oldest(counter: Counter, now: float) -> int:
        return int(now // counter.slot) - counter.slots + 1

    def count(self, scope: Scope, key: str, counter: Counter, now: float) -> int:
        row = self.db.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM rate_counts WHERE scope = ? AND who = ? "
            "AND counter = ? AND bucket >= ?",
            [scope.value, key, counter.label, self._oldest(counter, now)]).fetchone()
        return int(row[0])

    def retry_after(self, scope: Scope, key: str, counter: Counter, now: float) -> float:
        """Seconds until the oldest bucket with a count leaves the window."""
        row = self.db.execute(
            "SELECT MIN(bucket) FROM rate_counts WHERE scope = ? AND who = ? AND counter = ? "
            "AND bucket >= ? AND amount > 0",
            [scope.value, key, counter.label, self._oldest(counter, now)]).fetchone()
        if row[0] is None:
            return 0.0
        return max(0.0, (int(row[0]) + 1) * counter.slot + counter.period - counter.slot - now)

    def add(self, scope: Scope, key: str, counter: Counter, when: float,
            amount: int = 1) -> None:
        bucket = int(when // counter.slot)
        if amount < 0:  # takes back an earlier count while its bucket is still there
            self.db.execute(
                "UPDATE rate_counts SET amount = CASE WHEN amount + ? < 0 THEN 0 "
                "ELSE amount + ? END WHERE scope = ? AND who = ? AND counter = ? AND bucket = ?",
                [amount, amount, scope.value, key, counter.label, bucket])
            return
        self.db.execute(
            "INSERT INTO rate_counts (scope, who, counter, bucket, amount) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, who, counter, bucket) "
            "DO UPDATE SET amount = rate_counts.amount + excluded.amount",
            [scope.value, key, counter.label, bucket, amount])

    def running(self, scope: Scope, key: str, now: float) -> int:
        live = ", ".join("?" * len(_LIVE))
        # a task counts while a replica follows it (its lease runs): one that failed inside
        # the app, or whose replica died, frees its place as the memory book's does
        row = self.db.execute(
            "SELECT COUNT(*) FROM rate_tickets t LEFT JOIN tasks k ON k.id = t.task_id "
            f"WHERE t.released = 0 AND {_WHO_COLUMN[scope]} AND ("
            f"(k.state IN ({live}) AND k.lease_until >= ?) "
            "OR (k.id IS NULL AND t.admitted_at >= ?))",
            [key, *_LIVE, now, now - RESERVATION_SECONDS]).fetchone()
        return int(row[0])

    def hold(self, ticket: Ticket) -> None:
        self.db.execute("INSERT INTO rate_tickets (id, visitor, address, admitted_at) "
                        "VALUES (?, ?, ?, ?)",
                        [ticket.id, ticket.visitor, ticket.address, ticket.admitted_at])

    def release(self, ticket: Ticket) -> bool:
        return self.db.execute("UPDATE rate_tickets SET released = 1 WHERE id = ? "
                               "AND released = 0", [ticket.id]).rowcount > 0


class _Reader:
    """The store's statements outside a transaction, as a view's `db`."""

    def __init__(self, store: SqlTaskStore) -> None:
        self.execute = store._read


class SqlLimitBook:
    """A `LimitBook` in the store's database (`SqlTaskStore`: SQLite or PostgreSQL)."""

    def __init__(self, store: SqlTaskStore, *, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self._sessions = 0

    @contextmanager
    def session(self) -> Iterator[SqlLimitView]:
        with self.store._transaction() as db:
            self._maybe_prune(db)
            yield SqlLimitView(db)

    @contextmanager
    def reading(self) -> Iterator[SqlLimitView]:
        """Counts only (`Limiter.calls_left`): no write lock."""
        yield SqlLimitView(_Reader(self.store))

    def _maybe_prune(self, db: Any) -> None:
        self._sessions += 1  # under the store's write lock
        if self._sessions % PRUNE_EVERY == 1:
            self._prune(db, self.clock())

    def bind(self, ticket: Ticket, task_id: str) -> None:
        try:
            with self.store._transaction() as db:
                db.execute("UPDATE rate_tickets SET task_id = ? WHERE id = ?",
                           [task_id, ticket.id])
        except Exception:  # the task was sent: it must be recorded; the ticket counts as a
            # send in progress until RESERVATION_SECONDS
            log.warning("the limits could not note task %s", task_id, exc_info=True)

    def admit_visitor(self, address: str, visitor: str, limit: int, now: float) -> bool:
        """At most `limit` distinct visitors from `address` in the last hour (the same one
        again is free)."""
        with self.store._transaction() as db:
            self._maybe_prune(db)
            since = now - SEEN_SECONDS
            known = db.execute("SELECT seen_at FROM rate_seen WHERE address = ? "
                               "AND visitor = ? AND seen_at >= ?",
                               [address, visitor, since]).fetchone()
            if known is None:
                seen = db.execute("SELECT COUNT(*) FROM rate_seen WHERE address = ? "
                                  "AND seen_at >= ?", [address, since]).fetchone()
                if int(seen[0]) >= limit:
                    return False
                db.execute("INSERT INTO rate_seen (address, visitor, seen_at) VALUES (?, ?, ?) "
                           "ON CONFLICT (address, visitor) DO UPDATE SET seen_at = "
                           "excluded.seen_at", [address, visitor, now])
            return True

    def sizes(self) -> dict[str, int]:
        rows = self.store._read("SELECT scope, COUNT(DISTINCT who) FROM rate_counts "
                                "GROUP BY scope").fetchall()
        return {str(scope): 0 for scope in Scope} | {str(row[0]): int(row[1]) for row in rows}

    @staticmethod
    def _prune(db: Any, now: float) -> None:
        """Rows no count reaches any more: buckets out of their window, tickets released, of a
        final task, of a send that never ended or a week old, visitors seen over an hour
        ago."""
        for counter in Counter:
            db.execute("DELETE FROM rate_counts WHERE counter = ? AND bucket < ?",
                       [counter.label, SqlLimitView._oldest(counter, now)])
        live = ", ".join("?" * len(_LIVE))
        db.execute("DELETE FROM rate_tickets WHERE released = 1 OR admitted_at < ? OR "
                   "(task_id IS NULL AND admitted_at < ?) OR EXISTS (SELECT 1 FROM tasks k "
                   f"WHERE k.id = rate_tickets.task_id AND k.state NOT IN ({live}))",
                   [now - TICKET_MAX_AGE, now - RESERVATION_SECONDS, *_LIVE])
        db.execute("DELETE FROM rate_seen WHERE seen_at < ?", [now - SEEN_SECONDS])
