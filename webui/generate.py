"""`zhiqite-webui generate <endpoint> <payload.json>`: submit one vendor-format payload through
the task engine, show progress, save the images as the app does, print one path per line."""

from __future__ import annotations

import argparse
import json
import logging
import re
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
from webui.core.delivery import DeliveryMode
from webui.core.hosting import UploadRefused, prepare_upload
from webui.core.runtime import Runtime, Settings
from webui.core.store import TaskRecord
from webui.messages import Msg, language_of_environment, render

SUBMIT_ENDPOINTS = tuple(name for name, e in ENDPOINTS.items() if e.kind == CallKind.SUBMIT)
CLI_VISITOR = "cli"


class CliError(Exception):
    """A message for the user (`.msg`, printed in the terminal's language); exit code 2 for
    bad input, 1 for a failed task."""

    def __init__(self, msg: Msg, code: int = 2) -> None:
        super().__init__(str(msg))
        self.msg = msg
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
    mode.add_argument("--poll", dest="mode", action="store_const",
                      const=DeliveryMode.POLL,
                      help="learn the result by polling (each status query is billed)")
    mode.add_argument("--callback", dest="mode", action="store_const",
                      const=DeliveryMode.CALLBACK,
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
        raise CliError(Msg("cli.payload", reason=Msg("cli.cannot_read", source=source,
                                                     reason=exc.strerror))) from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(Msg("cli.payload", reason=Msg("cli.not_json", reason=exc.msg,
                                                     line=exc.lineno))) from None
    if not isinstance(payload, dict):
        raise CliError(Msg("cli.payload", reason=Msg("cli.not_object")))
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
    base_dir = Path(args.payload).resolve().parent if args.payload != "-" else Path.cwd()
    files = local_images(payload, base_dir)
    endpoint = ENDPOINTS[args.endpoint]
    # everything is checked before anything is uploaded or sent
    parse_request(endpoint.request, with_urls(payload, dict.fromkeys(files, PLACEHOLDER_URL)),
                  args.endpoint)
    prepared = {}
    for text, path in files.items():
        try:
            prepared[text] = prepare_upload(path.read_bytes(), text).png
        except (OSError, UploadRefused) as exc:
            raise CliError(Msg("cli.payload", reason=exc)) from None
    settings = Settings.from_env(outputs_dir=args.out, backend=args.backend)
    runtime = Runtime.open(settings)
    server = None
    try:
        mode = args.mode or (DeliveryMode.CALLBACK if runtime.is_offline or settings.public_url
                             else DeliveryMode.POLL)
        callbacks = mode == DeliveryMode.CALLBACK
        if callbacks or (prepared and runtime.image_host is runtime.local_host):
            server = _listen(runtime, args.callback_port, callbacks=callbacks)
        try:
            urls = {text: runtime.image_host.host(png) for text, png in prepared.items()}
        except UploadRefused as exc:
            raise CliError(Msg("cli.payload", reason=exc)) from None
        request = parse_request(endpoint.request, with_urls(payload, urls), args.endpoint)
        handle = runtime.engine.submit(request, owner=runtime.owner(CLI_VISITOR), mode=mode)
        say(Msg("cli.submitted", task=handle.task_id, mode=str(mode),
                backend=Msg("cli.offline") if runtime.is_offline else Msg("cli.cloud")))
        record = _follow(runtime, handle.task_id, args, getattr(request, "steps", None))
    finally:
        if server is not None:
            server.stop()
        runtime.close()
    return _report(record)


IMAGE_FIELDS = ("image_link", "mask_link", "sourceUrl", "targetUrl", "image")
PLACEHOLDER_URL = "http://127.0.0.1/local-file.png"


def local_images(payload: Any, base_dir: Path) -> dict[str, Path]:
    """Image fields that name a local file instead of an http(s) URL: {text: file}. A path is
    taken as written, else relative to the payload's folder."""
    found: dict[str, Path] = {}
    for text in _image_values(payload):
        if re.match(r"^https?://", text, re.IGNORECASE) or text in found:
            continue
        for candidate in (Path(text).expanduser(), base_dir / text):
            if candidate.is_file():
                found[text] = candidate
                break
        else:
            raise CliError(Msg("cli.payload", reason=Msg("cli.not_url_or_file", text=repr(text))))
    return found


def _image_values(node: Any) -> list[str]:
    if isinstance(node, dict):
        values = []
        for key, value in node.items():
            if key in IMAGE_FIELDS and isinstance(value, str) and value:
                values.append(value)
            else:
                values.extend(_image_values(value))
        return values
    if isinstance(node, list):
        return [v for item in node for v in _image_values(item)]
    return []


def with_urls(node: Any, urls: dict[str, str]) -> Any:
    """The payload with each local image path (as written) replaced by its URL."""
    if isinstance(node, dict):
        return {k: urls.get(v, v) if k in IMAGE_FIELDS and isinstance(v, str)
                else with_urls(v, urls) for k, v in node.items()}
    if isinstance(node, list):
        return [with_urls(item, urls) for item in node]
    return node


def _listen(runtime: Runtime, port: int, *, callbacks: bool) -> Any:
    """The CLI's own little app: the callback route, and the uploads it hosts."""
    from fastapi import FastAPI

    from webui.core.routes import callback_router, uploads_router
    from webui.offline.server import ThreadedServer

    app = FastAPI()
    app.include_router(callback_router(runtime.engine))
    app.include_router(uploads_router(runtime.local_host))
    server = ThreadedServer(app, port=port).start()
    if not runtime.settings.public_url:
        if not runtime.is_offline:
            server.stop()
            raise CliError(Msg("cli.needs_public_url"))
        runtime.set_public_url(server.url, callbacks=callbacks)
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
            status = render(event.status, language_of_environment())
            bar.set_description_str(status.split(",")[0].split("，")[0] + batch)
            if event.progress is not None:
                bar.n = round(event.progress * total)
                bar.refresh()
    finally:
        bar.close()
    record = runtime.store.get(task_id, owner)
    if record is None:
        raise CliError(Msg("cli.task_deleted", task=task_id), 1)
    return record


def _report(record: TaskRecord) -> int:
    for image in record.images:
        if image.path:
            print(image.path)
        elif image.hidden_reason or image.error:
            say(Msg("cli.image_not_saved", index=image.index,
                    reason=image.hidden_reason or image.error_msg or image.error))
    if record.state != "succeeded":
        raise CliError(Msg("cli.task_failed", task=record.id,
                           reason=record.error_msg or record.error), 1)
    if not any(image.path for image in record.images):
        raise CliError(Msg("cli.no_image", task=record.id), 1)
    say(Msg("cli.saved", task=record.id, images=sum(1 for i in record.images if i.path),
            calls=record.billed_calls))
    return 0


def say(text: Any) -> None:
    """A line for the user on stderr, in the terminal's language (LC_ALL, LC_MESSAGES, LANG;
    stdout has only the saved paths)."""
    print(render(text, language_of_environment()), file=sys.stderr)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except CliError as exc:
        say(Msg("cli.error", reason=exc))
        return exc.code
    except ZhiqiteError as exc:  # invalid payload (names the field) or a refused call
        say(Msg("cli.error", reason=exc))
        return 2
    except (ValueError, TimeoutError) as exc:
        say(Msg("cli.error", reason=exc))
        return 1
    except KeyboardInterrupt:
        say(Msg("cli.interrupted"))
        return 130
