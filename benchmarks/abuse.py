"""Abuse: what a hostile visitor's calls through Gradio's public API cost the app, in memory.

    python -m benchmarks.abuse [--only bomb-extras,bomb-4]

The app runs in a process of its own (with its embedded offline backend, as a fresh install
starts), so its RSS is its own. Each measurement resets the process's peak RSS
(/proc/<pid>/clear_refs), makes its calls with gradio_client, and reports the peak over the
app's idle RSS (after start and one page open), the time, and what the caller was told.

- bomb-*: a 164 kB PNG of 13000x13000 greyscale pixels (169 MB as pixels, 507 MB as RGB)
  uploaded to Extras' Run, the ControlNet preview and PNG Info, then four at once. Issue 17
  measured before the guarded inputs: Extras +790 MB, the preview +1.85 GB (22 s), four at
  once 6.8 GB.

- junk-keys: a real visitor brings their key, then 2000 calls each from a new session bring
  a junk key and ask for the model lists with it (Settings' "Use my key" and the lists that
  follow it), as issue 17's attack did (212 MB -> 2.4 GB, and the real visitor's key was
  dropped). Reported: the peak over idle, the RSS after, the own keys the app holds, and
  whether the real visitor's key is still in use. The app runs with no limits configured
  (a local start), the worst case: on a Space the new-sessions-per-address limit refuses
  most of these calls before they reach a key.

Target: every bomb refused, < 300 MB over idle; junk keys: flat (no growth with the number
of calls), the real key kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from benchmarks.report import row
from benchmarks.ui import ROOT, free_port

TARGET_MB = 300
BOMB_SIDE = 13000
# endpoint -> the elem_id of its file input
BOMB_INPUTS = {"run": "extras_image", "local_preview": "txt2img_cn0_image",
               "local_preview_1": "img2img_cn0_image", "read_parameters": "pnginfo_file"}


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class App:
    """`python -m webui` on a free loopback port, files in a temp folder."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="bench-abuse-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIQITE_")}
        env.update(PYTHONPATH=str(ROOT), GRADIO_ANALYTICS_ENABLED="False",
                   ZHIQITE_DATA_DIR=str(self.work / "data"),
                   ZHIQITE_OUTPUTS_DIR=str(self.work / "outputs"), **(settings or {}))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen([sys.executable, "-m", "webui", "--port", str(port)],
                                        cwd=self.work, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}")
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("the app did not start")
            time.sleep(0.1)
        config = requests.get(self.url + "config", timeout=30).json()
        self.components = {c["id"]: c for c in config["components"]}
        self.dependencies = {d.get("api_name"): d for d in config["dependencies"]}

    @property
    def pid(self) -> int:
        return self.process.pid

    def args(self, api_name: str, values: dict[str, Any]) -> list[Any]:
        """The endpoint's inputs as a client sends them (no State): defaults, or `values` by
        elem_id."""
        out = []
        for component_id in self.dependencies[api_name]["inputs"]:
            component = self.components[component_id]
            if component.get("skip_api"):  # State, Tab: a client does not send them
                continue
            props = component["props"]
            key = props.get("elem_id") or props.get("storage_key")
            out.append(values[key] if key in values else
                       props.get("value", props.get("default_value")))
        return out

    def session(self, client: Any) -> str:
        """The page's load event in `client`'s session; the visitor token it issues."""
        job = client.submit(*self.args("on_load", {"zhiqite_visitor": None,
                                                   "zhiqite_last_tasks": ""}),
                            api_name="/on_load")
        job.result(timeout=120)
        return str(job.outputs()[0][0])  # the first output of the first step: the visitor

    def call(self, api_name: str, values: dict[str, Any]) -> str:
        """One call in a session of its own; what the caller was told (the start of it)."""
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        try:
            client.predict(*self.args(api_name, values), api_name=f"/{api_name}")
            return "answered, no error"
        except Exception as error:  # noqa: BLE001 - the answer is what is measured
            return f"{type(error).__name__}: {getattr(error, 'message', error)}"[:90]
        finally:
            client.close()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Peak:
    """The process's peak RSS during a block: the kernel's high-water mark, reset at the
    start (clear_refs 5), or, where that is not allowed, VmRSS sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.sampled, self.stop = pid, 0.0, threading.Event()

    def __enter__(self) -> Peak:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.stop.wait(0.005):
            self.sampled = max(self.sampled, rss_mb(self.pid))

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.mb = max(self.sampled, rss_mb(self.pid, "VmHWM") if self.reset else 0.0)


@dataclass
class Result:
    name: str
    calls: int
    answers: list[str]
    seconds: float
    peak_over_idle: float
    peak_over_start: float  # over the RSS just before (memory kept from earlier calls aside)


@dataclass
class Measurement:
    name: str
    what: str
    run: Callable[[App, Path], list[str]]  # the calls; returns each one's answer
    settings: tuple[tuple[str, str], ...] = ()  # the app's environment (ZHIQITE_*)


def bomb(folder: Path) -> Path:
    path = folder / "bomb.png"
    if not path.exists():
        Image.new("L", (BOMB_SIDE, BOMB_SIDE)).save(path)  # 164 kB
    return path


def bomb_to(*endpoints: str) -> Callable[[App, Path], list[str]]:
    def run(app: App, work: Path) -> list[str]:
        from gradio_client import handle_file

        upload = handle_file(bomb(work))
        with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
            return list(pool.map(lambda e: app.call(e, {BOMB_INPUTS[e]: upload}), endpoints))
    return run


JUNK_CALLS = 2000
FLAT = "app RSS"  # the answer that says whether memory stopped growing
FLAT_MB = 20  # "flat": the second half of the calls added less than this
REAL_KEY = "REALKEY0123456789abcdef0123456789"


def junk_keys(app: App, work: Path) -> list[str]:
    """One client; each call under a new session id (a new visitor to the app), as a script
    minting visitors would."""
    import uuid

    from gradio_client import Client

    client = Client(app.url, verbose=False)
    try:
        real, real_session = app.session(client), client.session_hash
        client.predict(*app.args("use", {"zhiqite_visitor": real, "settings_appcode": REAL_KEY}),
                       api_name="/use")
        answers, rss = [], []
        for n in range(JUNK_CALLS):
            client.session_hash = uuid.uuid4().hex
            try:
                client.predict(*app.args("use", {"zhiqite_visitor": None,
                                                 "settings_appcode": f"JUNK{n:028d}"}),
                               api_name="/use")
                client.predict(*app.args("after_settings", {"zhiqite_visitor": None}),
                               api_name="/after_settings")
                answers.append("key taken, lists fetched")
            except Exception as error:  # noqa: BLE001 - the answer is what is measured
                answers.append(f"{type(error).__name__}"[:90])
            if n % 500 == 499:
                rss.append(rss_mb(app.pid))
                print(f"  junk keys: {n + 1} calls, app RSS {rss[-1]:.0f} MB", flush=True)
        client.session_hash = real_session  # the real visitor's page, still open
        status = client.predict(*app.args("test", {"zhiqite_visitor": real}), api_name="/test")
        answers.append("real visitor: " + ("own key kept" if "appcode" in status.lower() else
                                            f"key lost ({status[:40]})"))
        # flat: what the second half of the calls added
        answers.append(f"{FLAT} {rss[-1] - rss[len(rss) // 2 - 1]:+.0f} MB over the last "
                       f"{JUNK_CALLS // 2} calls")
        return answers
    finally:
        client.close()


MEASUREMENTS = [
    Measurement("bomb-extras", "bomb to Extras (Run)", bomb_to("run")),
    Measurement("bomb-preview", "bomb to ControlNet preview", bomb_to("local_preview")),
    Measurement("bomb-pnginfo", "bomb to PNG Info", bomb_to("read_parameters")),
    Measurement("bomb-4", "4 bombs at once (Extras, 2 previews, PNG Info)",
                bomb_to("run", "local_preview", "local_preview_1", "read_parameters")),
    Measurement("junk-keys", f"{JUNK_CALLS} new sessions with junk keys, no limits",
                junk_keys),
    Measurement("junk-keys-shared", f"{JUNK_CALLS} the same, a Space's default limits",
                junk_keys, (("ZHIQITE_LIMITS", "shared"),)),
]


def measure(app: App, idle: float, measurement: Measurement, work: Path) -> Result:
    start = rss_mb(app.pid)
    began = time.monotonic()
    with Peak(app.pid) as peak:
        answers = measurement.run(app, work)
    seconds = time.monotonic() - began
    return Result(measurement.what, len(answers), answers, seconds, peak.mb - idle,
                  peak.mb - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="",
                        help="comma-separated: " + ", ".join(m.name for m in MEASUREMENTS))
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or [m.name for m in MEASUREMENTS]
    unknown = set(names) - {m.name for m in MEASUREMENTS}
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bench-abuse-files-"))
    bomb(work)
    results, idles, afters = [], [], []
    chosen = [m for m in MEASUREMENTS if m.name in names]
    for settings in dict.fromkeys(m.settings for m in chosen):  # one app per environment
        app = App(dict(settings))
        try:
            app.call("read_parameters", {"pnginfo_file": None})  # a first call warms the path
            idle = rss_mb(app.pid)
            results += [measure(app, idle, m, work) for m in chosen if m.settings == settings]
            idles.append(idle)
            afters.append(rss_mb(app.pid))
        finally:
            app.close()
    idle, after = idles[0], afters[-1]

    print(f"# abuse benchmark: the app's memory under hostile calls (targets: bombs < "
          f"{TARGET_MB} MB over idle; junk keys flat, < {FLAT_MB} MB over the second half)\n")
    widths = [46, 5, 7, 18, 17, 30]
    print(row(["calls", "n", "seconds", "peak RSS over idle", "(over its start)",
               "what the caller was told"], widths))
    print(row(["-" * w for w in widths], widths))
    for r in results:
        told = sorted(set(r.answers))
        growth = [float(a.split()[2]) for a in r.answers if a.startswith(FLAT)]
        if growth:  # junk keys: the target is no growth, not a ceiling
            mark = "flat" if growth[0] < FLAT_MB else "GROWING"
        else:
            mark = "ok" if r.peak_over_idle < TARGET_MB else "OVER"
        print(row([r.name, r.calls, f"{r.seconds:.2f}", f"{r.peak_over_idle:.0f} MB ({mark})",
                   f"{r.peak_over_start:.0f} MB", told[0]], widths))
        for answer in told[1:]:
            print(row(["", "", "", "", "", answer], widths))
    print(f"\napp RSS: {idle:.0f} MB idle, {after:.0f} MB after the last calls. seconds: the calls "
          "end to end, each in a new gradio_client session (about 1 s of it).\nRan "
          f"{time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
