"""The bad input catalogue: every case through the tab's own handler, as the page sends it.
Each is refused with a warning that names the field (by the label the user sees), shows no
traceback, and costs nothing: the offline backend receives no call at all."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from PIL import Image
from pydantic import BaseModel

from tests.helpers.images import drawn_face, gradient, png
from tests.helpers.language import browser_language
from tests.ui.conftest import BuiltUi, built_ui
from webui.api import models as m
from webui.api.endpoints import ENDPOINTS
from webui.messages import Language, catalogue, label

REQUEST_MODELS = {endpoint.request for endpoint in ENDPOINTS.values() if endpoint.request}

Case = tuple[str, Callable[[BuiltUi, Path], Any], str]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltUi]:
    """One app for the whole catalogue: none of the cases may reach the backend."""
    with built_ui(tmp_path_factory.mktemp("bad-input")) as ui:
        yield ui


# --- files ------------------------------------------------------------------------------------


def write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def bomb_png(side: int = 30000) -> bytes:
    """A valid PNG header claiming side x side pixels, with a tiny body."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buffer, "GIF")
    return buffer.getvalue()


BAD_FILES: dict[str, Callable[[], bytes]] = {
    "text": lambda: b"just some notes, not a picture",
    "truncated": lambda: png(gradient(256, 256))[:400],
    "bomb": bomb_png,
    "25mb": lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * (25 << 20),
    "gif": gif,
    "pdf": lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
    "huge": lambda: png(Image.new("L", (5000, 16))),
}


def bad_file(tmp: Path, kind: str) -> str:
    return write(tmp, f"{kind}.png", BAD_FILES[kind]())


# --- one runner per tab -----------------------------------------------------------------------


def txt2img(**values: Any) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        return list(ui.tab.generate(ui.data(**{"prompt": "a cat", **values})))
    return run


def no_checkpoint_listed(ui: BuiltUi, tmp: Path) -> Any:
    """No checkpoint picked and none the service lists (an empty checkpoint otherwise means
    the first listed one: Generate came before the page's list)."""
    listed = ui.ctx.default_checkpoint
    ui.ctx.default_checkpoint = lambda visitor: None  # type: ignore[method-assign]
    try:
        return txt2img(checkpoint="")(ui, tmp)
    finally:
        ui.ctx.default_checkpoint = listed  # type: ignore[method-assign]


def img2img(mode: str = "img2img", values: dict[str, Any] | None = None, **images: Any
            ) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        tab = ui.img2img
        data = ui.data(tab=tab, **{"prompt": "a red door", "width": 256, "height": 256,
                                   **(values or {})})
        data.update({tab.mode: mode, tab.init_image: None, tab.editor: None,
                     tab.upload_image: None, tab.upload_mask: None, tab.image_url: "",
                     tab.scale_by: 1})
        for name, make in images.items():
            data[getattr(tab, name)] = make(tmp) if callable(make) else make
        return list(tab.generate(data))
    return run


def img2img_values(**values: Any) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        tab = ui.img2img
        data = ui.data(tab=tab, **{"prompt": "a red door", **values})
        data.update({tab.mode: "img2img", tab.init_image: write(tmp, "ok.png", png(
            gradient(64, 64))), tab.editor: None, tab.upload_image: None,
            tab.upload_mask: None, tab.image_url: "", tab.scale_by: 1})
        return list(tab.generate(data))
    return run


def controlnet(unit: dict[str, Any], tab: str = "txt2img", **extra: Any
               ) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        target = ui.tab if tab == "txt2img" else ui.img2img
        data = ui.data(tab=target, prompt="a house", width=256, height=256)
        controls = target.controlnet.unit
        data[controls.enabled] = True
        data[controls.image] = write(tmp, "control.png", png(gradient(64, 64)))
        for name, value in unit.items():
            data[getattr(controls, name)] = value
        if tab == "img2img":
            data.update({target.mode: extra.get("mode", "img2img"), target.init_image: write(
                tmp, "init.png", png(gradient(64, 64))), target.editor: extra.get("editor"),
                target.upload_image: None, target.upload_mask: None, target.image_url: "",
                target.scale_by: 1})
        if extra.get("adetailer"):
            data[target.adetailer.fields["enabled"]] = True
        return list(target.generate(data))
    return run


def adetailer(**fields: Any) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        data = ui.data(prompt="a face")
        data[ui.tab.adetailer.fields["enabled"]] = True
        for name, value in fields.items():
            data[ui.tab.adetailer.fields[name]] = value
        return list(ui.tab.generate(data))
    return run


def extras(image: Callable[[Path], Any] | None = None, batch: Callable[[Path], Any] | None = None,
           **values: Any) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        tab = ui.extras
        data = ui.tool_data({tab.mode: "batch" if batch else "single",
                             tab.image: image(tmp) if image else None,
                             tab.batch: batch(tmp) if batch else None}, form=tab.form, **values)
        return list(tab.run(data))
    return run


def faceswap(source: Callable[[Path], Any] | None, target: Callable[[Path], Any] | None
             ) -> Callable[[BuiltUi, Path], Any]:
    def run(ui: BuiltUi, tmp: Path) -> Any:
        tab = ui.faceswap
        data = ui.tool_data({tab.mode: "single", tab.source: source(tmp) if source else None,
                             tab.target: target(tmp) if target else None, tab.targets: None})
        return list(tab.run(data))
    return run


def face(tmp: Path) -> str:
    return write(tmp, "face.png", png(drawn_face(128)))


def picture(side: tuple[int, int]) -> Callable[[Path], str]:
    return lambda tmp: write(tmp, f"p{side[0]}x{side[1]}.png", png(gradient(*side)))


def file_of(kind: str) -> Callable[[Path], str]:
    return lambda tmp: bad_file(tmp, kind)


LONG = "a " * 4001  # 8002 characters

CASES: list[Case] = [
    # txt2img: sizes, ranges, choices, prompts
    ("width not a multiple of 8", txt2img(width=1020), "Width:"),
    ("height not a multiple of 8", txt2img(height=516), "Height:"),
    ("width 0", txt2img(width=0), "Width:"),
    ("width over 1024", txt2img(width=1032), "Width:"),
    ("height over 1024", txt2img(height=2048), "Height:"),
    ("steps 0", txt2img(steps=0), "Sampling steps:"),
    ("steps 151", txt2img(steps=151), "Sampling steps:"),
    ("cfg 0", txt2img(cfg_scale=0), "CFG Scale:"),
    ("cfg 31", txt2img(cfg_scale=31), "CFG Scale:"),
    ("batch count 0", txt2img(n_iter=0), "Batch count:"),
    ("batch count 101", txt2img(n_iter=101), "Batch count:"),
    ("batch size 9", txt2img(batch_size=9), "Batch size:"),
    ("empty prompt", txt2img(prompt=""), "Prompt:"),
    ("blank prompt", txt2img(prompt="   "), "Prompt:"),
    ("prompt over 8000 characters", txt2img(prompt=LONG), "Prompt:"),
    ("negative prompt over 8000", txt2img(negative_prompt=LONG), "Negative prompt:"),
    ("unknown sampler", txt2img(sampler="Euler z"), "Sampling method:"),
    ("seed not a number", txt2img(seed="lucky"), "Seed:"),
    ("seed below -1", txt2img(seed=-5), "Seed:"),
    ("hires scale 5", txt2img(enable_hr=True, hr_scale=5), "Upscale by:"),
    ("hires steps 151", txt2img(enable_hr=True, hr_steps=151), "Hires steps:"),
    ("hires size over 2048", txt2img(enable_hr=True, hr_resize_x=2056, hr_resize_y=512),
     "Resize width to:"),
    ("hires denoising 1.5", txt2img(enable_hr=True, hr_denoising=1.5), "Denoising strength:"),
    ("clip skip 13", txt2img(clip_skip=13), "Clip skip:"),
    ("no checkpoint, none listed", no_checkpoint_listed, "sd_model_checkpoint"),
    # img2img: images and ranges
    ("img2img without an image", img2img(), "Image:"),
    ("img2img with a text file", img2img(init_image=file_of("text")), "Image:"),
    ("img2img with a truncated PNG", img2img(init_image=file_of("truncated")), "Image:"),
    ("img2img with a 30000x30000 bomb", img2img(init_image=file_of("bomb")), "Image:"),
    ("img2img with a 25 MB file", img2img(init_image=file_of("25mb")), "Image:"),
    ("img2img with a GIF", img2img(init_image=file_of("gif")), "Image:"),
    ("img2img with a PDF", img2img(init_image=file_of("pdf")), "Image:"),
    ("img2img with 5000 px", img2img(init_image=file_of("huge")), "Image:"),
    ("img2img with a file:// URL", img2img(image_url="file:///etc/passwd"), "Image:"),
    ("img2img with ftp URL", img2img(image_url="ftp://example.com/a.png"), "Image:"),
    ("inpaint with nothing painted", img2img("inpaint", editor={
        "background": gradient(64, 64), "layers": [], "composite": None}), "Mask:"),
    ("inpaint upload without mask", img2img("inpaint_upload", upload_image=picture((64, 64))),
     "Mask:"),
    ("inpaint upload with a bad mask", img2img("inpaint_upload", upload_image=picture((64, 64)),
                                               upload_mask=file_of("text")), "Mask:"),
    ("denoising 1.5", img2img_values(denoising_strength=1.5), "Denoising strength:"),
    ("img2img cfg 7.5 (whole numbers)", img2img_values(cfg_scale=7.5), "CFG Scale:"),
    ("image CFG 4", img2img_values(image_cfg_scale=4), "Image CFG Scale:"),
    ("inpaint mask blur 65", img2img("inpaint_upload", {"mask_blur": 65},
                                     upload_image=picture((64, 64)),
                                     upload_mask=picture((64, 64))), "Mask blur:"),
    ("img2img width 1020", img2img_values(width=1020), "Width:"),
    # ControlNet and ADetailer
    ("guidance start after end", controlnet({"guidance_start": 0.8, "guidance_end": 0.2}),
     "guidance"),
    ("control weight 3", controlnet({"weight": 3}), "Control Weight:"),
    ("control image not a picture", controlnet({"image": None}), "ControlNet unit 0"),
    ("ControlNet with a mask", controlnet({}, tab="img2img", mode="inpaint", editor={
        "background": gradient(64, 64), "layers": [], "composite": None}), "ControlNet"),
    ("ControlNet with ADetailer", controlnet({}, adetailer=True), "ADetailer"),
    ("ADetailer confidence 1.5", adetailer(confidence=1.5), "confidence"),
    ("ADetailer mask blur 65", adetailer(mask_blur=65), "Inpaint mask blur:"),
    ("ADetailer steps 0", adetailer(use_steps=True, steps=0), "ADetailer steps:"),
    # Extras
    ("upscale without an image", extras(), "Source image:"),
    ("upscale 1600x64", extras(picture((1600, 64))), "Source image:"),
    ("upscale 64x1537", extras(picture((64, 1537))), "Source image:"),
    ("upscale factor 9", extras(picture((64, 64)), scale=9), "Resize (scale by):"),
    ("upscale to width 32", extras(picture((64, 64)), resize_mode="Scale to", width=32),
     "Width:"),
    ("upscale to height 4096", extras(picture((64, 64)), resize_mode="Scale to",
                                      height=4096), "Height:"),
    ("upscale CodeFormer weight 1.5", extras(picture((64, 64)), codeformer_visibility=0.5,
                                             codeformer_weight=1.5), "CodeFormer weight:"),
    ("upscale GFPGAN 2", extras(picture((64, 64)), gfpgan_visibility=2), "GFPGAN visibility:"),
    ("upscale a truncated PNG", extras(file_of("truncated")), "Source image:"),
    ("upscale a bomb", extras(file_of("bomb")), "Source image:"),
    ("upscale batch with a PDF", extras(batch=lambda tmp: [picture((64, 64))(tmp),
                                                           file_of("pdf")(tmp)]), "Image 2"),
    # Face swap
    ("swap without a source", faceswap(None, face), "Source face:"),
    ("swap without a target", faceswap(face, None), "Target image:"),
    ("swap with a text source", faceswap(file_of("text"), face), "Source face:"),
    ("swap with a GIF target", faceswap(face, file_of("gif")), "Target image:"),
    ("swap with a 25 MB target", faceswap(face, file_of("25mb")), "Target image:"),
]


# Latin words a Chinese message may hold besides the request's wire names and the values:
# those the translation itself uses (identifiers: ControlNet, CFG Scale, PNG, ZHIQITE_...)
TRANSLATORS_WORDS = {word for text in catalogue(Language.ZH_CN).values()
                     for word in re.findall(r"[A-Za-z]{2,}", re.sub(r"\{\w+\}", "", text))}
def wire_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    """Every field name of a request model and of the models inside it."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names |= set(re.findall(r"[A-Za-z]{2,}", f"{name} {field.alias or ''}"))
        for inner in _models_in(field.annotation):
            names |= wire_names(inner, seen)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


WIRE_NAMES = {word for model in REQUEST_MODELS for word in wire_names(model)}
# the values a choice may take (sampler names, upscalers...) are values too
CHOICE_VALUES = {word for values in vars(m).values() if isinstance(values, tuple)
                 for value in values if isinstance(value, str)
                 for word in re.findall(r"[A-Za-z]{2,}", value)}


def english_words(message: str, case: str) -> list[str]:
    """What is left of `message` once the values (quoted, numbers, the case's own inputs),
    wire names and the translation's identifiers are taken out."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", message)
    allowed = TRANSLATORS_WORDS | WIRE_NAMES | CHOICE_VALUES | \
        set(re.findall(r"[A-Za-z]{2,}", case))
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in allowed]


NAMED_IN_CHINESE = {"guidance": "引导", "ControlNet unit 0": "ControlNet 单元 0",
                    "Image 2": "第 2 张图像"}


def in_chinese(names: str) -> str:
    """The field a case names, as a Chinese visitor reads it ("Width:" -> "宽度：")."""
    if names.endswith(":"):
        return label(names[:-1], Language.ZH_CN) + "："
    return NAMED_IN_CHINESE.get(names, names)


@pytest.mark.parametrize("language", [Language.EN, Language.ZH_CN])
@pytest.mark.parametrize(("name", "run", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_field_for_free(shared: BuiltUi, tmp_path: Path,
                                                        name: str, run: Any, names: str,
                                                        language: Language) -> None:
    before = dict(shared.stats().calls)
    chinese = language is Language.ZH_CN
    with browser_language("zh-CN,zh;q=0.9" if chinese else "en-US,en;q=0.9"), \
            pytest.warns(UserWarning) as warned:
        updates = run(shared, tmp_path)
    messages = [str(w.message) for w in warned]
    assert updates == [] or all(shared.tab.panel.gallery not in u for u in updates)
    expected = in_chinese(names) if chinese else names
    assert any(expected in m for m in messages), messages
    assert not any("Traceback" in m or "Error:" in m.split(":")[0] for m in messages), messages
    if chinese:
        leftover = {m: english_words(m, name) for m in messages}
        assert not any(leftover.values()), leftover
    assert shared.stats().calls == before, f"{name}: the backend was called"


def test_the_catalogue_is_big_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("prompt", ["一只可爱的猫, 水彩画", "🐱 in a 🚀, ✨ sparkles ✨",
                                    "café au lait, naïve, Ωmega", "a\u200bcat", "<lora:x:1>" * 3])
def test_unicode_and_emoji_prompts_just_work(ui: BuiltUi, prompt: str) -> None:
    updates = list(ui.tab.generate(ui.data(prompt=prompt, steps=4, width=64, height=64)))
    final: dict[Any, Any] = {}
    for update in updates:
        final.update(update)
    assert final[ui.tab.panel.status].startswith("Done"), final[ui.tab.panel.status]
    record = ui.ctx.runtime.store.list(ui.ctx.owner("visitor-0123456789abcdef"), limit=1)[0]
    assert record.request["prompt"] == prompt
