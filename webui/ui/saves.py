"""Save: a zip of the pictures a results panel shows, for download.

The zip is written straight into a folder of Gradio's own cache under a random name, so
Gradio serves it without copying it (a `gr.File` value already in the cache is used in
place) and its `delete_cache` prunes it with the rest; nothing is left in the temp directory.
It is bounded: at most `max_images` pictures and `max_bytes` a zip, one zip kept per page
session (a new Save removes the session's previous zip), one being made per session at a
time, and any zip older than `keep_seconds` removed at the next Save."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gradio.utils import get_upload_folder

MAX_IMAGES = 100
MAX_BYTES = 256 << 20  # PNGs are stored as they are: the zip is about the sum of the files
KEEP_SECONDS = 3600.0  # a zip is for the download that follows the click
FOLDER = "zhiqite-saves"


class SaveBusy(Exception):
    """A zip for this page session is still being made."""


@dataclass(frozen=True)
class Archive:
    path: Path
    included: int
    left_out: int  # over the limits
    missing: int  # deleted meanwhile (History)


class Archives:
    def __init__(self, root: Path | None = None, *, max_images: int = MAX_IMAGES,
                 max_bytes: int = MAX_BYTES, keep_seconds: float = KEEP_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self._root = root
        self.max_images, self.max_bytes, self.keep_seconds = max_images, max_bytes, keep_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._latest: dict[str, Path] = {}  # page session -> the folder of its zip

    @property
    def root(self) -> Path:
        """Read at each use: Gradio's cache folder follows GRADIO_TEMP_DIR."""
        return self._root or Path(get_upload_folder()) / FOLDER

    def make(self, session: str, name: str, paths: list[str]) -> Archive | None:
        """The zip of `paths` (within the limits) named `name`, or None when none of the
        files exists any more. Raises SaveBusy while this session's previous zip is made."""
        with self._lock:
            if session in self._busy:
                raise SaveBusy(session)
            self._busy.add(session)
            previous = self._latest.pop(session, None)
        try:
            if previous is not None:
                shutil.rmtree(previous, ignore_errors=True)
            self._prune()
            chosen, left_out, missing = self._choose(paths)
            if not chosen:
                return None
            folder = self.root / secrets.token_hex(16)  # served by path: not guessable
            folder.mkdir(parents=True)
            archive = folder / Path(name).name
            try:
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
                    for arcname, path in chosen:
                        zf.write(path, arcname)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            with self._lock:
                self._latest[session] = folder
            return Archive(archive, len(chosen), left_out, missing)
        finally:
            with self._lock:
                self._busy.discard(session)

    def _choose(self, paths: list[str]) -> tuple[list[tuple[str, Path]], int, int]:
        chosen: list[tuple[str, Path]] = []
        names: set[str] = set()
        total, left_out, missing = 0, 0, 0
        for raw in paths:
            path = Path(raw)
            try:
                size = path.stat().st_size
            except OSError:
                missing += 1
                continue
            if len(chosen) >= self.max_images or total + size > self.max_bytes:
                left_out += 1
                continue
            arcname = path.name
            if arcname in names:  # two days' folders may both hold 00001-<seed>.png
                arcname = f"{len(chosen):03d}-{arcname}"
            names.add(arcname)
            chosen.append((arcname, path))
            total += size
        return chosen, left_out, missing

    def _prune(self) -> None:
        """Zips older than keep_seconds (Gradio prunes only the files, after a day, and
        leaves their folders)."""
        cutoff = self._clock() - self.keep_seconds
        try:
            folders = list(self.root.iterdir())
        except OSError:
            return
        for folder in folders:
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            self._latest = {s: f for s, f in self._latest.items() if f.exists()}


ARCHIVES = Archives()  # one per process: a page session's zips span all its tabs
