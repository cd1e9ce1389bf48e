"""Per-visitor keys, preferences and rate limits; the engine follows a task with the key it was
sent with, never another, also after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.conftest import FAST_POLICY, Rig
from webui.api.client import ZhiqiteClient
from webui.api.errors import ConfigurationError
from webui.api.models import TaskState
from webui.core.engine import TaskEngine
from webui.core.limits import Limiter, Limits, Quota, RateLimited
from webui.core.visitors import Credentials, Preferences, Visitors
from webui.offline.config import OfflineConfig
from webui.offline.server import OfflineServer

GOOD = "visitor-appcode-0123456789abcdef"


@pytest.fixture
def guarded() -> Iterator[OfflineServer]:
    """An offline backend whose gateway accepts only the AppCode GOOD."""
    server = OfflineServer(OfflineConfig(time_scale=0.01, appcode=GOOD)).start()
    yield server
    server.stop()


def test_preferences_from_the_browser_are_checked() -> None:
    fallback = Preferences()
    prefs = Preferences.checked({"preview_interval": 0.2, "width": 1020, "steps": 30,
                                 "sampler": "Euler a", "show_adult": "yes",
                                 "output_format": "gif", "unknown": 1}, fallback)
    assert prefs.preview_interval == fallback.preview_interval  # 0.2 is below 0.5
    assert prefs.width == fallback.width and prefs.steps == 30 and prefs.sampler == "Euler a"
    assert prefs.show_adult is False
    assert prefs.output_format == fallback.output_format
    assert Preferences.checked("not a dict") == fallback
    assert Preferences.checked({"preview_interval": 0}).interval is None


def test_rate_limit_per_minute_and_at_once() -> None:
    now = [0.0]
    running: set[str] = set()
    limiter = Limiter(Limits(visitor=Quota(tasks_per_minute=2, concurrent_tasks=1)),
                      clock=lambda: now[0], is_running=running.__contains__)

    def admit(visitor: str, task: str, *, metered: bool = True) -> None:
        limiter.admit_task(visitor, "10.0.0.1", metered=metered).bind(task)
        running.add(task)

    admit("a", "t1")
    running.discard("t1")  # finished
    admit("a", "t2")
    running.discard("t2")
    with pytest.raises(RateLimited, match="at most 2 task"):
        admit("a", "t3")
    admit("b", "t4")  # per visitor
    now[0] = 61.0
    admit("a", "t5")
    with pytest.raises(RateLimited, match="at once"):
        admit("a", "t6")
    with pytest.raises(RateLimited, match="at once"):  # tasks at once hold for own keys too
        admit("a", "t7", metered=False)
    running.discard("t5")
    for n in range(5):  # their own key, their own bill: no rate
        admit("a", f"own{n}", metered=False)
        running.discard(f"own{n}")


def test_own_keys_build_a_client_and_never_show_the_secret() -> None:
    default = ZhiqiteClient(base_url="http://127.0.0.1:9")
    people = Visitors(default)
    client = people.set_credentials("v", Credentials(appcode=GOOD))
    assert client is not default and client.base_url == default.base_url
    assert people.client("v") is client and people.client("other") is default
    assert GOOD not in repr(Credentials(appcode=GOOD)) and GOOD not in repr(client)
    with pytest.raises(ConfigurationError, match="app_secret is missing") as missing:
        people.set_credentials("v", Credentials(app_key="half-a-key"))
    assert "half-a-key" not in str(missing.value)
    with pytest.raises(ConfigurationError, match="enter an AppCode"):
        people.set_credentials("v", Credentials())
    people.forget_credentials("v")
    assert people.client("v") is default
    closed = Visitors(default, allow_own_keys=False)
    with pytest.raises(ConfigurationError, match="own keys are off"):
        closed.set_credentials("v", Credentials(appcode=GOOD))


def test_a_task_goes_with_the_visitors_key(guarded: OfflineServer, tmp_path: Path) -> None:
    rig = Rig(guarded, tmp_path)  # the app's own client has no key: the gateway refuses it
    own = ZhiqiteClient(base_url=guarded.url, appcode=GOOD, backoff=0.001)
    record = rig.engine.submit(rig.request(), owner="o", client=own).wait(timeout=20)
    assert record.state == TaskState.SUCCEEDED and record.own_key
    refused = rig.engine.submit(rig.request(), owner="o").wait(timeout=20)
    assert refused.state == TaskState.FAILED  # the app's (missing) key is refused
    assert GOOD not in (refused.error or "")
    rig.close()


def test_after_a_restart_an_own_key_task_waits_for_its_owner(guarded: OfflineServer,
                                                              tmp_path: Path) -> None:
    guarded.config.time_scale = 0.2  # long enough to stop the engine mid-task
    rig = Rig(guarded, tmp_path)
    own = ZhiqiteClient(base_url=guarded.url, appcode=GOOD, backoff=0.001)
    handle = rig.engine.submit(rig.request(steps=40), owner="o", client=own)
    rig.engine.shutdown()
    rejected_before = sum(guarded.stats.rejected.values())
    # a new engine (the app restarted): it knows the task, not the key
    engine = TaskEngine(rig.client, rig.store, rig.writer, rig.keys, policy=FAST_POLICY)
    assert engine.resume() == 1
    with pytest.raises(TimeoutError):
        next(iter(_final(engine.events(handle.task_id, "o", timeout=1.0))))
    assert sum(guarded.stats.rejected.values()) == rejected_before  # never asked with no key
    events = list(engine.events(handle.task_id, "o", client=own, timeout=30))
    assert events[-1].state == TaskState.SUCCEEDED
    engine.shutdown()
    rig.close()


def _final(events: Iterator) -> Iterator:
    for event in events:
        if event.final:
            yield event
