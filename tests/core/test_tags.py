"""The autocomplete's tag list: a tagcomplete-format CSV answered by prefix (a tag's start,
any word's start, an alias), most used first, through its HTTP route; a bad setting is
refused at start with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from webui.core.routes import TAGS_PATH, tags_router
from webui.core.runtime import SettingError, Settings, read_tags
from webui.core.tags import MAX_SUGGESTIONS, TagList, prompt_text

TAGS = Path(__file__).resolve().parents[1] / "fixtures" / "tags.csv"


@pytest.fixture(scope="module")
def tags() -> TagList:
    return TagList.read(TAGS)


def texts(tags: TagList, query: object) -> list[str]:
    return [tag.text for tag in tags.suggest(query)]


def test_a_tag_is_found_by_its_start_and_by_any_words_most_used_first(tags: TagList) -> None:
    # a tag that starts so before one with a later word that does; then the most used
    assert texts(tags, "blu") == ["blush", "blue eyes", "blue sky", "light blue hair"]
    assert texts(tags, "hair") == ["long hair", "light blue hair"]
    assert texts(tags, "Long_H") == ["long hair"]


def test_an_alias_finds_its_tag_and_says_so(tags: TagList) -> None:
    [found] = tags.suggest("sole")
    assert (found.text, found.alias) == ("1girl", "sole female")
    [found] = tags.suggest("miku")  # a word of the tag itself: no alias to show
    assert (found.text, found.alias) == ("hatsune miku", None)


def test_tags_are_written_as_prompts_hold_them() -> None:
    assert prompt_text("blue_eyes") == "blue eyes" and prompt_text("^_^") == "^_^"


@pytest.mark.parametrize("junk", ["", "   ", None, 3, ["blue"], "\x00", "z" * 10_000, "%"])
def test_any_query_is_answered(tags: TagList, junk: object) -> None:
    assert len(tags.suggest(junk)) <= MAX_SUGGESTIONS


def test_the_route_answers_from_the_list_and_404s_without_one(tags: TagList) -> None:
    app = FastAPI()
    app.include_router(tags_router(tags))
    answer = TestClient(app).get(TAGS_PATH, params={"q": "sole_f"})
    assert answer.json() == [["1girl", 5200000, "sole female"]]
    bare = FastAPI()
    bare.include_router(tags_router(None))
    assert TestClient(bare).get(TAGS_PATH, params={"q": "miku"}).status_code == 404


def test_a_tag_list_that_is_not_there_or_not_text_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="ZHIQITE_TAGS_CSV must name a file"):
        Settings.from_env({"ZHIQITE_TAGS_CSV": str(tmp_path / "gone.csv")})
    binary = tmp_path / "tags.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SettingError, match="ZHIQITE_TAGS_CSV: the tag list cannot be read"):
        read_tags(Settings.from_env({"ZHIQITE_TAGS_CSV": str(binary)}).tags_csv)
