"""Where a picture the service is asked to read comes from.

The API takes image URLs. A picture the service itself made (Send to, a History re-run, a
result dropped in again) is sent on by **its own URL** while that URL still serves it: the
service keeps results for about a month, and then nothing needs hosting, so this works on a
laptop the service cannot reach. Results are found again by a fingerprint of their pixels
(not their bytes: a copy re-encoded by the browser or a JPEG the service sent still matches),
and only among the owner's own tasks. Anything else is hosted (`core/hosting.py`); where no
hosting is possible the refusal names the ways out, before anything is billed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from PIL import Image

from webui.core.hosting import ImageHost, UploadRefused, labelled, to_png
from webui.core.store import TaskStore
from webui.messages import Msg

RESULT_URL_LIFETIME = 28 * 24 * 3600.0  # the service keeps results "a month": stop before
PROBE_TIMEOUT = (3.0, 5.0)
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF", b"GIF8")


def pixel_fingerprint(image: Image.Image) -> str:
    """SHA-256 of the picture's size and RGB pixels: the same for any lossless copy (an RGBA
    copy of an RGB result too). Results are RGB, so theirs needs no conversion (~2.5 ms for
    1024x1024 on this machine)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    digest = hashlib.sha256(f"{rgb.width}x{rgb.height}:".encode())
    digest.update(rgb.tobytes())
    return digest.hexdigest()[:40]


@dataclass(frozen=True)
class Source:
    url: str
    reused: bool  # the service's own result URL (nothing hosted)


class Sources:
    def __init__(self, store: TaskStore, host: Callable[[], ImageHost | None], *,
                 session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.host = host  # None: no way to host (no public URL and no S3)
        self.session = session or requests.Session()
        self.clock = clock

    def result_url(self, owner: str, image: Image.Image) -> str | None:
        """The service's URL of one of the owner's results with these pixels, if it still
        serves an image (a GET of its first bytes: not a billed call)."""
        found = self.store.find_image(owner, pixel_fingerprint(image))
        if found is None:
            return None
        record, stored = found
        if not stored.url or self.clock() - record.created_at > RESULT_URL_LIFETIME:
            return None
        return stored.url if self.serves_image(stored.url) else None

    def serves_image(self, url: str) -> bool:
        try:
            with self.session.get(url, stream=True, timeout=PROBE_TIMEOUT,
                                  headers={"Range": "bytes=0-63"}) as response:
                if response.status_code not in (200, 206):
                    return False
                head = next(response.iter_content(64), b"")
        except requests.RequestException:
            return False
        return head.startswith(_IMAGE_MAGIC)

    def url_for(self, owner: str, image: Image.Image, *, png: bytes | None = None,
                what: str = "Image") -> Source:
        """A URL the service can read the picture at: its own result URL, else a hosted
        copy (PNG). Raises UploadRefused naming the ways out when neither is possible."""
        url = self.result_url(owner, image)
        if url:
            return Source(url, True)
        host = self.host()
        if host is None:
            # the ways out: make the app reachable, host on S3/OSS, or paste a public URL
            raise UploadRefused(labelled(what, Msg("upload.unreachable")))
        return Source(host.host(png or to_png(image)), False)
