"""File and image inputs that check what a visitor sends before Gradio touches it.

For an input, Gradio (1) copies each file of the payload into its cache, downloading a `path`
that is an http(s) URL from wherever it points, with no size limit; (2) preprocesses: gr.Image
decodes any picture whose mode is not its `image_mode` (and `type="filepath"` is no shield),
gr.ImageEditor decodes every layer, a `data:` URL is decoded whatever its size; (3) calls the
handler. The handlers' own checks (`webui/core/hosting.py`) come after (2): a 164 kB PNG of
13000x13000 pixels cost the app ~800 MB before the handler refused it.

The components here do the checks first, naming the field by its label (the one the visitor
sees): at (1) any URL is refused (the app fetches no URL a visitor typed; a local file, such
as Send to's or an example's, goes through), and before (2) every file of the payload (an
ImageEditor's background, layers and composite; every file of a gr.File; a `data:` URL) must
have the header of a PNG, JPEG or WebP of at most 4096x4096 and 20 MB, read without decoding.
A refusal is a `gr.Error` (`toasts.error`): the visitor sees its message, in their language,
even with `show_error=False`, and it reaches a `gradio_client` caller as an AppError.

`guard_pillow()` sets Pillow's own bomb limit near the app's, for whatever decodes elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import gradio as gr
from gradio.data_classes import FileData, GradioModel, GradioRootModel, ImageData
from gradio.i18n import I18nData
from PIL import Image

from webui.core.hosting import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_SIDE,
    UploadRefused,
    check_header,
    field_label,
    labelled,
)
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.language import say

# Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that when a file is opened.
# Every picture the app handles legitimately (uploads, results, the offline backend's
# inputs and renders) is at most 4096x4096 = 16.8 Mpx, so none warns; nothing over
# 67 Mpx (8192x8192) is ever decoded. (At 16.8 Mpx exactly, the offline backend, which turns
# the warning into an error, would answer "decompression bomb" instead of the size for
# 16.8-33.5 Mpx inputs it refuses anyway.)
PILLOW_LIMIT = 2 * MAX_UPLOAD_SIDE * MAX_UPLOAD_SIDE
MAX_FILES = 32  # files in one input's payload (a batch; an editor's layers)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def guard_pillow() -> None:
    """Lower Pillow's process-wide decompression bomb limit to PILLOW_LIMIT (never raise it).
    Defence in depth: the inputs' header checks are the defence."""
    current = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = PILLOW_LIMIT if current is None else min(current, PILLOW_LIMIT)


CHOICE_REFUSED = Msg("field.not_a_choice")  # after the component's label


def component_label(label: Any, fallback: Msg) -> Msg | str:
    """A component's label as a message parameter: its key once `ui/i18n.py` has swapped the
    English for one, the English (translated when the catalogue has it) before that, else
    `fallback`."""
    if isinstance(label, I18nData):
        return Msg(label.key)
    if isinstance(label, str) and label.strip():
        return field_label(label)
    return fallback


def _choice_refused(component: Any, payload: Any) -> Msg:
    return CHOICE_REFUSED


def _bounds_refused(component: Any, payload: Any) -> Msg:
    return Msg("field.out_of_bounds", minimum=_number(component.minimum),
               maximum=_number(component.maximum), got=_number(payload))


def _not_a_number(component: Any, payload: Any) -> Msg:
    return Msg("field.not_a_number", got=_number(payload))


def _number(value: Any) -> str:
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def quiet_choice_refusals() -> None:
    """Gradio refuses a value a choice component does not list, and a number outside a
    slider's or a number box's bounds (a scripted client's forged value), with an English
    Error that prints a whole traceback (and echoes every choice), and fails with a
    TypeError on what is no number at all (a slider sent null, text or a dict): a client
    could fill the log with them. The same refusal, named by the component's label, in the
    visitor's language, without the traceback. Idempotent."""
    for cls, refusal, junk in (
            (gr.Dropdown, _choice_refused, _choice_refused),
            (gr.Radio, _choice_refused, _choice_refused),
            (gr.CheckboxGroup, _choice_refused, _choice_refused),
            (gr.Slider, _bounds_refused, _not_a_number),
            (gr.Number, _bounds_refused, _not_a_number)):
        original = cls.preprocess
        if getattr(original, "_zq_quiet", False):
            continue

        def preprocess(self: Any, payload: Any, _original: Any = original,
                       _refusal: Callable[[Any, Any], Msg] = refusal,
                       _junk: Callable[[Any, Any], Msg] = junk) -> Any:
            try:
                return _original(self, payload)
            except gr.Error as refused:
                if not refused.print_exception:
                    raise
                said = _refusal(self, payload)
            except (TypeError, ValueError):  # no value of the kind (a slider sent text)
                said = _junk(self, payload)
            label = component_label(self.label, Msg("input.value"))
            raise toasts.error(labelled(label, said)) from None

        preprocess._zq_quiet = True  # type: ignore[attr-defined]
        cls.preprocess = preprocess  # type: ignore[method-assign]


class GuardedInput:
    """The checks, mixed in before a Gradio component class. No __init__ of its own: Gradio
    reads a component's props from its __init__ signature and rebuilds it from its
    constructor arguments, so the component's own must stay.

    A URL is refused in the other direction too (a value the app shows): the app hands these
    components local files only (Send to, History, the examples)."""

    max_bytes: ClassVar[int | None] = MAX_UPLOAD_BYTES
    fallback_field: ClassVar[str] = "Image"  # written in English, as labels are

    # the browser loads Gradio's own Svelte component and the API names the same type
    def get_block_name(self) -> str:
        return _gradio_class(type(self)).__name__.lower()

    def get_block_class(self) -> str:
        return self.get_block_name()

    @property
    def field(self) -> str:
        """The label as written (the page shows its translation: `ui/i18n.py` swaps the
        shown label for a key; the constructor's arguments keep the English)."""
        label = self.constructor_args.get("label")  # type: ignore[attr-defined]
        return label if isinstance(label, str) and label.strip() else self.fallback_field

    def refused(self, text: Msg) -> gr.Error:
        """To raise: "<field>: <text>", in the visitor's language."""
        return toasts.error(labelled(self.field, text))

    def refuse_malformed(self, payload: Any) -> None:
        """A payload this field's data model does not take (a script sends a path as text, a
        number) is refused by the field, as an unreadable upload: Gradio's own check would
        log its traceback and tell the caller nothing (PageBlocks calls this first)."""
        if payload is None:
            return
        try:
            model = self.data_model.model_validate(payload)  # type: ignore[attr-defined]
        except ValueError:
            raise self.refused(Msg("upload.unreadable")) from None
        if any(not file.path for file in _files(model)):
            # {} or a URL alone: Gradio takes no path from an input's URL, and its preprocess
            # fails ("Image path is None")
            raise self.refused(Msg("upload.unreadable"))

    async def async_move_resource_to_block_cache(self, url_or_file_path: Any) -> str | None:
        self._refuse_url(url_or_file_path)
        return await super().async_move_resource_to_block_cache(  # type: ignore[misc]
            url_or_file_path)

    def move_resource_to_block_cache(self, url_or_file_path: Any) -> str | None:
        self._refuse_url(url_or_file_path)
        return super().move_resource_to_block_cache(url_or_file_path)  # type: ignore[misc]

    def preprocess(self, payload: Any) -> Any:
        self._screen_payload(payload)
        try:
            return super().preprocess(payload)  # type: ignore[misc]
        except (OSError, SyntaxError, Image.DecompressionBombError):
            # past the header: the pixels themselves are cut short or broken
            raise self.refused(Msg("upload.damaged")) from None

    def refusal_msg(self, payload: Any) -> Msg | None:
        """Why an upload, as the browser sent it (in Gradio's cache, not preprocessed), is
        refused, or None: the same header checks as `preprocess`, for the `.upload` event."""
        if payload is None:
            return None
        try:
            model = self.data_model.model_validate(payload)  # type: ignore[attr-defined]
        except ValueError:
            return labelled(self.field, Msg("upload.unreadable"))
        return self._payload_refusal(model)

    def refusal(self, payload: Any) -> str | None:
        """`refusal_msg` in the visitor's language."""
        refused = self.refusal_msg(payload)
        return None if refused is None else say(refused)

    def _screen_payload(self, payload: Any) -> None:
        """Every file of the payload within the limits, or a gr.Error naming the field."""
        refused = self._payload_refusal(payload)
        if refused is not None:
            raise toasts.error(refused)

    def _payload_refusal(self, payload: Any) -> Msg | None:
        files = list(_files(payload))
        if len(files) > MAX_FILES:  # a scripted call may name thousands
            return labelled(self.field, Msg("upload.too_many_files", limit=MAX_FILES,
                                            got=len(files)))
        for file in files:
            refused = self._file_refusal(file)
            if refused is not None:
                return refused
        return None

    def _refuse_url(self, path: Any) -> None:
        refused = self._url_refusal(path)
        if refused is not None:
            raise toasts.error(refused)

    def _url_refusal(self, path: Any) -> Msg | None:
        if isinstance(path, str) and _URL.match(path.strip()):
            return labelled(self.field, Msg("upload.no_urls"))
        return None

    def _file_refusal(self, file: FileData | ImageData) -> Msg | None:
        """Why a file's header is not an accepted picture within the limits, or None."""
        try:
            if file.url and file.url.startswith("data:"):
                self._screen_data_url(file.url)
            if not file.path:
                return None
            # a stream's path is never moved: (1) did not see it
            refused = self._url_refusal(file.path)
            if refused is not None:
                return refused
            try:
                size = os.stat(file.path).st_size
                with open(file.path, "rb") as stream:
                    check_header(stream, size, self.field, self.max_bytes)
            except OSError:
                return labelled(self.field, Msg("upload.read_failed"))
        except UploadRefused as refused:
            return refused.msg
        return None

    def _screen_data_url(self, url: str) -> None:
        encoded = url.rsplit(",", 1)[-1]  # as Gradio reads it
        size = len(encoded) // 4 * 3  # what it decodes to, known before decoding it
        if self.max_bytes is not None and size > self.max_bytes:
            check_header(io.BytesIO(), size, self.field, self.max_bytes)  # refused: too large
        try:
            data = base64.b64decode(encoded)
        except (binascii.Error, ValueError):
            data = b""  # refused below as not a readable image
        check_header(io.BytesIO(data), len(data), self.field, self.max_bytes)


class GuardedImage(GuardedInput, gr.Image):
    """gr.Image for uploads."""


class GuardedImageEditor(GuardedInput, gr.ImageEditor):
    """gr.ImageEditor for uploads. Its layers are PNGs the browser's canvas made, so their
    bytes are not what the visitor uploaded: only Gradio's own file size limit applies, the
    pixel limit as everywhere.

    No realtime events (`.change`/`.input`): Gradio's `accept_blobs` server function, which
    those use, would keep any bytes anyone posts in memory until a submit with their id, so
    it is not offered (the route answers 404)."""

    max_bytes: ClassVar[int | None] = None

    def accept_blobs(self, data: Any) -> None:  # not a @server function
        raise self.refused(Msg("upload.not_accepted"))


class GuardedFile(GuardedInput, gr.File):
    """gr.File for pictures (one or several)."""

    fallback_field: ClassVar[str] = "File"


def guard_uploads(root: gr.Blocks, skip: Iterable[Any] = ()) -> None:
    """An `.upload` event on every GuardedImage and GuardedFile of `root` (call inside its
    `with`): a file that is not an accepted picture is refused when it arrives, the field
    named, and the input cleared, instead of a broken picture and a failed Generate later.
    `skip`: inputs whose own upload handler checks (`GuardedInput.refusal`). The editor has
    no upload event (see GuardedImageEditor): its Generate refuses, the field named."""
    skipped = {id(component) for component in skip}
    for block in list(root.blocks.values()):
        if isinstance(block, GuardedImage | GuardedFile) and id(block) not in skipped:
            # queued: a toast (gr.Warning) reaches the page only through the queue
            block.upload(_upload_check(block), inputs=block, outputs=block, preprocess=False,
                         show_progress="hidden", api_visibility="undocumented")


def _upload_check(component: GuardedInput) -> Callable[[Any], Any]:
    def check(payload: Any) -> Any:
        refused = component.refusal_msg(payload)
        if refused is None:
            return gr.skip()
        toasts.warn(refused)
        return None  # clears the input
    return check


def _gradio_class(cls: type) -> type:
    return next(c for c in cls.__mro__ if c.__module__.startswith("gradio."))


def _files(payload: Any) -> Iterator[FileData | ImageData]:
    """Every file of a payload: FileData / ImageData, in models, root models and lists."""
    if isinstance(payload, FileData | ImageData):
        yield payload
    elif isinstance(payload, GradioRootModel):
        yield from _files(payload.root)
    elif isinstance(payload, list | tuple):
        for item in payload:
            yield from _files(item)
    elif isinstance(payload, GradioModel):
        for name in type(payload).model_fields:
            yield from _files(getattr(payload, name))
