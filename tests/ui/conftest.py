"""The UI built in a Blocks (not launched) over a runtime with its own offline backend: the
tab's handlers are called as Gradio would call them, with a dict of component values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.conftest import FAST
from webui.core.engine import PollPolicy
from webui.core.runtime import Runtime, Settings
from webui.offline.server import ThreadedServer
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.page_blocks import served_by_launch_only
from webui.ui.tabs.extras import ExtrasTab, build_extras
from webui.ui.tabs.faceswap import FaceSwapTab, build_faceswap
from webui.ui.tabs.history import HistoryTab, build_history
from webui.ui.tabs.img2img import Img2ImgTab, build_img2img
from webui.ui.tabs.settings import SettingsTab, build_settings
from webui.ui.tabs.txt2img import Txt2ImgTab, build_txt2img
from webui.ui.topbar import TopBar, build_topbar

CHECKPOINT = "photon_v1_84728.safetensors"


def _preprocessed(component: Any) -> Any:
    """A component's default as the handler receives it (a Radio of type "index" gives the
    index of its value)."""
    if isinstance(component, gr.Radio) and component.type == "index":
        return [c[1] for c in component.choices].index(component.value)
    return component.value


def _routes_app(runtime: Runtime) -> Any:
    from fastapi import FastAPI

    from webui.core.routes import callback_router, uploads_router

    app = FastAPI()
    app.include_router(callback_router(runtime.engine))
    app.include_router(uploads_router(runtime.local_host))
    return app


class HandlersBlocks(gr.Blocks):
    """The tabs' components and events, for calling their handlers directly. Leaving a
    gr.Blocks also renders the page's config and builds its FastAPI app (0.6 s, most of a UI
    test's setup), which nothing here serves: the launched page is the reliability and browser
    tests' (tests/reliability, tests/browser)."""

    def get_config_file(self) -> Any:
        return {}

    def __exit__(self, *args: Any) -> None:
        with served_by_launch_only(self):
            super().__exit__(*args)


@dataclass
class BuiltUi:
    ctx: UiContext
    topbar: TopBar
    tab: Txt2ImgTab
    visitor: gr.BrowserState
    last_tasks: gr.BrowserState
    img2img: Img2ImgTab
    extras: ExtrasTab
    faceswap: FaceSwapTab
    history: HistoryTab
    settings: SettingsTab

    def token(self, visitor: str | None) -> Any:
        """What the page keeps for `visitor`: its signed token (a plain id is refused)."""
        return self.ctx.visitor_token(visitor) if isinstance(visitor, str) and \
            16 <= len(visitor) <= 100 else visitor

    def data(self, visitor: str = "visitor-0123456789abcdef", tab: Any = None,
             **values: Any) -> dict[Any, Any]:
        """Every input at its default, as the page would send it, with `values` by name."""
        tab = tab or self.tab
        components = [*tab.form.components, *tab.controlnet.components,
                      *tab.adetailer.components]
        data: dict[Any, Any] = {c: _preprocessed(c) for c in components}
        data[self.topbar.checkpoint] = CHECKPOINT
        for name, value in values.items():
            data[tab.form[name]] = value
        data[self.visitor] = self.token(visitor)
        data[self.last_tasks] = ""
        return data

    def tool_data(self, inputs: dict[Any, Any], visitor: str = "visitor-0123456789abcdef",
                  form: Any = None, **values: Any) -> dict[Any, Any]:
        """A tool tab's inputs: `inputs` by component, form fields by name."""
        data: dict[Any, Any] = {c: _preprocessed(c) for c in (form.components if form else [])}
        for name, value in values.items():
            data[form[name]] = value
        data.update(inputs)
        data[self.visitor] = self.token(visitor)
        data[self.last_tasks] = ""
        return data

    def stats(self) -> Any:
        return self.ctx.runtime.offline.stats


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[BuiltUi]:
    with built_ui(tmp_path) as built:
        yield built


@contextmanager
def built_ui(root: Path) -> Iterator[BuiltUi]:
    """The tabs over their own runtime and offline backend, files under `root`."""
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=FAST)
    runtime = Runtime.open(settings, env={}, policy=PollPolicy().scaled(0.01))
    ctx = UiContext.create(runtime, preview_interval=0.01)
    with HandlersBlocks():
        visitor = gr.BrowserState(None)
        last_tasks = gr.BrowserState("")
        topbar = build_topbar(ctx, visitor)
        tab = build_txt2img(ctx, topbar, visitor, last_tasks)
        img2img = build_img2img(ctx, topbar, visitor, last_tasks)
        extras = build_extras(ctx, visitor, last_tasks)
        faceswap = build_faceswap(ctx, visitor, last_tasks)
        with gr.Tabs():
            history = build_history(ctx, visitor)
            settings = build_settings(ctx, visitor)
    # as at launch: the app's own routes (callbacks, uploads) at its public URL
    server = ThreadedServer(_routes_app(runtime)).start()
    runtime.set_public_url(server.url)
    try:
        yield BuiltUi(ctx, topbar, tab, visitor, last_tasks, img2img, extras, faceswap,
                      history, settings)
    finally:
        server.stop()
        runtime.close()


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The toasts a test's handlers show (gr.Info / gr.Warning), as text, in order."""
    messages: list[str] = []
    monkeypatch.setattr(toasts, "info", lambda text, *_: messages.append(str(text)))
    monkeypatch.setattr(toasts, "warn", lambda text, *_: messages.append(str(text)))
    return messages
