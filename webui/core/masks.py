"""Masks for inpainting: white = repaint, black = keep, at the init image's size."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageChops


def mask_from_layers(layers: list[Image.Image], size: tuple[int, int]) -> Image.Image | None:
    """The painted layers' alpha, as a black/white mask; None when nothing is painted."""
    alpha: Image.Image | None = None
    for layer in layers:
        if layer is None:
            continue
        channel = layer.getchannel("A") if "A" in layer.getbands() else layer.convert("L")
        alpha = channel if alpha is None else ImageChops.lighter(alpha, channel)
    if alpha is None or alpha.getbbox() is None:
        return None
    mask = alpha.point(lambda value: 255 if value > 0 else 0).convert("L")
    return mask if mask.size == size else mask.resize(size, Image.Resampling.NEAREST)


def mask_from_editor(value: Any) -> tuple[Image.Image | None, Image.Image | None]:
    """(init image, mask) from a gr.ImageEditor value (type "pil")."""
    if not isinstance(value, dict) or value.get("background") is None:
        return None, None
    background: Image.Image = value["background"]
    init = background.convert("RGB")
    return init, mask_from_layers(list(value.get("layers") or []), init.size)


def mask_from_upload(image: Image.Image, size: tuple[int, int]) -> Image.Image | None:
    """An uploaded mask: its alpha if it has one that is used, else its brightness."""
    if "A" in image.getbands() and image.getchannel("A").getextrema()[0] < 255:
        grey = image.getchannel("A")
    else:
        grey = image.convert("L")
    mask = grey.point(lambda value: 255 if value >= 128 else 0)
    if mask.getbbox() is None:
        return None
    return mask if mask.size == size else mask.resize(size, Image.Resampling.NEAREST)
