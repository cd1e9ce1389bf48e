"""The service's model lists (checkpoints, LoRAs, VAEs, embeddings), every page, cached until a
refresh: list calls are cheap but not free, and the pickers open often."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webui.api import models as m
from webui.api.client import ZhiqiteClient


@dataclass(frozen=True)
class Choice:
    label: str
    value: str
    adult: bool = False
    base_model: str | None = None
    cover: str | None = None  # the service's first cover image URL


class Catalog:
    def __init__(self, client: ZhiqiteClient, max_age: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.max_age, self.clock = client, max_age, clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, list[Choice]]] = {}

    def _get(self, kind: str, fetch: Callable[[], list[Choice]], refresh: bool) -> list[Choice]:
        with self._lock:
            cached = self._cache.get(kind)
            if cached and not refresh and self.clock() - cached[0] < self.max_age:
                return cached[1]
        rows = fetch()  # outside the lock: a slow list call must not block the other lists
        with self._lock:
            self._cache[kind] = (self.clock(), rows)
        return rows

    @staticmethod
    def _visible(rows: list[Choice], show_adult: bool) -> list[Choice]:
        return [row for row in rows if show_adult or not row.adult]

    def checkpoints(self, *, show_adult: bool = False, refresh: bool = False) -> list[Choice]:
        def fetch() -> list[Choice]:
            return [Choice(_label(r.sdModelName, r.sdModelCheckpoint), r.sdModelCheckpoint,
                           bool(r.isAdult), r.modelBaseModel, _first(r.cover_urls))
                    for r in self.client.all_models() if r.sdModelCheckpoint]

        return self._visible(self._get("checkpoints", fetch, refresh), show_adult)

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
