"""What every tab needs, made once at start: the runtime (engine, store, client), the model
lists, styles, presets, and per visitor (by the browser's id) the key in use, preferences and
rate limit (`core/visitors.py`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from webui.api.client import ZhiqiteClient
from webui.api.errors import ZhiqiteError
from webui.core.catalog import Catalog
from webui.core.covers import CoverCache
from webui.core.engine import TaskHandle
from webui.core.events import TaskEvent
from webui.core.history import Thumbnails
from webui.core.presets import PRESETS_DIR, Styles, defaults, sizes
from webui.core.runtime import Runtime
from webui.core.visitors import Preferences, PreviewMode, RateLimit, Visitors

PREVIEW_INTERVAL = 1.5  # seconds between live previews while a tab watches a task
# Only a direct API call with no session has no visitor (a page always has one).
NO_VISITOR = "This call has no visitor id: open the page, or keep the session."


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
    _catalogs: dict[int, Catalog] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, runtime: Runtime, *, preview_interval: float | None = None,
               show_adult: bool = False, allow_own_keys: bool = True,
               limit: RateLimit | None = None) -> UiContext:
        """`preview_interval`: the default of a new browser; None spaced-out previews (the
        cheap default), 0 none, seconds a steady pace (a test may preview faster than a
        browser may ask)."""
        presets = defaults()
        d = presets["txt2img"]
        mode = (PreviewMode.SPACED if preview_interval is None else
                PreviewMode.OFF if preview_interval == 0 else PreviewMode.STEADY)
        prefs = Preferences(preview_interval=preview_interval or PREVIEW_INTERVAL,
                            preview_mode=mode, show_adult=show_adult,
                            sampler=d["sampler"], width=d["width"], height=d["height"],
                            steps=d["steps"], cfg_scale=d["cfg_scale"])
        return cls(runtime=runtime, catalog=runtime.catalog,
                   styles=Styles(PRESETS_DIR / "styles.csv",
                                 runtime.settings.data_dir / "styles.csv"),
                   defaults=presets, sizes=sizes(), preview_interval=preview_interval,
                   show_adult=show_adult,
                   thumbs=Thumbnails(runtime.settings.data_dir / "thumbs"),
                   covers=CoverCache(runtime.settings.data_dir / "covers"),
                   visitors=Visitors(runtime.client, allow_own_keys=allow_own_keys,
                                     limit=limit, defaults=prefs))

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    @property
    def people(self) -> Visitors:
        assert self.visitors is not None
        return self.visitors

    # --- per visitor ------------------------------------------------------------------------

    def visitor_id(self, stored: Any, request: Any = None) -> str | None:
        """The visitor of an event: the id the browser keeps, or for a new browser whose page
        has not stored one yet, the one derived from its page session (the load event derives
        and stores the same). None only for a call with neither."""
        if valid_visitor(stored):
            return stored
        session = getattr(request, "session_hash", None)
        if isinstance(session, str) and session:
            return self.runtime.keys.session_visitor(session)
        return None

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
        client = self.client(visitor)
        if client is self.runtime.client:
            return self.catalog
        with self._lock:
            return self._catalogs.setdefault(id(client), Catalog(client))

    def submit(self, visitor: str, request: Any) -> TaskHandle:
        """Rate limit (operator's key only), then the task under this visitor's owner key,
        sent with the key in use. Raises RateLimited."""
        owner = self.owner(visitor)
        self.people.admit(visitor, lambda: sum(
            1 for r in self.runtime.store.unfinished() if r.owner == owner))
        client = self.client(visitor)
        return self.engine.submit(request, owner=owner,
                                  client=None if client is self.runtime.client else client)

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
