"""The callback route the service POSTs results to, mounted on the app's FastAPI (the same one
Gradio runs on): `POST /api/zhiqite/callback/<task id>?token=<per-task token>`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from webui.core.engine import CALLBACK_PATH, TaskEngine

MAX_CALLBACK_BYTES = 1 << 20  # a final status is a few kB; previews are not sent in callbacks


def callback_router(engine: TaskEngine) -> APIRouter:
    router = APIRouter()

    @router.post(CALLBACK_PATH + "/{task_id}", include_in_schema=False)
    async def receive(task_id: str, request: Request, token: str = "") -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_CALLBACK_BYTES:
            return _too_large()
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CALLBACK_BYTES:
                return _too_large()
        # Storing the result downloads its images: off the event loop.
        status, answer = await asyncio.to_thread(engine.receive_callback, task_id, token,
                                                 bytes(body))
        return JSONResponse(answer, status_code=status)

    return router


def _too_large() -> JSONResponse:
    return JSONResponse({"code": "413", "msg": "body too large"}, status_code=413)
