"""Hosting of uploaded images: the API takes image URLs, artists upload files.

`prepare_upload` checks a file (PNG/JPEG/WebP only, verified by decoding; at most 20 MB and
4096x4096, read from the header before anything is decoded: `check_header`, which the UI's
inputs also apply before Gradio decodes; EXIF orientation applied) and makes it a PNG. Then
one of:

- `LocalImageHost`: the app serves it itself at an unguessable URL under its public URL
  (`/api/zhiqite/uploads/<random>.png`), until it expires; the route serves nothing else.
- `S3ImageHost`: any S3-compatible storage (Alibaba Cloud OSS, AWS S3, MinIO) via boto3, with a
  presigned GET URL.

The server never fetches a URL a user typed: a pasted public URL is passed to the API as is.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from PIL import Image, ImageOps

from webui.core.headers import Header, format_name, read_header
from webui.messages import Msg, key_of_text

MAX_UPLOAD_BYTES = 20 << 20
MAX_UPLOAD_SIDE = 4096
ACCEPTED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP"}
UPLOADS_PATH = "/api/zhiqite/uploads"
PRUNE_EVERY = 600.0  # seconds between sweeps of expired uploads (done while hosting one)
_NAME = re.compile(r"^[A-Za-z0-9_-]{32,64}\.png$")


class UploadRefused(ValueError):
    """Why, for the user: `.msg`, rendered in the visitor's language where it is shown
    (`str()` is the English)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(str(msg))
        self.msg = msg


def field_label(english: str) -> Msg | str:
    """A field's label as written in the code ("Image"), as a message parameter: the
    catalogue's label when it has one (rendered "图像" in Chinese), else the text as it is."""
    key = key_of_text(english)
    return Msg(key) if key else english


def labelled(label: str | Msg, text: Msg) -> Msg:
    """"<label>: <text>": a refusal named by the field it is about."""
    return Msg("field.labelled", label=field_label(label) if isinstance(label, str) else label,
               text=text)


@dataclass(frozen=True)
class PreparedImage:
    png: bytes
    width: int
    height: int
    image: Image.Image  # the decoded, upright picture (to find it among the results)


def check_header(stream: BinaryIO, size: int, what: str = "image",
                 max_bytes: int | None = MAX_UPLOAD_BYTES) -> Header:
    """What can be refused without decoding: the size in bytes, the format, the pixels (from
    the header alone; `webui/core/headers.py`). A decompression bomb stops here."""
    if max_bytes is not None and size > max_bytes:
        megabytes = f"{size / (1 << 20):.1f}"
        raise UploadRefused(labelled(what, Msg("upload.too_large", size=megabytes,
                                               limit=max_bytes >> 20)))
    header = read_header(stream)
    if header is None:
        kind = format_name(stream)
        if kind and kind not in ACCEPTED_FORMATS:
            raise UploadRefused(labelled(what, Msg("upload.format_refused", format=kind)))
        raise UploadRefused(labelled(what, Msg("upload.unreadable")))
    if header.width > MAX_UPLOAD_SIDE or header.height > MAX_UPLOAD_SIDE:
        raise UploadRefused(labelled(what, Msg(
            "upload.too_many_pixels", width=header.width, height=header.height,
            max_width=MAX_UPLOAD_SIDE, max_height=MAX_UPLOAD_SIDE)))
    return header


def prepare_upload(data: bytes, what: str = "image") -> PreparedImage:
    check_header(io.BytesIO(data), len(data), what)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        raise UploadRefused(labelled(what, Msg("upload.damaged"))) from None
    return PreparedImage(to_png(upright), upright.width, upright.height, upright)


def to_png(image: Image.Image) -> bytes:
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class ImageHost(Protocol):
    def host(self, png: bytes) -> str:
        """Store a prepared PNG; return a URL the service can fetch until it expires."""


class LocalImageHost:
    """Files in `<data dir>/uploads/`; each file's mtime is its expiry time, so a restart
    keeps every URL that was handed out valid until then."""

    def __init__(self, folder: Path, public_url: Callable[[], str | None],
                 ttl: float = 24 * 3600, clock: Callable[[], float] = time.time) -> None:
        self.folder, self.public_url, self.ttl, self.clock = folder, public_url, ttl, clock
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pruned_at = float("-inf")

    def host(self, png: bytes) -> str:
        base = self.public_url()
        if not base:
            raise UploadRefused(Msg("upload.no_public_url"))
        if self.clock() - self._pruned_at > PRUNE_EVERY:  # expired uploads leave the disk
            self._pruned_at = self.clock()
            self.prune()
        name = f"{secrets.token_urlsafe(24)}.png"
        path = self.folder / name
        path.write_bytes(png)
        expires = self.clock() + self.ttl
        os.utime(path, (expires, expires))
        return f"{base.rstrip('/')}{UPLOADS_PATH}/{name}"

    def file(self, name: str) -> Path | None:
        """The file behind a URL, if the name is one of ours and it has not expired."""
        if not _NAME.match(name):
            return None
        path = self.folder / name
        try:
            expires = path.stat().st_mtime
        except OSError:
            return None
        if expires <= self.clock():
            path.unlink(missing_ok=True)
            return None
        return path

    def path_for(self, url: str | None) -> Path | None:
        """The file behind one of our own upload URLs (to show what a tool task started from),
        while it lasts."""
        base = self.public_url()
        prefix = f"{(base or '').rstrip('/')}{UPLOADS_PATH}/"
        if not base or not url or not url.startswith(prefix):
            return None
        return self.file(url[len(prefix):])

    def prune(self) -> int:
        """Delete expired uploads; returns how many."""
        removed = 0
        for path in self.folder.glob("*.png"):
            try:
                expired = path.stat().st_mtime <= self.clock()
            except OSError:  # removed meanwhile
                continue
            if expired:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class S3ImageHost:
    def __init__(self, bucket: str, *, endpoint_url: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 region: str | None = None, prefix: str = "zhiqite-uploads/",
                 expiry: int = 24 * 3600, client: Any = None) -> None:
        if client is None:
            import boto3  # optional dependency: pip install -e .[s3]
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                                  aws_access_key_id=access_key_id,
                                  aws_secret_access_key=secret_access_key,
                                  # a bucket away must not hold a request for minutes
                                  config=Config(signature_version="s3v4", connect_timeout=5,
                                                read_timeout=30,
                                                retries={"max_attempts": 3}))
        self.client, self.bucket, self.prefix, self.expiry = client, bucket, prefix, expiry

    def host(self, png: bytes) -> str:
        key = f"{self.prefix}{secrets.token_urlsafe(24)}.png"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=png, ContentType="image/png")
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.expiry)


def s3_host_from_env(env: Mapping[str, str]) -> S3ImageHost | None:
    """ZHIQITE_S3_BUCKET (required), ZHIQITE_S3_ENDPOINT, ZHIQITE_S3_ACCESS_KEY_ID,
    ZHIQITE_S3_SECRET_ACCESS_KEY, ZHIQITE_S3_REGION, ZHIQITE_S3_PREFIX, ZHIQITE_S3_EXPIRY."""
    bucket = env.get("ZHIQITE_S3_BUCKET", "").strip()
    if not bucket:
        return None
    expiry = env.get("ZHIQITE_S3_EXPIRY", "86400").strip()
    if not expiry.isdigit() or not 60 <= int(expiry) <= 7 * 86400:
        raise ValueError(f"ZHIQITE_S3_EXPIRY must be seconds in [60, 604800], got {expiry!r}")
    return S3ImageHost(bucket, endpoint_url=env.get("ZHIQITE_S3_ENDPOINT") or None,
                       access_key_id=env.get("ZHIQITE_S3_ACCESS_KEY_ID") or None,
                       secret_access_key=env.get("ZHIQITE_S3_SECRET_ACCESS_KEY") or None,
                       region=env.get("ZHIQITE_S3_REGION") or None,
                       prefix=env.get("ZHIQITE_S3_PREFIX", "zhiqite-uploads/"),
                       expiry=int(expiry))


def is_public_url(text: str) -> bool:
    return bool(re.match(r"^https?://[^\s/]+", (text or "").strip(), re.IGNORECASE))
