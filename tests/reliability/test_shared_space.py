"""A shared Space attacked through Gradio's public API (`gradio_client`, raw HTTP), as the
audit of issue 17 did: forged and minted visitor ids, 30 generates at once, unlimited list
calls, a remembered key read with the public BrowserState secret, password guessing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers.gradio_api import PageApi
from webui.core.limits import Limits, Quota
from webui.core.runtime import Settings
from webui.ui.app import Access, Launched, launch
from webui.ui.context import NO_VISITOR

CHECKPOINT = "photon_v1_84728.safetensors"
OWN_KEY = "OWNKEY0123456789abcdef0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(root: Path, access: Access) -> Launched:
    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs",
                        backend="offline", offline_time_scale=0.05)
    return launch(settings, port=free_port(), quiet=True, access=access)


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Launched, PageApi]]:
    limits = Limits(visitor=Quota(concurrent_tasks=2, list_calls_per_minute=3),
                    address=Quota(concurrent_tasks=4), new_visitors_per_hour=6,
                    new_sessions_per_hour=40, upload_mb_per_hour=8)
    launched = start(tmp_path_factory.mktemp("space"), Access(limits=limits))
    yield launched, PageApi(launched.url)
    launched.close()


def load(api: PageApi, client: Any, visitor: Any = None, saved_keys: str = "") -> dict[str, Any]:
    job = client.submit(*api.args("on_load", {"zhiqite_visitor": visitor,
                                              "zhiqite_last_tasks": "",
                                              "zhiqite_keys": saved_keys}),
                        api_name="/on_load")
    return api.streamed("on_load", job)


def generate_args(api: PageApi, visitor: Any, prompt: str) -> list[Any]:
    return api.args("generate", {"zhiqite_visitor": visitor, "zhiqite_last_tasks": "",
                                 "zq_checkpoint": CHECKPOINT, "txt2img_prompt": prompt,
                                 "txt2img_steps": 150, "txt2img_width": 512,
                                 "txt2img_height": 512})


def test_forged_and_minted_ids_are_not_honoured(space: tuple[Launched, PageApi]) -> None:
    app, api = space
    alice = api.client()
    token = load(api, alice)["zhiqite_visitor"]
    visitor_id = token.split(".")[0]
    assert app.runtime.keys.visitor_from_token(token) == visitor_id
    alice.predict(*generate_args(api, token, "alice's secret lighthouse"), api_name="/generate")
    assert app.runtime.store.count(app_owner(app, visitor_id)) == 1

    mallory = api.client()
    for forged in (visitor_id, f"{visitor_id}.{'0' * 32}", "minted-visitor-0123456789",
                   token.replace(visitor_id, "minted-visitor-0123456789")):
        listing = api.outputs("listing", mallory.predict(
            *api.args("listing", {"zhiqite_visitor": forged}), api_name="/listing"))
        shown = str(listing)
        assert "alice" not in shown and "lighthouse" not in shown
    # the forged ids made no visitor of their own: Mallory acts as her own session only
    assert app.runtime.store.count(app_owner(app, "minted-visitor-0123456789")) == 0


def app_owner(app: Launched, visitor: str) -> str:
    return app.runtime.keys.owner(visitor, app.runtime.client.auth.secrets)


def test_many_generates_at_once_are_bounded(space: tuple[Launched, PageApi]) -> None:
    """30 concurrent generates from one visitor: only as many as the limit start."""
    app, api = space
    client = api.client()
    token = load(api, client)["zhiqite_visitor"]
    owner = app_owner(app, token.split(".")[0])
    before = app.runtime.offline.stats.tasks_started
    with ThreadPoolExecutor(max_workers=10) as pool:
        jobs = list(pool.map(lambda n: client.submit(*generate_args(api, token, f"flood {n}"),
                                                     api_name="/generate"), range(30)))
    for job in jobs:
        job.result(timeout=120)
    assert app.runtime.store.count(owner) == 2  # concurrent_tasks=2 per visitor
    assert app.runtime.offline.stats.tasks_started - before <= 2


def test_new_sessions_per_address_are_bounded(space: tuple[Launched, PageApi]) -> None:
    """Minting visitors by opening new sessions: an address gets a few an hour."""
    app, api = space
    answers = []
    for n in range(8):
        # what a client writes in X-Forwarded-For is not its address (no proxy is trusted)
        client = api.client(headers={"X-Forwarded-For": f"10.1.2.{n}"})
        answers.append(client.predict(*api.args("test", {"zhiqite_visitor": None}),
                                      api_name="/test"))
    refused = [a for a in answers if a == str(NO_VISITOR)]
    assert len(refused) >= 2, answers  # 6 an hour, and the tests above opened some
    assert all(a.startswith(("Connection works", "Not tested")) for a in answers
               if a != str(NO_VISITOR))


def test_test_connection_is_rate_limited(tmp_path: Path) -> None:
    app = start(tmp_path, Access(limits=Limits(visitor=Quota(list_calls_per_minute=3))))
    try:
        api = PageApi(app.url)
        client = api.client()
        token = load(api, client)["zhiqite_visitor"]
        calls = app.runtime.offline.stats.calls
        before = calls.get("query_models", 0)
        answers = [client.predict(*api.args("test", {"zhiqite_visitor": token}),
                                  api_name="/test") for _ in range(10)]
        assert sum(a.startswith("Connection works") for a in answers) == 3
        assert all(a.startswith("Not tested: at most 3 list call(s) a minute") for a in answers[3:])
        after = calls.get("query_models", 0)
        assert after - before == 3  # the refused ones made no billed call
    finally:
        app.close()


def test_a_remembered_key_is_sealed_by_the_server(tmp_path: Path) -> None:
    """The BrowserState secret is in every page's /config; what is stored with it must not
    give the key away."""
    app = start(tmp_path, Access())
    try:
        sealed_key_round_trip(app, PageApi(app.url))
    finally:
        app.close()


def sealed_key_round_trip(app: Launched, api: PageApi) -> None:
    config = requests.get(app.url + "/config", timeout=10).text
    assert app.runtime.keys.browser_secret() in config  # public, as Gradio does it
    client = api.client()
    token = load(api, client)["zhiqite_visitor"]
    used = api.outputs("use", client.predict(*api.args("use", {
        "zhiqite_visitor": token, "settings_remember": True, "settings_appcode": OWN_KEY}),
        api_name="/use"))
    kept = used["zhiqite_keys"]
    assert kept.startswith("z1.") and OWN_KEY not in kept and OWN_KEY[:8] not in kept
    # the page comes back (a new session, same browser storage): the key is in use again
    again = api.client()
    restored = load(api, again, token, kept)
    assert "**your own key**" in str(restored.get("settings_key_status")), restored.keys()
    # another visitor with a copy of that storage value gets nothing
    other = api.client()
    stolen = load(api, other, None, kept)
    assert "**your own key**" not in str(stolen.get("settings_key_status"))


def test_login_is_throttled(tmp_path: Path) -> None:
    app = start(tmp_path, Access(auth=("zhiqite", "correct horse battery")))
    try:
        statuses = [requests.post(app.url + "/login", data={"username": "zhiqite",
                                                             "password": f"guess{n}"},
                                  timeout=10).status_code for n in range(31)]
        assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
        refused = requests.post(app.url + "/login", data={"username": "zhiqite",
                                                          "password": "correct horse battery"},
                                timeout=10)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        # a forged X-Forwarded-For is not another address (no proxy trusted)
        spoofed = requests.post(app.url + "/login", headers={"X-Forwarded-For": "10.9.9.9"},
                                data={"username": "zhiqite", "password": "guess"}, timeout=10)
        assert spoofed.status_code == 429
    finally:
        app.close()


def test_big_bodies_and_unused_multipart_routes_are_refused(space: tuple[Launched, PageApi]
                                                            ) -> None:
    """Gradio reads a request body whole: a 50 MB JSON to the queue, or 40 files to
    component_server (any visitor, whatever the page has), would sit in memory."""
    app, _ = space
    join = app.url + "/gradio_api/queue/join"
    big = b'{"data": ["' + b"x" * (6 << 20) + b'"], "fn_index": 0, "session_hash": "s"}'
    assert requests.post(join, data=big, timeout=30,
                         headers={"content-type": "application/json"}).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"data": ["'
        for _ in range(6):
            yield b"x" * (1 << 20)
        yield b'"]}'

    assert requests.post(join, data=chunks(), timeout=30).status_code == 413
    files = [("files", (f"f{n}.bin", b"\0" * 1024)) for n in range(40)]
    for route in ("component_server", "process_recording"):
        answer = requests.post(f"{app.url}/gradio_api/{route}", files=files, timeout=30)
        assert answer.status_code == 404, route
    # the page's whole config written to disk per call, for deep links the app does not offer
    assert requests.get(f"{app.url}/gradio_api/deep_link", params={"session_hash": "s"},
                        timeout=10).status_code == 404
    # an ordinary call still goes through
    assert requests.get(app.url + "/config", timeout=10).status_code == 200


def test_minted_sessions_are_refused_before_gradio_keeps_their_state(
        space: tuple[Launched, PageApi]) -> None:
    """Each new session_hash (or each /call/...) makes Gradio keep state (1 MB each as Gradio
    keeps it: 2000 of them grew the app by 2.2 GB; about 85 KB each now). An address gets
    `new_sessions_per_hour` of them."""
    app, api = space
    join = app.url + "/gradio_api/queue/join"
    fn_index = api.dependencies["test"]["id"]
    held_before = len(app.demo.state_holder.session_data)
    statuses = [requests.post(join, json={"data": [None], "fn_index": fn_index,
                                          # the whole value counts, however long
                                          "session_hash": "A" * 300 + f"minted{n:04d}"},
                              timeout=10).status_code for n in range(80)]
    assert 429 in statuses and statuses.count(200) <= 40
    first_refused = statuses.index(429)
    assert set(statuses[first_refused:]) == {429}
    # a session already admitted goes on
    again = requests.post(join, json={"data": [None], "fn_index": fn_index,
                                      "session_hash": "A" * 300 + "minted0000"}, timeout=10)
    assert again.status_code == 200 or statuses[0] == 429
    calls = [requests.post(app.url + "/gradio_api/call/test", json={"data": [None]},
                           timeout=10).status_code for _ in range(5)]
    assert set(calls) == {429}  # each /call is a new session: none left this hour
    assert len(app.demo.state_holder.session_data) - held_before <= 40


def test_uploads_per_address_are_bounded(space: tuple[Launched, PageApi]) -> None:
    """Gradio keeps every upload a day, whatever it is: an address gets so many MB an hour
    (8 here; 1 GB on a Space by default)."""
    app, _ = space
    blob = b"\0" * (3 << 20)
    statuses = [requests.post(app.url + "/gradio_api/upload",
                              files=[("files", (f"x{n}.png", blob))], timeout=30).status_code
                for n in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429
