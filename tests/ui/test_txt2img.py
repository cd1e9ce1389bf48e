"""txt2img handlers without a browser: form state -> request -> engine -> panel updates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import BuiltUi
from webui.core import infotext
from webui.core.outputs import read_infotext
from webui.ui.tasks import KEEP, read_last_tasks, reattach

VISITOR = "visitor-0123456789abcdef"


def merged(updates: list[dict[Any, Any]]) -> dict[Any, Any]:
    state: dict[Any, Any] = {}
    for update in updates:
        if update != KEEP:  # a refusal's skip(): nothing changes
            state.update(update)
    return state


def value(update: Any) -> Any:
    return getattr(update, "value", update)


def test_generate_streams_to_a_gallery_of_all_images(ui: BuiltUi) -> None:
    updates = list(ui.tab.generate(ui.data(prompt="a lighthouse", n_iter=2, batch_size=2,
                                           seed=77, width=320, height=256, steps=20)))
    panel, final = ui.tab.panel, merged(updates)
    paths = final[panel.results]
    assert len(paths) == 4 and all(Path(p).is_file() for p in paths)
    gallery = value(final[panel.gallery])
    assert [item["caption"] for item in gallery] == ["Seed 77", "Seed 78", "Seed 79", "Seed 80"]
    assert "Seed: 77, Size: 320x256" in final[panel.infotext]
    assert final[panel.status].startswith("Done: 4 images")
    assert "Billed calls: **" in final[panel.meter]
    # the browser remembers the task for a reload, under this visitor's owner key
    batch = ui.ctx.submissions.batch(VISITOR, read_last_tasks(final[ui.last_tasks])["txt2img"])
    assert batch is not None and len(batch.task_ids) == 1
    record = ui.ctx.runtime.store.get(batch.task_ids[0])
    assert record is not None and record.owner == ui.ctx.owner(VISITOR)
    # the Request panel shows what was sent, the id as a placeholder
    body = json.loads(final[ui.tab.request_json])
    assert body["alwayson_scripts"]["id_task"] == "<new id at each Generate>"
    assert (body["n_iter"], body["batch_size"], body["seed"]) == (2, 2, "77")
    assert final[ui.tab.request_curl].startswith("curl -sS -X POST ")


def test_live_previews_reach_the_panel(ui: BuiltUi) -> None:
    ui.ctx.runtime.offline.config.time_scale = 0.01
    updates = list(ui.tab.generate(ui.data(prompt="fog", steps=40)))
    previews = [u[ui.tab.panel.preview] for u in updates if ui.tab.panel.preview in u]
    shown = [p for p in previews if value(p) is not None]
    assert len(shown) >= 2  # each a new picture, sent only when it changed


@pytest.mark.parametrize("values, message", [
    ({"width": 1020}, "Width: width must be a multiple of 8"),
    ({"prompt": ""}, "Prompt: prompt"),
    ({"cfg_scale": 31}, "CFG Scale: cfg_scale must be in [1, 30], got 31"),
    ({"enable_hr": True, "hr_resize_x": 1000, "hr_resize_y": 1004},
     "Resize height to: hr_resize_y must be a multiple of 8"),
    ({"checkpoint": ""}, "Stable Diffusion checkpoint: sd_model_checkpoint is empty"),
])
def test_invalid_input_is_refused_before_any_call(ui: BuiltUi, values: dict,
                                                  message: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # no checkpoint and none the service lists (a list call that failed): refused
    monkeypatch.setattr(ui.ctx, "default_checkpoint", lambda visitor: None)
    data = ui.data(**{"prompt": "a cat", **values})
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]  # nothing shown changes
    assert any(str(w.message).startswith(message) for w in warned), [str(w.message)
                                                                      for w in warned]
    assert ui.stats().billed == {} and ui.stats().calls == {}


def test_generate_before_the_checkpoint_list_arrived_uses_the_first_listed(ui: BuiltUi
                                                                          ) -> None:
    """The page fills the checkpoint from its load event; a Ctrl+Enter that comes first
    gets the checkpoint the page is about to show, not a refusal."""
    first = ui.ctx.catalog.checkpoints()[0].value
    final = merged(list(ui.tab.generate(ui.data(prompt="a cat", checkpoint=None))))
    assert "Done: 1 image" in final[ui.tab.panel.status]
    record = ui.ctx.runtime.store.list(ui.ctx.owner("visitor-0123456789abcdef"), limit=1)[0]
    assert record.request["alwayson_scripts"]["sd_model_checkpoint"] == first


def test_a_visitor_without_a_stored_id_is_its_sessions(ui: BuiltUi) -> None:
    """Before the page's load event has stored the visitor id, an event still has one: the
    same the load event derives and stores, from the page's session."""

    class Session:
        session_hash = "abc123session"

    derived = ui.ctx.visitor_id(None, Session())
    assert derived and derived == ui.ctx.visitor_id("", Session())
    assert ui.ctx.visitor_id(None, None) is None
    assert ui.ctx.visitor_id(ui.token("visitor-0123456789abcdef"), Session()) == \
        "visitor-0123456789abcdef"
    # an id the app did not sign is not honoured: the session's own is used instead
    assert ui.ctx.visitor_id("visitor-0123456789abcdef", Session()) == derived
    assert ui.ctx.visitor_id("visitor-0123456789abcdef", None) is None
    data = ui.data(prompt="a cat", visitor=None)
    data[ui.visitor] = None
    final = merged(list(ui.tab.generate(data, Session())))
    assert "Done: 1 image" in final[ui.tab.panel.status]
    assert ui.ctx.runtime.store.count(ui.ctx.owner(derived)) == 1


def test_styles_and_hires_reach_the_request(ui: BuiltUi) -> None:
    final = merged(list(ui.tab.generate(ui.data(
        prompt="a fox", negative_prompt="", styles=["Photographic"], enable_hr=True,
        hr_resize_x=640, hr_resize_y=512, width=320, height=256, steps=10))))
    body = json.loads(final[ui.tab.request_json])
    assert body["prompt"].startswith("cinematic photo of a fox, 35mm")
    assert body["negative_prompt"].startswith("drawing, painting")
    assert (body["enable_hr"], body["hr_resize_x"], body["hr_resize_y"]) == (True, 640, 512)
    assert "hr_scale" not in body
    fields = infotext.parse(read_infotext(final[ui.tab.panel.results][0]) or "")
    assert (fields["Size-1"], fields["Hires resize-1"]) == ("320", "640")


def test_request_preview_without_generating(ui: BuiltUi) -> None:
    views = ui.tab.preview_request(ui.data(prompt="a cat", vae="Automatic", clip_skip=2))
    body = json.loads(views[ui.tab.request_json])
    assert "sd_vae" not in body["alwayson_scripts"]
    assert body["alwayson_scripts"]["override_settings"] == {"CLIP_stop_at_last_layers": 2}
    bad = ui.tab.preview_request(ui.data(prompt="a cat", width=1020))
    assert bad[ui.tab.request_json].startswith("// width must be a multiple of 8")
    assert ui.stats().calls == {}


def test_reload_reattaches_to_the_running_task_and_only_for_its_owner(ui: BuiltUi) -> None:
    ui.ctx.runtime.offline.config.time_scale = 0.01
    stream = ui.tab.generate(ui.data(prompt="a ship", steps=60))
    remembered = next(stream)[ui.last_tasks]
    stream.close()  # the page was reloaded: the run is gone, the task is not
    panel = ui.tab.panel
    final = merged(list(reattach(ui.ctx, panel, VISITOR, remembered)))
    assert len(final[panel.results]) == 1 and final[panel.status].startswith("Done")
    # finished meanwhile: shown at once; another visitor with the same id list sees nothing
    again = merged(list(reattach(ui.ctx, panel, VISITOR, remembered)))
    assert again[panel.results] == final[panel.results]
    assert list(reattach(ui.ctx, panel, "someone-else-0123456", remembered)) == []
    assert ui.stats().tasks_started == 1


def test_last_tasks_survive_what_the_browser_hands_back() -> None:
    assert read_last_tasks('{"txt2img":"w1"}') == {"txt2img": "w1"}
    assert read_last_tasks({"__type__": "update", "txt2img": "w1"}) == {"txt2img": "w1"}
    assert read_last_tasks("not json") == {} and read_last_tasks(None) == {}
    assert read_last_tasks('{"txt2img": 5}') == {}
