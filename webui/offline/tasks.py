"""Tasks of the offline backend: queued -> uploading -> generating -> succeeded | failed,
with step-by-step progress and previews, result images on disk, and callbacks retried on the
vendor's schedule until answered {"code": "200"}."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from webui.api import models as m
from webui.api.endpoints import ENDPOINTS
from webui.api.models.common import SD_STATUS_CODE, TaskState
from webui.offline import pipeline
from webui.offline import render as r
from webui.offline.catalogue import Catalogue
from webui.offline.config import OfflineConfig, Stats
from webui.offline.fetch import FetchError, fetch_image, is_loopback_url, same_origin

log = logging.getLogger(__name__)

# One-shot outcomes a test can queue for the next tasks (POST /__offline/faults).
OUTCOMES = {"fail", "deleted", "hidden", "expired", "stuck", "no_url"}


@dataclass
class OfflineTask:
    id: str
    endpoint: str
    request: Any
    fingerprint: str  # the exact submitted body: a resubmit must match it
    callback_url: str | None
    outcome: str | None = None
    state: TaskState = TaskState.QUEUED
    desc: str = "Queued"
    notes: list[str] = field(default_factory=list)
    steps_done: int = 0
    total_steps: int = 1
    job_no: int = 0
    job_count: int = 1
    seed: int = 0
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None  # time.monotonic() when it reached a final state
    inputs: pipeline.Inputs = field(default_factory=pipeline.Inputs)
    params: r.SceneParams | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    output_url: str | None = None
    expired: bool = False
    preview_cache: tuple[int, str] | None = None
    output_tool_id: str = ""

    @property
    def tool_code(self) -> str | None:
        return ENDPOINTS[self.endpoint].tool_code

    @property
    def progress(self) -> float:
        return min(1.0, self.steps_done / max(self.total_steps, 1))


class TaskRunner:
    def __init__(self, config: OfflineConfig, catalogue: Catalogue, stats: Stats,
                 image_dir: Path) -> None:
        self.config = config
        self.catalogue = catalogue
        self.stats = stats
        self.image_dir = image_dir
        self.tasks: dict[str, OfflineTask] = {}
        self.planned_outcomes: list[str] = []
        self.planned_callbacks: list[str] = []  # "drop" | "duplicate"
        self.base_url = ""  # set from the first request: where result URLs point
        self._dice = random.Random(config.random_seed ^ 0x7A5C)
        self._slots: asyncio.Semaphore | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._http: httpx.AsyncClient | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.config.fetch_timeout,
                                           follow_redirects=True, max_redirects=3)
        return self._http

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._http is not None:
            await self._http.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- submit -----------------------------------------------------------------------------

    def submit(self, endpoint: str, request: Any, body: bytes) -> tuple[OfflineTask, bool]:
        """Register and start a task. Returns (task, started); a resubmit of the same body
        under the same id answers the existing task and starts nothing (ruling 9)."""
        task_id = request.task_id
        fingerprint = hashlib.sha256(body).hexdigest()
        existing = self.tasks.get(task_id)
        if existing is not None:
            if existing.fingerprint != fingerprint or existing.endpoint != endpoint:
                raise ValueError(f"task id {task_id} is already used by another task")
            self.stats.duplicate_submits += 1
            return existing, False
        outcome = self.planned_outcomes.pop(0) if self.planned_outcomes else None
        if outcome is None and self._dice.random() < self.config.task_fail_rate:
            outcome = "fail"
        task = OfflineTask(id=task_id, endpoint=endpoint, request=request,
                           fingerprint=fingerprint, callback_url=request.callbackUrl,
                           outcome=outcome)
        if endpoint in ("roop", "enhance"):
            task.output_tool_id = f"off{hashlib.sha1(task_id.encode()).hexdigest()[:20]}"
            task.output_url = self.image_url(task, 0, "png")
        self.tasks[task_id] = task
        self.stats.tasks_started += 1
        self._spawn(self._run(task))
        return task, True

    # --- running ----------------------------------------------------------------------------

    async def _run(self, task: OfflineTask) -> None:
        try:
            if self._slots is None:
                self._slots = asyncio.Semaphore(self.config.concurrency)
            await asyncio.sleep(self.config.sim(self.config.queue_seconds))
            async with self._slots:
                if task.outcome == "stuck":
                    task.state, task.desc = TaskState.GENERATING, "Generating"
                    return  # never finishes: for deadline tests
                if task.tool_code:
                    await self._run_tool(task)
                else:
                    await self._run_sd(task)
        except (pipeline.TaskFailure, FetchError) as exc:
            self._fail(task, str(exc))
        except Exception:  # a bug here must fail the task, not leave it hanging
            log.exception("offline task %s crashed", task.id)
            self._fail(task, "internal error in the offline backend")
        if task.state.is_terminal:
            await self._callback(task)

    def _fail(self, task: OfflineTask, reason: str) -> None:
        task.state, task.desc = TaskState.FAILED, f"Task failed: {reason}"
        task.finished = time.monotonic()
        task.output_url = None
        self.stats.tasks_failed += 1

    async def _fetch_inputs(self, task: OfflineTask, urls: dict[str, str]) -> dict[str, Image.Image]:
        task.state, task.desc = TaskState.UPLOADING, "Uploading"
        await asyncio.sleep(self.config.sim(self.config.upload_seconds))
        images = {}
        for key, url in urls.items():
            images[key] = await fetch_image(
                self.http(), url, max_bytes=self.config.fetch_max_bytes,
                max_pixels=self.config.max_input_pixels, what=_describe_input(key),
                allow_public=self.config.allow_public_urls,
                only_origin=self.base_url if self.config.reach_only_itself else None)
        return images

    async def _run_sd(self, task: OfflineTask) -> None:
        request = task.request
        fetched = await self._fetch_inputs(task, pipeline.image_urls(request))
        task.inputs = pipeline.Inputs(
            init=fetched.get("init"), mask=fetched.get("mask"),
            controls={int(k.split(":")[1]): v for k, v in fetched.items()
                      if k.startswith("control:")})
        task.params, notes = pipeline.scene_params(request, self.catalogue)
        task.notes.extend(notes)
        task.seed = r.resolve_seed(request.seed, task.id)
        hires_steps = (request.hr_second_pass_steps or request.steps) if (
            request.enable_hr and not isinstance(request, m.Image2ImageRequest)) else 0
        steps_per_job = request.steps + hires_steps
        task.job_count = request.n_iter
        task.total_steps = steps_per_job * request.n_iter
        task.state, task.desc = TaskState.GENERATING, "Generating"
        step = self.config.sim(self.config.step_seconds)
        for job in range(request.n_iter):
            task.job_no = job + 1
            for _ in range(steps_per_job):
                await asyncio.sleep(step)
                task.steps_done += 1
        if task.outcome == "fail":
            raise pipeline.TaskFailure("the service could not generate this image")
        fmt = request.alwayson_scripts.output_image_format or "jpg"
        for index in range(request.image_count):
            img = await asyncio.to_thread(pipeline.render_sd, request, task.inputs, task.params,
                                          task.seed, index)
            path = self._path(task, index, fmt)
            await asyncio.to_thread(path.write_bytes, r.encode(img, fmt))
            task.results.append(self._result_row(task, index, fmt))
        task.expired = task.outcome == "expired"
        task.state, task.finished = TaskState.SUCCEEDED, time.monotonic()
        task.desc = " ".join(["Task succeeded.", *task.notes])
        self.stats.tasks_succeeded += 1

    def _result_row(self, task: OfflineTask, index: int, fmt: str) -> dict[str, Any]:
        deleted = task.outcome == "deleted" and index == 0
        hidden = task.outcome == "hidden" and index == 0
        return {
            "img_audit": [{"confidence": 0.97 if hidden else None,
                           "label": "porn" if hidden else "nonLabel"}],
            "img_audit_status": not hidden,
            "image_status": 2 if deleted else 1,
            "image_url": self.image_url(task, index, fmt),
            "seed": task.seed + index,
        }

    async def _run_tool(self, task: OfflineTask) -> None:
        request = task.request
        urls = ({"source": request.sourceUrl, "target": request.targetUrl}
                if task.tool_code == "roop" else {"image": request.image})
        fetched = await self._fetch_inputs(task, urls)
        task.state, task.desc = TaskState.GENERATING, "Generating"
        task.total_steps = 10
        for _ in range(task.total_steps):
            await asyncio.sleep(self.config.sim(self.config.tool_seconds) / task.total_steps)
            task.steps_done += 1
        if task.outcome == "fail":
            raise pipeline.TaskFailure("the service could not process this image")
        if task.tool_code == "roop":
            img = await asyncio.to_thread(pipeline.face_swap, fetched["source"], fetched["target"])
        else:
            img = await asyncio.to_thread(pipeline.enhance, request, fetched["image"],
                                          self.config.max_output_pixels)
        path = self._path(task, 0, "png")
        await asyncio.to_thread(path.write_bytes, r.encode(img, "png"))
        if task.outcome == "no_url":
            task.output_url = None
        task.expired = task.outcome == "expired"
        task.state, task.desc = TaskState.SUCCEEDED, "Task succeeded."
        task.finished = time.monotonic()
        self.stats.tasks_succeeded += 1

    # --- images -----------------------------------------------------------------------------

    def _path(self, task: OfflineTask, index: int, fmt: str) -> Path:
        folder = self.image_dir / _safe(task.id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{index}.{fmt}"

    def image_url(self, task: OfflineTask, index: int, fmt: str) -> str:
        return f"{self.base_url}/__offline/images/{_safe(task.id)}/{index}.{fmt}"

    def image_file(self, task_key: str, name: str) -> Path | None:
        task = next((t for t in self.tasks.values() if _safe(t.id) == task_key), None)
        if (task is None or task.expired or task.state != TaskState.SUCCEEDED
                or task.outcome == "no_url"):  # "done without a URL": nothing is served
            return None
        path = self.image_dir / task_key / name
        return path if path.is_file() and path.parent == self.image_dir / task_key else None

    # --- status answers ---------------------------------------------------------------------

    def sd_status(self, task: OfflineTask) -> dict[str, Any]:
        temporary = None
        if task.state == TaskState.GENERATING and task.params is not None:
            cached = task.preview_cache
            if cached is None or cached[0] != task.steps_done:
                index = max(0, task.job_no - 1) * task.request.batch_size
                image = pipeline.preview(task.request, task.inputs, task.params, task.seed,
                                         index, task.progress)
                task.preview_cache = (task.steps_done, image)
            temporary = {
                "progress": f"{task.progress:.4f}".rstrip("0").rstrip(".") or "0",
                "currentImage": task.preview_cache[1] if task.preview_cache else None,
                "jobNo": task.job_no, "jobCount": task.job_count,
            }
        return {
            "id_task": task.id,
            "status": SD_STATUS_CODE[task.state],
            "desc": self._desc(task),
            "temporaryImageDto": temporary,
            "differentialImageRspList": task.results if task.state == TaskState.SUCCEEDED
            else None,
        }

    def tool_status(self, task: OfflineTask) -> dict[str, Any]:
        # Running: 1 with the future URL (404 until ready), as the vendor's roop sample
        # answers; done: 2 with the URL; failed: 0. Ruling 5 reads all three.
        code = {TaskState.SUCCEEDED: 2, TaskState.FAILED: 0}.get(task.state, 1)
        return {
            "businessTaskId": task.id, "taskId": task.output_tool_id,
            "toolTask": task.tool_code, "status": code,
            "outputImageUrl": task.output_url or "", "desc": self._desc(task),
        }

    def _desc(self, task: OfflineTask) -> str:
        if task.state == TaskState.QUEUED:
            ahead = sum(1 for t in self.tasks.values()
                        if t.state == TaskState.QUEUED and t.created < task.created)
            return f"Queued (position {ahead + 1})"
        return task.desc

    def status_body(self, task: OfflineTask) -> dict[str, Any]:
        data = self.tool_status(task) if task.tool_code else self.sd_status(task)
        return {"code": "200", "msg": "success", "data": data}

    # --- callbacks --------------------------------------------------------------------------

    async def _callback(self, task: OfflineTask) -> None:
        """POST the final status to callbackUrl until it answers {"code": "200"}."""
        if not task.callback_url:
            return
        if not self.config.allow_public_urls and not is_loopback_url(task.callback_url):
            log.info("callback for %s not sent: %s is not a loopback URL", task.id,
                     task.callback_url)
            return
        if self.config.reach_only_itself and not same_origin(task.callback_url, self.base_url):
            log.info("callback for %s not sent: this backend plays a service that cannot "
                     "reach the app", task.id)
            return
        plan = self.planned_callbacks.pop(0) if self.planned_callbacks else None
        if plan == "drop":
            return
        body = self.status_body(task)
        if await self._post_callback(task.callback_url, body):
            if plan == "duplicate":
                await self._post_callback(task.callback_url, body)
            return
        for delay in self.config.callback_schedule:
            await asyncio.sleep(self.config.sim(delay))
            if await self._post_callback(task.callback_url, body):
                return
        self.stats.callbacks_abandoned += 1

    async def _post_callback(self, url: str, body: dict[str, Any]) -> bool:
        self.stats.callbacks_sent += 1
        try:
            response = await self.http().post(url, json=body,
                                              timeout=self.config.callback_timeout)
            answer = response.json()
        except (httpx.HTTPError, ValueError):
            return False
        if isinstance(answer, dict) and str(answer.get("code")) == "200":
            self.stats.callbacks_acknowledged += 1
            return True
        return False


def _safe(task_id: str) -> str:
    """Task ids are validated URL-safe; this keeps a path component even if one is not."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id).strip(".") or "_"


def _describe_input(key: str) -> str:
    if key.startswith("control:"):
        return f"ControlNet unit {key.split(':')[1]} image"
    return {"init": "init image", "mask": "mask image", "source": "source image",
            "target": "target image", "image": "image"}.get(key, key)
