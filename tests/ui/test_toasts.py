"""Text from the service reaches the page as text: Gradio renders a toast's message (and a
Markdown status) as HTML, so a link or an `<img>` in an error must arrive escaped."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_tools import picture, upscale
from webui.api.errors import ServiceError
from webui.core.catalog import Catalog
from webui.offline import pipeline
from webui.ui import toasts
from webui.ui.prompt_box import picker_updates
from webui.ui.topbar import model_updates

HOSTILE = '<a href="https://evil.example">click</a><img src=x>'
ESCAPED = '&lt;a href="https://evil.example"&gt;click&lt;/a&gt;&lt;img src=x&gt;'
VISITOR = "visitor-0123456789abcdef"


def warnings_of(call: Any) -> list[str]:
    """The messages the handler toasts (out of a running app, Gradio's gr.Warning and gr.Info
    become Python warnings)."""
    with pytest.warns(UserWarning) as warned:
        call()
    return [str(w.message) for w in warned]


def assert_no_markup(message: str) -> None:
    assert "<a" not in message and "<img" not in message, message


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise ServiceError(HOSTILE)


def test_list_errors_are_escaped_in_toasts(ui: BuiltUi, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("loras", "embeddings", "checkpoints", "vaes"):
        monkeypatch.setattr(Catalog, name, refuse)
    messages = warnings_of(lambda: picker_updates(ui.ctx, VISITOR, refresh=True))
    messages += warnings_of(lambda: model_updates(ui.ctx, VISITOR, None, None))
    render = ui.tab.networks.render
    messages += warnings_of(lambda: render(ui.token(VISITOR), "LoRA", "", "All base models",
                                           "Default order", "", "", None))
    assert messages == [f"Could not load the LoRA / embedding lists: {ESCAPED}",
                        f"Could not load the model lists: {ESCAPED}",
                        f"Could not load the LoRA list: {ESCAPED}"]


def test_a_failed_tool_task_is_escaped_in_its_toast_and_status(
        ui: BuiltUi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise pipeline.TaskFailure(HOSTILE)  # the service's own words for the failure

    monkeypatch.setattr(pipeline, "enhance", fail)
    final: dict[Any, Any] = {}
    image = picture(tmp_path, "in.png", gradient(64, 64))
    messages = warnings_of(lambda: final.update(upscale(ui, image=image)))
    assert messages == [f"Task failed: {ESCAPED}"]
    status = final[ui.extras.results.panel.status]
    assert ESCAPED.replace("://", "\\://") in status  # Markdown: no link either
    assert_no_markup(status)


def test_test_connection_shows_the_service_text_as_text(ui: BuiltUi,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client = ui.ctx.runtime.client
    monkeypatch.setattr(type(client), "query_models", refuse)
    message = ui.settings.handlers["test"](ui.token(VISITOR))
    assert message.startswith("Connection failed: ")
    assert_no_markup(message)
    assert "\\[" not in message and "&lt;a href" in message


def test_markdown_text_allows_no_link_image_or_code() -> None:
    assert toasts.markdown_text("[click](https://evil.example) ![x](https://t.example/p.gif)") \
        == r"\[click\](https\://evil.example) !\[x\](https\://t.example/p.gif)"
    assert toasts.markdown_text("`code` <b>&amp;") == r"\`code\` &lt;b&gt;&amp;amp;"
    # what Markdown links by itself: bare URLs, www. names, e-mail addresses
    assert toasts.markdown_text("see http://a.example, WWW.b.example or c@d.example") \
        == r"see http\://a.example, WWW\.b.example or c\@d.example"
    # status lines read as before
    assert toasts.markdown_text("Done: 4 images. Failed: no face (0.5)") == \
        "Done: 4 images. Failed: no face (0.5)"
    assert toasts.plain("it's \"fine\"") == "it's \"fine\""  # text content: quotes as they are


def test_a_folder_is_shown_relative_or_described(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work" / "outputs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    described = "the app's outputs folder (on the server)"
    assert toasts.visitor_path(tmp_path / "work" / "outputs", described) == "outputs"
    assert toasts.visitor_path(Path("outputs"), described) == "outputs"
    assert toasts.visitor_path(tmp_path / "work", described) == "."
    assert toasts.visitor_path(tmp_path / "elsewhere", described) == described
    assert toasts.visitor_path(tmp_path / "work" / ".." / "elsewhere", described) == described


def test_the_settings_tab_shows_no_absolute_path(ui: BuiltUi) -> None:
    outputs = ui.ctx.runtime.settings.outputs_dir  # under pytest's tmp dir, not the cwd
    values = [b.value for b in _blocks(ui) if isinstance(b, gr.Textbox)]
    assert values and not any(str(outputs.resolve()) in str(v) for v in values)
    # the folder is written when the tab is shown (and at load), in the visitor's language
    shown = ui.settings.handlers["relabel"](ui.token("visitor-0123456789abcdef"), "spaced", 1.5)
    assert shown[3] == "the app's outputs folder (on the server)"
    assert not any(str(outputs.resolve()) in str(v) for v in shown)


def _blocks(ui: BuiltUi) -> list[Any]:
    root = ui.settings.save.parent
    while getattr(root, "parent", None) is not None:
        root = root.parent
    found, stack = [], [root]
    while stack:
        block = stack.pop()
        found.append(block)
        stack.extend(getattr(block, "children", []) or [])
    return found


def test_pnginfo_names_no_server_path(tmp_path: Path) -> None:
    from webui.ui.tabs.pnginfo import read_parameters

    fake = tmp_path / "secret-folder" / "notes.png"
    fake.parent.mkdir()
    fake.write_text("not a picture")
    for path in (fake, tmp_path / "gone.png"):
        messages = warnings_of(lambda p=path: read_parameters(str(p)))
        assert messages == ["Not a readable image: not a PNG, JPEG or WebP file, or a damaged "
                            "one"]
        assert not any(str(tmp_path) in m for m in messages)


def test_no_toast_bypasses_the_escaping() -> None:
    """Every gr.Warning / gr.Info / gr.Error / gr.Success with a variable part goes through
    webui/ui/toasts.py (a fixed sentence of our own may be raw)."""
    root = Path(__file__).resolve().parents[2] / "webui"
    raw = []
    for path in root.rglob("*.py"):
        if path.name == "toasts.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("Warning", "Info", "Error", "Success")
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "gr"):
                message = node.args[0] if node.args else None
                fixed = isinstance(message, ast.Constant) or (
                    isinstance(message, ast.Name) and message.id.isupper())
                if not fixed:
                    raw.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    assert raw == [], "use webui.ui.toasts: " + ", ".join(raw)
