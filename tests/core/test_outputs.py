"""Downloading results (bounded, verified) and saving them as A1111 does."""

from __future__ import annotations

import io
import os
import socket
import threading
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.images import gradient, png
from tests.helpers.servers import ImageHost
from webui.core.outputs import (
    Downloader,
    DownloadError,
    OutputWriter,
    decode,
    read_infotext,
)


def noise(width: int, height: int) -> Image.Image:
    """Incompressible pixels: the PNG is about 3 bytes per pixel."""
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def free_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/x.png"


def test_download_verifies_the_image(image_host: ImageHost) -> None:
    got = Downloader().fetch(image_host.put(png(gradient(64, 32))))
    assert got.image.size == (64, 32)


@pytest.mark.parametrize("case, transient", [("404", False), ("not an image", False),
                                             ("too large", False), ("refused", True),
                                             ("ftp", False)])
def test_download_errors_say_whether_to_try_again(image_host: ImageHost, case: str,
                                                  transient: bool) -> None:
    url = {"404": image_host.missing_url(),
           "not an image": image_host.put(b"<html>hello</html>", "text/html"),
           "too large": image_host.put(png(noise(100, 100))),
           "refused": free_port_url(),
           "ftp": "ftp://127.0.0.1/x.png"}[case]
    with pytest.raises(DownloadError) as caught:
        Downloader(max_bytes=10_000, retries=0).fetch(url)
    assert caught.value.transient is transient


def test_decompression_bombs_are_refused_before_decoding() -> None:
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, "PNG")  # 25 Mpx in a few kB
    with pytest.raises(DownloadError, match="5000x5000"):
        decode(buffer.getvalue())
    with pytest.raises(DownloadError, match="not a readable image"):
        decode(png(noise(64, 64))[:2000])  # truncated


def test_files_are_numbered_per_folder_and_never_overwritten(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path)
    folder = writer.folder("text2image")
    folder.mkdir(parents=True)
    (folder / "00007-1.png").write_bytes(b"earlier run")
    first = writer.save("text2image", gradient(8, 8), 42, "p\nSteps: 1, Sampler: x, Seed: 42")
    assert first.name == "00008-42.png" and first.parent == folder
    assert folder.parent.name == "txt2img"
    # another process took the next number meanwhile
    (folder / "00009-5.png").write_bytes(b"other process")
    assert writer.save("text2image", gradient(8, 8), 43, "").name == "00010-43.png"
    assert (folder / "00007-1.png").read_bytes() == b"earlier run"


def test_parallel_saves_get_distinct_files(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path)
    paths: list[Path] = []
    lock = threading.Lock()

    def save(n: int) -> None:
        for k in range(5):
            path = writer.save("enhance", gradient(8, 8), n * 10 + k, "")
            with lock:
                paths.append(path)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 40 and all(p.parent.parent.name == "extras" for p in paths)


def test_infotext_is_a_utf8_parameters_chunk(tmp_path: Path) -> None:
    text = "一只猫 🐱\nNegative prompt: 模糊\nSteps: 20, Sampler: Euler a, Seed: 7"
    path = OutputWriter(tmp_path).save("text2image", gradient(16, 16).convert("P"), 7, text)
    assert read_infotext(path) == text
    with Image.open(path) as image:
        assert image.format == "PNG" and image.info["parameters"] == text


def test_a_served_png_is_kept_byte_for_byte_with_the_infotext_added(tmp_path: Path) -> None:
    original = png(noise(32, 16))
    tagged = OutputWriter(tmp_path).save("text2image", decode(original), 3, "p\nSeed: 3",
                                         original=original)
    data = tagged.read_bytes()
    assert read_infotext(tagged) == "p\nSeed: 3"
    with Image.open(tagged) as image:
        assert image.tobytes() == decode(original).tobytes()
    # only a chunk was added: the IDAT data is the same bytes
    assert original[33:] in data and len(data) > len(original)
    # saving it again replaces the infotext instead of adding a second one
    again = OutputWriter(tmp_path).save("text2image", decode(data), 3, "q\nSeed: 3",
                                        original=data)
    assert read_infotext(again) == "q\nSeed: 3" and again.read_bytes().count(b"iTXt") == 1


def test_each_kind_saves_to_its_tab_folder(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path)
    assert [writer.folder(kind).parent.name for kind in
            ("text2image", "image2image", "controlnet", "enhance", "roop", "other")] == [
        "txt2img", "img2img", "controlnet", "extras", "faceswap", "other"]
