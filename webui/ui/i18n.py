"""English and Simplified Chinese for the page (`gr.I18n`): the browser's language picks one,
and Gradio's own Settings panel (footer) switches it.

The tabs are written in English; `translate(blocks)` runs once at the end of `build()` and turns
every label, info text, placeholder, button, tab, accordion, static Markdown and UI choice
whose English text is in `ZH` into a translation key, so a tab module needs no wrapper calls.
Identifiers (model, sampler, upscaler and preprocessor names, file formats) stay as they are
in both languages. `tests/ui/test_i18n.py` fails when a label has no translation."""

from __future__ import annotations

import hashlib
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

ZH: dict[str, str] = {
    # shell and top bar
    "**Offline demo backend: images are synthetic.** No credentials are set, so this app runs "
    "its own stand-in for the Zhiqite API on this machine. Set `ZHIQITE_APPCODE` (or an "
    "AppKey/AppSecret) to use the real service.":
        "**离线演示后端：图像为合成图。** 未设置凭证，本应用在本机运行一个模拟智启特 API 的后端。"
        "设置 `ZHIQITE_APPCODE`（或 AppKey/AppSecret）即可使用真实服务。",
    "**History is not kept on this Space.** It has no persistent storage, so tasks and images "
    "are lost when it restarts: download what you want to keep (Save), or duplicate the Space "
    "and add persistent storage.":
        "**此 Space 不保留历史记录。** 它没有持久存储，重启后任务和图像都会丢失：请下载要保留的"
        "内容（保存），或复制此 Space 并添加持久存储。",
    "Stable Diffusion checkpoint": "Stable Diffusion 模型",
    "SD VAE": "外挂 VAE 模型",
    "Automatic": "自动",
    "Clip skip": "CLIP 终止层数",
    "txt2img": "文生图",
    "img2img": "图生图",
    "Extras": "后期处理",
    "Face swap": "换脸",
    "PNG Info": "PNG 图片信息",
    "History": "历史记录",
    "Settings": "设置",
    # prompt box and styles
    "Prompt": "正向提示词",
    "Prompt (Ctrl+Enter to generate; LoRAs as <lora:name:weight>)":
        "正向提示词（Ctrl+Enter 生成；LoRA 写作 <lora:名称:权重>）",
    "0 chars": "0 个字符",
    "Negative prompt": "反向提示词",
    "Negative prompt (embeddings go here)": "反向提示词（嵌入式模型写在这里）",
    "Generate": "生成",
    "Styles": "预设样式",
    "Applied to the prompts at Generate": "生成时加入提示词",
    "Apply to prompts": "应用到提示词",
    "Save as style": "保存为样式",
    "New style name": "新样式名称",
    "Add / remove LoRA": "添加 / 移除 LoRA",
    "Add / remove embedding (negative prompt)": "添加 / 移除嵌入式模型（反向提示词）",
    # extra networks
    "Extra networks (checkpoints, LoRAs, embeddings)": "扩展模型（大模型、LoRA、嵌入式模型）",
    "Show": "显示",
    "Checkpoints": "大模型",
    "Embeddings": "嵌入式模型",
    "Search": "搜索",
    "Base model": "基础模型",
    "All base models": "全部基础模型",
    "Sort": "排序",
    "Default order": "默认顺序",
    "Name A-Z": "名称 A-Z",
    "Name Z-A": "名称 Z-A",
    "LoRA weight": "LoRA 权重",
    "Refresh": "刷新",
    # sampling, size, seed, hires
    "Sampling method": "采样方法",
    "Sampling steps": "迭代步数",
    "Hires. fix": "高分辨率修复 (Hires. fix)",
    "Enable Hires. fix": "启用高分辨率修复",
    "Upscaler": "放大算法",
    "Hires steps": "高分迭代步数",
    "0: same as sampling steps": "0：与迭代步数相同",
    "Denoising strength": "重绘幅度",
    "Upscale by": "放大倍数",
    "whole numbers (the API's type)": "整数（API 的类型）",
    "Resize width to": "将宽度调整为",
    "0: use Upscale by": "0：使用放大倍数",
    "Resize height to": "将高度调整为",
    "Width": "宽度",
    "Height": "高度",
    "Preset": "预设尺寸",
    "Square 512": "方形 512",
    "Portrait 2:3 (512x768)": "竖版 2:3 (512x768)",
    "Landscape 3:2 (768x512)": "横版 3:2 (768x512)",
    "Portrait 3:4 (576x768)": "竖版 3:4 (576x768)",
    "Landscape 4:3 (768x576)": "横版 4:3 (768x576)",
    "Widescreen 16:9 (912x512)": "宽屏 16:9 (912x512)",
    "Tall 9:16 (512x912)": "竖屏 9:16 (512x912)",
    "Square 768": "方形 768",
    "Square 1024 (SDXL)": "方形 1024 (SDXL)",
    "Batch count": "总批次数",
    "Batch size": "单批数量",
    "CFG Scale": "提示词引导系数 (CFG Scale)",
    "Seed": "随机数种子 (Seed)",
    "-1: random": "-1：随机",
    "Restore faces": "面部修复",
    "Variation seeds and tiling are not offered by the Zhiqite API.":
        "智启特 API 不提供差异随机种子和平铺图。",
    # ControlNet
    "ControlNet Unit 0": "ControlNet 单元 0",
    "ControlNet Unit 1": "ControlNet 单元 1",
    "ControlNet Unit 2": "ControlNet 单元 2",
    "Control image": "控制图",
    "Preprocessor preview (a local approximation, not the service's)":
        "预处理预览（本地近似，并非服务端结果）",
    "Enable": "启用",
    "Pixel Perfect": "完美像素模式",
    "Low VRAM": "低显存模式",
    "Preview": "预览",
    "Preprocessor": "预处理器",
    "Model": "模型",
    "Control Weight": "控制权重",
    "Starting Control Step": "引导介入时机",
    "Ending Control Step": "引导终止时机",
    "Preprocessor resolution": "预处理器分辨率",
    "Canny low threshold": "Canny 低阈值",
    "Canny high threshold": "Canny 高阈值",
    "Resize Mode": "缩放模式",
    "Just Resize": "仅调整大小",
    "Crop and Resize": "裁剪后缩放",
    "Resize and Fill": "缩放后填充空白",
    "Control Mode": "控制模式",
    "Balanced": "均衡",
    "My prompt is more important": "更偏向提示词",
    "ControlNet is more important": "更偏向 ControlNet",
    "Use the img2img image": "使用图生图的图像",
    # ADetailer
    "Enable ADetailer": "启用 ADetailer",
    "ADetailer model": "ADetailer 模型",
    "ADetailer prompt": "ADetailer 正向提示词",
    "empty: the main prompt": "留空：使用主提示词",
    "ADetailer negative prompt": "ADetailer 反向提示词",
    "Detection": "检测",
    "Detection model confidence threshold": "检测模型置信度阈值",
    "Mask preprocessing": "蒙版预处理",
    "Mask erosion (-) / dilation (+)": "蒙版腐蚀 (-) / 膨胀 (+)",
    "Inpaint mask blur": "重绘蒙版模糊度",
    "Inpainting": "局部重绘",
    "Inpaint denoising strength": "重绘幅度",
    "Inpaint only masked": "仅重绘蒙版区域",
    "Inpaint only masked padding, pixels": "仅蒙版区域边缘预留像素",
    "Use separate width/height": "使用独立的宽高",
    "width": "宽度",
    "height": "高度",
    "Use separate steps": "使用独立的迭代步数",
    "ADetailer steps": "ADetailer 迭代步数",
    "Use separate CFG scale": "使用独立的 CFG",
    "ADetailer CFG scale": "ADetailer 提示词引导系数",
    "Use separate sampler": "使用独立的采样方法",
    "ADetailer sampler": "ADetailer 采样方法",
    "ControlNet model": "ControlNet 模型",
    "ControlNet module": "ControlNet 预处理器",
    "ControlNet weight": "ControlNet 权重",
    "ControlNet guidance start": "ControlNet 引导介入时机",
    "ControlNet guidance end": "ControlNet 引导终止时机",
    # request panel and results
    "Request": "请求",
    "Show the request for these settings": "显示这些设置对应的请求",
    "JSON body (credentials are headers, never shown)": "JSON 请求体（凭证在请求头中，从不显示）",
    "As curl (credentials read from your environment)": "curl 命令（凭证取自你的环境变量）",
    "Live preview": "实时预览",
    "Results": "结果",
    "Interrupt": "中止",
    "Save": "保存",
    "Send to img2img": "发送到 图生图",
    "Send to inpaint": "发送到 局部重绘",
    "Send to extras": "发送到 后期处理",
    "Send to face swap": "发送到 换脸",
    "Send to txt2img": "发送到 文生图",
    "Download": "下载",
    "Generation parameters (infotext)": "生成参数 (infotext)",
    # img2img
    "Image for img2img": "图生图的图像",
    "Inpaint": "局部重绘",
    "Paint the area to change (white)": "涂抹要修改的区域（白色）",
    "Inpaint upload": "上传重绘蒙版",
    "Image": "图像",
    "Mask (white = change)": "蒙版（白色 = 修改）",
    "…or a public image URL (sent to the service as is)": "…或公开图像网址（原样发送给服务）",
    "Resize mode": "缩放模式",
    "Just resize": "仅调整大小",
    "Crop and resize": "裁剪后缩放",
    "Resize and fill": "缩放后填充空白",
    "Just resize (latent upscale)": "调整大小（潜空间放大）",
    "Mask blur": "蒙版边缘模糊度",
    "Mask mode": "蒙版模式",
    "Inpaint masked": "重绘蒙版内容",
    "Inpaint not masked": "重绘非蒙版内容",
    "Masked content": "蒙版区域内容处理",
    "fill": "填充",
    "original": "原图",
    "latent noise": "潜空间噪声",
    "latent nothing": "空白潜空间",
    "Inpaint area": "重绘区域",
    "Whole picture": "整张图片",
    "Only masked": "仅蒙版区域",
    "Only masked padding, pixels": "仅蒙版区域边缘预留像素",
    "Resize to": "缩放到",
    "Resize by": "按比例缩放",
    "Scale": "比例",
    "of the image's size; overrides Resize to when not 1": "相对图像尺寸；不为 1 时取代“缩放到”",
    "whole numbers (the img2img type)": "整数（图生图的类型）",
    "Image CFG Scale": "图像 CFG",
    # extras and face swap
    "Single image": "单张图像",
    "Source": "源图像",
    "Batch": "批量处理",
    "Images (one task each)": "图像（每张一个任务）",
    "Upscale": "放大",
    "Scale by": "等比缩放",
    "Resize": "缩放比例",
    "Scale to": "指定尺寸缩放",
    "Crop to fit": "裁剪以适应宽高比",
    "Upscaler 1": "放大算法 1",
    "Upscaler 2": "放大算法 2",
    "Upscaler 2 visibility": "放大算法 2 强度",
    "GFPGAN visibility": "GFPGAN 强度",
    "CodeFormer visibility": "CodeFormer 强度",
    "CodeFormer weight (0 = maximum effect, 1 = minimum effect)":
        "CodeFormer 权重（0 = 最大效果，1 = 最小效果）",
    "Upscale before restoring faces": "先放大再修复面部",
    "Before / after (drag the handle)": "前后对比（拖动滑块）",
    "Source face (the face to use)": "源人脸（要使用的脸）",
    "Target image": "目标图像",
    "Target (its face is replaced)": "目标（替换其中的脸）",
    "Batch targets": "批量目标",
    "Targets (one task each, same source face)": "目标（每张一个任务，同一张源人脸）",
    "Swap face": "换脸",
    "Sample faces": "示例人脸",
    # PNG Info
    "Drop an image (PNG, JPEG or WebP)": "拖入图像（PNG、JPEG 或 WebP）",
    "Parameters": "参数",
    # History
    "Kind": "类型",
    "All kinds": "全部类型",
    "Search prompts": "搜索提示词",
    "◀ Newer": "◀ 较新",
    "Older ▶": "较早 ▶",
    "Re-run": "重新运行",
    "Re-run with a new seed": "换个种子重新运行",
    "Delete": "删除",
    "Request JSON (as sent, callback URL left out)": "请求 JSON（按发送内容，不含回调地址）",
    # Settings
    "### API key": "### API 密钥",
    "Using the **offline demo backend** (no key needed; synthetic images). You can use your "
    "own key below.": "正在使用**离线演示后端**（无需密钥；合成图像）。你可以在下方使用自己的密钥。",
    "Using the **app's own key** (set by whoever runs it). You can use your own key below.":
        "正在使用**本应用的密钥**（由运行者设置）。你可以在下方使用自己的密钥。",
    "Using the **offline demo backend** (no key needed; synthetic images).":
        "正在使用**离线演示后端**（无需密钥；合成图像）。",
    "Using the **app's own key** (set by whoever runs it).": "正在使用**本应用的密钥**（由运行者设置）。",
    "Vendor access key id": "服务商 Access Key ID",
    "Vendor access key secret": "服务商 Access Key Secret",
    "API base": "API 地址",
    "Your key is sent here and nowhere else (set by the app's operator: ZHIQITE_API_BASE)":
        "你的密钥只发送到这里（由运行者设置：ZHIQITE_API_BASE）",
    "Remember my key on this device (kept encrypted in this browser; otherwise gone when the "
    "page closes)": "在此设备上记住我的密钥（加密保存在此浏览器中；否则关闭页面即清除）",
    "Use my key": "使用我的密钥",
    "Forget my key": "清除我的密钥",
    "Test connection": "测试连接",
    "### Results": "### 结果",
    "page visible": "页面可见",
    "Results are learnt by **polling** (no public URL the service can call back): queries "
    "every 2 s growing to 30 s. Set `ZHIQITE_PUBLIC_URL`, or start the app with `--share`, "
    "for callbacks.":
        "结果通过**轮询**获取（没有服务可回调的公开地址）：每 2 秒查询一次，逐渐增加到 30 秒。"
        "设置 `ZHIQITE_PUBLIC_URL` 或以 `--share` 启动本应用即可使用回调。",
    "Format the service sends (saved files are always PNG with their parameters)":
        "服务返回的格式（保存的文件始终是带参数的 PNG）",
    "Outputs folder": "输出文件夹",
    "Set by the app's operator (ZHIQITE_OUTPUTS_DIR)": "由运行者设置（ZHIQITE_OUTPUTS_DIR）",
    "### Defaults for new tasks": "### 新任务的默认值",
    "Sampler": "采样方法",
    "Steps": "迭代步数",
    "ControlNet units shown": "显示的 ControlNet 单元数",
    "Show models marked adult (isAdult)": "显示标记为成人内容的模型 (isAdult)",
    "**Language**: the page follows your browser's language (English or 中文); switch it in "
    "**Settings** at the foot of the page.":
        "**语言**：页面跟随浏览器的语言（English 或中文）；可在页面底部的**设置**中切换。",
    "Save settings": "保存设置",
    # scripts (A1111's names), the queue and the bill
    "Script": "脚本",
    "Put variable parts at start of prompt": "把可变部分放在提示词开头",
    "Use different seed for each picture": "每张图片使用不同的随机种子",
    "Select prompt": "选择提示词",
    "Select joining char": "选择连接符",
    "Grid margins (px)": "网格边距（像素）",
    "Iterate seed every line": "每行递增随机种子",
    "Use same random seed for all lines": "所有行使用同一随机种子",
    "Insert prompts at the": "提示词插入位置",
    "List of prompt inputs": "提示词输入列表",
    "X type": "X 轴类型",
    "X values": "X 轴值",
    "Y type": "Y 轴类型",
    "Y values": "Y 轴值",
    "Z type": "Z 轴类型",
    "Z values": "Z 轴值",
    "Draw legend": "绘制图例",
    "Keep -1 for seeds": "保持种子为 -1",
    "Include Sub Images": "包含子图",
    "Max generations": "最多生成数",
    "Generate forever": "无限生成",
    "Send": "发送",
    "Cancel": "取消",
    "finished": "已完成",
    "Queue": "队列",
    "Stop following": "停止跟踪",
    "### Before a large Generate": "### 大批量生成之前",
    "Ask before sending more than this many images": "发送图像数超过此值时先询问",
    "Ask before more than this many billed calls": "计费调用数超过此值时先询问",
    "submits and status queries of one Generate (a plot's cells, a batch); live previews apart":
        "一次生成的提交与状态查询（图表的各单元格、一个批次）；不含实时预览",
    "Makes one image for every combination of the prompt's choices: `{red|green|blue} cat` makes\nthree. `__name__` stands for each line of the wildcard file `name.txt` (the app's\n`presets/wildcards/` folder and the data folder's `wildcards/`). Without this script the same\nsyntax picks one choice per image, at random from its seed.":
        "为提示词中每种选择的组合各生成一张图：`{red|green|blue} cat` 生成三张。`__name__` 代表通配符文件 `name.txt` 的每一行（应用的 `presets/wildcards/` 文件夹和数据文件夹的 `wildcards/`）。不使用此脚本时，同样的语法按每张图的种子随机选一项。",
}

# Names that read the same in both languages: identifiers, not prose.
SAME_IN_BOTH = {"LoRA", "ADetailer", "ControlNet", "AppCode", "AppKey", "AppSecret"}
LOCALES = ("zh", "zh-CN", "zh-Hans")  # a Chinese browser says one of these


def key_of(text: str) -> str:
    """A key without dots (svelte-i18n reads dots as nesting)."""
    return "zq_" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def tr(text: str) -> Any:
    """The translatable form of a known text (for values a handler sends later), else the
    text itself."""
    return I18nData(key_of(text)) if text in ZH else text


def translations() -> gr.I18n:
    english = {key_of(text): text for text in ZH}
    chinese = {key_of(text): zh for text, zh in ZH.items()}
    return gr.I18n(en=english, **{locale: chinese for locale in LOCALES})


TEXT_ATTRIBUTES = ("label", "info", "placeholder")


def translate(blocks: gr.Blocks) -> list[str]:
    """Swap every known English text of the built page for its key; returns the texts shown
    that have no translation (the test wants none)."""
    missing: list[str] = []

    def swap(text: Any) -> Any:
        if not isinstance(text, str) or not text.strip() or not any(c.isalpha() for c in text):
            return text
        if text in ZH:
            return tr(text)
        if text not in SAME_IN_BOTH:
            missing.append(text)
        return text

    for block in blocks.blocks.values():
        for attribute in TEXT_ATTRIBUTES:
            if isinstance(getattr(block, attribute, None), str):
                setattr(block, attribute, swap(getattr(block, attribute)))
        if isinstance(block, gr.Button | gr.Markdown) and isinstance(block.value, str):
            block.value = swap(block.value)
        choices = getattr(block, "choices", None)
        if isinstance(block, gr.Radio | gr.Dropdown) and choices:
            # only the UI's own choices; names from the API or the tables are identifiers
            block.choices = [(tr(label), value) if isinstance(label, str) and label in ZH
                             else (label, value) for label, value in choices]
    return missing
