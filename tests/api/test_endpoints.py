"""The endpoint table: each task kind's row carries what the app makes of its tasks."""

from __future__ import annotations

from webui.api.endpoints import ENDPOINTS, SD_SUBMITS, TOOLS, CallKind, TaskKind


def test_task_kinds_are_the_submit_endpoints() -> None:
    submits = {name for name, e in ENDPOINTS.items() if e.kind == CallKind.SUBMIT}
    assert submits == set(TaskKind) == {"text2image", "image2image", "controlnet", "enhance",
                                        "roop"}
    assert ENDPOINTS["text2image"] is ENDPOINTS[TaskKind.TEXT2IMAGE]


def test_each_kind_has_a_label_and_a_folder() -> None:
    assert {kind.value: (ENDPOINTS[kind].label, ENDPOINTS[kind].folder) for kind in TaskKind} == {
        "text2image": ("txt2img", "txt2img"), "image2image": ("img2img", "img2img"),
        "controlnet": ("ControlNet", "controlnet"), "enhance": ("Extras", "extras"),
        "roop": ("Face swap", "faceswap")}


def test_sd_kinds_are_seeded_and_tools_name_their_before_picture() -> None:
    assert [kind for kind in TaskKind if ENDPOINTS[kind].seeded] == list(SD_SUBMITS)
    assert {code: e.before_field for code, e in TOOLS.items()} == {"enhance": "image",
                                                                   "roop": "targetUrl"}
    assert all(ENDPOINTS[kind].before_field is None for kind in SD_SUBMITS)
