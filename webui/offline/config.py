"""Knobs of the offline backend. Durations are simulated seconds multiplied by `time_scale`
(0.01 runs a 20-step task in a fraction of a second for tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# The vendor retries a callback at these intervals until answered {"code": "200"}, at most
# 10 times; the reference lists 7 steps, the last one repeats.
CALLBACK_SCHEDULE: tuple[float, ...] = (3, 5, 15, 30, 60, 600, 3600, 3600, 3600, 3600)


@dataclass
class OfflineConfig:
    time_scale: float = 1.0
    step_seconds: float = 0.25  # one sampling step
    queue_seconds: float = 0.5  # minimum time a task shows as queued
    upload_seconds: float = 0.5  # time a task shows as uploading (fetching its inputs)
    tool_seconds: float = 3.0  # time a tool task (roop, enhance) takes
    concurrency: int = 4  # tasks generating at once; the rest wait in the queue

    fail_rate: float = 0.0  # share of calls answered with a gateway 5xx
    throttle_rate: float = 0.0  # share of calls answered 429 / 403 flow control
    task_fail_rate: float = 0.0  # share of tasks that end in status 0
    latency: float = 0.0  # real seconds added before every answer
    random_seed: int = 0  # the fault dice are reproducible

    appcode: str | None = None  # when set, the gateway checks credentials like the real one
    app_key: str | None = None
    app_secret: str | None = None
    access_key_id: str | None = None
    access_key_secret: str | None = None

    # Image URLs are fetched and callbacks posted only to loopback hosts unless this is set:
    # a local demo must not become a way to reach arbitrary hosts.
    allow_public_urls: bool = False
    # Play a service that cannot reach the app (a laptop with no public address): fetch only
    # this backend's own URLs (its result images) and post no callback anywhere else.
    reach_only_itself: bool = False
    max_body_bytes: int = 1 << 20
    fetch_timeout: float = 10.0
    fetch_max_bytes: int = 20 << 20
    max_input_pixels: int = 4096 * 4096
    max_output_pixels: int = 4096 * 4096
    callback_schedule: tuple[float, ...] = CALLBACK_SCHEDULE
    callback_timeout: float = 10.0
    data_dir: Path | None = None  # where result images live; a temp dir when None

    def sim(self, seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return max(0.0, seconds * self.time_scale)

    @property
    def checks_auth(self) -> bool:
        return bool(self.appcode or self.app_key or self.access_key_id)


@dataclass
class Stats:
    """Counters behind GET /__offline/stats: the billed-call meter of the offline backend."""

    calls: dict[str, int] = field(default_factory=dict)  # every request received
    billed: dict[str, int] = field(default_factory=dict)  # passed the gateway: billed
    rejected: dict[str, int] = field(default_factory=dict)  # gateway refusals by reason
    tasks_started: int = 0
    duplicate_submits: int = 0  # same task id submitted again: answered, not started again
    tasks_succeeded: int = 0
    tasks_failed: int = 0
    callbacks_sent: int = 0
    callbacks_acknowledged: int = 0
    callbacks_abandoned: int = 0

    @staticmethod
    def bump(counter: dict[str, int], key: str) -> None:
        counter[key] = counter.get(key, 0) + 1
