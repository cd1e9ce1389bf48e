"""Settings and own keys through the handlers: a key changes whose history you see, Test
connection says what is wrong, preferences reach tasks; and a full flow with a marker key
leaves no trace of it in logs, files, the store or any message."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_history import generate, listing, opened
from tests.ui.test_tools import picture, upscale
from webui.ui.tabs.settings import unseal_key

VISITOR = "visitor-0123456789abcdef"
MARKER = "MARKERKEY7f3a9c1e5b2d4f6081a3c5e7"
WRONG = "WRONGKEY9d8c7b6a5f4e3d2c1b0a9f8e"


def use_key(ui: BuiltUi, appcode: str, *, remember: bool = False,
            visitor: str = VISITOR) -> dict[Any, Any]:
    s = ui.settings
    data = {ui.visitor: ui.token(visitor), s.remember: remember,
            **{c: (appcode if name == "appcode" else "") for name, c in s.keys.items()}}
    return s.handlers["use"](data)


def save(ui: BuiltUi, **values: Any) -> dict[Any, Any]:
    s = ui.settings
    data = {ui.visitor: ui.token(VISITOR), **{c: getattr(ui.ctx.people.defaults, name)
                                    for name, c in s.prefs.items()}}
    data.update({s.prefs[name]: value for name, value in values.items()})
    return s.handlers["save"](data)


def test_own_key_gives_its_own_history(ui: BuiltUi) -> None:
    generate(ui, "made with the app key")
    result = use_key(ui, MARKER)
    assert result[ui.settings.saved_keys] == ""  # not remembered: nothing for the browser
    assert "your own key" in result[ui.settings.key_status]
    assert "No tasks" in listing(ui)[ui.history.rows]  # another key, another history
    generate(ui, "made with my key")
    rows = listing(ui)[ui.history.rows]
    assert "made with my key" in rows and "app key" not in rows
    ui.settings.handlers["forget"](ui.token(VISITOR))
    rows = listing(ui)[ui.history.rows]
    assert "app key" in rows and "made with my key" not in rows


def test_remembered_key_goes_to_the_browser_only_when_asked(ui: BuiltUi) -> None:
    result = use_key(ui, MARKER, remember=True)
    kept = result[ui.settings.saved_keys]
    assert kept and MARKER not in kept  # sealed by the server: the page cannot read it
    remembered, legacy = unseal_key(ui.ctx, VISITOR, kept)
    assert remembered is not None and remembered.appcode == MARKER and not legacy
    assert unseal_key(ui.ctx, "another-visitor-0123456789", kept)[0] is None
    assert ui.settings.handlers["forget"](ui.token(VISITOR))[ui.settings.saved_keys] == ""


def test_test_connection_says_what_is_wrong(ui: BuiltUi) -> None:
    ui.ctx.runtime.offline.config.appcode = MARKER  # the gateway now checks the AppCode
    test = ui.settings.handlers["test"]
    assert test(ui.token(VISITOR)).startswith("Connection failed")  # the app's key is missing
    use_key(ui, WRONG)
    message = test(ui.token(VISITOR))
    assert message.startswith("Connection failed") and "AppCode" in message
    assert WRONG not in message
    use_key(ui, MARKER)
    assert test(ui.token(VISITOR)).startswith("Connection works: AppCode at ")


def test_preferences_reach_the_request_and_bad_ones_are_refused(ui: BuiltUi) -> None:
    saved = save(ui, output_format="jpg", steps=33)
    assert json.loads(saved[ui.settings.saved_prefs])["output_format"] == "jpg"
    shown = ui.tab.preview_request(ui.data(prompt="a cat"))[ui.tab.request_json]
    assert '"output_image_format": "jpg"' in shown
    with pytest.warns(UserWarning, match="preview_interval"):
        save(ui, preview_interval=0.1)
    assert ui.ctx.prefs(VISITOR).preview_interval == ui.ctx.people.defaults.preview_interval


def test_rate_limit_refuses_before_sending(ui: BuiltUi) -> None:
    from webui.core.limits import Limits, Quota

    ui.ctx.limiter.limits = Limits(visitor=Quota(tasks_per_minute=1))
    generate(ui, "first")
    with pytest.warns(UserWarning, match="at most 1 task"):
        generate(ui, "second")
    assert ui.stats().tasks_started == 1


def test_no_trace_of_a_key_anywhere(ui: BuiltUi, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture,
                                    capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    ui.ctx.runtime.offline.config.appcode = MARKER
    messages: list[str] = []
    use_key(ui, WRONG)
    messages.append(ui.settings.handlers["test"](ui.token(VISITOR)))
    failed = generate(ui, "refused")  # sent with the wrong key: the gateway refuses it
    assert "AppCode" in failed[ui.tab.panel.status]
    messages.append(failed[ui.tab.panel.status])
    use_key(ui, MARKER)
    messages.append(ui.settings.handlers["test"](ui.token(VISITOR)))
    done = generate(ui, "a marker-free lighthouse")
    assert done[ui.tab.panel.status].startswith("Done")
    upscale(ui, image=picture(tmp_path, "in.png", gradient(64, 64)))
    page = listing(ui)
    record = ui.ctx.runtime.store.list(ui.ctx.owner(VISITOR), limit=1)[0]
    shown = opened(ui, record.id)
    messages += [str(v) for v in (*page.values(), *shown.values(), *done.values())]
    messages.append(str(ui.tab.preview_request(ui.data(prompt="x"))))
    out, err = capfd.readouterr()

    texts = {"logs": caplog.text, "stdout": out, "stderr": err, "messages": "\n".join(messages)}
    for where, text in texts.items():
        for key in (MARKER, WRONG):
            assert key not in text, f"{key[:6]}... leaked into {where}"
    settings = ui.ctx.runtime.settings
    for root in (settings.data_dir, settings.outputs_dir):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for key in (MARKER, WRONG):
                    assert key.encode() not in data, f"{key[:6]}... leaked into {path}"


def test_test_connection_names_a_used_up_quota(ui: BuiltUi) -> None:
    from tests.helpers.offline import faults

    faults(ui.ctx.runtime.offline, calls=[{"endpoint": "query_models", "fault": "quota"}])
    message = ui.settings.handlers["test"](ui.token(VISITOR))
    assert message.startswith("Connection failed: The API quota is used up"), message
