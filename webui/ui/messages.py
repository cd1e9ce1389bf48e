"""Chinese for what the server says after the page is built: warnings, status lines, the cost
meter. They carry values (a field, a range, a count), so they are matched by pattern; the
page's own script (`assets/messages.js`) translates them in the browser when the page is in
Chinese, the same place `gr.I18n` translates the labels. A value that is itself a known text
(a field's label, a reason) is translated too.

Patterns are JavaScript regular expressions matched against one whole text node (trimmed);
in the Chinese, `$1`..`$9` put a group back translated (a label, a reason), `%1`..`%9` as it
is (a request field's own name, which the Request panel shows in English)."""

from __future__ import annotations

import json
import re

from webui.ui.i18n import ZH

R = r"(.+?)"  # a value
N = r"(\d+(?:\.\d+)?)"  # a number

PATTERNS: list[tuple[str, str]] = [
    # validation (webui/api/validation.py, models/constraints.py), as "Label: sentence"
    (rf"^{R}: {R} must be a multiple of {N} in {R}, got {R}$", "$1：%2 必须是 $3 的倍数，范围 $4，当前为 $5"),
    (rf"^{R}: {R} must be in {R}, got {R}$", "$1：%2 必须在 $3 之内，当前为 $4"),
    (rf"^{R}: {R} must be one of {R}, got {R}$", "$1：%2 必须是以下之一：$3，当前为 $4"),
    (rf"^{R}: {R} is required: {R}$", "$1：%2 为必填项：$3"),
    (rf"^{R}: {R} is required$", "$1：%2 为必填项"),
    (rf"^{R}: {R} must not be empty$", "$1：%2 不能为空"),
    (rf"^{R}: {R} must be at most {N} characters, got {N}$", "$1：%2 最多 $3 个字符，当前为 $4"),
    (rf"^{R}: {R} must be a whole number, got {R}$", "$1：%2 必须是整数，当前为 $3"),
    (rf"^{R}: {R} must be a number, got {R}$", "$1：%2 必须是数字，当前为 $3"),
    (rf"^{R}: image is {N}x{N}; the upscaler takes at most {N}x{N}$",
     "$1：图像为 $2x$3；放大最多支持 $4x$5"),
    (rf"^{R}: {N} MB is over the {N} MB limit$", "$1：%2 MB 超过 $3 MB 上限"),
    (rf"^{R}: not a readable image \(PNG, JPEG or WebP\)$", "$1：无法读取的图像（请用 PNG、JPEG 或 WebP）"),
    (rf"^{R}: {R} files are not accepted; use PNG, JPEG or WebP$", "$1：不接受 $2 文件；请用 PNG、JPEG 或 WebP"),
    (rf"^{R}: {N}x{N} is larger than {N}x{N}$", "$1：$2x$3 大于 $4x$5"),
    (rf"^{R}: the file is damaged or truncated$", "$1：文件已损坏或不完整"),
    (rf"^{R}: the upload could not be read$", "$1：无法读取上传的文件"),
    (rf"^{R}: the app does not fetch URLs; upload the file instead$",
     "$1：本应用不会下载 URL；请直接上传文件"),
    # task status (webui/core/events.py, ui/results.py, ui/tool_tab.py)
    (rf"^Queued \(position {N}\)$", "排队中（第 $1 位）"),
    (r"^Queued$", "排队中"),
    (r"^Submitted$", "已提交"),
    (rf"^Submitted {N} task\(s\)$", "已提交 $1 个任务"),
    (r"^Uploading input images$", "正在上传输入图像"),
    (rf"^Generating, batch {N}/{N}, {N}%$", "生成中，第 $1/$2 批，$3%"),
    (rf"^Generating, {N}%$", "生成中，$1%"),
    (r"^Generating$", "生成中"),
    (rf"^Done: {N} images?$", "完成：$1 张图像"),
    (rf"^Done: {N} of {N} succeeded$", "完成：$2 个中成功 $1 个"),
    (rf"^Failed: {R}$", "失败：$1"),
    (rf"^Task failed: {R}$", "任务失败：$1"),
    (rf"^Image {N} of {N}: {R}$", "第 $1/$2 张：$3"),
    (rf"^Image {N} not shown: {R}$", "第 $1 张未显示：$2"),
    (r"^\(picked up again after a restart\)$", "（重启后已继续跟踪）"),
    (r"^Stopped watching — the service has no cancel; this task will finish and is kept in "
     r"History$", "已停止跟踪——服务不支持取消；此任务会继续完成，并保存在历史记录中"),
    (r"^Interrupted: no longer following the task\. (.+)$", "已中止：不再跟踪此任务。$1"),
    (r"^Stopped following the task\. (.+)$", "已停止跟踪此任务。$1"),
    (r"^The API has no cancel: the task keeps running on the service, is still billed, and its "
     r"result lands in History\.$", "API 不支持取消：任务仍在服务端运行并计费，结果会出现在历史记录中。"),
    (r"^Deleted$", "已删除"),
    # the cost meter: "Billed calls: **n** for this task, **m** in this browser (...)"
    (r"^Billed calls:$", "计费调用："),
    (r"^for this task,$", "次（本任务），"),
    (r"^for these tasks,$", "次（这些任务），"),
    # the queue strip, the bill and the scripts (webui/ui/queue_strip.py, tasks.py, batch_view.py)
    (rf"^Queue: {N} running, {N} waiting$", "队列：$1 个运行中，$2 个等待中"),
    (r"^Queue: nothing running$", "队列：没有运行中的任务"),
    (r"^Stop following$", "停止跟踪"),
    (rf"^{R}: not one of the choices$", "$1：不是可选项之一"),
    (rf"^queued, position {N}$", "排队中，第 $1 位"),
    (rf"^{N}%, about {N} s left$", "$1%，约剩 $2 秒"),
    (rf"^Sent: {N} tasks?, {N} images?, about {N} billed calls?(.*)$",
     "已发送：$1 个任务，$2 张图像，约 $3 次计费调用$4"),
    (rf"^{N} tasks?, {N} images?, about {N} billed calls?$", "$1 个任务，$2 张图像，约 $3 次计费调用"),
    (r"^This sends$", "将发送"),
    (rf"^{R}: {N} of {N} done \({N}%\)(.*)$", "$1：已完成 $2/$3（$4%）$5"),
    (rf"^{R}: done, {N} of {N} succeeded(.*)$", "$1：完成，$3 个中成功 $2 个$4"),
    (r"^in this browser \(each submit and status query is billed\)$",
     "次（此浏览器）（每次提交和状态查询都计费）"),
    # History
    (rf"^Page {N} of {N} · {N} task\(s\)$", "第 $1/$2 页 · 共 $3 个任务"),
    (r"^No tasks yet \(or none match\)\.$", "还没有任务（或没有匹配的任务）。"),
    (r"^done$", "完成"), (r"^queued$", "排队中"),
    (rf"^running {N}%$", "运行中 $1%"), (r"^running$", "运行中"),
    (rf"^failed: {R}$", "失败：$1"),
    (rf"^Deleted the task and its {N} image file\(s\)\.$", "已删除任务及其 $1 个图像文件。"),
    (r"^Not deleted: the task is still running: delete it once it has finished\.$",
     "未删除：任务仍在运行，完成后再删除。"),
    # warnings and notices of the tabs
    (r"^This page has no visitor id: reload it\. \(A network address that opened many new "
     r"sessions this hour waits before it gets another\.\)$",
     "此页面没有访客 ID：请刷新页面。（一个网络地址在一小时内打开了许多新会话时，需要等待一段时间才能再获得新的。）"),
    (rf"^{R}: this picture exists only on this machine and the service cannot reach it\. "
     r"Make the app reachable: set ZHIQITE_PUBLIC_URL to its public address, or start it with "
     r"--share \(a public Gradio link\), or host uploads on S3/OSS \(ZHIQITE_S3_BUCKET\); or "
     r"paste a public image URL\. Nothing was sent or billed\.$",
     "$1：这张图片只在本机上，服务无法访问。请让本应用可被访问：把 ZHIQITE_PUBLIC_URL 设为它的公开"
     "地址，或以 --share 启动（Gradio 公开链接），或把上传托管到 S3/OSS（ZHIQITE_S3_BUCKET）；"
     "或粘贴一个公开的图片 URL。没有发送任何请求，也没有计费。"),
    (r"^No image to send: generate or drop one first\.$", "没有可发送的图像：请先生成或拖入一张。"),
    (r"^No generation parameters to send: this image carries none\.$",
     "没有可发送的生成参数：此图像不含生成参数。"),
    (r"^The prompt holds no generation parameters: paste an infotext \(the prompt, then "
     r"\"Negative prompt: \.\.\.\" and \"Steps: 20, Sampler: \.\.\.\"\), or empty the prompt "
     r"to read your last task\.$",
     "提示词中没有生成参数：请粘贴生成参数文本（提示词，然后是“Negative prompt: ...”和"
     "“Steps: 20, Sampler: ...”），或清空提示词以读取你上一个任务的参数。"),
    (r"^No task of yours on this tab yet: generate first, or paste an infotext\.$",
     "此标签页还没有你的任务：请先生成，或粘贴生成参数文本。"),
    (r"^Nothing to save yet: generate first\.$", "还没有可保存的内容：请先生成。"),
    (r"^No seed to reuse yet: generate first\.$", "还没有可复用的种子：请先生成。"),
    (r"^Open a task first: click a row\.$", "请先打开一个任务：点击一行。"),
    (r"^That task is gone \(deleted, or not yours\)\.$", "该任务已不存在（已删除或不属于你）。"),
    (r"^A picture this task started from has expired \(uploads are kept 24 h\): open its tab "
     r"and upload the picture again\.$", "此任务使用的图片已过期（上传保留 24 小时）：请在对应页签重新上传。"),
    # the limits (webui/core/limits.py), after what was refused
    (rf"^Not sent: {R}$", "未发送：$1"),
    (rf"^{N} not sent: {R}$", "$1 个未发送：$2"),
    (rf"^Not tested: {R}$", "未测试：$1"),
    (rf"^Lists not reloaded: {R}$", "列表未重新加载：$1"),
    (rf"^at most {N} task\(s\) at once {R}: wait for one to finish$",
     "$2同时最多 $1 个任务：请等待一个完成"),
    (rf"^at most {N} task\(s\) a minute {R}: try again in {R}$",
     "$2每分钟最多 $1 个任务：请 $3后再试"),
    (rf"^at most {N} list call\(s\) a minute {R}: try again in {R}$",
     "$2每分钟最多 $1 次列表调用：请 $3后再试"),
    (rf"^the day's budget of {N} billed calls {R} is spent: try again in {R}$",
     "$2今天的 $1 次计费调用额度已用完：请 $3后再试"),
    (r"^per visitor on this app$", "本应用每位访客"),
    (r"^from your network address$", "你的网络地址"),
    (r"^on this app for everybody together$", "本应用所有人合计"),
    (rf"^{N} s$", "$1 秒"), (rf"^{N} min$", "$1 分钟"), (rf"^{N} h$", "$1 小时"),
    (rf"^at most {N} own keys from one network address are held here at once; try again "
     r"later$", "同一网络地址同时最多保存 $1 个自有密钥；请稍后再试"),
    (r"^this app holds as many own keys as it can right now; try again later$",
     "本应用目前保存的自有密钥已达上限；请稍后再试"),
    (r"^Add a control image first\.$", "请先添加控制图。"),
    (r"^Your key is in use for this browser\.$", "你的密钥已在此浏览器中启用。"),
    (r"^Your key is forgotten: this server and this browser no longer hold it\.$",
     "你的密钥已清除：服务器和此浏览器都不再保存。"),
    (rf"^Key not used: {R}$", "未使用该密钥：$1"),
    (r"^Settings saved in this browser\.$", "设置已保存在此浏览器中。"),
    (rf"^Not saved \(out of range\): {R}$", "未保存（超出范围）：$1"),
    (rf"^Connection works: {R}, no key needed: {R} checkpoints listed\.$",
     "连接正常：$1，无需密钥：列出 $2 个大模型。"),
    (rf"^Connection works: {R}, no key needed\.$", "连接正常：$1，无需密钥。"),
    (rf"^Connection works: {R} at {R}: {R} checkpoints listed\.$",
     "连接正常：$1，服务地址 $2：列出 $3 个大模型。"),
    (rf"^Connection works: {R} at {R}\.$", "连接正常：$1，服务地址 $2。"),
    (rf"^Connection failed: {R}$", "连接失败：$1"),
    (r"^This image carries no generation parameters\.$", "此图像不含生成参数。"),
    (rf"^Not a readable image: {R}$", "无法读取的图像：$1"),
    (rf"^Style '{R}' saved\.$", "样式“$1”已保存。"),
    (rf"^Could not load the model lists: {R}$", "无法加载模型列表：$1"),
    (rf"^Could not load the LoRA / embedding lists: {R}$", "无法加载 LoRA / 嵌入式模型列表：$1"),
    # the service's and gateway's refusals (webui/api/errors.py)
    (rf"^The AppCode was rejected: check ZHIQITE_APPCODE{R}$", "AppCode 被拒绝：请检查 ZHIQITE_APPCODE$1"),
    (rf"^The AppKey was rejected: check ZHIQITE_APP_KEY{R}$", "AppKey 被拒绝：请检查 ZHIQITE_APP_KEY$1"),
    (rf"^The request signature was rejected: check the AppSecret{R}$", "请求签名被拒绝：请检查 AppSecret$1"),
    (rf"^The API quota is used up or expired: buy more calls for this service{R}$",
     "API 调用次数已用完或已过期：请为此服务购买更多次数$1"),
    (rf"^The account is in arrears \(User Arrears\): top up the cloud account to call again{R}$",
     "账户已欠费（User Arrears）：请为云账户充值后再调用$1"),
    (rf"^The gateway rejected the request time: check this machine's clock{R}$",
     "网关拒绝了请求时间：请检查本机时钟$1"),
    (rf"^Too many requests{R}$", "请求过多$1"),
    (rf"^The service refused the request: {R}$", "服务拒绝了请求：$1"),
    (r"^no face found in the source image$", "源图像中未找到人脸"),
    (r"^no face found in the target image$", "目标图像中未找到人脸"),
]


def table() -> dict[str, object]:
    """What the page's script needs: the patterns, and the texts that translate as a whole
    (labels, so "Width: ..." reads "宽度：...")."""
    labels = {english: chinese for english, chinese in ZH.items() if len(english) <= 60}
    return {"patterns": PATTERNS, "labels": labels}


def script(template: str) -> str:
    return template.replace("__ZQ_MESSAGES__", json.dumps(table(), ensure_ascii=False))


def translate(text: str) -> str:
    """The same translation in Python (tests; the browser uses `assets/messages.js`)."""
    stripped = text.strip()
    labels = table()["labels"]
    assert isinstance(labels, dict)
    if stripped in labels:
        return str(labels[stripped])
    for pattern, chinese in PATTERNS:
        match = re.match(pattern, stripped)
        if match:
            groups = [translate(g) if g is not None else "" for g in match.groups()]
            raw = match.groups()
            return re.sub(r"([$%])(\d)", lambda m, g=groups, r=raw: (
                g if m.group(1) == "$" else r)[int(m.group(2)) - 1] or "", chinese)
    return text
