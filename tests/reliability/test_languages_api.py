"""The visitor's language through the public API (gradio_client, forged headers): refusals
made while Gradio checks the inputs (a forged choice, a number out of bounds, an upload that
is not a picture) come in the language of the request too, without a traceback in the log;
a forged language cookie or Accept-Language falls back, and never shows up in an answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.helpers.gradio_api import PageApi
from tests.reliability.test_uploads_api import free_port
from webui.core.runtime import Settings
from webui.ui.app import Launched, launch

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Launched, PageApi]]:
    root = tmp_path_factory.mktemp("languages-api")
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=0.05)
    launched = launch(settings, port=free_port(), quiet=True)
    yield launched, PageApi(launched.url)
    launched.close()


def refusal(api: PageApi, endpoint: str, values: dict[str, Any],
            headers: dict[str, str] | None = None) -> str:
    client = api.client(headers=headers)
    try:
        with pytest.raises(AppError) as refused:
            client.predict(*api.args(endpoint, values), api_name=f"/{endpoint}")
    finally:
        client.close()
    return str(refused.value.message)


@pytest.mark.parametrize(("headers", "expected"), [
    (CHINESE, "实时预览：不是可选项之一"),
    ({"Accept-Language": "en-US"}, "Live preview: not one of the choices"),
    # a cookie that names no language of the catalogue: the header decides
    ({**CHINESE, "Cookie": "zhiqite_lang=../../etc"}, "实时预览：不是可选项之一"),
    ({**CHINESE, "Cookie": "zhiqite_lang=<script>"}, "实时预览：不是可选项之一"),
    # a cookie that does name one wins (Gradio's language switch)
    ({**CHINESE, "Cookie": "zhiqite_lang=en"}, "Live preview: not one of the choices"),
    ({"Accept-Language": "x" * 10_000}, "Live preview: not one of the choices"),
    ({"Accept-Language": "zh;q=0, en"}, "Live preview: not one of the choices"),
])
def test_a_forged_choice_is_refused_in_the_requests_language(
        app: tuple[Launched, PageApi], headers: dict[str, str], expected: str,
        caplog: pytest.LogCaptureFixture) -> None:
    _, api = app
    with caplog.at_level(logging.ERROR):
        message = refusal(api, "tradeoff", {"settings_preview_mode": "forged-choice"}, headers)
    assert message == expected
    assert "Traceback" not in caplog.text and "<script>" not in message


@pytest.mark.parametrize(("headers", "expected"), [
    (CHINESE, "固定间隔（秒）：必须在 [0.5, 5] 之内，当前为 99999"),
    ({"Accept-Language": "en"}, "Steady interval, seconds: must be in [0.5, 5], got 99999"),
])
def test_a_number_out_of_bounds_is_refused_in_the_requests_language(
        app: tuple[Launched, PageApi], headers: dict[str, str], expected: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """Gradio's own bounds check: in the visitor's language, no traceback in the log."""
    _, api = app
    with caplog.at_level(logging.ERROR):
        message = refusal(api, "tradeoff", {"settings_preview_mode": "steady",
                                            "settings_preview_interval": 99999}, headers)
    assert message == expected
    assert "Traceback" not in caplog.text


def test_an_upload_that_is_no_picture_is_refused_in_chinese(app: tuple[Launched, PageApi],
                                                            tmp_path: Path) -> None:
    _, api = app
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"just some notes, not a picture")
    message = refusal(api, "read_parameters", {"pnginfo_file": handle_file(notes)}, CHINESE)
    assert message == "拖入图像（PNG、JPEG 或 WebP）：无法读取的图像（请用 PNG、JPEG 或 WebP）"
