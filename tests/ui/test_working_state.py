"""The working state read back from the browser (issue 18): what fits its component is
restored, anything else is dropped, and nothing raises."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pytest

from webui.ui.working_state import MAX_STORED, TOPBAR, WorkingState, check, parse


@pytest.fixture(scope="module")
def work() -> WorkingState:
    with gr.Blocks():
        fields = {
            "prompt": gr.Textbox(), "steps": gr.Slider(1, 150, step=1, value=20),
            "cfg_scale": gr.Slider(1, 30, step=0.5, value=7),
            "sampler": gr.Dropdown(["Euler a", "DPM++ 2M Karras"], value="Euler a"),
            "enable_hr": gr.Checkbox(), "seed": gr.Number(-1, precision=0),
            "resize_mode": gr.Radio(["Just resize", "Crop and resize"], type="index"),
            "styles": gr.Dropdown([], multiselect=True, value=[]),
            "short": gr.Textbox(max_length=5),
        }
        top = {"checkpoint": gr.Dropdown([]), "clip_skip": gr.Slider(1, 12, step=1)}
    return WorkingState(gr.BrowserState(""), {TOPBAR: top, "txt2img": fields},
                        ("sampler", "steps", "cfg_scale"))


def named(work: WorkingState, raw: Any) -> dict[str, Any]:
    return work.values(raw, "txt2img")


def test_values_that_fit_come_back(work: WorkingState) -> None:
    raw = json.dumps({"txt2img": {"prompt": "a cat", "steps": 37, "cfg_scale": 6.5,
                                  "sampler": "DPM++ 2M Karras", "enable_hr": True,
                                  "seed": 12345, "resize_mode": "Crop and resize",
                                  "styles": ["mine"], "short": "abc"},
                      TOPBAR: {"checkpoint": "photon_v1_84728.safetensors", "clip_skip": 2}})
    assert named(work, raw) == {"prompt": "a cat", "steps": 37, "cfg_scale": 6.5,
                                "sampler": "DPM++ 2M Karras", "enable_hr": True,
                                "seed": 12345, "resize_mode": "Crop and resize",
                                "styles": ["mine"], "short": "abc"}
    assert work.values(raw, TOPBAR) == {"checkpoint": "photon_v1_84728.safetensors",
                                        "clip_skip": 2}
    # already a dict (Gradio's BrowserState may hand one back, with its "__type__")
    assert named(work, {"__type__": "update", "txt2img": {"steps": 10}}) == {"steps": 10}


def test_junk_is_dropped(work: WorkingState) -> None:
    raw = json.dumps({"txt2img": {
        "prompt": {"x": 1}, "steps": 151, "cfg_scale": "7", "sampler": "Nope",
        "enable_hr": 1, "seed": 2**60, "resize_mode": 1, "styles": "mine",
        "short": "toolong", "unknown": "x"},
        TOPBAR: {"checkpoint": ["a"] * 3, "clip_skip": True}, "other": [1, 2]})
    assert named(work, raw) == {}
    assert work.values(raw, TOPBAR) == {}
    nan = '{"txt2img": {"steps": NaN, "cfg_scale": Infinity, "prompt": "ok"}}'
    assert named(work, nan) == {"prompt": "ok"}


@pytest.mark.parametrize("raw", [None, "", "not json", "[1, 2]", "null", "42", 42, 4.2,
                                 True, [], ["x"], {"txt2img": "x"}, {"txt2img": None},
                                 {1: 2}, "x" * (MAX_STORED + 1),
                                 json.dumps({"txt2img": {"prompt": "x" * 30_000}}),
                                 json.dumps({"txt2img": {"styles": ["s"] * 1000}})])
def test_anything_else_restores_nothing(work: WorkingState, raw: Any) -> None:
    updates, later = work.restore(raw)
    assert updates == {} and later == {}


def test_check_never_raises() -> None:
    with gr.Blocks():
        components = [gr.Slider(0, 1), gr.Number(), gr.Textbox(), gr.Checkbox(),
                      gr.Dropdown(["a"]), gr.Radio(["a"]), gr.Image()]
    for component in components:
        for value in (None, {}, [], [[]], object(), float("nan"), -0.0, "a", 10**400):
            fits, _ = check(component, value)
            assert fits in (True, False)
    assert check(components[4], "a") == (True, "a")
    assert not check(components[6], "a")[0]  # images are never restored
    assert parse('{"__type__": "update", "a": {}}') == {"a": {}}
