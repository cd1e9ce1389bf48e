"""Pictures for the service: a result it made goes back by its own URL (Send to, re-run, a
result dropped in again), anything else is hosted, and where nothing can be hosted the
refusal names the ways out before anything is billed. Every kind of task re-runs from History.
Against the offline backend, also playing a service that cannot reach this app (a laptop)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.conftest import FAST
from tests.helpers.images import drawn_face
from webui.api.models import TaskState
from webui.core.builder import Img2ImgForm, Txt2ImgForm, build_request
from webui.core.engine import PollPolicy
from webui.core.extensions import ADetailerForm, ControlNetUnitForm
from webui.core.history import rerun_request
from webui.core.hosting import UploadRefused, prepare_upload, to_png
from webui.core.outputs import read_infotext
from webui.core.runtime import Runtime, Settings, choose_public_url
from webui.core.sources import pixel_fingerprint
from webui.core.store import TaskRecord
from webui.core.tools import EnhanceForm, enhance_request, roop_request
from webui.offline.server import ThreadedServer

CHECKPOINT = "photon_v1_84728.safetensors"
OWNER = "owner-sources"


@contextmanager
def runtime_at(root: Path, *, reaches_app: bool = True) -> Iterator[Runtime]:
    """A runtime on its own offline backend; the app's routes (callbacks, uploads) on a
    loopback server at its public URL unless the backend cannot reach the app."""
    from tests.ui.conftest import _routes_app

    settings = Settings(data_dir=root / "data", outputs_dir=root / "outputs", backend="offline",
                        offline_time_scale=FAST, offline_reaches_app=reaches_app)
    runtime = Runtime.open(settings, env={}, policy=PollPolicy().scaled(0.01))
    server = ThreadedServer(_routes_app(runtime)).start()
    runtime.set_public_url(choose_public_url(settings, offline=True, loopback=server.url,
                                             share_url=None))
    try:
        yield runtime
    finally:
        server.stop()
        runtime.close()


def run(runtime: Runtime, request: Any) -> TaskRecord:
    record = runtime.engine.submit(request, owner=OWNER).wait(timeout=30)
    assert record.state == TaskState.SUCCEEDED, (record.kind, record.error)
    return record


def txt2img(**fields: Any) -> Txt2ImgForm:
    return Txt2ImgForm(checkpoint=CHECKPOINT, prompt="a red boat", width=128, height=128,
                       steps=4, **fields)


def picture_of(record: TaskRecord) -> Image.Image:
    path = record.images[0].path
    assert path
    with Image.open(path) as image:
        return image.copy()


def test_a_result_goes_back_by_its_own_url(tmp_path: Path) -> None:
    with runtime_at(tmp_path) as runtime:
        first = run(runtime, build_request("txt2img", txt2img())[1])
        # the infotext names the checkpoint's short hash from the list's modelHash
        listed = runtime.offline.app.state.catalogue.find(  # type: ignore[union-attr]
            "model", CHECKPOINT).digest
        saved = read_infotext(first.images[0].path or "") or ""
        assert f"Model hash: {listed[:10].lower()}, Model: photon_v1_84728" in saved, saved
        image = picture_of(first)
        source = runtime.sources.url_for(OWNER, image)
        assert source.reused and source.url == first.images[0].url
        assert first.images[0].pixels == pixel_fingerprint(image)
        # a copy the browser re-encoded (RGBA, another PNG) is the same picture
        again = prepare_upload(to_png(image.convert("RGBA")))
        assert runtime.sources.url_for(OWNER, again.image).url == first.images[0].url
        # another owner's results are never found
        other = runtime.sources.url_for("someone-else", image)
        assert not other.reused and "/api/zhiqite/uploads/" in other.url
        # an expired result URL is not used: the picture is hosted instead
        uploads = len(list((tmp_path / "data" / "uploads").glob("*.png")))
        runtime.offline.runner.tasks[first.id].expired = True  # type: ignore[union-attr]
        hosted = runtime.sources.url_for(OWNER, image)
        assert not hosted.reused
        assert len(list((tmp_path / "data" / "uploads").glob("*.png"))) == uploads + 1


def test_every_kind_runs_from_send_to_and_reruns_from_history(tmp_path: Path) -> None:
    with runtime_at(tmp_path) as runtime:
        base = run(runtime, build_request("txt2img", txt2img())[1])
        sources = runtime.sources
        result_url = sources.url_for(OWNER, picture_of(base)).url  # what Send to sends
        mask = Image.new("L", (128, 128), 0)
        ImageDraw.Draw(mask).rectangle((32, 32, 96, 96), fill=255)
        mask_url = sources.url_for(OWNER, mask, what="Mask").url
        face = sources.url_for(OWNER, drawn_face(192)).url
        unit = ControlNetUnitForm(enabled=True, image_url=result_url)
        i2i = {"init_url": result_url, "denoising_strength": 0.5, "checkpoint": CHECKPOINT,
               "prompt": "a blue boat", "width": 128, "height": 128, "steps": 4}
        made = {
            "txt2img": base,
            "txt2img + ControlNet": run(runtime, build_request("txt2img", txt2img(),
                                                               [unit])[1]),
            "img2img": run(runtime, build_request("img2img", Img2ImgForm(**i2i))[1]),
            "inpaint": run(runtime, build_request("img2img", Img2ImgForm(
                **i2i, mode="inpaint", mask_url=mask_url))[1]),
            "img2img + ControlNet": run(runtime, build_request(
                "img2img", Img2ImgForm(**i2i), [ControlNetUnitForm(enabled=True,
                                                                   use_init=True)])[1]),
            "ADetailer": run(runtime, build_request("txt2img", txt2img(), None,
                                                    ADetailerForm(enabled=True))[1]),
            "Extras": run(runtime, enhance_request(EnhanceForm(scale=2), result_url)),
            "Face swap": run(runtime, roop_request(face, face)),
        }
        kinds = {name: record.kind for name, record in made.items()}
        assert kinds["txt2img + ControlNet"] == kinds["img2img + ControlNet"] == "controlnet"
        for name, record in made.items():
            for new_seed in (False, True):
                request = rerun_request(record, new_seed=new_seed)
                assert request.task_id != record.id
                again = run(runtime, request)
                assert again.kind == record.kind, name
                if record.kind == "controlnet":  # ruling 1: its own spelling, on the wire
                    assert "always_on_scripts" in again.request, again.request.keys()
        assert runtime.offline.stats.tasks_failed == 0  # type: ignore[union-attr]


def test_on_a_laptop_results_chain_and_uploads_name_the_ways_out(tmp_path: Path) -> None:
    """The service cannot reach this app: no callbacks, nothing hosted; a result still goes
    on by its own URL, by polling."""
    with runtime_at(tmp_path, reaches_app=False) as runtime:
        assert runtime.public_url is None and runtime.engine.mode == "poll"
        assert runtime.hosting() is None
        first = run(runtime, build_request("txt2img", txt2img())[1])
        url = runtime.sources.url_for(OWNER, picture_of(first)).url
        second = run(runtime, build_request("img2img", Img2ImgForm(
            checkpoint=CHECKPOINT, prompt="at night", init_url=url, width=128, height=128,
            steps=4))[1])
        assert second.images[0].path
        run(runtime, enhance_request(EnhanceForm(scale=2), second.images[0].url or ""))
        billed = runtime.offline.stats.billed.copy()  # type: ignore[union-attr]
        with pytest.raises(UploadRefused) as refused:
            runtime.sources.url_for(OWNER, drawn_face(128), what="Target image")
        message = str(refused.value)
        for way in ("ZHIQITE_PUBLIC_URL", "--share", "S3/OSS", "Target image"):
            assert way in message, message
        assert runtime.offline.stats.billed == billed  # type: ignore[union-attr]
        # a task whose picture the service cannot fetch fails saying so (in the same words
        # whatever the cause: webui/offline/fetch.py)
        hosted_elsewhere = "http://127.0.0.1:9/never.png"
        failed = runtime.engine.submit(enhance_request(EnhanceForm(), hosted_elsewhere),
                                       owner=OWNER).wait(timeout=30)
        assert failed.state == TaskState.FAILED
        assert failed.error == "Task failed: could not fetch the image", failed.error


def test_the_public_url_for_callbacks_and_uploads() -> None:
    base = Settings()
    share = "https://abcd1234.gradio.live/"
    assert choose_public_url(base, offline=False, loopback="http://127.0.0.1:7860",
                             share_url=share) == "https://abcd1234.gradio.live"
    assert choose_public_url(base, offline=False, loopback="x", share_url=None) is None
    configured = Settings(public_url="https://art.example.com")
    assert choose_public_url(configured, offline=False, loopback="x",
                             share_url=share) == "https://art.example.com"
    assert choose_public_url(base, offline=True, loopback="http://127.0.0.1:1",
                             share_url=share) == "http://127.0.0.1:1"
    laptop = Settings(offline_reaches_app=False)
    assert choose_public_url(laptop, offline=True, loopback="x", share_url=None) is None
    assert Settings.from_env({"ZHIQITE_OFFLINE_REACHES_APP": "off"}).offline_reaches_app is False
