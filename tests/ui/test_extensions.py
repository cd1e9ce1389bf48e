"""ControlNet units and ADetailer from the tabs: routed by the shared builder, hosted control
images, infotext as the extensions write it, refusals before any call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from PIL import Image

from tests.helpers.images import gradient, outline
from tests.helpers.language import browser_language
from tests.ui.conftest import BuiltUi
from tests.ui.test_img2img import editor_value
from tests.ui.test_txt2img import merged
from webui.api.models.controlnet import CONTROLNET_MODULES
from webui.core import infotext
from webui.core.extensions import CONTROLNET_UNITS, fitted_size
from webui.core.outputs import read_infotext
from webui.ui import toasts
from webui.ui.extensions import (
    control_type_updates,
    picked_model,
    picked_module,
    send_dimensions,
)
from webui.ui.tasks import KEEP


def control_file(tmp_path: Path) -> str:
    path = tmp_path / "control.png"
    outline(256, 256, (64, 64, 192, 192)).save(path)
    return str(path)


def with_unit(ui: BuiltUi, tab: Any, data: dict[Any, Any], **values: Any) -> dict[Any, Any]:
    unit = tab.controlnet.unit
    data[unit.enabled] = True
    for name, value in values.items():
        data[getattr(unit, name)] = value
    return data


def test_txt2img_with_a_unit_goes_to_the_controlnet_endpoint(ui: BuiltUi,
                                                              tmp_path: Path) -> None:
    data = with_unit(ui, ui.tab, ui.data(prompt="a house", width=256, height=256, steps=10),
                     image=control_file(tmp_path), weight=0.8)
    final = merged(list(ui.tab.generate(data)))
    paths = final[ui.tab.panel.results]
    assert len(paths) == 1 and Path(paths[0]).parent.parent.name == "controlnet"
    fields = infotext.parse(read_infotext(paths[0]) or "")
    assert fields["ControlNet 0"].startswith(
        "Module: canny, Model: control_v11p_sd15_canny, Weight: 0.8, Resize Mode: Crop and "
        "Resize, Processor Res: 512, Threshold A: 100, Threshold B: 200")
    body = json.loads(final[ui.tab.request_json])
    unit = body["always_on_scripts"]["controlnet"]["args"][0]
    assert unit["image_link"].startswith(ui.ctx.runtime.public_url + "/api/zhiqite/uploads/")
    assert ui.stats().tasks_started == 1 and "controlnet" in ui.stats().billed


def test_adetailer_in_txt2img_and_its_infotext(ui: BuiltUi) -> None:
    data = ui.data(prompt="a portrait", width=256, height=256, steps=10)
    ad = ui.tab.adetailer.fields
    data.update({ad["enabled"]: True, ad["prompt"]: "detailed eyes, smile",
                 ad["confidence"]: 0.45})
    final = merged(list(ui.tab.generate(data)))
    fields = infotext.parse(read_infotext(final[ui.tab.panel.results][0]) or "")
    assert fields["ADetailer model"] == "face_yolov8n.pt"
    assert fields["ADetailer prompt"] == "detailed eyes, smile"
    assert fields["ADetailer confidence"] == "0.45"


def test_a_second_and_third_adetailer_unit_reach_the_request(ui: BuiltUi) -> None:
    data = ui.data(prompt="a portrait", width=256, height=256, steps=10)
    ad = ui.tab.adetailer
    # the page holds the units not shown (the 2nd and 3rd here), as its unit picker left them
    data.update({ad.enabled: True, ad.held: json.dumps({"shown": 0, "units": [None, {
        "model": "hand_yolov8n.pt", "prompt": "detailed hands", "mask_merge_invert": "Merge",
        "x_offset": 10, "restore_face": True}, {"model": "None", "prompt": "skipped"}]})})
    final = merged(list(ui.tab.generate(data)))
    body = json.loads(final[ui.tab.request_json])
    args = body["alwayson_scripts"]["ADetailer"]["args"]
    assert [a["ad_model"] for a in args] == ["face_yolov8n.pt", "hand_yolov8n.pt"]
    assert (args[1]["ad_prompt"], args[1]["ad_mask_merge_invert"], args[1]["ad_x_offset"],
            args[1]["ad_restore_face"]) == ("detailed hands", "Merge", 10, True)
    fields = infotext.parse(read_infotext(final[ui.tab.panel.results][0]) or "")
    assert fields["ADetailer model 2nd"] == "hand_yolov8n.pt"
    assert fields["ADetailer prompt 2nd"] == "detailed hands"
    assert "ADetailer model 3rd" not in fields


def test_a_refused_adetailer_field_names_its_label_and_tab(ui: BuiltUi) -> None:
    data = ui.data(prompt="a portrait", width=256, height=256, steps=10)
    ad = ui.tab.adetailer
    # the 3rd unit shown (its fields), the 1st held in the page with no model
    data.update({ad.enabled: True, ad.editor["model"]: "face_yolov8n.pt",
                 ad.editor["use_noise_multiplier"]: True, ad.editor["noise_multiplier"]: 1.4,
                 ad.held: json.dumps({"shown": 2, "units": [{"model": "None"}, None, None]})})
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    [text] = [str(w.message) for w in warned]
    assert text.startswith("Noise multiplier for img2img (3rd): ") and "args[2]" in text
    assert ui.stats().calls == {}


@pytest.mark.parametrize("case, message", [
    ("adetailer+controlnet", "ADetailer and ControlNet cannot be combined"),
    ("unit without image", "ControlNet unit 0: add a control image"),
])
def test_txt2img_refusals(ui: BuiltUi, tmp_path: Path, case: str, message: str) -> None:
    data = with_unit(ui, ui.tab, ui.data(prompt="a house"),
                     image=control_file(tmp_path) if case != "unit without image" else None)
    if case == "adetailer+controlnet":
        data[ui.tab.adetailer.fields["enabled"]] = True
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]  # nothing shown changes
    assert any(message in str(w.message) for w in warned), [str(w.message) for w in warned]
    assert ui.stats().calls == {}
    assert list((ui.ctx.runtime.settings.data_dir / "uploads").glob("*.png")) == []


def test_inpaint_with_a_unit_is_refused_before_any_upload(ui: BuiltUi, tmp_path: Path) -> None:
    tab = ui.img2img
    with pytest.warns(UserWarning, match="Inpainting and ControlNet cannot be combined"):
        assert _run_with_unit(ui, tab, "inpaint", {"editor": editor_value()},
                              control_file(tmp_path)) == {}
    assert ui.stats().calls == {}


def _run_with_unit(ui: BuiltUi, tab: Any, mode: str, images: dict[str, Any],
                   control: str | None, use_init: bool = False) -> dict[Any, Any]:
    data = ui.data(tab=tab, prompt="a red door", width=256, height=256, steps=10)
    data.update({tab.mode: mode, tab.init_image: None, tab.editor: None, tab.upload_image: None,
                 tab.upload_mask: None, tab.image_url: "", tab.scale_by: 1})
    data.update({getattr(tab, name): value for name, value in images.items()})
    unit = tab.controlnet.unit
    data.update({unit.enabled: True, unit.image: control, unit.use_init: use_init})
    return merged(list(tab.generate(data)))


def test_img2img_with_a_unit_using_the_init_image(ui: BuiltUi, tmp_path: Path) -> None:
    init = tmp_path / "init.png"
    gradient(256, 256).save(init)
    final = _run_with_unit(ui, ui.img2img, "img2img", {"init_image": str(init)}, None,
                           use_init=True)
    body = json.loads(final[ui.img2img.request_json])
    assert body["always_on_scripts"]["image_link"].startswith(ui.ctx.runtime.public_url)
    assert "image_link" not in body["always_on_scripts"]["controlnet"]["args"][0]
    with Image.open(final[ui.img2img.panel.results][0]) as image:
        assert image.size == (256, 256)


def test_a_control_type_narrows_the_preprocessors_and_models() -> None:
    module, model = control_type_updates("Depth")
    assert (module.choices, module.value) == ([("depth_midas", "depth_midas")], "depth_midas")
    assert model.value == "control_v11f1p_sd15_depth" and len(model.choices) == 1
    module, model = control_type_updates("All")  # every choice back, the chosen kept
    assert len(module.choices) == len(CONTROLNET_MODULES)
    module, _ = control_type_updates({"forged": 1})
    assert len(module.choices) == len(CONTROLNET_MODULES)


def test_a_preprocessor_typed_outside_the_control_type_puts_it_back_to_all() -> None:
    # within the type: its model and sliders, the type and the list as they are
    module, model, kind, *sliders = picked_module("openpose", "OpenPose")
    assert module == gr.skip() and kind == gr.skip() and model == "control_v11p_sd15_openpose"
    assert len(sliders) == 3
    # outside it (typed in): "All", every preprocessor and model offered
    module, model, kind, *_ = picked_module("depth_midas", "OpenPose")
    assert kind == "All" and len(module.choices) == len(CONTROLNET_MODULES)
    assert "value" not in module.constructor_args or module.constructor_args["value"] is None
    assert model.value == "control_v11f1p_sd15_depth" and len(model.choices) > 1
    # "All" narrows nothing; forged arguments are answered like any name
    assert picked_module("nonsense", "All")[2] == gr.skip()
    assert picked_module({"forged": 1}, ["x"])[2] == gr.skip()
    # None: the box clicked into and left as it was (assets/app.js): nothing changes
    assert picked_module(None, "Canny") == (gr.skip(),) * 6


def test_a_model_typed_outside_the_control_type_puts_it_back_to_all() -> None:
    assert picked_model("control_v11f1p_sd15_depth", "Depth") == (gr.skip(),) * 3
    module, model, kind = picked_model("control_v11p_sd15_canny", "Depth")
    assert kind == "All" and len(module.choices) == len(CONTROLNET_MODULES)
    assert len(model.choices) > 1 and model.constructor_args.get("value") is None
    assert picked_model("anything", "All") == (gr.skip(),) * 3
    assert picked_model({"forged": 1}, None) == (gr.skip(),) * 3


def test_send_dimensions_fills_the_size_from_the_control_image(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(toasts, "info", lambda text: said.append(str(text)))
    monkeypatch.setattr(toasts, "warn", lambda text: said.append(str(text)))
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    gradient(640, 480).save(small)
    gradient(1536, 1000).save(large)
    assert send_dimensions(str(small), 1024) == (640, 480) and said == []
    assert send_dimensions(str(large), 1024) == (1024, 664)
    assert "1536x1000" in said[-1]  # said, since the size is not the image's
    send_dimensions(None, 1024)
    assert "Add a control image" in said[-1]


def test_fitted_size_keeps_the_shape_within_the_largest_side() -> None:
    assert fitted_size(512, 768, 1024) == (512, 768)
    assert fitted_size(4000, 1000, 1024) == (1024, 256)
    assert fitted_size(3, 5000, 1024) == (8, 1024)  # never below one step
    assert fitted_size(1021, 1021, 1024) == (1024, 1024)


@pytest.mark.parametrize("held", [
    None, 5, "", "not json", "[]", '{"shown": 1e300}', '{"shown": true, "units": 7}',
    json.dumps({"shown": 0, "units": {"1": {"model": "hand_yolov8n.pt"}}}),
    json.dumps({"shown": -1, "units": [None, {"model": "../../etc/passwd", "x_offset": "abc",
                                              "confidence": 10**30, "prompt": ["a"],
                                              "restore_face": "yes", "nope": 1}]}),
    "{" * 100_000,
])
def test_held_units_sent_by_a_script_never_raise(ui: BuiltUi, held: Any) -> None:
    """What the page holds for the units not shown comes from anyone calling Generate: junk
    reads as the units' defaults, a value that does not fit its field as its default."""
    data = ui.data(prompt="a portrait", width=256, height=256, steps=10)
    ad = ui.tab.adetailer
    data.update({ad.enabled: True, ad.held: held})
    form = ad.read(data)
    assert [unit.model for unit in form.units] == ["face_yolov8n.pt", "None", "None"]
    second = form.units[1]
    assert (second.x_offset, second.confidence, second.prompt, second.restore_face) \
        == (0, 0.3, "", False)


# --- ControlNet's units: one set of fields, the others held by the page ---------------------


def uploaded(tmp_path: Path, name: str, box: tuple[int, int, int, int]) -> str:
    """A control image where Gradio keeps what a visitor uploads (its upload folder)."""
    from gradio import utils as gradio_utils

    folder = Path(gradio_utils.get_upload_folder()) / f"zq-test-{tmp_path.name}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    outline(256, 256, box).save(path)
    return str(path.resolve())


def switched(tab: Any, data: dict[Any, Any], unit: int) -> dict[Any, Any]:
    """`data` after the visitor picks ControlNet unit `unit` (the page's fields and held
    JSON as the switch leaves them)."""
    controls = tab.controlnet
    names = list(controls.unit.named)
    out = controls.switch(data[controls.held], f"ControlNet Unit {unit}",
                          *(data[controls.unit.named[n]] for n in names))
    data[controls.held] = out[0]
    assert out[1] == f"ControlNet Unit {unit}"
    for name, value in zip(names, out[2:-1], strict=True):
        component = controls.unit.named[name]
        data[component] = value.value if hasattr(value, "value") and \
            isinstance(value, type(component)) else value
    return data


def test_two_controlnet_units_reach_the_request(ui: BuiltUi, tmp_path: Path) -> None:
    """Unit 0 in the fields, unit 1 picked, set, then unit 0 picked again: both go out, each
    with its own image; the fields show unit 0's values again."""
    first = uploaded(tmp_path, "first.png", (64, 64, 192, 192))
    second = uploaded(tmp_path, "second.png", (32, 96, 224, 160))
    tab = ui.tab
    unit = tab.controlnet.unit
    data = with_unit(ui, tab, ui.data(prompt="a house", width=256, height=256, steps=10),
                     image=first, weight=0.8)
    data = switched(tab, data, 1)
    assert (data[unit.enabled], data[unit.image], data[unit.weight]) == (False, None, 1)
    data.update({unit.enabled: True, unit.image: second, unit.module: "depth_midas",
                 unit.model: "control_v11f1p_sd15_depth", unit.processor_res: 384})
    data = switched(tab, data, 0)
    assert (data[unit.enabled], data[unit.image], data[unit.weight]) == (True, first, 0.8)
    final = merged(list(tab.generate(data)))
    body = json.loads(final[tab.request_json])
    units = body["always_on_scripts"]["controlnet"]["args"]
    assert [(u["module"], u["weight"], u.get("processor_res")) for u in units] == [
        ("canny", 0.8, 512), ("depth_midas", 1, 384)]
    assert len({u["image_link"] for u in units}) == 2
    assert all(u["image_link"].startswith(ui.ctx.runtime.public_url) for u in units)
    fields = infotext.parse(read_infotext(final[tab.panel.results][0]) or "")
    assert fields["ControlNet 1"].startswith("Module: depth_midas")


def test_a_held_unit_comes_back_with_its_modules_bounds(ui: BuiltUi) -> None:
    """The sliders a module reads, with its bounds, come with the unit: Gradio checks a
    value against the bounds it last sent."""
    controls = ui.tab.controlnet
    held = json.dumps({"shown": 0, "units": [None, {"module": "mlsd", "control_type": "MLSD",
                                                    "model": "control_v11p_sd15_mlsd",
                                                    "threshold_a": 1, "threshold_b": 500}]})
    data = ui.data(prompt="a house")
    out = controls.switch(held, "ControlNet Unit 1",
                          *(data[c] for c in controls.unit.named.values()))
    shown = dict(zip(controls.unit.named, out[2:-1], strict=True))
    assert shown["control_type"] == "MLSD"
    assert (shown["module"].value, shown["module"].choices) == ("mlsd", [("mlsd", "mlsd")])
    assert (shown["threshold_a"].value, shown["threshold_a"].minimum,
            shown["threshold_a"].maximum) == (1, -1, 2)
    assert shown["threshold_b"].value == -1  # 500 is outside MLSD's bounds: its default
    assert json.loads(out[0])["shown"] == 1 and out[-1] is None


@pytest.mark.parametrize("image", [
    "/etc/passwd", "../../../../etc/hostname", {"path": "/etc/passwd"}, 5, ["x"],
    "/tmp", "relative.png",
])
def test_a_held_image_is_only_a_file_uploaded_here(ui: BuiltUi, tmp_path: Path,
                                                   image: Any) -> None:
    """A script writes any path into the held units: only a file in Gradio's upload folder
    is taken (as Gradio takes an image), anything else is no image: refused, no call."""
    outside = tmp_path / "outside.png"
    outline(64, 64, (8, 8, 56, 56)).save(outside)
    data = ui.data(prompt="a house", width=256, height=256, steps=10)
    for forged in (image, str(outside)):
        data[ui.tab.controlnet.held] = json.dumps(
            {"shown": 0, "units": [None, {"enabled": True, "image": forged}]})
        with pytest.warns(UserWarning, match="ControlNet unit 1: add a control image"):
            assert list(ui.tab.generate(data)) == [KEEP]
    assert ui.stats().calls == {}


@pytest.mark.parametrize("held", [
    None, 5, "", "not json", "[]", '{"shown": 1e300}', '{"shown": true, "units": 7}',
    json.dumps({"shown": 9, "units": [None, {"module": ["canny"], "model": {"a": 1},
                                             "weight": 10**30, "enabled": "yes",
                                             "processor_res": "512", "control_type": 3,
                                             "resize_mode": "Stretch", "nope": 1}]}),
    "{" * 30_000,
])
def test_held_controlnet_units_sent_by_a_script_never_raise(ui: BuiltUi, held: Any) -> None:
    """Junk reads as the units' defaults, a value that does not fit as its field's default;
    the switch takes the same junk."""
    controls = ui.tab.controlnet
    data = ui.data(prompt="a house")
    data[controls.held] = held
    units, files = controls.read(data, "http://placeholder")
    assert [(u.enabled, u.module, u.weight, u.processor_res) for u in units] == \
        [(False, "canny", 1, 512)] * 3 and files == {}
    out = controls.switch(held, "ControlNet Unit 1", *(data[c] for c in controls.unit.named.values()))
    assert json.loads(out[0])["shown"] == 1
    out = controls.switch(held, "ControlNet Unit 7", *(data[c] for c in controls.unit.named.values()))
    assert json.loads(out[0])["shown"] in (0, 1, 2)


def test_the_picker_offers_the_units_settings_asks_for(ui: BuiltUi) -> None:
    controls = ui.tab.controlnet
    one = controls.shown(1)[controls.picker]
    assert one.visible is False
    two = controls.shown(2)[controls.picker]
    assert [v for _, v in two.choices] == ["ControlNet Unit 0", "ControlNet Unit 1"]
    # a unit restored beyond the count is still offered (its fields hold it)
    kept = controls.shown(1, "ControlNet Unit 2")[controls.picker]
    assert len(kept.choices) == 3 and kept.value == "ControlNet Unit 2"


def test_fewer_units_in_settings_keep_the_unit_the_fields_hold(ui: BuiltUi) -> None:
    """Settings' "ControlNet units shown" lowered while unit 2 is shown: it stays offered and
    picked (the fields are its), the others go; with unit 0 shown, one unit needs no picker."""
    from webui.core.visitors import Preferences
    from webui.ui.app import form_updates

    controls = ui.tab.controlnet
    prefs = Preferences(controlnet_units=1)
    held = {controls.held: json.dumps({"shown": 2, "units": [None, None, None]})}
    picker = form_updates((ui.tab,), prefs, forms=False, held=held)[controls.picker]
    assert (len(picker.choices), picker.value, picker.visible) == (3, "ControlNet Unit 2", True)
    held = {controls.held: json.dumps({"shown": 0, "units": [None, None, None]})}
    picker = form_updates((ui.tab,), prefs, forms=False, held=held)[controls.picker]
    assert (len(picker.choices), picker.value, picker.visible) == (1, "ControlNet Unit 0", False)


def test_a_refused_field_of_a_held_unit_names_the_pages_unit(ui: BuiltUi,
                                                              tmp_path: Path) -> None:
    """Unit 1 the only one enabled is args[0] in the request: the refusal names "ControlNet
    Unit 1", as the picker does, and nothing is sent."""
    data = ui.data(prompt="a house", width=256, height=256, steps=10)
    data[ui.tab.controlnet.held] = json.dumps({"shown": 0, "units": [None, {
        "enabled": True, "image": uploaded(tmp_path, "held.png", (8, 8, 120, 120)),
        "module": "mlsd", "model": "control_v11p_sd15_mlsd", "threshold_a": 1.5}]})
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    said = [str(w.message) for w in warned]
    assert any("(ControlNet Unit 1)" in text and "whole number" in text for text in said), said
    assert ui.stats().calls == {}


@pytest.mark.parametrize("field, typed, label", [
    ("module", "bogus_preproc", "Preprocessor:"), ("model", "evil_model", "Model:"),
    ("module", ["canny"], "Preprocessor:"),
])
def test_a_typed_unknown_name_is_refused_by_its_label(ui: BuiltUi, tmp_path: Path, field: str,
                                                      typed: Any, label: str) -> None:
    """The preprocessor and model take what is typed (or what a script sends): the request
    model refuses a name the API does not list, by the field's label, before any call."""
    data = with_unit(ui, ui.tab, ui.data(prompt="a house"), image=control_file(tmp_path))
    data[getattr(ui.tab.controlnet.unit, field)] = typed
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    said = [str(w.message) for w in warned]
    assert any(text.startswith(label) for text in said), said
    assert ui.stats().calls == {}


def test_a_unit_held_enabled_stays_offered_whatever_the_count(ui: BuiltUi,
                                                              tmp_path: Path) -> None:
    """Settings' "ControlNet units shown" lowered to 1 with unit 2 held enabled (unit 0
    shown): the picker still offers unit 2, which is sent (or refused, without its image),
    so nothing goes out, or blocks Generate, that the visitor cannot see and change."""
    from webui.core.visitors import Preferences
    from webui.ui.app import form_updates

    controls = ui.tab.controlnet
    data = with_unit(ui, ui.tab, ui.data(prompt="a house", width=256, height=256, steps=10),
                     image=control_file(tmp_path))
    held = json.dumps({"shown": 0, "units": [None, {"enabled": False}, {
        "enabled": True, "image": uploaded(tmp_path, "held.png", (8, 8, 120, 120)),
        "module": "depth_midas", "model": "control_v11f1p_sd15_depth"}]})
    picker = form_updates((ui.tab,), Preferences(controlnet_units=1), forms=False,
                          held={controls.held: held})[controls.picker]
    assert [v for _, v in picker.choices] == list(CONTROLNET_UNITS) and picker.visible
    data[controls.held] = held
    final = merged(list(ui.tab.generate(data)))
    units = json.loads(final[ui.tab.request_json])["always_on_scripts"]["controlnet"]["args"]
    assert [u["module"] for u in units] == ["canny", "depth_midas"]
    # nothing held enabled: the count alone
    held = json.dumps({"shown": 0, "units": [None, {"enabled": False}, {"enabled": "yes"}]})
    picker = form_updates((ui.tab,), Preferences(controlnet_units=1), forms=False,
                          held={controls.held: held})[controls.picker]
    assert len(picker.choices) == 1 and picker.visible is False


def test_a_typed_name_in_a_held_unit_comes_back_and_is_refused(ui: BuiltUi,
                                                               tmp_path: Path) -> None:
    """A preprocessor typed into unit 1, then unit 0 picked: unit 1 holds the typed name (not
    the default, which would be sent unseen); Generate refuses it by label and unit."""
    controls = ui.tab.controlnet
    unit = controls.unit
    data = ui.data(prompt="a house", width=256, height=256, steps=10)
    data = switched(ui.tab, data, 1)
    data.update({unit.enabled: True, unit.image: uploaded(tmp_path, "typed.png", (8, 8, 99, 99)),
                 unit.module: "my_own_preproc"})
    data = switched(ui.tab, data, 0)
    assert json.loads(data[controls.held])["units"][1]["module"] == "my_own_preproc"
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    said = [str(w.message) for w in warned]
    # the field by its name, not its place in the request ("args[0]": unit 0 is disabled)
    assert any(text.startswith("Preprocessor (ControlNet Unit 1): module must be one of")
               for text in said), said
    assert ui.stats().calls == {}
    data = switched(ui.tab, data, 1)
    assert data[unit.module] == "my_own_preproc"
    # a name longer than any is kept cut, still refused (not the default, sent unseen)
    held = json.dumps({"shown": 0, "units": [None, {"module": "x" * 5000}]})
    shown = dict(zip(unit.named, controls.switch(held, "ControlNet Unit 1",
                                                  *(data[c] for c in unit.named.values()))[2:-1],
                     strict=True))
    assert shown["module"].value == "x" * 200


def test_an_unreadable_control_image_of_a_unit_names_the_unit(ui: BuiltUi,
                                                               tmp_path: Path) -> None:
    """The control image is checked as it is hosted (after the form): its refusal names the
    page's unit as the form's refusals do, the first unit by the field alone."""
    broken = Path(uploaded(tmp_path, "broken.png", (8, 8, 99, 99)))
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    data = ui.data(prompt="a house", width=256, height=256, steps=10)
    data[ui.tab.controlnet.held] = json.dumps(
        {"shown": 0, "units": [None, {"enabled": True, "image": str(broken)}]})
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    said = [str(w.message) for w in warned]
    assert any(text.startswith("Control image (ControlNet Unit 1): ") for text in said), said
    with browser_language("zh-CN,zh;q=0.9"), pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    said = [str(w.message) for w in warned]
    # full-width brackets beside the full-width colon
    assert any(text.startswith("控制图（ControlNet 单元 1）：") for text in said), said
    data = with_unit(ui, ui.tab, ui.data(prompt="a house", width=256, height=256, steps=10),
                     image=str(broken))
    with pytest.warns(UserWarning) as warned:
        assert list(ui.tab.generate(data)) == [KEEP]
    said = [str(w.message) for w in warned]
    assert any(text.startswith("Control image: ") for text in said), said
    assert ui.stats().calls == {}
