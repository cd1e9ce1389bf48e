"""The guarded inputs (`ui/inputs.py`), as Gradio drives them: its move-to-cache step, then
`preprocess`. A bomb, a renamed text file or a URL is refused with the field's label before
anything is decoded or fetched; every file input of the app is one of them."""

from __future__ import annotations

import base64
import io
import json
import re
import warnings
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio import processing_utils
from gradio.components.image_editor import EditorData
from gradio.data_classes import FileData, ImageData, ListFiles
from gradio.i18n import I18nData
from PIL import Image, ImageFile

from tests.conftest import BOMB_SIDE, FAST
from tests.helpers.aio import run
from tests.helpers.images import gradient, png
from webui.core.engine import PollPolicy
from webui.core.runtime import Runtime, Settings
from webui.messages import Language, render
from webui.messages import label as label_in
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.inputs import (
    PILLOW_LIMIT,
    GuardedFile,
    GuardedImage,
    GuardedImageEditor,
    GuardedInput,
    guard_pillow,
    quiet_choice_refusals,
)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "picture.png"
    path.write_bytes(png(gradient(64, 48)))
    return path


@pytest.fixture
def no_fetching(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Gradio's downloaders, recording instead of fetching."""
    fetched: list[str] = []

    async def download(url: str, cache_dir: str) -> str:
        fetched.append(url)
        raise AssertionError(f"fetched {url}")

    def save_url(url: str, cache_dir: str) -> str:
        fetched.append(url)
        raise AssertionError(f"fetched {url}")

    monkeypatch.setattr(processing_utils, "async_ssrf_protected_download", download)
    monkeypatch.setattr(processing_utils, "save_url_to_cache", save_url)
    return fetched


def components() -> dict[str, Any]:
    with gr.Blocks():
        return {
            "image": GuardedImage(label="Source", type="filepath"),
            "editor": GuardedImageEditor(label="Paint the area to change (white)", type="pil",
                                         image_mode="RGBA", format="png"),
            "file": GuardedFile(label="Drop an image (PNG, JPEG or WebP)", type="filepath"),
            "files": GuardedFile(label="Images (one task each)", file_count="multiple",
                                 file_types=["image"]),
        }


def as_input(component: Any, payload: dict[str, Any]) -> Any:
    """What Gradio does with an input before the handler: move to cache, validate,
    preprocess."""
    cached = run(processing_utils.async_move_files_to_cache(
        payload, component, check_in_upload_folder=True))
    model = component.data_model.model_validate(cached, context={"validate_meta": True})
    return component.preprocess(model)


def file_data(path: Path | str, **extra: Any) -> dict[str, Any]:
    return {"path": str(path), "orig_name": Path(str(path)).name,
            "meta": {"_type": "gradio.FileData"}, **extra}


def refusal(call: Any, *args: Any) -> str:
    """The message of the gr.Error the call raises (what the visitor reads)."""
    with pytest.raises(gr.Error) as refused:
        call(*args)
    return str(refused.value.message)


# --- bombs and non-images ---------------------------------------------------------------------


def test_a_bomb_is_refused_before_gradio_decodes_it(bomb: Path, no_decoding: None) -> None:
    parts = components()
    cases = [
        (parts["image"], ImageData(path=str(bomb), orig_name="bomb.png"), "Source"),
        (parts["file"], FileData(path=str(bomb)), "Drop an image (PNG, JPEG or WebP)"),
        (parts["files"], ListFiles(root=[FileData(path=str(bomb))]),
         "Images (one task each)"),
        (parts["editor"], EditorData(background=FileData(path=str(bomb))),
         "Paint the area to change (white)"),
    ]
    for component, payload, label in cases:
        assert refusal(component.preprocess, payload) == \
            f"{label}: 13000x13000 is larger than 4096x4096"


def test_a_payload_names_at_most_32_files(picture: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """A 4 MB body holds some 25,000 file entries: refused by count before any is opened."""
    opened: list[str] = []
    monkeypatch.setattr(GuardedInput, "_file_refusal",
                        lambda self, file: opened.append(file.path))
    files = components()["files"]
    payload = ListFiles(root=[FileData(path=str(picture))] * 1000)
    assert refusal(files.preprocess, payload) == \
        "Images (one task each): at most 32 files at once, got 1000"
    # the same at upload time (the `.upload` check)
    assert files.refusal([{"path": str(picture)}] * 1000) == \
        "Images (one task each): at most 32 files at once, got 1000"
    assert opened == []


def test_every_layer_of_the_editor_is_checked(bomb: Path, picture: Path,
                                              no_decoding: None) -> None:
    editor = components()["editor"]
    good = FileData(path=str(picture))
    for payload in (EditorData(background=good, layers=[good, FileData(path=str(bomb))],
                               composite=good),
                    EditorData(background=good, layers=[], composite=FileData(path=str(bomb)))):
        assert refusal(editor.preprocess, payload) == \
            "Paint the area to change (white): 13000x13000 is larger than 4096x4096"


def test_without_the_guard_gradio_decodes_the_bomb(bomb: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What the guard prevents (a plain gr.Image of type filepath converts it to RGB)."""
    loaded: list[tuple[int, int]] = []

    def load(self: ImageFile.ImageFile) -> None:
        loaded.append(self.size)
        raise OSError("stopped before allocating the pixels")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    # Pillow's own default (an app launched earlier in this process lowered it: guard_pillow)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", int(1024 * 1024 * 1024 // 4 // 3))
    with gr.Blocks():
        plain = gr.Image(label="Source", type="filepath")
    with warnings.catch_warnings(), pytest.raises(OSError, match="stopped"):
        warnings.simplefilter("ignore")
        plain.preprocess(ImageData(path=str(bomb), orig_name="bomb.png"))
    assert loaded == [(BOMB_SIDE, BOMB_SIDE)]


def test_a_data_url_is_checked_before_it_is_decoded(bomb: Path, picture: Path,
                                                    no_decoding: None) -> None:
    image = components()["image"]
    encoded = base64.b64encode(bomb.read_bytes()).decode()
    payload = ImageData(path=str(picture), url=f"data:image/png;base64,{encoded}")
    assert refusal(image.preprocess, payload) == "Source: 13000x13000 is larger than 4096x4096"
    huge = "A" * (28 << 20)  # 21 MB once decoded
    assert refusal(image.preprocess, ImageData(
        path=str(picture), url=f"data:image/png;base64,{huge}")) == \
        "Source: 21.0 MB is over the 20 MB limit"


def test_a_renamed_text_file_is_named_not_traced(tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("just some notes, not a picture")
    for component, payload in ((components()["image"], ImageData(path=str(fake))),
                               (components()["file"], FileData(path=str(fake)))):
        assert refusal(component.preprocess, payload) == \
            f"{component.field}: not a readable image (PNG, JPEG or WebP)"


def test_a_damaged_picture_past_its_header_is_named(tmp_path: Path) -> None:
    cut = tmp_path / "cut.png"
    cut.write_bytes(png(gradient(256, 256))[:400])
    assert refusal(components()["editor"].preprocess,
                   EditorData(background=FileData(path=str(cut)))) == \
        "Paint the area to change (white): the file is damaged or truncated"


def test_pictures_within_the_limits_pass_as_before(picture: Path) -> None:
    parts = components()
    assert parts["image"].preprocess(ImageData(path=str(picture))) == str(picture)
    assert parts["file"].preprocess(FileData(path=str(picture))) == str(picture)
    assert parts["files"].preprocess(ListFiles(root=[FileData(path=str(picture))])) == \
        [str(picture)]
    edited = parts["editor"].preprocess(EditorData(background=FileData(path=str(picture)),
                                                   layers=[FileData(path=str(picture))],
                                                   composite=FileData(path=str(picture))))
    assert edited["background"].size == (64, 48) and edited["composite"].mode == "RGBA"


def test_the_editor_has_no_byte_limit_of_its_own(tmp_path: Path) -> None:
    """Its layers are PNGs the browser's canvas made; Gradio's own file limit applies."""
    big = tmp_path / "big.png"
    big.write_bytes(png(gradient(64, 64)) + bytes(21 << 20))  # trailing bytes after IEND
    assert GuardedImageEditor.max_bytes is None
    assert refusal(components()["image"].preprocess, ImageData(path=str(big))) == \
        "Source: 21.0 MB is over the 20 MB limit"
    edited = components()["editor"].preprocess(EditorData(background=FileData(path=str(big))))
    assert edited["background"].size == (64, 64)


# --- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.png", "https://example.com/x.png"])
def test_a_url_is_refused_not_fetched(url: str, no_fetching: list[str]) -> None:
    parts = components()
    payloads = {"image": file_data(url), "file": file_data(url),
                "files": [file_data(url)],
                "editor": {"background": file_data(url), "layers": [], "composite": None}}
    for name, payload in payloads.items():
        assert refusal(as_input, parts[name], payload) == \
            f"{parts[name].field}: the app does not fetch URLs; upload the file instead"
    # a stream's path is never moved to the cache: preprocess refuses it
    assert refusal(parts["image"].preprocess, ImageData(path=url, is_stream=True)) == \
        "Source: the app does not fetch URLs; upload the file instead"
    assert no_fetching == []


def test_local_files_still_go_through(picture: Path, no_fetching: list[str]) -> None:
    """Send to, History and the Face swap examples hand over local files."""
    parts = components()
    result = as_input(parts["image"], file_data(picture))
    assert Path(result).read_bytes() == picture.read_bytes()
    cached = parts["image"].move_resource_to_block_cache(str(picture))  # an example's value
    assert cached and Path(cached).exists()
    editor = as_input(parts["editor"], {"background": file_data(picture), "layers": [],
                                        "composite": file_data(picture)})
    assert editor["composite"].size == (64, 48)
    assert no_fetching == []


# --- as Gradio sees the components -----------------------------------------------------------


def test_the_page_gets_gradios_own_components() -> None:
    parts = components()
    assert [parts[n].get_block_name() for n in ("image", "editor", "file")] == \
        ["image", "imageeditor", "file"]
    assert parts["image"].get_config()["name"] == "image"
    # the editor's blob store (for realtime events, which the app does not use) is not offered
    assert not any(fn.__name__ == "accept_blobs" for fn in parts["editor"].server_fns)
    assert GuardedImage(label="Source").field == "Source"


def test_every_file_input_of_the_app_is_guarded(tmp_path: Path) -> None:
    from webui.ui.app import build

    settings = Settings(data_dir=tmp_path / "data", outputs_dir=tmp_path / "outputs",
                        backend="offline", offline_time_scale=FAST)
    runtime = Runtime.open(settings, env={}, policy=PollPolicy().scaled(0.01))
    try:
        demo = build(UiContext.create(runtime, preview_interval=0.01))
    finally:
        runtime.close()
    file_inputs = {c for fn in demo.fns.values() for c in fn.inputs
                   if getattr(c, "data_model", None) is not None
                   and "gradio.FileData" in json.dumps(c.data_model.model_json_schema())}
    assert len(file_inputs) >= 12  # 2 control images (one per SD tab), 4 img2img, 3 Extras/Face swap, ...
    assert [c for c in file_inputs if not isinstance(c, GuardedInput)] == []


# --- in the visitor's language ----------------------------------------------------------------

NAMES = {"PNG", "JPEG", "WebP", "URL"}


def english_words(text: str) -> set[str]:
    return set(re.findall(r"(?<![0-9])[A-Za-z][A-Za-z0-9_]+", text)) - NAMES


@pytest.fixture
def chinese_visitor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Toasts rendered for a visitor whose browser reads Chinese."""
    monkeypatch.setattr(toasts, "current_language", lambda: Language.ZH_CN)


def test_refusals_are_in_chinese_for_a_chinese_visitor(bomb: Path, tmp_path: Path,
                                                       picture: Path, chinese_visitor: None,
                                                       no_decoding: None) -> None:
    with gr.Blocks():
        control = GuardedImage(label="Control image", type="filepath")
        source = GuardedImage(label="Source", type="filepath")
        unlabelled = GuardedImage(type="filepath")
        files = GuardedFile(file_count="multiple")
        editor = GuardedImageEditor(label="Paint the area to change (white)", type="pil")
    cases = {
        "控制图：本应用不会下载 URL；请直接上传文件":
            (control.preprocess, ImageData(path="https://example.com/x.png", is_stream=True)),
        "源图像：13000x13000 大于 4096x4096": (source.preprocess, ImageData(path=str(bomb))),
        "图像：无法读取上传的文件":
            (unlabelled.preprocess, ImageData(path=str(tmp_path / "gone.png"))),
        "文件：一次最多 32 个文件，当前为 40":
            (files.preprocess, ListFiles(root=[FileData(path=str(picture))] * 40)),
        f"{label_in('Paint the area to change (white)', Language.ZH_CN)}：不接受":
            (editor.accept_blobs, None),
    }
    for chinese, (call, payload) in cases.items():
        shown = refusal(call, payload)
        assert shown == chinese and not english_words(shown), shown


def test_a_damaged_picture_is_named_in_chinese(tmp_path: Path, chinese_visitor: None) -> None:
    cut = tmp_path / "cut.png"
    cut.write_bytes(png(gradient(256, 256))[:400])
    shown = refusal(components()["editor"].preprocess,
                    EditorData(background=FileData(path=str(cut))))
    assert shown.endswith("：文件已损坏或不完整") and not english_words(shown), shown


def test_the_upload_check_says_why_in_both_languages(tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("just some notes, not a picture")
    with gr.Blocks():
        image = GuardedImage(label="Control image", type="filepath")
    refused = image.refusal_msg({"path": str(fake)})
    assert render(refused) == "Control image: not a readable image (PNG, JPEG or WebP)"
    assert render(refused, Language.ZH_CN) == "控制图：无法读取的图像（请用 PNG、JPEG 或 WebP）"
    assert image.refusal({"path": str(fake)}) == render(refused)  # outside an event: English
    assert render(image.refusal_msg("a string"), Language.ZH_CN) == \
        "控制图：无法读取的图像（请用 PNG、JPEG 或 WebP）"


def test_a_forged_choice_is_refused_by_its_label(chinese_visitor: None) -> None:
    quiet_choice_refusals()
    with gr.Blocks():
        width = gr.Dropdown(choices=["a", "b"], label="Width")
        translated = gr.Radio(choices=["a", "b"], label="Width")
        nameless = gr.Dropdown(choices=["a", "b"])
    translated.label = I18nData("sampling.width")  # as `ui/i18n.py` leaves it
    assert refusal(width.preprocess, "forged") == "宽度：不是可选项之一"
    assert refusal(translated.preprocess, "forged") == "宽度：不是可选项之一"
    assert refusal(nameless.preprocess, "forged") == "值：不是可选项之一"


def test_a_forged_choice_reads_as_before_in_english() -> None:
    quiet_choice_refusals()
    with gr.Blocks():
        width = gr.Dropdown(choices=["a", "b"], label="Width")
    assert refusal(width.preprocess, "forged") == "Width: not one of the choices"


def test_what_is_no_number_at_all_is_refused_by_the_fields_label() -> None:
    """A slider sent null, text, a dict or a list: Gradio's bounds check failed with a
    TypeError (a traceback in the log, an error without text for the caller)."""
    quiet_choice_refusals()
    with gr.Blocks():
        resolution = gr.Slider(64, 2048, label="Preprocessor resolution")
        seed = gr.Number(label="Seed", minimum=-1)
        sampler = gr.Dropdown(choices=["Euler a"], label="Sampler")
    for junk in (None, "abc", {"a": 1}, [1, 2]):
        assert refusal(resolution.preprocess, junk) == \
            f"Preprocessor resolution: not a number: {junk}"
    assert refusal(seed.preprocess, "abc") == "Seed: not a number: abc"
    assert refusal(sampler.preprocess, {"a": 1}) == "Sampler: not one of the choices"
    assert resolution.preprocess(512) == 512 and seed.preprocess(None) is None


def test_what_is_no_number_is_refused_in_chinese(chinese_visitor: None) -> None:
    quiet_choice_refusals()
    with gr.Blocks():
        resolution = gr.Slider(64, 2048, label="Preprocessor resolution")
    assert refusal(resolution.preprocess, "abc") == "预处理器分辨率：不是数字：abc"


# --- Pillow's own limit ----------------------------------------------------------------------


def test_pillows_limit_leaves_every_legal_picture_alone(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    guard_pillow()
    assert Image.MAX_IMAGE_PIXELS == PILLOW_LIMIT == 2 * 4096 * 4096
    largest = io.BytesIO(png(Image.new("1", (4096, 4096))))  # uploads, results, renders
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the offline backend turns the warning into a refusal
        with Image.open(largest) as image:
            image.load()
    over = io.BytesIO(png(Image.new("1", (8193, 8193))))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(over)
    Image.MAX_IMAGE_PIXELS = 1000
    guard_pillow()
    assert Image.MAX_IMAGE_PIXELS == 1000  # lowered, never raised
