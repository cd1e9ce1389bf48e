"""ControlNet in a real browser: a unit with a control image steers the picture (the offline
backend draws the control image's edges)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.test_txt2img import set_number
from tests.helpers.images import outline
from tests.helpers.status_watch import click_and_wait_done
from webui.ui.app import Launched

pytestmark = pytest.mark.browser
SIZE, BOX = 256, (64, 64, 192, 192)


def generate(page: Any, app: Launched) -> np.ndarray:
    known = set(app.runtime.offline.runner.tasks)
    click_and_wait_done(page, "txt2img")
    task_id = next(key for key in app.runtime.offline.runner.tasks if key not in known)
    record = app.runtime.store.get(task_id)
    assert record is not None
    return np.asarray(Image.open(record.images[0].path or "").convert("L")).astype(int)


def test_a_unit_with_a_control_image_steers_the_result(page: Any, app: Launched,
                                                       tmp_path: Path) -> None:
    control = tmp_path / "control.png"
    outline(SIZE, SIZE, BOX).save(control)
    set_number(page, "txt2img_width", SIZE)
    set_number(page, "txt2img_height", SIZE)
    set_number(page, "txt2img_steps", 10)
    page.locator("#txt2img_seed input").fill("777")
    page.locator("#txt2img_prompt textarea").fill("a quiet room")
    plain = generate(page, app)

    page.locator("#txt2img_controlnet").get_by_text("ControlNet", exact=True).first.click()
    page.locator("#txt2img_cn0_image input[type=file]").set_input_files(str(control))
    page.locator("#txt2img_cn0_enable input").check()
    steered = generate(page, app)
    assert "ControlNet 0: \"Module: canny" in page.locator(
        "#txt2img_infotext textarea").input_value()

    change = np.abs(steered - plain)
    edges = np.zeros_like(change, bool)
    x0, y0, x1, y1 = BOX
    edges[y0 - 3:y1 + 4, x0 - 3:x1 + 4] = True
    edges[y0 + 4:y1 - 3, x0 + 4:x1 - 3] = False  # a 7 px band along the rectangle's outline
    assert change[edges].mean() > 5 * change[~edges].mean() + 1
