"""Settings, per browser: your own API key (or the app's), live preview interval and what it
costs, how results arrive, defaults for new tasks, adult models, output format; where to switch the language.

Preferences are kept in the browser (`gr.BrowserState`) and in the server's memory for the
visitor; keys only in the server's memory for this visitor, and in the browser too (encrypted)
only when "remember on this device" is ticked."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import gradio as gr

from webui.api import models as m
from webui.api.errors import ConfigurationError, ZhiqiteError
from webui.core import untrusted
from webui.core.delivery import DeliveryMode
from webui.core.engine import PollPolicy, PreviewSchedule
from webui.core.limits import RateLimited
from webui.core.visitors import CREDENTIAL_FIELDS, Credentials, Preferences, PreviewMode
from webui.messages import Msg, label, message
from webui.ui import toasts
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.language import current_language, say

TAB = "settings"
LANGUAGE_NOTE = ("**Language**: the page follows your browser's language (English or 中文); "
                 "switch it in **Settings** at the foot of the page.")
KEY_LABELS = {"appcode": "AppCode", "app_key": "AppKey", "app_secret": "AppSecret",
              "access_key_id": "Vendor access key id",
              "access_key_secret": "Vendor access key secret"}


@dataclass
class SettingsTab:
    keys: dict[str, gr.Textbox]
    remember: gr.Checkbox
    use_keys: gr.Button
    forget_keys: gr.Button
    test: gr.Button
    key_status: gr.Markdown
    prefs: dict[str, Any]  # Preferences field -> component
    tradeoff: gr.Markdown
    delivery: gr.Markdown
    save: gr.Button
    saved_prefs: gr.BrowserState  # JSON of Preferences
    saved_keys: gr.BrowserState  # JSON of Credentials, only when remembered (encrypted)
    handlers: dict[str, Any]
    outputs_folder: gr.Textbox


ASK_NOTIFY_JS = """(on) => {
  if (on && "Notification" in window && Notification.permission === "default") {
    Notification.requestPermission();
  }
  return [];
}"""
MODE_CHOICES = [("Spaced out: 2 s, 4 s, 8 s … 16 s (cheapest)", PreviewMode.SPACED.value),
                ("Steady, every N seconds while this page is shown", PreviewMode.STEADY.value),
                ("Off", PreviewMode.OFF.value)]


def _idle_polls(seconds: float) -> int:
    """Status queries of polling mode with previews off, for a task of `seconds`."""
    policy, count, at, delay = PollPolicy(), 0, 0.0, PollPolicy().idle_first
    while at < seconds:
        at, delay, count = at + delay, min(policy.idle_cap, delay * policy.idle_growth), count + 1
    return count


def calls_per_task(schedule: PreviewSchedule | None, mode: DeliveryMode, seconds: float
                   ) -> int:
    """Billed calls of a task of `seconds` with this preview schedule: the submit, each
    preview, and in polling mode the queries that learn the result."""
    previews = len(schedule.times(seconds)) if schedule else 0
    if mode == DeliveryMode.CALLBACK:
        return 1 + previews
    if schedule is None:
        return 1 + _idle_polls(seconds)
    return 1 + previews + 1  # the first query after the end learns the result


def _schedule(mode: str, interval: float | None) -> PreviewSchedule | None:
    return Preferences(preview_interval=interval or 0, preview_mode=PreviewMode(mode)).schedule()


def _shown(mode: str, interval: float | None) -> Msg:
    if mode == PreviewMode.STEADY and interval:
        return Msg("settings.preview_every", seconds=f"{interval:g}")
    if mode == PreviewMode.SPACED:
        return Msg("settings.preview_spaced_out")
    return Msg("settings.preview_is_off")


def tradeoff_text(mode: str, interval: float | None, delivery: DeliveryMode) -> Msg:
    schedule = _schedule(mode, interval)
    short, minute = (calls_per_task(schedule, delivery, t) for t in (20, 60))
    off = calls_per_task(None, delivery, 20)
    return Msg("settings.tradeoff", shown=_shown(mode, interval), short=short, minute=minute,
               off=off)


CALLBACK_TEXT = ("Results arrive by **callback** (the service calls this app back): with "
                 "previews off a task costs one billed call; a status query runs only as a rare "
                 "safety net.")
POLLING_TEXT = ("Results are learnt by **polling** (no public URL the service can call back): "
                "queries every 2 s growing to 30 s. Set `ZHIQITE_PUBLIC_URL`, or start the app "
                "with `--share`, for callbacks.")


def delivery_text(ctx: UiContext) -> str:
    """English, as the page is written (`ui/i18n.py` gives it its key); `label()` renders it."""
    return CALLBACK_TEXT if ctx.engine.mode == DeliveryMode.CALLBACK else POLLING_TEXT


# how the client signs its calls -> the words for it (`none`: a backend that needs no key)
AUTH_WORDS = {"appcode": "AppCode", "vendor-key": Msg("settings.auth_vendor_key"),
              "signature": Msg("settings.auth_signature")}


def connection_works(auth_mode: str, base_url: str, total: int | None) -> Msg:
    """Test connection's answer, plainly: "Connection works: AppCode at api.example.com:
    12 checkpoints listed." """
    host = urlsplit(base_url).netloc or base_url
    words = AUTH_WORDS.get(auth_mode)
    if words is None:
        if isinstance(total, int):
            return Msg("settings.works_keyless_listed", host=host, total=total)
        return Msg("settings.works_keyless", host=host)
    if isinstance(total, int):
        return Msg("settings.works_listed", auth=words, host=host, total=total)
    return Msg("settings.works", auth=words, host=host)


def key_mode_text(ctx: UiContext, visitor: str | None) -> Msg:
    if ctx.people.uses_own_key(visitor):
        return Msg("settings.key_own", mode=ctx.client(visitor).auth_mode)
    own = ctx.people.allow_own_keys
    if ctx.runtime.is_offline:
        return Msg("settings.key_offline_own") if own else Msg("settings.key_offline")
    return Msg("settings.key_app_own") if own else Msg("settings.key_app")


def browser_stores(ctx: UiContext) -> tuple[gr.BrowserState, gr.BrowserState]:
    """The browser's saved preferences and remembered key. Make them outside every tab:
    Gradio mounts a tab's components (and a BrowserState reads localStorage) only once the
    tab is shown, so kept inside Settings they reached the page's load event empty."""
    secret = ctx.runtime.keys.browser_secret()
    return (gr.BrowserState("", storage_key="zhiqite_prefs", secret=secret),
            gr.BrowserState("", storage_key="zhiqite_keys", secret=secret))


def build_settings(ctx: UiContext, visitor: gr.BrowserState,
                   stores: tuple[gr.BrowserState, gr.BrowserState] | None = None
                   ) -> SettingsTab:
    """`stores`: from `browser_stores`, made outside the tabs (else made here)."""
    d = ctx.people.defaults
    with gr.Tab("Settings", id=TAB, elem_id="tab_settings") as settings_tab:
        # inside the tab: a component between two tabs shows as an extra tab
        saved_prefs, saved_keys = stores or browser_stores(ctx)
        with gr.Row(equal_height=False):
            with gr.Column():
                gr.Markdown("### API key")
                key_status = gr.Markdown(str(key_mode_text(ctx, None)),
                                         elem_id="settings_key_status")
                own = ctx.people.allow_own_keys
                keys = {name: gr.Textbox(label=label, type="password" if "secret" in name
                                         or name == "appcode" else "text", max_lines=1,
                                         interactive=own, elem_id=f"settings_{name}")
                        for name, label in KEY_LABELS.items()}
                gr.Textbox(value=ctx.runtime.client.base_url, label="API base",
                           interactive=False, info="Your key is sent here and nowhere else "
                           "(set by the app's operator: ZHIQITE_API_BASE)")
                remember = gr.Checkbox(label="Remember my key on this device (kept encrypted "
                                       "in this browser; otherwise gone when the page closes)",
                                       value=False, interactive=own,
                                       elem_id="settings_remember")
                with gr.Row():
                    use_keys = gr.Button("Use my key", variant="primary", interactive=own,
                                         elem_id="settings_use_keys")
                    forget_keys = gr.Button("Forget my key", interactive=own,
                                            elem_id="settings_forget_keys")
                    test = gr.Button("Test connection", elem_id="settings_test")
            with gr.Column():
                gr.Markdown("### Results")
                preview_mode = gr.Radio(MODE_CHOICES, value=str(d.preview_mode),
                                        label="Live preview", elem_id="settings_preview_mode")
                interval = gr.Slider(0.5, 5, step=0.5, value=d.preview_interval or 1.5,
                                     label="Steady interval, seconds",
                                     elem_id="settings_preview_interval")
                # rendered in the visitor's language when the page loads (`restore`)
                tradeoff = gr.Markdown("", elem_id="settings_tradeoff")
                delivery = gr.Markdown(delivery_text(ctx), elem_id="settings_delivery")
                output_format = gr.Radio(list(m.OUTPUT_FORMATS), value=d.output_format,
                                         label="Format the service sends (saved files are "
                                               "always PNG with their parameters)")
                # the folder as the visitor may see it, in their language (`restore`)
                outputs_folder = gr.Textbox(value="", label="Outputs folder", interactive=False,
                                            info="Set by the app's operator "
                                                 "(ZHIQITE_OUTPUTS_DIR)")
        gr.Markdown("### Defaults for new tasks")
        with gr.Row():
            sampler = gr.Dropdown(list(m.SAMPLERS), value=d.sampler, label="Sampler")
            width = gr.Slider(64, 1024, step=8, value=d.width, label="Width")
            height = gr.Slider(64, 1024, step=8, value=d.height, label="Height")
            steps = gr.Slider(1, 150, step=1, value=d.steps, label="Steps")
            cfg = gr.Slider(1, 30, step=0.5, value=d.cfg_scale, label="CFG Scale")
        with gr.Row():
            units = gr.Slider(1, 3, step=1, value=d.controlnet_units,
                              label="ControlNet units shown")
            adult = gr.Checkbox(value=d.show_adult, label="Show models marked adult (isAdult)",
                                elem_id="settings_show_adult")
            gr.Markdown(LANGUAGE_NOTE, elem_id="settings_language")
        gr.Markdown("### Before a large Generate")
        with gr.Row():
            confirm_images = gr.Number(d.confirm_images, precision=0, minimum=0,
                                       maximum=100_000, elem_id="settings_confirm_images",
                                       label="Ask before sending more than this many images")
            confirm_calls = gr.Number(d.confirm_calls, precision=0, minimum=0,
                                      maximum=100_000, elem_id="settings_confirm_calls",
                                      label="Ask before more than this many billed calls",
                                      info="submits and status queries of one Generate "
                                           "(a plot's cells, a batch); live previews apart")
            # the browser asks for the permission when it is ticked (a click: its rule)
            notify = gr.Checkbox(value=d.notify_done, elem_id="settings_notify",
                                 label="Tell me when a Generate finishes: a sound, and a "
                                       "notification while this page is in the background")
        notify.input(None, inputs=notify, js=ASK_NOTIFY_JS, queue=False)
        save = gr.Button("Save settings", variant="primary", elem_id="settings_save")

    prefs = {"preview_mode": preview_mode, "preview_interval": interval, "show_adult": adult, "sampler": sampler,
             "width": width, "height": height, "steps": steps, "cfg_scale": cfg,
             "output_format": output_format, "controlnet_units": units,
             "confirm_images": confirm_images, "confirm_calls": confirm_calls,
             "notify_done": notify}
    tab = SettingsTab(keys, remember, use_keys, forget_keys, test, key_status, prefs, tradeoff,
                      delivery, save, saved_prefs, saved_keys, {}, outputs_folder)
    tab.handlers = _wire(ctx, tab, visitor)
    # shown again in the page's language now (Gradio's switch may have changed it since)
    settings_tab.select(tab.handlers["relabel"], inputs=[visitor, preview_mode, interval],
                        outputs=[tab.tradeoff, tab.key_status, tab.delivery,
                                 tab.outputs_folder], queue=False, show_progress="hidden")
    return tab


def _wire(ctx: UiContext, tab: SettingsTab, visitor: Any) -> dict[str, Any]:
    pace = [tab.prefs["preview_mode"], tab.prefs["preview_interval"]]

    def tradeoff(mode: Any, interval: Any) -> str:
        mode = mode if mode in tuple(PreviewMode) else PreviewMode.SPACED
        seconds = interval if isinstance(interval, int | float) and 0.5 <= interval <= 5 \
            else None
        return say(tradeoff_text(mode, seconds, ctx.engine.mode))

    for control in pace:
        control.change(tradeoff, pace, tab.tradeoff, queue=False)

    def use(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
            ) -> dict[Any, Any]:
        visitor_id = ctx.visitor_id(data[visitor], request)
        if not visitor_id:
            toasts.warn(NO_VISITOR)
            return gr.skip()
        credentials = Credentials.from_values({n: data[c] for n, c in tab.keys.items()})
        try:
            ctx.people.set_credentials(visitor_id, credentials)
        except ConfigurationError as exc:
            toasts.warn(Msg("settings.key_not_used", reason=exc))
            return gr.skip()
        toasts.info(Msg("settings.key_in_use"))
        remembered = seal_key(ctx, visitor_id, credentials) if data[tab.remember] else ""
        return {tab.saved_keys: remembered, tab.key_status: say(key_mode_text(ctx, visitor_id)),
                **{c: gr.Textbox(value="") for c in tab.keys.values()}}

    def forget(visitor_id: str | None, request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[Any, Any]:
        visitor_id = ctx.visitor_id(visitor_id, request)
        if visitor_id:
            ctx.people.forget_credentials(visitor_id)
        toasts.info(Msg("settings.key_forgotten"))
        return {tab.saved_keys: "", tab.key_status: say(key_mode_text(ctx, visitor_id))}

    def test(visitor_id: str | None, request: gr.Request = None  # type: ignore[assignment]
             ) -> str:
        language = current_language()
        visitor_id = ctx.visitor_id(visitor_id, request)
        if not visitor_id:
            return toasts.markdown_text(say(NO_VISITOR, language))
        try:
            ctx.admit_list_call(visitor_id)  # a billed list call
        except RateLimited as limited:
            return toasts.markdown_text(say(Msg("settings.not_tested", reason=limited),
                                            language))
        client = ctx.client(visitor_id)
        try:
            page = client.query_models({"pageSize": 1, "pageNum": 1})
        except ZhiqiteError as exc:
            return toasts.markdown_text(say(Msg("settings.connection_failed", reason=exc),
                                            language))
        total = getattr(getattr(page, "data", None), "total", None)
        return toasts.markdown_text(say(connection_works(client.auth_mode, client.base_url,
                                                         total), language))

    def save(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
             ) -> dict[Any, Any]:
        visitor_id = ctx.visitor_id(data[visitor], request)
        if not visitor_id:
            toasts.warn(NO_VISITOR)
            return gr.skip()
        values = {name: data[c] for name, c in tab.prefs.items()}
        prefs = ctx.people.set_prefs(visitor_id, values)
        dropped = [name for name in values if getattr(prefs, name) != values[name]
                   and not _same_number(getattr(prefs, name), values[name])]
        if dropped:
            toasts.warn(Msg("settings.not_saved_out_of_range", fields=", ".join(dropped)))
        else:
            toasts.info(Msg("settings.saved"))
        return {tab.saved_prefs: json.dumps(asdict(prefs))}

    use_event = tab.use_keys.click(use, inputs={visitor, tab.remember, *tab.keys.values()},
                                   outputs=[tab.saved_keys, tab.key_status,
                                            *tab.keys.values()])
    forget_event = tab.forget_keys.click(forget, inputs=visitor,
                                         outputs=[tab.saved_keys, tab.key_status])
    tab.test.click(test, inputs=visitor, outputs=tab.key_status)
    save_event = tab.save.click(save, inputs={visitor, *tab.prefs.values()},
                                outputs=tab.saved_prefs)
    def relabel(visitor_id: str | None, mode: Any, interval: Any,
                request: gr.Request = None  # type: ignore[assignment]
                ) -> tuple[str, str, str, str]:
        language = current_language()
        visitor_id = ctx.visitor_id(visitor_id, request)
        return (say(tradeoff(mode, interval), language),
                say(key_mode_text(ctx, visitor_id), language),
                label(delivery_text(ctx), language),
                toasts.visitor_path(ctx.runtime.settings.outputs_dir,
                                    message("settings.outputs_on_server", language)))

    return {"use": use, "forget": forget, "test": test, "save": save, "relabel": relabel,
            "events": (save_event, use_event, forget_event)}


def _same_number(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def restore(ctx: UiContext, tab: SettingsTab, visitor_id: str, saved_prefs: Any,
            saved_keys: Any) -> tuple[Preferences, dict[Any, Any]]:
    """At page load: the browser's preferences (checked again) and remembered key back into
    the server's memory; returns the preferences and the Settings form's updates."""
    values = untrusted.loads(saved_prefs, 20_000)
    prefs = ctx.people.set_prefs(visitor_id, values) if isinstance(values, dict) and values \
        else ctx.prefs(visitor_id)
    remembered, legacy = unseal_key(ctx, visitor_id, saved_keys)
    updates: dict[Any, Any] = {}
    if remembered is not None:
        # a broken one is shown as not in use; the visitor can enter it again
        with contextlib.suppress(ConfigurationError):
            ctx.people.set_credentials(visitor_id, remembered)
        if legacy:  # kept by an earlier version with a secret every page could read
            updates[tab.saved_keys] = seal_key(ctx, visitor_id, remembered)
    updates.update({c: getattr(prefs, name) for name, c in tab.prefs.items()})
    language = current_language()
    updates[tab.tradeoff] = say(tradeoff_text(prefs.preview_mode, prefs.preview_interval,
                                              ctx.engine.mode), language)
    updates[tab.key_status] = say(key_mode_text(ctx, visitor_id), language)
    # the public URL is known once listening
    updates[tab.delivery] = label(delivery_text(ctx), language)
    updates[tab.outputs_folder] = toasts.visitor_path(
        ctx.runtime.settings.outputs_dir, message("settings.outputs_on_server", language))
    return prefs, updates


KEY_SEAL = "remembered-key"


def seal_key(ctx: UiContext, visitor_id: str, credentials: Credentials) -> str:
    """A remembered key as the browser keeps it: sealed by the server (`Keys.seal`), so
    neither the page nor anyone reading the browser's storage can read it."""
    return ctx.runtime.keys.seal(KEY_SEAL, visitor_id, json.dumps(asdict(credentials)).encode())


def unseal_key(ctx: UiContext, visitor_id: str, saved: Any) -> tuple[Credentials | None, bool]:
    """(the remembered key, whether it was kept in the clear by an earlier version)."""
    if not isinstance(saved, str) or not saved or len(saved) > 20_000:
        return None, False
    opened = ctx.runtime.keys.unseal(KEY_SEAL, visitor_id, saved)
    legacy = opened is None and saved.startswith("{")
    values = untrusted.loads(opened.decode() if opened is not None else saved if legacy
                             else "null", 20_000)
    if not isinstance(values, dict) or not any(values.get(n) for n in CREDENTIAL_FIELDS):
        return None, False
    return Credentials.from_values(values), legacy
