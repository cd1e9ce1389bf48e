"""Cover images of the model lists, served by the app itself at
`/api/zhiqite/covers/<key>.webp`: small WebP thumbnails made once and kept on disk.

Why not let the browser load the vendor's URLs: the offline backend's covers live on loopback
(unreachable from a visitor's browser on a Space), and a third-party image host would see
every visitor. Only URLs a model list handed out for a shown entry are ever registered, so
the route is no open proxy and covers of hidden (adult) entries are never fetched."""

from __future__ import annotations

import hashlib
import io
import re
import threading
from pathlib import Path

from webui.core.outputs import Downloader, DownloadError

COVERS_PATH = "/api/zhiqite/covers"
COVER_SIDE = 256
_KEY = re.compile(r"^[0-9a-f]{32}$")


class CoverCache:
    def __init__(self, folder: Path, downloader: Downloader | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.downloader = downloader or Downloader(max_bytes=8 << 20, timeout=(5.0, 15.0),
                                                   retries=1)
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, url: str | None) -> str | None:
        """The app-relative address of a cover (no leading slash: it works under a path
        prefix too), or None without a URL."""
        if not url or not re.match(r"^https?://", url, re.IGNORECASE):
            return None
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        with self._lock:
            self._urls[key] = url
        return f"{COVERS_PATH.lstrip('/')}/{key}.webp"

    def get(self, key: str) -> bytes | None:
        """The thumbnail, fetched and made on first use; None for keys never registered or
        covers that cannot be fetched."""
        if not _KEY.match(key):
            return None
        cached = self.folder / f"{key}.webp"
        try:
            return cached.read_bytes()
        except OSError:
            pass
        with self._lock:
            url = self._urls.get(key)
        if url is None:
            return None
        try:
            image = self.downloader.fetch(url).image
        except DownloadError:
            return None
        image.thumbnail((COVER_SIDE, COVER_SIDE))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "WEBP", quality=80)
        data = buffer.getvalue()
        cached.write_bytes(data)
        return data
