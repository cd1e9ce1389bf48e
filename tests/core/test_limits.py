"""Limits on the operator's key (issue 17, point 5 and 9): per visitor, per address and for
the whole deployment; signed visitor ids; bounded records; login throttling."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.aio import run
from webui.api.client import ZhiqiteClient
from webui.api.errors import ConfigurationError
from webui.api.models import TaskState
from webui.core.http_guards import LoginThrottle
from webui.core.keys import Keys
from webui.core.limits import (
    BoundedMap,
    Limiter,
    Limits,
    MemoryBook,
    Quota,
    RateLimited,
    Scope,
    Window,
    client_address,
)
from webui.core.limits_sql import SqlLimitBook
from webui.core.store import SQLiteTaskStore, SqlTaskStore, TaskRecord
from webui.core.visitors import Credentials, Visitors

KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


MakeLimiter = Callable[..., Limiter]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeLimiter]:
    """Limiters counting in memory (one replica) or in a store's database (every replica):
    the same limits must hold in each."""
    stores: list[SqlTaskStore] = []
    if request.param == "sqlite":
        stores.append(SQLiteTaskStore.in_dir(tmp_path))
    elif request.param == "postgres":
        from webui.core.store_postgres import PostgresTaskStore

        stores.append(PostgresTaskStore(request.getfixturevalue("postgres_url")))

    def make(limits: Limits, *, clock: Callable[[], float] | None = None,
             is_running: Callable[[str], bool] | None = None) -> Limiter:
        clock = clock or Clock()
        if not stores:
            return Limiter(limits, clock=clock, is_running=is_running)
        return Limiter(limits, clock=clock, book=SqlLimitBook(stores[0], clock=clock))

    yield make
    for store in stores:
        store.close()


def test_visitor_ids_are_signed_and_forged_ones_refused() -> None:
    keys = Keys(KEY)
    token = keys.visitor_token("visitor-0123456789abcdef")
    assert keys.visitor_from_token(token) == "visitor-0123456789abcdef"
    forged = [
        "visitor-0123456789abcdef",  # a bare id, as earlier versions kept (and as minted)
        "visitor-0123456789abcdef.0000000000000000000000000000000",
        token[:-1] + ("0" if token[-1] != "0" else "1"),
        Keys(b"x" * 32).visitor_token("visitor-0123456789abcdef"),  # another app's key
        "a.b", "", None, 12, ["x"], "x" * 10_000, token + ".x",
    ]
    assert all(keys.visitor_from_token(value) is None for value in forged)


def test_sealed_values_open_only_for_their_visitor_and_app() -> None:
    keys = Keys(KEY)
    sealed = keys.seal("remembered-key", "visitor-a-0123456789", b'{"appcode": "SECRET"}')
    assert b"SECRET" not in sealed.encode() and "SECRET" not in sealed
    assert keys.unseal("remembered-key", "visitor-a-0123456789", sealed) == \
        b'{"appcode": "SECRET"}'
    assert keys.unseal("remembered-key", "visitor-b-0123456789", sealed) is None
    assert keys.unseal("other-purpose", "visitor-a-0123456789", sealed) is None
    assert Keys(b"x" * 32).unseal("remembered-key", "visitor-a-0123456789", sealed) is None
    for junk in ("", "z1.", "z1.!!!", "z1." + "A" * 40, None, 5, "x" * 30_000):
        assert keys.unseal("remembered-key", "visitor-a-0123456789", junk) is None


def test_fresh_visitor_ids_do_not_skip_the_address_and_deployment_limits(
        make_limiter: MakeLimiter) -> None:
    """The attack: a fresh visitor id per request made 10 tasks in 8 s past a per-visitor
    limit. Each scope counts on its own, so minting ids buys nothing."""
    clock = Clock()
    running: set[str] = set()
    limiter = make_limiter(Limits(visitor=Quota(tasks_per_minute=2),
                                  address=Quota(tasks_per_minute=3),
                                  deployment=Quota(tasks_per_minute=5)),
                           clock=clock, is_running=running.__contains__)
    for n in range(3):
        limiter.admit_task(f"minted-{n}", "203.0.113.9")
    with pytest.raises(RateLimited, match="from your network address") as refused:
        limiter.admit_task("minted-3", "203.0.113.9")
    assert refused.value.scope == Scope.ADDRESS and 0 < (refused.value.retry_after or 0) <= 60
    limiter.admit_task("other-1", "198.51.100.1")
    limiter.admit_task("other-2", "198.51.100.2")
    with pytest.raises(RateLimited, match="for everybody together"):
        limiter.admit_task("other-3", "198.51.100.3")
    clock.now += 61
    limiter.admit_task("minted-4", "203.0.113.9")


def test_tasks_at_once_are_admitted_atomically(make_limiter: MakeLimiter) -> None:
    """30 concurrent generates from one visitor: only the limit's worth is admitted, even
    while none of them has a task id yet (they are still being sent)."""
    limiter = make_limiter(Limits(visitor=Quota(concurrent_tasks=2)), is_running=lambda _: True)
    admitted, refused = [], 0
    for _ in range(30):
        try:
            admitted.append(limiter.admit_task("v", "a"))
        except RateLimited:
            refused += 1
    assert len(admitted) == 2 and refused == 28
    admitted[0].release()  # the submit failed: its place is free again
    limiter.admit_task("v", "a")


def test_billed_calls_count_against_the_days_budget_and_stop_previews(
        make_limiter: MakeLimiter) -> None:
    clock = Clock()
    limiter = make_limiter(Limits(visitor=Quota(calls_per_day=10),
                                  address=Quota(calls_per_day=15)), clock=clock)
    ticket = limiter.admit_task("v", "a")
    for _ in range(9):  # the submit and status queries of a watched task
        ticket.charge()
    assert limiter.calls_left("v", "a") == 1
    ticket.charge()
    assert limiter.calls_left("v", "a") == 0
    with pytest.raises(RateLimited, match="budget of 10 billed calls"):
        limiter.admit_task("v", "a")
    with pytest.raises(RateLimited, match="budget of 10 billed calls"):
        limiter.admit_list_call("v", "a")
    own = limiter.admit_task("v", "a", metered=False)  # their own key: their own bill
    own.charge()
    assert limiter.calls_left("v", "a") == 0
    assert limiter.calls_left("w", "a") == 5  # the address's budget is shared
    clock.now += 86_400
    assert limiter.calls_left("v", "a") == 10


def test_previews_stop_when_the_budget_is_spent() -> None:
    clock = Clock()
    limiter = Limiter(Limits(visitor=Quota(calls_per_day=3)), clock=clock)
    people = Visitors(ZhiqiteClient(base_url="http://127.0.0.1:9"), limiter=limiter,
                      clock=clock)
    people.seen("v", "a")
    assert people.preview_schedule("v") is not None
    ticket = limiter.admit_task("v", "a")
    for _ in range(3):
        ticket.charge()
    assert people.preview_schedule("v") is None  # watching no longer bills


def test_list_calls_are_limited(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(Limits(visitor=Quota(list_calls_per_minute=2)))
    limiter.admit_list_call("v", "a")
    limiter.admit_list_call("v", "a")
    with pytest.raises(RateLimited, match="list call"):
        limiter.admit_list_call("v", "a")


def test_new_visitors_per_address(make_limiter: MakeLimiter) -> None:
    clock = Clock()
    limiter = make_limiter(Limits(new_visitors_per_hour=3), clock=clock)
    assert all(limiter.admit_visitor("a", f"v{n}") for n in range(3))
    assert limiter.admit_visitor("a", "v1")  # the same one again
    assert not limiter.admit_visitor("a", "v3")
    assert limiter.admit_visitor("b", "v3")
    clock.now += 3601
    assert limiter.admit_visitor("a", "v3")


def test_limits_from_the_environment() -> None:
    assert not Limits.from_env({}, shared=False).any
    shared = Limits.from_env({}, shared=True)
    assert shared == Limits.shared() and shared.visitor.concurrent_tasks > 0
    assert shared.deployment.calls_per_day > 0 and shared.new_visitors_per_hour > 0
    custom = Limits.from_env({"ZHIQITE_TASKS_PER_MINUTE": "3", "ZHIQITE_TOTAL_CALLS_PER_DAY": "0",
                              "ZHIQITE_ADDRESS_CONCURRENT_TASKS": "9"}, shared=True)
    assert custom.visitor.tasks_per_minute == 3 and custom.deployment.calls_per_day == 0
    assert custom.address.concurrent_tasks == 9
    assert Limits.from_env({"ZHIQITE_LIMITS": "off"}, shared=True) == Limits()
    assert Limits.from_env({"ZHIQITE_LIMITS": "shared"}, shared=False) == Limits.shared()
    for bad in ({"ZHIQITE_LIMITS": "some"}, {"ZHIQITE_CALLS_PER_DAY": "-1"},
                {"ZHIQITE_TASKS_PER_MINUTE": "lots"}):
        with pytest.raises(ValueError, match="ZHIQITE_"):
            Limits.from_env(bad, shared=True)


def test_client_address_behind_a_proxy() -> None:
    # no proxy trusted: the peer, whatever the header says
    assert client_address("203.0.113.5", "1.2.3.4", 0) == "203.0.113.5"
    # one proxy (a Space): its entry, the rightmost; what the client wrote before is ignored
    assert client_address("10.0.0.2", "1.2.3.4, 203.0.113.5", 1) == "203.0.113.5"
    assert client_address("10.0.0.2", None, 1) == "10.0.0.2"
    # IPv6 per /64; IPv4-mapped as IPv4
    assert client_address("2001:db8:1:2:aaaa::1", None, 0) == \
        client_address("2001:db8:1:2:bbbb::9", None, 0) == "2001:db8:1:2::/64"
    assert client_address("::ffff:198.51.100.7", None, 0) == "198.51.100.7"
    assert client_address(None, None, 0) == "unknown"
    assert len(client_address("x" * 500, None, 0)) <= 64


def test_records_are_bounded() -> None:
    clock = Clock()
    bounded: BoundedMap[str, int] = BoundedMap(100, 60.0, clock)
    for n in range(10_000):
        bounded.get(str(n), lambda n=n: n)
    assert len(bounded) == 100 and bounded.peek("9999") == 9999 and bounded.peek("0") is None
    clock.now += 61
    bounded.get("new", lambda: 1)
    assert len(bounded) == 1
    window = Window(60.0)
    for n in range(100_000):
        window.add(clock.now + n * 0.001)
    assert len(window._counts) <= 12
    limiter = Limiter(Limits(visitor=Quota(tasks_per_minute=1000)), max_records=50)
    for n in range(2000):
        limiter.admit_task(f"v{n}", f"10.0.{n // 250}.{n % 250}").release()
    assert limiter.sizes()["visitor"] <= 50 and limiter.sizes()["address"] <= 50


def test_junk_keys_do_not_evict_a_live_visitors_key() -> None:
    """The attack: 2000 junk keys dropped a real visitor's key (and grew the app to 2.4 GB)."""
    clock = Clock()
    people = Visitors(ZhiqiteClient(base_url="http://127.0.0.1:9"),
                      limiter=Limiter(Limits(own_keys_per_address=3), clock=clock),
                      clock=clock, max_visitors=500, max_own_keys=50)
    people.seen("real-visitor-000000", "198.51.100.1")
    real = people.set_credentials("real-visitor-000000", Credentials(appcode="REAL" * 8))
    refused = 0
    for n in range(2000):
        visitor = f"junk-visitor-{n:06d}"
        people.seen(visitor, f"10.{n // 60000}.{(n // 250) % 240}.{n % 250}")
        try:
            people.set_credentials(visitor, Credentials(appcode=f"JUNK{n:028d}"))
        except ConfigurationError as exc:
            assert "try again later" in str(exc)
            refused += 1
        clock.now += 1
    assert people.client("real-visitor-000000") is real  # seen a while ago, still held
    held = people.count()
    assert held["own_keys"] <= 50 and held["visitors"] <= 500 and refused >= 1950
    clock.now += 10 * 3600  # everything idle now: the longest unused key makes room
    people.seen("late-visitor-00000", "192.0.2.50")
    people.set_credentials("late-visitor-00000", Credentials(appcode="L" * 32))
    assert people.count()["own_keys"] <= 50


def test_own_keys_per_address() -> None:
    people = Visitors(ZhiqiteClient(base_url="http://127.0.0.1:9"),
                      limiter=Limiter(Limits(own_keys_per_address=2)))
    for n in range(2):
        people.seen(f"visitor-{n:014d}", "192.0.2.1")
        people.set_credentials(f"visitor-{n:014d}", Credentials(appcode="A" * 32))
    people.seen("visitor-00000000000009", "192.0.2.1")
    with pytest.raises(ConfigurationError, match="at most 2 own keys"):
        people.set_credentials("visitor-00000000000009", Credentials(appcode="B" * 32))
    people.set_credentials("visitor-00000000000000", Credentials(appcode="C" * 32))  # a change


# --- login throttling --------------------------------------------------------------------------


def _login(app: Any, address: str, forwarded: str | None = None) -> tuple[int, dict[str, str]]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "method": "POST", "path": "/login", "client": (address, 5000),
             "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run(app(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start.get("headers", [])}


def test_login_is_throttled_per_address() -> None:
    calls: list[str] = []

    async def wrong_password(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    clock = Clock()
    app = LoginThrottle(wrong_password, clock=clock)
    statuses = [_login(app, "203.0.113.7")[0] for _ in range(31)]  # the attack: 31 in 0.6 s
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
    assert len(calls) == 5
    status, headers = _login(app, "203.0.113.7")
    assert status == 429 and 0 < int(headers["retry-after"]) <= 300
    assert _login(app, "198.51.100.8")[0] == 400  # another address is not locked out
    clock.now += 301
    assert _login(app, "203.0.113.7")[0] == 400
    # a forged X-Forwarded-For does not make a new address when no proxy is trusted
    for n in range(10):
        _login(app, "192.0.2.9", forwarded=f"10.9.9.{n}")
    assert _login(app, "192.0.2.9", forwarded="10.9.9.99")[0] == 429


def test_every_billed_call_of_a_watched_task_is_charged(rig: Any) -> None:
    """Watching is billed per status query: each one reaches the budgets, and the engine
    lets go of a finished task (the limiter no longer counts it as running)."""
    limiter = Limiter(Limits(visitor=Quota(concurrent_tasks=1, calls_per_day=1000)),
                      is_running=rig.engine.is_following)
    ticket = limiter.admit_task("v", "a")
    handle = rig.engine.submit(rig.request(steps=30), owner="owner-a", charge=ticket.charge)
    ticket.bind(handle.task_id)
    with pytest.raises(RateLimited, match="at once"):
        limiter.admit_task("v", "a")
    events = list(handle.events(preview_interval=0.005))  # a watcher asking often
    assert events[-1].final
    record = handle.record()
    assert record.billed_calls >= 3
    assert limiter.calls_left("v", "a") == 1000 - record.billed_calls
    assert not rig.engine.is_following(handle.task_id) and handle.task_id not in rig.engine._live
    limiter.admit_task("v", "a")  # its place is free


def test_failing_on_purpose_cannot_lock_the_owner_out() -> None:
    """Wrong passwords from many addresses lock those addresses, not everybody."""

    async def check(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = LoginThrottle(check, clock=Clock())
    for n in range(200):
        _login(app, f"10.0.{n // 10}.{n % 10}")
    assert _login(app, "198.51.100.200")[0] == 400  # the owner's address: still asked


# --- several replicas: the counts in the shared database (issue 23) ----------------------------


@pytest.fixture
def two_replicas(postgres_url: str) -> Iterator[tuple[SqlTaskStore, SqlTaskStore]]:
    from webui.core.store_postgres import PostgresTaskStore

    stores = (PostgresTaskStore(postgres_url), PostgresTaskStore(postgres_url))
    yield stores
    for store in stores:
        store.close()


def _task(store: SqlTaskStore, task_id: str, state: TaskState, lease: float = 600) -> None:
    """A task's row as a replica following it makes it (`lease`: its hold, seconds)."""
    store.create(TaskRecord(id=task_id, kind="text2image", owner="o", request={}),
                 holder="replica", lease=lease)
    store.update(task_id, state=state)


def test_the_limits_hold_for_the_replicas_together(
        two_replicas: tuple[SqlTaskStore, SqlTaskStore]) -> None:
    """A visitor whose requests reach replica A and replica B by turns gets one set of
    limits, not one per replica."""
    clock = Clock()
    limits = Limits(visitor=Quota(tasks_per_minute=3, concurrent_tasks=2, calls_per_day=5),
                    new_visitors_per_hour=2)
    a, b = (Limiter(limits, clock=clock, book=SqlLimitBook(store, clock=clock))
            for store in two_replicas)
    first, second = a.admit_task("v", "addr"), b.admit_task("v", "addr")
    with pytest.raises(RateLimited, match="at once"):
        a.admit_task("v", "addr")  # two places, taken one on each replica
    _task(two_replicas[0], "t-1", TaskState.GENERATING)
    first.bind("t-1")
    _task(two_replicas[1], "t-2", TaskState.GENERATING)
    second.bind("t-2")
    two_replicas[1].update("t-2", state=TaskState.SUCCEEDED)  # finished: its place is free
    third = a.admit_task("v", "addr")
    third.release()  # not sent after all: neither a place nor one of the minute's tasks
    b.admit_task("v", "addr").release()
    assert b.admit_task("v", "addr")  # the third task of the minute (t-1, t-2 and this)
    two_replicas[0].update("t-1", state=TaskState.FAILED)
    with pytest.raises(RateLimited, match="a minute"):
        a.admit_task("v", "addr")
    for _ in range(3):
        first.charge()  # billed calls of a task followed by A
    assert b.calls_left("v", "addr") == 2
    second.charge(2)
    assert a.calls_left("v", "addr") == 0
    clock.now += 61
    with pytest.raises(RateLimited, match="budget of 5 billed calls"):
        b.admit_task("v", "addr")
    assert a.admit_visitor("addr", "v1") and b.admit_visitor("addr", "v2")
    assert not a.admit_visitor("addr", "v3") and b.admit_visitor("addr", "v1")


def test_tasks_at_once_are_admitted_atomically_across_replicas(
        two_replicas: tuple[SqlTaskStore, SqlTaskStore]) -> None:
    """Four threads on two replicas race for three places: three are given."""
    limiters = [Limiter(Limits(visitor=Quota(concurrent_tasks=3)), clock=time.time,
                        book=SqlLimitBook(store)) for store in two_replicas]
    admitted: list[Any] = []
    start = threading.Barrier(4)

    def race(limiter: Limiter) -> None:
        start.wait()
        for _ in range(10):
            with contextlib.suppress(RateLimited):
                admitted.append(limiter.admit_task("v", "addr"))

    threads = [threading.Thread(target=race, args=(limiters[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 3


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_place_held_by_a_replica_that_died_while_sending_is_free_later(
        database: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from webui.core.limits_sql import RESERVATION_SECONDS

    if database == "sqlite":
        store: SqlTaskStore = SQLiteTaskStore.in_dir(tmp_path)
    else:
        from webui.core.store_postgres import PostgresTaskStore

        store = PostgresTaskStore(request.getfixturevalue("postgres_url"))
    try:
        clock = Clock()
        limiter = Limiter(Limits(visitor=Quota(concurrent_tasks=2)), clock=clock,
                          book=SqlLimitBook(store, clock=clock))
        limiter.admit_task("v", "a")  # a send that never ended (its replica was killed)
        followed = limiter.admit_task("v", "a")
        _task(store, "t-long", TaskState.QUEUED)
        followed.bind("t-long")
        clock.now += RESERVATION_SECONDS + 1
        limiter.admit_task("v", "a")  # the dead send's place, free again
        with pytest.raises(RateLimited, match="at once"):
            limiter.admit_task("v", "a")  # the task still queued keeps its place
        # a task nobody follows any more (it failed inside the app and is kept open for a
        # restart, or its replica died): its lease ends, its place is free
        store.update("t-long", state=TaskState.GENERATING)
        store.release("t-long", "replica")
        limiter.admit_task("v", "a")
    finally:
        store.close()


def test_the_databases_counts_are_pruned(tmp_path: Path) -> None:
    """Counts out of their windows, tickets of finished tasks and old visitors are deleted
    as the book is used: 2,000 minted visitors a day leave a day's rows, not more."""
    from webui.core.limits_sql import PRUNE_EVERY

    store = SQLiteTaskStore.in_dir(tmp_path)
    clock = Clock()
    limiter = Limiter(Limits(visitor=Quota(tasks_per_minute=1000), new_visitors_per_hour=5000),
                      clock=clock, book=SqlLimitBook(store, clock=clock))
    for n in range(2000):
        limiter.admit_task(f"v{n}", f"10.0.{n // 250}.{n % 250}").release()
        limiter.admit_visitor("10.0.0.1", f"v{n}")
    clock.now += 86_401
    for _ in range(PRUNE_EVERY + 1):
        limiter.admit_task("late", "10.9.9.9").release()
    tables = {name: store._read(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
              for name in ("rate_counts", "rate_tickets", "rate_seen")}
    assert tables["rate_counts"] <= 3 and tables["rate_seen"] == 0, tables
    assert tables["rate_tickets"] <= PRUNE_EVERY, tables
    assert limiter.sizes()["visitor"] == 1


def test_the_runtime_counts_in_the_database_when_replicas_share_it(
        postgres_url: str, tmp_path: Path) -> None:
    from webui.core.runtime import Runtime, Settings

    shared = Runtime(Settings(data_dir=tmp_path / "a", database_url=postgres_url),
                     ZhiqiteClient(base_url="http://127.0.0.1:9"))
    alone = Runtime(Settings(data_dir=tmp_path / "b"), ZhiqiteClient(base_url="http://127.0.0.1:9"))
    try:
        assert isinstance(shared.limiter(Limits.shared()).book, SqlLimitBook)
        assert isinstance(alone.limiter(Limits.shared()).book, MemoryBook)
    finally:
        shared.close()
        alone.close()
