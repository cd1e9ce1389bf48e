"""The Request panel: the exact JSON a form will send, and the same call as a curl command.
No credential is ever written: curl reads them from the environment."""

from __future__ import annotations

import json
import shlex
from typing import Any

from webui.api.auth import VENDOR_KEY_HEADERS
from webui.api.endpoints import ENDPOINTS

TASK_ID_PLACEHOLDER = "<new id at each Generate>"
CALLBACK_PLACEHOLDER = "<app URL>/api/zhiqite/callback/<task id>?token=<per-task token>"


def wire_json(request: Any, *, callback: bool) -> str:
    body = request.to_wire()
    if callback:
        body["callbackUrl"] = CALLBACK_PLACEHOLDER
    return json.dumps(_placeholder_ids(body, request.task_id), ensure_ascii=False, indent=2)


def _placeholder_ids(value: Any, task_id: str) -> Any:
    if isinstance(value, dict):
        return {k: _placeholder_ids(v, task_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholder_ids(v, task_id) for v in value]
    return TASK_ID_PLACEHOLDER if value == task_id else value


def curl(endpoint: str, request: Any, *, base_url: str, auth_mode: str) -> str:
    """A command a user can paste; the body is the one the app would send (a fresh task id)."""
    body = json.dumps(request.to_wire(), ensure_ascii=False, separators=(",", ":"))
    url = base_url.rstrip("/") + ENDPOINTS[endpoint].url_path()
    lines = [f"curl -sS -X POST {shlex.quote(url)}",
             "  -H 'Content-Type: application/json; charset=UTF-8'"]
    if auth_mode == "appcode":
        lines.append('  -H "Authorization: APPCODE $ZHIQITE_APPCODE"')
    elif auth_mode == "vendor-key":
        id_header, secret_header = VENDOR_KEY_HEADERS
        lines.append(f'  -H "{id_header}: $ZHIQITE_ACCESS_KEY_ID"')
        lines.append(f'  -H "{secret_header}: $ZHIQITE_ACCESS_KEY_SECRET"')
    lines.append(f"  --data-binary {shlex.quote(body)}")
    note = ""
    if auth_mode == "signature":
        note = ("# AppKey/AppSecret signing needs a fresh signature per request, which curl "
                "cannot make:\n# use an AppCode for curl, or the app's client.\n")
    return note + " \\\n".join(lines)
