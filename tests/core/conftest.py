"""A task engine wired to a test's own offline backend, store and folders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.conftest import new_id, t2i
from webui.api import ZhiqiteClient
from webui.api import models as m
from webui.api.validation import parse_request
from webui.core.engine import PollPolicy, TaskEngine, TaskHandle
from webui.core.keys import Keys, load_or_create_key
from webui.core.outputs import Downloader, OutputWriter
from webui.core.result_files import MirroredStore, ResultMirror
from webui.core.routes import callback_router
from webui.core.store import SQLiteTaskStore, SqlTaskStore
from webui.offline.server import OfflineServer, ThreadedServer

# The offline backend runs at 0.002 x real time; polls scale alike (preview 15 ms, idle from
# 20 ms, safety net from 1.2 s, deadline 36 s).
FAST_POLICY = PollPolicy().scaled(0.01)
OWNER = "owner-a"


def replica_of(data_dir: Path) -> str:
    return f"test:{data_dir.resolve()}"


class Rig:
    """client + store + engine (+ the callback route on a loopback server in callback mode)."""

    def __init__(self, backend: OfflineServer, data_dir: Path, *, mode: str = "poll",
                 policy: PollPolicy = FAST_POLICY, store: SqlTaskStore | None = None,
                 bucket: tuple[Any, str] | None = None) -> None:
        """`bucket`: (an S3 client, a bucket name) for the results, as a replica's."""
        self.backend, self.data_dir = backend, data_dir
        self.client = ZhiqiteClient(base_url=backend.url, backoff=0.001, timeout=2.0)
        self.store: Any = store or SQLiteTaskStore.in_dir(data_dir)
        self.keys = Keys(load_or_create_key(data_dir))
        mirror = None
        if bucket is not None:
            mirror = ResultMirror(bucket[0], bucket[1], replica=replica_of(data_dir),
                                  outputs_dir=data_dir / "outputs",
                                  cache_dir=data_dir / "results")
            self.store = MirroredStore(self.store, mirror)
        self.writer = OutputWriter(data_dir / "outputs", mirror)
        # the holder as the app names a replica: the same data dir, the same replica
        self.engine = TaskEngine(self.client, self.store, self.writer, self.keys, policy=policy,
                                 downloader=Downloader(retries=1, backoff=0.0),
                                 holder=replica_of(data_dir))
        self.server: ThreadedServer | None = None
        if mode == "callback":
            app = FastAPI()
            app.include_router(callback_router(self.engine))
            self.server = ThreadedServer(app).start()
            self.engine.public_url = self.server.url

    def request(self, endpoint: str = "text2image", **fields: Any) -> Any:
        model = {"text2image": m.Text2ImageRequest}.get(endpoint)
        if model is None:
            raise ValueError(endpoint)
        return parse_request(model, t2i(new_id(), **fields))

    def submit(self, owner: str = OWNER, **fields: Any) -> TaskHandle:
        return self.engine.submit(self.request(**fields), owner=owner)

    def close(self) -> None:
        self.engine.shutdown()
        if self.server:
            self.server.stop()
        self.client.close()
        self.store.close()


@pytest.fixture
def rig(fresh_offline: OfflineServer, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(fresh_offline, tmp_path)
    yield r
    r.close()


@pytest.fixture
def callback_rig(fresh_offline: OfflineServer, tmp_path: Path) -> Iterator[Rig]:
    """Safety-net polls only after 10 s: billed-call counts cannot depend on how fast a loaded
    machine delivers the callback."""
    r = Rig(fresh_offline, tmp_path, mode="callback",
            policy=replace(FAST_POLICY, safety_first=10.0))
    yield r
    r.close()
