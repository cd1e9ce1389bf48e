"""Hosting of uploads: only checked images, served at unguessable expiring URLs by the app's
route (nothing else reachable), or put on S3-compatible storage (moto's server on loopback)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fastapi import FastAPI
from PIL import Image

from tests.helpers.images import gradient, png
from webui.core.hosting import (
    LocalImageHost,
    S3ImageHost,
    UploadRefused,
    prepare_upload,
    s3_host_from_env,
)
from webui.core.routes import uploads_router
from webui.offline.server import ThreadedServer


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_become_png(fmt: str) -> None:
    prepared = prepare_upload(encoded(gradient(40, 30), fmt))
    with Image.open(io.BytesIO(prepared.png)) as image:
        assert image.format == "PNG" and image.size == (40, 30) == (prepared.width,
                                                                     prepared.height)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    prepared = prepare_upload(encoded(gradient(40, 20), "JPEG", exif=exif))
    assert (prepared.width, prepared.height) == (20, 40)


@pytest.mark.parametrize("data, message", [
    (encoded(gradient(20, 20), "GIF"), "GIF files are not accepted"),
    (encoded(gradient(20, 20), "BMP"), "BMP files are not accepted"),
    (b"%PDF-1.4 not an image", "not a readable image"),
    (png(gradient(64, 64))[:60], "damaged or truncated"),
    (encoded(Image.new("1", (5000, 10)), "PNG"), "5000x10 is larger than 4096x4096"),
    (b"\x89PNG" + os.urandom(21 << 20), "21.0 MB is over the 20 MB limit"),
])
def test_refused_uploads_say_why(data: bytes, message: str) -> None:
    with pytest.raises(UploadRefused, match=message):
        prepare_upload(data, "Image")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LocalImageHost, ThreadedServer, Clock]]:
    clock = Clock()
    app = FastAPI()
    box: dict[str, str] = {}
    host = LocalImageHost(tmp_path / "uploads", lambda: box.get("url"), ttl=60, clock=clock)
    app.include_router(uploads_router(host))
    with ThreadedServer(app) as server:
        box["url"] = server.url
        yield host, server, clock


def test_hosted_image_is_served_until_it_expires(served: tuple) -> None:
    host, server, clock = served
    data = prepare_upload(png(gradient(32, 32))).png
    url = host.host(data)
    assert url.startswith(f"{server.url}/api/zhiqite/uploads/") and len(url.rsplit("/")[-1]) > 30
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200 and answer.content == data
    assert answer.headers["content-type"] == "image/png"
    clock.now += 61
    assert requests.get(url, timeout=5).status_code == 404
    assert list(host.folder.glob("*.png")) == []  # and the file is gone


def test_expired_uploads_leave_the_disk_without_being_asked_for(served: tuple) -> None:
    """Nobody fetches most uploads again: hosting a new one sweeps the expired ones (before,
    every upload stayed on disk for good)."""
    host, _, clock = served
    for _ in range(5):
        host.host(prepare_upload(png(gradient(8, 8))).png)
    assert len(list(host.folder.glob("*.png"))) == 5
    clock.now += 61 + 600
    host.host(prepare_upload(png(gradient(8, 8))).png)
    assert len(list(host.folder.glob("*.png"))) == 1


def test_nothing_else_is_reachable(served: tuple, tmp_path: Path) -> None:
    host, server, _ = served
    host.host(prepare_upload(png(gradient(8, 8))).png)
    (tmp_path / "secret.png").write_bytes(b"not yours")
    (host.folder / "short.png").write_bytes(b"not ours either")
    base = f"{server.url}/api/zhiqite/uploads/"
    for name in ("../secret.png", "..%2Fsecret.png", "short.png", "%2e%2e%2fsecret.png",
                 "x" * 40 + ".jpg", "x" * 40 + ".png"):
        assert requests.get(base + name, timeout=5).status_code == 404, name


def test_no_public_address_means_a_clear_refusal(tmp_path: Path) -> None:
    host = LocalImageHost(tmp_path, lambda: None)
    with pytest.raises(UploadRefused, match="ZHIQITE_PUBLIC_URL"):
        host.host(b"png")


def test_s3_upload_and_presigned_url(s3_endpoint: str) -> None:
    env = {"ZHIQITE_S3_BUCKET": "zhiqite-test", "ZHIQITE_S3_ENDPOINT": s3_endpoint,
           "ZHIQITE_S3_ACCESS_KEY_ID": "test", "ZHIQITE_S3_SECRET_ACCESS_KEY": "test",
           "ZHIQITE_S3_REGION": "us-east-1", "ZHIQITE_S3_EXPIRY": "600"}
    host = s3_host_from_env(env)
    assert isinstance(host, S3ImageHost)
    host.client.create_bucket(Bucket="zhiqite-test")
    data = prepare_upload(png(gradient(16, 16))).png
    url = host.host(data)
    assert url.startswith(f"{s3_endpoint}/zhiqite-test/zhiqite-uploads/")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url  # SigV4, as S3 and OSS take
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200 and answer.content == data


def test_s3_settings_are_checked() -> None:
    assert s3_host_from_env({}) is None
    with pytest.raises(ValueError, match="ZHIQITE_S3_EXPIRY must be seconds"):
        s3_host_from_env({"ZHIQITE_S3_BUCKET": "b", "ZHIQITE_S3_EXPIRY": "10"})
