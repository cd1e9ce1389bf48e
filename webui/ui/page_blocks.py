"""The app's `gr.Blocks`: Gradio's event processing, with what the page needs and without
what it does not use.

- The event's request is known while Gradio checks its inputs (`language.answering`), so a
  refusal at that stage comes in the visitor's language.
- An output a handler leaves unchanged costs nothing. Gradio turns every output a dict return
  leaves out (and every bare `gr.skip()`) into a "prop update" and, for each, builds a new
  component from the old one's arguments and renders its whole config twice (signature
  inspection, JSON schemas): a follower's progress step names 2-3 of its ~15 outputs, so most
  of the app's CPU per task went to rebuilding outputs nothing changed. Those outputs are
  answered with the same "no change" Gradio would send, without the rebuild.
- An update that sets only what the visitor's page already has (hide a row that is hidden)
  is no change, and an update that also carries a value is that value. Properties the
  browser changes on its own (a gallery's selected picture, an accordion opened, the tab
  chosen) are not known to the server and always go as they are.
- A rebuilt component (a gallery's new columns) reuses the JSON schema of its data model
  instead of generating it again (pydantic), once per model for the process.
- An event sent fewer values than it has inputs (a script) is refused in words, not by
  Gradio's ValueError (a traceback in the log, and an error without text for the caller).
- A file field's payload of the wrong shape (a path sent as text) is refused by the field
  (`refuse_malformed`, the guarded inputs'), before Gradio's data model check logs a
  traceback and answers the caller with nothing but "an exception".
- A plain value (a slider, a checkbox, a choice, a text) is checked where the event runs.
  Gradio hands every input to a worker thread to check it, one after the other: Generate's
  111 fields were 111 thread hops per click, most of the CPU a click cost under load.
  Uploads and everything else still go Gradio's way. Likewise a plain value an event shows
  (a text, a number, Markdown, HTML) is made where the event runs, not in a worker thread
  each: a follower's progress step shows 3-5 of them. The states an event follows the
  change of are found once, not by a search of every event at each step.
- Gradio's queue looks for work every millisecond while it has none (and for `gr.Progress`
  updates, which the app does not use, every 10 ms): about 7% of a CPU on an idle Space.
  Every 10 ms (and 100 ms) is plenty for a click; an event still starts at once when the
  queue is busy. After each event it summarises up to 10,000 past events with pandas for
  its monitoring page, which the app does not enable; and around each call it tries to
  import matplotlib, which the app does not install.
- Gradio builds the app's FastAPI app (its routes, and the page's config twice more) when the
  blocks are left and again at `queue()`, and `launch()` builds the one that serves and
  replaces both: 0.6 s of the app's start. Only `launch()` builds it here.
- A session keeps no copy of the page's config. Gradio renders every block's config for
  each new session (and again for each output an event changes) to serve "deep links",
  which the app does not offer (`/gradio_api/deep_link` is closed): the whole page's
  config, signature inspection included, at each visitor's first event, about a third of
  the app's CPU under 50 visitors, and most of the memory a session holds.
- An event whose progress is hidden names no component to show it on. Gradio's page keeps
  the loading status of every component an event ever showed progress on (by default its
  outputs) and, at every status message of any event, updates each of them, a search of
  the page's whole tree each: the load event alone has 186 outputs, and this was most of
  the script's work before the page could be used.
"""

from __future__ import annotations

import copy
import datetime
import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import gradio as gr
from gradio.blocks import BlockFunction, convert_component_dict_to_list
from gradio.components.base import Component
from gradio.events import EventData
from gradio.routes import App
from gradio.state_holder import SessionState, StateHolder
from gradio.utils import deep_hash

from webui.messages import Msg
from webui.ui import toasts
from webui.ui.language import answering

_REQUEST_ARGUMENT = 3  # process_api(block_fn, inputs, state, request, ...)
_EVENT_DATA_ARGUMENT = 7  # ... iterator, session_hash, event_id, event_data, ...


def sent_event_data(data: Any) -> dict[str, Any]:
    """An event's data as a script may send it (none, or not a dict) made what Gradio's
    SelectData reads without failing: a select handler then sees index None, and answers.
    (Gradio builds the SelectData before the handler runs: a KeyError or TypeError there was
    a traceback in the log for each such call.)"""
    data = dict(data) if isinstance(data, dict) else {}
    data.setdefault("index", None)
    data.setdefault("value", None)
    return data
_NO_CHANGE = "update"
# Gradio's queue (gradio/queueing.py), its polling intervals when there is no work
IDLE_POLL_SECONDS = 0.01
PROGRESS_POLL_SECONDS = 0.1
# Gradio's monitoring page (not enabled here) summarises the last 10,000 events with pandas
# after every event: work that grows with the app's age, for a page nobody sees
NEVER = 2**62
ANALYTICS_EVENTS_KEPT = 100


def is_no_change(value: Any) -> bool:
    """`gr.skip()`: an update that names no property."""
    return isinstance(value, dict) and value.get("__type__") == _NO_CHANGE and len(value) == 1


# checked inline: their `preprocess` only compares a value (with `quiet_choice_refusals`)
PLAIN_VALUES = (gr.Slider, gr.Checkbox, gr.Dropdown, gr.Radio, gr.Textbox, gr.Number)
# outputs whose value is text or a number, shown without a file or a thread: a follower's
# progress step sets 3-5 of them
PLAIN_OUTPUTS = (*PLAIN_VALUES, gr.Markdown, gr.HTML)
_UNSHOWN = object()


def is_plain_value(block: Any, value: Any) -> bool:
    """`value` is a plain value (not an update, a component or a file) for a plain output."""
    return (type(block) in PLAIN_OUTPUTS and not block.stateful
            and isinstance(value, str | int | float | bool | type(None)))


def plain_shown(block: Any, value: Any, state: Any) -> Any:
    """`value` as Gradio sends it for `block`, made here, where the event runs: Gradio hands
    every output to a worker thread to make it. `_UNSHOWN` when the block refuses it (Gradio's
    own path then words the error)."""
    current = state.get(block._id, block)
    try:
        shown = current.postprocess(value)
    except Exception:  # noqa: BLE001 - Gradio's path raises it in its words
        return _UNSHOWN
    if block._id not in state:  # as Gradio keeps it
        state[block._id] = current
    state._update_value_in_config(block._id, shown)
    return shown


# what the page changes without telling the server: an update naming it always goes
BROWSER_SET = frozenset({"selected_index", "open", "selected"})
_NOT_PROPS = frozenset({"__type__", "value", "render"})


def as_sent(block: Any, update: Any, current: Any) -> Any:
    """`update` for `block` as it needs to be sent: a plain value (or no change) when every
    property it names is what `current` (the session's copy of `block`) already has; else
    `update` itself, untouched (Gradio reads a component and a dict differently: a dict's
    None properties are dropped, a component's are set)."""
    props = {**update.constructor_args, "__type__": _NO_CHANGE} \
        if isinstance(update, gr.blocks.Block) else update
    if not isinstance(props, dict) or props.get("__type__") != _NO_CHANGE or block.stateful:
        return update
    for name, value in props.items():
        if name in _NOT_PROPS:
            continue
        if name in BROWSER_SET or not hasattr(current, name):
            return update
        try:
            if getattr(current, name) != value:
                return update
        except Exception:  # noqa: BLE001 - an odd comparison counts as a change
            return update
    return props["value"] if "value" in props else gr.skip()


def tune_queue(queue: Any) -> None:
    """Gradio's queue, made to do only what the app uses (see the module's notes)."""
    # attributes of Gradio's, checked so that an upgrade renaming them is seen
    for name in ("sleep_when_free", "progress_update_sleep_when_free",
                 "ANAYLTICS_CACHE_FREQUENCY", "ANALYTICS_MAX_EVENTS"):
        if not isinstance(getattr(queue, name, None), int | float):
            raise RuntimeError(f"Gradio's queue has no {name} any more: see page_blocks.py")
    queue.sleep_when_free = max(queue.sleep_when_free, IDLE_POLL_SECONDS)
    queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free,
                                                PROGRESS_POLL_SECONDS)
    queue.ANAYLTICS_CACHE_FREQUENCY = NEVER
    queue.ANALYTICS_MAX_EVENTS = ANALYTICS_EVENTS_KEPT
    if importlib.util.find_spec("matplotlib") is None:
        # an absent module marked absent: `import matplotlib` fails at once, not after a
        # search of every path
        sys.modules.setdefault("matplotlib", None)  # type: ignore[arg-type]


def share_api_schemas() -> None:
    """Gradio caches a component's API schema per instance, and rebuilds the instance for
    every property update: the schema of a data model is the same for all of them."""
    original = Component.api_info
    if getattr(original, "_zq_shared", False):
        return
    schemas: dict[Any, Any] = {}

    def api_info(self: Component) -> Any:
        model = getattr(self, "data_model", None)
        if self._api_info_cache is None and isinstance(model, type):
            if model not in schemas:
                schemas[model] = original(self)
            self._api_info_cache = schemas[model]
        return original(self)

    api_info._zq_shared = True  # type: ignore[attr-defined]
    Component.api_info = api_info  # type: ignore[method-assign]


def hide_progress_everywhere(block_fns: Any) -> None:
    """An event that shows no progress names no component to show it on (an empty list:
    Gradio's page takes `null` for "the outputs")."""
    for block_fn in block_fns:
        if block_fn.show_progress == "hidden" and block_fn.show_progress_on is None:
            block_fn.show_progress_on = []


@contextmanager
def served_by_launch_only(blocks: gr.Blocks) -> Iterator[None]:
    """While Gradio leaves `blocks` or sets up its queue, the FastAPI app it would build for
    them is not built (`blocks.app` stays None until `launch()`); any other's is."""
    original = App.__dict__["create_app"]
    if not isinstance(original, staticmethod):
        raise RuntimeError("Gradio's App.create_app is not a static method any more: "
                           "see page_blocks.py")

    def create_app(target: Any, *args: Any, **kwargs: Any) -> Any:
        return None if target is blocks else original.__func__(target, *args, **kwargs)

    App.create_app = staticmethod(create_app)  # type: ignore[method-assign]
    try:
        yield
    finally:
        App.create_app = original  # type: ignore[method-assign]


class PageSessionState(SessionState):
    """Gradio's session state without its copy of each block's config (only a deep link
    reads it): the session's values and replaced blocks are kept as Gradio keeps them."""

    def __init__(self, blocks: gr.Blocks) -> None:
        # Gradio renders the config of each of `blocks.blocks` into the copy: none here
        without_blocks = SimpleNamespace(default_config=blocks.default_config, blocks={})
        super().__init__(without_blocks)  # type: ignore[arg-type]

    def __setitem__(self, key: int, value: Any) -> None:
        # Gradio's, without rendering the block's config afterwards
        block = self.blocks_config.blocks.get(key)
        if isinstance(block, gr.State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value

    def _update_config(self, key: int) -> None:
        pass

    def _update_value_in_config(self, key: int, value: Any) -> None:
        pass


class PageStateHolder(StateHolder):
    """Gradio's sessions, each a `PageSessionState`."""

    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = PageSessionState(self.blocks)
        return super().__getitem__(session_id)


@contextmanager
def light_sessions(blocks: gr.Blocks) -> Iterator[None]:
    """The FastAPI app Gradio builds for `blocks` keeps its sessions in a `PageStateHolder`."""
    original = App.__dict__["create_app"]

    def create_app(target: Any, *args: Any, **kwargs: Any) -> Any:
        app = original.__func__(target, *args, **kwargs)
        if target is blocks and app is not None:
            app.state_holder = PageStateHolder()
            app.state_holder.set_blocks(blocks)
        return app

    App.create_app = staticmethod(create_app)  # type: ignore[method-assign]
    try:
        yield
    finally:
        App.create_app = original  # type: ignore[method-assign]


class PageBlocks(gr.Blocks):
    # the states some event follows the change of (Gradio searches every event for each
    # state an event sets, at each step of it)
    _watched_states: frozenset[int] | None = None

    def launch(self, *args: Any, **kwargs: Any) -> Any:
        with light_sessions(self):
            return super().launch(*args, **kwargs)

    def __exit__(self, exc_type: type[BaseException] | None = None, *args: Any) -> None:
        if exc_type is None:
            hide_progress_everywhere(self.fns.values())
        with served_by_launch_only(self):
            super().__exit__(exc_type, *args)

    def queue(self, *args: Any, **kwargs: Any) -> PageBlocks:
        with served_by_launch_only(self):
            super().queue(*args, **kwargs)
        tune_queue(self._queue)
        return self

    async def process_api(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        request = kwargs.get("request", args[_REQUEST_ARGUMENT]
                             if len(args) > _REQUEST_ARGUMENT else None)
        if isinstance(request, list):  # a batched event: one visitor's page each
            request = request[0] if request else None
        event_data = kwargs.get("event_data", args[_EVENT_DATA_ARGUMENT]
                                if len(args) > _EVENT_DATA_ARGUMENT else None)
        if isinstance(event_data, EventData):
            event_data._data = sent_event_data(event_data._data)
        with answering(request):
            return await super().process_api(*args, **kwargs)

    def get_state_ids_to_track(self, block_fn: BlockFunction, state: Any
                               ) -> tuple[list[int], list]:
        if state is None:
            return [], []
        fns = state.blocks_config.fns
        if fns.keys() != self.fns.keys():  # a session with events of its own
            return super().get_state_ids_to_track(block_fn, state)
        if self._watched_states is None:
            self._watched_states = frozenset(block_id for fn in self.fns.values()
                                             for block_id, event in fn.targets
                                             if event == "change")
        tracked = [block._id for block in block_fn.outputs
                   if block.stateful and block._id in self._watched_states]
        return tracked, [deep_hash(state[block_id]) for block_id in tracked]

    async def preprocess_data(self, block_fn: BlockFunction, inputs: list[Any], state: Any,
                              explicit_call: bool = False) -> Any:
        blocks = list(block_fn.inputs)
        if not block_fn.batch and isinstance(inputs, list) and len(inputs) < len(blocks):
            # Gradio's own check raises a ValueError: a traceback in the log and, for the
            # caller, an error with no text
            raise toasts.error(Msg("event.too_few_values", needed=len(blocks), got=len(inputs)))
        if isinstance(inputs, list):
            for i, (block, value) in enumerate(zip(blocks, inputs, strict=False)):
                refuse_malformed = getattr(block, "refuse_malformed", None)
                if refuse_malformed is not None and i not in block_fn.component_prop_inputs:
                    refuse_malformed(value)
        if not block_fn.preprocess or block_fn.component_prop_inputs or state is None \
                or not isinstance(inputs, list) or len(inputs) != len(blocks):
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        plain = [i for i, block in enumerate(blocks) if type(block) in PLAIN_VALUES]
        if len(plain) < 2:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        values: list[Any] = [None] * len(blocks)
        for i in plain:
            block = state[blocks[i]._id] if blocks[i]._id in state else blocks[i]
            try:
                values[i] = block.preprocess(inputs[i])
            except gr.Error:
                raise
            except Exception:  # noqa: BLE001 - Gradio's own path words the refusal
                return await super().preprocess_data(block_fn, inputs, state, explicit_call)
            if block._id not in state:  # as Gradio keeps it
                state[block._id] = block
        rest = sorted(set(range(len(blocks))) - set(plain))
        if rest:
            others = copy.copy(block_fn)
            others.inputs = [blocks[i] for i in rest]
            done = await super().preprocess_data(others, [inputs[i] for i in rest], state,
                                                 explicit_call)
            for i, value in zip(rest, done, strict=True):
                values[i] = value
        return values

    async def postprocess_data(self, block_fn: BlockFunction, predictions: list | dict,
                               state: Any) -> list[Any]:
        outputs = list(block_fn.outputs)
        if block_fn.batch or block_fn.is_validator_function or len(outputs) < 2:
            return await super().postprocess_data(block_fn, predictions, state)
        if isinstance(predictions, dict) and predictions and not is_no_change(predictions):
            predictions = convert_component_dict_to_list(outputs, predictions)
        if not isinstance(predictions, list | tuple) or len(predictions) != len(outputs):
            return await super().postprocess_data(block_fn, predictions, state)
        if state is not None:
            predictions = [as_sent(block, value, state.get(block._id, block))
                           for block, value in zip(outputs, predictions, strict=True)]
        kept = [i for i, (block, value) in enumerate(zip(outputs, predictions, strict=True))
                if block.stateful or not is_no_change(value)]
        answer: list[Any] = [gr.skip() for _ in outputs]
        if state is not None and block_fn.postprocess:
            made = {i: plain_shown(outputs[i], predictions[i], state) for i in kept
                    if is_plain_value(outputs[i], predictions[i])}
            made = {i: value for i, value in made.items() if value is not _UNSHOWN}
            for i, value in made.items():
                answer[i] = value
            kept = [i for i in kept if i not in made]
        if len(kept) == len(outputs):
            return await super().postprocess_data(block_fn, list(predictions), state)
        if kept:
            changed = copy.copy(block_fn)
            changed.outputs = [outputs[i] for i in kept]
            values = [predictions[i] for i in kept]
            done = await super().postprocess_data(
                changed, values if len(kept) > 1 else values[0], state)
            for i, value in zip(kept, done, strict=True):
                answer[i] = value
        return answer
