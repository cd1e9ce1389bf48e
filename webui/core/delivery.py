"""How a task's final status reaches the app."""

from __future__ import annotations

import enum


class DeliveryMode(enum.StrEnum):
    """A StrEnum: it equals the strings stored in task rows (`TaskRecord.mode`)."""

    CALLBACK = "callback"  # the service calls the app back at its public URL
    POLL = "poll"  # the app asks for the status (each query is billed)
