"""A visitor's page as the app sees it on the wire: one Gradio session that joins events
(`POST /gradio_api/queue/join`) and reads their messages from the session's event stream
(`GET /gradio_api/queue/data`), as Gradio's own page script does. Light enough that 50 of
them on the app's machine leave the CPUs to the app (gradio_client runs threads, polling and
downloads per job, which took more CPU than the app it measured)."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Event:
    """One joined event: its messages' outputs, and whether it has ended."""

    outputs: list[list[Any]] = field(default_factory=list)  # each process_completed's data
    steps: int = 0  # process_generating messages received
    error: str = ""
    ended: threading.Event = field(default_factory=threading.Event)


class PageSession:
    def __init__(self, url: str, config: dict[str, Any]) -> None:
        self.url = url.rstrip("/") + "/"
        self.config = config
        self.components = {c["id"]: c for c in config["components"]}
        self.hash = secrets.token_hex(8)
        self.http = requests.Session()
        # a fresh connection per request: a kept-alive one the server has just closed
        # (uvicorn's 5 s) fails the request, where a browser would quietly retry it
        self.http.headers["Connection"] = "close"
        self.events: dict[str, Event] = {}
        self.lock = threading.Lock()
        self.reader: threading.Thread | None = None

    def value(self, component_id: int, values: dict[str, Any]) -> Any:
        props = self.components[component_id]["props"]
        key = props.get("elem_id") or props.get("storage_key")
        return values[key] if key in values else props.get("value", props.get("default_value"))

    def join(self, dependency: dict[str, Any], values: dict[str, Any]) -> Event:
        """Join an event with its inputs (by elem_id or storage key; the rest as the page has
        them) and make sure the stream is read."""
        targets = dependency.get("targets") or [[None]]
        body = {"data": [self.value(i, values) for i in dependency["inputs"]],
                "event_data": None, "fn_index": dependency["id"],
                "trigger_id": targets[0][0], "session_hash": self.hash}
        response = self.http.post(self.url + "gradio_api/queue/join", json=body, timeout=60)
        response.raise_for_status()
        event = Event()
        with self.lock:
            self.events[response.json()["event_id"]] = event
            if self.reader is None or not self.reader.is_alive():
                self.reader = threading.Thread(target=self._read, daemon=True)
                self.reader.start()
        return event

    def _read(self) -> None:
        """The session's stream until no joined event is left open (Gradio closes it then;
        a later join opens it again)."""
        while True:
            with self.lock:
                if all(e.ended.is_set() for e in self.events.values()):
                    self.reader = None
                    return
            try:
                with self.http.get(self.url + f"gradio_api/queue/data?session_hash={self.hash}",
                                   stream=True, timeout=600) as stream:
                    for line in stream.iter_lines():
                        if line.startswith(b"data:"):
                            self._message(json.loads(line[5:]))
            except requests.RequestException as error:
                with self.lock:
                    for event in self.events.values():
                        if not event.ended.is_set():
                            event.error = f"stream: {type(error).__name__}"
                            event.ended.set()
                return

    def _message(self, message: dict[str, Any]) -> None:
        event = self.events.get(message.get("event_id") or "")
        if event is None:
            return
        kind = message.get("msg")
        if kind == "process_generating":
            event.steps += 1
        elif kind == "process_completed":
            output = message.get("output") or {}
            if message.get("success") is False or "error" in output:
                event.error = str(output.get("error") or "failed")
            else:
                event.outputs.append(output.get("data") or [])
            event.ended.set()

    def download(self, url: str) -> bytes:
        response = self.http.get(url, timeout=60)
        response.raise_for_status()
        return response.content

    def close(self) -> None:
        self.http.close()
