"""The results panel's stream: what each task event sends to the page."""

from __future__ import annotations

import io

import gradio as gr
from PIL import Image

from webui.api.models import TaskState
from webui.core.events import TaskEvent
from webui.ui.results import ResultsPanel, build_results_panel


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, shade, shade)).save(out, "JPEG")
    return out.getvalue()


def panel() -> ResultsPanel:
    with gr.Blocks():
        return build_results_panel("txt2img")


def test_unchanged_events_are_not_sent_and_the_preview_is_a_plain_value() -> None:
    results = panel()
    queued = TaskEvent("t1", TaskState.QUEUED, queue_position=2, billed_calls=1)
    events = [
        queued, queued,  # a poll that changed nothing
        TaskEvent("t1", TaskState.GENERATING, progress=0.5, preview=jpeg(10), billed_calls=2),
        TaskEvent("t1", TaskState.GENERATING, progress=0.5, preview=jpeg(10), billed_calls=2),
        TaskEvent("t1", TaskState.GENERATING, progress=0.5, preview=jpeg(200), billed_calls=2),
        TaskEvent("t1", TaskState.SUCCEEDED, progress=1.0, billed_calls=3),
    ]
    updates = list(results.stream(iter(events), lambda: 7))
    assert len(updates) == 4  # queued, first preview, new preview, done
    first_preview, second_preview = updates[1][results.preview], updates[2][results.preview]
    # plain values, never a prop update (one lost in a stream left the preview hidden); the
    # component is always there and hidden by CSS while empty
    assert isinstance(first_preview, Image.Image) and isinstance(second_preview, Image.Image)
    assert updates[3][results.preview] is None and results.gallery in updates[3]
    assert updates[0][results.progress] and updates[3][results.progress] == ""
    assert "3" in updates[3][results.meter] and "7" in updates[3][results.meter]
