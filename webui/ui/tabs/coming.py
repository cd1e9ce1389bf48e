"""Tabs that later work fills: one honest line until then."""

from __future__ import annotations

import gradio as gr

COMING: tuple[tuple[str, str], ...] = (
    ("Settings", "credentials, preview interval, defaults and language"),
)


def build_coming_tab(name: str, what: str) -> None:
    with gr.Tab(name, elem_id=f"tab_{name.lower().replace(' ', '_')}"):
        gr.Markdown(f"**{name}** is coming: {what}. Results are already kept in the task store and "
                    "under `outputs/`.")
