"""The app: builds the Blocks (inside a function: nothing runs at import), launches Gradio,
mounts the callback route on Gradio's FastAPI app, and resumes unfinished tasks."""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from webui.args import preview_interval as interval_arg
from webui.core.hosting import MAX_UPLOAD_BYTES
from webui.core.http_guards import (
    BodyLimit,
    ClosedRoutes,
    LoginThrottle,
    PageBuildLimit,
    SessionLimit,
    UploadLimit,
)
from webui.core.limits import Limits
from webui.core.page_cache import LongLivedAssets, PageCache
from webui.core.routes import callback_router, covers_router, tags_router, uploads_router
from webui.core.runtime import Runtime, Settings, choose_public_url
from webui.core.shares import share_router
from webui.core.visitors import Preferences
from webui.messages import Language, label, message
from webui.ui import toasts
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.followups import wire_panel_followup
from webui.ui.i18n import translate, translations
from webui.ui.inputs import guard_pillow, guard_uploads, quiet_choice_refusals
from webui.ui.language import page_tag
from webui.ui.page_blocks import PageBlocks, share_api_schemas
from webui.ui.prompt_box import build_network_names, picker_updates, style_choices
from webui.ui.queue_strip import build_queue_strip, wire_queue_strip
from webui.ui.results import meter_markdown
from webui.ui.send_to import wire_send_to
from webui.ui.tabs.extras import build_extras
from webui.ui.tabs.faceswap import build_faceswap
from webui.ui.tabs.history import build_history
from webui.ui.tabs.img2img import build_img2img
from webui.ui.tabs.pnginfo import build_pnginfo
from webui.ui.tabs.settings import browser_stores, build_settings, restore
from webui.ui.tabs.txt2img import build_txt2img
from webui.ui.topbar import build_topbar, model_updates
from webui.ui.working_state import TOPBAR, build_working_state, forget_prefs_script, plain_fields

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parents[2] / "assets"
OFFLINE_BANNER = ("**Offline demo backend: images are synthetic.** No credentials are set, so "
                  "this app runs its own stand-in for the Zhiqite API on this machine. Set "
                  "`ZHIQITE_APPCODE` (or an AppKey/AppSecret) to use the real service.")

EPHEMERAL_BANNER = ("**History is not kept on this Space.** It has no persistent storage, so "
                    "tasks and images are lost when it restarts: download what you want to "
                    "keep (Save), or duplicate the Space and add persistent storage.")


@dataclass(frozen=True)
class Access:
    """Who may use a shared deployment, and how much of the operator's key."""

    auth: tuple[str, str] | None = None  # (user, password) in front of the whole app
    own_keys: bool = True  # visitors may bring their own API key
    limits: Limits = Limits()  # per visitor, per address and in all (core/limits.py)
    trusted_proxies: int = 0  # proxies in front that append to X-Forwarded-For

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, shared: bool = False) -> Access:
        """ZHIQITE_PASSWORD (and ZHIQITE_USERNAME, default "zhiqite"), ZHIQITE_OWN_KEYS=off,
        the limits (`Limits.from_env`: the shared defaults when `shared`, i.e. on a Space,
        on a public address or with --share), ZHIQITE_TRUSTED_PROXIES (default 1 on a
        Space, else 0). Never from the command line, where a password shows in the process
        list."""
        password = env.get("ZHIQITE_PASSWORD", "")
        own = env.get("ZHIQITE_OWN_KEYS", "on").strip().lower()
        if own not in ("on", "off"):
            raise ValueError(f"ZHIQITE_OWN_KEYS must be on or off, got {own!r}")
        proxies = str(env.get("ZHIQITE_TRUSTED_PROXIES") or "").strip() or \
            ("1" if env.get("SPACE_ID") else "0")
        if not proxies.isdigit():
            raise ValueError(f"ZHIQITE_TRUSTED_PROXIES must be a whole number, got {proxies!r}")
        return cls((env.get("ZHIQITE_USERNAME") or "zhiqite", password) if password else None,
                   own == "on", Limits.from_env(env, shared=shared or bool(env.get("SPACE_ID"))),
                   int(proxies))


@dataclass
class Launched:
    demo: gr.Blocks
    runtime: Runtime
    url: str

    def close(self) -> None:
        self.demo.close()
        self.runtime.close()


def page_script() -> str:
    """Gradio runs one function at load: ours runs the shortcuts (Ctrl+Enter, and Ctrl+Up /
    Down for a word's weight) and the prompts' autocomplete, keeps the language cookie
    in step with the page's language (the server renders its messages in it), shows the
    running tasks' progress in the browser tab's title and, on a phone, brings the results
    into view at Generate, and writes the working state after the visitor's edits
    (`working_state.py`)."""
    shortcuts = (ASSETS / "app.js").read_text(encoding="utf-8").strip()
    language = (ASSETS / "language.js").read_text(encoding="utf-8").strip()
    title = (ASSETS / "progress_title.js").read_text(encoding="utf-8").strip()
    phone = (ASSETS / "phone.js").read_text(encoding="utf-8").strip()
    others = [(ASSETS / name).read_text(encoding="utf-8").strip()
              for name in ("edit_attention.js", "autocomplete.js", "work_save.js")]
    labels = json.dumps(gradio_labels(), ensure_ascii=False)
    return (f"() => {{ ({shortcuts})(); ({language})({labels}); ({title})(); ({phone})(); "
            + "".join(f"({script})(); " for script in others) + "}")


# Gradio's labels that its own translations leave in English: {its English: catalogue key}
GRADIO_LABELS = {"More tabs": "page.more_tabs"}


def gradio_labels() -> dict[str, dict[str, str]]:
    """{page language: {Gradio's English label: the catalogue's words}} for `language.js`."""
    return {page_tag(language): {
        english: message(key, language) for english, key in GRADIO_LABELS.items()}
        for language in Language}


def notify_js(tab: str) -> str:
    """When a batch of `tab` ends and the visitor asked for it (Settings): a short tone, and
    a browser notification while the page is in the background. Only for a batch this page
    saw running (a reload that finds it ended already says nothing): `assets/
    progress_title.js` notes it. The words are the catalogue's, in the page's language."""
    words = {page_tag(language): {
        "title": message("notify.title", language),
        "body": message("notify.done", language, tab=label(tab, language))}
        for language in Language}
    return f"""(done, on) => {{
  if (!on || !done || !window.zqSawRunning) return [];
  window.zqSawRunning = false;
  const words = {json.dumps(words, ensure_ascii=False)};
  const lang = (document.documentElement.lang || "en").split("-")[0];
  const said = words[lang] || words.en;
  try {{
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const tone = audio.createOscillator(), volume = audio.createGain();
    tone.frequency.value = 880;
    volume.gain.value = 0.08;
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.18);
  }} catch (e) {{}}
  if ((document.hidden || !document.hasFocus()) && "Notification" in window
      && Notification.permission === "granted") {{
    new Notification(said.title, {{body: said.body, tag: "zhiqite-done"}});
  }}
  return [];
}}"""


def build(ctx: UiContext) -> gr.Blocks:
    # Gradio keeps a copy of every image it shows: those copies go after a day.
    with PageBlocks(title="Zhiqite WebUI", delete_cache=(3600, 24 * 3600)) as demo:
        # Kept in the browser's localStorage (encrypted with a secret derived from app.key,
        # so they survive an app restart): ties tasks to this browser across reloads.
        secret = ctx.runtime.keys.browser_secret()
        visitor = gr.BrowserState(None, storage_key="zhiqite_visitor", secret=secret)
        last_tasks = gr.BrowserState("", storage_key="zhiqite_last_tasks",  # JSON {tab: id}
                                     secret=secret)
        stores = browser_stores(ctx)  # outside the tabs: see browser_stores
        if ctx.runtime.is_offline:
            gr.Markdown(OFFLINE_BANNER, elem_id="zq_banner")
        if ctx.runtime.settings.ephemeral:
            gr.Markdown(EPHEMERAL_BANNER, elem_id="zq_banner_ephemeral",
                        elem_classes="zq-banner")
        # set by the page's script on visibilitychange (assets/app.js)
        page_visible = gr.Checkbox(True, visible="hidden", elem_id="zq_page_visible",
                                   label="page visible")
        # set by the page's script when Gradio's language switch changes the page's language
        # (assets/language.js): what streams from the server follows it
        page_language = gr.Textbox("", visible="hidden", elem_id="zq_page_language", interactive=True,
                                   label="page language")
        topbar = build_topbar(ctx, visitor)
        network_names = build_network_names(ctx)  # for the prompts' autocomplete
        queue_strip = build_queue_strip()  # visible from every tab
        with gr.Tabs(elem_id="zq_tabs") as main_tabs:
            with gr.Tab("txt2img", id="txt2img", elem_id="tab_txt2img"):
                txt2img = build_txt2img(ctx, topbar, visitor, last_tasks)
            with gr.Tab("img2img", id="img2img", elem_id="tab_img2img"):
                img2img = build_img2img(ctx, topbar, visitor, last_tasks)
            with gr.Tab("Extras", id="extras", elem_id="tab_extras"):
                extras = build_extras(ctx, visitor, last_tasks)
            with gr.Tab("Face swap", id="faceswap", elem_id="tab_faceswap"):
                faceswap = build_faceswap(ctx, visitor, last_tasks)
            with gr.Tab("PNG Info", id="pnginfo", elem_id="tab_pnginfo"):
                pnginfo = build_pnginfo()
            history = build_history(ctx, visitor)
            settings = build_settings(ctx, visitor, stores)
        tools = (extras.results, faceswap.results)
        wire_send_to(ctx, main_tabs, txt2img, img2img, extras, faceswap, pnginfo,
                     [txt2img.panel, img2img.panel, *(tool.panel for tool in tools),
                      history.panel], history=history)
        for sd_tab in (txt2img, img2img):  # a follow-up of their picture runs in History
            if sd_tab.followup is not None:
                wire_panel_followup(ctx, sd_tab.followup, visitor=visitor,
                                    results=sd_tab.panel.results, selected=sd_tab.panel.selected,
                                    opened=history.opened, main_tabs=main_tabs)
        # a non-picture is refused as it arrives (PNG Info's own read refuses it, then clears)
        guard_uploads(demo, skip=[pnginfo.file])

        tabs = (txt2img, img2img)
        work = build_working_state(ctx, {
            TOPBAR: {"checkpoint": topbar.checkpoint, "vae": topbar.vae,
                     "clip_skip": topbar.clip_skip},
            "txt2img": plain_fields(txt2img.form, txt2img.controlnet, txt2img.adetailer, {}),
            "img2img": plain_fields(img2img.form, img2img.controlnet, img2img.adetailer,
                                    {"image_url": img2img.image_url,
                                     "scale_by": img2img.scale_by})},
            (txt2img.box.generate, img2img.box.generate), PREF_FIELDS)
        applied = [*(c for tab in tabs for c in (*(tab.form[n] for n in PREF_FIELDS),
                                                  tab.controlnet.picker, tab.box.lora,
                                                  tab.box.embedding, tab.box.styles)),
                   network_names]

        def on_load(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                    ) -> Iterator[dict[Any, Any]]:
            # 1. At once, no network: the visitor id (a click that comes before this lands
            # with the same id: see UiContext.visitor_id), preferences, the meter.
            visitor_id = ctx.returning_visitor(data[visitor], request)
            if visitor_id is None:
                toasts.warn(NO_VISITOR)
                return
            prefs, first = restore(ctx, settings, visitor_id, data[settings.saved_prefs],
                                   data[settings.saved_keys])
            owner = ctx.owner(visitor_id)
            first.update(form_updates(tabs, prefs, forms=bool(data[settings.saved_prefs])))
            working, later = work.restore(data[work.state])  # over the saved defaults
            first.update(working)
            for tab in tabs:  # the units offered and the unit restored, in one update: the
                # one the held units say the fields hold (the picker may be saved before)
                first.update(tab.controlnet.offered(prefs.controlnet_units, working))
                first.update(tab.controlnet.restored(working))
            meter = meter_markdown(0, ctx.engine.billed_calls(owner))
            first[visitor] = ctx.visitor_token(visitor_id)
            styles = style_choices(ctx, visitor_id)  # their own and the shipped ones
            for tab in tabs:
                first[tab.panel.meter] = meter
                picked = later.get((tab.panel.tab, "styles"))  # checked against their list
                first[tab.box.styles] = style_choices(ctx, visitor_id, picked) \
                    if picked is not None else styles
            yield first
            # 2. The lists (warmed at start; a visitor's own key lists its own).
            checkpoint, vae = model_updates(
                ctx, visitor_id, later.get((TOPBAR, "checkpoint"), data[topbar.checkpoint]),
                later.get((TOPBAR, "vae"), data[topbar.vae]))
            yield {topbar.checkpoint: checkpoint, topbar.vae: vae,
                   **list_updates(ctx, tabs, network_names, visitor_id)}
            # 3. each tab's last batch: its own follower, started after this (see below)

        def on_visibility(who: Any, shown: Any, request: gr.Request) -> None:
            who = ctx.visitor_id(who, request)
            if who and isinstance(shown, bool):
                ctx.people.set_page_visible(who, shown)
                ctx.engine.reschedule(ctx.owner(who))

        page_visible.change(on_visibility, inputs=[visitor, page_visible], queue=False,
                            show_progress="hidden")
        load_event = demo.load(
            on_load, inputs={visitor, last_tasks, topbar.checkpoint, topbar.vae,
                             settings.saved_prefs, settings.saved_keys, work.state},
            outputs=[visitor, settings.saved_keys, topbar.checkpoint, topbar.vae, *applied,
                     *(c for fields in work.groups.values() for c in fields.values()
                       if c not in applied and c not in (topbar.checkpoint, topbar.vae)),
                     *(slider for tab in tabs for slider in tab.controlnet.sliders),
                     *settings.prefs.values(), settings.tradeoff, settings.key_status,
                     settings.delivery, settings.outputs_folder,
                     *(tab.panel.meter for tab in tabs)],
            concurrency_limit=None, show_progress="hidden")
        # After a reload each tab follows its last batch again, side by side; the same
        # followers show each new batch after a click (`tasks.follow_tab`).
        reattached = {id(tab_): tab_.follower.after(load_event, load=True)
                      for tab_ in (txt2img, img2img, extras, faceswap)}
        wire_queue_strip(ctx, queue_strip, visitor, load_event, page_language)
        for name, finished in (("txt2img", txt2img.send.finished),
                               ("img2img", img2img.send.finished),
                               ("Extras", extras.results.finished),
                               ("Face swap", faceswap.results.finished)):
            finished.change(None, inputs=[finished, settings.prefs["notify_done"]],
                            js=notify_js(name), queue=False, show_progress="hidden")
        # after Save or a key change: the forms, pickers and model lists follow
        def after_settings(who: Any, current: str | None, vae_now: str | None,
                           txt2img_styles: Any, img2img_styles: Any, txt2img_units: Any,
                           img2img_units: Any, request: gr.Request) -> dict[Any, Any]:
            who = ctx.visitor_id(who, request)
            held = {txt2img.controlnet.held: txt2img_units, img2img.controlnet.held: img2img_units}
            return {**form_updates(tabs, ctx.prefs(who), forms=True, held=held),
                    # another key is another owner, with other styles
                    txt2img.box.styles: style_choices(ctx, who, txt2img_styles),
                    img2img.box.styles: style_choices(ctx, who, img2img_styles),
                    **list_updates(ctx, tabs, network_names, who),
                    **dict(zip((topbar.checkpoint, topbar.vae),
                               model_updates(ctx, who, current, vae_now), strict=True))}

        for event in settings.handlers["events"]:
            event.then(after_settings, inputs=[visitor, topbar.checkpoint, topbar.vae,
                                               txt2img.box.styles, img2img.box.styles,
                                               txt2img.controlnet.held,
                                               img2img.controlnet.held],
                       outputs=[*applied, topbar.checkpoint, topbar.vae])
        # Save in Settings (the first event): the visitor's own sampler, size, steps, CFG give
        # way to the new defaults (in the browser only)
        settings.handlers["events"][0].then(None, js=forget_prefs_script(work),
                                            inputs=work.state, outputs=work.state,
                                            queue=False, show_progress="hidden")
        for panel, tab_ in ((txt2img.panel, txt2img), (img2img.panel, img2img),
                            (extras.results.panel, extras), (faceswap.results.panel, faceswap)):
            # the status is written once the cancel has gone through: a last update of the
            # stopped stream must not overwrite it
            panel.interrupt.click(None, cancels=[tab_.follower.event, reattached[id(tab_)]],
                                  queue=False).then(
                panel.interrupted, outputs=panel.interrupt_outputs, queue=False,
                show_progress="hidden")
        untranslated = translate(demo).missing  # before the page's config is made
        if untranslated:
            log.warning("no entry in the catalogue for %d text(s), e.g. %r", len(untranslated),
                        untranslated[0][:60])
    return demo


# Gradio's login page is one for every visitor, before any language is known: both
LOGIN_MESSAGE = " / ".join(message("app.password", language) for language in Language)
GZIP_MINIMUM_BYTES = 1024  # smaller answers go as they are
# page sessions whose state Gradio keeps (its default: 10,000): about 85 KB each after the
# page's load here (1.4 MB as Gradio keeps them, which held this to 500). A page whose
# session went is checked against the page's first choices and bounds (a refusal)
SESSION_CAPACITY = 2000
PREF_FIELDS = ("sampler", "width", "height", "steps", "cfg_scale")


def list_updates(ctx: UiContext, tabs: tuple[Any, ...], names: gr.HTML, visitor: str | None
                 ) -> dict[Any, Any]:
    """The LoRA / embedding pickers of the SD tabs and the prompt's autocomplete names, as
    the visitor's key lists them."""
    lora, embedding, names_update = picker_updates(ctx, visitor)
    return {names: names_update,
            **{c: u for tab in tabs for c, u in ((tab.box.lora, lora),
                                                 (tab.box.embedding, embedding))}}


def form_updates(tabs: tuple[Any, ...], prefs: Preferences, *, forms: bool,
                 held: dict[Any, Any] | None = None) -> dict[Any, Any]:
    """What a visitor's preferences change on the SD tabs (no I/O): defaults in the forms
    (only when they saved some), ControlNet units offered (with `held`, the page's held
    units: the unit the fields hold stays offered and picked, and so does each unit held
    enabled, whatever the count)."""
    updates: dict[Any, Any] = {}
    for tab in tabs:
        updates.update(tab.controlnet.offered(prefs.controlnet_units, held)
                       if held is not None else tab.controlnet.shown(prefs.controlnet_units))
        if forms:
            cfg = prefs.cfg_scale if tab.form["cfg_scale"].step != 1 else round(prefs.cfg_scale)
            updates.update({tab.form["sampler"]: prefs.sampler, tab.form["width"]: prefs.width,
                            tab.form["height"]: prefs.height, tab.form["steps"]: prefs.steps,
                            tab.form["cfg_scale"]: cfg})
    return updates


def launch(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860,
           share: bool = False, preview_interval: float | None = None,
           show_adult: bool = False, quiet: bool = False,
           access: Access | None = None) -> Launched:
    """Start everything and return (the server runs in its own threads)."""
    access = access or Access()
    guard_pillow()  # no image past the app's own limit is decoded anywhere in the process
    quiet_choice_refusals()  # a forged choice is refused without a traceback in the log
    share_api_schemas()  # a rebuilt component does not generate its JSON schema again
    runtime = Runtime.open(settings)
    runtime.warm_up()  # the model lists load while the page is built
    ctx = UiContext.create(runtime, preview_interval=preview_interval, show_adult=show_adult,
                           allow_own_keys=access.own_keys, limits=access.limits,
                           trusted_proxies=access.trusted_proxies)
    demo = build(ctx)
    demo.queue(default_concurrency_limit=None)
    # Who a request is from is decided once, by ZHIQITE_TRUSTED_PROXIES: uvicorn would
    # otherwise take X-Forwarded-For from any loopback peer (a tunnel that forwards what the
    # client wrote would let every request claim any address).
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")
    app, local_url, share_url = demo.launch(
        server_name=host, server_port=port, share=share, prevent_thread_lock=True,
        auth=access.auth, auth_message=LOGIN_MESSAGE,
        max_file_size=MAX_UPLOAD_BYTES + (4 << 20),  # Gradio refuses bigger files outright
        run_history=False, show_error=False, quiet=quiet, max_threads=200,
        footer_links=["gradio", "settings"], i18n=translations(demo),  # footer Settings: language
        css_paths=[ASSETS / "app.css"], css=toasts.toast_title_css(),
        js=page_script(),
        # Gradio keeps each page session's state (see SESSION_CAPACITY): the oldest go first
        state_session_capacity=SESSION_CAPACITY,
        app_kwargs={"middleware": [
            # the page, its config and the API description are made once per address they
            # are reached by (not per visitor or script), and kept compressed; with a
            # password login they depend on the visitor's cookie
            Middleware(PageCache, enabled=access.auth is None), Middleware(LongLivedAssets),
            # what the cache did not answer (a new Host, a query): a few per address. Not
            # with a password login (nothing kept; the login bounds who gets a page), nor
            # through --share's tunnel (every visitor comes from its one local address)
            Middleware(PageBuildLimit, per_ten_minutes=0 if access.auth is not None or share
                       else access.limits.page_builds_per_ten_minutes,
                       trusted_proxies=access.trusted_proxies),
            # the page (HTML with its 1.9 MB config) and JSON go compressed when the browser
            # asks; event streams and pictures are left alone (Starlette's exclusions)
            Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES),
            Middleware(ClosedRoutes), Middleware(BodyLimit),
            Middleware(LoginThrottle, trusted_proxies=access.trusted_proxies),
            Middleware(SessionLimit, per_hour=access.limits.new_sessions_per_hour,
                       trusted_proxies=access.trusted_proxies),
            Middleware(UploadLimit, mb_per_hour=access.limits.upload_mb_per_hour,
                       trusted_proxies=access.trusted_proxies)]})
    # The service posts results here; the route lives on Gradio's own FastAPI app.
    app.include_router(callback_router(runtime.engine))
    app.include_router(uploads_router(runtime.local_host))
    app.include_router(covers_router(ctx.covers))
    app.include_router(tags_router(runtime.tags))
    app.include_router(share_router(runtime.store))  # read-only links (History)
    loopback = f"http://127.0.0.1:{demo.server_port}"
    public = choose_public_url(settings, offline=runtime.is_offline, loopback=loopback,
                               share_url=share_url)
    if public != settings.public_url:
        runtime.set_public_url(public)
    resumed = runtime.engine.resume()
    if runtime.engine.listen():  # other replicas may share the store: hear their changes,
        runtime.engine.sweep()   # take over a dead one's tasks
    url = local_url.rstrip("/") if host not in ("0.0.0.0", "::") else loopback
    if not quiet:
        backend = ("offline demo backend (synthetic images; set ZHIQITE_APPCODE for the real "
                   "service)" if runtime.is_offline else runtime.client.base_url)
        print(f"zhiqite-webui on {url} | backend: {backend} | results: "
              f"{runtime.engine.mode} mode | resumed {resumed} unfinished task(s)", flush=True)
    return Launched(demo, runtime, url)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zhiqite-webui",
                                description="The web UI for the Zhiqite image API.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--backend", choices=("auto", "offline", "cloud"), default=None,
                   help="auto (default): the offline backend when no credentials are set")
    p.add_argument("--api-base", default=None, help="the API's base URL (cloud backend)")
    p.add_argument("--share", action="store_true", help="a public gradio.live link")
    p.add_argument("--preview-interval", type=interval_arg, default=None,
                   help="default live preview of a new browser: seconds between previews "
                   "(0.5-5, a steady pace), or 0 for none; by default previews are spaced "
                   "out (2 s, 4 s, 8 s ... 16 s) so that watching a task bills few calls")
    p.add_argument("--show-adult", action="store_true", help="list models marked isAdult")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.api_base:
        os.environ["ZHIQITE_API_BASE"] = args.api_base
    try:
        settings = Settings.from_env(backend=args.backend)
        shared = args.share or args.host not in ("127.0.0.1", "localhost", "::1")
        launched = launch(settings, host=args.host, port=args.port, share=args.share,
                          preview_interval=args.preview_interval, show_adult=args.show_adult,
                          access=Access.from_env(os.environ, shared=shared))
    except (ValueError, OSError) as exc:
        raise SystemExit(f"zhiqite-webui: {exc}") from None
    try:
        launched.demo.block_thread()
    finally:
        launched.runtime.close()
