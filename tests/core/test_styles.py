"""Styles are each visitor's own (in the store, by owner key), the shipped ones are read-only
and listed for everyone, every field is bounded, and no data file stops the app from
starting: style files read within bounds, a damaged app.key or task store set aside."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from webui.api.models import MAX_PROMPT_CHARS
from webui.core.keys import KEY_FILE, load_or_create_key
from webui.core.presets import (
    MAX_APPLIED_STYLES,
    MAX_STYLES_PER_OWNER,
    PRESETS_DIR,
    Style,
    StyleRefused,
    Styles,
    read_style_file,
    retire_shared_styles,
)
from webui.core.runtime import Runtime, Settings
from webui.core.store import SQLiteTaskStore

SHIPPED = PRESETS_DIR / "styles.csv"
A, B = "owner-a", "owner-b"
ATTACK = "x" * (128 * 1024 + 1)  # over Python's csv field limit (128 KiB)
HUGE_FIELD = "y" * (200 * 1024)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteTaskStore:
    return SQLiteTaskStore.in_dir(tmp_path / "data")


@pytest.fixture
def styles(store: SQLiteTaskStore) -> Styles:
    return Styles(SHIPPED, store)


def csv_file(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("name,prompt,negative_prompt\n" + "".join(f"{row}\n" for row in rows),
                    encoding="utf-8")
    return path


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


# --- point 2: bounded fields, and nothing that breaks later saves or the start -------------


def test_a_128_kib_prompt_is_refused_naming_the_field_and_styles_still_work(
        styles: Styles, store: SQLiteTaskStore) -> None:
    with pytest.raises(StyleRefused, match=f"^Prompt: a style keeps at most "
                                           f"{MAX_PROMPT_CHARS} characters"):
        styles.save(A, Style("attack", ATTACK))
    with pytest.raises(StyleRefused, match="^Negative prompt: .* at most 8000 characters"):
        styles.save(A, Style("attack", "", ATTACK))
    with pytest.raises(StyleRefused, match="^Style name: at most 100 characters"):
        styles.save(A, Style("n" * 101, "x"))
    with pytest.raises(StyleRefused, match="^Style name: must not be empty"):
        styles.save(A, Style("  ", "x"))
    assert styles.own(A) == {}  # nothing of the attack was kept
    # the limit itself is allowed, and saving and applying go on working
    styles.save(A, Style("long", "z" * MAX_PROMPT_CHARS))
    styles.save(A, Style("Mine, with \"quotes\"", "neon {prompt}", "dull"))
    again = Styles(SHIPPED, SQLiteTaskStore(store.path))  # as after a restart
    assert again.apply(A, ["Mine, with \"quotes\"", "Quality tags"], "a cat", "") == (
        "neon a cat, masterpiece, best quality",
        "dull, worst quality, low quality, lowres, bad anatomy, bad hands, jpeg artifacts")
    assert len(again.own(A)["long"].prompt) == MAX_PROMPT_CHARS


def test_fields_that_are_not_text_are_refused(styles: Styles) -> None:
    cases: list[tuple[tuple[Any, ...], str]] = [
        ((None, "x"), "Style name"), ((["a"], "x"), "Style name"), (("ok", 12), "Prompt"),
        (("ok", "", {"a": 1}), "Negative prompt"), (("two\nlines", "x"), "Style name")]
    for values, field in cases:
        with pytest.raises(StyleRefused, match=f"^{field}: "):
            styles.save(A, Style(*values))
    assert styles.own(A) == {}


def test_applying_is_bounded(styles: Styles) -> None:
    styles.save(A, Style("echo", "{prompt}" * 1000))  # within its 8000 characters
    assert styles.apply(A, ["echo"], "abc", "")[0] == "abc" * 1000
    with pytest.raises(StyleRefused, match="^Prompt: with the styles it would be over 8000"):
        styles.apply(A, ["echo"], "p" * 8000, "")  # 8 million characters: never built
    styles.save(A, Style("double", "{prompt}{prompt}"))
    # each application doubles the prompt: refused once over the limit, never built
    with pytest.raises(StyleRefused, match="^Prompt: with the styles it would be over 8000"):
        styles.apply(A, ["double"], "p" * 4001, "")
    assert styles.apply(A, ["double"], "p" * 4000, "")[0] == "p" * 8000
    with pytest.raises(StyleRefused, match=f"^Styles: at most {MAX_APPLIED_STYLES} at once"):
        styles.apply(A, ["double"] * 10_000, "a cat", "")
    with pytest.raises(StyleRefused, match="^Styles: must be a list of style names"):
        styles.apply(A, [None, 3], "a cat", "")
    with pytest.raises(StyleRefused, match="^Styles: must be a list of style names"):
        styles.apply(A, {"double": 1}, "a cat", "")
    assert styles.apply(A, ["double", "double"], "x", "") == ("xx", "")  # once each
    assert styles.apply(A, None, "a cat", None) == ("a cat", "")


# --- point 3: a visitor's styles are theirs; shipped ones are read-only ---------------------


def test_a_visitor_cannot_list_apply_or_overwrite_another_visitors_style(
        styles: Styles) -> None:
    styles.save(A, Style("Secret", "A's private words {prompt}", "A's negative"))
    assert "Secret" in styles.names(A)
    assert "Secret" not in styles.names(B) and "Secret" not in styles.names(None)
    with pytest.raises(StyleRefused, match="^Styles: 'Secret' is not one of your styles"):
        styles.apply(B, ["Secret"], "a cat", "")
    with pytest.raises(StyleRefused, match="not one of your styles"):
        styles.apply(None, ["Secret"], "a cat", "")
    styles.save(B, Style("Secret", "B's words"))  # B's own style of that name
    assert styles.apply(B, ["Secret"], "a cat", "") == ("a cat, B's words", "")
    assert styles.apply(A, ["Secret"], "a cat", "") == ("A's private words a cat",
                                                        "A's negative")
    assert styles.delete(B, "Secret") and not styles.delete(B, "Secret")
    assert "Secret" in styles.names(A)


def test_shipped_styles_are_listed_for_everyone_and_cannot_be_overwritten(
        styles: Styles) -> None:
    shipped = SHIPPED.read_bytes()
    for name in ("Photographic", " photographic ", "QUALITY TAGS"):
        with pytest.raises(StyleRefused, match=f"^Style name: {name.strip()!r} is a shipped "
                                               "style; choose another name$"):
            styles.save(B, Style(name, "B's text inserted into everyone's prompt"))
    assert styles.apply(A, ["Photographic"], "a cat", "")[0].startswith("cinematic photo")
    assert {"Photographic", "Anime", "Quality tags"} <= set(styles.names(A))
    assert styles.names(None) == styles.names(B)
    assert not styles.delete(B, "Photographic")
    assert SHIPPED.read_bytes() == shipped


def test_each_owner_keeps_at_most_the_cap(styles: Styles) -> None:
    for number in range(MAX_STYLES_PER_OWNER):
        styles.save(A, Style(f"style {number}", "x"))
    with pytest.raises(StyleRefused, match=f"^Style name: you already have "
                                           f"{MAX_STYLES_PER_OWNER} styles"):
        styles.save(A, Style("one more", "x"))
    styles.save(A, Style("style 7", "replaced"))  # replacing one is allowed
    assert styles.own(A)["style 7"].prompt == "replaced"
    assert len(styles.own(A)) == MAX_STYLES_PER_OWNER and "one more" not in styles.own(A)
    styles.save(B, Style("one more", "x"))  # another owner has their own room


# --- style files: read within bounds, never fatal ------------------------------------------


def test_a_shipped_file_with_oversized_rows_skips_them_with_a_warning(
        tmp_path: Path, store: SQLiteTaskStore, caplog: pytest.LogCaptureFixture) -> None:
    shipped = csv_file(tmp_path / "presets" / "styles.csv",
                       f'Huge,"{HUGE_FIELD}",',
                       f"Long,{'l' * (MAX_PROMPT_CHARS + 1)},",
                       f'"{"n" * 101}",x,',
                       'Fine,"fine {prompt}","with ""quotes"", and, commas"',
                       '"Multi\nline",x,',
                       "After,after,")
    before = shipped.read_bytes()
    with caplog.at_level(logging.WARNING):
        styles = Styles(shipped, store)
        assert set(styles.shipped()) == {"Fine", "After"}
    assert styles.shipped()["Fine"].negative_prompt == 'with "quotes", and, commas'
    logged = warnings_of(caplog)
    assert "line 2: longer than any style can be" in logged
    assert "line 3: Prompt: a style keeps at most 8000 characters" in logged
    assert "line 4: Style name: at most 100 characters" in logged
    assert "line 6: Style name: no line breaks" in logged
    caplog.clear()
    styles.names(A)  # read once per change of the file: no new warnings
    assert warnings_of(caplog) == ""
    assert shipped.read_bytes() == before  # a shipped file is never changed


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage\x00" * 50, b"title,text\nA,b\n",
                                     b'name,prompt\n"never closed,x\n' + b"z" * 300_000])
def test_a_shipped_file_that_cannot_be_read_is_ignored_with_a_warning(
        tmp_path: Path, store: SQLiteTaskStore, caplog: pytest.LogCaptureFixture,
        content: bytes) -> None:
    shipped = tmp_path / "styles.csv"
    shipped.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        styles = Styles(shipped, store)
        assert styles.names(A) == []
        styles.save(A, Style("mine", "x"))  # the rest works
        assert styles.names(A) == ["mine"]
    assert str(shipped) in warnings_of(caplog)
    assert shipped.read_bytes() == content  # never moved nor changed


def test_a_legacy_shared_file_with_a_200_kib_field_is_set_aside_not_imported(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    legacy = csv_file(data / "styles.csv", f'Attack,"{HUGE_FIELD}",', "Leaked,A's words,")
    content = legacy.read_bytes()
    with caplog.at_level(logging.WARNING):
        aside = retire_shared_styles(data)
    assert aside is not None and not legacy.exists()
    assert aside.name.startswith("styles.csv.shared-before-upgrade-")
    assert aside.read_bytes() == content
    logged = warnings_of(caplog)
    assert "1 style(s)" in logged and "presets/styles.csv" in logged and aside.name in logged
    assert retire_shared_styles(data) is None  # once
    styles = Styles(SHIPPED, SQLiteTaskStore.in_dir(data))
    assert "Leaked" not in styles.names(A) and "Attack" not in styles.names(A)


def test_an_unreadable_legacy_file_is_set_aside_as_bad(tmp_path: Path) -> None:
    legacy = tmp_path / "styles.csv"
    legacy.write_bytes(b"\xff\xfe not utf-8")
    aside = retire_shared_styles(tmp_path)
    assert aside is not None and aside.name.startswith("styles.csv.bad-")
    assert not legacy.exists()


def test_reading_a_style_file_never_raises_the_csv_field_limit(tmp_path: Path) -> None:
    import csv

    limit = csv.field_size_limit()
    read = read_style_file(csv_file(tmp_path / "s.csv", f'Huge,"{HUGE_FIELD}",', "Ok,ok,"))
    assert list(read.styles) == ["Ok"] and len(read.skipped) == 1
    assert csv.field_size_limit() == limit


# --- other data files: set aside, a new one made, the app starts ----------------------------


def test_a_damaged_app_key_is_set_aside_and_a_new_one_made(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / KEY_FILE).write_bytes(b"short")
    with caplog.at_level(logging.WARNING):
        key = load_or_create_key(tmp_path)
    assert len(key) == 32 and (tmp_path / KEY_FILE).read_bytes() == key
    aside = list(tmp_path.glob(f"{KEY_FILE}.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"short"
    assert "Callbacks of tasks still pending are refused" in warnings_of(caplog)
    assert load_or_create_key(tmp_path) == key  # kept from now on
    assert b"short" not in warnings_of(caplog).encode()  # no key bytes in the log


def test_a_task_store_that_is_not_a_database_is_set_aside(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tasks.sqlite3"
    junk = b"this is not a database\n" * 100
    path.write_bytes(junk)
    with caplog.at_level(logging.WARNING):
        store = SQLiteTaskStore(path)
    assert store.save_style(A, Style("works", "x"), limit=1)
    aside = list(tmp_path.glob("tasks.sqlite3.bad-*"))
    assert [p.read_bytes() for p in aside] == [junk]
    assert "cannot be opened" in warnings_of(caplog)


def test_a_store_made_by_an_earlier_version_gets_the_styles_table(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    with sqlite3.connect(path) as db:  # before styles were kept per owner
        db.execute("CREATE TABLE tasks (id TEXT PRIMARY KEY, kind TEXT NOT NULL, owner TEXT "
                   "NOT NULL, request TEXT NOT NULL, prompt TEXT NOT NULL DEFAULT '', mode TEXT "
                   "NOT NULL, state TEXT NOT NULL, submitted INTEGER NOT NULL DEFAULT 0, "
                   "created_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL, "
                   "billed_calls INTEGER NOT NULL DEFAULT 0, error TEXT, timed_out INTEGER NOT "
                   "NULL DEFAULT 0, resumed INTEGER NOT NULL DEFAULT 0, progress REAL, job_no "
                   "INTEGER, job_count INTEGER, queue_position INTEGER, images TEXT NOT NULL "
                   "DEFAULT '[]')")
    db.close()
    store = SQLiteTaskStore(path)
    assert store.save_style(A, Style("kept", "x"), limit=1)
    assert not store.save_style(A, Style("over the cap", "x"), limit=1)
    assert store.styles(A) == [Style("kept", "x")] and store.styles(B) == []
    assert not list(tmp_path.glob("*.bad-*"))


def test_a_store_that_cannot_be_opened_for_another_reason_is_left_alone(
        tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    path.mkdir()  # not the file's content: an error to see, not a file to set aside
    with pytest.raises(sqlite3.OperationalError):
        SQLiteTaskStore(path)
    assert path.is_dir() and not list(tmp_path.glob("*.bad-*"))


def test_the_app_starts_over_damaged_data_files(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / KEY_FILE).write_bytes(b"")
    (data / "tasks.sqlite3").write_bytes(b"\x00junk" * 1000)
    settings = Settings(data_dir=data, outputs_dir=tmp_path / "outputs", backend="offline")
    with caplog.at_level(logging.WARNING):
        runtime = Runtime.open(settings, env={})
    try:
        assert runtime.store.count("anyone") == 0
        assert len((data / KEY_FILE).read_bytes()) == 32
        assert list(data.glob(f"{KEY_FILE}.bad-*")) and list(data.glob("tasks.sqlite3.bad-*"))
    finally:
        runtime.close()
