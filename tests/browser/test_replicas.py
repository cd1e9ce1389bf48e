"""Two app processes on one PostgreSQL database and one bucket (issue 23), as a team runs
them: each its own data dir and outputs folder; the service's callbacks all reach replica B
(the load balancer's choice, here fixed). A visitor on A sees the result of a task whose
callback reached B; then A is killed with SIGKILL mid-task and the visitor, now on B, gets the
task's picture: B finished the task (taking it over when A's lease ended), nothing lost,
nothing sent twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import free_port
from tests.browser.test_txt2img import set_number
from tests.helpers.offline import stats
from tests.helpers.waiting import wait_until
from webui.offline.server import OfflineServer

ROOT = Path(__file__).resolve().parents[2]
LEASE = 3  # seconds: A's tasks wait this long for another replica once A is dead


def start_replica(name: str, port: int, work: Path, *, backend: str, database_url: str,
                  s3_endpoint: str, bucket: str, public_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIQITE_")}
    env.update(PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False",
               ZHIQITE_BACKEND="cloud", ZHIQITE_APPCODE="replicas-test",
               ZHIQITE_API_BASE=backend, ZHIQITE_PUBLIC_URL=public_url,
               ZHIQITE_DATABASE_URL=database_url, ZHIQITE_REPLICA_ID=name,
               ZHIQITE_LEASE_SECONDS=str(LEASE),
               ZHIQITE_DATA_DIR=str(work / name / "data"),
               ZHIQITE_OUTPUTS_DIR=str(work / name / "outputs"),
               ZHIQITE_S3_BUCKET=bucket, ZHIQITE_S3_ENDPOINT=s3_endpoint,
               ZHIQITE_S3_ACCESS_KEY_ID="test", ZHIQITE_S3_SECRET_ACCESS_KEY="test",
               ZHIQITE_S3_REGION="us-east-1")
    log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - the process writes it until killed
    return subprocess.Popen([sys.executable, "-m", "webui", "--port", str(port)], cwd=work,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    def up() -> bool:
        assert process.poll() is None, f"{url} exited with {process.returncode}"
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, 120)


def generate(page: Any, prompt: str, steps: int) -> None:
    set_number(page, "txt2img_steps", steps)
    page.locator("#txt2img_prompt textarea").fill(prompt)
    page.locator("#txt2img_generate").click()


def picture_shown(page: Any, prompt: str) -> None:
    page.wait_for_function(
        "(prompt) => (document.querySelector('#txt2img_infotext textarea')?.value || '')"
        ".startsWith(prompt)", arg=prompt, timeout=90_000)
    page.wait_for_function(
        "() => { const i = document.querySelector('#txt2img_gallery img');"
        " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)


def row(database_url: str, prompt: str) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(database_url) as db:
        found = db.execute("SELECT state, submitted, resumed, lease_holder, images FROM tasks "
                           "WHERE prompt = %s", [prompt]).fetchone()
    return found or ()


@pytest.mark.parametrize("fresh_offline", [{"time_scale": 0.3}], indirect=True)
def test_a_visitor_keeps_their_pictures_across_replicas_and_a_kill(
        browser: Any, fresh_offline: OfflineServer, postgres_url: str, s3_endpoint: str,
        tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="replicas-test")
    port_a, port_b = free_port(), free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}/", f"http://127.0.0.1:{port_b}/"
    shared = {"backend": fresh_offline.url, "database_url": postgres_url,
              "s3_endpoint": s3_endpoint, "bucket": "replicas-test",
              "public_url": url_b.rstrip("/")}
    a = start_replica("replica-a", port_a, tmp_path, **shared)
    b = start_replica("replica-b", port_b, tmp_path, **shared)
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1100})
    try:
        wait_up(url_a, a)
        wait_up(url_b, b)
        on_a = context.new_page()
        on_a.goto(url_a)
        on_a.wait_for_function(
            "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0")
        # 1. A follows the task, its callback reaches B: A's page shows the picture
        generate(on_a, "a harbour whose callback reached the other replica", 8)
        picture_shown(on_a, "a harbour whose callback reached the other replica")
        state, _, resumed, holder, images = row(
            postgres_url, "a harbour whose callback reached the other replica")
        assert (state, resumed, holder) == ("succeeded", 0, "replica-a")
        # B saved it (the callback went there); A showed the bucket's copy, not B's file
        fetched = list((tmp_path / "replica-a" / "data" / "results").rglob("*.png"))
        saved = [Path(image["path"]) for image in json.loads(images)]
        assert saved and all(path.is_relative_to(tmp_path / "replica-b") for path in saved)
        assert [p.name for p in fetched] == [path.name for path in saved]

        # 2. A dies mid-task; the same browser, sent to B, gets the picture
        prompt = "a lighthouse finished by the replica that lived"
        generate(on_a, prompt, 150)  # ~11 s at this scale
        wait_until(lambda: (row(postgres_url, prompt) or (None, 0))[1] == 1, 30)  # sent
        storage = on_a.evaluate("JSON.stringify(Object.fromEntries(Object.entries("
                                "localStorage)))")
        os.kill(a.pid, signal.SIGKILL)
        a.wait(10)
        killed_at = time.monotonic()
        on_b = context.new_page()
        on_b.goto(url_b)  # another origin: the load balancer would give one; copy its storage
        # after the page's load event stored a visitor of its own (a write that lands after
        # the copy would replace it with a visitor B has no task of)
        on_b.wait_for_function(
            "() => document.querySelector('#zq_checkpoint input')?.value?.length > 0"
            " && localStorage.getItem('zhiqite_visitor') !== null")
        on_b.evaluate("(s) => { for (const [k, v] of Object.entries(JSON.parse(s)))"
                      " localStorage.setItem(k, v); }", storage)
        on_b.reload()
        picture_shown(on_b, prompt)
        # B finished it: followed from when A's lease ended (taken by B's sweep or by the
        # visitor's watch on B), or, on a slow machine, by the callback reaching B first
        state, _, _, _, images = row(postgres_url, prompt)
        saved = [Path(image["path"]) for image in json.loads(images)]
        assert state == "succeeded"
        assert saved and all(path.is_relative_to(tmp_path / "replica-b") for path in saved)
        assert time.monotonic() - killed_at < 60
        assert stats(fresh_offline)["tasks_started"] == 2  # nothing sent twice
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="replicas-test")["Contents"]]
        assert len(keys) == 2 and {k.split("/")[1] for k in keys} <= {"replica-a", "replica-b"}
    finally:
        context.close()
        for process in (a, b):
            if process.poll() is None:
                process.terminate()
                process.wait(15)
    for name in ("replica-a", "replica-b"):
        log = (tmp_path / f"{name}.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-3000:]
