"""The right-hand results column every generating tab has: status, progress bar, live preview,
gallery with seeds, infotext, cost meter, Interrupt and Save. `stream()` turns the task
engine's events into updates of these components."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from webui.core.events import TaskEvent
from webui.core.outputs import read_infotext
from webui.core.store import TaskRecord
from webui.messages import Language, Msg
from webui.ui import toasts
from webui.ui.language import current_language, say
from webui.ui.saves import ARCHIVES, Archives, SaveBusy
from webui.ui.served import shown as served

INTERRUPTED = Msg("results.interrupted")
SEND_TARGETS = {"img2img": "Send to img2img", "inpaint": "Send to inpaint",
                "extras": "Send to extras", "faceswap": "Send to face swap"}


@dataclass
class ResultsPanel:
    tab: str
    status: gr.Markdown
    progress: gr.HTML
    preview: gr.Image
    gallery: gr.Gallery
    infotext: gr.Textbox
    meter: gr.Markdown
    results: gr.State  # paths shown in the gallery, in order
    selected: gr.State  # index selected in the gallery, or None
    interrupt: gr.Button
    save: gr.Button
    download: gr.File
    send_buttons: list[gr.Button]  # in SEND_TARGETS order

    @property
    def outputs(self) -> list[Any]:
        return [self.status, self.progress, self.preview, self.gallery, self.infotext,
                self.meter, self.results, self.selected, self.interrupt]

    def wire(self) -> None:
        self.gallery.select(self._select, inputs=self.results,
                            outputs=[self.selected, self.infotext], queue=False,
                            show_progress="hidden")
        self.save.click(self._zip, inputs=[self.results, self.selected], outputs=self.download)

    @staticmethod
    def _select(results: list[str], event: gr.SelectData) -> tuple[int | None, str]:
        index = event.index if isinstance(event.index, int) else None
        if index is None or not 0 <= index < len(results or []):
            return None, ""
        return index, _infotext(results[index])

    def _zip(self, results: list[str], selected: int | None,
             request: gr.Request = None,  # type: ignore[assignment]
             archives: Archives = ARCHIVES) -> Any:
        """A zip in Gradio's cache (`webui/ui/saves.py`): nothing left in the temp folder."""
        results = list(results or [])
        chosen = isinstance(selected, int) and 0 <= selected < len(results)
        paths = [results[selected]] if chosen else results  # type: ignore[index]
        if not paths:
            toasts.warn(Msg("results.nothing_to_save"))
            return gr.File(visible=False)
        return zip_download(getattr(request, "session_hash", None) or "",
                            f"{self.tab}-{Path(paths[0]).stem}.zip", paths, archives)

    # --- streaming --------------------------------------------------------------------------

    def following(self, progress: str | None = None) -> dict[Any, Any]:
        """The progress bar while a task is followed; Interrupt shows with it (assets/app.css).
        Plain values, no prop updates: one lost in a stream (seen with Gradio 6 after a
        reload) left the bar or the button shown or hidden for good."""
        return {self.progress: progress_html(None) if progress is None else progress}

    def not_following(self) -> dict[Any, Any]:
        return {self.progress: "", self.preview: None}

    def interrupted(self) -> dict[Any, Any]:
        """After Interrupt: what happened, in the status line (the task goes on)."""
        return {self.status: say(INTERRUPTED), **self.not_following()}

    @property
    def interrupt_outputs(self) -> list[Any]:
        return [self.status, self.interrupt, self.progress, self.preview]

    def stream(self, events: Iterator[TaskEvent], billed_total: Any, *,
               controls_shown: bool = False) -> Iterator[dict[Any, Any]]:
        """Updates for each event that changes what is shown; the preview only when it changed
        (it is the heavy part). An unchanged event is not sent: Gradio rebuilds every output
        a yield leaves out (a Gallery's config and JSON schema included), so a no-op costs.
        Interrupt and the progress bar are shown with the first update (unless
        `controls_shown`) and hidden with the last."""
        last_preview: bytes | None = None
        last_shown: tuple[str, str, str] | None = None
        for event in events:
            language = current_language()  # set by Gradio around each step of the stream
            shown = (status_markdown(event, language), progress_html(event),
                     meter_markdown(event.billed_calls, billed_total(), language=language))
            update: dict[Any, Any] = dict(zip((self.status, self.progress, self.meter), shown,
                                              strict=True))
            if not controls_shown and not event.final:
                update.update(self.following(shown[1]))
                controls_shown = True
            new_preview = bool(event.preview and event.preview != last_preview
                               and not event.final)
            if new_preview:
                image = event.preview_image()
                # a plain value: the component is always there, hidden by CSS while empty (a
                # prop update rebuilds it, and one lost in a stream left it hidden)
                update[self.preview] = image
                last_preview = event.preview
            if event.final:
                update.update(self.final(event, language))
            elif shown == last_shown and not new_preview:
                continue
            last_shown = shown
            yield update

    def final(self, event: TaskEvent, language: Language | None = None,
              picked: int | None = None) -> dict[Any, Any]:
        """`picked`: the picture that Send to, Save and the follow-ups take and whose infotext
        shows (History's grid chose it). The gallery opens no larger view of it: that would
        take the arrow keys from the grid's."""
        language = language or current_language()
        shown = [image for image in event.images if image.shown]
        paths = [image.path for image in shown]
        picked = picked if isinstance(picked, int) and 0 <= picked < len(paths) else None
        return {
            **self.not_following(),
            self.gallery: gr.Gallery(value=[(served(p), say(Msg("results.seed", seed=i.seed),
                                                            language)
                                             if i.seed is not None else "")
                                            for p, i in zip(paths, shown, strict=True)],
                                     selected_index=None, columns=grid_columns(len(paths))),
            self.infotext: _infotext(paths[picked or 0]) if paths else "",
            self.results: paths,
            self.selected: picked,
        }

    def show_record(self, record: TaskRecord, billed_total: int,
                    picked: int | None = None) -> dict[Any, Any]:
        """A finished task's results, e.g. after a reload (`picked`: as `final`)."""
        event = TaskEvent.from_record(record, version=1)
        language = current_language()
        return {self.status: status_markdown(event, language),
                self.meter: meter_markdown(event.billed_calls, billed_total, language=language),
                **self.final(event, language, picked)}


def build_results_panel(tab: str) -> ResultsPanel:
    """Lay the column out (call inside a gr.Column)."""
    # Interrupt and the progress bar come and go in space kept for them (assets/app.css)
    with gr.Row(elem_classes="zq-status-row"):
        status = gr.Markdown("", elem_id=f"{tab}_status")
        # shown only while the progress bar is (assets/app.css)
        interrupt = gr.Button("Interrupt", variant="stop", size="sm", scale=0, min_width=96,
                              elem_id=f"{tab}_interrupt", elem_classes="zq-interrupt")
    with gr.Column(elem_classes="zq-progress-slot"):
        progress = gr.HTML("", elem_id=f"{tab}_progress", padding=False)
    # the live preview lies over the gallery (assets/app.css): nothing below moves
    with gr.Column(elem_classes="zq-results-area"):
        preview = gr.Image(label="Live preview", interactive=False,
                           height=GALLERY_HEIGHT, elem_id=f"{tab}_preview", format="jpeg",
                           elem_classes="zq-live-preview")
        gallery = gr.Gallery(label="Results", columns=1, height=GALLERY_HEIGHT,
                             object_fit="contain", elem_id=f"{tab}_gallery", format="png",
                             interactive=False, elem_classes="zq-gallery")
    with gr.Row():
        save = gr.Button("Save", size="sm", elem_id=f"{tab}_save")
        send = [gr.Button(label, size="sm", elem_id=f"{tab}_send_{key}")
                for key, label in SEND_TARGETS.items()]
    download = gr.File(label="Download", visible=False, interactive=False)
    infotext = gr.Textbox(label="Generation parameters (infotext)", lines=4, interactive=False,
                          elem_id=f"{tab}_infotext", buttons=["copy"])
    meter = gr.Markdown("", elem_id=f"{tab}_meter", elem_classes="zq-meter")
    panel = ResultsPanel(tab, status, progress, preview, gallery, infotext, meter,
                         gr.State([]), gr.State(None), interrupt, save, download, send)
    panel.wire()
    return panel


GALLERY_HEIGHT = 420


def zip_download(session: str, name: str, paths: list[str], archives: Archives = ARCHIVES
                 ) -> Any:
    """The download of one zip of `paths` (`webui/ui/saves.py`), in Gradio's cache: nothing
    left in the temp folder; a toast when it is busy, partial or empty."""
    try:
        archive = archives.make(session, name, paths)
    except SaveBusy:
        toasts.warn(Msg("results.zip_busy"))
        return gr.File()
    if archive is None:
        toasts.warn(Msg("results.pictures_deleted"))
        return gr.File(visible=False)
    if archive.left_out:
        toasts.warn(Msg("results.zip_partial", included=archive.included,
                        total=archive.included + archive.left_out,
                        most=archives.max_images, megabytes=archives.max_bytes >> 20))
    return gr.File(value=str(archive.path), visible=True)


def chosen_path(results: Any, selected: Any) -> str | None:
    """The selected result's path (a panel's `results` and `selected`), else the first."""
    if not isinstance(results, list) or not results:
        return None
    index = selected if isinstance(selected, int) and 0 <= selected < len(results) else 0
    path = results[index]
    return path if isinstance(path, str) else None


def grid_columns(count: int) -> int:
    """Columns of a batch's grid: as square as it gets (2x2 for 4, 3x3 for 9), so that every
    row fits the gallery's height (assets/app.css shares it out among the rows)."""
    return max(1, math.ceil(math.sqrt(count)))


# --- rendering ----------------------------------------------------------------------------------


def status_markdown(event: TaskEvent, language: Language | None = None) -> str:
    """The task's status line in the visitor's language; what the service said (a failure,
    a notice) as it said it, escaped."""
    language = language or current_language()
    text = toasts.markdown_text(say(event.status, language))
    if event.resumed and not event.final:
        text += " " + say(Msg("results.resumed"), language)
    hidden = [image for image in event.images if image.hidden_reason or image.error]
    for image in hidden:
        reason = say(image.hidden_reason or image.error_msg or image.error or "", language)
        text += "  \n" + toasts.markdown_text(say(Msg("results.image_not_shown",
                                                       number=image.index + 1, reason=reason),
                                                   language))
    if event.notice and not event.final:
        text += f"  \n<small>{toasts.markdown_text(say(event.notice, language))}</small>"
    return text


def progress_html(event: TaskEvent | None) -> str:
    if event is None:
        fraction = 0.0
    elif event.state == "succeeded":
        fraction = 1.0
    else:
        fraction = event.progress or 0.0
    failed = " zq-failed" if event is not None and event.state == "failed" else ""
    return (f'<div class="zq-progress{failed}" role="progressbar" aria-valuemin="0" '
            f'aria-valuemax="100" aria-valuenow="{fraction * 100:.0f}">'
            f'<div class="zq-progress-fill" style="width:{fraction * 100:.1f}%"></div></div>')


def meter_markdown(task_calls: int, total_calls: int, batch: bool = False,
                   language: Language | None = None) -> str:
    """The cost meter: this task's (or this batch's) billed calls, and this browser's."""
    meter = Msg("results.meter_batch", task=task_calls, total=total_calls) if batch else \
        Msg("results.meter", task=task_calls, total=total_calls)
    return say(meter, language or current_language())


def _infotext(path: str) -> str:
    try:
        return read_infotext(path) or ""
    except OSError:
        return ""
