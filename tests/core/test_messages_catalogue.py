"""The messages catalogue (webui/locale/*/LC_MESSAGES/messages.po, webui/core/messages.py):
every key the code uses has English and Chinese, both sides have the same placeholders, and
the browser's language picks one."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from webui.core.history import HistoryPage, HistoryRow
from webui.messages import (
    LOCALE_DIR,
    Language,
    catalogue,
    message,
    negotiate,
    placeholders,
)
from webui.ui.tabs.history import rows_html

WEBUI = Path(__file__).resolve().parents[2] / "webui"
KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")  # readable keys: "queue.head"


def used_keys() -> set[str]:
    """What `pybabel extract -k message -k Msg` finds: the first argument of each message(...) and Msg(...)."""
    found = extract_from_dir(str(WEBUI), method_map=[("**.py", "python")],
                             keywords={"message": (1,), "Msg": (1,)})
    return {key for _, _, key, _, _ in found if isinstance(key, str) and KEY.fullmatch(key)}


def test_every_key_in_the_code_has_english_and_chinese() -> None:
    keys = used_keys()  # (a key built at run time, as the History headings', is checked below)
    assert len(keys) >= 15
    for language in Language:
        missing = sorted(keys - set(catalogue(language)))
        assert not missing, f"{language}: no entry for {missing}"


def test_each_language_has_the_same_keys_and_placeholders() -> None:
    english, chinese = catalogue(Language.EN), catalogue(Language.ZH_CN)
    assert set(english) == set(chinese)
    for key, text in english.items():
        assert placeholders(text) == placeholders(chinese[key]), key
    assert {p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")} == \
        {str(language) for language in Language}


def test_the_browser_language_picks_the_catalogue() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") is Language.ZH_CN
    assert negotiate("en-US,zh-CN;q=0.5") is Language.EN
    assert negotiate("fr-FR, zh-Hans;q=0.7") is Language.ZH_CN  # the first it has
    assert negotiate("de") is Language.EN and negotiate(None) is Language.EN
    assert negotiate("x" * 10_000) is Language.EN and negotiate(";q=abc,*") is Language.EN
    assert message("queue.head", Language.ZH_CN, running=2, waiting=1) == \
        "队列：2 个运行中，1 个等待中"


def test_history_is_rendered_in_chinese_and_a_prompt_shows_as_typed() -> None:
    row = HistoryRow(id="t1", kind="txt2img", state=message("task.state.done", Language.ZH_CN),
                     final=True, failed=False, prompt="original", images=1, billed_calls=1,
                     created="2026-12-02 10:00", took="1.0 s", thumbnail=None)
    table = rows_html(HistoryPage([row], 1, 1, 1), Language.ZH_CN)
    for heading in ("类型", "状态", "提示词", "图像", "计费调用", "耗时", "创建时间"):
        assert f"<th>{heading}</th>" in table
    assert "<td>original</td>" in table and "完成" in table
    english = rows_html(HistoryPage([row], 1, 1, 1))
    assert "<th>Kind</th>" in english and "<th>Billed calls</th>" in english


# Latin words the Chinese catalogue may hold: names (products, formats, settings, A1111's
# infotext keys) and the wire's own spellings, never English prose
IDENTIFIERS = {
    "ACCESS", "ADetailer", "API", "APP", "APPCODE", "Access", "AccessKey", "AppCode", "AppKey",
    "AppSecret", "BASE", "BUCKET", "CFG", "CLIP", "Canny", "CodeFormer", "ControlNet", "Ctrl",
    "DIR", "Diffusion", "English", "Enter", "GFPGAN", "Gradio", "HTTP", "Hires", "ID", "JPEG",
    "JSON", "KEY", "Key", "LoRA", "MB", "Negative", "OSS", "OUTPUTS", "PNG", "PostgreSQL", "PUBLIC", "SDXL",
    "SECRET", "Sampler", "Scale", "Secret", "Seed", "Space", "Stable", "Steps", "UI", "URL",
    "VAE", "Web", "WebP", "WebUI", "ZHIQITE", "auto", "blue", "callback", "canny", "cat",
    "cloud", "controlnet", "curl", "false", "fix", "green", "http", "https", "infotext",
    "isAdult", "lora", "name", "off", "offline", "on", "poll", "port", "postgresql", "presets", "prompt",
    "zip",
    "red", "sampler", "share", "subseed", "tiling", "true", "txt", "wildcards", "xx",
}


def test_the_chinese_catalogue_holds_no_english_prose() -> None:
    """A new entry copied in English, or a sentence left half translated, fails here (a
    name that reads the same in both languages goes into IDENTIFIERS, reviewed)."""
    leftovers = {}
    for key, text in catalogue(Language.ZH_CN).items():
        words = set(re.findall(r"[A-Za-z]{2,}", re.sub(r"\{\w+\}", "", text))) - IDENTIFIERS
        if words:
            leftovers[key] = sorted(words)
    assert leftovers == {}
