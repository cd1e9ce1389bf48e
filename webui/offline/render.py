"""Deterministic pictures for the offline backend. Not a diffusion model: an honest stand-in
whose output depends on what a request asks for, in ways a person and a test can check.

- txt2img: palette and composition from the prompt, model and VAE; blob layout and the main
  "subject" from the seed; texture from the sampler; smoothness from steps; contrast from CFG;
  known LoRAs tint it by their weight.
- img2img: the init image, fitted by resize mode, moved towards the txt2img picture by the
  denoising strength; with a mask, only the (blurred) masked area changes.
- ControlNet: the preprocessor's map of the control image (Canny edges etc.) is drawn in.
- ADetailer: the regions it would refine are re-detailed and outlined.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
import io
import math
import re
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([-0-9.]+))?>")
Array = np.ndarray


def stable_int(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def resolve_seed(seed: int, task_id: str) -> int:
    """-1 picks a seed (reported back), deterministic per task id."""
    return stable_int("seed", task_id) % (2**32) if seed == -1 else seed


def lora_tags(prompt: str) -> list[tuple[str, float]]:
    tags = []
    for name, weight in LORA_TAG.findall(prompt):
        try:
            tags.append((name, float(weight) if weight else 1.0))
        except ValueError:
            tags.append((name, 1.0))
    return tags


# --- txt2img ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneParams:
    prompt: str
    negative_prompt: str = ""
    sampler: str = "Euler a"
    steps: int = 20
    cfg_scale: float = 7.0
    model: str = ""
    vae: str | None = None
    loras: tuple[tuple[str, float], ...] = ()


@dataclass
class Scene:
    palette: Array  # (5, 3) colours in [0, 1]
    angle: float
    blobs: list[tuple[float, float, float, int, float]]  # cx, cy, radius, colour, strength
    subject: tuple[float, float, float, float]  # cx, cy, rx, ry (relative to width/height)
    texture: tuple[float, float]  # frequency, orientation
    contrast: float
    noise: float
    seed: int
    tints: list[tuple[Array, float]] = field(default_factory=list)


def _colour(h: float, s: float, v: float) -> Array:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32)


def scene_for(params: SceneParams, seed: int) -> Scene:
    text = re.sub(r"\s+", " ", LORA_TAG.sub("", params.prompt)).strip().lower()
    hue = stable_int("hue", text, params.model) % 1000 / 1000
    # The VAE shifts colour a little, as a real VAE shifts saturation and tone.
    vae_shift = (stable_int("vae", params.vae) % 100 / 1000) if params.vae else 0.0
    neg_shift = (stable_int("neg", params.negative_prompt) % 60 / 1000)
    h = hue + vae_shift - neg_shift
    palette = np.stack([
        _colour(h, 0.55, 0.35), _colour(h + 0.08, 0.45, 0.85), _colour(h + 0.5, 0.6, 0.8),
        _colour(h + 0.33, 0.7, 0.9), _colour(h + 0.92, 0.3, 0.98),
    ])
    rng = np.random.default_rng(stable_int("layout", seed, text) % (2**63))
    blobs = [
        (float(rng.uniform(0, 1)), float(rng.uniform(0, 1)), float(rng.uniform(0.08, 0.3)),
         int(rng.integers(1, 5)), float(rng.uniform(0.4, 0.9)))
        for _ in range(int(rng.integers(5, 10)))
    ]
    subject = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.35, 0.65)),
               float(rng.uniform(0.12, 0.2)), float(rng.uniform(0.16, 0.26)))
    sampler_hash = stable_int("sampler", params.sampler)
    texture = (4 + sampler_hash % 24, (sampler_hash >> 8) % 180 * math.pi / 180)
    tints = [(_colour(stable_int("lora", name) % 1000 / 1000, 0.8, 0.9), max(-2, min(2, w)))
             for name, w in params.loras]
    return Scene(
        palette=palette,
        angle=stable_int("angle", text) % 360 * math.pi / 180,
        blobs=blobs,
        subject=subject,
        texture=texture,
        contrast=0.7 + min(params.cfg_scale, 30) / 30 * 0.6,
        noise=0.25 / math.sqrt(max(params.steps, 1)),
        seed=seed,
        tints=tints,
    )


def paint(scene: Scene, width: int, height: int) -> Array:
    """The scene as float32 RGB in [0, 1], shape (height, width, 3)."""
    scale = max(width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xs / scale, ys / scale
    rel_w, rel_h = width / scale, height / scale

    t = (u * math.cos(scene.angle) + v * math.sin(scene.angle))
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    img = scene.palette[0] * (1 - t[..., None]) + scene.palette[1] * t[..., None]

    for cx, cy, radius, colour, strength in scene.blobs:
        g = np.exp(-((u - cx * rel_w) ** 2 + (v - cy * rel_h) ** 2) / (2 * radius**2))
        g = (g * strength)[..., None]
        img = img * (1 - g) + scene.palette[colour] * g

    sx, sy, rx, ry = scene.subject
    du, dv = (u - sx * rel_w) / (rx * rel_w), (v - sy * rel_h) / (ry * rel_h)
    inside = np.clip((1.1 - (du**2 + dv**2)) / 0.25, 0, 1)[..., None]
    shade = np.clip(1.05 - 0.3 * (du + dv), 0.5, 1.2)[..., None]
    img = img * (1 - inside) + scene.palette[4] * shade * inside

    freq, orient = scene.texture
    wave = np.sin(2 * math.pi * freq * (u * math.cos(orient) + v * math.sin(orient)))
    img = img + 0.035 * wave[..., None]
    for colour, weight in scene.tints:
        stripes = (np.sin(2 * math.pi * 18 * (u + v)) > 0.6).astype(np.float32)[..., None]
        amount = 0.18 * abs(weight)
        img = img * (1 - amount * stripes) + colour * amount * stripes

    img = (img - 0.5) * scene.contrast + 0.5
    rng = np.random.default_rng(scene.seed)
    img = img + rng.standard_normal((height, width, 1), dtype=np.float32) * scene.noise * 0.3
    return np.clip(img, 0, 1).astype(np.float32)


def subject_box(scene: Scene, width: int, height: int) -> tuple[int, int, int, int]:
    sx, sy, rx, ry = scene.subject
    cx, cy = sx * width, sy * height
    half_w, half_h = rx * width, ry * height
    return (int(cx - half_w), int(cy - half_h), int(cx + half_w), int(cy + half_h))


def hires(img: Array, width: int, height: int) -> Array:
    """Hires. fix: Lanczos upscale, then the sharpening a second pass would add."""
    pil = to_pil(img).resize((width, height), Image.Resampling.LANCZOS)
    pil = pil.filter(ImageFilter.UnsharpMask(radius=2, percent=60, threshold=2))
    return from_pil(pil)


# --- conversions ------------------------------------------------------------------------------


def to_pil(img: Array) -> Image.Image:
    return Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")


def from_pil(img: Image.Image) -> Array:
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def encode(img: Image.Image, fmt: str = "png", quality: int = 92) -> bytes:
    buffer = io.BytesIO()
    if fmt in ("jpg", "jpeg"):
        img.convert("RGB").save(buffer, "JPEG", quality=quality)
    else:
        img.save(buffer, "PNG")
    return buffer.getvalue()


def preview_base64(final: Array, progress: float, seed: int, max_side: int = 256) -> str:
    """A live preview: noise resolving into the picture as progress goes from 0 to 1."""
    h, w = final.shape[:2]
    factor = min(1.0, max_side / max(w, h))
    small = to_pil(final).resize((max(1, int(w * factor)), max(1, int(h * factor))),
                                 Image.Resampling.BILINEAR)
    arr = from_pil(small)
    rng = np.random.default_rng(seed ^ 0x5EED)
    noise = rng.uniform(0, 1, arr.shape).astype(np.float32)
    p = float(np.clip(progress, 0, 1)) ** 0.7
    mixed = to_pil(noise * (1 - p) + arr * p).filter(ImageFilter.GaussianBlur(2 * (1 - p)))
    return base64.b64encode(encode(mixed, "jpg", 80)).decode()


# --- img2img ----------------------------------------------------------------------------------


def fit(img: Image.Image, width: int, height: int, mode: int | str) -> Image.Image:
    """A1111's resize modes: 0 just resize, 1 crop and resize, 2 resize and fill, 3 latent
    upscale (a blurrier stretch). Names from the ControlNet table map onto 0-2."""
    names = {"Just Resize": 0, "Crop and Resize": 1, "Resize and Fill": 2}
    mode = names.get(mode, 0) if isinstance(mode, str) else mode
    src_w, src_h = img.size
    if mode == 1:
        ratio = max(width / src_w, height / src_h)
        scaled = img.resize((max(1, round(src_w * ratio)), max(1, round(src_h * ratio))),
                            Image.Resampling.LANCZOS)
        left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
        return scaled.crop((left, top, left + width, top + height))
    if mode == 2:
        ratio = min(width / src_w, height / src_h)
        inner = img.resize((max(1, round(src_w * ratio)), max(1, round(src_h * ratio))),
                           Image.Resampling.LANCZOS)
        # Borders filled with the stretched, blurred image, as A1111 fills them.
        canvas = img.resize((width, height), Image.Resampling.BILINEAR)
        canvas = canvas.filter(ImageFilter.GaussianBlur(max(width, height) / 40))
        canvas.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
        return canvas
    if mode == 3:
        latent = img.resize((max(1, width // 8), max(1, height // 8)), Image.Resampling.BOX)
        return latent.resize((width, height), Image.Resampling.BILINEAR)
    return img.resize((width, height), Image.Resampling.LANCZOS)


def soft_mask(mask: Image.Image, width: int, height: int, resize_mode: int, invert: bool,
              blur_x: int, blur_y: int) -> Array:
    """White = repaint. Returns float32 (h, w) in [0, 1], zero wherever the blurred mask
    does not reach: those pixels stay exactly as the init image."""
    fitted = fit(mask.convert("L"), width, height, 0 if resize_mode == 3 else resize_mode)
    hard = (np.asarray(fitted, dtype=np.uint8) > 127).astype(np.float32)
    if invert:
        hard = 1.0 - hard
    if blur_x or blur_y:
        kx, ky = 2 * int(2.5 * blur_x + 0.5) + 1, 2 * int(2.5 * blur_y + 0.5) + 1
        hard = cv2.GaussianBlur(hard, (kx, ky), sigmaX=max(blur_x, 1e-3),
                                sigmaY=max(blur_y, 1e-3), borderType=cv2.BORDER_REPLICATE)
        hard[hard < 1 / 512] = 0.0  # cut the Gaussian's far tail: unchanged means unchanged
    return hard.astype(np.float32)


def masked_content(init: Array, mask: Array, fill: int, seed: int) -> Array:
    """What the masked area starts from: 0 fill, 1 original, 2 latent noise, 3 nothing."""
    if fill == 1:
        return init
    if fill == 2:
        noise = np.random.default_rng(seed ^ 0xF111).uniform(0, 1, init.shape)
        return noise.astype(np.float32)
    if fill == 3:
        return np.full_like(init, 0.5)
    weights = mask[..., None] > 0
    mean = init[~weights[..., 0]].mean(axis=0) if (~weights).any() else init.mean(axis=(0, 1))
    blurred = cv2.GaussianBlur(init, (0, 0), sigmaX=max(init.shape[:2]) / 16)
    return (blurred * 0.5 + mean * 0.5).astype(np.float32)


def blend_img2img(init: Array, generated: Array, denoise: float, mask: Array | None = None,
                  fill: int = 1, seed: int = 0, noise_multiplier: float = 1.0) -> Array:
    start = init if mask is None else np.where(mask[..., None] > 0,
                                               masked_content(init, mask, fill, seed), init)
    d = float(np.clip(denoise * noise_multiplier, 0, 1))
    changed = start * (1 - d) + generated * d
    if mask is None:
        return changed.astype(np.float32)
    m = mask[..., None]
    return (init * (1 - m) + changed * m).astype(np.float32)


def mask_bbox(mask: Array, padding: int) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask > 0)
    if not len(xs):
        return None
    h, w = mask.shape
    return (max(0, int(xs.min()) - padding), max(0, int(ys.min()) - padding),
            min(w, int(xs.max()) + 1 + padding), min(h, int(ys.max()) + 1 + padding))


# --- ControlNet ---------------------------------------------------------------------------------

LINE_MODULES = {"canny", "lineart_realistic", "mlsd", "openpose", "scribble_xdog"}
MODE_STRENGTH = {"Balanced": 1.0, "My prompt is more important": 0.6,
                 "ControlNet is more important": 1.4}


def _given(value: int | None, default: int) -> int:
    """A preprocessor setting, or its default when unset or -1 (A1111's "default")."""
    return default if value is None or value < 0 else value


def control_map(module: str, image: Image.Image, width: int, height: int,
                threshold_a: int | None, threshold_b: int | None,
                processor_res: int | None) -> Array:
    """What the preprocessor sees, at the output size: (h, w) for line maps (1 = line),
    (h, w, 3) for colour maps. OpenCV approximations of the real preprocessors."""
    res = _given(processor_res, 512)
    ratio = res / min(image.size)
    work = image.convert("RGB").resize(
        (max(8, round(image.width * ratio)), max(8, round(image.height * ratio))),
        Image.Resampling.LANCZOS)
    rgb = np.asarray(work, dtype=np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if module == "canny":
        out = cv2.Canny(gray, _given(threshold_a, 100), _given(threshold_b, 200))
    elif module == "lineart_realistic":
        out = 255 - cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                          cv2.THRESH_BINARY, 9, 6)
    elif module == "mlsd":
        edges = cv2.Canny(gray, 50, 150)
        out = np.zeros_like(gray)
        lines = cv2.HoughLinesP(edges, 1, np.pi / 180, 60, minLineLength=res // 16,
                                maxLineGap=4)
        for x0, y0, x1, y1 in (lines[:, 0] if lines is not None else []):
            cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), 255, 2)
    elif module == "openpose":
        out = cv2.dilate(cv2.Canny(gray, 80, 160), np.ones((3, 3), np.uint8))
    elif module == "scribble_xdog":
        g1 = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.5)
        g2 = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 5.0)
        out = ((g1 - g2) > _given(threshold_a, 32) / 4).astype(np.uint8) * 255
    elif module == "depth_midas":
        depth = cv2.GaussianBlur(gray, (0, 0), 6)
        out = cv2.cvtColor(depth, cv2.COLOR_GRAY2RGB)
    elif module == "normal_bae":
        g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2)
        gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)
        n = np.dstack([-gx, -gy, np.full_like(gx, 64.0)])
        n /= np.linalg.norm(n, axis=2, keepdims=True)
        out = ((n * 0.5 + 0.5) * 255).astype(np.uint8)
    elif module == "seg_ufade20k":
        samples = rgb.reshape(-1, 3).astype(np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 8, 1.0)
        _, labels, centres = cv2.kmeans(samples, 6, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        out = centres[labels.ravel()].reshape(rgb.shape).astype(np.uint8)
    else:  # inpaint_global_harmonious and brightness/QR: the image's own luminance
        out = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    resized = cv2.resize(out, (width, height), interpolation=cv2.INTER_AREA)
    return resized.astype(np.float32) / 255.0


def apply_control(img: Array, cmap: Array, strength: float, ink: Array) -> Array:
    if cmap.ndim == 2:  # lines drawn in ink
        a = np.clip(cmap * strength, 0, 1)[..., None]
        return (img * (1 - a) + ink * a).astype(np.float32)
    a = np.clip(0.55 * strength, 0, 0.9)
    lum = cmap.mean(axis=2, keepdims=True)
    return (img * (1 - a) + img * (0.4 + 1.2 * lum) * a).clip(0, 1).astype(np.float32)


# --- ADetailer ----------------------------------------------------------------------------------

# One classifier per thread: a CascadeClassifier shared by two threads detecting at once
# returns wrong answers (two concurrent face swaps both found "no face").
_CASCADES = threading.local()


def detect_faces(img: Array) -> list[tuple[int, int, int, int]]:
    """Faces by OpenCV's bundled Haar cascade, largest first, as (x0, y0, x1, y1)."""
    cascade = getattr(_CASCADES, "face", None)
    if cascade is None:
        cascade = _CASCADES.face = cv2.CascadeClassifier(
            cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor((np.clip(img, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    min_side = max(24, min(gray.shape) // 12)
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                           minSize=(min_side, min_side))
    boxes = [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in found]
    return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)


def adetailer_regions(img: Array, scene: Scene | None, model: str
                      ) -> list[tuple[int, int, int, int]]:
    """Real faces where OpenCV finds them; else the synthetic picture's subject (its face
    is the top of the subject, hands the sides, a person the whole of it)."""
    h, w = img.shape[:2]
    faces = detect_faces(img) if model.startswith(("face", "mediapipe")) else []
    if faces:
        return faces
    if scene is None:
        return []
    x0, y0, x1, y1 = subject_box(scene, w, h)
    if model.startswith("person"):
        box = (x0, y0, x1, y1)
    elif model.startswith("hand"):
        box = (x1 - (x1 - x0) // 4, (y0 + y1) // 2, x1 + (x1 - x0) // 8, y1)
    else:
        box = (x0 + (x1 - x0) // 4, y0, x1 - (x1 - x0) // 4, y0 + (y1 - y0) // 2)
    return [(max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3]))]


def apply_adetailer(img: Array, regions: list[tuple[int, int, int, int]], denoise: float,
                    label: str) -> Array:
    pil = to_pil(img)
    for x0, y0, x1, y1 in regions:
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        crop = pil.crop((x0, y0, x1, y1))
        detailed = crop.filter(ImageFilter.UnsharpMask(radius=2, percent=180, threshold=0))
        pil.paste(Image.blend(crop, detailed, float(np.clip(denoise, 0, 1))), (x0, y0))
        draw = ImageDraw.Draw(pil)
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(255, 64, 160), width=2)
        draw.text((x0 + 4, y0 + 3), label, fill=(255, 64, 160))
    return from_pil(pil)
