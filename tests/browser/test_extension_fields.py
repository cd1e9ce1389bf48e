"""ADetailer's 2nd unit and ControlNet's Control Type and "send dimensions" in a real browser:
what an artist sets reaches the request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_toasts import toast_with
from tests.browser.test_txt2img import set_number
from tests.helpers.images import gradient
from tests.helpers.status_watch import click_and_wait_done
from webui.ui.app import Launched

pytestmark = pytest.mark.browser


def pick(page: Any, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).first.click()
    page.wait_for_function(
        "([id, text]) => document.querySelector('#' + id + ' input').value === text",
        arg=[elem_id, option])


def generated(page: Any, app: Launched) -> Any:
    """Generate on txt2img, to the end: the new task's record."""
    known = set(app.runtime.offline.runner.tasks)
    click_and_wait_done(page, "txt2img")
    task_id = next(key for key in app.runtime.offline.runner.tasks if key not in known)
    record = app.runtime.store.get(task_id)
    assert record is not None
    return record


def test_a_second_adetailer_unit_reaches_the_request(page: Any, app: Launched) -> None:
    set_number(page, "txt2img_width", 256)
    set_number(page, "txt2img_height", 256)
    set_number(page, "txt2img_steps", 8)
    page.locator("#txt2img_prompt textarea").fill("a portrait in a garden")
    page.locator("#txt2img_adetailer").get_by_text("ADetailer", exact=True).first.click()
    page.locator("#txt2img_ad_enable input").check()
    unit = page.locator("#txt2img_ad_unit")
    unit.get_by_text("2nd", exact=True).click()  # its fields: the 2nd unit's defaults
    page.wait_for_function(
        "() => document.querySelector('#txt2img_ad_model input').value === 'None'")
    pick(page, "txt2img_ad_model", "hand_yolov8n.pt")
    page.locator("#txt2img_ad_prompt textarea").fill("detailed hands")
    unit.get_by_text("1st", exact=True).click()  # the 1st's values back, the 2nd's kept
    page.wait_for_function(
        "() => document.querySelector('#txt2img_ad_model input').value === 'face_yolov8n.pt'")
    assert page.locator("#txt2img_ad_prompt textarea").input_value() == ""
    unit.get_by_text("2nd", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#txt2img_ad_prompt textarea').value === 'detailed hands'")
    record = generated(page, app)
    args = record.request["alwayson_scripts"]["ADetailer"]["args"]
    assert [(a["ad_model"], a.get("ad_prompt")) for a in args] == [
        ("face_yolov8n.pt", None), ("hand_yolov8n.pt", "detailed hands")]
    infotext = page.locator("#txt2img_infotext textarea").input_value()
    assert "ADetailer model 2nd: hand_yolov8n.pt" in infotext


def test_control_type_narrows_and_send_dimensions_fills_the_size(page: Any,
                                                                 tmp_path: Path) -> None:
    control = tmp_path / "control.png"
    gradient(1536, 1000).save(control)
    page.locator("#txt2img_controlnet").get_by_text("ControlNet", exact=True).first.click()
    page.locator("#txt2img_cn0_control_type").get_by_text("OpenPose", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#txt2img_cn0_module input').value === 'openpose'")
    assert page.locator("#txt2img_cn0_model input").input_value() == \
        "control_v11p_sd15_openpose"
    page.locator("#txt2img_cn0_module input").click()
    assert [t.split("\n")[-1] for t in page.get_by_role("option").all_inner_texts()] == [
        "openpose"]
    page.keyboard.press("Escape")
    # a preprocessor typed in outside the type: the type goes back to "All", with its lists
    page.locator("#txt2img_cn0_module input").fill("depth_midas")
    page.locator("#txt2img_cn0_module input").press("Enter")
    page.wait_for_function("() => document.querySelector("
                           "'#txt2img_cn0_control_type input[value=All]')?.checked")
    page.wait_for_function("() => document.querySelector('#txt2img_cn0_model input')"
                           ".value === 'control_v11f1p_sd15_depth'")
    assert page.locator("#txt2img_cn0_module input").input_value() == "depth_midas"
    page.locator("#txt2img_cn0_model input").click()
    assert page.get_by_role("option").count() > 1
    page.keyboard.press("Escape")
    # and so a model typed in outside the type
    page.locator("#txt2img_cn0_control_type").get_by_text("Depth", exact=True).click()
    page.wait_for_function("() => document.querySelector("
                           "'#txt2img_cn0_control_type input[value=Depth]')?.checked")
    page.locator("#txt2img_cn0_model input").fill("control_v11p_sd15_canny")
    page.locator("#txt2img_cn0_model input").press("Enter")
    page.wait_for_function("() => document.querySelector("
                           "'#txt2img_cn0_control_type input[value=All]')?.checked")
    assert page.locator("#txt2img_cn0_model input").input_value() == "control_v11p_sd15_canny"

    page.locator("#txt2img_cn0_image input[type=file]").set_input_files(str(control))
    page.locator("#txt2img_cn0_image img").wait_for()
    page.locator("#txt2img_cn0_send_dimensions").click()
    page.wait_for_function(
        "() => document.querySelector('#txt2img_width input[type=number]').value === '1024'")
    assert page.locator("#txt2img_height input[type=number]").input_value() == "664"
    toast_with(page, "1536x1000")  # said, since the size is not the image's


def slider(page: Any, name: str) -> str:
    """A ControlNet slider of the shown unit as the page shows it: value/min..max."""
    return page.evaluate(
        "(name) => { const e = document.querySelector("
        "'#txt2img_cn0_' + name + ' input[type=number]'); "
        "return e ? `${e.value}/${e.min}..${e.max}` : 'hidden'; }", name)


def test_controlnet_units_keep_their_own_fields_and_images(page: Any, app: Launched,
                                                           tmp_path: Path) -> None:
    """One set of fields for the three units: each unit's values and control image come
    back when it is picked again, a module's sliders with its bounds, and both enabled
    units reach the request, each with its own image."""
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    gradient(256, 256).save(first)
    gradient(320, 200).save(second)
    set_number(page, "txt2img_width", 256)
    set_number(page, "txt2img_height", 256)
    set_number(page, "txt2img_steps", 8)
    page.locator("#txt2img_prompt textarea").fill("a lighthouse")
    page.locator("#txt2img_controlnet").get_by_text("ControlNet", exact=True).first.click()
    units = page.locator("#txt2img_cn_unit")
    page.locator("#txt2img_cn0_image input[type=file]").set_input_files(str(first))
    page.locator("#txt2img_cn0_image img").wait_for()
    page.locator("#txt2img_cn0_enable input").check()

    units.get_by_text("ControlNet Unit 1", exact=True).click()  # its defaults, no image
    page.wait_for_function(
        "() => !document.querySelector('#txt2img_cn0_enable input').checked")
    assert page.locator("#txt2img_cn0_image img").count() == 0
    page.locator("#txt2img_cn0_image input[type=file]").set_input_files(str(second))
    page.locator("#txt2img_cn0_image img").wait_for()
    page.locator("#txt2img_cn0_enable input").check()
    page.locator("#txt2img_cn0_control_type").get_by_text("MLSD", exact=True).click()
    page.wait_for_function("() => document.querySelector('#txt2img_cn0_module input')"
                           ".value === 'mlsd'")
    page.wait_for_function("() => document.querySelector("
                           "'#txt2img_cn0_threshold_a input[type=number]')?.max === '2'")
    assert slider(page, "threshold_a") == "-1/-1..2"

    units.get_by_text("ControlNet Unit 0", exact=True).click()  # canny again, its bounds
    page.wait_for_function("() => document.querySelector('#txt2img_cn0_module input')"
                           ".value === 'canny'")
    page.wait_for_function("() => document.querySelector("
                           "'#txt2img_cn0_threshold_a input[type=number]')?.max === '255'")
    assert slider(page, "threshold_a") == "100/1..255"
    assert page.locator("#txt2img_cn0_enable input").is_checked()
    assert page.locator("#txt2img_cn0_image img").count() == 1

    record = generated(page, app)
    args = record.request["always_on_scripts"]["controlnet"]["args"]
    assert [(a["module"], a.get("threshold_a")) for a in args] == [("canny", 100),
                                                                    ("mlsd", -1)]
    assert len({a["image_link"] for a in args}) == 2
    infotext = page.locator("#txt2img_infotext textarea").input_value()
    assert "ControlNet 1: \"Module: mlsd" in infotext


def test_a_preprocessor_clicked_into_and_left_changes_nothing(page: Any) -> None:
    """Gradio's choice box sends an "input" when clicked into and left as it was: the model
    and the sliders the visitor set stayed (they went back to the preprocessor's defaults)."""
    page.locator("#txt2img_controlnet").get_by_text("ControlNet", exact=True).first.click()
    model = page.locator("#txt2img_cn0_model input")
    model.fill("control_v11p_sd15_openpose")
    model.press("Enter")
    set_number(page, "txt2img_cn0_processor_res", 1024)
    page.locator("footer").click()
    page.locator("#txt2img_cn0_module input").click()
    page.locator("footer").click()
    page.wait_for_timeout(1000)  # the answer a click-away got before, had it been sent
    assert model.input_value() == "control_v11p_sd15_openpose"
    assert page.locator("#txt2img_cn0_processor_res input[type=number]").input_value() == "1024"
    # a pick still sets the preprocessor's model and sliders
    page.locator("#txt2img_cn0_module input").click()
    page.get_by_role("option", name="depth_midas").click()
    page.wait_for_function("() => document.querySelector('#txt2img_cn0_model input').value"
                           " === 'control_v11f1p_sd15_depth'")
