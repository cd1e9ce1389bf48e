"""Receiving the service's callbacks: it POSTs a task's final status to the app's callback URL
(`TaskEngine.callback_url`, with a per-task token). `CallbackReceiver.receive` checks the
token and the body and hands a final status to the engine; it answers a `CallbackOutcome`,
which `core/routes.py` turns into the HTTP answer. Anything not ours changes nothing."""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING

from pydantic import ValidationError

from webui.api import models as m
from webui.api.endpoints import ENDPOINTS

if TYPE_CHECKING:
    from webui.core.engine import TaskEngine


class CallbackOutcome(enum.StrEnum):
    STORED = "stored"  # the final status and its images are stored
    ALREADY_STORED = "already stored"  # a duplicate or late callback: nothing changed
    FORBIDDEN = "forbidden"  # the token is not the task's
    UNKNOWN_TASK = "unknown task"
    BAD_BODY = "bad body"  # not a task status
    OTHER_TASK = "other task"  # a status, about another task than the URL's
    NOT_FINAL = "not final"  # the task is not finished: only final statuses are taken
    NOT_FETCHED = "not fetched"  # final, but its images could not be fetched yet: send again


class CallbackReceiver:
    def __init__(self, engine: TaskEngine) -> None:
        self.engine = engine

    def receive(self, task_id: str, token: str | None, body: bytes) -> CallbackOutcome:
        """Store the final status the service sent for `task_id` (its images are downloaded
        first: this blocks, keep it off an event loop)."""
        engine = self.engine
        if not engine.keys.token_matches(task_id, token):
            return CallbackOutcome.FORBIDDEN
        record = engine.store.get(task_id)
        if record is None:
            return CallbackOutcome.UNKNOWN_TASK
        envelope = m.ToolTaskResponse if ENDPOINTS[record.kind].tool_code else m.TaskInfoResponse
        try:
            info = envelope.model_validate(json.loads(body)).data
        except (ValueError, ValidationError, RecursionError):  # nested past the parser's depth
            return CallbackOutcome.BAD_BODY
        body_id = getattr(info, "businessTaskId", None) or getattr(info, "id_task", None)
        if info is None or body_id != task_id:
            return CallbackOutcome.OTHER_TASK
        if record.is_final and not record.timed_out:
            return CallbackOutcome.ALREADY_STORED
        return engine.receive_final(record, info)
