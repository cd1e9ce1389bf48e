"""What every tab needs, made once at start: the runtime (engine, store, client), the model
lists, styles, presets and the UI settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webui.core.catalog import Catalog
from webui.core.covers import CoverCache
from webui.core.history import Thumbnails
from webui.core.presets import PRESETS_DIR, Styles, defaults, sizes
from webui.core.runtime import Runtime

PREVIEW_INTERVAL = 1.5  # seconds between live previews while a tab watches a task


@dataclass
class UiContext:
    runtime: Runtime
    catalog: Catalog
    styles: Styles
    defaults: dict[str, Any]
    sizes: dict[str, tuple[int, int]]
    preview_interval: float | None = PREVIEW_INTERVAL
    show_adult: bool = False
    controlnet_units: int = 3
    thumbs: Thumbnails | None = None
    covers: CoverCache | None = None

    @classmethod
    def create(cls, runtime: Runtime, *, preview_interval: float | None = PREVIEW_INTERVAL,
               show_adult: bool = False) -> UiContext:
        return cls(runtime=runtime, catalog=Catalog(runtime.client),
                   styles=Styles(PRESETS_DIR / "styles.csv",
                                 runtime.settings.data_dir / "styles.csv"),
                   defaults=defaults(), sizes=sizes(), preview_interval=preview_interval,
                   show_adult=show_adult,
                   thumbs=Thumbnails(runtime.settings.data_dir / "thumbs"),
                   covers=CoverCache(runtime.settings.data_dir / "covers"))

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    def owner(self, visitor: str) -> str:
        return self.runtime.owner(visitor)
