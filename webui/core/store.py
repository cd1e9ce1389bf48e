"""The task store: one row per submitted task, so that nothing is lost across restarts, and
the styles each visitor saved.

`TaskStore` is the interface the engine and the UI use; `SQLiteTaskStore` implements it in
`<data dir>/tasks.sqlite3` (WAL, one short transaction per write, one connection per thread).
A PostgreSQL store for several replicas would implement the same few methods.

Every read that serves a visitor takes the owner key: a visitor never sees another's tasks or
styles. A file there that is not a database is set aside and a new store made.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

from webui.api.models import TaskState
from webui.core.files import set_aside
from webui.messages import Msg, msg_from_data, msg_to_data

log = logging.getLogger(__name__)

ACTIVE_STATES = (TaskState.QUEUED, TaskState.UPLOADING, TaskState.GENERATING)


@dataclass(frozen=True)
class StoredImage:
    """One result image: saved under `path`, or withheld / lost with the reason."""

    index: int
    seed: int | None = None
    url: str | None = None  # the service's URL; it expires
    path: str | None = None  # the saved PNG
    hidden_reason: str | None = None  # deleted or withheld by the service's audit
    error: str | None = None  # could not be downloaded (in English)
    pixels: str | None = None  # fingerprint of its pixels (core/sources.py): found again by it
    error_msg: Msg | None = None  # `error` keyed, to show in the visitor's language
    key: str | None = None  # its copy in the bucket (core/result_files.py), when there is one

    @property
    def shown(self) -> bool:
        return self.path is not None and self.hidden_reason is None


@dataclass(frozen=True)
class TaskRecord:
    id: str
    kind: str  # endpoint name: text2image, image2image, controlnet, roop, enhance
    owner: str
    request: dict[str, Any]  # the wire JSON without callbackUrl (its token is a secret)
    mode: str = "poll"  # "callback" or "poll"
    state: TaskState = TaskState.QUEUED
    submitted: bool = False  # the service acknowledged the submit
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None
    billed_calls: int = 0
    # Why it failed, in English: the service's words, or our own reason. Our own is also kept
    # keyed in `error_msg` (its own column), so that it shows in the visitor's language; the
    # service's words are shown as it gave them. (`TaskEvent.reason` picks.)
    error: str | None = None
    timed_out: bool = False  # failed at our deadline: a late result may still revive it
    resumed: int = 0  # times picked up again after an app restart
    progress: float | None = None
    job_no: int | None = None
    job_count: int | None = None
    queue_position: int | None = None
    images: tuple[StoredImage, ...] = ()
    own_key: bool = False  # sent with the visitor's own API key (held in memory only)
    # what made the request: the batch it belongs to, a script's cell, the prompt template
    # before wildcards were expanded ({"batch": id, "template": "...", "cell": [x, y, z]})
    meta: dict[str, Any] = field(default_factory=dict)
    error_msg: Msg | None = None

    @property
    def prompt(self) -> str:
        return str(self.request.get("prompt") or "")

    @property
    def is_final(self) -> bool:
        return self.state.is_terminal


@dataclass(frozen=True)
class BatchRecord:
    """One Generate or Run: its tasks in order, from which tab, by which script, and what the
    script needs to draw its result again (a plot's axis labels). A reload finds it by id."""

    id: str
    owner: str
    tab: str
    task_ids: tuple[str, ...]
    script: str = ""  # "" (none), or a script's name ("X/Y/Z plot", ...)
    layout: dict[str, Any] = field(default_factory=dict)
    grid_path: str | None = None  # the saved grid picture, once drawn
    created_at: float = 0.0


@dataclass(frozen=True)
class Style:
    """A style in A1111's sense: text merged into the prompts (`core/presets.py`)."""

    name: str
    prompt: str = ""
    negative_prompt: str = ""


class TaskStore(Protocol):
    serves_replicas: bool

    def shared_key(self, size: int) -> bytes | None: ...
    def local(self, record: TaskRecord) -> TaskRecord: ...
    def announce(self, task_id: str, owner: str, holder: str) -> None: ...
    def listen(self, holder: str, heard: Callable[[str, str], None]
               ) -> threading.Thread | None: ...
    def create(self, record: TaskRecord, *, holder: str | None = None,
               lease: float = 0.0) -> TaskRecord: ...
    def acquire(self, task_id: str, holder: str, lease: float) -> bool: ...
    def renew(self, task_id: str, holder: str, lease: float) -> bool: ...
    def release(self, task_id: str, holder: str) -> None: ...
    def want_previews(self, task_id: str, until: float) -> None: ...
    def previews_wanted_until(self, task_id: str) -> float | None: ...
    def put_preview(self, task_id: str, image: bytes) -> None: ...
    def preview(self, task_id: str) -> bytes | None: ...
    def drop_preview(self, task_id: str) -> None: ...
    def get(self, task_id: str, owner: str | None = None) -> TaskRecord | None:
        """`owner=None` only for the engine itself (callbacks, resume)."""
    def update(self, task_id: str, **changes: Any) -> TaskRecord: ...
    def add_billed(self, task_id: str, calls: int = 1) -> None: ...
    def list(self, owner: str, *, limit: int = 50, offset: int = 0, kind: str | None = None,
             text: str | None = None, favourites: bool = False,
             tags: tuple[str, ...] = ()) -> list[TaskRecord]: ...
    def count(self, owner: str, *, kind: str | None = None, text: str | None = None,
              favourites: bool = False, tags: tuple[str, ...] = ()) -> int: ...
    # tags: each owner's own words on their own tasks (History's "#tag" search)
    def set_tags(self, task_id: str, owner: str, tags: list[str]) -> bool:
        """The task's tags become `tags`; False, and nothing written, when not the owner's."""
    def tags_of(self, owner: str, task_ids: list[str]) -> dict[str, list[str]]: ...
    # favourites: each owner's own marks on their own tasks, kept with the store
    def set_favourite(self, task_id: str, owner: str, on: bool) -> bool:
        """False, and nothing written, when the task is not the owner's."""
    def favourite_ids(self, owner: str, task_ids: list[str]) -> set[str]: ...
    # share links: one unguessable token per shared picture, until revoked or deleted
    def share(self, task_id: str, owner: str, picture: int) -> str | None:
        """The picture's token (made once, then the same); None when not the owner's."""
    def share_token(self, task_id: str, owner: str, picture: int) -> str | None: ...
    def revoke_share(self, task_id: str, owner: str, picture: int) -> bool: ...
    def shared(self, token: str) -> tuple[TaskRecord, int] | None:
        """The task and picture a token shares, for anyone holding the token."""
    def unfinished(self) -> list[TaskRecord]: ...
    def billed_total(self, owner: str) -> int: ...
    def delete(self, task_id: str, owner: str) -> TaskRecord | None: ...
    def find_image(self, owner: str, pixels: str) -> tuple[TaskRecord, StoredImage] | None:
        """The owner's newest shown result image with this pixel fingerprint."""
    # styles: each owner's own, by name
    def styles(self, owner: str, *, limit: int = 1000) -> list[Style]: ...
    def save_style(self, owner: str, style: Style, *, limit: int) -> bool:
        """Insert or replace the owner's style of that name; False, and nothing written, when
        the name is new and the owner already has `limit` styles."""
    def delete_style(self, owner: str, name: str) -> bool: ...
    # batches: one row per Generate / Run
    def create_batch(self, batch: BatchRecord) -> BatchRecord: ...
    def get_batch(self, batch_id: str, owner: str) -> BatchRecord | None: ...
    def set_batch_grid(self, batch_id: str, owner: str, grid_path: str) -> None: ...
    def active(self, owner: str, *, limit: int = 100) -> list[TaskRecord]:
        """The owner's unfinished tasks, oldest first."""


_COLUMNS = [f.name for f in fields(TaskRecord)]
_IMAGE_FIELDS = {f.name for f in fields(StoredImage)}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    request TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    billed_calls INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    timed_out INTEGER NOT NULL DEFAULT 0,
    resumed INTEGER NOT NULL DEFAULT 0,
    progress DOUBLE PRECISION,
    job_no INTEGER,
    job_count INTEGER,
    queue_position INTEGER,
    images TEXT NOT NULL DEFAULT '[]',
    own_key INTEGER NOT NULL DEFAULT 0,
    meta TEXT NOT NULL DEFAULT '{}',
    error_msg TEXT
);
CREATE INDEX IF NOT EXISTS tasks_owner_created ON tasks (owner, created_at DESC);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    tab TEXT NOT NULL,
    task_ids TEXT NOT NULL,
    script TEXT NOT NULL DEFAULT '',
    layout TEXT NOT NULL DEFAULT '{}',
    grid_path TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS result_pixels (
    owner TEXT NOT NULL,
    pixels TEXT NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (owner, pixels, task_id, idx)
);
CREATE INDEX IF NOT EXISTS result_pixels_task ON result_pixels (task_id);
CREATE TABLE IF NOT EXISTS styles (
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    prompt TEXT NOT NULL DEFAULT '',
    negative_prompt TEXT NOT NULL DEFAULT '',
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (owner, name)
);
CREATE TABLE IF NOT EXISTS favourites (
    owner TEXT NOT NULL,
    task_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (owner, task_id)
);
CREATE TABLE IF NOT EXISTS task_tags (
    owner TEXT NOT NULL,
    task_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (owner, task_id, tag)
);
CREATE INDEX IF NOT EXISTS task_tags_tag ON task_tags (owner, tag);
CREATE TABLE IF NOT EXISTS shares (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    task_id TEXT NOT NULL,
    picture INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (task_id, picture)
);
CREATE TABLE IF NOT EXISTS task_previews (
    task_id TEXT PRIMARY KEY,
    image TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_counts (
    scope TEXT NOT NULL,
    who TEXT NOT NULL,
    counter TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (scope, who, counter, bucket)
);
CREATE INDEX IF NOT EXISTS rate_counts_age ON rate_counts (counter, bucket);
CREATE TABLE IF NOT EXISTS rate_tickets (
    id TEXT PRIMARY KEY,
    visitor TEXT NOT NULL,
    address TEXT NOT NULL,
    admitted_at DOUBLE PRECISION NOT NULL,
    task_id TEXT,
    released INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rate_tickets_visitor ON rate_tickets (visitor);
CREATE INDEX IF NOT EXISTS rate_tickets_address ON rate_tickets (address);
CREATE TABLE IF NOT EXISTS rate_seen (
    address TEXT NOT NULL,
    visitor TEXT NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (address, visitor)
);
"""
SHARE_TOKEN_BYTES = 24  # 192 random bits, 32 URL-safe characters
# sqlite3 error names of a file that is not (or no longer) a database
_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")

_ADDED_COLUMNS = {"own_key": "INTEGER NOT NULL DEFAULT 0", "meta": "TEXT NOT NULL DEFAULT '{}'",
                  "error_msg": "TEXT",
                  # the app replica following the task, until when (`SqlTaskStore.acquire`)
                  "lease_holder": "TEXT", "lease_until": "DOUBLE PRECISION",
                  # a replica that watches but does not follow the task wants its live
                  # previews until then (`SqlTaskStore.want_previews`)
                  "previews_until": "DOUBLE PRECISION"}
def _stored_msg(text: str | None) -> Msg | None:
    if not text:
        return None
    try:
        return msg_from_data(json.loads(text))
    except ValueError:
        return None


def _image_data(image: StoredImage) -> dict[str, Any]:
    data = asdict(replace(image, error_msg=None))
    data["error_msg"] = msg_to_data(image.error_msg)
    return data


def _image_of(data: dict[str, Any]) -> StoredImage:
    values = {k: v for k, v in data.items() if k in _IMAGE_FIELDS}
    values["error_msg"] = msg_from_data(values.get("error_msg"))
    return StoredImage(**values)


class SqlTaskStore:
    """The task store's SQL, one text for SQLite and PostgreSQL (`?` and `:name` parameters;
    ON CONFLICT; LOWER(...) LIKE). A subclass gives the connections: `_read` (a statement
    outside a transaction: its rows) and `_transaction` (writers one at a time)."""

    _clock: Any
    # several app replicas may share this store (PostgreSQL): the app's secret, the changes
    # of tasks and the limits' counts then go through it (`shared_key`, `announce`/`listen`,
    # `limits_sql`); SQLite is one app's own file
    serves_replicas: bool = False

    def _read(self, query: str, args: Any = ()) -> Any:
        raise NotImplementedError

    def _transaction(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the connections (SQLite's are per thread: nothing to do)."""

    # --- several replicas (a shared store overrides these) ----------------------------------

    def shared_key(self, size: int) -> bytes | None:
        """The app's secret kept in the store for every replica; None: the app keeps its own
        (`<data dir>/app.key`)."""
        return None

    def announce(self, task_id: str, owner: str, holder: str) -> None:
        """Tell the other replicas that the task's row changed (none share this store)."""

    def local(self, record: TaskRecord) -> TaskRecord:
        """The record with its results' files on this replica (see result_files.MirroredStore;
        here they are where they were saved)."""
        return record

    def listen(self, holder: str, heard: Callable[[str, str], None]) -> threading.Thread | None:
        """Call `heard(task id, owner)` for each change another replica announces; None: no
        other replica can change this store."""
        return None

    # --- rows -------------------------------------------------------------------------------

    @staticmethod
    def _to_row(record: TaskRecord) -> dict[str, Any]:
        row = {name: getattr(record, name) for name in _COLUMNS}
        row["request"] = json.dumps(record.request, ensure_ascii=False)
        row["images"] = json.dumps([_image_data(image) for image in record.images])
        row["state"] = str(record.state)
        row["prompt"] = record.prompt
        for flag in ("submitted", "timed_out", "own_key"):
            row[flag] = int(bool(row[flag]))
        row["meta"] = json.dumps(record.meta, ensure_ascii=False)
        error_msg = msg_to_data(record.error_msg)
        row["error_msg"] = json.dumps(error_msg, ensure_ascii=False) if error_msg else None
        return row

    @staticmethod
    def _from_row(row: sqlite3.Row) -> TaskRecord:
        values = {name: row[name] for name in _COLUMNS}
        values["request"] = json.loads(row["request"])
        values["images"] = tuple(_image_of(image) for image in json.loads(row["images"]))
        values["state"] = TaskState(row["state"])
        values["submitted"] = bool(row["submitted"])
        values["timed_out"] = bool(row["timed_out"])
        values["own_key"] = bool(row["own_key"])
        values["meta"] = json.loads(row["meta"] or "{}")
        values["error_msg"] = _stored_msg(row["error_msg"])
        return TaskRecord(**values)

    # --- the interface ----------------------------------------------------------------------

    def create(self, record: TaskRecord, *, holder: str | None = None,
               lease: float = 0.0) -> TaskRecord:
        """A new task row; `holder` follows it, leased for `lease` seconds (see `acquire`)."""
        now = self._clock()
        record = replace(record, created_at=record.created_at or now, updated_at=now)
        row = self._to_row(record)
        if holder is not None:
            row.update(lease_holder=holder, lease_until=now + lease)
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self._transaction() as db:
            db.execute(f"INSERT INTO tasks ({names}) VALUES ({marks})", row)
            if record.images:
                self._index_pixels(db, record)
        return record

    def get(self, task_id: str, owner: str | None = None) -> TaskRecord | None:
        query, args = "SELECT * FROM tasks WHERE id = ?", [task_id]
        if owner is not None:
            query, args = query + " AND owner = ?", [task_id, owner]
        row = self._read(query, args).fetchone()
        return self._from_row(row) if row else None

    def update(self, task_id: str, **changes: Any) -> TaskRecord:
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown task fields: {sorted(unknown)}")
        with self._transaction() as db:
            row = db.execute("SELECT * FROM tasks WHERE id = ?", [task_id]).fetchone()
            if row is None:
                raise KeyError(task_id)
            record = replace(self._from_row(row), **changes, updated_at=self._clock())
            values = self._to_row(record)
            assignments = ", ".join(f"{name} = :{name}" for name in values if name != "id")
            db.execute(f"UPDATE tasks SET {assignments} WHERE id = :id", values)
            if "images" in changes:
                self._index_pixels(db, record)
        return record

    @staticmethod
    def _index_pixels(db: sqlite3.Connection, record: TaskRecord) -> None:
        db.execute("DELETE FROM result_pixels WHERE task_id = ?", [record.id])
        db.executemany(
            "INSERT INTO result_pixels (owner, pixels, task_id, idx) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(record.owner, image.pixels, record.id, image.index) for image in record.images
             if image.pixels and image.shown])

    def find_image(self, owner: str, pixels: str) -> tuple[TaskRecord, StoredImage] | None:
        rows = self._read(
            "SELECT t.*, p.idx AS found_idx FROM result_pixels p JOIN tasks t ON t.id = "
            "p.task_id WHERE p.owner = ? AND p.pixels = ? AND t.owner = ? "
            "ORDER BY t.created_at DESC LIMIT 5", [owner, pixels, owner]).fetchall()
        for row in rows:
            record = self._from_row(row)
            image = next((i for i in record.images if i.index == row["found_idx"]), None)
            if image is not None and image.shown:
                return record, image
        return None

    # --- leases: one replica follows a task ------------------------------------------------

    def acquire(self, task_id: str, holder: str, lease: float) -> bool:
        """Lease the task to `holder` for `lease` seconds, unless another holder's lease runs:
        of several app replicas resuming unfinished tasks, one follows each (a replica that
        died lets go when its lease ends; its next start, the same holder, takes them back at
        once). False: another follows it."""
        now = self._clock()
        with self._transaction() as db:
            return db.execute(
                "UPDATE tasks SET lease_holder = ?, lease_until = ? WHERE id = ? AND "
                "(lease_holder IS NULL OR lease_holder = ? OR lease_until < ?)",
                [holder, now + lease, task_id, holder, now]).rowcount > 0

    def renew(self, task_id: str, holder: str, lease: float) -> bool:
        """The holder's lease again for `lease` seconds; False when it is no longer theirs."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE tasks SET lease_until = ? WHERE id = ? AND lease_holder = ?",
                [self._clock() + lease, task_id, holder]).rowcount > 0

    def release(self, task_id: str, holder: str) -> None:
        """The holder stops following the task: another replica may take it at once."""
        with self._transaction() as db:
            db.execute("UPDATE tasks SET lease_holder = NULL, lease_until = NULL "
                       "WHERE id = ? AND lease_holder = ?", [task_id, holder])

    # --- live previews for a replica that watches but does not follow ------------------------

    def want_previews(self, task_id: str, until: float) -> None:
        """A visitor watching from another replica wants the task's previews until `until`:
        the follower fetches them as for its own watchers (`put_preview`)."""
        with self._transaction() as db:
            db.execute("UPDATE tasks SET previews_until = ? WHERE id = ? AND "
                       "(previews_until IS NULL OR previews_until < ?)", [until, task_id, until])

    def previews_wanted_until(self, task_id: str) -> float | None:
        row = self._read("SELECT previews_until FROM tasks WHERE id = ?", [task_id]).fetchone()
        return float(row[0]) if row is not None and row[0] is not None else None

    def put_preview(self, task_id: str, image: bytes) -> None:
        """The task's latest preview, for the other replicas' watchers (one per task)."""
        data = base64.b64encode(image).decode("ascii")
        with self._transaction() as db:
            db.execute("INSERT INTO task_previews (task_id, image) VALUES (?, ?) "
                       "ON CONFLICT (task_id) DO UPDATE SET image = excluded.image",
                       [task_id, data])

    def preview(self, task_id: str) -> bytes | None:
        row = self._read("SELECT image FROM task_previews WHERE task_id = ?",
                         [task_id]).fetchone()
        return base64.b64decode(row[0]) if row is not None else None

    def drop_preview(self, task_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM task_previews WHERE task_id = ?", [task_id])

    def add_billed(self, task_id: str, calls: int = 1) -> None:
        with self._transaction() as db:
            db.execute("UPDATE tasks SET billed_calls = billed_calls + ? WHERE id = ?",
                       [calls, task_id])

    def _filters(self, owner: str, kind: str | None, text: str | None,
                 favourites: bool = False, tags: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
        where, args = ["owner = ?"], [owner]
        for tag in tags:  # each one (indexed by owner and tag)
            where.append("id IN (SELECT task_id FROM task_tags WHERE owner = ? AND tag = ?)")
            args += [owner, tag]
        if favourites:
            where.append("id IN (SELECT task_id FROM favourites WHERE owner = ?)")
            args.append(owner)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if text:
            where.append("LOWER(prompt) LIKE LOWER(?) ESCAPE '\\'")
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{escaped}%")
        return " AND ".join(where), args

    def list(self, owner: str, *, limit: int = 50, offset: int = 0, kind: str | None = None,
             text: str | None = None, favourites: bool = False,
             tags: tuple[str, ...] = ()) -> list[TaskRecord]:
        where, args = self._filters(owner, kind, text, favourites, tags)
        rows = self._read(
            f"SELECT * FROM tasks WHERE {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset]).fetchall()
        return [self._from_row(row) for row in rows]

    def count(self, owner: str, *, kind: str | None = None, text: str | None = None,
              favourites: bool = False, tags: tuple[str, ...] = ()) -> int:
        where, args = self._filters(owner, kind, text, favourites, tags)
        return self._read(f"SELECT COUNT(*) FROM tasks WHERE {where}",
                                          args).fetchone()[0]

    def unfinished(self) -> list[TaskRecord]:
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        rows = self._read(
            f"SELECT * FROM tasks WHERE state IN ({marks}) ORDER BY created_at",
            [str(s) for s in ACTIVE_STATES]).fetchall()
        return [self._from_row(row) for row in rows]

    def active(self, owner: str, *, limit: int = 100) -> list[TaskRecord]:
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        rows = self._read(
            f"SELECT * FROM tasks WHERE owner = ? AND state IN ({marks}) ORDER BY created_at "
            "LIMIT ?", [owner, *(str(s) for s in ACTIVE_STATES), limit]).fetchall()
        return [self._from_row(row) for row in rows]

    # --- batches ----------------------------------------------------------------------------

    def create_batch(self, batch: BatchRecord) -> BatchRecord:
        batch = replace(batch, created_at=batch.created_at or self._clock())
        with self._transaction() as db:
            db.execute("INSERT INTO batches (id, owner, tab, task_ids, script, layout, grid_path,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [batch.id, batch.owner, batch.tab, json.dumps(list(batch.task_ids)),
                        batch.script, json.dumps(batch.layout, ensure_ascii=False),
                        batch.grid_path, batch.created_at])
        return batch

    def get_batch(self, batch_id: str, owner: str) -> BatchRecord | None:
        row = self._read("SELECT * FROM batches WHERE id = ? AND owner = ?",
                                          [batch_id, owner]).fetchone()
        if row is None:
            return None
        return BatchRecord(id=row["id"], owner=row["owner"], tab=row["tab"],
                           task_ids=tuple(json.loads(row["task_ids"])), script=row["script"],
                           layout=json.loads(row["layout"]), grid_path=row["grid_path"],
                           created_at=row["created_at"])

    def set_batch_grid(self, batch_id: str, owner: str, grid_path: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE batches SET grid_path = ? WHERE id = ? AND owner = ?",
                       [grid_path, batch_id, owner])

    def billed_total(self, owner: str) -> int:
        row = self._read(
            "SELECT COALESCE(SUM(billed_calls), 0) FROM tasks WHERE owner = ?", [owner]
        ).fetchone()
        return int(row[0])

    # --- styles -----------------------------------------------------------------------------

    def styles(self, owner: str, *, limit: int = 1000) -> list[Style]:
        rows = self._read(
            "SELECT name, prompt, negative_prompt FROM styles WHERE owner = ? ORDER BY name "
            "LIMIT ?", [owner, limit]).fetchall()
        return [Style(row["name"], row["prompt"], row["negative_prompt"]) for row in rows]

    def save_style(self, owner: str, style: Style, *, limit: int) -> bool:
        with self._transaction() as db:
            known = db.execute("SELECT 1 FROM styles WHERE owner = ? AND name = ?",
                               [owner, style.name]).fetchone()
            if known is None and db.execute("SELECT COUNT(*) FROM styles WHERE owner = ?",
                                            [owner]).fetchone()[0] >= limit:
                return False
            db.execute("INSERT INTO styles (owner, name, prompt, negative_prompt, updated_at) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO UPDATE SET "
                       "prompt = excluded.prompt, negative_prompt = excluded.negative_prompt, "
                       "updated_at = excluded.updated_at",
                       [owner, style.name, style.prompt, style.negative_prompt, self._clock()])
        return True

    def delete_style(self, owner: str, name: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM styles WHERE owner = ? AND name = ?",
                              [owner, name]).rowcount > 0

    def delete(self, task_id: str, owner: str) -> TaskRecord | None:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM tasks WHERE id = ? AND owner = ?",
                             [task_id, owner]).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM tasks WHERE id = ?", [task_id])
            db.execute("DELETE FROM result_pixels WHERE task_id = ?", [task_id])
            db.execute("DELETE FROM favourites WHERE task_id = ?", [task_id])
            db.execute("DELETE FROM shares WHERE task_id = ?", [task_id])
            db.execute("DELETE FROM task_tags WHERE task_id = ?", [task_id])
            db.execute("DELETE FROM task_previews WHERE task_id = ?", [task_id])
        return self._from_row(row)

    def set_favourite(self, task_id: str, owner: str, on: bool) -> bool:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM tasks WHERE id = ? AND owner = ?",
                          [task_id, owner]).fetchone() is None:
                return False
            if on:
                db.execute("INSERT INTO favourites (owner, task_id, created_at) "
                           "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           [owner, task_id, self._clock()])
            else:
                db.execute("DELETE FROM favourites WHERE owner = ? AND task_id = ?",
                           [owner, task_id])
        return True

    def set_tags(self, task_id: str, owner: str, tags: list[str]) -> bool:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM tasks WHERE id = ? AND owner = ?",
                          [task_id, owner]).fetchone() is None:
                return False
            db.execute("DELETE FROM task_tags WHERE owner = ? AND task_id = ?", [owner, task_id])
            db.executemany("INSERT INTO task_tags (owner, task_id, tag) VALUES (?, ?, ?) "
                           "ON CONFLICT DO NOTHING", [(owner, task_id, tag) for tag in tags])
        return True

    def tags_of(self, owner: str, task_ids: list[str]) -> dict[str, list[str]]:
        if not task_ids:
            return {}
        marks = ", ".join("?" for _ in task_ids)
        rows = self._read(
            f"SELECT task_id, tag FROM task_tags WHERE owner = ? AND task_id IN ({marks}) "
            "ORDER BY tag", [owner, *task_ids]).fetchall()
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["task_id"], []).append(row["tag"])
        return found

    def share(self, task_id: str, owner: str, picture: int) -> str | None:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM tasks WHERE id = ? AND owner = ?",
                          [task_id, owner]).fetchone() is None:
                return None
            row = db.execute("SELECT token FROM shares WHERE task_id = ? AND picture = ?",
                             [task_id, picture]).fetchone()
            if row is not None:
                return str(row["token"])
            token = secrets.token_urlsafe(SHARE_TOKEN_BYTES)
            db.execute("INSERT INTO shares (token, owner, task_id, picture, created_at) "
                       "VALUES (?, ?, ?, ?, ?)", [token, owner, task_id, picture, self._clock()])
        return token

    def share_token(self, task_id: str, owner: str, picture: int) -> str | None:
        row = self._read(
            "SELECT token FROM shares WHERE task_id = ? AND owner = ? AND picture = ?",
            [task_id, owner, picture]).fetchone()
        return str(row["token"]) if row is not None else None

    def revoke_share(self, task_id: str, owner: str, picture: int) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM shares WHERE task_id = ? AND owner = ? AND "
                              "picture = ?", [task_id, owner, picture]).rowcount > 0

    def shared(self, token: str) -> tuple[TaskRecord, int] | None:
        row = self._read(
            "SELECT tasks.*, shares.picture AS shared_picture FROM shares JOIN tasks "
            "ON tasks.id = shares.task_id AND tasks.owner = shares.owner "
            "WHERE shares.token = ?", [token]).fetchone()
        return (self._from_row(row), int(row["shared_picture"])) if row is not None else None

    def favourite_ids(self, owner: str, task_ids: list[str]) -> set[str]:
        if not task_ids:
            return set()
        marks = ", ".join("?" for _ in task_ids)
        rows = self._read(
            f"SELECT task_id FROM favourites WHERE owner = ? AND task_id IN ({marks})",
            [owner, *task_ids]).fetchall()
        return {row["task_id"] for row in rows}


class SQLiteTaskStore(SqlTaskStore):
    """The embedded store: one SQLite file (WAL), one connection per thread."""

    def __init__(self, path: Path | str, *, clock: Any = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._local = threading.local()
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", None) not in _DAMAGED:
                raise  # locked, read-only, disk full: not the file's fault
            self._set_aside(exc)
            self._migrate()

    def _migrate(self) -> None:
        db = self._connection()
        db.executescript(_SCHEMA)  # executescript commits on its own
        columns = {row["name"] for row in db.execute("PRAGMA table_info(tasks)")}
        for name, ddl in _ADDED_COLUMNS.items():  # stores made by an earlier version
            if name not in columns:
                db.execute(f"ALTER TABLE tasks ADD COLUMN {name} {ddl}")

    def _set_aside(self, exc: sqlite3.DatabaseError) -> None:
        """The file is not a database (or a damaged one): kept beside, with its journal, under
        another name; a new empty store takes its place."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        aside = set_aside(self.path)
        for suffix in ("-wal", "-shm"):
            journal = self.path.with_name(self.path.name + suffix)
            if journal.exists():
                journal.rename(aside.with_name(aside.name + suffix))
        log.warning("%s cannot be opened (%s): moved to %s and a new, empty store made. The "
                    "tasks and styles it held are not shown; if it was a database, the sqlite3 "
                    "tool's .recover may get them back.", self.path, exc, aside.name)

    @classmethod
    def in_dir(cls, data_dir: Path | str) -> SQLiteTaskStore:
        return cls(Path(data_dir) / "tasks.sqlite3")

    # --- connections ------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _read(self, query: str, args: Any = ()) -> Any:
        return self._connection().execute(query, args)
