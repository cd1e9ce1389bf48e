"""The shared request builder: each route, each refusal, and (hypothesis) any valid form state
builds a request the models and the offline backend accept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import fast_config
from webui.api import ZhiqiteClient
from webui.api import models as m
from webui.api.errors import InvalidRequestError
from webui.api.models.adetailer import AD_CONTROLNET_MODELS, AD_MASK_MERGE_MODES, AD_MODELS
from webui.api.models.controlnet import (
    CONTROL_MODES,
    CONTROLNET_MODULES,
    MODULE_SLIDERS,
    RESIZE_MODES,
)
from webui.core.builder import HIRES_UPSCALERS, Img2ImgForm, Txt2ImgForm, build_request
from webui.core.extensions import (
    AD_UNITS,
    UNSUPPORTED,
    ADetailerForm,
    ADetailerUnitForm,
    ControlNetUnitForm,
    default_model,
)
from webui.offline.server import OfflineServer

CKPT = "photon_v1_84728.safetensors"
URL = "http://127.0.0.1:9/control.png"


def t2i(**values: object) -> Txt2ImgForm:
    return Txt2ImgForm(checkpoint=CKPT, prompt="a house", **values)  # type: ignore[arg-type]


def i2i(mode: str = "img2img", **values: object) -> Img2ImgForm:
    return Img2ImgForm(checkpoint=CKPT, prompt="a house", mode=mode, init_url=URL,
                       mask_url=URL if mode != "img2img" else None, cfg_scale=7,
                       **values)  # type: ignore[arg-type]


def unit(**values: object) -> ControlNetUnitForm:
    return ControlNetUnitForm(**{"enabled": True, "image_url": URL, **values})  # type: ignore[arg-type]


def test_txt2img_routes_to_text2image_or_controlnet() -> None:
    endpoint, request = build_request("txt2img", t2i(), [ControlNetUnitForm()])
    assert endpoint == "text2image" and isinstance(request, m.Text2ImageRequest)
    endpoint, request = build_request("txt2img", t2i(), [unit(), ControlNetUnitForm()])
    assert endpoint == "controlnet" and isinstance(request, m.ControlNetRequest)
    wire = request.to_wire()
    units = wire["always_on_scripts"]["controlnet"]["args"]
    assert len(units) == 1 and units[0]["image_link"] == URL
    assert units[0]["module"] == "canny" and units[0]["resize_mode"] == "Crop and Resize"


def test_img2img_routes_to_image2image_or_controlnet_with_the_init_image() -> None:
    endpoint, request = build_request("img2img", i2i())
    assert endpoint == "image2image"
    endpoint, request = build_request("img2img", i2i(denoising_strength=0.4),
                                      [unit(use_init=True, image_url=None)])
    wire = request.to_wire()
    assert endpoint == "controlnet"
    assert wire["always_on_scripts"]["image_link"] == URL
    assert "image_link" not in wire["always_on_scripts"]["controlnet"]["args"][0]
    assert wire["denoising_strength"] == 0.4


def test_only_the_sliders_a_preprocessor_reads_are_sent() -> None:
    values = {"processor_res": 640, "threshold_a": 50, "threshold_b": 150}
    for module in ("canny", "depth_midas", "scribble_xdog"):
        _, request = build_request("txt2img", t2i(), [unit(module=module,
                                                           model=default_model(module),
                                                           **values)])
        sent = request.to_wire()["always_on_scripts"]["controlnet"]["args"][0]
        assert set(sent) & set(values) == set(MODULE_SLIDERS[module])


def ad(**fields: Any) -> ADetailerForm:
    """ADetailer on, with one unit of these fields."""
    return ADetailerForm(True, [ADetailerUnitForm(**fields)])


@pytest.mark.parametrize("form, units, adetailer, message", [
    (i2i("inpaint"), [unit()], None, "Inpainting and ControlNet cannot be combined"),
    (i2i("inpaint upload"), [unit()], None, "Inpainting and ControlNet cannot be combined"),
    (t2i(), [unit()], ADetailerForm(enabled=True), "ADetailer and ControlNet cannot be"),
    (t2i(), [unit(image_url=None)], None, "ControlNet unit 0: add a control image"),
    (t2i(), [unit(guidance_start=0.8, guidance_end=0.2)], None,
     "ControlNet unit 0: guidance start (0.8) must not be after guidance end (0.2)"),
    (t2i(), None, ad(dilate_erode=200),
     "alwayson_scripts.ADetailer.args[0].ad_dilate_erode must be in [-128, 128]"),
    (t2i(), None, ad(use_steps=True, steps=100),
     "alwayson_scripts.ADetailer.args[0].ad_steps must be in [1, 50]"),
    (t2i(), None, ADetailerForm(True, [ADetailerUnitForm(), ADetailerUnitForm(mask_max_ratio=2)]),
     "alwayson_scripts.ADetailer.args[1].ad_mask_max_ratio must be in [0, 1]"),
    (t2i(), None, ad(use_noise_multiplier=True, noise_multiplier=1.2),
     "alwayson_scripts.ADetailer.args[0].ad_noise_multiplier"),
    (t2i(), None, ad(mask_merge_invert="Merge all"),
     "alwayson_scripts.ADetailer.args[0].ad_mask_merge_invert must be one of"),
])
def test_refusals_say_what_to_turn_off(form: Txt2ImgForm, units: list | None,
                                       adetailer: ADetailerForm | None, message: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        build_request("txt2img" if isinstance(form, Txt2ImgForm) else "img2img", form, units,
                      adetailer)
    assert any(issue.message.startswith(message) for issue in refused.value.issues), \
        [issue.message for issue in refused.value.issues]


def test_adetailer_ranges_follow_the_endpoint() -> None:
    # ruling 6: img2img allows dilate/erode up to 256 and 150 steps
    ad = ADetailerForm(True, [ADetailerUnitForm(
        dilate_erode=200, use_steps=True, steps=100,
        controlnet_model="control_v11p_sd15_inpaint [ebff9138]")])
    endpoint, request = build_request("img2img", i2i(), None, ad)
    args = request.to_wire()["alwayson_scripts"]["ADetailer"]["args"][0]
    assert endpoint == "image2image"
    assert (args["ad_dilate_erode"], args["ad_steps"]) == (200, 100)
    # the reference documents only "None" for the module: nothing undocumented is filled in
    assert args["ad_controlnet_module"] == "None"


EVERY_AD_FIELD = ADetailerUnitForm(
    model="hand_yolov8n.pt", prompt="detailed hands", negative_prompt="extra fingers",
    confidence=0.5, mask_min_ratio=0.01, mask_max_ratio=0.8, x_offset=-12, y_offset=7,
    dilate_erode=8, mask_merge_invert="Merge and Invert", mask_blur=6, denoising=0.35,
    inpaint_only_masked=False, padding=48, use_inpaint_size=True, inpaint_width=640,
    inpaint_height=768, use_steps=True, steps=30, use_cfg=True, cfg_scale=6, use_sampler=True,
    sampler="Euler a", use_noise_multiplier=True, noise_multiplier=1, restore_face=True,
    controlnet_model="control_v11p_sd15_openpose [cab727d4]", controlnet_weight=1,
    controlnet_guidance_start=0, controlnet_guidance_end=1)


@pytest.mark.parametrize("tab, model", [("txt2img", m.Text2ImageADetailerArgs),
                                        ("img2img", m.Image2ImageADetailerArgs)])
def test_every_adetailer_field_of_the_table_reaches_the_request(tab: str, model: Any) -> None:
    form = t2i() if tab == "txt2img" else i2i()
    request = build_request(tab, form, None, ADetailerForm(True, [EVERY_AD_FIELD]))[1]
    [args] = request.to_wire()["alwayson_scripts"]["ADetailer"]["args"]
    assert set(args) == set(model.model_fields)  # every field of the endpoint's table
    assert (args["ad_mask_min_ratio"], args["ad_mask_max_ratio"]) == (0.01, 0.8)
    assert (args["ad_x_offset"], args["ad_y_offset"]) == (-12, 7)
    assert args["ad_mask_merge_invert"] == "Merge and Invert"
    assert (args["ad_inpaint_only_masked"], args["ad_inpaint_only_masked_padding"]) == (False, 48)
    assert (args["ad_inpaint_width"], args["ad_inpaint_height"]) == (640, 768)
    assert (args["ad_steps"], args["ad_cfg_scale"], args["ad_sampler"]) == (30, 6, "Euler a")
    assert (args["ad_use_noise_multiplier"], args["ad_noise_multiplier"]) == (True, 1)
    assert args["ad_restore_face"] is True


def test_the_2nd_and_3rd_adetailer_units_follow_the_1st_and_none_is_skipped() -> None:
    face, hands, person = (ADetailerUnitForm(model=name, prompt=name) for name in (
        "face_yolov8n.pt", "hand_yolov8n.pt", "person_yolov8n-seg.pt"))
    skipped = ADetailerUnitForm(model="None", prompt="not sent")
    request = build_request("txt2img", t2i(), None,
                            ADetailerForm(True, [face, skipped, hands, person]))[1]
    args = request.to_wire()["alwayson_scripts"]["ADetailer"]["args"]
    assert [a["ad_model"] for a in args] == ["face_yolov8n.pt", "hand_yolov8n.pt",
                                             "person_yolov8n-seg.pt"]
    # ADetailer enabled with no unit that has a model: no ADetailer at all
    quiet = build_request("txt2img", t2i(), None, ADetailerForm(True, [skipped]))[1]
    assert "ADetailer" not in quiet.to_wire()["alwayson_scripts"]
    # and left at its defaults, a unit sends no more than it did before these fields
    assert set(ADetailerUnitForm().wire()) == {
        "ad_model", "ad_confidence", "ad_mask_blur", "ad_dilate_erode", "ad_denoising_strength",
        "ad_inpaint_only_masked", "ad_inpaint_only_masked_padding",
        "ad_use_inpaint_width_height", "ad_use_steps", "ad_use_cfg_scale", "ad_use_sampler",
        "ad_controlnet_model"}


def test_a_refusal_names_the_adetailer_unit_by_its_tab() -> None:
    """args holds only units with a model; a refusal still names the tab the field is on."""
    skipped = ADetailerUnitForm(model="None")
    third = ADetailerUnitForm(use_steps=True, steps=100)
    with pytest.raises(InvalidRequestError) as refused:
        build_request("txt2img", t2i(), None, ADetailerForm(True, [skipped, skipped, third]))
    [issue] = refused.value.issues
    assert issue.field.endswith("ADetailer.args[2].ad_steps")
    assert issue.message.startswith("alwayson_scripts.ADetailer.args[2].ad_steps must be in")


def test_the_table_is_the_only_place_combinations_are_refused() -> None:
    assert {frozenset(needs) for needs, _ in UNSUPPORTED} == {
        frozenset({"mask", "controlnet"}), frozenset({"adetailer", "controlnet"})}


# --- property: any valid form state builds a request the offline backend accepts ------------

sizes = st.integers(8, 128).map(lambda n: n * 8)
units_strategy = st.builds(
    ControlNetUnitForm, enabled=st.booleans(), image_url=st.just(URL),
    module=st.sampled_from(CONTROLNET_MODULES), weight=st.floats(0, 2),
    guidance_start=st.floats(0, 0.5), guidance_end=st.floats(0.5, 1),
    resize_mode=st.sampled_from(RESIZE_MODES), processor_res=st.integers(64, 2048),
    threshold_a=st.integers(1, 64), threshold_b=st.integers(1, 255),
    pixel_perfect=st.booleans(), low_vram=st.booleans(),
    control_mode=st.sampled_from(CONTROL_MODES),
).map(lambda u: ControlNetUnitForm(**{**u.__dict__, "model": default_model(u.module)}))
adetailer_unit_strategy = st.builds(
    ADetailerUnitForm, model=st.sampled_from(AD_MODELS),
    prompt=st.text(max_size=40), confidence=st.floats(0, 1), mask_blur=st.integers(0, 64),
    dilate_erode=st.integers(0, 128), denoising=st.floats(0, 1),
    inpaint_only_masked=st.booleans(), padding=st.integers(0, 256),
    use_inpaint_size=st.booleans(), inpaint_width=sizes, inpaint_height=sizes,
    use_steps=st.booleans(), steps=st.integers(1, 50), use_cfg=st.booleans(),
    cfg_scale=st.integers(1, 30), use_sampler=st.booleans(),
    sampler=st.sampled_from(m.SAMPLERS), controlnet_model=st.sampled_from(AD_CONTROLNET_MODELS),
    controlnet_weight=st.integers(0, 2), controlnet_guidance_start=st.just(0),
    controlnet_guidance_end=st.just(1), mask_min_ratio=st.floats(0, 0.5),
    mask_max_ratio=st.floats(0.5, 1), x_offset=st.integers(-200, 200),
    y_offset=st.integers(-200, 200), mask_merge_invert=st.sampled_from(AD_MASK_MERGE_MODES),
    use_noise_multiplier=st.booleans(), noise_multiplier=st.just(1),
    restore_face=st.booleans(),
)
adetailer_strategy = st.builds(ADetailerForm, enabled=st.booleans(),
                               units=st.lists(adetailer_unit_strategy, min_size=1,
                                              max_size=AD_UNITS))
txt2img_strategy = st.builds(
    Txt2ImgForm, checkpoint=st.just(CKPT),
    prompt=st.text(min_size=1, max_size=60).filter(str.strip),  # a blank prompt is refused
    negative_prompt=st.text(max_size=30), sampler=st.sampled_from(m.SAMPLERS),
    steps=st.integers(1, 150), width=sizes, height=sizes, n_iter=st.integers(1, 4),
    batch_size=st.integers(1, 4), cfg_scale=st.floats(1, 30).map(lambda v: round(v * 2) / 2),
    seed=st.integers(-1, 2**32 - 1), restore_faces=st.booleans(), enable_hr=st.booleans(),
    hr_upscaler=st.sampled_from(HIRES_UPSCALERS), hr_steps=st.integers(0, 150),
    hr_denoising=st.floats(0, 1), hr_scale=st.integers(1, 4), clip_skip=st.integers(1, 12),
)


@pytest.fixture(scope="module")
def backend_client() -> Iterator[ZhiqiteClient]:
    """A backend of this module's own, stopped with it: the drawn requests start tasks of up
    to 800 images at 1024x1024 that nobody waits for, and on the shared backend they held its
    generating slots for minutes (later tests' tasks stayed queued past their timeouts)."""
    with OfflineServer(fast_config()) as server, ZhiqiteClient(base_url=server.url,
                                                               backoff=0.001) as client:
        yield client


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=txt2img_strategy, units=st.lists(units_strategy, max_size=3),
       adetailer=adetailer_strategy)
def test_any_valid_txt2img_state_is_accepted(backend_client: ZhiqiteClient, form: Txt2ImgForm,
                                             units: list[ControlNetUnitForm],
                                             adetailer: ADetailerForm) -> None:
    if any(u.enabled for u in units) and adetailer.enabled:
        adetailer.enabled = False  # refused by design (tested above)
    endpoint, request = build_request("txt2img", form, units, adetailer)
    answer = backend_client.call(endpoint, request)
    assert answer.ok and answer.data is not None
