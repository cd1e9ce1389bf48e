"""The working state of the SD tabs, kept per browser: a reload finds the prompt, the
checkpoint and every plain form field as the visitor left them.

Kept in one `gr.BrowserState` (localStorage, encrypted) as a JSON string
`{"topbar": {...}, "txt2img": {...}, "img2img": {...}}` (a JSON string, not a dict: see
`tasks.read_last_tasks`). Saved by events that run in the browser only (`fn=None`, a small
script): no request reaches the server, however fast the visitor types.

- Every plain field (not the uploaded images) is written 0.1 s after any input of the
  visitor's on the page (`assets/work_save.js` writes the hidden box
  `#zq_work_save`; edits within the 0.1 s are written together, and a page going to the
  background writes at once) and on Generate. One event with one trigger, not an `.input`
  per field: Gradio's page matches every component against every event's triggers at each
  load (issue 21).
- The five fields Settings has defaults for (sampler, size, steps, CFG) are written only
  when the visitor edits that field: a field they never touched follows the saved defaults
  on every load; Save in Settings forgets their own values of those fields.
- At load the values are untrusted: each is checked against its component (type, choices,
  range, length) and what does not fit is dropped (`check`, `restore`).
- A task reattached after a reload shows in its results panel (its infotext names its own
  parameters); the form keeps the working state, which Generate wrote when that task was
  sent, so the two differ only by edits made afterwards, and the newest edits win.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from webui.core import untrusted
from webui.core.extensions import CONTROLNET_SLIDERS

STORAGE_KEY = "zhiqite_work"
MAX_STORED = 200_000  # characters of the whole JSON; more is junk
MAX_TEXT = 20_000  # characters of one text field
MAX_PICKS = 64  # items of a multiselect dropdown
TOPBAR = "topbar"
SAVE_FIELD = "zq_work_save"  # a change of it writes the state (assets/work_save.js)

# (group, field) per value; `(state, ...values) => state`, merged into the stored map
_MERGE_JS = """(keys) => (state, ...values) => {
  let all = {};
  try { all = JSON.parse(state || "{}") || {}; } catch (e) { all = {}; }
  if (typeof all !== "object" || Array.isArray(all)) all = {};
  keys.forEach(([group, name], i) => {
    if (typeof all[group] !== "object" || all[group] === null) all[group] = {};
    if (values[i] === undefined) delete all[group][name]; else all[group][name] = values[i];
  });
  return JSON.stringify(all);
}"""

_FORGET_JS = """(keys) => (state) => {
  let all = {};
  try { all = JSON.parse(state || "{}") || {}; } catch (e) { return state; }
  keys.forEach(([group, name]) => { if (all[group]) delete all[group][name]; });
  return JSON.stringify(all);
}"""


def _script(template: str, keys: list[tuple[str, str]]) -> str:
    return f"(...args) => ({template})({json.dumps(keys)})(...args)"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _choices(component: Any) -> list[Any]:
    return [c[1] if isinstance(c, tuple | list) else c for c in component.choices or ()]


def check(component: Any, value: Any) -> tuple[bool, Any]:
    """(fits, value) for a value coming back from the browser: its type, choices, range and
    length as `component` allows (anything else, e.g. an image, never fits). Never raises."""
    try:
        if isinstance(component, gr.Checkbox):
            return isinstance(value, bool), value
        if isinstance(component, gr.Slider | gr.Number):
            number = _number(value)
            low = _number(getattr(component, "minimum", None))
            high = _number(getattr(component, "maximum", None))
            if number is None or abs(number) >= 2**53 or (low is not None and number < low) \
                    or (high is not None and number > high):
                return False, None
            return True, int(number) if number.is_integer() else number
        if isinstance(component, gr.Dropdown | gr.Radio):
            allowed = _choices(component)
            if getattr(component, "multiselect", False):
                fits = isinstance(value, list) and len(value) <= MAX_PICKS and all(
                    isinstance(v, str) and v in allowed for v in value)
                return fits, value
            hashable = isinstance(value, str | int | float) and not isinstance(value, bool)
            return hashable and value in allowed, value
        if isinstance(component, gr.Textbox):
            limit = min(MAX_TEXT, getattr(component, "max_length", None) or MAX_TEXT)
            return isinstance(value, str) and len(value) <= limit, value
    except Exception:  # a component's odd attribute must not break a page load
        return False, None
    return False, None


def _names(value: Any) -> bool:
    """A name, or a list of names, to look up in a list made later."""
    if isinstance(value, list):
        return len(value) <= MAX_PICKS and all(isinstance(v, str) and _names(v) for v in value)
    return isinstance(value, str) and 0 < len(value) <= 500


def parse(raw: Any) -> dict[str, dict[str, Any]]:
    """The stored map, or {} for anything else (junk, a dict with Gradio's "__type__")."""
    if isinstance(raw, str):
        raw = untrusted.loads(raw, MAX_STORED)
    if not isinstance(raw, dict):
        return {}
    return {group: values for group, values in raw.items()
            if isinstance(group, str) and not group.startswith("__")
            and isinstance(values, dict)}


@dataclass
class WorkingState:
    """The stored state and the components it covers: {group: {field: component}}."""

    state: gr.BrowserState
    groups: dict[str, dict[str, Any]]
    pref_fields: tuple[str, ...]  # written only when the visitor edits them
    # checked later against lists made per visitor: the model lists, their styles
    deferred: tuple[str, ...] = ("checkpoint", "vae", "styles")

    def restore(self, raw: Any) -> tuple[dict[Any, Any], dict[tuple[str, str], Any]]:
        """(updates for the form, now; {(group, field): value} of the deferred fields, to
        check when their lists are known). Junk is dropped, never raised."""
        stored = parse(raw)
        updates: dict[Any, Any] = {}
        later: dict[tuple[str, str], Any] = {}
        for group, fields in self.groups.items():
            values = stored.get(group, {})
            for name, component in fields.items():
                if name not in values:
                    continue
                value = values[name]
                if name in self.deferred:
                    many = bool(getattr(component, "multiselect", False))
                    if _names(value) and isinstance(value, list) == many:
                        later[group, name] = value
                    continue
                fits, value = check(component, value)
                if fits:
                    updates[component] = value
        return updates, later

    def values(self, raw: Any, group: str) -> dict[str, Any]:
        """The group's stored values that fit, by field name (deferred ones unchecked)."""
        updates, later = self.restore(raw)
        found = {name: updates[c] for name, c in self.groups.get(group, {}).items()
                 if c in updates}
        found.update({name: v for (g, name), v in later.items() if g == group})
        return found


def build_working_state(ctx: Any, groups: Mapping[str, Mapping[str, Any]],
                        generate_buttons: Iterable[Any], pref_fields: Iterable[str]
                        ) -> WorkingState:
    """The BrowserState and the browser-only events that write it. `groups`: {"topbar":
    {...}, "txt2img": {...}, ...} of plain-value components (a component in two groups, like
    the top bar's, is listed once)."""
    state = gr.BrowserState("", storage_key=STORAGE_KEY,
                            secret=ctx.runtime.keys.browser_secret())
    prefs = tuple(pref_fields)
    work = WorkingState(state, {g: dict(f) for g, f in groups.items()}, prefs)
    snapshot = [(g, n, c) for g, fields in work.groups.items() for n, c in fields.items()
                if n not in prefs]
    keys = [(g, n) for g, n, _ in snapshot]
    components = [c for _, _, c in snapshot]
    # written by assets/work_save.js after the visitor's edits
    save = gr.Textbox("", visible="hidden", interactive=True, elem_id=SAVE_FIELD,
                      label="Save the working state")
    triggers = [save.change] + [b.click for b in generate_buttons]
    gr.on(triggers, fn=None, js=_script(_MERGE_JS, keys), inputs=[state, *components],
          outputs=state, show_progress="hidden", queue=False)
    for group, fields in work.groups.items():
        for name in prefs:
            if name in fields:
                fields[name].input(None, js=_script(_MERGE_JS, [(group, name)]),
                                   inputs=[state, fields[name]], outputs=state,
                                   show_progress="hidden", queue=False)
    return work


def forget_prefs_script(work: WorkingState) -> str:
    """A browser-only script `(state) => state` that forgets the visitor's own values of the
    fields Settings has defaults for (after Save there: the new defaults apply)."""
    keys = [(g, n) for g, fields in work.groups.items() for n in work.pref_fields
            if n in fields]
    return _script(_FORGET_JS, keys)


def plain_fields(form: Any, controlnet: Any, adetailer: Any, extra: Mapping[str, Any],
                 skip: Iterable[str] = ()) -> dict[str, Any]:
    """A tab's plain-value fields by name: its form, ControlNet's shown unit (not its image
    nor the preprocessor sliders the module sets), the unit picked and the units held,
    ADetailer and `extra`."""
    skipped = {"checkpoint", "vae", "clip_skip", *skip}
    fields = {n: c for n, c in form.fields.items() if n not in skipped}
    fields.update({f"cn_{n}": c for n, c in controlnet.fields.items()
                   if n not in ("image", "control_type", *CONTROLNET_SLIDERS)})
    fields.update({f"ad_{n}": c for n, c in adetailer.fields.items()})
    fields.update(extra)
    return fields
