"""ThreadedServer (webui/offline/server.py): stopped at once, and stopped for good, whether a
connection is open or not; the app's shutdown runs either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import requests
from fastapi import FastAPI

from webui.offline.server import ThreadedServer


def recording_app(events: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("shut down")

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    return app


@pytest.mark.parametrize("keep_alive", [False, True])
def test_a_stopped_server_answers_no_more_and_shuts_its_app_down(keep_alive: bool) -> None:
    events: list[str] = []
    server = ThreadedServer(recording_app(events)).start()
    session = requests.Session()
    get = session.get if keep_alive else requests.get  # a pooled connection stays open
    assert get(server.url + "/ping", timeout=5).json() == "pong"
    server.stop()
    assert events == ["started", "shut down"]
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/ping", timeout=5)
    session.close()


def test_a_stop_right_after_the_start_ends_the_server() -> None:
    """start() returns once uvicorn has started, which may be before its loop waits for a
    stop: the stop is seen by the loop's first look."""
    for _ in range(20):
        events: list[str] = []
        server = ThreadedServer(recording_app(events)).start()
        server.stop()
        assert events == ["started", "shut down"]
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/ping", timeout=5)
