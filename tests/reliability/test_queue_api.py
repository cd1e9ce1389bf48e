"""The non-blocking Generate, its follower, the confirmation row, the queue strip's "Stop
following" and the Script dropdown, attacked through Gradio's public API (`gradio_client`,
raw /queue/join for the strip's event data) as a scripted visitor would: forged batch and
task ids, another visitor's ids, hostile script values, floods. Passing tests document a
defence; a failing one names the bug in its assert message."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

import webui.ui.toasts as toasts
from tests.helpers.gradio_api import PageApi
from tests.reliability.test_shared_space import CHECKPOINT, app_owner, free_port, load
from webui.api.models import MAX_PROMPT_CHARS
from webui.core.limits import Limits, Quota
from webui.core.runtime import Settings
from webui.ui.app import Access, Launched, launch

XYZ = "X/Y/Z plot"
DYNAMIC = "Dynamic prompts (all combinations)"
FROM_FILE = "Prompts from file or textbox"


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Launched, PageApi]]:
    root = tmp_path_factory.mktemp("queue-api")
    limits = Limits(visitor=Quota(concurrent_tasks=2, list_calls_per_minute=60),
                    address=Quota(concurrent_tasks=4), new_visitors_per_hour=200,
                    new_sessions_per_hour=2000)
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=0.05)
    launched = launch(settings, port=free_port(), quiet=True, access=Access(limits=limits))
    yield launched, PageApi(launched.url)
    launched.close()


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every toast warning the app shows (the app runs in this process)."""
    seen: list[str] = []
    original = toasts.warn

    def spy(text: object, duration: float | None = 10) -> None:
        seen.append(str(text))
        original(text, duration)

    monkeypatch.setattr(toasts, "warn", spy)
    return seen


def gen_args(api: PageApi, token: Any, prompt: str = "a cat", last: Any = "",
             **extra: Any) -> list[Any]:
    return api.args("generate", {"zhiqite_visitor": token, "zhiqite_last_tasks": last,
                                 "zq_checkpoint": CHECKPOINT, "txt2img_prompt": prompt,
                                 "txt2img_steps": 150, "txt2img_width": 512,
                                 "txt2img_height": 512, **extra})


def visitor(api: PageApi) -> tuple[Any, str]:
    client = api.client()
    return client, load(api, client)["zhiqite_visitor"]


def generate(api: PageApi, client: Any, token: str, prompt: str = "a cat",
             **extra: Any) -> tuple[dict[str, Any] | str, float]:
    """One Generate: its outputs by name (or the client's error), and how long it took."""
    started = time.monotonic()
    try:
        result: dict[str, Any] | str = api.outputs(
            "generate", client.predict(*gen_args(api, token, prompt, **extra),
                                       api_name="/generate"))
    except Exception as error:  # the client's AppError: what Gradio refused
        result = f"{type(error).__name__}: {error}"
    return result, time.monotonic() - started


def tracebacks(err: str) -> list[str]:
    """Tracebacks in the log, by their last line."""
    blocks = err.split("Traceback (most recent call last):")[1:]
    return [next((ln for ln in reversed(b.strip().splitlines()) if ln.strip()), "")
            for b in blocks]


def started(app: Launched) -> int:
    return app.runtime.offline.stats.tasks_started


def service(app: Launched) -> Any:
    import gc

    from webui.core.submission import SubmissionService
    found = [o for o in gc.get_objects() if isinstance(o, SubmissionService)
             and o.store is app.runtime.store]
    return found[0]


# --- another visitor's batches and tasks -------------------------------------------------------


def test_forged_ids_given_to_followers_show_nothing_of_another_visitor(
        space: tuple[Launched, PageApi]) -> None:
    app, api = space
    alice, atok = visitor(api)
    result, _ = generate(api, alice, atok, "alice secret lighthouse")
    assert isinstance(result, dict)
    alice_last = result["zhiqite_last_tasks"]
    batch_id = json.loads(alice_last)["txt2img"]
    owner = app_owner(app, atok.split(".")[0])
    task_ids = [r.id for r in app.runtime.store.list(owner, limit=10)]
    assert task_ids

    mallory, mtok = visitor(api)
    forged_values = [
        alice_last,
        json.dumps({tab: batch_id for tab in ("txt2img", "img2img", "Extras", "Face swap")}),
        json.dumps({"txt2img": task_ids[0], "img2img": ",".join(task_ids * 300)}),
        json.dumps({"txt2img": "x" * 19_999}),
        {"txt2img": batch_id},
        [batch_id],
    ]
    # txt2img, img2img, Extras and Face swap followers: one per results panel (a twin after
    # the confirmation runs the same code)
    by_outputs: dict[tuple[int, ...], str] = {}
    for dep in api.config["dependencies"]:
        name = dep.get("api_name")
        if isinstance(name, str) and re.fullmatch(r"follow(_\d+)?", name):  # not followup_*
            by_outputs.setdefault(tuple(sorted(dep["outputs"])), name)
    followers = list(by_outputs.values())
    assert len(followers) == 4, followers
    for name in followers:
        for forged in forged_values:
            for token in (mtok,) if forged is not alice_last else (mtok, atok.split(".")[0]):
                job = mallory.submit(*api.args(name, {"zhiqite_visitor": token,
                                                      "zhiqite_last_tasks": forged}),
                                     api_name="/" + name)
                job.result(timeout=30)
                shown = str(list(job.outputs()))
                assert "lighthouse" not in shown and batch_id not in shown, (name, shown[:300])
                assert not any(t in shown for t in task_ids), (name, shown[:300])


def stop_raw(api: PageApi, token: Any, task_id: Any) -> list[dict[str, Any]]:
    """The queue strip's click, as its script sends it: trigger('click', {stop: id})."""
    dep = next(d for d in api.config["dependencies"] if d.get("api_name") == "stop")
    session = secrets.token_hex(6)
    body = {"data": [token], "event_data": {"stop": task_id}, "fn_index": dep["id"],
            "trigger_id": dep["targets"][0][0], "session_hash": session}
    assert requests.post(api.url + "gradio_api/queue/join", json=body,
                         timeout=10).status_code == 200
    messages = []
    with requests.get(api.url + f"gradio_api/queue/data?session_hash={session}",
                      stream=True, timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith(b"data:"):
                message = json.loads(line[5:])
                messages.append(message)
                if message.get("msg") in ("process_completed", "close_stream"):
                    break
    return messages


def test_stop_following_another_visitors_task_changes_nothing(
        space: tuple[Launched, PageApi], capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    app, api = space
    # Alice's task must outlast the 21 forged stops on a loaded machine (150 steps of 50 ms
    # each here, 7.5 s), or the control below would find it finished and stop nothing
    monkeypatch.setattr(app.runtime.offline.config, "step_seconds", 1.0)
    alice, atok = visitor(api)
    result, _ = generate(api, alice, atok, "alice's slow task", txt2img_steps=150)
    assert isinstance(result, dict)
    alice_id = atok.split(".")[0]
    owner = app_owner(app, alice_id)
    active = [r.id for r in app.runtime.store.active(owner)]
    assert active, "Alice's task should still run"
    submissions = service(app)

    _, mtok = visitor(api)
    for forged in (active[0], active[0] + "," + active[0], {"id": active[0]}, ["x"],
                   "x" * 10_000, None, 1e308):
        for token in (mtok, alice_id, None):
            answer = stop_raw(api, token, forged)
            assert answer[-1].get("success", True), answer[-1]
            assert "alice" not in json.dumps(answer[-1]).lower()
    assert submissions.stopped(owner) == set()
    assert [r.id for r in submissions.queue(alice_id)] == active

    # the control: Alice's own click does stop following it
    assert not app.runtime.store.get(active[0], owner).is_final, "the task ended too soon"
    stop_raw(api, atok, active[0])
    assert active[0] in submissions.stopped(owner)
    assert not tracebacks(capfd.readouterr().err)
    # the task runs on (the service has no cancel): let it end before the next test's limits
    deadline = time.monotonic() + 30
    while app.runtime.store.active(owner) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_send_with_no_pending_plan_or_as_another_visitor_sends_nothing(
        space: tuple[Launched, PageApi], warned: list[str]) -> None:
    app, api = space
    alice, atok = visitor(api)
    # a 20-cell plot is above the default confirmation threshold (16 images): it waits
    result, _ = generate(api, alice, atok, txt2img_script=XYZ, txt2img_xyz_x_type="Seed",
                         txt2img_xyz_x_values="1-20")
    assert isinstance(result, dict) and "Send it?" in str(result.get("txt2img_confirm_text"))
    before = started(app)
    mallory, mtok = visitor(api)
    for name in ("confirm", "confirm_1"):
        for token in (mtok, atok.split(".")[0], None, "", ["x"], {"a": 1}):
            mallory.predict(*api.args(name, {"zhiqite_visitor": token,
                                             "zhiqite_last_tasks": ""}), api_name="/" + name)
    time.sleep(0.3)
    assert started(app) == before
    assert not warned, warned  # nothing was even tried
    # Alice's own Send still finds her plan (refused whole here: 20 > 2 at once)
    alice.predict(*api.args("confirm", {"zhiqite_visitor": atok, "zhiqite_last_tasks": ""}),
                  api_name="/confirm")
    assert any("20 tasks at once" in w for w in warned), warned
    assert started(app) == before


# --- limits -----------------------------------------------------------------------------------


def test_a_fan_out_over_the_concurrent_limit_is_refused_whole(
        space: tuple[Launched, PageApi], warned: list[str]) -> None:
    app, api = space
    client, token = visitor(api)
    before = started(app)
    result, took = generate(api, client, token, txt2img_script=XYZ,
                            txt2img_xyz_x_type="Seed", txt2img_xyz_x_values="1,2,3,4,5")
    time.sleep(0.3)
    assert started(app) == before, "a refused fan-out started tasks"
    assert any("5 tasks at once" in w and "at most 2 task(s) at once per visitor" in w
               for w in warned), warned
    assert took < 3


def test_rapid_generates_stay_within_the_concurrent_limit(
        space: tuple[Launched, PageApi]) -> None:
    app, api = space
    client, token = visitor(api)
    owner = app_owner(app, token.split(".")[0])
    most, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            most[0] = max(most[0], len(app.runtime.store.active(owner)))
            time.sleep(0.005)

    # 10 sessions of the same visitor, 6 Generates each back to back: one gradio_client session
    # with many calls in flight loses a call now and then on its own (its event stream closes
    # between two calls: CancelledError), which is the client's, not the page's
    senders = [client] + [api.client() for _ in range(9)]
    for sender in senders[1:]:  # the visitor's page in other tabs: same id, their own lists
        load(api, sender, token)

    def send(sender: Any, first: int) -> int:
        for n in range(first, first + 6):
            sender.predict(*gen_args(api, token, f"flood {n}"), api_name="/generate")
        return 6

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        sent = sum(pool.map(send, senders, range(0, 60, 6)))
    done.set()
    sampler.join()
    assert sent == 60
    assert 1 <= most[0] <= 2, most[0]


# --- hostile script values --------------------------------------------------------------------

REFUSED_BY_THE_HANDLER = {
    "x values of 1 MB": dict(txt2img_script=XYZ, txt2img_xyz_x_values="1," * 500_000),
    "10,000 comma values": dict(txt2img_script=XYZ,
                                txt2img_xyz_x_values=",".join(map(str, range(10_000)))),
    "a range of 100,000,000": dict(txt2img_script=XYZ,
                                   txt2img_xyz_x_values="1-100000000 [100000000]"),
    "x values a list": dict(txt2img_script=XYZ, txt2img_xyz_x_values=["1", "2"]),
    "legend a list": dict(txt2img_script=XYZ, txt2img_xyz_x_values="1",
                          txt2img_xyz_draw_legend=[1]),
    "script a list": dict(txt2img_script=[XYZ]),
    "5,000 prompt lines": dict(txt2img_script=FROM_FILE,
                               txt2img_prompts_list="a cat\n" * 5000),
    "2^20 expansions": dict(txt2img_script=DYNAMIC, prompt="{a|b}" * 20),
    "wildcard traversal": dict(prompt="__../../etc/passwd__ cat"),
    "wildcard traversal, dynamic": dict(txt2img_script=DYNAMIC,
                                        prompt="__../../etc/passwd__ {a|b}"),
    "wildcard absolute": dict(prompt="__/etc/passwd__ cat"),
}


@pytest.mark.parametrize("case", list(REFUSED_BY_THE_HANDLER))
def test_hostile_script_values_are_refused_quickly(
        space: tuple[Launched, PageApi], warned: list[str],
        capfd: pytest.CaptureFixture[str], case: str) -> None:
    app, api = space
    client, token = visitor(api)
    values = dict(REFUSED_BY_THE_HANDLER[case])
    prompt = values.pop("prompt", "a cat")
    before = started(app)
    result, took = generate(api, client, token, prompt, **values)
    assert isinstance(result, dict), result
    assert started(app) == before
    assert warned, "refused without saying why"
    assert "root:" not in " ".join(warned)  # no file content echoed
    assert took < 2, f"{case}: {took:.1f} s"
    assert not tracebacks(capfd.readouterr().err)


REFUSED_BY_GRADIO = {
    "unknown script": dict(txt2img_script="../../evil"),
    "axis type a dict": dict(txt2img_script=XYZ, txt2img_xyz_x_type={"a": 1}),
    "margin 1e308": dict(txt2img_script=XYZ, txt2img_xyz_x_values="1",
                         txt2img_xyz_margin=1e308),
    "max generations negative": dict(txt2img_script=DYNAMIC,
                                     txt2img_dynamic_max_generations=-5),
}


@pytest.mark.parametrize("case", list(REFUSED_BY_GRADIO))
def test_values_a_control_cannot_send_are_refused_before_the_handler(
        space: tuple[Launched, PageApi], case: str) -> None:
    app, api = space
    client, token = visitor(api)
    before = started(app)
    result, took = generate(api, client, token, **REFUSED_BY_GRADIO[case])
    assert isinstance(result, str) and "AppError" in result, result
    assert started(app) == before and took < 2


def test_a_forged_dropdown_value_leaves_no_traceback_in_the_log(
        space: tuple[Launched, PageApi], capfd: pytest.CaptureFixture[str]) -> None:
    """Gradio's own choice check refuses it, and prints a full traceback each time: a
    scripted client can flood the log with them."""
    app, api = space
    client, token = visitor(api)
    capfd.readouterr()
    for _ in range(3):
        generate(api, client, token, txt2img_script="../../evil")
    found = tracebacks(capfd.readouterr().err)
    assert not found, (f"BUG: {len(found)} tracebacks logged for 3 forged Script values "
                       f"(Gradio's Dropdown.preprocess check, e.g. {found[0]!r}); the project "
                       "must keep such refusals out of the log (a logging filter, or "
                       "allow_custom_value=True and its own check, as scripts.py has)")


def test_deeply_nested_braces_are_refused_not_a_traceback(
        space: tuple[Launched, PageApi], warned: list[str],
        capfd: pytest.CaptureFixture[str]) -> None:
    app, api = space
    client, token = visitor(api)
    for script in ("None", DYNAMIC):
        result, _ = generate(api, client, token, "{" * 600 + "a" + "}" * 600,
                             txt2img_script=script)
        err = capfd.readouterr().err
        assert isinstance(result, dict) and not tracebacks(err), (
            f"BUG ({script}): a prompt of 600 nested {{...}} raises RecursionError in "
            "wildcards.parse_template (sequence()/variant() recurse per level, no depth "
            f"bound): the client got {str(result)[:120]!r}, the log {tracebacks(err)}")


def test_counting_a_dynamic_template_is_bounded_in_time(
        space: tuple[Launched, PageApi], warned: list[str]) -> None:
    app, api = space
    client, token = visitor(api)
    template = "{1-$$" + "|".join("a" * 450) + "}"  # 905 characters of the 8000 allowed
    result, took = generate(api, client, token, template, txt2img_script=DYNAMIC)
    assert isinstance(result, dict)
    assert took < 1.0, (
        f"BUG: a {len(template)}-character {{1-$$a|a|...}} template took {took:.1f} s to be "
        "refused: wildcards._count_seq sums _elementary(counts, k) for every k in low..high, "
        "O(n^3) big-int work for n options; at 8000 characters (~4000 options) it is "
        "~1000x longer, on a handler with no concurrency limit")


def test_a_range_pattern_is_not_quadratic(space: tuple[Launched, PageApi],
                                          warned: list[str]) -> None:
    app, api = space
    client, token = visitor(api)
    value = "1 -" + " " * 16_000 + "x"  # within the box's 16 KB
    result, took = generate(api, client, token, txt2img_script=XYZ,
                            txt2img_xyz_x_type="Steps", txt2img_xyz_x_values=value)
    assert isinstance(result, dict) and warned
    assert took < 1.0, (
        f"BUG: one X values box of '1 -<16000 spaces>x' took {took:.1f} s: RE_RANGE and "
        "RE_RANGE_COUNT in core/scripts/xyz.py have adjacent '\\s*' (after '-' and inside "
        "_INT's '[+-]?\\s*'), quadratic backtracking; X, Y and Z together triple it")


def peak_during(call: Any) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_prompt_sr_builds_no_prompt_past_the_limit(space: tuple[Launched, PageApi],
                                                  warned: list[str]) -> None:
    app, api = space
    client, token = visitor(api)
    (result, took), peak = peak_during(lambda: generate(
        api, client, token, "a" * MAX_PROMPT_CHARS, txt2img_script=XYZ,
        txt2img_xyz_x_type="Prompt S/R", txt2img_xyz_x_values="a," + "a" * 16_000,
        txt2img_xyz_y_type="Prompt S/R", txt2img_xyz_y_values="a,a"))
    assert isinstance(result, dict) and warned
    assert peak < 64, (
        f"BUG: a 4-cell Prompt S/R plot peaked at {peak:.0f} MB: xyz.Axis._prompt_sr "
        "replaces every match before any length check (8000 x 16000 = 128M characters per "
        "cell); with Y of 128 values (256 cells) that is ~16 GB. Refuse a replaced prompt "
        "longer than MAX_PROMPT_CHARS before building it (count matches x len(value))")


def test_axis_ranges_are_bounded_before_they_are_expanded(
        space: tuple[Launched, PageApi], warned: list[str]) -> None:
    app, api = space
    client, token = visitor(api)
    value = ",".join(["1-1000"] * 2285)  # 15,994 characters of the 16 KB allowed
    (result, took), peak = peak_during(lambda: generate(
        api, client, token, txt2img_script=XYZ, txt2img_xyz_x_type="Seed",
        txt2img_xyz_x_values=value))
    assert isinstance(result, dict) and warned
    assert peak < 32, (
        f"BUG: one X values box of {value.count(',') + 1} '1-1000' ranges expanded to "
        f"~2.3M values ({peak:.0f} MB, {took:.1f} s) before the 256-cell check: each range "
        "is capped at 1024 (xyz._check_size) but not their sum; parse_axis should stop "
        "past MAX_CELLS values (three boxes, and the generate handler has no concurrency "
        "limit)")


def test_a_plain_generate_template_is_still_fine(space: tuple[Launched, PageApi],
                                                 warned: list[str]) -> None:
    """The control: a small `{a|b}` prompt and a small plot go through."""
    app, api = space
    client, token = visitor(api)
    before = started(app)
    result, _ = generate(api, client, token, "a {red|blue} cat")
    assert isinstance(result, dict) and not warned, warned
    assert started(app) == before + 1
