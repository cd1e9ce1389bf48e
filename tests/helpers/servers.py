"""Loopback helper servers for tests: a static image host and a callback receiver."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response

from webui.offline.server import ThreadedServer


class ImageHost(ThreadedServer):
    """Serves bytes put into it at unguessable loopback URLs."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        app = FastAPI()

        @app.get("/files/{name}")
        async def serve(name: str) -> Response:
            if name not in self.files:
                return Response(status_code=404)
            data, media = self.files[name]
            return Response(data, media_type=media)

        super().__init__(app)

    def put(self, data: bytes, media: str = "image/png", suffix: str = ".png") -> str:
        name = uuid.uuid4().hex + suffix
        self.files[name] = (data, media)
        return f"{self.url}/files/{name}"

    def missing_url(self) -> str:
        return f"{self.url}/files/{uuid.uuid4().hex}.png"


class CallbackReceiver(ThreadedServer):
    """Records every callback body; answers from a script of replies, then {"code": "200"}."""

    def __init__(self, replies: list[Any] | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.replies = list(replies or [])
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        app = FastAPI()

        @app.post("/callback")
        async def callback(request: Request) -> Response:
            body = json.loads(await request.body())
            with self.lock:
                self.received.append(body)
                reply = self.replies.pop(0) if self.replies else {"code": "200"}
            self.arrived.set()
            return Response(json.dumps(reply), media_type="application/json")

        super().__init__(app)

    @property
    def callback_url(self) -> str:
        return f"{self.url}/callback"
