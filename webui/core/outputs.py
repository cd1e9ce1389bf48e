"""Result images: downloaded at once (the service's URLs expire), verified, and saved as PNG with
A1111 infotext under `outputs/<tab>/<YYYY-MM-DD>/<NNNNN>-<seed>.png`."""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from PIL import Image, PngImagePlugin
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from webui.api.endpoints import ENDPOINTS
from webui.messages import Msg

if TYPE_CHECKING:
    from webui.core.result_files import ResultMirror

MAX_DOWNLOAD_BYTES = 40 << 20
MAX_PIXELS = 4096 * 4096  # the largest result the service makes (2048 hires x 2 for extras)
DOWNLOAD_TIMEOUT = (5.0, 30.0)  # connect, read


class DownloadError(Exception):
    """`transient`: worth trying again later (network, 5xx); otherwise the image is lost
    (404, expired, not an image)."""

    def __init__(self, msg: Msg, *, transient: bool) -> None:
        super().__init__(str(msg))
        self.msg, self.transient = msg, transient


@dataclass(frozen=True)
class Downloaded:
    image: Image.Image
    data: bytes  # as served: a PNG is kept byte for byte, only the infotext chunk is added


class Downloader:
    """Bounded in bytes, pixels and time; retries connection errors and 5xx a few times."""

    def __init__(self, *, max_bytes: int = MAX_DOWNLOAD_BYTES, max_pixels: int = MAX_PIXELS,
                 timeout: tuple[float, float] = DOWNLOAD_TIMEOUT, retries: int = 3,
                 backoff: float = 0.2) -> None:
        self.max_bytes, self.max_pixels, self.timeout = max_bytes, max_pixels, timeout
        self.session = requests.Session()
        retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                      allowed_methods=("GET",), raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def fetch(self, url: str) -> Downloaded:
        if not re.match(r"^https?://", url or "", re.IGNORECASE):
            raise DownloadError(Msg("download.not_http", url=repr(url[:80])), transient=False)
        try:
            with self.session.get(url, stream=True, timeout=self.timeout) as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise DownloadError(Msg("download.server_error", status=response.status_code),
                                        transient=True)
                if response.status_code != 200:
                    raise DownloadError(Msg("download.gone", status=response.status_code),
                                        transient=False)
                data = self._read(response)
        except requests.RequestException as exc:
            raise DownloadError(Msg("download.failed", error=type(exc).__name__),
                                transient=True) from exc
        return Downloaded(decode(data, self.max_pixels), data)

    def _read(self, response: requests.Response) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise DownloadError(self._too_large(), transient=False)
        buffer = bytearray()
        for chunk in response.iter_content(64 << 10):
            buffer += chunk
            if len(buffer) > self.max_bytes:
                raise DownloadError(self._too_large(), transient=False)
        return bytes(buffer)

    def _too_large(self) -> Msg:
        return Msg("download.too_large", megabytes=self.max_bytes >> 20)

    def serves_image(self, url: str) -> bool:
        """Ruling 5's probe: does this URL serve an image yet? (Not a billed call.)"""
        try:
            self.fetch(url)
        except DownloadError:
            return False
        return True


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode and fully load an image, refusing decompression bombs before any pixel is made."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise DownloadError(Msg("download.too_many_pixels", width=width, height=height,
                                    pixels=max_pixels), transient=False)
        image.load()
    except DownloadError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DownloadError(Msg("download.unreadable", error=str(exc)), transient=False) from exc
    return image


class OutputWriter:
    """Numbers files per folder like A1111 (00000-<seed>.png, 00001-...). Safe for threads and
    for two processes writing the same folder (a taken number is skipped)."""

    def __init__(self, root: Path | str, mirror: ResultMirror | None = None) -> None:
        self.root = Path(root)
        self.mirror = mirror  # result_files.ResultMirror: a copy of each result in a bucket
        self._lock = threading.Lock()
        self._next: dict[Path, int] = {}

    def publish(self, path: Path) -> str | None:
        """The saved result's key in the bucket, when results go to one (None otherwise, or
        when the put failed: the file is still here)."""
        return self.mirror.put(path) if self.mirror is not None else None

    def folder(self, kind: str, day: dt.date | None = None) -> Path:
        return self.root / folder_of(kind) / (day or dt.date.today()).isoformat()

    def save(self, kind: str, image: Image.Image, seed: int | None, infotext: str,
             day: dt.date | None = None, original: bytes | None = None) -> Path:
        """`original`: the bytes the image was decoded from; a PNG is then kept as served
        (no second encode, the slow part) with the infotext chunk added."""
        folder = self.folder(kind, day)
        folder.mkdir(parents=True, exist_ok=True)
        if original is not None and original.startswith(PNG_SIGNATURE):
            data = png_with_text(original, "parameters", infotext)
        else:
            data = png_bytes(image, infotext)
        with self._lock:
            number = self._next.get(folder)
            if number is None:
                number = _next_number(folder)
            while True:
                taken = any(folder.glob(f"{number:05d}-*")) or (folder / f"{number:05d}.png"
                                                                 ).exists()
                if taken:  # by another process meanwhile
                    number += 1
                    continue
                suffix = f"-{seed}" if seed is not None else ""  # tools report no seed
                path = folder / f"{number:05d}{suffix}.png"
                try:
                    with open(path, "xb") as file:  # exclusive: never overwrite
                        file.write(data)
                    break
                except FileExistsError:
                    number += 1
            self._next[folder] = number + 1
        return path


def folder_of(kind: str) -> str:
    """The tab folder of a task kind (`Endpoint.folder`, as A1111 names its output folders)."""
    endpoint = ENDPOINTS.get(kind)
    return endpoint.folder if endpoint is not None and endpoint.folder else kind


def png_bytes(image: Image.Image, infotext: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    if infotext:
        info.add_itxt("parameters", infotext)  # iTXt: UTF-8, as A1111 writes non-ASCII prompts
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS = (b"tEXt", b"iTXt", b"zTXt")


def png_with_text(png: bytes, keyword: str, text: str) -> bytes:
    """The PNG with one iTXt chunk `keyword` = `text` (UTF-8) right after IHDR, any earlier
    text chunk of that keyword dropped. The image data is untouched."""
    chunks: list[bytes] = []
    position, key = len(PNG_SIGNATURE), keyword.encode("latin-1")
    while position + 8 <= len(png):
        length = struct.unpack(">I", png[position:position + 4])[0]
        kind = png[position + 4:position + 8]
        end = position + 12 + length
        body = png[position + 8:position + 8 + length]
        if not (kind in _TEXT_CHUNKS and body.split(b"\0", 1)[0] == key):
            chunks.append(png[position:end])
        if kind == b"IHDR" and text:
            payload = key + b"\0\0\0" + b"\0" + b"\0" + text.encode("utf-8")
            chunks.append(struct.pack(">I", len(payload)) + b"iTXt" + payload
                          + struct.pack(">I", zlib.crc32(b"iTXt" + payload)))
        position = end
        if kind == b"IEND":
            break
    return PNG_SIGNATURE + b"".join(chunks)


def read_infotext(path_or_bytes: Path | str | bytes) -> str | None:
    """The `parameters` text of a PNG (ours or A1111's)."""
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with Image.open(source) as image:
        image.load()
        return image.info.get("parameters")


def _next_number(folder: Path) -> int:
    numbers = [int(match.group(1)) for p in folder.iterdir()
               if (match := re.match(r"^(\d{5,})[-.]", p.name))]
    return max(numbers, default=-1) + 1
