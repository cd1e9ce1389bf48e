"""Fetch an image URL the way a careful service does: bounded in time and size, decoded
with a decompression-bomb limit, and every failure turned into one readable reason."""

from __future__ import annotations

import io
import ipaddress
import warnings
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}


class FetchError(Exception):
    pass


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
                raise FetchError(f"{what} is a {img.format} file; PNG, JPEG or WebP expected")
            if img.width * img.height > max_pixels:
                raise FetchError(f"{what} is {img.width}x{img.height}, more than "
                                 f"{max_pixels} pixels")
            img.load()
    except FetchError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FetchError(f"{what} is too large to decode (decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise FetchError(f"{what} is not a readable image ({type(exc).__name__})") from None
    return img


def same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, (a.hostname or "").lower(), a.port) == \
        (b.scheme, (b.hostname or "").lower(), b.port)


UNREACHABLE = ("{what} URL cannot be reached from the service (this offline backend plays a "
               "service that cannot reach the app's host)")


async def fetch_image(client: httpx.AsyncClient, url: str, *, max_bytes: int, max_pixels: int,
                      what: str = "image", allow_public: bool = False,
                      only_origin: str | None = None) -> Image.Image:
    if only_origin is not None and not same_origin(url, only_origin):
        raise FetchError(UNREACHABLE.format(what=what))
    if not allow_public and not is_loopback_url(url):
        raise FetchError(f"{what} URL is not on this machine; the offline backend fetches only "
                         "loopback URLs (start it with --allow-public-urls to fetch others)")
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchError(f"{what} URL answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{what} is {int(declared)} bytes, more than {max_bytes}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"{what} is more than {max_bytes} bytes")
                chunks.append(chunk)
    except httpx.TimeoutException:
        raise FetchError(f"{what} URL did not answer in time") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{what} URL could not be fetched ({type(exc).__name__})") from None
    return decode_image(b"".join(chunks), max_pixels, what)
