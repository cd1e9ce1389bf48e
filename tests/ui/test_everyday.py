"""The everyday loop (issue 18) without a browser: ↙ reads pasted infotext or the visitor's last
task (and takes any arguments), an upload that is no picture is refused with its field named,
History's Delete deletes nothing unless confirmed, Test connection speaks plainly."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_txt2img import merged
from webui.messages import Language, render
from webui.ui.inputs import GuardedFile, GuardedImage
from webui.ui.prompt_box import wire_paste
from webui.ui.tabs.pnginfo import build_pnginfo
from webui.ui.tabs.settings import connection_works

VISITOR = "visitor-0123456789abcdef"
PASTED = ("a red fox in snow\nNegative prompt: blurry, watermark\n"
          "Steps: 17, Sampler: DPM++ 2M, CFG scale: 6, Seed: 1234, Size: 640x448")


def paste_handler(ui: BuiltUi, tab: str = "txt2img") -> Any:
    built = ui.tab if tab == "txt2img" else ui.img2img
    with gr.Blocks():
        return wire_paste(ui.ctx, built.box, built.form, tab)


def by_name(ui: BuiltUi, updates: dict[Any, Any], tab: Any = None) -> dict[str, Any]:
    form = (tab or ui.tab).form
    return {name: updates[c] for name, c in form.fields.items() if c in updates}


def test_arrow_fills_the_form_from_pasted_infotext(ui: BuiltUi) -> None:
    read = paste_handler(ui)
    fields = by_name(ui, read(ui.token(VISITOR), PASTED))
    assert fields["prompt"] == "a red fox in snow"
    assert fields["negative_prompt"] == "blurry, watermark"
    assert (fields["steps"], fields["seed"], fields["width"], fields["height"]) == (
        17, 1234, 640, 448)
    assert fields["sampler"] == "DPM++ 2M" and fields["cfg_scale"] == 6.0


def test_arrow_with_an_empty_prompt_reads_the_last_task_of_the_tab(ui: BuiltUi) -> None:
    read = paste_handler(ui)
    merged(list(ui.tab.generate(ui.data(prompt="a quiet harbour", steps=5, width=64,
                                        height=64, seed=2468))))
    fields = by_name(ui, read(ui.token(VISITOR), ""))
    assert fields["prompt"] == "a quiet harbour"
    assert (fields["steps"], fields["seed"], fields["width"]) == (5, 2468, 64)
    # img2img has no task yet: nothing filled, the visitor is told
    assert paste_handler(ui, "img2img")(ui.token(VISITOR), "") == gr.skip()


@pytest.mark.parametrize("args", [(), (None,), (None, None), (1, 2, 3, 4), ("x", 5),
                                  (None, "just a prompt"), ({"a": 1}, ["b"])])
def test_arrow_takes_any_arguments(ui: BuiltUi, args: tuple[Any, ...]) -> None:
    read = paste_handler(ui)
    result = read(*args)
    assert isinstance(result, dict)  # an update or gr.skip(), never an exception


def test_an_upload_that_is_no_picture_is_refused_with_its_field(tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture\n" * 10)
    real = tmp_path / "real.png"
    gradient(32, 24).save(real)
    with gr.Blocks():
        image = GuardedImage(label="Image for img2img", type="filepath")
        files = GuardedFile(label="Images (one task each)", file_count="multiple")
    assert image.refusal({"path": str(fake)}) == (
        "Image for img2img: not a readable image (PNG, JPEG or WebP)")
    assert image.refusal({"path": str(real)}) is None
    assert image.refusal(None) is None
    assert files.refusal([{"path": str(real)}, {"path": str(fake)}]).startswith(
        "Images (one task each): not a readable image")
    image.refusal({"nonsense": 1})  # never raises
    image.refusal("a string")


def test_png_info_refuses_without_naming_a_path(tmp_path: Path) -> None:
    from gradio.data_classes import FileData

    fake = tmp_path / "secret-folder" / "notes.png"
    fake.parent.mkdir()
    fake.write_text("not a picture\n" * 10)
    with gr.Blocks():
        tab = build_pnginfo()
    with pytest.raises(gr.Error) as refused:
        tab.file.preprocess(FileData(path=str(fake)))
    message = str(refused.value.message)
    assert message == "Drop an image (PNG, JPEG or WebP): not a readable image (PNG, JPEG or WebP)"
    assert "secret-folder" not in message and str(tmp_path) not in message


def test_history_delete_needs_the_confirmation(ui: BuiltUi) -> None:
    merged(list(ui.tab.generate(ui.data(prompt="a tin robot", steps=4, width=64, height=64))))
    record = ui.ctx.runtime.store.list(ui.ctx.owner(VISITOR), limit=1)[0]
    delete = ui.history.handlers["delete"]
    assert delete(ui.token(VISITOR), f"{record.id}|1", "", "", 1, False) == gr.skip()
    assert ui.ctx.runtime.store.get(record.id) is not None
    assert Path(record.images[0].path).exists()
    delete(ui.token(VISITOR), f"{record.id}|1", "", "", 1, True)
    assert ui.ctx.runtime.store.get(record.id) is None


def test_history_show_of_nothing_leaves_the_buttons_alone(ui: BuiltUi) -> None:
    """A generator that yields nothing sets every output to None (a button loses its text);
    an empty dict made Gradio log a ValueError (Delete clears `opened`, which runs `show`):
    one skip() changes none of them."""
    show = ui.history.handlers["show"]
    assert list(show(ui.token(VISITOR), "")) == [gr.skip()]
    with warnings.catch_warnings(record=True):  # "That task is gone"
        warnings.simplefilter("always")
        assert list(show(ui.token(VISITOR), "nonexistent|1")) == [gr.skip()]


def test_test_connection_says_it_plainly() -> None:
    assert str(connection_works("appcode", "https://api.example.com/v1", 12)) == (
        "Connection works: AppCode at api.example.com: 12 checkpoints listed.")
    offline = str(connection_works("none", "http://127.0.0.1:7861", 3))
    assert offline == "Connection works: 127.0.0.1:7861, no key needed: 3 checkpoints listed."
    assert render(connection_works("vendor-key", "https://api.example.com/v1", None),
                  Language.ZH_CN) == "连接正常：服务商密钥，服务地址 api.example.com。"
    assert "none" not in offline and "(" not in offline
