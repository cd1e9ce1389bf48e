"""A1111's top bar: checkpoint (with refresh), VAE, clip skip; shared by every SD tab."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.api.errors import ZhiqiteError
from webui.core.limits import RateLimited
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.context import UiContext
from webui.ui.forms import Form

VAE_AUTOMATIC = "Automatic"


@dataclass
class TopBar:
    checkpoint: gr.Dropdown
    refresh: gr.Button
    vae: gr.Dropdown
    clip_skip: gr.Slider

    def register(self, form: Form) -> None:
        form.add("checkpoint", self.checkpoint)
        form.add("vae", self.vae)
        form.add("clip_skip", self.clip_skip)


def build_topbar(ctx: UiContext, visitor: Any) -> TopBar:
    with gr.Row(elem_id="zq_topbar", equal_height=True):
        checkpoint = gr.Dropdown(label="Stable Diffusion checkpoint", choices=[], scale=4,
                                 elem_id="zq_checkpoint", allow_custom_value=False)
        refresh = gr.Button("↻", scale=0, min_width=40, elem_id="zq_refresh_models",
                            size="sm")
        vae = gr.Dropdown(label="SD VAE", choices=[VAE_AUTOMATIC], value=VAE_AUTOMATIC,
                          scale=3, elem_id="zq_vae")
        clip_skip = gr.Slider(1, 12, value=ctx.defaults.get("clip_skip", 1), step=1,
                              label="Clip skip", scale=2, elem_id="zq_clip_skip")
    bar = TopBar(checkpoint, refresh, vae, clip_skip)
    def refreshed(who: Any, current: str | None, vae_now: str | None,
                  request: gr.Request) -> tuple[Any, Any]:
        who = ctx.visitor_id(who, request)
        try:
            ctx.admit_list_call(who)  # a refresh bills list calls
        except RateLimited as limited:
            toasts.warn(Msg("lists.not_reloaded", reason=limited))
            return model_updates(ctx, who, current, vae_now)
        return model_updates(ctx, who, current, vae_now, refresh=True)

    refresh.click(refreshed, inputs=[visitor, checkpoint, vae], outputs=[checkpoint, vae])
    return bar


def model_updates(ctx: UiContext, visitor: str | None, current: str | None,
                  vae_now: str | None, refresh: bool = False) -> tuple[Any, Any]:
    """Checkpoint and VAE choices (as the visitor's key lists them), keeping the current pick
    when it is still offered."""
    catalog = ctx.catalog_for(visitor)
    try:
        checkpoints = catalog.checkpoints(show_adult=ctx.adult(visitor), refresh=refresh)
        vaes = catalog.vaes(refresh=refresh)
    except ZhiqiteError as exc:
        toasts.warn(Msg("lists.models_not_loaded", reason=exc))
        return gr.Dropdown(), gr.Dropdown()
    values = [c.value for c in checkpoints]
    pick = current if current in values else (values[0] if values else None)
    vae_choices = [VAE_AUTOMATIC, *(c.value for c in vaes)]
    return (gr.Dropdown(choices=[(c.label, c.value) for c in checkpoints], value=pick),
            gr.Dropdown(choices=vae_choices,
                        value=vae_now if vae_now in vae_choices else VAE_AUTOMATIC))
