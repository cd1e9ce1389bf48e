"""python -m webui.offline --host 127.0.0.1 --port 8600 [--time-scale 0.1] [...]"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from webui.offline.app import create_app
from webui.offline.config import OfflineConfig


def _bounded(kind: type, lo: float, hi: float | None = None) -> Callable[[str], Any]:
    """An argparse type that names the allowed range instead of failing later."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value < lo or (hi is not None and value > hi):
            rule = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


PORT, RATE, SECONDS = _bounded(int, 0, 65535), _bounded(float, 0, 1), _bounded(float, 0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m webui.offline",
        description="The Zhiqite image API's 11 endpoints, served locally with synthetic "
                    "images (not a diffusion model).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=PORT, default=8600)
    p.add_argument("--time-scale", type=SECONDS, default=1.0,
                   help="multiply every simulated duration (0.01 = 100x faster)")
    p.add_argument("--step-seconds", type=SECONDS, default=0.25, help="seconds per sampling step")
    p.add_argument("--fail-rate", type=RATE, default=0.0, help="share of calls answered 5xx")
    p.add_argument("--throttle-rate", type=RATE, default=0.0,
                   help="share of calls answered 429 / 403 flow control")
    p.add_argument("--task-fail-rate", type=RATE, default=0.0,
                   help="share of tasks that end failed (status 0)")
    p.add_argument("--latency", type=SECONDS, default=0.0, help="seconds added to every answer")
    p.add_argument("--concurrency", type=_bounded(int, 1), default=4, help="tasks generating at once")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault dice")
    p.add_argument("--data-dir", type=Path, help="where result images are kept")
    p.add_argument("--allow-public-urls", action="store_true",
                   help="fetch image URLs and post callbacks beyond loopback")
    p.add_argument("--reach-only-itself", action="store_true",
                   help="play a service that cannot reach the app: fetch only this backend's "
                   "own result URLs, post no callbacks")
    auth = p.add_argument_group(
        "credentials to check, as the gateway does (secrets may also come from "
        "ZHIQITE_OFFLINE_APPCODE / _APP_SECRET / _ACCESS_KEY_SECRET)")
    auth.add_argument("--appcode")
    auth.add_argument("--app-key")
    auth.add_argument("--app-secret")
    auth.add_argument("--access-key-id")
    auth.add_argument("--access-key-secret")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> OfflineConfig:
    env = os.environ
    return OfflineConfig(
        time_scale=args.time_scale, step_seconds=args.step_seconds, fail_rate=args.fail_rate,
        throttle_rate=args.throttle_rate, task_fail_rate=args.task_fail_rate,
        latency=args.latency, concurrency=args.concurrency, random_seed=args.seed,
        data_dir=args.data_dir, allow_public_urls=args.allow_public_urls,
        reach_only_itself=args.reach_only_itself,
        appcode=args.appcode or env.get("ZHIQITE_OFFLINE_APPCODE"),
        app_key=args.app_key,
        app_secret=args.app_secret or env.get("ZHIQITE_OFFLINE_APP_SECRET"),
        access_key_id=args.access_key_id,
        access_key_secret=args.access_key_secret or env.get("ZHIQITE_OFFLINE_ACCESS_KEY_SECRET"),
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"Zhiqite offline backend on http://{args.host}:{args.port}"
          " (synthetic images, not a diffusion model)", flush=True)
    uvicorn.run(create_app(config_from(args)), host=args.host, port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
