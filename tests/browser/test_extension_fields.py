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
    known = set(app.runtime.offline.runner.tasks)
    click_and_wait_done(page, "txt2img")
    task_id = next(key for key in app.runtime.offline.runner.tasks if key not in known)
    record = app.runtime.store.get(task_id)
    assert record is not None
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

    page.locator("#txt2img_cn0_image input[type=file]").set_input_files(str(control))
    page.locator("#txt2img_cn0_image img").wait_for()
    page.locator("#txt2img_cn0_send_dimensions").click()
    page.wait_for_function(
        "() => document.querySelector('#txt2img_width input[type=number]').value === '1024'")
    assert page.locator("#txt2img_height input[type=number]").input_value() == "664"
    toast_with(page, "1536x1000")  # said, since the size is not the image's
