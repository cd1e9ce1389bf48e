"""ControlNet units and ADetailer from the tabs: routed by the shared builder, hosted control
images, infotext as the extensions write it, refusals before any call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.images import gradient, outline
from tests.ui.conftest import BuiltUi
from tests.ui.test_img2img import editor_value
from tests.ui.test_txt2img import merged
from webui.api.models.controlnet import CONTROLNET_MODULES
from webui.core import infotext
from webui.core.extensions import fitted_size
from webui.core.outputs import read_infotext
from webui.ui import toasts
from webui.ui.extensions import control_type_updates, send_dimensions
from webui.ui.tasks import KEEP


def control_file(tmp_path: Path) -> str:
    path = tmp_path / "control.png"
    outline(256, 256, (64, 64, 192, 192)).save(path)
    return str(path)


def with_unit(ui: BuiltUi, tab: Any, data: dict[Any, Any], **values: Any) -> dict[Any, Any]:
    unit = tab.controlnet.units[0]
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
    unit = tab.controlnet.units[0]
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
