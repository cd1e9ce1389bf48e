"""A script's plot picture (X/Y/Z plot, Prompt matrix) from its batch: each cell's first
image, drawn with its axis labels (`grid.py`) and saved once next to the cells, with "grid" in
its name and an infotext describing the axes. Saved when the batch's last task ends, whether
or not a page watches (`SubmissionService` starts a keeper for each plot)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from webui.core.outputs import read_infotext
from webui.core.scripts.grid import draw_matrix_grid, draw_xyz_grid, save_grid, xyz_infotext
from webui.core.store import BatchRecord, StoredImage, TaskStore

log = logging.getLogger(__name__)

PLOT_KINDS = ("xyz", "matrix")
_SAVING = threading.Lock()  # one plot saved at a time: never twice


def is_plot(batch: BatchRecord) -> bool:
    return (batch.layout or {}).get("kind") in PLOT_KINDS


def cell_of(meta: Mapping[str, Any], fallback: int) -> int:
    value = meta.get("cell")
    return value if isinstance(value, int) and 0 <= value < 100_000 else fallback


def first_shown(images: tuple[StoredImage, ...]) -> str | None:
    return next((i.path for i in images if i.shown and i.path), None)


def load(path: str, cache: dict[str, Image.Image]) -> Image.Image | None:
    """One of our own saved results, decoded once."""
    if path not in cache:
        try:
            with Image.open(path) as image:
                image.load()
                cache[path] = image.copy()
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
    return cache[path]


def draw_plot(layout: Mapping[str, Any], by_cell: Mapping[int, Image.Image],
              count: int) -> Image.Image:
    """The plot with the cells there are (the others are placeholders)."""
    margin = int(layout.get("margin") or 0)
    if layout.get("kind") == "matrix":
        parts = [str(p) for p in layout.get("parts") or []]
        return draw_matrix_grid([by_cell.get(i) for i in range(count)], parts, margin=margin)
    return draw_xyz_grid(by_cell, [str(x) for x in layout.get("x_labels") or [""]],
                         [str(y) for y in layout.get("y_labels") or [""]],
                         [str(z) for z in layout.get("z_labels") or [""]],
                         draw_legend=bool(layout.get("draw_legend", True)), margin=margin)


def save_plot(store: TaskStore, batch: BatchRecord) -> str | None:
    """The plot's grid file: drawn and saved the first time (once every cell ended), then
    the same file. None when no cell has an image or the batch is not a plot."""
    if not is_plot(batch):
        return None
    with _SAVING:
        current = store.get_batch(batch.id, batch.owner)
        if current is None:
            return None
        if current.grid_path and Path(current.grid_path).exists():
            return current.grid_path
        records = [store.get(i, batch.owner) for i in batch.task_ids]
        records = [store.local(r) if r is not None else None for r in records]
        if any(r is not None and not r.is_final for r in records):
            return None
        cache: dict[str, Image.Image] = {}
        by_cell: dict[int, Image.Image] = {}
        paths: list[str] = []
        for number, record in enumerate(records):
            path = first_shown(record.images) if record else None
            image = load(path, cache) if path else None
            if path and image is not None:
                by_cell[cell_of(record.meta, number)] = image  # type: ignore[union-attr]
                paths.append(path)
        if not paths:
            return None
        layout = batch.layout or {}
        try:
            grid = draw_plot(layout, by_cell, len(records))
        except ValueError as error:  # a layout that does not fit its cells
            log.warning("plot %s not drawn: %s", batch.id, error)
            return None
        try:
            base = read_infotext(paths[0]) or ""
        except OSError:
            base = ""
        text = xyz_infotext(base, [tuple(a) for a in layout.get("axes") or []]) \
            if layout.get("kind") == "xyz" else base
        path = str(save_grid(Path(paths[0]).parent, grid, text))
        store.set_batch_grid(batch.id, batch.owner, path)
        return path
