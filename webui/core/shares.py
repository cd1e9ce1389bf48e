"""Read-only share links: `/share/<token>` shows one picture of one task and its parameters
to anyone holding the link, nothing else of its owner's; revoking (or deleting the task)
ends it at once (no caching anywhere). The token is 192 random bits (`store.share`)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from webui.core.outputs import read_infotext
from webui.core.store import StoredImage, TaskRecord, TaskStore
from webui.messages import Language, language_of, message

SHARE_PATH = "/share"
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")  # store.SHARE_TOKEN_BYTES, URL-safe base64
# the page loads nothing but its own picture; no referrer leaves it; not indexed
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline';"
                                " frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
STYLE = ("body{margin:0;font-family:system-ui,sans-serif;background:#f6f6f4;color:#222}"
         "main{max-width:1040px;margin:0 auto;padding:16px}"
         "img{display:block;max-width:100%;height:auto;margin:0 auto;border-radius:6px}"
         "pre{white-space:pre-wrap;word-break:break-word;background:#fff;padding:12px;"
         "border:1px solid #ddd;border-radius:6px}p.note{color:#666;font-size:.9em}")


def share_path(token: str) -> str:
    return f"{SHARE_PATH}/{token}"


def shared_picture(store: TaskStore, token: str) -> tuple[TaskRecord, StoredImage] | None:
    """The picture a well-formed, unrevoked token shares, while its file is there."""
    if not TOKEN.fullmatch(token):
        return None
    found = store.shared(token)
    if found is None:
        return None
    record, picture = found
    shown = [image for image in record.images if image.shown]
    if not 0 <= picture < len(shown) or shown[picture].error \
            or not Path(shown[picture].path or "").is_file():
        return None
    return record, shown[picture]


def share_page(record: TaskRecord, image: StoredImage, token: str,
               language: Language = Language.EN) -> str:
    e = html.escape
    try:
        parameters = read_infotext(image.path or "") or ""
    except OSError:
        parameters = ""
    title = message("share.title", language)
    prompt = record.prompt or ""
    lang = "zh-CN" if language == Language.ZH_CN else "en"
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body><main>"
            f'<img src="{e(token)}/picture.png" alt="{e(prompt[:300])}">'
            f"<h1>{e(title)}</h1>"
            + (f"<pre>{e(parameters)}</pre>" if parameters else "")
            + f'<p class="note">{e(message("share.note", language))}</p></main></body></html>')


def share_router(store: TaskStore) -> APIRouter:
    router = APIRouter()

    def gone(language: Language) -> Response:
        return Response(message("share.gone", language), status_code=404,
                        media_type="text/plain; charset=utf-8", headers=HEADERS)

    @router.get(SHARE_PATH + "/{token}", include_in_schema=False, response_model=None)
    def page(token: str, request: Request) -> Response:
        language = language_of(request)
        found = shared_picture(store, token)
        if found is None:
            return gone(language)
        return HTMLResponse(share_page(*found, token, language), headers=HEADERS)

    @router.get(SHARE_PATH + "/{token}/picture.png", include_in_schema=False,
                response_model=None)
    def picture(token: str, request: Request) -> Response:
        found = shared_picture(store, token)
        if found is None:
            return gone(language_of(request))
        return FileResponse(found[1].path or "", media_type="image/png", headers=HEADERS)

    return router
