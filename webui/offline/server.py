"""Run the offline backend on a loopback port in a background thread (the app embeds it when
no credentials are set; tests start one per session)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from webui.offline.app import create_app
from webui.offline.config import OfflineConfig


class OfflineServer:
    def __init__(self, config: OfflineConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.config = config or OfflineConfig()
        self.app = create_app(self.config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # bound now, so the port is known before start
        self.host, self.port = self._socket.getsockname()[:2]
        self._server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name="zhiqite-offline", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def runner(self):  # noqa: ANN201 - the TaskRunner, for tests
        return self.app.state.runner

    def start(self, timeout: float = 10.0) -> OfflineServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the offline backend did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> OfflineServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
