"""The offline backend: a FastAPI app serving the vendor's 11 paths from the same models the
client uses, plus non-API routes for result images, covers, stats and test faults."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import tempfile
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from webui.api.endpoints import API_PREFIX, ENDPOINTS, CallKind, Endpoint
from webui.api.errors import InvalidRequestError
from webui.api.validation import parse_request
from webui.offline import render as r
from webui.offline.catalogue import VAE_KEYWORDS, Catalogue, Entry
from webui.offline.config import OfflineConfig, Stats
from webui.offline.gateway import Gateway, gateway_error
from webui.offline.tasks import OUTCOMES, TaskRunner

log = logging.getLogger(__name__)

_PATHS: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS.values() if "{" not in e.path}
_TOOL_QUERY = re.compile(r"^saas/tool/(?P<code>[a-z0-9_]+(?:/[a-z0-9_]+)*)/queryTask$")
# Faults answered the way the gateway answers them: status, message, code, Retry-After?
GATEWAY_FAULTS: dict[str, tuple[int, str, str, bool]] = {
    "http429": (429, "Throttled by USER Flow Control", "A429TU", True),
    "throttle403": (403, "Throttled by API Flow Control", "A403FC", True),
    "http500": (500, "Failed To Invoke Backend Service", "D500IB", False),
    "http503": (503, "Service Unavailable", "D503SU", False),
    "http504": (504, "Backend Timeout", "D504TO", False),
    "quota": (403, "Api Market Subscription quota exhausted", "B403MQ", False),
    "arrears": (403, "User Arrears", "B403UA", False),
}
# "timeout" answers late, "malformed" with a non-JSON body, "lost" after doing the work.
CALL_FAULTS = set(GATEWAY_FAULTS) | {"timeout", "malformed", "lost"}


def service_error(message: str) -> JSONResponse:
    """The service's own refusals: HTTP 200, code "400", a reason in msg."""
    return JSONResponse({"code": "400", "msg": message, "data": None})


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": "200", "msg": "success", "data": data})


def create_app(config: OfflineConfig | None = None) -> FastAPI:
    config = config or OfflineConfig()
    image_dir = Path(config.data_dir or tempfile.mkdtemp(prefix="zhiqite-offline-"))
    image_dir.mkdir(parents=True, exist_ok=True)
    stats = Stats()
    catalogue = Catalogue()
    runner = TaskRunner(config, catalogue, stats, image_dir)
    gateway = Gateway(config)
    dice = random.Random(config.random_seed)
    planned_calls: list[dict[str, str]] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        await runner.close()

    app = FastAPI(title="Zhiqite offline backend", lifespan=lifespan, docs_url="/__offline/docs",
                  openapi_url="/__offline/openapi.json", redoc_url=None)
    app.state.config, app.state.stats, app.state.runner = config, stats, runner
    app.state.catalogue = catalogue

    # --- the API ----------------------------------------------------------------------------

    @app.post(API_PREFIX + "{path:path}")
    async def api(path: str, request: Request) -> Response:
        endpoint, tool_code = _route(path)
        name = endpoint.name if endpoint else "unknown"
        Stats.bump(stats.calls, name)
        runner.base_url = runner.base_url or str(request.base_url).rstrip("/")
        if config.latency:
            await asyncio.sleep(config.latency)
        if endpoint is None:
            Stats.bump(stats.rejected, "invalid_url")
            return gateway_error(404, "Invalid Url", "I404NF")

        body = await _read_body(request, config.max_body_bytes)
        if body is None:
            Stats.bump(stats.rejected, "body_too_large")
            return gateway_error(413, "Body Too Large", "A413BT")
        refusal = gateway.check(request.url.path, request.headers, body)
        if refusal is not None:
            Stats.bump(stats.rejected, refusal.headers.get("X-Ca-Error-Code", "auth"))
            return refusal

        fault = _next_fault(name)
        if fault and fault != "lost":
            answer = await _fault_answer(fault)
            if answer is not None:
                Stats.bump(stats.rejected, fault)
                return answer
        Stats.bump(stats.billed, name)

        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return service_error(f"request body is not valid JSON: {exc}")
        try:
            model = parse_request(endpoint.request, payload, endpoint.name)
        except InvalidRequestError as exc:
            return service_error(str(exc))
        if endpoint.kind is CallKind.QUERY:  # previews render off the event loop
            answer = await asyncio.to_thread(_serve, endpoint, tool_code, model, body)
        else:  # a submit starts its task on this loop
            answer = _serve(endpoint, tool_code, model, body)
        if fault == "lost":  # the work was done, the answer never arrives
            return gateway_error(*GATEWAY_FAULTS["http504"][:3])
        return answer

    def _route(path: str) -> tuple[Endpoint | None, str | None]:
        if path in _PATHS:
            return _PATHS[path], None
        match = _TOOL_QUERY.match(path)
        return (ENDPOINTS["query_tool_task"], match["code"]) if match else (None, None)

    def _next_fault(name: str) -> str | None:
        for index, fault in enumerate(planned_calls):
            if fault.get("endpoint", "*") in ("*", name):
                return planned_calls.pop(index)["fault"]
        roll = dice.random()
        if roll < config.throttle_rate:
            return "http429" if dice.random() < 0.5 else "throttle403"
        if roll < config.throttle_rate + config.fail_rate:
            if ENDPOINTS[name].kind is CallKind.SUBMIT and dice.random() < 0.5:
                return "lost"
            return dice.choice(["http500", "http503", "http504"])
        return None

    async def _fault_answer(fault: str) -> Response | None:
        if fault in GATEWAY_FAULTS:
            status, message, code, throttles = GATEWAY_FAULTS[fault]
            retry_after = round(max(config.sim(2.0), 0.001), 3) if throttles else None
            return gateway_error(status, message, code, retry_after)
        if fault == "timeout":
            await asyncio.sleep(max(config.sim(40.0), 0.5))
            return gateway_error(*GATEWAY_FAULTS["http504"][:3])
        if fault == "malformed":
            return Response("<html><body>502 Bad Gateway</body></html>", status_code=200,
                            media_type="text/html")
        return None

    def _serve(endpoint: Endpoint, tool_code: str | None, model: Any, body: bytes) -> Response:
        if endpoint.kind is CallKind.SUBMIT:
            return _submit(endpoint, model, body)
        if endpoint.name == "query_task":
            task = runner.tasks.get(model.businessTaskId)
            if task is None or task.tool_code:
                return service_error(f"task {model.businessTaskId} not found (only this "
                                     "month's tasks can be queried)")
            return JSONResponse(runner.status_body(task))
        if endpoint.name == "query_tool_task":
            task = runner.tasks.get(model.businessTaskId)
            if task is None or task.tool_code != tool_code:
                return service_error(f"{tool_code} task {model.businessTaskId} not found")
            return JSONResponse(runner.status_body(task))
        return ok(_list(endpoint.name, model))

    def _submit(endpoint: Endpoint, model: Any, body: bytes) -> Response:
        if endpoint.tool_code is None:
            scripts = model.alwayson_scripts
            if not catalogue.find("model", scripts.sd_model_checkpoint):
                return service_error(
                    f"sd_model_checkpoint '{scripts.sd_model_checkpoint}' is not a known "
                    "checkpoint: pick one from queryModelList")
            vae = scripts.sd_vae
            if vae and vae not in VAE_KEYWORDS and not catalogue.find("vae", vae):
                return service_error(f"sd_vae '{vae}' is not a known VAE: pick one from "
                                     "queryVaeList")
        try:
            task, _ = runner.submit(endpoint.name, model, body)
        except ValueError as exc:
            return service_error(str(exc))
        if endpoint.tool_code:
            return ok(runner.tool_status(task))
        return ok({"task_id": task.id})

    # --- lists --------------------------------------------------------------------------------

    def _list(name: str, model: Any) -> dict[str, Any]:
        if name == "query_models":
            rows = catalogue.search("model", text=model.sdModelCheckpoint or model.sdModelName)
            kind = "model"
        elif name == "query_loras":
            rows = catalogue.search("lora", text=model.sdLoraName,
                                    base_model=model.loraBaseModel)
            kind = "lora"
        elif name == "query_vaes":
            rows, kind = catalogue.search("vae", text=model.vaeFileName), "vae"
        else:
            rows, kind = catalogue.search("embedding"), "embedding"
        start = (model.pageNum - 1) * model.pageSize
        page = rows[start:start + model.pageSize]
        return {"rows": [_row(kind, e) for e in page], "total": len(rows),
                "pageSize": model.pageSize, "pageNum": model.pageNum}

    def _row(kind: str, e: Entry) -> dict[str, Any]:
        base = runner.base_url
        covers = ",".join(f"{base}/__offline/covers/{kind}/{e.id}/{i}.png" for i in range(3))
        cover = f"{base}/__offline/covers/{kind}/{e.id}/0.png"
        if kind == "model":
            return {"id": e.id, "sdModelCheckpoint": e.name, "sdModelName": e.title,
                    "modelBaseModel": e.base_model, "modelHash": e.digest,
                    "modelType": "Checkpoint", "modelVersion": "v1", "modelStatus": 1,
                    "modelUploadStatus": 2, "modelImgUrl2": covers, "modelCoverImgUrl2": cover,
                    "isAdult": e.adult}
        if kind == "lora":
            return {"id": e.id, "sdLoraName": e.title, "loraBaseModel": e.base_model,
                    "sdLoraFileName": e.name + ".safetensors", "sdLoraFileSimplifyName": e.name,
                    "loraVersion": "v1", "loraStatus": 1, "loraUploadStatus": 2,
                    "loraImgUrl2": covers, "loraCoverImgUrl2": cover, "isAdult": e.adult}
        if kind == "vae":
            return {"id": e.id, "vaeFileName": e.name}
        return {"id": e.id, "embeddingName": e.title, "embeddingSimplifyName": e.name}

    # --- non-API routes -------------------------------------------------------------------

    @app.get("/__offline/images/{task_key}/{name}", include_in_schema=False)
    async def image(task_key: str, name: str) -> Response:
        path = runner.image_file(task_key, name)
        if path is None:
            return Response("not found or expired", status_code=404)
        return FileResponse(path, media_type="image/png" if name.endswith(".png")
                            else "image/jpeg")

    @app.get("/__offline/covers/{kind}/{entry_id}/{index}.png", include_in_schema=False)
    async def cover(kind: str, entry_id: int, index: int) -> Response:
        entry = catalogue.get(kind, entry_id)
        if entry is None or not 0 <= index < 3:
            return Response("not found", status_code=404)
        return Response(_cover_png(entry.kind, entry.name, entry.title, index),
                        media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    @app.get("/__offline/stats")
    async def get_stats() -> dict[str, Any]:
        return stats.__dict__ | {
            "billed_total": sum(stats.billed.values()),
            "tasks_in_flight": sum(1 for t in runner.tasks.values() if not t.state.is_terminal),
        }

    @app.get("/__offline/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/__offline/faults")
    async def faults(request: Request) -> Response:
        """Queue one-shot faults: {"calls": [{"endpoint": "query_task", "fault": "http503"}],
        "tasks": ["fail" | "deleted" | "hidden" | "expired" | "stuck" | "no_url"],
        "callbacks": ["drop" | "duplicate"]}."""
        plan = await request.json()
        for call in plan.get("calls", []):
            if call.get("fault") not in CALL_FAULTS:
                return JSONResponse({"error": f"unknown call fault {call.get('fault')!r}",
                                     "known": sorted(CALL_FAULTS)}, status_code=400)
            planned_calls.append({"endpoint": call.get("endpoint", "*"), "fault": call["fault"]})
        for outcome in plan.get("tasks", []):
            if outcome not in OUTCOMES:
                return JSONResponse({"error": f"unknown task outcome {outcome!r}",
                                     "known": sorted(OUTCOMES)}, status_code=400)
            runner.planned_outcomes.append(outcome)
        runner.planned_callbacks.extend(plan.get("callbacks", []))
        return JSONResponse({"queued": {"calls": len(planned_calls),
                                        "tasks": len(runner.planned_outcomes),
                                        "callbacks": len(runner.planned_callbacks)}})

    @app.post("/__offline/catalogue")
    async def add_entry(request: Request) -> Response:
        """Add a catalogue entry (tests: hostile names, adult flags)."""
        entry = await request.json()
        if entry.get("kind") not in ("model", "lora", "vae", "embedding") or not entry.get("name"):
            return JSONResponse({"error": "kind and name required"}, status_code=400)
        added = catalogue.add(entry["kind"], str(entry["name"]),
                              str(entry.get("title", entry["name"])),
                              str(entry.get("base_model", "")), int(entry.get("adult", 0)))
        return JSONResponse({"id": added.id})

    return app


async def _read_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@lru_cache(maxsize=512)
def _cover_png(kind: str, name: str, title: str, index: int) -> bytes:
    params = r.SceneParams(prompt=f"{kind} {name}", model=title, steps=30, cfg_scale=9)
    img = r.paint(r.scene_for(params, index), 256, 320)
    return r.encode(r.to_pil(img), "png")
