"""The service's model lists (checkpoints, LoRAs, VAEs, embeddings), every page, cached until a
refresh: list calls are cheap but not free, and the pickers open often."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webui.api import models as m
from webui.api.client import ZhiqiteClient
from webui.api.errors import ZhiqiteError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Choice:
    label: str
    value: str
    adult: bool = False
    base_model: str | None = None
    cover: str | None = None  # the service's first cover image URL
    hash: str | None = None  # checkpoints: A1111's short model hash (10 hex digits)


class Catalog:
    def __init__(self, client: ZhiqiteClient, max_age: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic,
                 min_refresh: float = 30.0) -> None:
        """`min_refresh`: a refresh of a list fetched less than this long ago is answered
        from the cache, so any number of Refresh clicks bill at most one list a half-minute."""
        self.client, self.max_age, self.clock = client, max_age, clock
        self.min_refresh = min_refresh
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, list[Choice]]] = {}
        self._fetching: dict[str, threading.Lock] = {}

    def _fresh(self, kind: str, refresh: bool = False) -> list[Choice] | None:
        with self._lock:
            cached = self._cache.get(kind)
            age = self.min_refresh if refresh else self.max_age
            if cached and self.clock() - cached[0] < age:
                return cached[1]
            return None

    def _get(self, kind: str, fetch: Callable[[], list[Choice]], refresh: bool) -> list[Choice]:
        if (rows := self._fresh(kind, refresh)) is not None:
            return rows
        with self._lock:
            fetching = self._fetching.setdefault(kind, threading.Lock())
        # One fetch per list at a time: callers that arrive meanwhile (the start-up warm-up
        # and a first visitor) wait for it and share its answer. Other lists are not held.
        with fetching:
            if (rows := self._fresh(kind, refresh)) is not None:
                return rows
            rows = fetch()
            with self._lock:
                self._cache[kind] = (self.clock(), rows)
        return rows

    @staticmethod
    def _visible(rows: list[Choice], show_adult: bool) -> list[Choice]:
        return [row for row in rows if show_adult or not row.adult]

    def checkpoints(self, *, show_adult: bool = False, refresh: bool = False) -> list[Choice]:
        def fetch() -> list[Choice]:
            return [Choice(_label(r.sdModelName, r.sdModelCheckpoint), r.sdModelCheckpoint,
                           bool(r.isAdult), r.modelBaseModel, _first(r.cover_urls),
                           r.short_hash)
                    for r in self.client.all_models() if r.sdModelCheckpoint]

        return self._visible(self._get("checkpoints", fetch, refresh), show_adult)

    def model_hash(self, checkpoint: str) -> str | None:
        """The checkpoint's short hash for infotext; None when unknown or the list cannot be
        had (an image is never held back for it)."""
        try:
            rows = self.checkpoints(show_adult=True)
        except ZhiqiteError as exc:
            log.info("no model hash for %s: the model list failed (%s)", checkpoint,
                     type(exc).__name__)
            return None
        return next((row.hash for row in rows if row.value == checkpoint), None)

    def warm(self) -> None:
        """Fetch every list once (at app start, in the background), so that the first page
        shows them as quickly as the tenth. A failure is logged; the next use tries again."""
        for fill in (lambda: self.checkpoints(show_adult=True), self.loras, self.vaes,
                     self.embeddings):
            try:
                fill()
            except ZhiqiteError as exc:
                log.warning("could not load a model list at start: %s", exc)
                return  # the same key will fail the others too

    def loras(self, *, show_adult: bool = False, refresh: bool = False) -> list[Choice]:
        def fetch() -> list[Choice]:
            return [Choice(_label(r.sdLoraName, r.sdLoraFileSimplifyName),
                           r.sdLoraFileSimplifyName, bool(r.isAdult), r.loraBaseModel,
                           _first(r.cover_urls))
                    for r in self.client.all_loras() if r.sdLoraFileSimplifyName]

        return self._visible(self._get("loras", fetch, refresh), show_adult)

    def vaes(self, *, refresh: bool = False) -> list[Choice]:
        def fetch() -> list[Choice]:
            return [Choice(r.vaeFileName, r.vaeFileName) for r in self.client.all_vaes()
                    if r.vaeFileName]

        return self._get("vaes", fetch, refresh)

    def embeddings(self, *, refresh: bool = False) -> list[Choice]:
        def fetch() -> list[Choice]:
            rows: list[m.EmbeddingRow] = self.client.all_embeddings()
            return [Choice(_label(r.embeddingName, r.embeddingSimplifyName),
                           r.embeddingSimplifyName) for r in rows if r.embeddingSimplifyName]

        return self._get("embeddings", fetch, refresh)


def _label(name: str | None, code: Any) -> str:
    return f"{name} ({code})" if name and name != code else str(code)


def _first(urls: list[str]) -> str | None:
    return urls[0] if urls else None
