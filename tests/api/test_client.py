"""ZhiqiteClient against the offline backend on loopback: every endpoint, every auth mode,
every error class, and retries driven by the backend's fault knobs."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import fast_config, new_id, t2i, wait_sd, wait_tool
from tests.helpers.images import drawn_face, gradient, png
from tests.helpers.offline import faults, stats
from tests.helpers.servers import ImageHost
from webui.api import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ClockSkewError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    QuotaError,
    ServerError,
    ServiceError,
    SignatureError,
    ThrottledError,
    ZhiqiteClient,
)
from webui.api.auth import SignatureAuth
from webui.api.models import TaskState
from webui.offline.server import OfflineServer

APPCODE = "test-appcode-5f2d8c1e"
APP_KEY, APP_SECRET = "204000123", "test-app-secret-9a7b"
KEY_ID, KEY_SECRET = "AKID-test-77", "test-access-secret-3c4d"


# --- every endpoint ----------------------------------------------------------------------------


def test_text2image_roundtrip(client: ZhiqiteClient) -> None:
    task_id = new_id()
    submitted = client.text2image(t2i(task_id, n_iter=2, batch_size=2, seed=1234))
    assert submitted.data.task_id == task_id
    info = wait_sd(client, task_id)
    assert info.state is TaskState.SUCCEEDED
    assert [img.seed for img in info.differentialImageRspList] == [1234, 1235, 1236, 1237]


def test_image2image_and_controlnet(client: ZhiqiteClient, image_host: ImageHost) -> None:
    init = image_host.put(png(gradient(256, 256)))
    i2i = t2i(new_id(), scripts={"image_link": init})
    assert client.image2image(i2i).ok
    cn_id = new_id()
    cn = t2i(cn_id)
    cn["always_on_scripts"] = cn.pop("alwayson_scripts")
    cn["always_on_scripts"]["controlnet"] = {"args": [
        {"module": "canny", "model": "control_v11p_sd15_canny", "image_link": init}]}
    assert client.controlnet(cn).data.task_id == cn_id
    assert wait_sd(client, i2i["alwayson_scripts"]["id_task"]).state is TaskState.SUCCEEDED
    assert wait_sd(client, cn_id).state is TaskState.SUCCEEDED


def test_list_endpoints_and_paging(client: ZhiqiteClient) -> None:
    page = client.query_models({"pageSize": 5, "pageNum": 2})
    assert page.data.pageNum == 2 and len(page.data.rows) == 5 and page.data.total > 10
    models = client.all_models()
    assert len(models) == page.data.total
    assert {"revAnimated_v122_7371.safetensors", "photon_v1_84728.safetensors"} <= {
        r.sdModelCheckpoint for r in models}
    assert client.query_models({"pageSize": 10, "pageNum": 1,
                                "sdModelName": "photon"}).data.total == 1
    sdxl = client.all_loras(loraBaseModel="SDXL 1.0")
    assert sdxl and all(r.loraBaseModel == "SDXL 1.0" for r in sdxl)
    assert any(r.isAdult for r in client.all_loras())
    assert "hayasaka_ai_v10_26390" in {r.sdLoraFileSimplifyName for r in client.all_loras()}
    vaes = {r.vaeFileName for r in client.all_vaes()}
    assert {"vae-ft-mse-840000-ema-pruned.ckpt", "k1F8Anime2_k1F8Anime2VAE.ckpt"} <= vaes
    only = client.query_vaes({"vaeFileName": "k1F8Anime2_k1F8Anime2VAE.ckpt", "pageSize": 1,
                              "pageNum": 1})
    assert [r.vaeFileName for r in only.data.rows] == ["k1F8Anime2_k1F8Anime2VAE.ckpt"]
    embeddings = {r.embeddingSimplifyName for r in client.all_embeddings()}
    assert {"FastNegativeV2", "EasyNegative", "badhandv4"} <= embeddings
    cover = models[0].cover_urls[0]
    assert requests.get(cover, timeout=5).headers["content-type"] == "image/png"


def test_tools_roop_and_enhance(client: ZhiqiteClient, image_host: ImageHost) -> None:
    source = image_host.put(png(drawn_face(200, skin=(250, 210, 170))))
    target = image_host.put(png(drawn_face(256, skin=(180, 130, 100))))
    roop_id = new_id("r")
    answer = client.roop({"businessTaskId": roop_id, "sourceUrl": source, "targetUrl": target})
    assert answer.data.toolTask == "roop" and answer.data.status == 1
    assert wait_tool(client, "roop", roop_id).state(lambda u: True) is TaskState.SUCCEEDED
    enhance_id = new_id("e")
    client.enhance({"businessTaskId": enhance_id, "image": target, "upscalingResize": 2})
    done = wait_tool(client, "enhance", enhance_id)
    assert done.status == 2 and done.outputImageUrl


def test_query_unknown_task_is_a_service_error(client: ZhiqiteClient) -> None:
    with pytest.raises(ServiceError, match="not found"):
        client.query_task(new_id())
    with pytest.raises(InvalidRequestError, match="toolCode"):
        client.query_tool_task("../sd/v2/queryTaskInfo", "x")


# --- validation before the network ------------------------------------------------------------


def test_invalid_request_never_reaches_the_network(client: ZhiqiteClient,
                                                   offline: OfflineServer) -> None:
    before = stats(offline)["calls"].get("text2image", 0)
    with pytest.raises(InvalidRequestError) as caught:
        client.text2image(t2i(width=1020, cfg_scale=40))
    assert "width must be a multiple of 8 in (0, 1024], got 1020" in str(caught.value)
    assert "cfg_scale must be in [1, 30], got 40" in str(caught.value)
    assert client.calls["text2image"] == 0
    assert stats(offline)["calls"].get("text2image", 0) == before


def test_backend_applies_the_same_validation(offline: OfflineServer) -> None:
    """A request that skipped the client's checks gets the same sentence from the service."""
    body = t2i(width=1020)
    answer = requests.post(offline.url + "/AIGCImgOpenServ/saas/sd/v2/text2image",
                           json=body, timeout=5).json()
    assert answer["code"] == "400"
    assert answer["msg"] == "width must be a multiple of 8 in (0, 1024], got 1020"


def test_unknown_checkpoint_is_a_service_error_not_retried(client: ZhiqiteClient) -> None:
    body = t2i(scripts={"sd_model_checkpoint": "nope.safetensors"})
    with pytest.raises(ServiceError, match="'nope.safetensors' is not a known checkpoint"):
        client.text2image(body)
    assert client.calls["text2image"] == 1


# --- auth modes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded() -> Iterator[OfflineServer]:
    config = fast_config(appcode=APPCODE, app_key=APP_KEY, app_secret=APP_SECRET,
                         access_key_id=KEY_ID, access_key_secret=KEY_SECRET)
    with OfflineServer(config) as server:
        yield server


GOOD_AUTH = {
    "appcode": {"appcode": APPCODE},
    "signature": {"app_key": APP_KEY, "app_secret": APP_SECRET},
    "vendor-key": {"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET},
}


@pytest.mark.parametrize("mode", sorted(GOOD_AUTH))
def test_all_endpoints_with_each_auth_mode(mode: str, guarded: OfflineServer,
                                           image_host: ImageHost) -> None:
    with ZhiqiteClient(base_url=guarded.url, **GOOD_AUTH[mode]) as client:
        assert client.auth_mode == mode
        task_id = new_id()
        client.text2image(t2i(task_id))
        init = image_host.put(png(gradient(128, 128)))
        client.image2image(t2i(new_id(), scripts={"image_link": init}))
        cn = t2i(new_id(), scripts={"image_link": init, "controlnet": {"args": [
            {"module": "canny", "model": "control_v11p_sd15_canny"}]}})
        client.controlnet(cn)
        assert client.query_models().ok and client.query_loras().ok
        assert client.query_vaes().ok and client.query_embeddings().ok
        assert wait_sd(client, task_id).state is TaskState.SUCCEEDED
        tool_id = new_id("e")
        client.enhance({"businessTaskId": tool_id, "image": init})
        face = image_host.put(png(drawn_face()))
        client.roop({"businessTaskId": new_id("r"), "sourceUrl": face, "targetUrl": face})
        assert wait_tool(client, "enhance", tool_id).status == 2
        assert set(client.calls) == {"text2image", "image2image", "controlnet", "query_models",
                                     "query_loras", "query_vaes", "query_embeddings",
                                     "query_task", "enhance", "roop", "query_tool_task"}


@pytest.mark.parametrize("kwargs, error, words", [
    ({}, AuthenticationError, "AppCode was rejected"),
    ({"appcode": "wrong"}, AuthenticationError, "AppCode was rejected"),
    ({"app_key": "999", "app_secret": APP_SECRET}, AuthenticationError, "AppKey was rejected"),
    ({"app_key": APP_KEY, "app_secret": "wrong-secret"}, SignatureError, "AppSecret"),
    ({"access_key_id": KEY_ID, "access_key_secret": "wrong"}, AuthenticationError,
     "vendor access key"),
])
def test_bad_credentials_fail_without_retry(guarded: OfflineServer, kwargs: dict[str, str],
                                            error: type, words: str) -> None:
    with ZhiqiteClient(base_url=guarded.url, backoff=0.001, **kwargs) as client:
        with pytest.raises(error, match=words) as caught:
            client.query_models()
        assert client.calls["query_models"] == 1
        for secret in (*kwargs.values(), APP_SECRET, APPCODE):
            if len(secret) > 3:
                assert secret not in str(caught.value)
                assert secret not in repr(caught.value.args)


def test_signature_mismatch_logs_both_strings_without_secrets(
        guarded: OfflineServer, caplog: pytest.LogCaptureFixture) -> None:
    with ZhiqiteClient(base_url=guarded.url, app_key=APP_KEY, app_secret="wrong") as client:
        with pytest.raises(SignatureError):
            client.query_loras()
    assert "signature rejected; ours:" in caplog.text and "Server StringToSign" in caplog.text
    assert APP_KEY not in caplog.text and "wrong" not in caplog.text.replace("wrong-", "")


def test_clock_skew_and_nonce_reuse(guarded: OfflineServer) -> None:
    skewed = SignatureAuth(app_key=APP_KEY, app_secret=APP_SECRET, clock_ms=lambda: 1_000)
    with ZhiqiteClient(base_url=guarded.url, auth=skewed) as client:
        with pytest.raises(ClockSkewError, match="clock"):
            client.query_models()
    fixed = SignatureAuth(app_key=APP_KEY, app_secret=APP_SECRET, new_nonce=lambda: "same")
    with ZhiqiteClient(base_url=guarded.url, auth=fixed) as client:
        client.query_models()
        with pytest.raises(ClockSkewError, match="Nonce Used"):
            client.query_models()


def test_signature_resigned_on_every_retry(guarded: OfflineServer) -> None:
    faults(guarded, calls=[{"endpoint": "query_vaes", "fault": "http503"}] * 2)
    nonces: list[str] = []

    def nonce() -> str:
        nonces.append(uuid.uuid4().hex)
        return nonces[-1]

    auth = SignatureAuth(app_key=APP_KEY, app_secret=APP_SECRET, new_nonce=nonce)
    with ZhiqiteClient(base_url=guarded.url, auth=auth, backoff=0.001) as client:
        assert client.query_vaes().ok
    assert len(nonces) == 3 and len(set(nonces)) == 3  # a reused nonce would be refused


def test_vendor_keys_never_go_to_the_marketplace() -> None:
    with pytest.raises(ConfigurationError, match="not the Alibaba Cloud marketplace"):
        ZhiqiteClient(access_key_id=KEY_ID, access_key_secret=KEY_SECRET)
    with pytest.raises(ConfigurationError, match="app_secret is missing"):
        ZhiqiteClient(base_url="http://127.0.0.1:1", app_key=APP_KEY)
    direct = ZhiqiteClient(base_url="https://api.zhiqite.com", access_key_id=KEY_ID,
                           access_key_secret=KEY_SECRET)
    assert direct.auth_mode == "vendor-key"
    headers = direct.auth.headers("POST", "/p", b"{}")
    assert headers["X-Request-req-accessKeyId"] == KEY_ID
    assert KEY_SECRET not in repr(direct) and KEY_SECRET not in repr(direct.auth)


def test_signature_preferred_when_both_given() -> None:
    client = ZhiqiteClient(appcode=APPCODE, app_key=APP_KEY, app_secret=APP_SECRET)
    assert client.auth_mode == "signature"
    assert "Authorization" not in client.auth.headers("POST", "/p", b"{}")


def test_from_env() -> None:
    env = {"ZHIQITE_API_BASE": "http://127.0.0.1:9", "ZHIQITE_APPCODE": APPCODE,
           "ZHIQITE_APP_KEY": "", "ZHIQITE_ACCESS_KEY_ID": "  "}
    client = ZhiqiteClient.from_env(env)
    assert client.base_url == "http://127.0.0.1:9" and client.auth_mode == "appcode"
    assert ZhiqiteClient.from_env({}).base_url == "https://zhiqite.market.alicloudapi.com"
    assert ZhiqiteClient.from_env(env, appcode=None).auth_mode == "none"
    with pytest.raises(ConfigurationError, match="http"):
        ZhiqiteClient(base_url="zhiqite.example")


# --- retries and faults -----------------------------------------------------------------------


def recording_client(server: OfflineServer, **kwargs: Any) -> tuple[ZhiqiteClient, list[float]]:
    slept: list[float] = []
    client = ZhiqiteClient(base_url=server.url, sleep=slept.append, jitter=lambda: 1.0,
                           **kwargs)
    return client, slept


def test_5xx_burst_is_retried_with_backoff(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"fault": "http500"}, {"fault": "http503"},
                                 {"fault": "http504"}])
    client, slept = recording_client(fresh_offline, backoff=0.5, backoff_cap=1.5)
    assert client.query_embeddings().ok
    assert client.calls["query_embeddings"] == 4
    assert slept == [0.5, 1.0, 1.5]  # exponential, capped (jitter pinned to its top)


def test_retries_are_bounded(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"fault": "http503"}] * 5)
    client, slept = recording_client(fresh_offline, max_retries=3)
    with pytest.raises(ServerError, match="Service Unavailable"):
        client.query_models()
    assert client.calls["query_models"] == 4 and len(slept) == 3


def test_jitter_spreads_delays(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"fault": "http500"}])
    client, slept = recording_client(fresh_offline, backoff=1.0)
    client._jitter = lambda: 0.0
    client.query_vaes()
    assert slept == [0.5]  # half of the ceiling at the low end


@pytest.mark.parametrize("fault", ["http429", "throttle403"])
def test_throttling_honours_retry_after(fresh_offline: OfflineServer, fault: str) -> None:
    faults(fresh_offline, calls=[{"fault": fault}])
    client, slept = recording_client(fresh_offline, backoff=5.0)
    assert client.query_loras().ok
    assert len(slept) == 1 and slept[0] == pytest.approx(0.004, abs=0.002)  # 2 s x time scale


def test_retry_after_is_capped(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"fault": "http429"}] * 4)
    client, slept = recording_client(fresh_offline, retry_after_cap=0.001, max_retries=2)
    with pytest.raises(ThrottledError):
        client.query_loras()
    assert slept == [0.001, 0.001]


@pytest.mark.parametrize("fault, said", [("quota", "quota is used up"), ("arrears", "in arrears")])
def test_quota_is_final(fresh_offline: OfflineServer, fault: str, said: str) -> None:
    faults(fresh_offline, calls=[{"fault": fault}])
    client, slept = recording_client(fresh_offline)
    with pytest.raises(QuotaError, match=said):
        client.query_models()
    assert slept == [] and client.calls["query_models"] == 1


def test_malformed_answer_is_retried_then_reported(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"fault": "malformed"}] * 2)
    client, _ = recording_client(fresh_offline, max_retries=1)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        client.query_embeddings()
    faults(fresh_offline, calls=[{"fault": "malformed"}])
    assert client.query_embeddings().ok


def test_timeout(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"fault": "timeout"}])
    client = ZhiqiteClient(base_url=fresh_offline.url, timeout=(2, 0.2), max_retries=0)
    with pytest.raises(APITimeoutError, match="no answer within the timeout"):
        client.query_models()


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ZhiqiteClient(base_url=f"http://127.0.0.1:{port}", max_retries=1,
                           sleep=lambda s: None)
    with pytest.raises(APIConnectionError, match="could not reach"):
        client.query_models()
    assert client.calls["query_models"] == 2


def test_lost_submit_answer_retried_under_the_same_id(fresh_offline: OfflineServer) -> None:
    """The backend started the task but the answer was lost: the retry carries the same
    id_task, so the service answers the existing task and bills no second one."""
    faults(fresh_offline, calls=[{"endpoint": "text2image", "fault": "lost"}])
    client, slept = recording_client(fresh_offline)
    task_id = new_id()
    assert client.text2image(t2i(task_id)).data.task_id == task_id
    counters = stats(fresh_offline)
    assert client.calls["text2image"] == 2 and len(slept) == 1
    assert counters["tasks_started"] == 1 and counters["duplicate_submits"] == 1
    assert wait_sd(client, task_id).state is TaskState.SUCCEEDED


def test_same_id_with_another_body_is_refused(client: ZhiqiteClient) -> None:
    task_id = new_id()
    client.text2image(t2i(task_id))
    with pytest.raises(ServiceError, match="already used by another task"):
        client.text2image(t2i(task_id, prompt="something else"))


def test_meter_counts_every_request_sent(fresh_offline: OfflineServer) -> None:
    faults(fresh_offline, calls=[{"endpoint": "query_task", "fault": "http500"}])
    client, _ = recording_client(fresh_offline)
    metered: list[str] = []
    task_id = new_id()
    client.text2image(t2i(task_id), meter=metered.append)
    client.query_task(task_id, meter=metered.append)
    assert metered == ["text2image", "query_task", "query_task"]
