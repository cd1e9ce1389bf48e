"""The page in Chinese (a zh-CN browser) and in English, used end to end in both: labels from
gr.I18n, and every message the server sends (toasts and their titles, status lines, the meter,
History, Test connection) rendered on the server, in the browser's language, from the
catalogue. Gradio's own language switch (the footer's Settings) changes the server's language
too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import open_page
from tests.browser.test_txt2img import set_number
from webui.ui.app import Launched

pytestmark = pytest.mark.browser

# Latin words a Chinese message may hold: a request field's wire name, formats, names
WIRE_NAMES = {"width", "image_link", "PNG", "JPEG", "WebP", "URL", "http", "https"}


def english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_]+", text) if w not in WIRE_NAMES]


SAID = {
    "zh-CN": {
        "labels": ["文生图", "图生图", "后期处理", "历史记录", "正向提示词", "迭代步数", "生成"],
        "done": "完成：1 张图像", "meter": "计费调用：本任务", "title": "注意",
        "width": "宽度：width 必须是 8 的倍数", "no_image": "图像：",
        "works": "连接正常", "headings": ["类型", "状态", "提示词", "计费调用", "创建时间"],
        "queue": "队列：没有运行中的任务", "test": "测试连接", "unit": "ControlNet 单元 1",
    },
    "en-US": {
        "labels": ["txt2img", "img2img", "Extras", "History", "Prompt", "Sampling steps",
                   "Generate"],
        "done": "Done: 1 image", "meter": "Billed calls:", "title": "Warning",
        "width": "Width: width must be a multiple of 8", "no_image": "Image:",
        "works": "Connection works", "headings": ["Kind", "State", "Prompt", "Billed calls",
                                                  "Created"],
        "queue": "Queue: nothing running", "test": "Test connection",
        "unit": "ControlNet Unit 1",
    },
}


def toast(page: Any, text: str) -> Any:
    found = page.locator(".toast-body", has_text=text).first
    found.wait_for(timeout=30_000)
    return found


def texts_of(found: Any) -> str:
    return "\n".join(found.locator("[data-testid=toast-text]").all_inner_texts())


def title_of(found: Any) -> str:
    """The toast's heading as it is seen (Gradio writes its kind in English; the page's CSS
    shows the catalogue's word in another language)."""
    return found.locator(".toast-title").evaluate(
        """e => {
          const before = getComputedStyle(e, '::before').content;
          const shown = before && before !== 'none' ? before.replace(/^"|"$/g, '') : '';
          return (shown || e.firstChild.textContent).trim();  // not the count "(2)"
        }""")


def close_toasts(page: Any) -> None:
    for button in page.locator(".toast-close").all():
        if button.is_visible():
            button.click()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_page_and_the_server_speak_the_browsers_language(browser: Any, app: Launched,
                                                            locale: str) -> None:
    said = SAID[locale]
    chinese = locale == "zh-CN"
    context, page = open_page(browser, app, locale)
    try:
        text = page.locator("body").inner_text()
        assert all(word in text for word in said["labels"]), \
            [w for w in said["labels"] if w not in text]
        assert "__i18n__" not in text
        page.wait_for_function("t => document.querySelector('#zq_queue').innerText.trim() === t",
                               arg=said["queue"])
        # ControlNet's unit picker, which the page's load sets (the units Settings offers)
        page.locator("#txt2img_controlnet").get_by_text("ControlNet", exact=True).first.click()
        units = page.locator("#txt2img_cn_unit").inner_text()
        assert said["unit"] in units, units

        # a finished task: its status line and the meter; the prompt is a word the page
        # translates as a label ("original": 原图), and History shows it as typed
        page.locator("#txt2img_prompt textarea").fill("original")
        set_number(page, "txt2img_steps", 6)
        page.locator("#txt2img_generate").click()
        page.wait_for_function("t => document.querySelector('#txt2img_status').innerText"
                               ".includes(t)", arg=said["done"], timeout=30_000)
        assert page.locator("#txt2img_gallery img").count() >= 1
        meter = page.locator("#txt2img_meter").inner_text()
        assert said["meter"] in meter
        status = page.locator("#txt2img_status").inner_text()
        if chinese:
            assert english_words(status + meter) == [], status + meter

        # a width refusal: the toast's title and text
        set_number(page, "txt2img_width", 1020)
        page.locator("#txt2img_generate").click()
        refused = toast(page, said["width"])
        assert title_of(refused) == said["title"]
        if chinese:
            assert english_words(texts_of(refused)) == [], texts_of(refused)
        set_number(page, "txt2img_width", 512)
        close_toasts(page)

        # img2img's Generate without a picture
        page.locator("#tab_img2img-button").click()
        page.locator("#img2img_prompt textarea").fill("a red door")
        page.locator("#img2img_generate").click()
        missing = toast(page, said["no_image"])
        if chinese:
            assert english_words(texts_of(missing)) == [], texts_of(missing)
        close_toasts(page)

        # History: headings in the language, the prompt as typed
        page.locator("#tab_history-button").click()
        page.locator("#history_rows tr[data-task]").first.wait_for()
        table = page.locator("#history_rows thead").inner_text()
        assert all(heading in table for heading in said["headings"]), table
        prompts = page.locator("#history_rows tbody td:nth-child(4)").all_inner_texts()
        assert "original" in prompts, prompts

        # Settings: Test connection answers in the language
        page.locator("#tab_settings-button").click()
        assert said["test"] in page.locator("#settings_test").inner_text()
        page.locator("#settings_test").click()
        page.wait_for_function("t => document.querySelector('#settings_key_status').innerText"
                               ".includes(t)", arg=said["works"])
        answer = page.locator("#settings_key_status").inner_text()
        if chinese:
            # the host and port are the values
            assert english_words(re.sub(r"\S+:\d+", "", answer)) == [], answer
    finally:
        context.close()


def test_gradios_language_switch_changes_the_servers_language(browser: Any,
                                                              app: Launched) -> None:
    """An English browser switched to 简体中文 in the footer's Settings: the labels change
    in the browser, and the next message from the server comes in Chinese."""
    context, page = open_page(browser, app, "en-US")
    try:
        page.locator("footer").get_by_text("Settings").click()
        language = page.locator("input[aria-label='Language']")
        language.click()
        page.locator("ul[role=listbox] li", has_text="简体中文").first.click()
        page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
        # Gradio's own "More tabs" label, which its translations leave in English, follows
        more_tabs = "() => document.querySelector('[data-zq-label=\"More tabs\"]')" \
            "?.getAttribute('aria-label')"
        page.wait_for_function(f"({more_tabs})() === '更多标签页'")
        page.keyboard.press("Escape")
        page.locator("#tab_txt2img-button").click(force=True)
        page.wait_for_function("() => document.cookie.includes('zhiqite_lang=zh-CN')")
        page.locator("#txt2img_prompt textarea").fill("a lantern")
        set_number(page, "txt2img_width", 1020)
        page.locator("#txt2img_generate").click()
        refused = toast(page, SAID["zh-CN"]["width"])
        assert title_of(refused) == "注意"
        # what streams from the server follows too: the queue strip
        page.wait_for_function("t => document.querySelector('#zq_queue').innerText.trim() === t",
                               arg=SAID["zh-CN"]["queue"])
        close_toasts(page)
        # and back to English
        page.locator("footer").get_by_text("设置").click()
        page.locator("input[aria-label='Language']").click()
        page.locator("ul[role=listbox] li", has_text="English").first.click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        page.wait_for_function(f"({more_tabs})() === 'More tabs'")
        page.keyboard.press("Escape")
        page.locator("#tab_txt2img-button").click(force=True)
        page.wait_for_function("() => document.cookie.includes('zhiqite_lang=en')")
        page.locator("#txt2img_generate").click()
        assert title_of(toast(page, SAID["en-US"]["width"])) == "Warning"
        page.wait_for_function("t => document.querySelector('#zq_queue').innerText.trim() === t",
                               arg=SAID["en-US"]["queue"])
    finally:
        context.close()


def test_on_a_chinese_phone_the_tabs_menu_is_named_in_chinese(browser: Any,
                                                              app: Launched) -> None:
    """The tabs a phone cannot show are behind Gradio's "More tabs" button, a label its
    translations leave in English: a screen reader says it in the page's language."""
    context, page = open_page(browser, app, "zh-CN", viewport={"width": 390, "height": 844},
                              has_touch=True, is_mobile=True)
    try:
        page.get_by_role("button", name="更多标签页").click()
        page.locator(".overflow-dropdown button", has_text="设置").click()
        page.locator("#settings_test").wait_for()
        assert page.get_by_role("button", name="More tabs").count() == 0
    finally:
        context.close()
