"""Run an ASGI app on a loopback port in a background thread: the offline backend (embedded by
the app when no credentials are set, and started by tests), or any helper server of a test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn

from webui.offline.app import create_app
from webui.offline.config import OfflineConfig


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopped at once. Its loop looks for a stop every 0.1 s, and its
    shutdown waits 0.1 s for the connections it asked to close even when there are none: 0.2 s
    a stop, and the tests stop hundreds (the app's helper servers, an offline backend each)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):  # the date header, once a second; the stop
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)  # uvicorn's own: connections asked to close
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    def stop(self) -> None:
        self.should_exit = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                loop.call_soon_threadsafe(stopping.set)


class ThreadedServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # bound now, so the port is known before start
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = _PromptServer(uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name=f"server-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.stop()
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class OfflineServer(ThreadedServer):
    """The offline backend on a free loopback port."""

    def __init__(self, config: OfflineConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.config = config or OfflineConfig()
        super().__init__(create_app(self.config), host, port)

    @property
    def runner(self) -> Any:
        return self.app.state.runner

    @property
    def stats(self) -> Any:
        return self.app.state.stats
