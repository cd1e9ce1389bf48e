"""Calling a running app's event handlers the way a script would: `gradio_client` with every
input positional, found from the page's /config by elem_id or BrowserState storage key."""

from __future__ import annotations

from typing import Any

import requests


class PageApi:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/"
        config = requests.get(self.url + "config", timeout=30).json()
        self.config = config
        self.components = {c["id"]: c for c in config["components"]}
        self.dependencies = {d.get("api_name"): d for d in config["dependencies"]}

    def _key(self, component_id: int) -> str | None:
        props = self.components[component_id]["props"]
        return props.get("elem_id") or props.get("storage_key")

    def args(self, api_name: str, values: dict[str, Any]) -> list[Any]:
        """The endpoint's inputs in order: each component's default, or `values` by elem_id
        (or BrowserState storage key). State inputs are not sent by a client."""
        out = []
        for component_id in self.dependencies[api_name]["inputs"]:
            if self.components[component_id].get("skip_api"):
                continue
            props = self.components[component_id]["props"]
            key = self._key(component_id)
            out.append(values[key] if key in values else
                       props.get("value", props.get("default_value")))
        return out

    def outputs(self, api_name: str, result: Any) -> dict[str, Any]:
        """A client's result by output name (elem_id, storage key or type)."""
        ids = [i for i in self.dependencies[api_name]["outputs"]
               if not self.components[i].get("skip_api")]  # State, Tab: not sent
        values = result if isinstance(result, list | tuple) else [result]
        return {self._key(i) or self.components[i]["type"]: value
                for i, value in zip(ids, values, strict=False)}

    def streamed(self, api_name: str, job: Any, timeout: float = 120) -> dict[str, Any]:
        """Every output a generator endpoint yielded, merged (a later value wins; Gradio's
        "no change" updates are skipped)."""
        job.result(timeout=timeout)
        merged: dict[str, Any] = {}
        for result in job.outputs():
            for name, value in self.outputs(api_name, result).items():
                if isinstance(value, dict) and value.get("__type__") == "update" \
                        and "value" not in value:
                    continue
                merged[name] = value
        return merged

    def client(self, headers: dict[str, str] | None = None) -> Any:
        """A new gradio_client session (a new visitor as far as the page can tell)."""
        from gradio_client import Client

        return Client(self.url, verbose=False, headers=headers)
