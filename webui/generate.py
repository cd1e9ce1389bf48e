"""`zhiqite-webui generate <endpoint> <payload.json>`: submit one vendor-format payload through
the task engine, show progress, save the images as the app does, print one path per line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from tqdm import tqdm

from webui.api.endpoints import ENDPOINTS, SD_SUBMITS, CallKind
from webui.api.errors import ZhiqiteError
from webui.api.models.sd import SCRIPTS_KEY
from webui.api.validation import parse_request
from webui.args import preview_interval as interval_arg
from webui.core.runtime import Runtime, Settings
from webui.core.store import TaskRecord

SUBMIT_ENDPOINTS = tuple(name for name, e in ENDPOINTS.items() if e.kind == CallKind.SUBMIT)
CLI_VISITOR = "cli"


class CliError(Exception):
    """A message for the user; exit code 2 for bad input, 1 for a failed task."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zhiqite-webui generate",
        description="Submit a vendor-format JSON payload, follow the task, save its images "
                    "(PNG with A1111 infotext) and print one saved path per line.")
    p.add_argument("endpoint", choices=SUBMIT_ENDPOINTS)
    p.add_argument("payload", help="JSON file with the request body ('-' for stdin); "
                   "id_task / businessTaskId is filled in when missing")
    p.add_argument("--out", type=Path, help="outputs folder (default: ZHIQITE_OUTPUTS_DIR or "
                   "./outputs)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--poll", dest="mode", action="store_const", const="poll",
                      help="learn the result by polling (each status query is billed)")
    mode.add_argument("--callback", dest="mode", action="store_const", const="callback",
                      help="learn the result by callback (default with the offline backend "
                      "or when ZHIQITE_PUBLIC_URL is set)")
    p.add_argument("--interval", type=interval_arg, default=1.5, metavar="SECONDS",
                   help="progress polling interval, 0.5-5 s, or 0 for adaptive back-off "
                   "(fewest billed calls); default 1.5")
    p.add_argument("--callback-port", type=int, default=0,
                   help="local port for callbacks (default: any free port)")
    p.add_argument("--backend", choices=("auto", "offline", "cloud"), default=None,
                   help="auto: the offline backend when no credentials are set")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="give up waiting after this long (the task goes on; see History)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def load_payload(endpoint: str, source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"payload: cannot read {source}: {exc.strerror}") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"payload: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(payload, dict):
        raise CliError("payload: must be a JSON object")
    return with_task_id(endpoint, payload)


def with_task_id(endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
    new_id = f"cli{uuid.uuid4().hex[:24]}"
    if endpoint in SD_SUBMITS:
        key = next((k for k in ("alwayson_scripts", "always_on_scripts") if k in payload),
                   SCRIPTS_KEY[endpoint])
        scripts = payload.setdefault(key, {})
        if isinstance(scripts, dict):
            scripts.setdefault("id_task", new_id)
    else:
        payload.setdefault("businessTaskId", new_id)
    return payload


def run(args: argparse.Namespace) -> int:
    payload = load_payload(args.endpoint, args.payload)
    request = parse_request(ENDPOINTS[args.endpoint].request, payload, args.endpoint)
    settings = Settings.from_env(outputs_dir=args.out, backend=args.backend)
    runtime = Runtime.open(settings)
    callback_server = None
    try:
        mode = args.mode or ("callback" if runtime.is_offline or settings.public_url else "poll")
        if mode == "callback":
            callback_server = _listen_for_callbacks(runtime, args.callback_port)
        handle = runtime.engine.submit(request, owner=runtime.owner(CLI_VISITOR), mode=mode)
        print(f"task {handle.task_id} submitted ({mode} mode, "
              f"{'offline backend' if runtime.is_offline else 'Zhiqite cloud'})",
              file=sys.stderr)
        record = _follow(runtime, handle.task_id, args, getattr(request, "steps", None))
    finally:
        if callback_server is not None:
            callback_server.stop()
        runtime.close()
    return _report(record)


def _listen_for_callbacks(runtime: Runtime, port: int) -> Any:
    from fastapi import FastAPI

    from webui.core.routes import callback_router
    from webui.offline.server import ThreadedServer

    app = FastAPI()
    app.include_router(callback_router(runtime.engine))
    server = ThreadedServer(app, port=port).start()
    if not runtime.settings.public_url:
        if not runtime.is_offline:
            server.stop()
            raise CliError("--callback with the cloud needs ZHIQITE_PUBLIC_URL: an address the "
                           "service can reach that forwards to --callback-port")
        runtime.set_public_url(server.url)
    return server


def _follow(runtime: Runtime, task_id: str, args: argparse.Namespace, steps: int | None
            ) -> TaskRecord:
    owner = runtime.owner(CLI_VISITOR)
    if args.quiet:
        return runtime.engine.wait(task_id, owner, args.timeout)
    total = steps or 100
    bar = tqdm(total=total, unit="step" if steps else "%", file=sys.stderr, leave=False,
               dynamic_ncols=True)
    try:
        for event in runtime.engine.events(task_id, owner, preview_interval=args.interval or None,
                                           timeout=args.timeout):
            batch = f" {event.job_no}/{event.job_count}" if (event.job_count or 0) > 1 else ""
            bar.set_description_str(event.status_line.split(",")[0] + batch)
            if event.progress is not None:
                bar.n = round(event.progress * total)
                bar.refresh()
    finally:
        bar.close()
    record = runtime.store.get(task_id, owner)
    if record is None:
        raise CliError(f"task {task_id} was deleted meanwhile", 1)
    return record


def _report(record: TaskRecord) -> int:
    for image in record.images:
        if image.path:
            print(image.path)
        elif image.hidden_reason:
            print(f"image {image.index}: not saved, {image.hidden_reason}", file=sys.stderr)
        elif image.error:
            print(f"image {image.index}: not saved, {image.error}", file=sys.stderr)
    if record.state != "succeeded":
        raise CliError(f"task {record.id} failed: {record.error}", 1)
    if not any(image.path for image in record.images):
        raise CliError(f"task {record.id} finished without a displayable image", 1)
    print(f"task {record.id}: {sum(1 for i in record.images if i.path)} image(s) saved, "
          f"{record.billed_calls} billed call(s)", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except ZhiqiteError as exc:  # invalid payload (names the field) or a refused call
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the API has no cancel, the task keeps running on the service "
              "and is resumed the next time the web UI starts", file=sys.stderr)
        return 130
