"""Styles through the prompt box's handlers, as a page or a raw API call would call them: a
visitor's styles are theirs (nobody else lists, applies or overwrites them), shipped styles
are read-only, fields are bounded, and no argument makes a handler fail."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import BuiltUi, built_ui
from webui.core.presets import PRESETS_DIR
from webui.ui import toasts
from webui.ui.prompt_box import style_choices
from webui.ui.tasks import KEEP

A = "visitor-a-0123456789abcdef"
B = "visitor-b-0123456789abcdef"
ATTACK = "x" * (128 * 1024 + 1)  # over Python's csv field limit


def save(ui: BuiltUi, visitor: str | None, name: Any, prompt: Any = "",
         negative: Any = "") -> tuple[Any, Any]:
    return ui.tab.box.handlers["save"](ui.token(visitor), name, prompt, negative)


def apply(ui: BuiltUi, visitor: str | None, names: Any, prompt: Any = "a cat",
          negative: Any = "") -> tuple[Any, Any, Any]:
    return ui.tab.box.handlers["apply"](ui.token(visitor), names, prompt, negative)


def listed(update: Any) -> list[str]:
    return [value for _, value in update.choices]


def request_json(ui: BuiltUi, visitor: str, styles: list[str]) -> str:
    return ui.tab.preview_request(ui.data(visitor, prompt="a cat", styles=styles)
                                  )[ui.tab.request_json]


def test_a_visitors_style_is_theirs_alone(ui: BuiltUi) -> None:
    choices, name_box = save(ui, A, "Secret", "A's private words, {prompt}", "A's negative")
    assert "Secret" in listed(choices) and "Photographic" in listed(choices)
    assert name_box.value == ""
    assert "Secret" in listed(style_choices(ui.ctx, A))
    assert "Secret" not in listed(style_choices(ui.ctx, B))  # B does not list it
    assert "Secret" not in listed(style_choices(ui.ctx, None))
    # B cannot apply it (a forged name), here or at Generate
    with pytest.warns(UserWarning, match="Styles: 'Secret' is not one of your styles"):
        prompt, _, _ = apply(ui, B, ["Secret"])
    assert prompt.value is None  # unchanged
    assert "A's private words" in request_json(ui, A, ["Secret"])
    shown = request_json(ui, B, ["Secret"])
    assert "not one of your styles" in shown and "private" not in shown
    with pytest.warns(UserWarning, match="Styles: 'Secret' is not one of your styles"):
        assert list(ui.tab.generate(ui.data(B, prompt="a cat", styles=["Secret"]))) == [KEEP]
    # B saving the same name makes B's own; A's is untouched
    save(ui, B, "Secret", "B's words")
    assert apply(ui, A, ["Secret"])[:2] == ("A's private words, a cat", "A's negative")
    assert apply(ui, B, ["Secret"])[:2] == ("a cat, B's words", "")


def test_shipped_styles_cannot_be_overwritten(ui: BuiltUi) -> None:
    with pytest.warns(UserWarning, match="^Style name: 'Photographic' is a shipped style; "
                                         "choose another name$"):
        save(ui, B, "Photographic", "B's text in everyone's prompt")
    prompt = apply(ui, A, ["Photographic"])[0]
    assert prompt.startswith("cinematic photo of a cat") and "B's text" not in prompt


def test_a_128_kib_prompt_is_refused_and_everything_still_works(ui: BuiltUi,
                                                                tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="^Prompt: a style keeps at most 8000 characters"):
        save(ui, A, "attack", ATTACK)
    with pytest.warns(UserWarning, match="^Negative prompt: a style keeps at most 8000"):
        save(ui, A, "attack", "", ATTACK)
    assert "attack" not in listed(style_choices(ui.ctx, A))
    save(ui, A, "after", "still {prompt} works")
    assert apply(ui, A, ["after"])[0] == "still a cat works"
    assert "still a cat works" in request_json(ui, A, ["after"])


def test_the_app_starts_with_a_legacy_shared_file_holding_a_200_kib_field(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    legacy = data / "styles.csv"
    legacy.write_text(f'name,prompt,negative_prompt\nAttack,"{"y" * 200 * 1024}",\n'
                      "Leaked,someone's words,\n", encoding="utf-8")
    with built_ui(tmp_path) as ui:
        assert not legacy.exists() and list(data.glob("styles.csv.shared-before-upgrade-*"))
        names = listed(style_choices(ui.ctx, A))
        assert "Leaked" not in names and "Photographic" in names  # nobody gets its rows
        save(ui, A, "mine", "x")
        assert "mine" in listed(style_choices(ui.ctx, A))
    with built_ui(tmp_path) as ui:  # and again, as after a restart
        assert "mine" in listed(style_choices(ui.ctx, A))


def test_the_dropdown_starts_with_the_shipped_styles(ui: BuiltUi) -> None:
    assert listed(ui.tab.box.styles) == ui.ctx.styles.names(None)
    assert "Photographic" in listed(ui.tab.box.styles)
    update = style_choices(ui.ctx, A, selected=["Photographic", "gone", 3])
    assert update.value == ["Photographic"]


JUNK: list[Any] = [None, 0, 3.5, True, [], ["a"] * 10_000, {"name": "x"}, "x" * 1_000_000,
                   ["Photographic"] * 10_000, [None, {"a": 1}, ["nested"]], "Photographic",
                   [str(n) for n in range(10_000)], "\x00", b"bytes"]


def test_every_argument_is_answered_without_a_traceback(ui: BuiltUi) -> None:
    """A raw API call may send anything to each input."""
    visitors: list[Any] = [A, None, "", "not-a-signed-id-0123456789", 12, ["x"]]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for junk in JUNK:
            for who in visitors:
                save(ui, who, junk, junk, junk)
                save(ui, who, "ok name", junk, "")
                apply(ui, who, junk, junk, junk)
                apply(ui, who, ["Photographic"], junk, "")
            ui.tab.preview_request(ui.data(A, prompt="a cat", styles=junk))  # as at Generate
    assert ui.ctx.styles.names(ui.ctx.owner(A)) == sorted(
        [*ui.ctx.styles.names(None), "ok name"], key=str.casefold)
    assert (PRESETS_DIR / "styles.csv").read_text(encoding="utf-8").count("ok name") == 0


def test_a_style_is_edited_and_deleted_by_its_owner_only(
        ui: BuiltUi, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(toasts, "info", lambda text, *_: said.append(str(text)))
    monkeypatch.setattr(toasts, "warn", lambda text, *_: said.append(str(text)))
    handlers = ui.tab.box.handlers
    save(ui, A, "mine", "a cat", "blurry")
    assert handlers["load_style"](ui.token(A), "mine") == ("a cat", "blurry")
    assert handlers["load_style"](ui.token(B), "mine") == ("", "")  # not B's to see
    handlers["update_style"](ui.token(A), "mine", "a dog", "", [])
    assert "saved" in said[-1]
    assert handlers["load_style"](ui.token(A), "mine") == ("a dog", "")
    handlers["delete_style"](ui.token(B), "mine", [])
    assert "not one of your styles" in said[-1]
    handlers["delete_style"](ui.token(A), "Photographic", [])
    assert "not one of your styles" in said[-1]
    handlers["delete_style"](ui.token(A), "mine", [])
    assert "again" in said[-1]  # the first click asks
    assert "mine" in ui.ctx.styles.names(ui.ctx.owner(A))
    handlers["delete_style"](ui.token(A), "mine", ["mine", "Photographic"])
    assert "deleted" in said[-1]
    assert "mine" not in ui.ctx.styles.names(ui.ctx.owner(A))
    assert "Photographic" in ui.ctx.styles.names(None)


def test_the_style_editor_answers_any_argument(ui: BuiltUi) -> None:
    handlers = ui.tab.box.handlers
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for junk in JUNK:
            for who in (ui.token(A), None, "forged", junk):
                handlers["load_style"](who, junk)
                handlers["update_style"](who, junk, junk, junk, junk)
                handlers["delete_style"](who, junk, junk)
    assert (PRESETS_DIR / "styles.csv").read_text(encoding="utf-8").count("Photographic") == 1
