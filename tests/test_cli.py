"""`zhiqite-webui generate` as a user runs it: a real process, the embedded offline backend (or
a loopback one standing in for the cloud), files on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fast_config
from tests.helpers.offline import faults, stats
from webui.core import infotext
from webui.core.outputs import read_infotext
from webui.offline.server import OfflineServer

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = {"prompt": "a red fox in snow", "negative_prompt": "blurry", "width": 320,
           "height": 256, "steps": 20, "n_iter": 2, "seed": "42",
           "alwayson_scripts": {"sd_model_checkpoint": "photon_v1_84728.safetensors"}}


def generate(tmp_path: Path, *args: str, payload: object = PAYLOAD, env: dict | None = None
             ) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "payload.json"
    source.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("ZHIQITE_") and k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    clean.update({"ZHIQITE_OFFLINE_TIME_SCALE": "0.01", "PYTHONPATH": str(ROOT),
                  "LANG": "C.UTF-8", **(env or {})})
    return subprocess.run([sys.executable, "-m", "webui", "generate", *args, str(source)],
                          cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mode", ["--callback", "--poll"])
def test_generate_saves_images_and_prints_their_paths(tmp_path: Path, mode: str) -> None:
    done = generate(tmp_path, "text2image", mode)
    assert done.returncode == 0, done.stderr
    paths = [tmp_path / line for line in done.stdout.splitlines()]
    assert [p.name for p in paths] == ["00000-42.png", "00001-43.png"]
    assert all(p.parent.parent.name == "txt2img" for p in paths)
    fields = infotext.parse(read_infotext(paths[1]) or "")
    assert (fields["Prompt"], fields["Seed"], fields["Size-1"]) == ("a red fox in snow", "43",
                                                                    "320")
    assert "2 image(s) saved" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "data" / "tasks.sqlite3").is_file()


def test_out_folder_and_own_task_id(tmp_path: Path) -> None:
    payload = json.loads(json.dumps(PAYLOAD))
    payload["n_iter"] = 1
    payload["alwayson_scripts"]["id_task"] = "my-task-1"
    done = generate(tmp_path, "text2image", "--out", "elsewhere", "--quiet", payload=payload)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("elsewhere/txt2img/")
    assert "task my-task-1 submitted" in done.stderr


@pytest.mark.parametrize("payload, message", [
    ({**PAYLOAD, "width": 1020}, "width must be a multiple of 8"),
    ({**PAYLOAD, "sampler_index": "Euler z"}, "sampler_index"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
])
def test_bad_payload_is_refused_with_the_field_named(tmp_path: Path, payload: object,
                                                     message: str) -> None:
    done = generate(tmp_path, "text2image", payload=payload)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_errors_are_printed_in_the_terminals_language(tmp_path: Path) -> None:
    """LANG=zh_CN.UTF-8: what the CLI says on stderr is Chinese, the field's wire name and
    the values as they are; stdout keeps only paths."""
    done = generate(tmp_path, "text2image", payload={**PAYLOAD, "width": 1020},
                    env={"LANG": "zh_CN.UTF-8"})
    assert done.returncode == 2
    assert done.stderr.strip() == "错误：width 必须是 8 的倍数，范围 (0, 1024]，当前为 1020"
    ok = generate(tmp_path, "text2image", "--quiet", env={"LC_ALL": "zh_CN.UTF-8"})
    assert ok.returncode == 0, ok.stderr
    assert "已保存 2 张图像" in ok.stderr and ok.stdout.count(".png") == 2


def test_failed_task_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    """The cloud path (credentials set), against a loopback backend that checks them."""
    with OfflineServer(fast_config(appcode="secret-appcode-123")) as cloud:
        faults(cloud, tasks=["fail"])
        done = generate(tmp_path, "text2image", "--quiet", env={
            "ZHIQITE_API_BASE": cloud.url, "ZHIQITE_APPCODE": "secret-appcode-123"})
        assert stats(cloud)["tasks_started"] == 1
    assert done.returncode == 1
    assert "failed: Task failed" in done.stderr and "Traceback" not in done.stderr
    assert "secret-appcode-123" not in done.stderr + done.stdout


def test_local_image_files_are_uploaded_through_the_apps_hosting(tmp_path: Path) -> None:
    from tests.helpers.images import gradient

    gradient(200, 120).save(tmp_path / "photo.png")
    payload = {"image": "photo.png", "upscalingResize": 2}  # relative to the payload's folder
    done = generate(tmp_path, "enhance", "--poll", "--quiet", payload=payload)
    assert done.returncode == 0, done.stderr
    saved = tmp_path / done.stdout.splitlines()[0]
    assert saved.parent.parent.name == "extras"
    from PIL import Image

    with Image.open(saved) as image:
        assert image.size == (400, 240)
    assert len(list((tmp_path / "data" / "uploads").glob("*.png"))) == 1


def test_missing_local_file_is_named(tmp_path: Path) -> None:
    payload = {**PAYLOAD, "alwayson_scripts": {**PAYLOAD["alwayson_scripts"],
                                               "image_link": "nowhere.png"}}
    done = generate(tmp_path, "image2image", payload=payload)
    assert done.returncode == 2
    assert "'nowhere.png' is neither an http(s) URL nor a local file" in done.stderr
