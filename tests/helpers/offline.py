"""Driving the offline backend's test knobs."""

from __future__ import annotations

from typing import Any

import requests

from webui.offline.server import OfflineServer


def faults(server: OfflineServer, **plan: Any) -> None:
    """Plan one-shot faults: calls=[{endpoint, fault}], tasks=[outcome], callbacks=[plan]."""
    answer = requests.post(server.url + "/__offline/faults", json=plan, timeout=5)
    assert answer.status_code == 200, answer.text


def stats(server: OfflineServer) -> dict[str, Any]:
    return requests.get(server.url + "/__offline/stats", timeout=5).json()
