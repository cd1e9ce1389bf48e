"""History handlers without a browser: the visitor's tasks newest first, filters, paging, open
(finished and running), re-run with the same or a new seed, delete; nobody else's tasks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from tests.helpers.images import gradient
from tests.ui.conftest import BuiltUi
from tests.ui.test_tools import picture, upscale
from tests.ui.test_txt2img import merged
from webui.core.history import PAGE_SIZE, Thumbnails, history_page, rerun_request
from webui.core.store import TaskRecord

VISITOR = "visitor-0123456789abcdef"


def generate(ui: BuiltUi, prompt: str, **values: Any) -> dict[Any, Any]:
    return merged(list(ui.tab.generate(ui.data(prompt=prompt, steps=4, width=64, height=64,
                                               **values))))


def listing(ui: BuiltUi, kind: str = "", text: str = "", page: int = 1,
            visitor: str = VISITOR) -> dict[Any, Any]:
    return ui.history.handlers["listing"](ui.token(visitor), kind, text, page)


def opened(ui: BuiltUi, task_id: str, visitor: str = VISITOR) -> dict[Any, Any]:
    return merged(list(ui.history.handlers["show"](ui.token(visitor), f"{task_id}|1")))


def owner(ui: BuiltUi, visitor: str = VISITOR) -> str:
    return ui.ctx.owner(visitor)


def newest(ui: BuiltUi) -> TaskRecord:
    return ui.ctx.runtime.store.list(owner(ui), limit=1)[0]


def test_lists_every_kind_newest_first_with_thumbnails(ui: BuiltUi, tmp_path: Path) -> None:
    generate(ui, "a <b>bold</b> lighthouse")
    upscale(ui, image=picture(tmp_path, "in.png", gradient(64, 64)))
    page = listing(ui)
    rows = page[ui.history.rows]
    assert rows.index("Extras") < rows.index("txt2img")  # newest first
    assert "a &lt;b&gt;bold&lt;/b&gt; lighthouse" in rows and "<b>bold" not in rows
    assert rows.count('src="data:image/webp;base64,') == 2
    assert "upscale x2" in rows and "done" in rows
    assert page[ui.history.pager] == "Page 1 of 1 · 2 task(s)"
    assert "txt2img" not in listing(ui, kind="enhance")[ui.history.rows]
    assert "Extras" not in listing(ui, text="lighthouse")[ui.history.rows]
    assert "No tasks" in listing(ui, visitor="someone-else-0123456789")[ui.history.rows]


def test_open_shows_images_infotext_and_request(ui: BuiltUi) -> None:
    generate(ui, "a red kite", seed=321)
    record = newest(ui)
    shown = opened(ui, record.id)
    assert shown[ui.history.panel.results] == [record.images[0].path]
    assert "Seed: 321" in shown[ui.history.panel.infotext]
    code = shown[ui.history.request_json]
    assert code.visible  # hidden until a task is opened
    assert json.loads(code.value)["prompt"] == "a red kite"
    assert "callbackUrl" not in code.value
    with pytest.warns(UserWarning, match="gone"):
        assert opened(ui, record.id, visitor="someone-else-0123456789") == {}


def test_a_running_task_opened_here_streams_to_the_end(ui: BuiltUi) -> None:
    handle = ui.ctx.engine.submit(rerun_request(_done_txt2img(ui), new_seed=True),
                                  owner=owner(ui))
    updates = list(ui.history.handlers["show"](ui.token(VISITOR), f"{handle.task_id}|1"))
    statuses = [u[ui.history.panel.status] for u in updates if ui.history.panel.status in u]
    assert len(statuses) >= 2 and statuses[-1].startswith("Done")
    assert merged(updates)[ui.history.panel.results]


def _done_txt2img(ui: BuiltUi) -> TaskRecord:
    generate(ui, "a paper boat", seed=5)
    return newest(ui)


def test_rerun_same_and_new_seed(ui: BuiltUi) -> None:
    first = _done_txt2img(ui)
    rerun = ui.history.handlers["rerun"]
    same = rerun(ui.token(VISITOR), f"{first.id}|1", "", "", False)
    again = ui.ctx.engine.wait(same[ui.history.opened].split("|")[0], owner(ui), timeout=20)
    assert again.id != first.id and int(again.request["seed"]) == 5
    assert again.images[0].seed == 5
    fresh = rerun(ui.token(VISITOR), f"{first.id}|1", "", "", True)
    other = ui.ctx.engine.wait(fresh[ui.history.opened].split("|")[0], owner(ui), timeout=20)
    assert int(other.request["seed"]) == -1 and other.images[0].seed != 5
    assert other.request["prompt"] == first.request["prompt"]
    assert "3 task(s)" in fresh[ui.history.pager]


def test_rerun_of_a_tool_task(ui: BuiltUi, tmp_path: Path) -> None:
    upscale(ui, image=picture(tmp_path, "in.png", gradient(64, 48)), scale=3)
    first = newest(ui)
    result = ui.history.handlers["rerun"](ui.token(VISITOR), f"{first.id}|1", "", "", False)
    again = ui.ctx.engine.wait(result[ui.history.opened].split("|")[0], owner(ui), timeout=20)
    assert again.kind == "enhance" and again.request["image"] == first.request["image"]
    assert again.state == "succeeded"


def test_rerun_refuses_when_the_upload_expired(ui: BuiltUi, tmp_path: Path) -> None:
    upscale(ui, image=picture(tmp_path, "in.png", gradient(64, 48)))
    for upload in (ui.ctx.runtime.settings.data_dir / "uploads").iterdir():
        upload.unlink()
    with pytest.warns(UserWarning, match="expired"):
        result = ui.history.handlers["rerun"](ui.token(VISITOR), f"{newest(ui).id}|1", "", "", False)
    assert result == gr.skip()


def test_delete_removes_row_files_and_thumbnail(ui: BuiltUi) -> None:
    record = _done_txt2img(ui)
    listing(ui)  # makes the thumbnail
    path = Path(record.images[0].path or "")
    thumbs = list((ui.ctx.runtime.settings.data_dir / "thumbs").iterdir())
    assert path.exists() and len(thumbs) == 1
    # another visitor cannot delete it
    with pytest.warns(UserWarning, match="gone"):
        ui.history.handlers["delete"](ui.token("someone-else-0123456789"), f"{record.id}|1",
                                      "", "", 1)
    assert path.exists()
    result = ui.history.handlers["delete"](ui.token(VISITOR), f"{record.id}|1", "", "", 1)
    assert not path.exists() and not thumbs[0].exists()
    assert ui.ctx.runtime.store.get(record.id) is None
    assert "0 task(s)" in result[ui.history.pager]


def test_pages_are_newest_first_and_clamped(tmp_path: Path) -> None:
    from webui.core.store import SQLiteTaskStore

    store = SQLiteTaskStore(tmp_path / "tasks.sqlite3")
    for n in range(45):
        store.create(TaskRecord(id=f"t{n:03d}", kind="text2image", owner="o",
                                request={"prompt": f"prompt {n}"}, created_at=1000.0 + n))
    thumbs = Thumbnails(tmp_path / "thumbs")
    first = history_page(store, thumbs, "o", page=1)
    last = history_page(store, thumbs, "o", page=99)  # clamped to the last page
    assert [r.id for r in first.rows][:2] == ["t044", "t043"] and len(first.rows) == PAGE_SIZE
    assert last.page == 3 and [r.id for r in last.rows] == [f"t{n:03d}" for n in range(4, -1, -1)]
    assert first.total == 45 and first.pages == 3
    assert first.rows[0].state == "queued"


def test_a_favourite_is_kept_in_the_store_and_is_its_owners_alone(ui: BuiltUi) -> None:
    generate(ui, "a red kite")
    generate(ui, "a blue boat")
    kite = ui.ctx.runtime.store.list(owner(ui), limit=2)[1]
    favourite = ui.history.handlers["favourite"]
    marked = favourite(ui.token(VISITOR), f"{kite.id}|1", "", "", 1)
    assert "★ Favourite" in str(marked[ui.history.favourite].value)
    rows = marked[ui.history.rows]
    assert "★ a red kite" in rows and "★ a blue boat" not in rows
    only = listing(ui, kind="favourites")
    assert "a red kite" in only[ui.history.rows] and "a blue boat" not in only[ui.history.rows]
    assert only[ui.history.pager] == "Page 1 of 1 · 1 task(s)"
    # shown as marked when opened; another visitor can neither see nor mark it
    assert "★" in str(opened(ui, kite.id)[ui.history.favourite].value)
    with pytest.warns(UserWarning, match="not yours"):
        favourite(ui.token("someone-else-0123456789"), f"{kite.id}|1", "", "", 1)
    assert "a red kite" not in listing(ui, kind="favourites",
                                       visitor="someone-else-0123456789")[ui.history.rows]
    assert ui.ctx.runtime.store.favourite_ids(owner(ui, "someone-else-0123456789"),
                                              [kite.id]) == set()
    # a second click unmarks; a deleted task leaves no mark behind
    favourite(ui.token(VISITOR), f"{kite.id}|1", "", "", 1)
    assert "a red kite" not in listing(ui, kind="favourites")[ui.history.rows]
    favourite(ui.token(VISITOR), f"{kite.id}|1", "", "", 1)
    ui.history.handlers["delete"](ui.token(VISITOR), f"{kite.id}|1", "", "", 1)
    assert ui.ctx.runtime.store.favourite_ids(owner(ui), [kite.id]) == set()


def test_favourite_answers_any_argument(ui: BuiltUi) -> None:
    favourite = ui.history.handlers["favourite"]
    with warnings.catch_warnings(record=True):  # each answer is a toast: "open a task first"
        warnings.simplefilter("always")
        for junk in (None, 3, [], {"a": 1}, "x" * 100_000, "|", "../../etc|1"):
            for who in (ui.token(VISITOR), None, "forged", junk):
                favourite(who, junk, junk, junk, junk)


def test_tags_are_the_owners_and_a_hash_search_finds_them(ui: BuiltUi, said: list[str]) -> None:
    generate(ui, "a red kite")
    generate(ui, "a blue kite")
    generate(ui, "a green boat")
    boat, blue, red = ui.ctx.runtime.store.list(owner(ui), limit=3)
    save = ui.history.handlers["save_tags"]
    saved = save(ui.token(VISITOR), f"{red.id}|1", "Sky, #kites  sky", "", "", 1)
    assert saved[ui.history.tags] == "kites, sky" and said[-1] == "Tags saved (2)."
    assert "#kites" in saved[ui.history.rows]
    save(ui.token(VISITOR), f"{blue.id}|1", "kites", "", "", 1)
    rows = listing(ui, text="#kites")[ui.history.rows]
    assert "a red kite" in rows and "a blue kite" in rows and "a green boat" not in rows
    assert "a blue kite" not in listing(ui, text="#kites #sky")[ui.history.rows]
    assert "a red kite" in listing(ui, text="#KITES red")[ui.history.rows]  # and prompt words
    assert "a red kite" not in listing(ui, text="#kites blue")[ui.history.rows]
    assert opened(ui, red.id)[ui.history.tags] == "kites, sky"
    # the limits, named; another visitor can neither tag nor find them
    assert save(ui.token(VISITOR), f"{boat.id}|1", " ".join(f"t{i}" for i in range(11)),
                "", "", 1) == gr.skip()
    assert said[-1] == ("Tags: at most 10 tags, each at most 32 characters (written apart by "
                        "spaces or commas)")
    assert save(ui.token(VISITOR), f"{boat.id}|1", "x" * 33, "", "", 1) == gr.skip()
    assert save(ui.token("someone-else-0123456789"), f"{boat.id}|1", "mine", "", "",
                1) == gr.skip() and said[-1].startswith("That task is gone")
    assert "No tasks" in listing(ui, text="#kites", visitor="someone-else-0123456789")[
        ui.history.rows]
    # the tags go with the task
    ui.history.handlers["delete"](ui.token(VISITOR), f"{red.id}|1", "", "", 1)
    assert ui.ctx.runtime.store.tags_of(owner(ui), [red.id]) == {}
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for junk in (None, 3, [], {"a": 1}, "x" * 100_000, "#" * 5000, "|"):
            for who in (ui.token(VISITOR), None, "forged", junk):
                save(who, junk, junk, junk, junk, junk)
                listing(ui, text=junk if isinstance(junk, str) else "")

