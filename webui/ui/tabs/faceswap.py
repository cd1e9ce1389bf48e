"""Face swap (the `roop` tool): the face of a source image onto a target image, or onto each of
several targets (one task per target). The tool's status rule (ruling 5) is the engine's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from webui.api.errors import InvalidRequestError
from webui.core.tools import check_batch, check_upload, host_upload, read_upload, roop_request
from webui.messages import Msg
from webui.ui.context import UiContext
from webui.ui.inputs import GuardedFile, GuardedImage
from webui.ui.tasks import Follower, refusal
from webui.ui.tool_tab import ToolResults, build_tool_results, wire_tool

TAB = "faceswap"
SAMPLES = Path(__file__).resolve().parents[3] / "assets" / "samples"
LABELS = {"sourceUrl": "Source face", "targetUrl": "Target image"}


@dataclass
class FaceSwapTab:
    mode: gr.State  # "single" | "batch"
    mode_tabs: gr.Tabs
    source: gr.Image
    target: gr.Image
    targets: gr.File
    run_button: gr.Button
    results: ToolResults
    run_event: Any  # Run's click (it sends and returns)
    follower: Follower  # what shows the tab's newest batch
    run: Callable[[dict[Any, Any]], Iterator[dict[Any, Any]]]


def build_faceswap(ctx: UiContext, visitor: gr.BrowserState, last_tasks: gr.BrowserState
                   ) -> FaceSwapTab:
    mode = gr.State("single")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, elem_id=f"{TAB}_settings"):
            source = GuardedImage(label="Source face (the face to use)", type="filepath",
                                  height=300, sources=["upload", "clipboard"],
                                  elem_id=f"{TAB}_source")
            with gr.Tabs(elem_id=f"{TAB}_mode_tabs") as mode_tabs:
                with gr.Tab("Target image", id="single") as tab_single:
                    target = GuardedImage(label="Target (its face is replaced)",
                                          type="filepath", height=300,
                                          sources=["upload", "clipboard"],
                                          elem_id=f"{TAB}_target")
                with gr.Tab("Batch targets", id="batch") as tab_batch:
                    targets = GuardedFile(label="Targets (one task each, same source face)",
                                          file_count="multiple", file_types=["image"],
                                          elem_id=f"{TAB}_targets")
            run_button = gr.Button("Swap face", variant="primary", elem_id=f"{TAB}_run")
            samples = [str(SAMPLES / "face_source.png"), str(SAMPLES / "face_target.png")]
            if all(Path(p).exists() for p in samples):
                gr.Examples([samples], inputs=[source, target], label="Sample faces")
        with gr.Column(scale=5, elem_id=f"{TAB}_results"):
            results = build_tool_results(TAB)

    tab_single.select(lambda: "single", outputs=mode, queue=False)
    tab_batch.select(lambda: "batch", outputs=mode, queue=False)

    def build(data: dict[Any, Any]) -> list[Callable[[], Any]]:
        if not isinstance(data[source], str) or not data[source]:
            raise _missing("sourceUrl", Msg("upload.what_face"))
        files = [data[target]] if data[mode] == "single" else list(data[targets] or [])
        files = [f for f in files if isinstance(f, str) and f]
        if not files:
            raise _missing("targetUrl", Msg("upload.what_target"))
        check_batch(files, "targetUrl", "Targets")
        check_upload(data[source], "sourceUrl", "Source face")
        labels = [Msg("fields.target_number", number=n) if len(files) > 1 else "Target image"
                  for n in range(1, len(files) + 1)]
        for path, label in zip(files, labels, strict=True):  # all checked before any decodes
            check_upload(path, "targetUrl", label)
        sources, owner = ctx.runtime.sources, ctx.owner(data[visitor])
        face_urls: list[str] = []  # the face, hosted once, when the first task may run

        def face_url() -> str:
            if not face_urls:
                face = read_upload(data[source], "sourceUrl", "Source face")
                face_urls.append(host_upload(sources, owner, face, "sourceUrl", "Source face"))
            return face_urls[0]

        def make(path: str, label: str) -> Callable[[], Any]:
            def request() -> Any:  # decoded and hosted once its task may run
                picture = read_upload(path, "targetUrl", label)
                return roop_request(face_url(), host_upload(sources, owner, picture,
                                                            "targetUrl", "Target image"))
            return request

        return [make(path, label) for path, label in zip(files, labels, strict=True)]

    run_event, follower, run = wire_tool(ctx, results, run_button=run_button, visitor=visitor,
                               last_tasks=last_tasks, inputs={mode, source, target, targets},
                               build=build, labels=LABELS)
    return FaceSwapTab(mode, mode_tabs, source, target, targets, run_button, results, run_event,
                       follower, run)


def _missing(field: str, what: Msg) -> InvalidRequestError:
    return refusal(field, Msg("upload.required", field=field, what=what), "missing", "roop")
