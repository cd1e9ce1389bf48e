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
A refusal is a `gr.Error` (`toasts.error`): the visitor sees its message even with
`show_error=False`, and it reaches a `gradio_client` caller as an AppError.

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
from PIL import Image

from webui.core.hosting import MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE, UploadRefused, check_header
from webui.ui import toasts

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


CHOICE_REFUSED = "{label}: not one of the choices"


def quiet_choice_refusals() -> None:
    """Gradio refuses a value a choice component does not list (a scripted client's forged
    value) with an Error that prints a whole traceback and echoes every choice: a client
    could fill the log with them. The same refusal, named by the component's label, without
    the traceback. Idempotent."""
    for cls in (gr.Dropdown, gr.Radio, gr.CheckboxGroup):
        original = cls.preprocess
        if getattr(original, "_zq_quiet", False):
            continue

        def preprocess(self: Any, payload: Any, _original: Any = original) -> Any:
            try:
                return _original(self, payload)
            except gr.Error as refused:
                if not refused.print_exception:
                    raise
                label = self.label if isinstance(self.label, str) and self.label else "Value"
                raise toasts.error(CHOICE_REFUSED.format(label=label)) from None

        preprocess._zq_quiet = True  # type: ignore[attr-defined]
        cls.preprocess = preprocess  # type: ignore[method-assign]


class GuardedInput:
    """The checks, mixed in before a Gradio component class. No __init__ of its own: Gradio
    reads a component's props from its __init__ signature and rebuilds it from its
    constructor arguments, so the component's own must stay.

    A URL is refused in the other direction too (a value the app shows): the app hands these
    components local files only (Send to, History, the examples)."""

    max_bytes: ClassVar[int | None] = MAX_UPLOAD_BYTES
    fallback_field: ClassVar[str] = "Image"

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
            raise toasts.error(f"{self.field}: the file is damaged or truncated") from None

    def refusal(self, payload: Any) -> str | None:
        """Why an upload, as the browser sent it (in Gradio's cache, not preprocessed), is
        refused, or None: the same header checks as `preprocess`, for the `.upload` event."""
        if payload is None:
            return None
        try:
            model = self.data_model.model_validate(payload)  # type: ignore[attr-defined]
        except ValueError:
            return f"{self.field}: not a readable image (PNG, JPEG or WebP)"
        try:
            self._screen_payload(model)
        except gr.Error as refused:
            return str(refused.message)
        return None

    def _screen_payload(self, payload: Any) -> None:
        """Every file of the payload within the limits, or a gr.Error naming the field."""
        files = list(_files(payload))
        if len(files) > MAX_FILES:  # a scripted call may name thousands
            raise toasts.error(f"{self.field}: at most {MAX_FILES} files at once, got "
                               f"{len(files)}")
        for file in files:
            self._screen(file)

    def _refuse_url(self, path: Any) -> None:
        if isinstance(path, str) and _URL.match(path.strip()):
            raise toasts.error(f"{self.field}: the app does not fetch URLs; upload the file "
                               "instead")

    def _screen(self, file: FileData | ImageData) -> None:
        """Refuse a file whose header is not an accepted picture within the limits."""
        try:
            if file.url and file.url.startswith("data:"):
                self._screen_data_url(file.url)
            if not file.path:
                return
            self._refuse_url(file.path)  # a stream's path is never moved: (1) did not see it
            try:
                size = os.stat(file.path).st_size
                with open(file.path, "rb") as stream:
                    check_header(stream, size, self.field, self.max_bytes)
            except OSError:
                raise toasts.error(f"{self.field}: the upload could not be read") from None
        except UploadRefused as refused:
            raise toasts.error(refused) from None

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
        raise toasts.error(f"{self.field}: not accepted")


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
        refused = component.refusal(payload)
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
