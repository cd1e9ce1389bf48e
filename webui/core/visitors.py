"""What the app keeps per visitor (a browser's id), in memory only, bounded in count and age:

- the API key a visitor brought (bring-your-own-key mode): a client built from it and its
  model lists, never written to disk, the store, a log or an error message; the browser keeps
  it only when the visitor ticks "remember on this device", sealed by the server
  (`Keys.seal`);
- the visitor's preferences (also kept in their browser, so they come back on every load);
- the network address they were last seen from (limits count per address too:
  `core/limits.py`), and whether their page is shown.

A flood of junk keys cannot push out a live visitor's key: one address holds only a few own
keys, and when the app holds its maximum, only keys unused for a while make room.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from webui.api import models as m
from webui.api.client import ZhiqiteClient
from webui.api.errors import ConfigurationError
from webui.core.catalog import Catalog
from webui.core.engine import SPACED, PreviewSchedule
from webui.core.limits import BoundedMap, Limiter
from webui.messages import Msg

MAX_VISITORS = 20_000  # visitor records kept; the least recently seen go first
VISITOR_MAX_AGE = 7 * 86_400.0  # a record nobody used for a week goes (prefs are in the browser)
MAX_OWN_KEYS = 500  # own keys held at once (each a client)
MAX_OWN_CATALOGS = 32  # own keys' model lists kept
KEY_IDLE = 3600.0  # a key unused this long may make room for a new one
CREDENTIAL_FIELDS = ("appcode", "app_key", "app_secret", "access_key_id", "access_key_secret")


@dataclass(frozen=True)
class Credentials:
    appcode: str = ""
    app_key: str = ""
    app_secret: str = ""
    access_key_id: str = ""
    access_key_secret: str = ""

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Credentials:
        return cls(**{name: str(values.get(name) or "").strip() for name in CREDENTIAL_FIELDS})

    @property
    def empty(self) -> bool:
        return not any(asdict(self).values())

    def __repr__(self) -> str:  # never print a secret
        given = [name for name, value in asdict(self).items() if value]
        return f"Credentials(given={given})"


class PreviewMode(enum.StrEnum):
    SPACED = "spaced"  # 2 s, 4 s, 8 s ... 16 s: watching costs little (the default)
    STEADY = "steady"  # every preview_interval seconds, while the visitor's page is shown
    OFF = "off"


@dataclass(frozen=True)
class Preferences:
    """Per browser; every value is checked when read back (it comes from the browser)."""

    preview_interval: float = 1.5  # the steady pace; 0 = off (as saved by earlier versions)
    preview_mode: PreviewMode = PreviewMode.SPACED
    show_adult: bool = False
    sampler: str = "DPM++ 2M Karras"
    width: int = 512
    height: int = 512
    steps: int = 20
    cfg_scale: float = 7.0
    output_format: str = "png"  # what the service makes: png (lossless) or jpg (smaller)
    controlnet_units: int = 3
    # Ask before sending more than this many images or (estimated) billed calls at once
    confirm_images: int = 16
    confirm_calls: int = 16
    notify_done: bool = False  # a sound and a browser notification when a Generate finishes

    @classmethod
    def checked(cls, values: Any, fallback: Preferences | None = None) -> Preferences:
        """Known keys with valid values; anything else falls back."""
        base = fallback or cls()
        if not isinstance(values, dict):
            return base
        if "preview_mode" not in values and "preview_interval" in values:
            # saved before the modes existed: 0 was off, any other value the old default
            values = {**values, "preview_mode": PreviewMode.OFF if values["preview_interval"] == 0
                      else PreviewMode.SPACED}
        out: dict[str, Any] = {}
        for f in fields(cls):
            value, default = values.get(f.name, getattr(base, f.name)), getattr(base, f.name)
            out[f.name] = value if _valid(f.name, value) else default
        out["preview_mode"] = PreviewMode(out["preview_mode"])
        return cls(**out)

    @property
    def interval(self) -> float | None:
        """The steady pace's seconds, when that is the mode."""
        return self.preview_interval or None if self.preview_mode == PreviewMode.STEADY else None

    def schedule(self, page_visible: bool = True) -> PreviewSchedule | None:
        """Live previews for this visitor: spaced out, or steady while their page is shown
        (spaced again while it is hidden: nobody looks), or none."""
        if self.preview_mode == PreviewMode.OFF:
            return None
        if self.preview_mode == PreviewMode.STEADY and page_visible and self.preview_interval:
            return PreviewSchedule.steady(self.preview_interval)
        return SPACED


def _valid(name: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    rules: dict[str, Callable[[], bool]] = {
        "preview_interval": lambda: number and (value == 0 or 0.5 <= value <= 5),
        "preview_mode": lambda: value in tuple(PreviewMode),
        "show_adult": lambda: isinstance(value, bool),
        "sampler": lambda: value in m.SAMPLERS,
        "width": lambda: number and value % 8 == 0 and 64 <= value <= 1024,
        "height": lambda: number and value % 8 == 0 and 64 <= value <= 1024,
        "steps": lambda: number and value == int(value) and 1 <= value <= 150,
        "cfg_scale": lambda: number and 1 <= value <= 30,
        "output_format": lambda: value in m.OUTPUT_FORMATS,
        "controlnet_units": lambda: number and value == int(value) and 1 <= value <= 3,
        "confirm_images": lambda: number and value == int(value) and 0 <= value <= 100_000,
        "confirm_calls": lambda: number and value == int(value) and 0 <= value <= 100_000,
        "notify_done": lambda: isinstance(value, bool),
    }
    return rules[name]()


def refused(msg: Msg) -> ConfigurationError:
    """A ConfigurationError whose text is `msg`: the English as its message (logs, the CLI),
    and `.msg` for the page to render in the visitor's language."""
    return ConfigurationError(str(msg), msg)


@dataclass
class Visitor:
    """One browser, as this process knows it."""

    id: str
    address: str = "unknown"
    prefs: Preferences | None = None
    page_hidden: bool = False
    client: ZhiqiteClient | None = None  # their own key
    key_used: float = 0.0  # when their key last did anything


class Visitors:
    def __init__(self, default_client: ZhiqiteClient, *, allow_own_keys: bool = True,
                 limiter: Limiter | None = None, defaults: Preferences | None = None,
                 clock: Callable[[], float] = time.monotonic, max_visitors: int = MAX_VISITORS,
                 max_own_keys: int = MAX_OWN_KEYS) -> None:
        self.default_client = default_client
        self.allow_own_keys = allow_own_keys
        self.limiter = limiter or Limiter(clock=clock)
        self.defaults = defaults or Preferences()
        self.clock = clock
        self.max_own_keys = max_own_keys
        self._lock = threading.Lock()
        self._visitors: BoundedMap[str, Visitor] = BoundedMap(max_visitors, VISITOR_MAX_AGE,
                                                              clock)
        self._keyed: dict[str, Visitor] = {}  # visitors holding an own key (bounded above)
        # the model lists of own keys: the most recently used few (fetched again when needed)
        self._catalogs: BoundedMap[int, tuple[ZhiqiteClient, Catalog]] = BoundedMap(
            MAX_OWN_CATALOGS, 3600.0, clock)

    def _get(self, visitor: str | None) -> Visitor | None:
        with self._lock:
            return self._keyed.get(visitor or "") or self._visitors.peek(visitor or "")

    def _touch(self, visitor: str) -> Visitor:
        """The visitor's record (made on first sight); caller holds the lock. A visitor
        holding a key is kept in `_keyed` whatever the bounded map lets go."""
        keyed = self._keyed.get(visitor)
        record = self._visitors.get(visitor, (lambda: keyed) if keyed else
                                    (lambda: Visitor(visitor)))
        assert record is not None
        return record

    def seen(self, visitor: str, address: str) -> None:
        """A request of this visitor came from `address` (the limits count per address)."""
        with self._lock:
            self._touch(visitor).address = address

    def address(self, visitor: str | None) -> str:
        record = self._get(visitor)
        return record.address if record else "unknown"

    def count(self) -> dict[str, int]:
        """Records held (for the benchmark and tests)."""
        with self._lock:
            return {"visitors": len(self._visitors), "own_keys": len(self._keyed)}

    # --- keys ---------------------------------------------------------------------------

    def client(self, visitor: str | None) -> ZhiqiteClient:
        record = self._get(visitor)
        if record is None or record.client is None:
            return self.default_client
        record.key_used = self.clock()
        return record.client

    def catalog(self, visitor: str | None) -> Catalog | None:
        """The model lists of the visitor's own key (None: the app's key is in use)."""
        record = self._get(visitor)
        client = record.client if record else None
        if client is None:
            return None
        with self._lock:  # the entry holds the client, so its id is not reused meanwhile
            held = self._catalogs.get(id(client), lambda: (client, Catalog(client)))
            assert held is not None
            return held[1]

    def uses_own_key(self, visitor: str | None) -> bool:
        return self.client(visitor) is not self.default_client

    def set_credentials(self, visitor: str, credentials: Credentials) -> ZhiqiteClient:
        """Build the visitor's client (same API base as the app's); ConfigurationError says
        what is wrong with the keys without repeating them, or that no room is left."""
        if not self.allow_own_keys:
            raise refused(Msg("visitors.own_keys_off"))
        if credentials.empty:
            raise refused(Msg("visitors.no_credentials"))
        client = ZhiqiteClient(base_url=self.default_client.base_url,
                               **{k: v or None for k, v in asdict(credentials).items()})
        if not client.auth.secrets:
            raise refused(Msg("visitors.incomplete_key"))
        with self._lock:
            record = self._touch(visitor)
            if record.client is None:
                self._make_room(record)
            old, record.client = record.client, client
            record.key_used = self.clock()
            self._keyed[visitor] = record
        if old is not None:
            old.close()
        return client

    def _make_room(self, record: Visitor) -> None:
        """Room for one more own key, or ConfigurationError; caller holds the lock."""
        per_address = self.limiter.limits.own_keys_per_address
        if per_address and sum(1 for other in self._keyed.values()
                               if other.address == record.address) >= per_address:
            raise refused(Msg("visitors.own_keys_per_address", limit=per_address))
        if len(self._keyed) < self.max_own_keys:
            return
        now = self.clock()
        idle = min(self._keyed.values(), key=lambda other: other.key_used)
        if now - idle.key_used < KEY_IDLE:
            raise refused(Msg("visitors.own_keys_full"))
        self._drop_key(idle)

    def _drop_key(self, record: Visitor) -> None:
        self._keyed.pop(record.id, None)
        client, record.client = record.client, None
        if client is not None:
            client.close()

    def forget_credentials(self, visitor: str) -> None:
        with self._lock:
            record = self._keyed.get(visitor)
            if record is not None:
                self._drop_key(record)

    # --- preferences --------------------------------------------------------------------

    def prefs(self, visitor: str | None) -> Preferences:
        record = self._get(visitor)
        return record.prefs if record and record.prefs else self.defaults

    def set_prefs(self, visitor: str, values: Any) -> Preferences:
        prefs = Preferences.checked(values, self.defaults)
        with self._lock:
            self._touch(visitor).prefs = prefs
        return prefs

    def set_page_visible(self, visitor: str, visible: bool) -> None:
        """The visitor's page was shown or hidden (the browser's visibilitychange)."""
        with self._lock:
            self._touch(visitor).page_hidden = not visible

    def page_visible(self, visitor: str | None) -> bool:
        record = self._get(visitor)
        return not (record and record.page_hidden)

    def preview_schedule(self, visitor: str | None) -> PreviewSchedule | None:
        """The live-preview schedule the visitor wants now (read at each preview): none once
        their day's budget of billed calls on the operator's key is spent."""
        if visitor and not self.uses_own_key(visitor) and \
                self.limiter.calls_left(visitor, self.address(visitor)) == 0:
            return None
        return self.prefs(visitor).schedule(self.page_visible(visitor))


__all__ = ["CREDENTIAL_FIELDS", "Credentials", "Preferences", "PreviewMode", "Visitor",
           "Visitors"]
