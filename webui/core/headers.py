"""An image's format and size read from its header, without decoding anything.

PNG (the IHDR chunk), JPEG (the first frame header, SOFn) and WebP (its VP8, VP8L or VP8X
chunk): the formats the app accepts. Pillow's `Image.open` reads headers too, but it applies
its process-wide bomb limit (a warning or an error instead of the size) and, for WebP, builds a
decoder with the whole canvas allocated before anyone can look at the size. This reads a few
bytes (a JPEG: its marker segments, skipped by seeking) and nothing else.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (C4, C8 and CC are not frames)
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_NO_LENGTH = {0x01, 0xD8, *range(0xD0, 0xD8)}  # TEM, SOI, RSTn: markers without a segment


@dataclass(frozen=True)
class Header:
    format: str  # Pillow's name: "PNG", "JPEG" or "WEBP"
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(stream: BinaryIO) -> Header | None:
    """The header of a PNG, JPEG or WebP from the stream's start; None for anything else, or
    a header that is cut short or inconsistent."""
    stream.seek(0)
    head = stream.read(30)
    if head.startswith(PNG_SIGNATURE):
        header = _png(head)
    elif head.startswith(b"\xff\xd8"):
        header = _jpeg(stream)
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        header = _webp(head)
    else:
        header = None
    return header if header and header.width > 0 and header.height > 0 else None


def format_name(stream: BinaryIO) -> str | None:
    """Pillow's name for a file that is not PNG, JPEG or WebP (GIF, BMP, TIFF...) when Pillow
    can read its header: to say which format is not accepted. None for anything else, among
    them a PNG, JPEG or WebP whose header `read_header` could not read (never handed to
    Pillow, whose WebP reader allocates the canvas before the size is known)."""
    stream.seek(0)
    head = stream.read(12)
    if head.startswith((PNG_SIGNATURE, b"\xff\xd8")) or (head[:4] == b"RIFF"
                                                        and head[8:12] == b"WEBP"):
        return None
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a bomb in another format: refused, unnamed
            with Image.open(stream) as image:
                return image.format
    except Exception:  # noqa: BLE001 - whatever Pillow cannot read is simply not named
        return None


def _png(head: bytes) -> Header | None:
    if len(head) < 24 or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return Header("PNG", width, height)


def _jpeg(stream: BinaryIO) -> Header | None:
    """Walk the marker segments after SOI to the first frame header; None at the scan, at the
    end or at a cut."""
    stream.seek(2)
    while True:
        byte = stream.read(1)
        if not byte:
            return None
        if byte != b"\xff":  # junk between segments, which decoders skip
            continue
        marker = stream.read(1)
        while marker == b"\xff":  # fill bytes
            marker = stream.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in _NO_LENGTH:
            continue
        if code in (0xD9, 0xDA):  # end of image, or a scan before any frame header
            return None
        length = stream.read(2)
        if len(length) < 2 or (size := int.from_bytes(length, "big")) < 2:
            return None
        if code in _SOF:
            frame = stream.read(5)  # precision, height, width
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return Header("JPEG", width, height)
        stream.seek(size - 2, 1)


def _webp(head: bytes) -> Header | None:
    if len(head) < 30:
        return None
    kind, payload = head[12:16], head[20:30]
    if kind == b"VP8 ":  # lossy: a key frame's start code, then 14-bit sizes
        if payload[3:6] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", payload[6:10])
        return Header("WEBP", width & 0x3FFF, height & 0x3FFF)
    if kind == b"VP8L":  # lossless: signature, then 14-bit sizes minus one
        if payload[0] != 0x2F:
            return None
        bits = int.from_bytes(payload[1:5], "little")
        return Header("WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":  # extended: the canvas, 24-bit sizes minus one
        return Header("WEBP", int.from_bytes(payload[4:7], "little") + 1,
                      int.from_bytes(payload[7:10], "little") + 1)
    return None
