"""Named form state: components registered under a field name, read back as a dict of names,
so handlers take `Txt2ImgForm(**values)` and never a long positional list."""

from __future__ import annotations

from typing import Any, TypeVar

import gradio as gr

C = TypeVar("C", bound=gr.components.Component)


class Form:
    def __init__(self) -> None:
        self.fields: dict[str, gr.components.Component] = {}

    def add(self, name: str, component: C) -> C:
        self.fields[name] = component
        return component

    @property
    def components(self) -> list[gr.components.Component]:
        return list(self.fields.values())

    def values(self, data: dict[Any, Any]) -> dict[str, Any]:
        """From the dict Gradio passes when `inputs` is a set of components."""
        return {name: data[component] for name, component in self.fields.items()
                if component in data}

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]
