"""The app's own HTTP routes, mounted on the FastAPI app Gradio runs on:

- `POST /api/zhiqite/callback/<task id>?token=<per-task token>`: the service posts results;
- `GET /api/zhiqite/uploads/<random>.png`: uploaded images, for the service to fetch;
- `GET /api/zhiqite/covers/<key>.webp`: model cover thumbnails (`core/covers.py`);
- `GET /api/zhiqite/tags?q=<start>`: the prompt's autocomplete from the tag list
  (`core/tags.py`), when one is configured."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from webui.core.callbacks import CallbackOutcome, CallbackReceiver
from webui.core.covers import COVERS_PATH, CoverCache
from webui.core.engine import CALLBACK_PATH, TaskEngine
from webui.core.hosting import UPLOADS_PATH, LocalImageHost
from webui.core.tags import TagList

TAGS_PATH = "/api/zhiqite/tags"
MAX_CALLBACK_BYTES = 1 << 20  # a final status is a few kB; previews are not sent in callbacks
# What the service is answered: only {"code": "200"} stops its retries, and it is given once the
# result is stored.
CALLBACK_ANSWERS: dict[CallbackOutcome, tuple[int, str]] = {
    CallbackOutcome.STORED: (200, "stored"),
    CallbackOutcome.ALREADY_STORED: (200, "already stored"),
    CallbackOutcome.FORBIDDEN: (403, "forbidden"),
    CallbackOutcome.UNKNOWN_TASK: (404, "unknown task"),
    CallbackOutcome.BAD_BODY: (400, "not a task status body"),
    CallbackOutcome.OTHER_TASK: (400, "the body is about another task"),
    CallbackOutcome.NOT_FINAL: (409, "task not finished; send the final status"),
    CallbackOutcome.NOT_FETCHED: (503, "result images not fetched yet; retry later"),
}


def callback_answer(outcome: CallbackOutcome) -> JSONResponse:
    status, message = CALLBACK_ANSWERS[outcome]
    return JSONResponse({"code": str(status), "msg": message}, status_code=status)


def callback_router(engine: TaskEngine) -> APIRouter:
    router = APIRouter()
    receiver = CallbackReceiver(engine)

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
        outcome = await asyncio.to_thread(receiver.receive, task_id, token, bytes(body))
        return callback_answer(outcome)

    return router


def _too_large() -> JSONResponse:
    return JSONResponse({"code": "413", "msg": "body too large"}, status_code=413)


def uploads_router(host: LocalImageHost) -> APIRouter:
    router = APIRouter()

    @router.get(UPLOADS_PATH + "/{name}", include_in_schema=False, response_model=None)
    async def upload(name: str) -> Response:
        path = host.file(name)  # only our random names, only until they expire
        if path is None:
            return Response("not found or expired", status_code=404)
        return FileResponse(path, media_type="image/png",
                            headers={"Cache-Control": "private, no-store",
                                     "X-Content-Type-Options": "nosniff"})

    return router


def covers_router(covers: CoverCache) -> APIRouter:
    router = APIRouter()

    @router.get(COVERS_PATH + "/{key}.webp", include_in_schema=False, response_model=None)
    async def cover(key: str) -> Response:
        data = await asyncio.to_thread(covers.get, key)  # may download: off the event loop
        if data is None:
            return Response("not found", status_code=404)
        return Response(data, media_type="image/webp",
                        headers={"Cache-Control": "private, max-age=86400",
                                 "X-Content-Type-Options": "nosniff"})

    return router


def tags_router(tags: TagList | None) -> APIRouter:
    router = APIRouter()

    @router.get(TAGS_PATH, include_in_schema=False, response_model=None)
    async def suggest(q: str = "") -> Response:
        if tags is None:
            return Response("no tag list", status_code=404)
        found = tags.suggest(q)
        return JSONResponse([[tag.text, tag.count, tag.alias] for tag in found],
                            headers={"Cache-Control": "public, max-age=3600"})

    return router
