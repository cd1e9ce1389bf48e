"""Uploads through Gradio's public API (`gradio_client`) into the running app, as issue 17's
audit sent them: a decompression bomb (a 164 kB PNG of 13000x13000 pixels) and remote paths
(`{"path": "http://...", "meta": {"_type": "gradio.FileData"}}`) to Extras, the ControlNet
preview and PNG Info. Each is refused with the field's label before Gradio decodes or
fetches anything. And the inpaint editor's blob store, which keeps what anyone posts, is not
offered.

The app runs in this process, so a spy on Pillow's decoder sees what Gradio would decode.
Gradio's own SSRF filter refuses loopback hosts; to show that the app itself refuses URLs,
the filter is let through here, as it would be for a public host, and the URLs point at a
tiny server of the test's own on 127.0.0.1 that counts the requests it gets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from gradio import processing_utils
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import ImageFile

from tests.conftest import FAST
from tests.helpers.gradio_api import PageApi
from tests.helpers.images import gradient, png
from webui.core.runtime import Settings
from webui.ui.app import Launched, launch

# endpoint -> (the file input's elem_id, its label: what a refusal is named by)
ENDPOINTS = {
    "run": ("extras_image", "Source"),  # Extras' Run
    "local_preview": ("txt2img_cn0_image", "Control image"),  # ControlNet unit 0's Preview
    "read_parameters": ("pnginfo_file", "Drop an image (PNG, JPEG or WebP)"),  # PNG Info
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Launched, PageApi]]:
    root = tmp_path_factory.mktemp("uploads-api")
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=FAST)
    launched = launch(settings, port=free_port(), quiet=True)
    yield launched, PageApi(launched.url)
    launched.close()


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Sizes of the pictures over 4096 px that anything in this process starts to decode (the
    decode is stopped there, so the old code would not eat the memory while failing)."""
    sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        if max(self.size) > 4096:
            sizes.append(self.size)
            raise OSError("the test stopped a bomb's decoding")
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


class Recorder(ThreadingHTTPServer):
    """Serves a small PNG at any path and keeps every request line."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        body = png(gradient(32, 32))
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                recorder.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    # Gradio's filter would refuse 127.0.0.1 itself (and ask dns.google about it first):
    # a transport of our own takes its place, as for a host that resolves publicly.
    monkeypatch.setattr(processing_utils, "async_transport", httpx.AsyncHTTPTransport())
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def call(api: PageApi, endpoint: str, file: Any) -> str:
    """Call the endpoint with `file` in its file input; the refusal's message."""
    elem_id, _ = ENDPOINTS[endpoint]
    client = api.client()
    try:
        with pytest.raises(AppError) as refused:
            client.predict(*api.args(endpoint, {elem_id: file}), api_name=f"/{endpoint}")
    finally:
        client.close()
    return str(refused.value.message)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_bomb_is_refused_before_anything_decodes_it(app: tuple[Launched, PageApi],
                                                      bomb: Path, endpoint: str,
                                                      decoded: list[tuple[int, int]]) -> None:
    _, api = app
    message = call(api, endpoint, handle_file(bomb))
    assert message == f"{ENDPOINTS[endpoint][1]}: 13000x13000 is larger than 4096x4096"
    assert decoded == []


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_remote_path_is_refused_not_fetched(app: tuple[Launched, PageApi], endpoint: str,
                                              recorder: Recorder) -> None:
    _, api = app
    remote = {"path": f"{recorder.url}/x.png", "meta": {"_type": "gradio.FileData"}}
    message = call(api, endpoint, remote)
    assert message == (f"{ENDPOINTS[endpoint][1]}: the app does not fetch URLs; upload the "
                       "file instead")
    assert recorder.requests == []


def test_a_picture_within_the_limits_still_works(app: tuple[Launched, PageApi],
                                                 tmp_path: Path) -> None:
    """PNG Info reads an ordinary upload through the same guarded input."""
    _, api = app
    path = tmp_path / "made.png"
    path.write_bytes(png(gradient(64, 48)))
    client = api.client()
    try:
        result = api.outputs("read_parameters", client.predict(
            *api.args("read_parameters", {"pnginfo_file": handle_file(path)}),
            api_name="/read_parameters"))
    finally:
        client.close()
    assert Path(result["pnginfo_image"]).read_bytes() == path.read_bytes()


def test_the_editors_blob_store_is_not_offered(app: tuple[Launched, PageApi]) -> None:
    """Gradio's ImageEditor keeps the bytes anyone posts to `accept_blobs` in memory until a
    submit with their id comes (never, from a script): the app does not offer it."""
    launched, api = app
    editor = next(i for i, c in api.components.items()
                  if c["props"].get("elem_id") == "img2img_inpaint_editor")
    answer = requests.post(
        f"{launched.url}/gradio_api/component_server",
        data={"component_id": str(editor), "session_hash": "abuse", "fn_name": "accept_blobs",
              "type": "background", "index": "null", "id": "kept-forever"},
        files={"files": ("background.png", png(gradient(32, 32)), "image/png")}, timeout=30)
    assert answer.status_code == 404
    block = launched.demo.blocks[editor]
    assert getattr(block, "blob_storage", {}) == {}
