"""Shared fixtures: real servers on 127.0.0.1, fast time."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile

from tests.helpers.servers import ImageHost
from webui.api import ZhiqiteClient
from webui.api.models import TaskInfo, ToolTaskInfo
from webui.offline.config import OfflineConfig
from webui.offline.server import OfflineServer

FAST = 0.002  # 20 steps of 0.25 s run in 10 ms


def fast_config(**overrides: Any) -> OfflineConfig:
    return OfflineConfig(**{"time_scale": FAST, **overrides})


@pytest.fixture(scope="session")
def offline() -> Iterator[OfflineServer]:
    with OfflineServer(fast_config()) as server:
        yield server


@pytest.fixture
def fresh_offline(request: pytest.FixtureRequest) -> Iterator[OfflineServer]:
    """A backend of the test's own, for fault plans and counters no other test touches.
    Parametrise indirectly with a dict of OfflineConfig overrides."""
    overrides = getattr(request, "param", {}) or {}
    with OfflineServer(fast_config(**overrides)) as server:
        yield server


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageHost]:
    with ImageHost() as host:
        yield host


@pytest.fixture
def client(offline: OfflineServer) -> Iterator[ZhiqiteClient]:
    with ZhiqiteClient(base_url=offline.url, backoff=0.001) as c:
        yield c


def new_id(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


def t2i(task_id: str | None = None, **fields: Any) -> dict[str, Any]:
    scripts = fields.pop("scripts", {})
    return {
        "prompt": "a lighthouse at dusk",
        "width": 256, "height": 256, "steps": 8,
        **fields,
        "alwayson_scripts": {"sd_model_checkpoint": "photon_v1_84728.safetensors",
                             "id_task": task_id or new_id(), "output_image_format": "png",
                             **scripts},
    }


def wait_sd(client: ZhiqiteClient, task_id: str, timeout: float = 15.0) -> TaskInfo:
    deadline = time.monotonic() + timeout
    while True:
        info = client.query_task(task_id).data
        assert info is not None
        if info.state.is_terminal:
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {info.state} after {timeout}s")
        time.sleep(0.01)


def wait_tool(client: ZhiqiteClient, tool: str, task_id: str, timeout: float = 15.0
              ) -> ToolTaskInfo:
    deadline = time.monotonic() + timeout
    while True:
        info = client.query_tool_task(tool, task_id).data
        assert info is not None
        if info.status in (0, 2):
            return info
        if time.monotonic() > deadline:
            raise AssertionError(f"{tool} task {task_id} still running after {timeout}s")
        time.sleep(0.01)


BOMB_SIDE = 13000


@pytest.fixture(scope="session")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PNG of 13000x13000 greyscale pixels: 164 kB on disk, 169 MB as pixels, 507 MB
    as RGB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("L", (BOMB_SIDE, BOMB_SIDE)).save(path)
    return path


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any picture Pillow starts to decode fails the test."""

    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"decoded a {self.size} picture")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the session (tests/helpers/postgres.py)."""
    from tests.helpers.postgres import cluster

    with cluster() as url:
        if url is None:
            pytest.skip("PostgreSQL is not installed here (Debian's `postgresql` package; "
                        "scripts/test.sh installs it as root): the PostgreSQL store is not "
                        "tested")
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database of the session's cluster."""
    from tests.helpers.postgres import new_database

    return new_database(postgres_server)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """S3-compatible storage on loopback (moto's server): a real S3 API, no account."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
