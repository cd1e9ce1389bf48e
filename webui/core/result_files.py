"""Results on S3-compatible storage, for several replicas (issue 23): each replica saves its
results in its own outputs folder as before and also puts each one in the bucket, under
`<prefix><replica>/<random>/<path in the outputs folder>` (the random part: two replicas, or
one whose outputs folder was emptied, number their folders on their own and may both write
`txt2img/<day>/00000-5.png`; an object is never overwritten). The key goes with the image's
row (`StoredImage.key`). A replica that shows a result another one saved (a watched task,
History, a shared link) takes it from the bucket once into `<data dir>/results/<key>`
(`MirroredStore.local`, called where results are shown, not where rows are only looked at);
what a page may show is still decided by the store's owner checks, the bucket is never linked
to a browser.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from webui.core.store import StoredImage, TaskRecord
from webui.messages import Msg

log = logging.getLogger(__name__)
DEFAULT_PREFIX = "zhiqite-results/"
RETRY_AFTER = 60.0  # seconds before a key that could not be fetched is asked for again
_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,120}")
_REPLICA_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
UNAVAILABLE = Msg("task.reason.not_in_bucket")


def valid_prefix(prefix: str) -> bool:
    """A results prefix (`ZHIQITE_S3_RESULTS_PREFIX`): empty, or folders of letters, digits
    and `._-`, each ending in `/`."""
    return prefix == "" or (re.fullmatch(r"([A-Za-z0-9._-]{1,120}/){1,8}", prefix) is not None
                            and not any(p in (".", "..") for p in prefix.split("/")))


class ResultMirror:
    """The bucket's copy of every result, and this replica's cache of the others'."""

    def __init__(self, client: Any, bucket: str, *, replica: str, outputs_dir: Path,
                 cache_dir: Path, prefix: str = DEFAULT_PREFIX) -> None:
        self.client, self.bucket = client, bucket
        self.outputs_dir = outputs_dir.resolve()
        self.cache_dir = cache_dir
        self.prefix = prefix
        name = _REPLICA_CHARS.sub("-", replica).strip("-.")[:80] or "replica"
        self.own = f"{prefix}{name}/"
        self._failed: dict[str, float] = {}  # key -> when it may be fetched again
        self._lock = threading.Lock()

    def put(self, path: Path | str) -> str | None:
        """Put a saved result in the bucket: its key, or None when it could not be (it stays
        on this replica's disk; the others cannot show it)."""
        source = Path(path).resolve()
        try:
            key = f"{self.own}{secrets.token_hex(6)}/" + \
                source.relative_to(self.outputs_dir).as_posix()
            with open(source, "rb") as file:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=file,
                                       ContentType="image/png")
        except Exception as exc:  # the bucket away a moment, or refusing: the file is here
            log.warning("a result could not be put in the bucket; other replicas will not "
                        "show it: %s (%s)", source.name, type(exc).__name__)
            return None
        return key

    def _cached(self, key: str) -> Path | None:
        """Where the key's copy goes in the cache: None for a key that is not a result's
        (another prefix, an absolute or climbing path, odd characters)."""
        if not key.startswith(self.prefix) or len(key) > 600:
            return None
        parts = key.split("/")
        if any(not _SEGMENT.fullmatch(part) or part in (".", "..") for part in parts):
            return None
        target = (self.cache_dir / key).resolve()
        return target if target.is_relative_to(self.cache_dir.resolve()) else None

    def local(self, image: StoredImage) -> StoredImage:
        """The image with a path on this replica: its own file, or the bucket's copy fetched
        once into the cache. Not to be had (the bucket away, the object gone): a plain
        placeholder in its place, with the reason, so that pictures keep their places (a
        share link names a picture by its place)."""
        key = image.key
        if not key or not image.shown:
            return image
        if key.startswith(self.own) and Path(image.path or "").is_file():
            return image
        target = self._cached(key)
        if target is None:
            return image
        if not target.is_file() and not self._fetch(key, target):
            return replace(image, path=str(self._placeholder()), error=str(UNAVAILABLE),
                           error_msg=UNAVAILABLE)
        return replace(image, path=str(target))

    def _fetch(self, key: str, target: Path) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._failed.get(key, 0.0) > now:
                return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
            self.client.download_file(self.bucket, key, str(partial))
            os.replace(partial, target)
            return True
        except Exception as exc:
            with self._lock:
                if len(self._failed) > 10_000:
                    self._failed.clear()
                self._failed[key] = now + RETRY_AFTER
            log.warning("a result saved by another replica could not be fetched from the "
                        "bucket (again in %.0f s): %s (%s)", RETRY_AFTER, key,
                        type(exc).__name__)
            return False

    def _placeholder(self) -> Path:
        path = self.cache_dir / "unavailable.png"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".unavailable.{secrets.token_hex(4)}.png")
            Image.new("RGB", (64, 64), (128, 128, 128)).save(partial)
            os.replace(partial, path)
        return path

    def delete(self, image: StoredImage) -> None:
        target = self._cached(image.key) if image.key else None
        if image.key is None or target is None:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=image.key)
        except Exception as exc:
            log.warning("a deleted result stays in the bucket: %s (%s)", image.key,
                        type(exc).__name__)
        target.unlink(missing_ok=True)


class MirroredStore:
    """The task store with `local` giving each result a file on this replica
    (`ResultMirror`), and a deleted task's results out of the bucket. Everything else is the
    store's, so the rows a replica only looks at (the engine, callbacks, lookups) cost no
    download."""

    def __init__(self, store: Any, mirror: ResultMirror) -> None:
        self._store, self.mirror = store, mirror

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def local(self, record: TaskRecord) -> TaskRecord:
        if not any(image.key for image in record.images):
            return record
        return replace(record, images=tuple(self.mirror.local(i) for i in record.images))

    def shared(self, token: str) -> tuple[TaskRecord, int] | None:
        found = self._store.shared(token)
        return None if found is None else (self.local(found[0]), found[1])

    def delete(self, task_id: str, owner: str) -> TaskRecord | None:
        deleted = self._store.delete(task_id, owner)
        if deleted is not None:
            for image in deleted.images:
                self.mirror.delete(image)
        return deleted
