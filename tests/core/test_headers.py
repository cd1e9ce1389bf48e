"""Image headers read without decoding (`core/headers.py`) and the upload checks made from them
(`core/hosting.check_header`): the same sizes Pillow reports, and a bomb refused by its size
before a single pixel is decoded."""

from __future__ import annotations

import io
import random
import warnings

import pytest
from PIL import Image

from webui.core.headers import Header, read_header
from webui.core.hosting import UploadRefused, check_header, prepare_upload


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


SAMPLES = [  # (format, save options, modes)
    ("PNG", {}, ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")),
    ("JPEG", {}, ("L", "RGB", "CMYK")),
    ("JPEG", {"progressive": True}, ("RGB",)),
    ("JPEG", {"exif": b"Exif\0\0" + bytes(60000)}, ("RGB",)),  # a long segment to skip
    ("JPEG", {"icc_profile": bytes(200_000)}, ("RGB",)),  # the profile over several segments
    ("WEBP", {}, ("RGB",)),  # VP8
    ("WEBP", {"lossless": True}, ("RGB", "RGBA")),  # VP8L
    ("WEBP", {"exif": b"Exif\0\0abcd"}, ("RGBA",)),  # VP8X
]


@pytest.mark.parametrize("fmt, options, modes", SAMPLES)
@pytest.mark.parametrize("size", [(1, 1), (37, 5), (300, 200), (4096, 3), (3, 16383)])
def test_the_header_gives_what_pillow_sees(fmt: str, options: dict[str, object],
                                           modes: tuple[str, ...], size: tuple[int, int]
                                           ) -> None:
    for mode in modes:
        data = encoded(Image.new(mode, size), fmt, **options)
        with Image.open(io.BytesIO(data)) as image:
            expected = Header("WEBP" if fmt == "WEBP" else fmt, *image.size)
        assert read_header(io.BytesIO(data)) == expected, mode


def test_animated_webp_gives_its_canvas() -> None:
    frames = [Image.new("RGBA", (120, 90), colour) for colour in ("red", "blue")]
    data = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    assert read_header(io.BytesIO(data)) == Header("WEBP", 120, 90)


def test_cut_or_damaged_headers_give_nothing_or_the_truth() -> None:
    """Every prefix, and 2000 randomly damaged copies, of each format: no exception, and a
    header only when the bytes still say so."""
    rng = random.Random(17)
    for fmt, options in (("PNG", {}), ("JPEG", {}), ("WEBP", {}), ("WEBP", {"lossless": True})):
        data = encoded(Image.new("RGB", (50, 40)), fmt, **options)
        for cut in range(len(data)):
            header = read_header(io.BytesIO(data[:cut]))
            assert header is None or (header.width, header.height) == (50, 40)
        for _ in range(2000):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            read_header(io.BytesIO(bytes(damaged)))


def test_a_bomb_is_refused_by_its_header(no_decoding: None) -> None:
    bomb = encoded(Image.new("1", (13000, 13000)), "PNG")  # 20 kB
    with pytest.raises(UploadRefused, match=r"^Source: 13000x13000 is larger than 4096x4096$"):
        check_header(io.BytesIO(bomb), len(bomb), "Source")
    with pytest.raises(UploadRefused, match="13000x13000 is larger than 4096x4096"):
        prepare_upload(bomb, "Source")


def test_a_webp_bomb_is_refused_without_a_decoder(no_decoding: None) -> None:
    """Pillow's open builds a WebP decoder with the canvas allocated: the header alone is
    read here (a VP8X header claiming 16384x16384)."""
    data = encoded(Image.new("RGBA", (8, 8)), "WEBP", exif=b"Exif\0\0ab")
    assert data[12:16] == b"VP8X"
    bomb = data[:24] + (16383).to_bytes(3, "little") * 2 + data[30:]
    with pytest.raises(UploadRefused, match="16384x16384 is larger than 4096x4096"):
        check_header(io.BytesIO(bomb), len(bomb), "Image")


def test_sizes_stay_exact_under_pillows_own_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the app's Pillow limit in force (ui/inputs.guard_pillow), where Image.open would
    refuse a bomb as unreadable, the refusal still says how large it is."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2 * 4096 * 4096)
    bomb = encoded(Image.new("1", (13000, 13000)), "PNG")
    with pytest.raises(UploadRefused, match="13000x13000 is larger than 4096x4096"):
        prepare_upload(bomb, "Image")


@pytest.mark.parametrize("data, message", [
    (encoded(Image.new("RGB", (20, 20)), "GIF"), "^Image: GIF files are not accepted"),
    (b"just some notes, not a picture", r"^Image: not a readable image \(PNG, JPEG or WebP\)$"),
    (b"GIF89a not really", r"^Image: not a readable image"),  # named only when Pillow reads it
    (b"\x89PNG\r\n\x1a\n" + bytes(40), r"^Image: not a readable image"),  # no IHDR
    (encoded(Image.new("L", (5000, 16)), "PNG"), "^Image: 5000x16 is larger than 4096x4096$"),
])
def test_refusals_say_why(data: bytes, message: str, no_decoding: None) -> None:
    with pytest.raises(UploadRefused, match=message):
        check_header(io.BytesIO(data), len(data), "Image")


def test_bytes_are_checked_first_unless_unbounded() -> None:
    data = encoded(Image.new("RGB", (64, 64)), "PNG")
    with pytest.raises(UploadRefused, match=r"^Image: 21\.0 MB is over the 20 MB limit$"):
        check_header(io.BytesIO(data), 21 << 20, "Image")
    assert check_header(io.BytesIO(data), 30 << 20, "Image", max_bytes=None) == \
        Header("PNG", 64, 64)


def test_reading_a_header_raises_no_bomb_warning() -> None:
    bomb = encoded(Image.new("1", (13000, 13000)), "PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_header(io.BytesIO(bomb)) == Header("PNG", 13000, 13000)
