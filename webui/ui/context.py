"""What every tab needs, made once at start: the runtime (engine, store, client), the model
lists, styles, presets, and per visitor (by the signed id the browser keeps) the key in use and
preferences (`core/visitors.py`) and the limits on the operator's key (`core/limits.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webui.api.client import ZhiqiteClient
from webui.api.errors import ZhiqiteError
from webui.core.catalog import Catalog
from webui.core.covers import CoverCache
from webui.core.engine import TaskHandle
from webui.core.events import TaskEvent
from webui.core.history import Thumbnails
from webui.core.limits import Limiter, Limits, RateLimited, Ticket, request_address
from webui.core.presets import PRESETS_DIR, Styles, defaults, retire_shared_styles, sizes
from webui.core.runtime import Runtime
from webui.core.scripts.wildcards import Wildcards
from webui.core.submission import Plan, PlannedTask, SubmissionService
from webui.core.visitors import Preferences, PreviewMode, Visitors
from webui.messages import Msg

PREVIEW_INTERVAL = 1.5  # seconds between live previews while a tab watches a task
# A page always has a visitor; a raw API call without a session, a forged id, or a new
# session from an address that started many this hour has none.
NO_VISITOR = Msg("visitor.none")


@dataclass
class UiContext:
    runtime: Runtime
    catalog: Catalog  # the lists as the app's own key sees them
    styles: Styles
    defaults: dict[str, Any]
    sizes: dict[str, tuple[int, int]]
    preview_interval: float | None = None  # the default of a new browser (None: spaced)
    show_adult: bool = False  # the default of a new browser
    controlnet_units: int = 3
    thumbs: Thumbnails | None = None
    covers: CoverCache | None = None
    visitors: Visitors | None = None
    trusted_proxies: int = 0  # proxies in front of the app that append to X-Forwarded-For
    service: SubmissionService | None = None  # made in __post_init__
    wildcards: Wildcards | None = None

    def __post_init__(self) -> None:
        if self.visitors is not None and self.service is None:
            self.service = SubmissionService(
                self.runtime.engine, self.runtime.store, self.limiter, owner=self.owner,
                own_client=self._own_client, metered=self.metered,
                address=self.people.address)
        if self.wildcards is None:
            self.wildcards = Wildcards([PRESETS_DIR / "wildcards",
                                        self.runtime.settings.data_dir / "wildcards"])

    def _own_client(self, visitor: str) -> ZhiqiteClient | None:
        client = self.client(visitor)
        return None if client is self.runtime.client else client

    @property
    def submissions(self) -> SubmissionService:
        assert self.service is not None
        return self.service

    @classmethod
    def create(cls, runtime: Runtime, *, preview_interval: float | None = None,
               show_adult: bool = False, allow_own_keys: bool = True,
               limits: Limits | None = None, trusted_proxies: int = 0) -> UiContext:
        """`preview_interval`: the default of a new browser; None spaced-out previews (the
        cheap default), 0 none, seconds a steady pace (a test may preview faster than a
        browser may ask). `limits`: what visitors, addresses and everybody may spend of the
        operator's key (`core/limits.py`)."""
        presets = defaults()
        d = presets["txt2img"]
        retire_shared_styles(runtime.settings.data_dir)  # each visitor keeps their own now
        mode = (PreviewMode.SPACED if preview_interval is None else
                PreviewMode.OFF if preview_interval == 0 else PreviewMode.STEADY)
        prefs = Preferences(preview_interval=preview_interval or PREVIEW_INTERVAL,
                            preview_mode=mode, show_adult=show_adult,
                            sampler=d["sampler"], width=d["width"], height=d["height"],
                            steps=d["steps"], cfg_scale=d["cfg_scale"])
        return cls(runtime=runtime, catalog=runtime.catalog,
                   styles=Styles(PRESETS_DIR / "styles.csv", runtime.store),
                   defaults=presets, sizes=sizes(), preview_interval=preview_interval,
                   show_adult=show_adult,
                   thumbs=Thumbnails(runtime.settings.data_dir / "thumbs"),
                   covers=CoverCache(runtime.settings.data_dir / "covers"),
                   visitors=Visitors(runtime.client, allow_own_keys=allow_own_keys,
                                     limiter=runtime.limiter(limits),
                                     defaults=prefs),
                   trusted_proxies=trusted_proxies)

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    @property
    def people(self) -> Visitors:
        assert self.visitors is not None
        return self.visitors

    # --- per visitor ------------------------------------------------------------------------

    @property
    def limiter(self) -> Limiter:
        return self.people.limiter

    def address(self, request: Any) -> str:
        """The network address a request counts against (`core/limits.client_address`)."""
        return request_address(request, self.trusted_proxies)

    def visitor_id(self, stored: Any, request: Any = None) -> str | None:
        """The visitor of an event: the id in the signed token the browser keeps
        (`Keys.visitor_token`), or for a new browser whose page has not stored one yet, the
        one derived from its page session (the load event derives, signs and stores the
        same). None for a forged or unsigned id with no session, and for a new session from
        an address past its new-visitor limit."""
        address = self.address(request)
        visitor = self.runtime.keys.visitor_from_token(stored)
        if visitor is None:
            session = getattr(request, "session_hash", None)
            if not isinstance(session, str) or not 0 < len(session) <= 200:
                return None
            visitor = self.runtime.keys.session_visitor(session)
            if not self.limiter.admit_visitor(address, visitor):
                return None
        self.people.seen(visitor, address)
        return visitor

    def returning_visitor(self, stored: Any, request: Any = None) -> str | None:
        """At page load: `visitor_id`, or an unsigned id kept by an earlier version of the
        app when it has a history here (nobody can guess one that has; any other unsigned
        id is a new session's)."""
        if self.runtime.keys.visitor_from_token(stored) is None and valid_visitor(stored) \
                and "." not in stored and self.runtime.store.count(self.owner(stored)):
            self.people.seen(stored, self.address(request))
            return stored
        return self.visitor_id(stored, request)

    def visitor_token(self, visitor: str) -> str:
        """What the browser keeps for `visitor`."""
        return self.runtime.keys.visitor_token(visitor)

    def with_visitor(self, data: dict[Any, Any], visitor: Any, request: Any) -> dict[Any, Any]:
        """A handler's input dict with the visitor component's value resolved
        (`visitor_id`)."""
        return {**data, visitor: self.visitor_id(data[visitor], request)}

    def default_checkpoint(self, visitor: str | None) -> str | None:
        """The checkpoint a page shows first (the first listed): used when Generate comes
        before the page's checkpoint list has arrived. None when the list cannot be had."""
        try:
            listed = self.catalog_for(visitor).checkpoints(show_adult=self.adult(visitor))
        except ZhiqiteError:
            return None
        return listed[0].value if listed else None

    def client(self, visitor: str | None) -> ZhiqiteClient:
        return self.people.client(visitor)

    def owner(self, visitor: str) -> str:
        """Tasks belong to the browser and the key in use: another key, another history."""
        return self.runtime.keys.owner(visitor, self.client(visitor).auth.secrets)

    def prefs(self, visitor: str | None) -> Preferences:
        return self.people.prefs(visitor)

    def preview(self, visitor: str | None) -> Any:
        """The visitor's live-preview schedule, read again at each preview (the page may be
        hidden meanwhile, or the settings changed)."""
        return lambda: self.people.preview_schedule(visitor)

    def adult(self, visitor: str | None) -> bool:
        return self.prefs(visitor).show_adult

    def catalog_for(self, visitor: str | None) -> Catalog:
        return self.people.catalog(visitor) or self.catalog

    def metered(self, visitor: str | None) -> bool:
        """Whether the visitor's calls count against the budgets: on the operator's key, and
        on the embedded offline backend whatever the key (it takes any key, and its work is
        the operator's machine)."""
        return self.runtime.is_offline or not self.people.uses_own_key(visitor)

    def admit_list_call(self, visitor: str | None) -> None:
        """Before a list call a visitor asked for (Test connection, Refresh): raises
        RateLimited past the list-call limits or the day's budget."""
        self.limiter.admit_list_call(visitor or "", self.people.address(visitor),
                                     metered=self.metered(visitor))

    def reserve(self, visitor: str, count: int = 1) -> tuple[list[Ticket], RateLimited | None]:
        """Places for up to `count` tasks, taken before anything is uploaded or hosted (a
        refused task must cost no disk): `SubmissionService.reserve`."""
        return self.submissions.reserve(visitor, count)

    def submit(self, visitor: str, request: Any, tab: str = "history") -> TaskHandle:
        """One ready request (a History re-run) through the submission service like every
        Generate: the limits first, then the task under this visitor's owner key, its billed
        calls charged to them. Raises RateLimited and InvalidRequestError."""
        plan = Plan(tab, (PlannedTask(make=lambda: request),))
        batch = self.submissions.submit(visitor, plan).batch
        assert batch is not None and batch.task_ids  # a plan of one: sent, or it raised
        return TaskHandle(self.engine, batch.task_ids[0], self.owner(visitor))

    def events(self, visitor: str, task_id: str, *, previews: bool = True
               ) -> Any:
        """A task's events for its owner, with their key (a task sent with a visitor's own
        key is followed again when they come back after a restart)."""
        client = self.client(visitor)
        return self.engine.events(task_id, self.owner(visitor),
                                  preview_interval=self.preview(visitor) if previews else None,
                                  client=None if client is self.runtime.client else client)


def valid_visitor(value: Any) -> bool:
    return isinstance(value, str) and 16 <= len(value) <= 100


__all__ = ["NO_VISITOR", "PREVIEW_INTERVAL", "TaskEvent", "UiContext", "valid_visitor"]
