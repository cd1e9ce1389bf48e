"""The page in Chinese (a zh-CN browser) and in English, used end to end in both."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import open_page
from tests.browser.test_txt2img import set_number
from webui.ui.app import Launched

pytestmark = pytest.mark.browser


SAID = {"zh-CN": ("完成：1 张图像", "宽度：width 必须是 8 的倍数", "计费调用："),
        "en-US": ("Done: 1 image", "Width: width must be a multiple of 8", "Billed calls:")}


@pytest.mark.parametrize(("locale", "words"), [
    ("zh-CN", ["文生图", "图生图", "后期处理", "历史记录", "正向提示词", "迭代步数", "生成"]),
    ("en-US", ["txt2img", "img2img", "Extras", "History", "Prompt", "Sampling steps",
               "Generate"]),
])
def test_the_page_speaks_the_browsers_language(browser: Any, app: Launched, locale: str,
                                               words: list[str]) -> None:
    done, warning, meter = SAID[locale]
    context, page = open_page(browser, app, locale)
    try:
        text = page.locator("body").inner_text()
        assert all(word in text for word in words), [w for w in words if w not in text]
        assert "__i18n__" not in text and "zq_" not in text
        # used in that language: a preset from the translated list, then Generate
        page.locator("#txt2img_prompt textarea").fill("a paper lantern")
        set_number(page, "txt2img_steps", 6)
        page.locator("#txt2img_generate").click()
        page.wait_for_function(f"() => document.querySelector('#txt2img_status').innerText"
                               f".includes({done!r})", timeout=30_000)
        assert page.locator("#txt2img_gallery img").count() >= 1
        assert meter in page.locator("#txt2img_meter").inner_text()
        set_number(page, "txt2img_width", 1020)  # refused with a message in that language
        page.locator("#txt2img_generate").click()
        page.locator(".toast-body", has_text=warning).first.wait_for()
        set_number(page, "txt2img_width", 512)
        page.locator("#tab_settings-button").click()
        settings = page.locator("#tab_settings").inner_text()
        assert ("测试连接" in settings) == (locale == "zh-CN")
        assert "__i18n__" not in settings
    finally:
        context.close()


def test_the_page_translates_messages_as_python_does(page: Any) -> None:
    from webui.ui.messages import translate

    samples = ["Queued (position 4)", "Generating, batch 2/3, 40%", "Done: 3 images",
               "Failed: no face found in the source image", "Steps: steps must be in [1, 150], "
               "got 151", "Page 1 of 3 · 45 task(s)", "Something else entirely"]
    in_page = page.evaluate("(texts) => texts.map((t) => window.zqTranslate(t))", samples)
    assert in_page == [translate(text) for text in samples]


@pytest.mark.parametrize(("locale", "headings", "empty_queue"), [
    ("zh-CN", ["类型", "状态", "提示词", "计费调用", "创建时间"], "队列：没有运行中的任务"),
    ("en-US", ["Kind", "State", "Prompt", "Billed calls", "Created"], "Queue: nothing running"),
])
def test_history_and_the_queue_are_rendered_in_the_browsers_language(
        browser: Any, app: Launched, locale: str, headings: list[str],
        empty_queue: str) -> None:
    """Rendered on the server from the catalogue: a prompt that is also a word the page
    translates ("original") shows as typed."""
    context, page = open_page(browser, app, locale)
    try:
        page.wait_for_function("t => document.querySelector('#zq_queue').innerText.trim() === t",
                               arg=empty_queue)
        page.locator("#txt2img_prompt textarea").fill("original")
        set_number(page, "txt2img_steps", 4)
        page.locator("#txt2img_generate").click()
        page.locator("#txt2img_gallery img").first.wait_for(timeout=30_000)
        page.locator("#tab_history-button").click()
        page.locator("#history_rows tr[data-task]").first.wait_for()
        table = page.locator("#history_rows thead").inner_text()
        assert all(heading in table for heading in headings), table
        prompts = page.locator("#history_rows tbody td:nth-child(4)").all_inner_texts()
        assert "original" in prompts, prompts
    finally:
        context.close()
