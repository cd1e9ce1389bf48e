"""Save: the zip is made in Gradio's cache and nowhere else, bounded, one kept per page
session, and it still downloads from a running app."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.helpers.images import gradient
from webui.ui.results import ResultsPanel, build_results_panel
from webui.ui.saves import Archives, SaveBusy


class Request:  # what the handler reads of gr.Request
    def __init__(self, session_hash: str) -> None:
        self.session_hash = session_hash


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(the temp dir, Gradio's cache inside it), both the test's own."""
    temp, cache = tmp_path / "tmp", tmp_path / "tmp" / "gradio"
    cache.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    yield temp, cache


def pictures(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"{n:05d}-{1000 + n}.png"
        gradient(32 + n, 32).save(path)
        paths.append(str(path))
    return paths


def path_of(update: Any) -> Path:
    value = update.value  # a gr.File update holds its value as Gradio's FileData
    return Path(value["path"] if isinstance(value, dict) else value)


def zips_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.zip"))


def panel() -> ResultsPanel:
    with gr.Blocks():
        return build_results_panel("txt2img")


def test_five_saves_leave_one_zip_and_only_in_gradios_cache(dirs: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    temp, cache = dirs
    paths = pictures(tmp_path / "outputs", 3)
    results, archives = panel(), Archives()
    made = []
    for _ in range(5):
        update = results._zip(paths, None, Request("session-a"), archives=archives)
        made.append(path_of(update))
    left = zips_in(temp)
    assert left == [made[-1]]  # the session's earlier zips are gone
    assert made[-1].is_relative_to(cache / "zhiqite-saves")
    assert len({p.parent for p in made}) == 5  # each under its own random folder
    with zipfile.ZipFile(made[-1]) as zf:
        assert sorted(zf.namelist()) == sorted(Path(p).name for p in paths)
        assert zf.testzip() is None
    # another page session keeps its own; a selected picture is saved alone
    other = path_of(results._zip(paths, 1, Request("session-b"), archives=archives))
    with zipfile.ZipFile(other) as zf:
        assert zf.namelist() == [Path(paths[1]).name]
    assert zips_in(temp) == sorted([made[-1], other])


def test_the_zip_is_bounded(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    paths = pictures(tmp_path / "outputs", 5)
    results = panel()
    with pytest.warns(UserWarning, match="holds the first 2 of 5 pictures"):
        update = results._zip(paths, None, Request("s"), archives=Archives(max_images=2))
    with zipfile.ZipFile(path_of(update)) as zf:
        assert len(zf.namelist()) == 2
    size = Path(paths[0]).stat().st_size
    with pytest.warns(UserWarning, match="holds the first 1 of 5 pictures"):
        update = results._zip(paths, None, Request("s"),
                              archives=Archives(max_bytes=size + size // 2))
    with zipfile.ZipFile(path_of(update)) as zf:
        assert len(zf.namelist()) == 1
    # pictures deleted meanwhile (History) are left out; none left: nothing to save
    Path(paths[0]).unlink()
    with pytest.warns(UserWarning, match="deleted"):
        assert results._zip([paths[0]], None, Request("s"), archives=Archives()).visible \
            is False


def test_one_zip_at_a_time_per_session_and_old_ones_pruned(dirs: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    temp, cache = dirs
    paths = pictures(tmp_path / "outputs", 2)
    entered, release = threading.Event(), threading.Event()
    now = [time.time()]  # compared with the folders' mtimes

    def clock() -> float:  # the first Save waits here, inside its turn
        if not entered.is_set():
            entered.set()
            release.wait(10)
        return now[0]

    archives = Archives(clock=clock, keep_seconds=60)
    first: list[Any] = []
    worker = threading.Thread(target=lambda: first.append(archives.make("s", "a.zip", paths)))
    worker.start()
    assert entered.wait(10)
    with pytest.raises(SaveBusy):
        archives.make("s", "b.zip", paths)
    assert archives.make("other", "c.zip", paths) is not None  # another session is not held
    release.set()
    worker.join(10)
    assert first and first[0].path.exists()
    # an hour later, the next Save of anyone removes both
    now[0] += 3600
    later = archives.make("third", "d.zip", paths)
    assert later is not None and zips_in(temp) == [later.path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_served_zip_downloads(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    from gradio_client import Client

    temp, cache = dirs
    paths = pictures(tmp_path / "outputs", 3)
    with gr.Blocks(delete_cache=(3600, 24 * 3600)) as demo:
        results = build_results_panel("txt2img")
        fill = gr.Button("fill")
        fill.click(lambda: list(paths), outputs=results.results, api_name="fill")
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                quiet=True)
    try:
        downloads = tmp_path / "downloads"
        client = Client(demo.local_url, verbose=False, download_files=str(downloads))
        client.predict(api_name="/fill")
        for _ in range(5):
            got = client.predict(api_name="/_zip")
        got = got["value"] if isinstance(got, dict) else got
        with zipfile.ZipFile(got) as zf:
            assert sorted(zf.namelist()) == sorted(Path(p).name for p in paths)
        served = [p for p in zips_in(temp)]
        assert len(served) == 1 and served[0].is_relative_to(cache / "zhiqite-saves")
    finally:
        demo.close()
