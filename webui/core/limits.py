"""What one visitor, one network address and the whole deployment may spend of the operator's
key: tasks a minute, tasks at once, billed calls a day, list calls (Test connection) a minute,
and how many new visitors one address may start an hour.

The counts live in a `LimitBook`: this process's memory by default, where every record is
bounded in count and age (`BoundedMap`, so a flood of minted visitors or addresses costs a
fixed amount of memory) and a restart starts them again; with several replicas on PostgreSQL,
the database (`limits_sql.SqlLimitBook`), so that they hold for all of them together. The
store keeps each task's billed calls for the meter either way.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, Protocol, TypeVar

from webui.messages import Msg

K = TypeVar("K")
V = TypeVar("V")

MAX_RECORDS = 20_000  # per kind of record (visitors, addresses): the oldest go first


class Scope(enum.StrEnum):
    VISITOR = "visitor"
    ADDRESS = "address"
    DEPLOYMENT = "deployment"


class RateLimited(Exception):
    """Refused by a limit; the message (`.msg`, rendered in the visitor's language where it
    is shown; `str()` is the English) names the limit and when to try again."""

    def __init__(self, message: Msg | str, *, scope: Scope,
                 retry_after: float | None = None) -> None:
        super().__init__(str(message))
        self.scope, self.retry_after = scope, retry_after
        # a plain string (a caller not converted yet) is shown as it is
        self.msg: Msg | None = message if isinstance(message, Msg) else None


@dataclass(frozen=True)
class Quota:
    """One scope's limits; 0 = no limit."""

    tasks_per_minute: int = 0
    concurrent_tasks: int = 0
    calls_per_day: int = 0  # billed calls: submits, status queries (previews too), list calls
    list_calls_per_minute: int = 0  # Test connection and list refreshes

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


# Environment variables per scope and field; the per-visitor pair predates the others.
ENV_NAMES: dict[Scope, dict[str, str]] = {
    Scope.VISITOR: {"tasks_per_minute": "ZHIQITE_TASKS_PER_MINUTE",
                    "concurrent_tasks": "ZHIQITE_CONCURRENT_TASKS",
                    "calls_per_day": "ZHIQITE_CALLS_PER_DAY",
                    "list_calls_per_minute": "ZHIQITE_LIST_CALLS_PER_MINUTE"},
    Scope.ADDRESS: {"tasks_per_minute": "ZHIQITE_ADDRESS_TASKS_PER_MINUTE",
                    "concurrent_tasks": "ZHIQITE_ADDRESS_CONCURRENT_TASKS",
                    "calls_per_day": "ZHIQITE_ADDRESS_CALLS_PER_DAY",
                    "list_calls_per_minute": "ZHIQITE_ADDRESS_LIST_CALLS_PER_MINUTE"},
    Scope.DEPLOYMENT: {"tasks_per_minute": "ZHIQITE_TOTAL_TASKS_PER_MINUTE",
                       "concurrent_tasks": "ZHIQITE_TOTAL_CONCURRENT_TASKS",
                       "calls_per_day": "ZHIQITE_TOTAL_CALLS_PER_DAY",
                       "list_calls_per_minute": "ZHIQITE_TOTAL_LIST_CALLS_PER_MINUTE"},
}
NEW_VISITORS_ENV = "ZHIQITE_NEW_VISITORS_PER_HOUR"
OWN_KEYS_ENV = "ZHIQITE_OWN_KEYS_PER_ADDRESS"
NEW_SESSIONS_ENV = "ZHIQITE_NEW_SESSIONS_PER_HOUR"
UPLOAD_MB_ENV = "ZHIQITE_UPLOAD_MB_PER_HOUR"
PAGE_BUILDS_ENV = "ZHIQITE_PAGE_BUILDS_PER_TEN_MINUTES"


class Profile(enum.StrEnum):
    SHARED = "shared"  # a Space, a public address or --share: the defaults below
    LOCAL = "local"  # loopback only: the operator is the only visitor, nothing is limited
    OFF = "off"  # no limits at all, wherever it runs


@dataclass(frozen=True)
class Limits:
    visitor: Quota = Quota()
    address: Quota = Quota()
    deployment: Quota = Quota()
    new_visitors_per_hour: int = 0  # per address (0 = any number)
    own_keys_per_address: int = 0  # visitors holding their own key, per address (0 = any)
    # page sessions per address (each holds Gradio's state for the page: about 85 KB here;
    # a reload is a new session, so this is a few times the visitors)
    new_sessions_per_hour: int = 0
    upload_mb_per_hour: int = 0  # bytes sent to Gradio's upload route, per address
    # pages (with their config and API description) made for one address in ten minutes,
    # beyond those the page cache answers (a new Host, a query string)
    page_builds_per_ten_minutes: int = 0

    @classmethod
    def shared(cls) -> Limits:
        """A Space on its owner's key: a few tasks at a time per person, a day's budget
        that covers an afternoon of work (a task bills about 1-6 calls), and a ceiling for
        everybody together."""
        return cls(
            visitor=Quota(tasks_per_minute=6, concurrent_tasks=2, calls_per_day=300,
                          list_calls_per_minute=4),
            address=Quota(tasks_per_minute=12, concurrent_tasks=4, calls_per_day=600,
                          list_calls_per_minute=8),
            deployment=Quota(tasks_per_minute=60, concurrent_tasks=24, calls_per_day=5000,
                             list_calls_per_minute=60),
            new_visitors_per_hour=30, own_keys_per_address=4, new_sessions_per_hour=120,
            upload_mb_per_hour=1024, page_builds_per_ten_minutes=60)

    def of(self, scope: Scope) -> Quota:
        return {Scope.VISITOR: self.visitor, Scope.ADDRESS: self.address,
                Scope.DEPLOYMENT: self.deployment}[scope]

    @property
    def any(self) -> bool:
        return self.visitor.any or self.address.any or self.deployment.any

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, shared: bool) -> Limits:
        """`ZHIQITE_LIMITS` = shared | local | off picks the base (by default shared when
        the app is reachable by others); each `ZHIQITE_*` number above overrides its field
        (0 = no limit)."""
        name = (env.get("ZHIQITE_LIMITS") or "").strip().lower()
        if name and name not in tuple(Profile):
            raise ValueError(f"ZHIQITE_LIMITS must be one of {', '.join(Profile)}, got {name!r}")
        profile = Profile(name) if name else Profile.SHARED if shared else Profile.LOCAL
        if profile == Profile.OFF:
            return cls()
        base = cls.shared() if profile == Profile.SHARED else cls()
        quotas = {scope: replace(base.of(scope), **{
            attr: _number(env, var) for attr, var in names.items() if _given(env, var)})
            for scope, names in ENV_NAMES.items()}
        return cls(quotas[Scope.VISITOR], quotas[Scope.ADDRESS], quotas[Scope.DEPLOYMENT],
                   _number(env, NEW_VISITORS_ENV) if _given(env, NEW_VISITORS_ENV)
                   else base.new_visitors_per_hour,
                   _number(env, OWN_KEYS_ENV) if _given(env, OWN_KEYS_ENV)
                   else base.own_keys_per_address,
                   _number(env, NEW_SESSIONS_ENV) if _given(env, NEW_SESSIONS_ENV)
                   else base.new_sessions_per_hour,
                   _number(env, UPLOAD_MB_ENV) if _given(env, UPLOAD_MB_ENV)
                   else base.upload_mb_per_hour,
                   _number(env, PAGE_BUILDS_ENV) if _given(env, PAGE_BUILDS_ENV)
                   else base.page_builds_per_ten_minutes)


def _given(env: Mapping[str, str], var: str) -> bool:
    return bool(str(env.get(var, "") or "").strip())


def _number(env: Mapping[str, str], var: str) -> int:
    text = str(env.get(var, "") or "").strip()
    if not text.isdigit():
        raise ValueError(f"{var} must be a whole number (0 = no limit), got {text!r}")
    return int(text)


# --- bounded records -----------------------------------------------------------------------


class BoundedMap(Generic[K, V]):
    """A dict that keeps at most `size` entries, none older than `max_age` seconds since it
    was last touched; the least recently touched go first. Not thread-safe on its own."""

    def __init__(self, size: int, max_age: float, clock: Callable[[], float]) -> None:
        self.size, self.max_age, self.clock = size, max_age, clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, make: Callable[[], V] | None = None) -> V | None:
        now = self.clock()
        self._expire(now)
        entry = self._items.pop(key, None)
        if entry is None:
            if make is None:
                return None
            entry = (now, make())
        self._items[key] = (now, entry[1])
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return entry[1]

    def peek(self, key: K) -> V | None:
        entry = self._items.get(key)
        if entry is None or self.clock() - entry[0] > self.max_age:
            return None
        return entry[1]

    def pop(self, key: K) -> V | None:
        entry = self._items.pop(key, None)
        return entry[1] if entry else None

    def _expire(self, now: float) -> None:
        while self._items:
            key, (touched, _) = next(iter(self._items.items()))
            if now - touched <= self.max_age:
                return
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> Iterator[V]:
        return (value for _, value in list(self._items.values()))


class Window:
    """Events in the last `period` seconds, counted in `slots` buckets (memory is fixed:
    a burst of a million costs as much as one)."""

    def __init__(self, period: float, slots: int = 12) -> None:
        self.period, self.slot = period, period / slots
        self._counts: dict[int, int] = {}

    def _live(self, now: float) -> dict[int, int]:
        current = int(now // self.slot)
        oldest = current - int(round(self.period / self.slot)) + 1
        for index in [i for i in self._counts if i < oldest]:
            del self._counts[index]
        return self._counts

    def count(self, now: float) -> int:
        return sum(self._live(now).values())

    def add(self, when: float, amount: int = 1) -> None:
        """Count `amount` at `when` (a negative amount takes back an earlier count while its
        bucket is still in the window)."""
        index = int(when // self.slot)
        counts = self._live(when)
        if amount < 0 and index not in counts:
            return
        counts[index] = max(0, counts.get(index, 0) + amount)

    def retry_after(self, now: float) -> float:
        """Seconds until the oldest bucket leaves the window."""
        counts = self._live(now)
        if not counts:
            return 0.0
        return max(0.0, (min(counts) + 1) * self.slot + self.period - self.slot - now)


@dataclass
class _Seen:
    since: float
    keys: set[str] = field(default_factory=set)


class DistinctPerHour:
    """Distinct keys (visitor ids, page sessions) per address and hour, at most `limit`
    (0 = any number); the same key again is free. Thread-safe; memory bounded."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic,
                 max_records: int = MAX_RECORDS) -> None:
        self.limit, self.clock = limit, clock
        self._lock = threading.Lock()
        self._seen: BoundedMap[str, _Seen] = BoundedMap(max_records, 3600.0, clock)

    def admit(self, address: str, key: str) -> bool:
        if not self.limit:
            return True
        now = self.clock()
        with self._lock:
            seen = self._seen.get(address, lambda: _Seen(now))
            assert seen is not None
            if now - seen.since >= 3600:
                seen.since, seen.keys = now, set()
            if key in seen.keys:
                return True
            if len(seen.keys) >= self.limit:
                return False
            seen.keys.add(key)
            return True


class Counter(enum.Enum):
    """What a window counts: its period and how many buckets it is counted in."""

    TASKS = ("tasks", 60.0, 12)
    CALLS = ("calls", 86_400.0, 24)  # billed calls
    LISTS = ("lists", 60.0, 12)  # Test connection and list refreshes

    def __init__(self, label: str, period: float, slots: int) -> None:
        self.label, self.period, self.slots = label, period, slots

    @property
    def slot(self) -> float:
        return self.period / self.slots


@dataclass
class _Record:
    """One visitor's, one address's or the deployment's counters."""

    windows: dict[Counter, Window] = field(default_factory=lambda: {
        counter: Window(counter.period, slots=counter.slots) for counter in Counter})
    running: set[Ticket] = field(default_factory=set)


@dataclass(eq=False)
class Ticket:
    """An admitted task (or a reservation for one being sent): counted as running until the
    task is final. Billed calls of the task are charged through `charge`."""

    limiter: Limiter
    keys: tuple[tuple[Scope, str], ...]
    metered: bool  # on the operator's key: counted against the call budgets
    admitted_at: float = 0.0
    task_id: str | None = None
    released: bool = False
    id: str = field(default_factory=lambda: secrets.token_hex(12))

    @property
    def counted(self) -> bool:
        """False: no limit on tasks or calls, nothing to count or write (a local demo)."""
        return self.limiter.limits.any

    @property
    def visitor(self) -> str:
        return dict(self.keys)[Scope.VISITOR]

    @property
    def address(self) -> str:
        return dict(self.keys)[Scope.ADDRESS]

    def bind(self, task_id: str) -> None:
        self.task_id = task_id
        if self.counted:
            self.limiter.book.bind(self, task_id)

    def release(self) -> None:
        """Not sent after all (refused, or the upload failed): its place is free again, and
        a ticket that never became a task does not count against tasks a minute."""
        self.limiter._release(self)

    def charge(self, calls: int = 1) -> None:
        if self.metered and self.counted:
            self.limiter._charge(self.keys, calls)


class LimitView(Protocol):
    """The counts inside one of the book's sessions (`LimitBook.session`)."""

    def count(self, scope: Scope, key: str, counter: Counter, now: float) -> int: ...
    def retry_after(self, scope: Scope, key: str, counter: Counter, now: float) -> float: ...
    def add(self, scope: Scope, key: str, counter: Counter, when: float,
            amount: int = 1) -> None: ...
    def running(self, scope: Scope, key: str, now: float) -> int: ...
    def hold(self, ticket: Ticket) -> None: ...
    def release(self, ticket: Ticket) -> bool: ...


class LimitBook(Protocol):
    """Where the limiter's counts live: this process's memory (`MemoryBook`), or the database
    every replica shares (`limits_sql.SqlLimitBook`). A session is atomic: what it reads
    still holds when it adds."""

    def session(self) -> AbstractContextManager[LimitView]: ...
    def reading(self) -> AbstractContextManager[LimitView]: ...
    def bind(self, ticket: Ticket, task_id: str) -> None: ...
    def admit_visitor(self, address: str, visitor: str, limit: int, now: float) -> bool: ...
    def sizes(self) -> dict[str, int]: ...


class MemoryBook:
    """The counts in this process's memory (one replica, or limits per replica): bounded in
    count and age (`BoundedMap`); a restart starts them again. A ticket runs until it is
    released or `is_running(its task)` says its task is no longer followed."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 is_running: Callable[[str], bool] | None = None,
                 max_records: int = MAX_RECORDS) -> None:
        self.is_running = is_running or (lambda task_id: False)
        self._lock = threading.Lock()
        self._new_visitors: DistinctPerHour | None = None  # made with the limit, at first use
        self._clock, self._max_records = clock, max_records
        self._records: dict[Scope, BoundedMap[str, _Record]] = {
            Scope.VISITOR: BoundedMap(max_records, 86_400.0, clock),
            Scope.ADDRESS: BoundedMap(max_records, 86_400.0, clock),
            Scope.DEPLOYMENT: BoundedMap(1, math.inf, clock),
        }

    @contextmanager
    def session(self) -> Iterator[MemoryBook]:
        with self._lock:
            yield self

    reading = session

    def _record(self, scope: Scope, key: str) -> _Record:
        record = self._records[scope].get(key, _Record)
        assert record is not None
        return record

    def count(self, scope: Scope, key: str, counter: Counter, now: float) -> int:
        return self._record(scope, key).windows[counter].count(now)

    def retry_after(self, scope: Scope, key: str, counter: Counter, now: float) -> float:
        return self._record(scope, key).windows[counter].retry_after(now)

    def add(self, scope: Scope, key: str, counter: Counter, when: float,
            amount: int = 1) -> None:
        self._record(scope, key).windows[counter].add(when, amount)

    def running(self, scope: Scope, key: str, now: float) -> int:
        record = self._record(scope, key)
        record.running = {t for t in record.running if not t.released and (
            t.task_id is None or self.is_running(t.task_id))}
        return len(record.running)

    def hold(self, ticket: Ticket) -> None:
        for scope, key in ticket.keys:
            self._record(scope, key).running.add(ticket)

    def release(self, ticket: Ticket) -> bool:
        return not ticket.released  # the ticket leaves the running sets at the next count

    def bind(self, ticket: Ticket, task_id: str) -> None:
        """Nothing to write: the ticket is in the running sets, `is_running` asks its task."""

    def admit_visitor(self, address: str, visitor: str, limit: int, now: float) -> bool:
        with self._lock:
            if self._new_visitors is None:
                self._new_visitors = DistinctPerHour(limit, clock=self._clock,
                                                     max_records=self._max_records)
        return self._new_visitors.admit(address, visitor)

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {str(scope): len(records) for scope, records in self._records.items()}


def _minutes(seconds: float) -> Msg:
    """A wait as the visitor reads it ("3 s", "2 min", "1 h"), rounded up."""
    if seconds >= 3600:
        return Msg("limits.wait.hours", count=math.ceil(seconds / 3600))
    if seconds >= 60:
        return Msg("limits.wait.minutes", count=math.ceil(seconds / 60))
    return Msg("limits.wait.seconds", count=math.ceil(max(seconds, 1)))


class Limiter:
    """The limits (`Limits`) applied to the counts in a `LimitBook`: by default this
    process's memory; with several replicas, the database they share (its clock is then the
    wall clock, the same on every replica)."""

    def __init__(self, limits: Limits | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 is_running: Callable[[str], bool] | None = None,
                 max_records: int = MAX_RECORDS, book: LimitBook | None = None) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        self.book: LimitBook = book or MemoryBook(clock=clock, is_running=is_running,
                                                  max_records=max_records)

    @staticmethod
    def _keys(visitor: str, address: str) -> tuple[tuple[Scope, str], ...]:
        return ((Scope.VISITOR, visitor), (Scope.ADDRESS, address), (Scope.DEPLOYMENT, ""))

    def _quotas(self, keys: tuple[tuple[Scope, str], ...]) -> list[tuple[Scope, str, Quota]]:
        return [(scope, key, self.limits.of(scope)) for scope, key in keys]

    # --- tasks ------------------------------------------------------------------------------

    def admit_task(self, visitor: str, address: str, *, metered: bool = True) -> Ticket:
        """Count one task, or raise RateLimited naming the first limit it meets. Tasks on a
        visitor's own key (`metered=False`) are their own bill: only the limits on tasks at
        once hold for them (the app's threads and memory are the operator's)."""
        keys = self._keys(visitor, address)
        now = self.clock()
        if not self.limits.any:  # a local demo: nothing counts (nor costs a write)
            return Ticket(self, keys, metered, now)
        with self.book.session() as book:
            for scope, key, quota in self._quotas(keys):
                if quota.concurrent_tasks and \
                        book.running(scope, key, now) >= quota.concurrent_tasks:
                    raise RateLimited(Msg("limits.at_once", limit=quota.concurrent_tasks,
                                          scope=_WHO[scope]), scope=scope)
                if not metered:
                    continue
                if quota.tasks_per_minute and \
                        book.count(scope, key, Counter.TASKS, now) >= quota.tasks_per_minute:
                    wait = book.retry_after(scope, key, Counter.TASKS, now)
                    raise RateLimited(Msg("limits.per_minute", limit=quota.tasks_per_minute,
                                          scope=_WHO[scope], wait=_minutes(wait)),
                                      scope=scope, retry_after=wait)
                _refuse_spent(book, scope, key, quota, now)
            ticket = Ticket(self, keys, metered, now)
            book.hold(ticket)
            if metered:
                for scope, key in keys:
                    book.add(scope, key, Counter.TASKS, now)
            return ticket

    def _release(self, ticket: Ticket) -> None:
        if not ticket.counted:
            ticket.released = True
            return
        with self.book.session() as book:
            if ticket.released or not book.release(ticket):
                return
            ticket.released = True
            if ticket.task_id is None and ticket.metered:
                for scope, key in ticket.keys:
                    book.add(scope, key, Counter.TASKS, ticket.admitted_at, -1)

    def _charge(self, keys: tuple[tuple[Scope, str], ...], calls: int) -> None:
        now = self.clock()
        with self.book.session() as book:
            for scope, key in keys:
                book.add(scope, key, Counter.CALLS, now, calls)

    def calls_left(self, visitor: str, address: str) -> int | None:
        """Billed calls still allowed today (the tightest scope), None when unlimited.
        Live previews stop at 0: watching must not spend what is not there."""
        quotas = [(scope, key, quota) for scope, key, quota
                  in self._quotas(self._keys(visitor, address)) if quota.calls_per_day]
        if not quotas:
            return None
        now = self.clock()
        with self.book.reading() as book:
            left = [quota.calls_per_day - book.count(scope, key, Counter.CALLS, now)
                    for scope, key, quota in quotas]
        return max(0, min(left))

    # --- list calls -------------------------------------------------------------------------

    def admit_list_call(self, visitor: str, address: str, *, metered: bool = True) -> None:
        """Test connection or a list refresh: rate-limited for everyone (the app makes the
        call), charged to the budgets on the operator's key."""
        if not self.limits.any:
            return
        keys = self._keys(visitor, address)
        now = self.clock()
        with self.book.session() as book:
            for scope, key, quota in self._quotas(keys):
                if quota.list_calls_per_minute and \
                        book.count(scope, key, Counter.LISTS, now) >= quota.list_calls_per_minute:
                    wait = book.retry_after(scope, key, Counter.LISTS, now)
                    raise RateLimited(Msg("limits.list_calls", limit=quota.list_calls_per_minute,
                                          scope=_WHO[scope], wait=_minutes(wait)),
                                      scope=scope, retry_after=wait)
                if metered:
                    _refuse_spent(book, scope, key, quota, now)
            for scope, key in keys:
                book.add(scope, key, Counter.LISTS, now)
                if metered:
                    book.add(scope, key, Counter.CALLS, now)

    # --- new visitors -----------------------------------------------------------------------

    def admit_visitor(self, address: str, visitor: str) -> bool:
        """A visitor id first seen from `address`: allowed while the address has started
        fewer than `new_visitors_per_hour` this hour (the same id again is free)."""
        if not self.limits.new_visitors_per_hour:
            return True
        return self.book.admit_visitor(address, visitor, self.limits.new_visitors_per_hour,
                                       self.clock())

    def sizes(self) -> dict[str, int]:
        """Records held, per scope (for the benchmark and tests)."""
        return self.book.sizes()


def _refuse_spent(book: LimitView, scope: Scope, key: str, quota: Quota, now: float) -> None:
    """RateLimited when the scope's day's budget of billed calls is spent."""
    if quota.calls_per_day and book.count(scope, key, Counter.CALLS, now) >= quota.calls_per_day:
        wait = book.retry_after(scope, key, Counter.CALLS, now)
        raise RateLimited(Msg("limits.day_budget", limit=quota.calls_per_day,
                              scope=_WHO[scope], wait=_minutes(wait)),
                          scope=scope, retry_after=wait)


# whose limit it is, a phrase of the refusals above
_WHO = {Scope.VISITOR: Msg("limits.scope.visitor"), Scope.ADDRESS: Msg("limits.scope.address"),
        Scope.DEPLOYMENT: Msg("limits.scope.deployment")}


# --- the client's address ----------------------------------------------------------------------


def client_address(peer: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """The address to count a request against. Behind `trusted_hops` proxies (a Space has
    one) the client is the entry that many places from the right of X-Forwarded-For: entries
    to the left of it are whatever the client wrote. IPv6 clients count per /64 (one
    subscriber's network), so rotating addresses within it buys nothing."""
    address = peer or ""
    if trusted_hops > 0 and forwarded_for:
        hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if hops:
            address = hops[-min(trusted_hops, len(hops))]
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


def request_address(request: Any, trusted_hops: int) -> str:
    """`client_address` of a Gradio or Starlette request (None: "unknown")."""
    if request is None:
        return "unknown"
    client = getattr(request, "client", None)
    peer = getattr(client, "host", None) if client is not None else None
    headers = getattr(request, "headers", None) or {}
    try:
        forwarded = headers.get("x-forwarded-for")
    except AttributeError:
        forwarded = None
    return client_address(peer if isinstance(peer, str) else None,
                          forwarded if isinstance(forwarded, str) else None, trusted_hops)
