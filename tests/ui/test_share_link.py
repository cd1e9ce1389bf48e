"""Share links: made for the owner's chosen picture only, the same link twice, the page
shows that picture and its parameters and nothing else, revoking or deleting ends it, any
argument is answered; the page is inert (no script, no referrer, not cached)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ui.conftest import BuiltUi
from tests.ui.test_history import VISITOR, generate, opened, owner
from webui.core.shares import share_router

OTHER = "someone-else-0123456789"
XSS = '<script>alert(1)</script>"><img src=x>'


@pytest.fixture
def web(ui: BuiltUi) -> TestClient:
    app = FastAPI()
    app.include_router(share_router(ui.ctx.runtime.store))
    return TestClient(app)


def share(ui: BuiltUi, task_id: str, picture: Any = None, visitor: str = VISITOR) -> Any:
    return ui.history.handlers["share_share"](ui.token(visitor), f"{task_id}|1", picture)


def revoke(ui: BuiltUi, task_id: str, picture: Any = None, visitor: str = VISITOR) -> Any:
    return ui.history.handlers["share_revoke"](ui.token(visitor), f"{task_id}|1", picture)


def test_a_link_shows_the_chosen_picture_and_nothing_else(ui: BuiltUi, web: TestClient,
                                                          said: list[str]) -> None:
    generate(ui, f"a red kite {XSS}", batch_size=2, seed=55)
    generate(ui, "a secret second task")
    kite = ui.ctx.runtime.store.list(owner(ui), limit=2)[1]
    link = share(ui, kite.id, 1)
    assert link.startswith("/share/") and len(link) == len("/share/") + 32
    assert said == ["Anyone with this link sees this one picture and its parameters, "
                    "nothing else of yours. Revoke it at any time."]
    assert share(ui, kite.id, 1) == link  # the same picture, the same link
    assert share(ui, kite.id, 0) != link
    page = web.get(link, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "分享的图片" in page.text
    assert f"Seed: {kite.images[1].seed}" in page.text  # its own parameters
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert "secret second" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    picture = web.get(f"{link}/picture.png")
    assert picture.status_code == 200
    assert picture.content == Path(kite.images[1].path or "").read_bytes()
    # shown again when the task is opened, and for the picture chosen in its gallery
    assert opened(ui, kite.id)[ui.history.share.link] == share(ui, kite.id, 0)
    picked_link = ui.history.handlers["share_picked_link"]
    assert picked_link(ui.token(VISITOR), f"{kite.id}|1", gr.SelectData(None, {"index": 1, "value": None})) \
        == link
    assert picked_link(ui.token(OTHER), f"{kite.id}|1", gr.SelectData(None, {"index": 1, "value": None})) \
        == gr.skip()
    # revoked: gone at once
    assert revoke(ui, kite.id, 1) == ""
    assert web.get(link).status_code == 404 and web.get(f"{link}/picture.png").status_code == 404
    assert "revoked" in said[-1]
    assert revoke(ui, kite.id, 1) is not None and said[-1] == "This picture has no link to revoke."


def test_only_the_owner_shares_and_a_deleted_task_ends_its_links(
        ui: BuiltUi, web: TestClient, said: list[str]) -> None:
    generate(ui, "a red kite")
    kite = ui.ctx.runtime.store.list(owner(ui), limit=1)[0]
    assert share(ui, kite.id, visitor=OTHER) is not None
    assert said == ["That task is gone (deleted, or not yours)."]
    assert ui.ctx.runtime.store.share_token(kite.id, owner(ui), 0) is None
    assert share(ui, kite.id, 5) is not None and said[-1].startswith("That task is gone")
    link = share(ui, kite.id)
    assert revoke(ui, kite.id, visitor=OTHER) is not None
    assert web.get(link).status_code == 200  # another visitor cannot revoke it
    ui.history.handlers["delete"](ui.token(VISITOR), f"{kite.id}|1", "", "", 1)
    assert web.get(link).status_code == 404


@pytest.mark.parametrize("path", ["/share/", "/share/x", "/share/" + "A" * 32,
                                  "/share/" + "A" * 33, "/share/../../etc/passwd",
                                  "/share/%2e%2e%2fetc", "/share/" + "A" * 32 + "/picture.png",
                                  "/share/" + "'" * 32])
def test_a_forged_link_opens_nothing(web: TestClient, path: str) -> None:
    assert web.get(path).status_code == 404


def test_share_answers_any_argument(ui: BuiltUi) -> None:
    generate(ui, "a red kite")
    handlers = ui.history.handlers
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for junk in (None, 3, True, [], {"a": 1}, "x" * 100_000, "|", "../../etc|1", -1,
                     10**30):
            for who in (ui.token(VISITOR), None, "forged", junk):
                for name in ("share_share", "share_revoke"):
                    handlers[name](who, junk, junk)
    assert ui.ctx.runtime.store.shared("x" * 32) is None
