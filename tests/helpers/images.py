"""Test pictures made on the spot: no downloads, no binary fixtures."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def drawn_face(size: int = 256, skin: tuple[int, int, int] = (224, 180, 150),
               background: tuple[int, int, int] = (70, 90, 120)) -> Image.Image:
    """A cartoon face that OpenCV's Haar cascade detects (checked at 128-400 px)."""
    im = Image.new("RGB", (size, size), background)
    d = ImageDraw.Draw(im)
    s = size
    d.ellipse((s * 0.2, s * 0.1, s * 0.8, s * 0.92), fill=skin)
    d.ellipse((s * 0.18, s * 0.02, s * 0.82, s * 0.38), fill=(60, 40, 30))
    d.rectangle((s * 0.25, s * 0.3, s * 0.75, s * 0.38), fill=skin)
    for x in (0.36, 0.64):
        d.rectangle((s * (x - 0.09), s * 0.36, s * (x + 0.09), s * 0.385), fill=(50, 35, 25))
        d.ellipse((s * (x - 0.07), s * 0.42, s * (x + 0.07), s * 0.5), fill=(255, 255, 255))
        d.ellipse((s * (x - 0.035), s * 0.43, s * (x + 0.035), s * 0.495), fill=(40, 30, 30))
    d.polygon([(s * 0.5, s * 0.48), (s * 0.45, s * 0.64), (s * 0.55, s * 0.64)],
              fill=tuple(int(c * 0.85) for c in skin))
    d.ellipse((s * 0.38, s * 0.72, s * 0.62, s * 0.79), fill=(150, 60, 60))
    return im.filter(ImageFilter.GaussianBlur(2))


def gradient(width: int, height: int) -> Image.Image:
    """A smooth colour ramp: any change to it is easy to see and measure."""
    xs = np.linspace(0, 255, width, dtype=np.float32)
    ys = np.linspace(0, 255, height, dtype=np.float32)
    r = np.tile(xs, (height, 1))
    g = np.tile(ys[:, None], (1, width))
    b = np.full((height, width), 128, np.float32)
    return Image.fromarray(np.dstack([r, g, b]).astype(np.uint8), "RGB")


def rectangle_mask(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle(box, fill=255)
    return mask


def outline(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    """Black picture with one white rectangle outline: Canny finds exactly its edges."""
    img = Image.new("RGB", (width, height), (0, 0, 0))
    ImageDraw.Draw(img).rectangle(box, outline=(255, 255, 255), width=4)
    return img
