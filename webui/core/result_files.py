"""Results on S3-compatible storage, for several replicas (issue 23): each replica saves its
results in its own outputs folder as before and also puts each one in the bucket, under
`<prefix><replica>/<path in the outputs folder>` (the replica in the key: two replicas number
their own folders and may both write `txt2img/<day>/00000-5.png`). The key goes with the
image's row (`StoredImage.key`). A replica showing a result another one saved takes it from
the bucket once into `<data dir>/results/<key>` (`MirroredStore`: the store's reads give
local paths), so any replica shows any owner's pictures, to their owner only: what a page may
show is still decided by the store's owner checks, the bucket is never linked to a browser.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from webui.core.store import StoredImage, TaskRecord

log = logging.getLogger(__name__)
RESULTS_ENV = "ZHIQITE_S3_RESULTS"  # on | off; by default on with a shared database
RESULTS_PREFIX_ENV = "ZHIQITE_S3_RESULTS_PREFIX"
DEFAULT_PREFIX = "zhiqite-results/"
_KEY = re.compile(r"[A-Za-z0-9._\-/]{1,512}")
_REPLICA_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def results_wanted(env: Mapping[str, str], *, shared_store: bool) -> bool:
    """`ZHIQITE_S3_RESULTS` = on | off; unset: on when replicas share the store."""
    value = (env.get(RESULTS_ENV) or "").strip().lower()
    if value in ("", "auto"):
        return shared_store
    if value not in ("on", "off", "1", "0", "true", "false"):
        raise ValueError(f"{RESULTS_ENV} must be on or off, got {value!r}")
    return value in ("on", "1", "true")


class ResultMirror:
    """The bucket's copy of every result, and this replica's cache of the others'."""

    def __init__(self, client: Any, bucket: str, *, replica: str, outputs_dir: Path,
                 cache_dir: Path, prefix: str = DEFAULT_PREFIX) -> None:
        self.client, self.bucket = client, bucket
        self.outputs_dir = outputs_dir.resolve()
        self.cache_dir = cache_dir
        name = _REPLICA_CHARS.sub("-", replica).strip("-.")[:80] or "replica"
        self.own = f"{prefix}{name}/"

    def put(self, path: Path | str) -> str | None:
        """Put a saved result in the bucket: its key, or None when it could not be (it stays
        on this replica's disk; the others cannot show it)."""
        source = Path(path).resolve()
        try:
            key = self.own + source.relative_to(self.outputs_dir).as_posix()
            with open(source, "rb") as file:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=file,
                                       ContentType="image/png")
        except Exception:  # the bucket away a moment, or refusing: the result is still here
            log.warning("a result could not be put in the bucket; other replicas will not "
                        "show it: %s", source.name, exc_info=True)
            return None
        return key

    def local(self, image: StoredImage) -> StoredImage:
        """The image with a path on this replica: its own file, or the bucket's copy fetched
        once into the cache. Not to be had: the path is dropped and the reason given."""
        key = image.key
        if not key or image.path is None:
            return image
        if key.startswith(self.own) and Path(image.path).is_file():
            return image
        if not _KEY.fullmatch(key) or ".." in key.split("/"):
            return image
        target = self.cache_dir / key
        if not target.is_file():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
                self.client.download_file(self.bucket, key, str(partial))
                os.replace(partial, target)
            except Exception:
                log.warning("a result saved by another replica could not be fetched from "
                            "the bucket: %s", key, exc_info=True)
                return replace(image, path=None, error="not in the bucket, or the bucket "
                                                       "could not be reached")
        return replace(image, path=str(target))

    def delete(self, image: StoredImage) -> None:
        if image.key and _KEY.fullmatch(image.key):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=image.key)
            except Exception:
                log.warning("a deleted result stays in the bucket: %s", image.key,
                            exc_info=True)
            (self.cache_dir / image.key).unlink(missing_ok=True)


class MirroredStore:
    """The task store whose reads give each result a path on this replica (`ResultMirror`);
    a deleted task's results leave the bucket. Everything else is the store's."""

    def __init__(self, store: Any, mirror: ResultMirror) -> None:
        self._store, self.mirror = store, mirror

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def local(self, record: TaskRecord) -> TaskRecord:
        if not any(image.key for image in record.images):
            return record
        return replace(record, images=tuple(self.mirror.local(i) for i in record.images))

    def _local(self, record: TaskRecord | None) -> TaskRecord | None:
        return None if record is None else self.local(record)

    # `list` is the store's: its rows are scanned for other things (a tab's last task, the
    # ETA) more often than shown; History makes the rows it shows local (`local`).

    def get(self, task_id: str, owner: str | None = None) -> TaskRecord | None:
        return self._local(self._store.get(task_id, owner))

    def active(self, owner: str, **options: Any) -> list[TaskRecord]:
        return [self.local(r) for r in self._store.active(owner, **options)]

    def shared(self, token: str) -> tuple[TaskRecord, int] | None:
        found = self._store.shared(token)
        if found is None:
            return None
        record = self._local(found[0])
        assert record is not None
        return record, found[1]

    def find_image(self, owner: str, pixels: str) -> tuple[TaskRecord, StoredImage] | None:
        found = self._store.find_image(owner, pixels)
        if found is None:
            return None
        record = self._local(found[0])
        assert record is not None
        image = next((i for i in record.images if i.index == found[1].index), found[1])
        return record, image

    def delete(self, task_id: str, owner: str) -> TaskRecord | None:
        deleted = self._store.delete(task_id, owner)
        if deleted is not None:
            for image in deleted.images:
                self.mirror.delete(image)
        return deleted
