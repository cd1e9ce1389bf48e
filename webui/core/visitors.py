"""What the app keeps per visitor (a browser's id), in memory only:

- the API key a visitor brought (bring-your-own-key mode): a client built from it, never
  written to disk, the store, a log or an error message; the browser keeps it only when the
  visitor ticks "remember on this device" (then encrypted by Gradio's BrowserState);
- the visitor's preferences (also kept in their browser, so they come back on every load);
- a rate limit for tasks sent with the operator's key (tasks per minute, tasks at once).
"""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from webui.api import models as m
from webui.api.client import ZhiqiteClient
from webui.api.errors import ConfigurationError
from webui.core.engine import SPACED, PreviewSchedule

MAX_VISITORS = 2000  # clients and limits kept; the least recently seen are dropped first
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
    }
    return rules[name]()


class RateLimited(Exception):
    """The message says what the limit is and when to try again."""


@dataclass(frozen=True)
class RateLimit:
    per_minute: int = 0  # 0 = no limit
    at_once: int = 0

    @classmethod
    def from_env(cls, env: Any) -> RateLimit:
        def number(var: str) -> int:
            text = str(env.get(var, "") or "").strip()
            if text and not text.isdigit():
                raise ValueError(f"{var} must be a whole number, got {text!r}")
            return int(text or 0)

        return cls(number("ZHIQITE_TASKS_PER_MINUTE"), number("ZHIQITE_CONCURRENT_TASKS"))


class Visitors:
    def __init__(self, default_client: ZhiqiteClient, *, allow_own_keys: bool = True,
                 limit: RateLimit | None = None, defaults: Preferences | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.default_client = default_client
        self.allow_own_keys = allow_own_keys
        self.limit = limit or RateLimit()
        self.defaults = defaults or Preferences()
        self.clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, ZhiqiteClient] = OrderedDict()
        self._prefs: OrderedDict[str, Preferences] = OrderedDict()
        self._sent: dict[str, deque[float]] = {}
        self._hidden: OrderedDict[str, None] = OrderedDict()  # visitors whose page is hidden

    # --- keys ---------------------------------------------------------------------------

    def client(self, visitor: str | None) -> ZhiqiteClient:
        with self._lock:
            return self._clients.get(visitor or "", self.default_client)

    def uses_own_key(self, visitor: str | None) -> bool:
        return self.client(visitor) is not self.default_client

    def set_credentials(self, visitor: str, credentials: Credentials) -> ZhiqiteClient:
        """Build the visitor's client (same API base as the app's); ConfigurationError says
        what is wrong with the keys without repeating them."""
        if not self.allow_own_keys:
            raise ConfigurationError("this app uses its operator's key; own keys are off")
        if credentials.empty:
            raise ConfigurationError("enter an AppCode, or an AppKey and AppSecret, or the "
                                     "vendor's access key id and secret")
        client = ZhiqiteClient(base_url=self.default_client.base_url,
                               **{k: v or None for k, v in asdict(credentials).items()})
        if not client.auth.secrets:
            raise ConfigurationError("these fields do not make a complete key")
        with self._lock:
            old = self._clients.pop(visitor, None)
            self._clients[visitor] = client
            while len(self._clients) > MAX_VISITORS:
                self._clients.popitem(last=False)
        if old is not None and old is not self.default_client:
            old.close()
        return client

    def forget_credentials(self, visitor: str) -> None:
        with self._lock:
            client = self._clients.pop(visitor, None)
        if client is not None:
            client.close()

    # --- preferences --------------------------------------------------------------------

    def prefs(self, visitor: str | None) -> Preferences:
        with self._lock:
            return self._prefs.get(visitor or "", self.defaults)

    def set_prefs(self, visitor: str, values: Any) -> Preferences:
        prefs = Preferences.checked(values, self.defaults)
        with self._lock:
            self._prefs.pop(visitor, None)
            self._prefs[visitor] = prefs
            while len(self._prefs) > MAX_VISITORS:
                self._prefs.popitem(last=False)
        return prefs

    def set_page_visible(self, visitor: str, visible: bool) -> None:
        """The visitor's page was shown or hidden (the browser's visibilitychange)."""
        with self._lock:
            self._hidden.pop(visitor, None)
            if not visible:
                self._hidden[visitor] = None
                while len(self._hidden) > MAX_VISITORS:
                    self._hidden.popitem(last=False)

    def page_visible(self, visitor: str | None) -> bool:
        with self._lock:
            return (visitor or "") not in self._hidden

    def preview_schedule(self, visitor: str | None) -> PreviewSchedule | None:
        """The live-preview schedule the visitor wants now (read at each preview)."""
        return self.prefs(visitor).schedule(self.page_visible(visitor))

    # --- rate limit ---------------------------------------------------------------------

    def admit(self, visitor: str, running: Callable[[], int]) -> None:
        """Count one task on the operator's key, or raise RateLimited. Own keys are the
        visitor's own bill: no limit."""
        if self.uses_own_key(visitor) or not (self.limit.per_minute or self.limit.at_once):
            return
        if self.limit.at_once and running() >= self.limit.at_once:
            raise RateLimited(f"at most {self.limit.at_once} task(s) at once on this app: "
                              "wait for one to finish")
        now = self.clock()
        with self._lock:
            sent = self._sent.setdefault(visitor, deque())
            while sent and now - sent[0] >= 60:
                sent.popleft()
            if self.limit.per_minute and len(sent) >= self.limit.per_minute:
                wait = 60 - (now - sent[0])
                raise RateLimited(f"at most {self.limit.per_minute} task(s) a minute on this "
                                  f"app: try again in {wait:.0f} s")
            sent.append(now)
