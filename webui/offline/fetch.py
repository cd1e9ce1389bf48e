"""Fetch an image URL the way a careful service does: bounded in time and size, decoded
with a decompression-bomb limit.

Every failure reads the same to whoever submitted the task ("could not fetch the init
image"), whatever the cause: a refused connection, a timeout, a 404, a page that is not an
image, a host it may not reach. Otherwise the failure reason would tell a closed port from an
open one, and the backend would scan the machine's loopback ports for anyone who can submit
a task. The cause is logged at debug level."""

from __future__ import annotations

import io
import ipaddress
import logging
import warnings
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}
FAILED = "could not fetch the {what}"
MAX_REDIRECTS = 3

log = logging.getLogger(__name__)


class FetchError(Exception):
    """`str()` is the one public reason; `detail` the cause, for the log only."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(FAILED.format(what=what))
        self.what, self.detail = what, detail


def is_loopback_url(url: str) -> bool:
    """By the literal host only: no DNS lookup is made to decide."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def decode_image(data: bytes, max_pixels: int, what: str = "image") -> Image.Image:
    """Decode, refusing bombs before the pixels are allocated."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ALLOWED_FORMATS:
                raise FetchError(what, f"a {img.format} file; PNG, JPEG or WebP expected")
            if img.width * img.height > max_pixels:
                raise FetchError(what, f"{img.width}x{img.height}, more than "
                                       f"{max_pixels} pixels")
            img.load()
    except FetchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FetchError(what, "too large to decode (decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise FetchError(what, f"not a readable image ({type(exc).__name__})") from None
    return img


def same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, (a.hostname or "").lower(), a.port) == \
        (b.scheme, (b.hostname or "").lower(), b.port)


async def fetch_image(client: httpx.AsyncClient, url: str, *, max_bytes: int, max_pixels: int,
                      what: str = "image", allow_public: bool = False,
                      only_origin: str | None = None) -> Image.Image:
    """The decoded image, or FetchError with the one public reason (the cause logged)."""
    try:
        return await _fetch(client, url, max_bytes=max_bytes, max_pixels=max_pixels, what=what,
                            allow_public=allow_public, only_origin=only_origin)
    except FetchError as exc:
        log.debug("%s not fetched: %s", what, exc.detail)
        raise
    # a URL httpx cannot use (a bad port, a broken IPv6 literal): the same answer
    except (httpx.InvalidURL, ValueError, OSError, ExceptionGroup) as exc:
        log.debug("%s not fetched: %s", what, type(exc).__name__)
        raise FetchError(what, type(exc).__name__) from None


async def _fetch(client: httpx.AsyncClient, url: str, *, max_bytes: int, max_pixels: int,
                 what: str, allow_public: bool, only_origin: str | None) -> Image.Image:
    # Redirects are followed here, each target checked as the first URL was.
    for _ in range(MAX_REDIRECTS + 1):
        if only_origin is not None and not same_origin(url, only_origin):
            raise FetchError(what, "not the app's own origin (this offline backend plays a "
                                   "service that cannot reach the app's host)")
        if not allow_public and not is_loopback_url(url):
            raise FetchError(what, "not a loopback URL (start the offline backend with "
                                   "--allow-public-urls to fetch others)")
        try:
            async with client.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect and response.next_request is not None:
                    url = str(response.next_request.url)
                    continue
                if response.status_code != 200:
                    raise FetchError(what, f"HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(what, f"{int(declared)} bytes, more than {max_bytes}")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(what, f"more than {max_bytes} bytes")
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise FetchError(what, "no answer in time") from None
        except httpx.HTTPError as exc:
            raise FetchError(what, type(exc).__name__) from None
        return decode_image(b"".join(chunks), max_pixels, what)
    raise FetchError(what, f"more than {MAX_REDIRECTS} redirects")
