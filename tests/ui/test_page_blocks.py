"""PageBlocks (webui/ui/page_blocks.py): Gradio's event processing without its waste, with the
same answers. Each case runs Gradio's own `gr.Blocks` next to it on the same event."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from webui.ui.inputs import quiet_choice_refusals
from webui.ui.page_blocks import (
    ANALYTICS_EVENTS_KEPT,
    IDLE_POLL_SECONDS,
    NEVER,
    PageBlocks,
    PageSessionState,
    PageStateHolder,
    as_sent,
    light_sessions,
    sent_event_data,
    served_by_launch_only,
    share_api_schemas,
)


def page(blocks_class: type[gr.Blocks]) -> tuple[gr.Blocks, dict[str, Any]]:
    with blocks_class() as demo:
        parts = {
            "status": gr.Markdown("idle"),
            "gallery": gr.Gallery(columns=1),
            "row": gr.Row(visible=False),
            "steps": gr.Slider(1, 150, value=20, step=1, label="Sampling steps"),
            "sampler": gr.Dropdown(["Euler a", "DPM++ 2M"], value="Euler a", label="Sampler"),
            "prompt": gr.Textbox("a cat"),
            "tiling": gr.Checkbox(False),
            "image": gr.Image(type="filepath"),
            "memory": gr.State(3),
        }
        button = gr.Button("Generate")
        button.click(lambda *a: None, inputs=[parts[k] for k in ("steps", "sampler", "prompt",
                                                                  "tiling", "image", "memory")],
                     outputs=[parts[k] for k in ("status", "gallery", "row", "memory")])
    return demo, parts


def run(coroutine: Any) -> Any:
    """The coroutine on an event loop of its own (a browser test may have left one running
    in this thread)."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, coroutine).result()


def post(demo: gr.Blocks, predictions: Any, state: SessionState | None = None
         ) -> tuple[list[Any], SessionState]:
    state = state or SessionState(demo)
    return run(demo.postprocess_data(demo.fns[0], predictions, state)), state


@pytest.fixture(scope="module")
def pages() -> tuple[tuple[gr.Blocks, dict[str, Any]], tuple[gr.Blocks, dict[str, Any]]]:
    quiet_choice_refusals()
    share_api_schemas()
    return page(PageBlocks), page(gr.Blocks)


def by_kind(pages: Any, make: Any) -> list[Any]:
    """The same answer from PageBlocks and from Gradio's Blocks: `make(parts)`."""
    (ours, our_parts), (gradios, their_parts) = pages
    return [post(ours, make(our_parts))[0], post(gradios, make(their_parts))[0]]


# --- outputs ------------------------------------------------------------------------------------


def test_left_out_outputs_are_no_change_without_rebuilding_them(pages: Any) -> None:
    (demo, parts), _ = pages
    state = SessionState(demo)
    gallery_before = state[parts["gallery"]._id]
    answer, state = post(demo, {parts["status"]: "Done"}, state)
    assert answer[0] == "Done"
    assert answer[1] == {"__type__": "update"} and answer[2] == {"__type__": "update"}
    assert state[parts["gallery"]._id] is gallery_before  # not built again
    assert state[parts["memory"]._id] == 3


def test_the_answer_is_the_one_gradio_gives(pages: Any) -> None:
    cases = [
        lambda p: {p["status"]: "Done"},
        lambda p: {p["status"]: "x", p["row"]: gr.Row(visible=True), p["memory"]: 7},
        lambda p: ["a", gr.skip(), gr.skip(), 5],
        lambda p: {p["gallery"]: gr.Gallery(columns=3), p["status"]: gr.skip()},
        lambda p: gr.skip(),
    ]
    for make in cases:
        ours, gradios = by_kind(pages, make)
        assert ours == gradios


def test_an_update_the_page_already_has_goes_as_no_change_or_as_its_value(pages: Any) -> None:
    (demo, parts), _ = pages
    row, gallery = parts["row"], parts["gallery"]
    # hiding a hidden row changes nothing
    assert as_sent(row, gr.Row(visible=False), row) == gr.skip()
    assert as_sent(row, {"__type__": "update", "visible": False}, row) == gr.skip()
    # showing it is a change
    shown = as_sent(row, gr.Row(visible=True), row)
    assert isinstance(shown, gr.Row) and shown.visible is True  # as given, for Gradio
    # a value with the columns the gallery has is that value
    assert as_sent(gallery, gr.Gallery(value=[], columns=1), gallery) == []
    # the selected picture is the browser's: an update naming it always goes
    reset = gr.Gallery(value=[], columns=1, selected_index=None)
    assert as_sent(gallery, reset, gallery) is reset
    # a property the component does not have is not guessed at
    assert isinstance(as_sent(row, {"__type__": "update", "nonsense": 1}, row), dict)


def test_a_shown_row_hidden_again_follows_the_session(pages: Any) -> None:
    (demo, parts), _ = pages
    state = SessionState(demo)
    answer, state = post(demo, {parts["row"]: gr.Row(visible=True)}, state)
    assert answer[2]["visible"] is True
    answer, state = post(demo, {parts["row"]: gr.Row(visible=True)}, state)
    assert answer[2] == {"__type__": "update"}  # already shown on this page
    answer, state = post(demo, {parts["row"]: gr.Row(visible=False)}, state)
    assert answer[2]["visible"] is False


def progress_page(blocks_class: type[gr.Blocks]) -> tuple[gr.Blocks, list[Any]]:
    with blocks_class() as demo:
        outputs = [gr.Markdown(), gr.HTML(), gr.Textbox(), gr.Number(), gr.Slider(0, 10),
                   gr.Gallery()]
        gr.Button().click(lambda: None, outputs=outputs)
    return demo, outputs


def test_plain_values_shown_are_the_ones_gradio_sends_made_without_a_worker_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ours, our_outputs = progress_page(PageBlocks)
    gradios, _ = progress_page(gr.Blocks)
    cases = [
        ["  step 3 of 20\n  ETA 4 s", "<b>42%</b>", 7, 1.5, 3, gr.skip()],
        [None, None, None, None, None, []],
        [gr.skip(), "<i>x</i>", gr.update(visible=False), gr.skip(), 11, gr.skip()],
        ["", 0, "not a number", "not a number", -1e300, gr.skip()],
    ]
    for case in cases:
        assert post(ours, case)[0] == post(gradios, case)[0]
    # a value the field cannot show is refused by Gradio's path, in its words
    with pytest.raises(gr.exceptions.ComponentProcessingError, match="markdown"):
        post(ours, [True, "ok", "ok", 1, 1, gr.skip()])
    # no thread hop for the plain ones: only the gallery goes to a worker thread
    handed: list[Any] = []
    original = gr.blocks.anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(function, "__self__", function))
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(gr.blocks.anyio.to_thread, "run_sync", counted)
    post(ours, ["a", "b", "c", 1, 2, []])
    assert handed == [our_outputs[-1]]


def test_the_states_tracked_for_a_change_are_the_ones_gradio_tracks() -> None:
    def states_page(blocks_class: type[gr.Blocks]) -> tuple[gr.Blocks, gr.State]:
        with blocks_class() as demo:
            followed, unfollowed, shown = gr.State([1, 2]), gr.State("x"), gr.Markdown()
            followed.change(lambda v: str(v), followed, shown)
            gr.Button().click(lambda: ([3], "y", "z"), outputs=[followed, unfollowed, shown])
        return demo, followed

    (ours, our_followed), (gradios, their_followed) = (states_page(PageBlocks),
                                                       states_page(gr.Blocks))
    for _ in range(2):  # the second from what the first found
        tracked = ours.get_state_ids_to_track(list(ours.fns.values())[-1], SessionState(ours))
        theirs = gradios.get_state_ids_to_track(list(gradios.fns.values())[-1],
                                                SessionState(gradios))
        assert tracked == ([our_followed._id], theirs[1])
        assert theirs[0] == [their_followed._id]
    assert ours.get_state_ids_to_track(list(ours.fns.values())[-1], None) == ([], [])


def test_a_rebuilt_gallery_reuses_its_models_schema() -> None:
    share_api_schemas()
    first = gr.Gallery(render=False).api_info()
    again = gr.Gallery(columns=4, render=False)
    assert again.api_info() is first
    assert gr.Image(render=False).api_info() is not first


# --- inputs -------------------------------------------------------------------------------------


def pre(demo: gr.Blocks, values: list[Any]) -> Any:
    return run(demo.preprocess_data(demo.fns[0], list(values), SessionState(demo)))


def test_plain_inputs_are_checked_as_gradio_checks_them(pages: Any) -> None:
    (ours, _), (gradios, _) = pages
    values = [30, "DPM++ 2M", "a red fox", True, None, None]
    assert pre(ours, values) == pre(gradios, values)


@pytest.mark.parametrize("steps, sampler", [(151, "Euler a"), (20, "Forged sampler"),
                                            ("many", "Euler a")])
def test_a_forged_value_is_refused_as_gradio_refuses_it(
        pages: Any, steps: Any, sampler: Any) -> None:
    (ours, _), (gradios, _) = pages
    values = [steps, sampler, "x", False, None, None]
    with pytest.raises(Exception) as ours_refused:  # noqa: PT011 - compared below
        pre(ours, values)
    with pytest.raises(Exception) as gradios_refused:  # noqa: PT011
        pre(gradios, values)
    assert type(ours_refused.value) is type(gradios_refused.value)
    assert str(ours_refused.value) == str(gradios_refused.value)


def test_too_few_values_are_refused_in_words(pages: Any) -> None:
    """Gradio's own check raised a ValueError: a traceback in the log and, for the caller,
    an error without text."""
    (ours, _), _ = pages
    for values in ([], [30], [30, "Euler a", "x", False, None]):
        with pytest.raises(gr.Error) as refused:
            pre(ours, values)
        assert refused.value.message == f"Not run: this action takes 6 values, it was sent " \
                                     f"{len(values)}."
        assert refused.value.print_exception is False


def test_a_forged_file_given_to_a_text_box_reads_no_file(pages: Any) -> None:
    (ours, _), _ = pages
    forged = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    prompt = pre(ours, [20, "Euler a", forged, False, None, None])[2]
    assert "root:" not in prompt


# --- sessions -----------------------------------------------------------------------------------


def test_a_session_renders_no_block_config_and_answers_as_gradios(
        pages: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gradio renders every block's config for each new session and each changed output
    (for deep links); a PageSessionState renders none, and events answer the same."""
    from gradio.blocks import BlocksConfig

    (demo, parts), _ = pages
    rendered: list[int] = []
    original = BlocksConfig.config_for_block  # a static method
    counted = staticmethod(lambda *a, **k: rendered.append(1) or original(*a, **k))
    monkeypatch.setattr(BlocksConfig, "config_for_block", counted)
    SessionState(demo)
    assert len(rendered) >= len(parts)  # Gradio's: one per block
    gradios = SessionState(demo)
    rendered.clear()
    light = PageSessionState(demo)
    changes = {parts["status"]: "x", parts["gallery"]: gr.Gallery(columns=3),
               parts["row"]: gr.Row(visible=True), parts["memory"]: 7}
    monkeypatch.setattr(BlocksConfig, "config_for_block", staticmethod(original))
    values = [30, "DPM++ 2M", "a red fox", True, None, None]
    expected, _ = post(demo, changes, gradios)
    expected_inputs = run(demo.preprocess_data(demo.fns[0], values, gradios))
    monkeypatch.setattr(BlocksConfig, "config_for_block", counted)
    answer, _ = post(demo, changes, light)
    inputs = run(demo.preprocess_data(demo.fns[0], values, light))
    assert rendered == [] and answer == expected and inputs == expected_inputs
    assert inputs[-1] == 7  # the State's value this session set
    # what the session keeps is Gradio's: the new gallery, the row shown, the State's value
    for key in (parts["gallery"]._id, parts["row"]._id, parts["memory"]._id):
        assert type(light[key]) is type(gradios[key])
    assert light[parts["gallery"]._id].columns == 3 and light[parts["memory"]._id] == 7
    assert light._state_ttl.keys() == gradios._state_ttl.keys()
    assert list(light.components) == []


def test_the_launched_app_keeps_light_sessions() -> None:
    from gradio.routes import App

    demo, _ = page(PageBlocks)
    with light_sessions(demo):
        app = App.create_app(demo)
        other = App.create_app(page(gr.Blocks)[0])
    assert isinstance(app.state_holder, PageStateHolder) and demo.state_holder is app.state_holder
    assert isinstance(app.state_holder["a-session"], PageSessionState)
    assert type(other.state_holder) is not PageStateHolder


# --- the queue ----------------------------------------------------------------------------------


def test_gradios_app_is_built_by_launch_only() -> None:
    """Leaving the blocks and queue() build no FastAPI app for them (launch() builds the one
    that serves: the browser and reliability tests use it); any other blocks' is built."""
    from gradio.routes import App

    demo, _ = page(PageBlocks)
    demo.queue()
    assert demo.app is None
    other, _ = page(gr.Blocks)
    assert isinstance(other.app, App)
    with served_by_launch_only(demo):
        assert isinstance(App.create_app(other), App)
        assert App.create_app(demo) is None
    assert isinstance(App.create_app(demo), App)  # as Gradio's again once left


def test_the_queue_polls_calmly_and_keeps_no_monitoring_summary() -> None:
    demo, _ = page(PageBlocks)
    demo.queue()
    queue = demo._queue
    assert queue.sleep_when_free >= IDLE_POLL_SECONDS
    assert queue.ANAYLTICS_CACHE_FREQUENCY == NEVER
    assert queue.ANALYTICS_MAX_EVENTS == ANALYTICS_EVENTS_KEPT


def test_an_event_that_shows_no_progress_names_no_component_to_show_it_on() -> None:
    """Gradio's page updates the loading status of every component an event ever showed
    progress on, at each status message of any event: the app's load event alone has 186
    outputs. An event whose progress is hidden names none (and one that shows it keeps
    its outputs)."""
    with PageBlocks() as demo:
        boxes = [gr.Textbox() for _ in range(3)]
        hidden = demo.load(lambda: ("a", "b", "c"), outputs=boxes, show_progress="hidden")
        shown = boxes[0].change(lambda a: a, inputs=boxes[0], outputs=boxes[1])
        chosen = boxes[1].change(lambda a: a, inputs=boxes[1], outputs=boxes[2],
                                 show_progress="hidden", show_progress_on=boxes[0])
    config = {d["id"]: d for d in demo.get_config_file()["dependencies"]}
    assert config[hidden["id"]]["show_progress_on"] == []
    assert config[shown["id"]]["show_progress_on"] is None  # its outputs, as Gradio does
    assert config[chosen["id"]]["show_progress_on"] == [boxes[0]._id]


@pytest.mark.parametrize("sent", [None, "x", 3, [], {"value": 1}, {"index": 2}])
def test_a_scripted_events_data_reads_as_a_select(sent: Any) -> None:
    """A script calling a .select endpoint sends no event data (or junk): Gradio's SelectData
    is then built without failing, index None, and the handler answers."""
    data = sent_event_data(sent)
    event = gr.SelectData(None, data)
    assert event.index == (sent.get("index") if isinstance(sent, dict) else None)


@pytest.mark.parametrize("forged", ["/etc/passwd", 7, ["x"], {"path": 3}])
def test_a_file_field_sent_the_wrong_shape_is_refused_by_its_label(forged: Any) -> None:
    """Gradio's own data model check raised a pydantic error (a traceback in the log, "an
    exception" for the caller); the field refuses it by its label first."""
    from webui.ui.inputs import GuardedImage

    with PageBlocks() as demo:
        image = GuardedImage(label="Control image", type="filepath")
        out = gr.Textbox()
        gr.Button().click(lambda path: str(path), image, out)
    with pytest.raises(gr.Error, match="Control image: not a readable image"):
        run(demo.preprocess_data(demo.fns[0], [forged], SessionState(demo)))
    assert run(demo.preprocess_data(demo.fns[0], [None], SessionState(demo))) == [None]


@pytest.mark.parametrize("forged", [
    {}, {"path": None, "meta": {"_type": "gradio.FileData"}},
    {"path": None, "url": "https://example.com/x.png", "meta": {"_type": "gradio.FileData"}}])
def test_file_data_naming_no_file_is_refused_by_its_label(forged: Any) -> None:
    """File data with no path (none at all, or a URL alone) passes Gradio's model, then its
    preprocess raised "Image path is None" (a traceback, "an exception" for the caller)."""
    from webui.ui.inputs import GuardedImage

    with PageBlocks() as demo:
        image = GuardedImage(label="Source", type="filepath")
        gr.Button().click(lambda path: str(path), image, gr.Textbox())
    with pytest.raises(gr.Error, match="Source: not a readable image"):
        run(demo.preprocess_data(demo.fns[0], [forged], SessionState(demo)))
