"""The ControlNet and ADetailer accordions of the SD tabs, laid out as the A1111 extensions
show them. Each reads back into its form dataclass (`core/extensions.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image
from pydantic import BaseModel

from webui.api import models as m
from webui.api.models.adetailer import (
    AD_CONTROLNET_MODELS,
    AD_CONTROLNET_MODULES,
    AD_MASK_MERGE_MODES,
    AD_MODELS,
)
from webui.api.models.controlnet import (
    CONTROL_MODES,
    CONTROL_TYPES,
    CONTROLNET_MODELS,
    CONTROLNET_MODULES,
    MODULE_SLIDERS,
    RESIZE_MODES,
)
from webui.core import untrusted
from webui.core.extensions import (
    AD_ORDINALS,
    AD_UNITS,
    CONTROLNET_SLIDERS,
    CONTROLNET_UNITS,
    ADetailerForm,
    ADetailerUnitForm,
    ControlNetUnitForm,
    default_model,
    fitted_size,
)
from webui.core.hosting import MAX_UPLOAD_BYTES
from webui.messages import Msg
from webui.ui import toasts
from webui.ui.controls import bounds
from webui.ui.inputs import GuardedImage
from webui.ui.working_state import check


@dataclass
class UnitControls:
    """The fields of the ControlNet unit the accordion shows (one set for every unit)."""

    enabled: gr.Checkbox
    image: gr.Image
    use_init: gr.Checkbox | None
    module: gr.Dropdown
    model: gr.Dropdown
    weight: gr.Slider
    guidance_start: gr.Slider
    guidance_end: gr.Slider
    resize_mode: gr.Radio
    processor_res: gr.Slider
    threshold_a: gr.Slider
    threshold_b: gr.Slider
    pixel_perfect: gr.Checkbox
    low_vram: gr.Checkbox
    control_mode: gr.Radio
    control_type: gr.Radio

    @property
    def named(self) -> dict[str, Any]:
        """{field: component}, every field the unit's values are held by (its image too)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}

    @property
    def components(self) -> list[Any]:
        return list(self.named.values())

    def read(self, data: dict[Any, Any]) -> tuple[ControlNetUnitForm, str | None]:
        """The shown unit's form (its image not yet hosted) and its uploaded image's path."""
        values = {name: data[c] for name, c in self.named.items() if name in FORM_FIELDS}
        use_init = bool(data[self.use_init]) if self.use_init is not None else False
        return ControlNetUnitForm(**values, use_init=use_init), data[self.image]


# the unit's fields that are ControlNetUnitForm's, as they are (use_init: a bool always)
FORM_FIELDS = ("enabled", "module", "model", "weight", "guidance_start", "guidance_end",
               "resize_mode", "processor_res", "threshold_a", "threshold_b", "pixel_perfect",
               "low_vram", "control_mode")


@dataclass
class ControlNetControls:
    """ControlNet's unit picker ("ControlNet Unit 0", "1", "2", as A1111's tabs) and ONE
    unit's fields, the picked one's; the other units' values, their control images too,
    are held in the page (`held`, hidden JSON {"shown": index, "units": [{field: value} or
    null]}, the shown unit's entry stale) and swapped in when picked (`switch`), as
    ADetailer's. One set of fields instead of three: the page builds 120 components fewer
    (issue 21). The swap is the server's, not the page's (ADetailer's is): a unit's module
    sets its sliders' bounds and its type the preprocessors offered, and Gradio checks a
    value against them, so values, bounds and choices change together."""

    picker: gr.Radio
    unit: UnitControls  # the shown unit's fields
    preview: gr.Image
    held: gr.Textbox
    defaults: list[dict[str, Any]]  # per unit: {field: value}

    @property
    def count(self) -> int:
        return len(self.defaults)

    def shown(self, count: int, picked: Any = None, enabled: tuple[int, ...] = ()
              ) -> dict[Any, Any]:
        """The picker offers the first `count` units (Settings), and whatever the count
        `picked` (restored after a reload: the unit its fields hold) and the `enabled`
        held units (they are sent: the visitor can see and change them); one unit needs
        none."""
        count = max(1, min(count, self.count))
        if picked in CONTROLNET_UNITS[:self.count]:
            count = max(count, CONTROLNET_UNITS.index(picked) + 1)
        count = max([count, *(index + 1 for index in enabled if 0 <= index < self.count)])
        # the picker's own (label, value) pairs: their labels are the page's translated ones
        offered = [choice for choice in self.picker.choices
                   if choice[1] in CONTROLNET_UNITS[:count]]
        if picked in CONTROLNET_UNITS[:count]:
            return {self.picker: gr.Radio(choices=offered, value=picked, visible=count > 1)}
        return {self.picker: gr.Radio(choices=offered, visible=count > 1)}

    @property
    def fields(self) -> dict[str, Any]:
        """Every component by a name of its own (the working state's keys)."""
        return {"unit": self.picker, **self.unit.named, "held_units": self.held}

    @property
    def components(self) -> list[Any]:
        """What Generate reads: the shown unit's fields and the units held (which unit is
        shown is the held JSON's: the picker is the page's)."""
        return [*self.unit.components, self.held]

    @property
    def switch_outputs(self) -> list[Any]:
        return [self.held, self.picker, *self.unit.components, self.preview]

    def switch(self, held: Any, picked: Any, *values: Any) -> list[Any]:
        """Another unit picked: the shown one's values into the held JSON, the picked one's
        out of it (its defaults for what it never held), with the bounds and choices they
        go with; the preview (the unit before's) cleared."""
        shown, units = held_units(held, self.count, MAX_HELD_CONTROLNET)
        picked_index = CONTROLNET_UNITS.index(picked) \
            if picked in CONTROLNET_UNITS[:self.count] else shown
        names = list(self.unit.named)
        units[shown] = dict(zip(names, values, strict=False))
        unit = self.held_values(picked_index, units[picked_index])
        units[picked_index] = {}  # stale while shown
        modules, models = type_lists(unit["control_type"])
        updates: dict[str, Any] = {name: unit.get(name) for name in names}
        # a held name may be one typed in (the fields take any, the request model checks it)
        updates["module"] = gr.Dropdown(choices=list(modules), value=unit["module"],
                                        allow_custom_value=True)
        updates["model"] = gr.Dropdown(choices=list(models), value=unit["model"],
                                       allow_custom_value=True)
        updates.update(zip(CONTROLNET_SLIDERS, _slider_updates(
            unit["module"], [unit[name] for name in CONTROLNET_SLIDERS]), strict=True))
        state = json.dumps({"shown": picked_index, "units": [u or None for u in units]})
        # the picker too: two quick picks' answers may come back in either order, and the
        # last one applied says which unit the fields hold
        return [state, CONTROLNET_UNITS[picked_index], *(updates[name] for name in names), None]

    def offered(self, count: int, updates: dict[Any, Any]) -> dict[Any, Any]:
        """The picker's update for Settings' `count` and the page's held units (`updates`:
        {component: value}, the held JSON among them): the unit the fields hold (its
        "shown", not the saved picker: the page may save that before a switch's answer)
        picked, and each unit held enabled offered."""
        shown, units = held_units(updates.get(self.held, self.held.value), self.count,
                                  MAX_HELD_CONTROLNET)
        enabled = tuple(index for index, unit in enumerate(units)
                        if index != shown and unit.get("enabled") is True)
        return self.shown(count, CONTROLNET_UNITS[shown], enabled)

    def restored(self, updates: dict[Any, Any]) -> dict[Any, Any]:
        """With the shown unit's module restored after a reload (the working state): the
        sliders that module reads, at its defaults."""
        module = updates.get(self.unit.module)
        if not isinstance(module, str):
            return {}
        return dict(zip(self.sliders, _slider_updates(module), strict=True))

    @property
    def sliders(self) -> list[gr.Slider]:
        return [getattr(self.unit, name) for name in CONTROLNET_SLIDERS]

    def held_values(self, index: int, held: dict[str, Any]) -> dict[str, Any]:
        """Unit `index`'s {field: value} from what the page held for it: a value that does
        not fit its field is the unit's default; the control type one that offers the
        module, the sliders within the module's bounds, the image a file uploaded here."""
        values = dict(self.defaults[index])
        for name, component in self.unit.named.items():
            if name not in held or name in (*CONTROLNET_SLIDERS, "image"):
                continue
            if name in ("module", "model"):
                # any name, as the shown field takes one typed in: the request model refuses
                # one the API does not list (a default in its place would be sent unseen)
                value = held[name][:MAX_TYPED_NAME] if isinstance(held[name], str) else None
                fits = bool(value)
            else:
                fits, value = check(component, held[name])
            if fits:
                values[name] = value
        modules, models = type_lists(values["control_type"])
        if values["module"] not in modules or values["model"] not in models:
            values["control_type"] = "All"
        sliders = MODULE_SLIDERS.get(values["module"], {})
        for name in CONTROLNET_SLIDERS:
            spec, value = sliders.get(name), held.get(name)
            if spec is None:
                values[name] = None
            elif isinstance(value, int | float) and not isinstance(value, bool) \
                    and spec[1] <= value <= spec[2]:
                values[name] = int(value) if float(value).is_integer() else value
            else:
                values[name] = spec[3]
        values["image"] = uploaded_file(held.get("image"))
        return values

    def read(self, data: dict[Any, Any], placeholder: str
             ) -> tuple[list[ControlNetUnitForm], dict[int, str]]:
        """Every unit, with `placeholder` for each uploaded control image (so the form is
        checked before anything is uploaded), and {unit index: uploaded file}. The shown
        unit from its fields, the others from what the page holds (sent by anyone: see
        `held_values`). An enabled unit is sent whatever Settings' count: the picker offers
        it (`shown`)."""
        shown, held = held_units(data[self.held], self.count, MAX_HELD_CONTROLNET)
        units, files = [], {}
        for index in range(self.count):
            if index == shown:
                unit, path = self.unit.read(data)
            else:
                values = self.held_values(index, held[index])
                unit = ControlNetUnitForm(**{k: values[k] for k in FORM_FIELDS},
                                          use_init=bool(values.get("use_init")))
                path = values["image"]
            unit.page_number = index
            if unit.enabled and path and not unit.use_init:
                unit.image_url, files[index] = placeholder, path
            units.append(unit)
        return units, files


def uploaded_file(value: Any) -> str | None:
    """The path of a control image the page holds when it is a file uploaded to this app,
    else None: the files Gradio itself takes for an image field (its upload folder), never
    another path a script writes there. `value`: the path, or Gradio's file data."""
    path = value.get("path") if isinstance(value, dict) else value
    if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
        return None
    try:
        from gradio import utils as gradio_utils

        resolved = Path(path).resolve()
        allowed, _ = gradio_utils.is_allowed_file(
            resolved, blocked_paths=[], allowed_paths=[],
            created_paths=[gradio_utils.get_upload_folder()])
        # not read whole when it is larger than an upload may be (a save's zip is there too)
        return str(resolved) if allowed and resolved.is_file() \
            and resolved.stat().st_size <= MAX_UPLOAD_BYTES else None
    except (OSError, ValueError):
        return None


def build_controlnet(tab: str, count: int = 3, img2img: bool = False,
                     size: tuple[gr.Slider, gr.Slider] | None = None) -> ControlNetControls:
    """`size`: the tab's width and height, which "send dimensions" fills from a unit's
    control image. `count`: the units (3, as the API takes)."""
    count = max(1, min(count, len(CONTROLNET_UNITS)))
    with gr.Accordion("ControlNet", open=False, elem_id=f"{tab}_controlnet"):
        picker = gr.Radio(list(CONTROLNET_UNITS[:count]), value=CONTROLNET_UNITS[0],
                          label="Unit", show_label=False, elem_id=f"{tab}_cn_unit", visible=count > 1)
        unit, preview = _unit(f"{tab}_cn0", img2img, size)
        first = {name: c.value for name, c in unit.named.items()}
        first["image"] = None
        held = gr.Textbox(json.dumps({"shown": 0, "units": [None] * count}), visible="hidden",
                          elem_id=f"{tab}_cn_held", label="ControlNet units")
    controls = ControlNetControls(picker, unit, preview, held, [dict(first)] * count)
    picker.input(controls.switch, inputs=[held, picker, *unit.components],
                 outputs=controls.switch_outputs, queue=False, show_progress="hidden")
    return controls


def send_dimensions(path: Any, width_limit: int) -> tuple[Any, Any]:
    """The control image's size into the tab's width and height (scaled to fit the API's
    largest side, multiples of 8)."""
    if not isinstance(path, str) or not path:
        toasts.warn(Msg("controlnet.add_image_first"))
        return gr.Slider(), gr.Slider()
    with Image.open(path) as image:
        size = image.size
    width, height = fitted_size(*size, width_limit)
    if (width, height) != size:
        toasts.info(Msg("controlnet.dimensions_fitted", width=width, height=height,
                        source=f"{size[0]}x{size[1]}"))
    return width, height


def type_lists(kind: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (preprocessors, models) a Control Type offers; every one for "All" or a kind
    that is none (a forged value)."""
    return CONTROL_TYPES.get(kind, CONTROL_TYPES["All"]) if isinstance(kind, str) \
        else CONTROL_TYPES["All"]


def control_type_updates(kind: Any) -> tuple[Any, Any]:
    """A1111's Control Type: the preprocessors and models of the type, the first chosen."""
    modules, models = type_lists(kind)
    if modules == CONTROL_TYPES["All"][0]:  # every choice back; the chosen ones kept
        return gr.Dropdown(choices=list(modules)), gr.Dropdown(choices=list(models))
    model = default_model(modules[0]) if default_model(modules[0]) in models else models[0]
    return (gr.Dropdown(choices=list(modules), value=modules[0]),
            gr.Dropdown(choices=list(models), value=model))


def _picked_type(kind: Any) -> tuple[Any, ...]:
    """A type picked by the visitor: its first preprocessor, that one's model and sliders."""
    modules = type_lists(kind)[0]
    module, model = control_type_updates(kind)
    if modules == CONTROL_TYPES["All"][0]:  # "All": nothing chosen anew
        return module, model, *(gr.Slider() for _ in CONTROLNET_SLIDERS)
    return module, model, *_slider_updates(modules[0])


# Gradio's choice box sends an "input" when it is clicked into and left as it was: null
# (nothing picked) then, by the value the box held when the visitor came in (assets/app.js)
PICKED_JS = """(name, kind) => {
  const box = document.querySelector('#%s input');
  const before = box ? box.dataset.zqBefore : undefined;
  if (box) box.dataset.zqBefore = name;
  return [before === name ? null : name, kind];
}"""


def picked_module(name: Any, kind: Any) -> tuple[Any, ...]:
    """A preprocessor picked or typed by the visitor: its model and sliders at their
    defaults. One outside the Control Type's list (typed in) puts the type back to "All",
    with every preprocessor and model offered, as the fields then say: a type names what
    its lists hold. None: nothing was picked (the box clicked into and left), no change."""
    if name is None:
        return (gr.skip(),) * (3 + len(CONTROLNET_SLIDERS))
    model = default_model(name)
    if _within(name, 0, kind):
        return gr.skip(), model, gr.skip(), *_slider_updates(name)
    every_module, every_model = CONTROL_TYPES["All"]
    return (gr.Dropdown(choices=list(every_module)),
            gr.Dropdown(choices=list(every_model), value=model), "All", *_slider_updates(name))


def picked_model(name: Any, kind: Any) -> tuple[Any, ...]:
    """A model picked or typed by the visitor: one outside the Control Type's list puts the
    type back to "All", every preprocessor and model offered (as `picked_module`)."""
    if name is None or _within(name, 1, kind):
        return gr.skip(), gr.skip(), gr.skip()
    return *control_type_updates("All"), "All"


def _within(name: Any, which: int, kind: Any) -> bool:
    """`name` is a preprocessor (`which` 0) or model (1) the type offers; any is, under "All"
    (a name the API does not list is refused at Generate, by the request model)."""
    offered = type_lists(kind)[which]
    return offered == CONTROL_TYPES["All"][which] or name in offered


def _unit(prefix: str, img2img: bool, size: tuple[gr.Slider, gr.Slider] | None = None
          ) -> tuple[UnitControls, gr.Image]:
    with gr.Row():
        image = GuardedImage(label="Control image", type="filepath",
                             sources=["upload", "clipboard"], height=220,
                             elem_id=f"{prefix}_image")
        preview = gr.Image(label="Preprocessor preview (a local approximation, not the "
                                 "service's)", interactive=False, height=220,
                           elem_id=f"{prefix}_preview")
    with gr.Row():
        enabled = gr.Checkbox(label="Enable", elem_id=f"{prefix}_enable")
        use_init = gr.Checkbox(label="Use the img2img image") if img2img else None
        pixel_perfect = gr.Checkbox(label="Pixel Perfect")
        low_vram = gr.Checkbox(label="Low VRAM")
        show = gr.Button("Preview", size="sm", elem_id=f"{prefix}_preview_button")
        send = gr.Button("Send dimensions", size="sm", elem_id=f"{prefix}_send_dimensions",
                         scale=0, min_width=120) if size else None
    control_type = gr.Radio(list(CONTROL_TYPES), value="All", label="Control Type",
                            elem_id=f"{prefix}_control_type")
    # Gradio checks a value against the choices it last sent this page, and a type picked
    # or a unit switched narrows them: a click sent before that answer lands (a unit switch,
    # Generate) would be refused. The request model checks both names against the API's
    # whole lists (webui/api/models/controlnet.py), before anything is sent.
    with gr.Row():
        module = gr.Dropdown(list(CONTROLNET_MODULES), value="canny", label="Preprocessor",
                             elem_id=f"{prefix}_module", allow_custom_value=True,
                             elem_classes="zq-picked-on-input")
        model = gr.Dropdown(list(CONTROLNET_MODELS), value=default_model("canny"),
                            label="Model", elem_id=f"{prefix}_model", allow_custom_value=True)
    unit_model: type[BaseModel] = m.ControlNetUnit
    weight = gr.Slider(*bounds(unit_model, "weight", (0, 2)), step=0.05, value=1,
                       label="Control Weight", elem_id=f"{prefix}_weight")
    with gr.Row():
        start = gr.Slider(0, 1, step=0.01, value=0, label="Starting Control Step")
        end = gr.Slider(0, 1, step=0.01, value=1, label="Ending Control Step")
    sliders = [gr.Slider(1, 2048, step=1, value=None, visible=False, elem_id=f"{prefix}_{name}")
               for name in CONTROLNET_SLIDERS]
    resize_mode = gr.Radio(list(RESIZE_MODES), value="Crop and Resize", label="Resize Mode")
    control_mode = gr.Radio(list(CONTROL_MODES), value="Balanced", label="Control Mode")
    unit = UnitControls(enabled, image, use_init, module, model, weight, start, end,
                        resize_mode, *sliders, pixel_perfect, low_vram, control_mode,
                        control_type)
    _set_sliders("canny", sliders)
    # picked by the visitor: the module's model and sliders at their defaults. Not on a
    # change: another unit's values swapped in, or restored, come with their own (and a
    # second event on the same change would race this one's bounds)
    module.input(picked_module, [module, control_type], [module, model, control_type,
                                                         *sliders],
                 js=PICKED_JS % f"{prefix}_module", queue=False, show_progress="hidden")
    model.input(picked_model, [model, control_type], [module, model, control_type],
                queue=False, show_progress="hidden")
    # guidance start <= end, whichever moves
    start.release(lambda s, e: gr.Slider(value=max(s, e)), [start, end], end, queue=False)
    end.release(lambda s, e: gr.Slider(value=min(s, e)), [start, end], start, queue=False)
    show.click(local_preview, [image, module, *sliders], preview)
    control_type.input(_picked_type, control_type, [module, model, *sliders], queue=False,
                       show_progress="hidden")
    if send is not None and size is not None:
        largest = int(size[0].maximum or 1024)
        # queued: a toast reaches the page only from a queued event
        send.click(lambda path: send_dimensions(path, largest), image, list(size),
                   show_progress="hidden")
    return unit, preview


def _slider_updates(module: Any, values: list[Any] | None = None) -> list[Any]:
    """The sliders the module reads, shown with its labels, bounds and `values` (its
    defaults when none); the others hidden."""
    used = MODULE_SLIDERS.get(module, {}) if isinstance(module, str) else {}
    updates = []
    for index, name in enumerate(CONTROLNET_SLIDERS):
        if name in used:
            label, lo, hi, default = used[name]
            value = values[index] if values is not None else default
            updates.append(gr.Slider(minimum=lo, maximum=hi, value=value, label=label,
                                     visible=True))
        else:
            updates.append(gr.Slider(visible=False, value=None))
    return updates


def _set_sliders(module: str, sliders: list[gr.Slider]) -> None:
    """Initial state of the module's sliders (the same as the module's change sets)."""
    for name, slider in zip(CONTROLNET_SLIDERS, sliders, strict=True):
        spec = MODULE_SLIDERS.get(module, {}).get(name)
        if spec:
            slider.label, slider.minimum, slider.maximum, slider.value = spec
            slider.visible = True


def local_preview(path: str | None, module: str, *values: Any) -> Any:
    """Canny edges by OpenCV: what a canny unit roughly sees. Other preprocessors run on the
    service only."""
    if not path:
        toasts.warn(Msg("controlnet.add_image_first"))
        return None
    if module != "canny":
        toasts.info(Msg("controlnet.no_local_preview", module=module))
        return None
    import cv2

    low, high = (int(v) if v else d for v, d in zip(values[1:], (100, 200), strict=True))
    with Image.open(path) as image:
        grey = np.asarray(image.convert("L"))
    return Image.fromarray(cv2.Canny(grey, low, high))


# --- ADetailer ---------------------------------------------------------------------------------


# What each ADetailer field is called on screen: its component's label, and a refusal's
# (by the field's wire name; `tabs/txt2img.py` LABELS)
AD_LABELS = {
    "ad_model": "ADetailer model",
    "ad_prompt": "ADetailer prompt",
    "ad_negative_prompt": "ADetailer negative prompt",
    "ad_confidence": "Detection model confidence threshold",
    "ad_mask_min_ratio": "Mask min area ratio",
    "ad_mask_max_ratio": "Mask max area ratio",
    "ad_x_offset": "Mask x(→) offset",
    "ad_y_offset": "Mask y(↑) offset",
    "ad_dilate_erode": "Mask erosion (-) / dilation (+)",
    "ad_mask_merge_invert": "Mask merge mode",
    "ad_mask_blur": "Inpaint mask blur",
    "ad_denoising_strength": "Inpaint denoising strength",
    "ad_inpaint_only_masked_padding": "Inpaint only masked padding, pixels",
    "ad_inpaint_width": "width",
    "ad_inpaint_height": "height",
    "ad_steps": "ADetailer steps",
    "ad_cfg_scale": "ADetailer CFG scale",
    "ad_sampler": "ADetailer sampler",
    "ad_noise_multiplier": "Noise multiplier for img2img",
    "ad_controlnet_model": "ControlNet model",
    "ad_controlnet_weight": "ControlNet weight",
    "ad_controlnet_guidance_start": "ControlNet guidance start",
    "ad_controlnet_guidance_end": "ControlNet guidance end",
}


# {"shown": the unit the fields show, "units": [{field: value} or null per unit]}; the shown
# unit's entry is stale (its fields hold it). Written in the page when another unit is picked.
_SWITCH_JS = """(names, defaults, ordinals) => (held, picked, ...values) => {
  let all = {};
  try { all = JSON.parse(held || "{}") || {}; } catch (e) { all = {}; }
  if (typeof all !== "object" || Array.isArray(all)) all = {};
  const units = Array.isArray(all.units) ? all.units.slice(0, ordinals.length) : [];
  while (units.length < ordinals.length) units.push(null);
  const shown = Number.isInteger(all.shown) && all.shown >= 0 && all.shown < ordinals.length
    ? all.shown : 0;
  let next = ordinals.indexOf(picked);
  if (next < 0) next = shown;
  units[shown] = Object.fromEntries(names.map((name, i) => [name, values[i]]));
  const stored = units[next] && typeof units[next] === "object" ? units[next] : {};
  const loaded = names.map((name) => name in stored ? stored[name] : defaults[next][name]);
  return [JSON.stringify({shown: next, units}), ...loaded];
}"""
MAX_HELD = 200_000  # characters of the held units' JSON; more is junk
MAX_TYPED_NAME = 200  # of a held preprocessor or model name kept (the API's: under 50)
MAX_HELD_CONTROLNET = 20_000  # three units' fields and image file data: about 2,000


@dataclass
class ADetailerControls:
    """ADetailer's Enable, a picker of its units ("1st", "2nd", "3rd", as its tabs) and ONE
    unit's fields, the picked one's; the other units' values are held in the page (`held`,
    hidden) and swapped in when picked. One set of fields instead of three: a third of the
    components the page builds and Generate sends (issue 21)."""

    enabled: gr.Checkbox
    picker: gr.Radio
    editor: dict[str, Any]  # the shown unit's {form field: component}
    held: gr.Textbox  # see _SWITCH_JS
    defaults: list[dict[str, Any]]  # per unit: {form field: value}

    @property
    def fields(self) -> dict[str, Any]:
        """Every component by a name of its own (the working state's keys)."""
        return {"enabled": self.enabled, "unit": self.picker, **self.editor,
                "held_units": self.held}

    @property
    def components(self) -> list[Any]:
        return list(self.fields.values())

    def read(self, data: dict[Any, Any]) -> ADetailerForm:
        """Every unit: the shown one from its fields, the others from what the page holds
        (sent by anyone: a value that does not fit its field is the field's default)."""
        shown, held = held_units(data[self.held])
        units = []
        for index, defaults in enumerate(self.defaults):
            if index == shown:
                values = {name: data[c] for name, c in self.editor.items()}
            else:
                values = dict(defaults)
                for name, value in held[index].items():
                    fits, value = check(self.editor[name], value) \
                        if name in self.editor else (False, None)
                    if fits:
                        values[name] = value
            units.append(ADetailerUnitForm(**values))
        return ADetailerForm(bool(data[self.enabled]), units)


def held_units(raw: Any, count: int = AD_UNITS, limit: int = MAX_HELD
               ) -> tuple[int, list[dict[str, Any]]]:
    """(the shown unit, each of the `count` units' held {field: value}) from the page's
    JSON (see _SWITCH_JS); junk reads as nothing held and the first unit shown. Never
    raises."""
    found = untrusted.loads(raw, limit) if isinstance(raw, str) else None
    found = found if isinstance(found, dict) else {}
    shown = found.get("shown")
    if not isinstance(shown, int) or isinstance(shown, bool) or not 0 <= shown < count:
        shown = 0
    units = found.get("units")
    units = units if isinstance(units, list) else []
    held = [units[i] if i < len(units) and isinstance(units[i], dict) else {}
            for i in range(count)]
    return shown, [{k: v for k, v in unit.items() if isinstance(k, str)} for unit in held]


def build_adetailer(tab: str, args_model: type[BaseModel], d: dict[str, Any]
                    ) -> ADetailerControls:
    """ADetailer's layout: Enable, the unit picker ("1st", "2nd", "3rd"; a unit whose model
    is None is skipped, the 2nd and 3rd start so), then the picked unit's fields, every
    field of the endpoint's table. Ranges from `args_model`: txt2img and img2img differ
    (ruling 6)."""
    with gr.Accordion("ADetailer", open=False, elem_id=f"{tab}_adetailer"):
        with gr.Row():
            enabled = gr.Checkbox(label="Enable ADetailer", elem_id=f"{tab}_ad_enable")
            picker = gr.Radio(list(AD_ORDINALS), value=AD_ORDINALS[0], label="Unit",
                              info="A unit whose model is None is skipped",
                              elem_id=f"{tab}_ad_unit")
        editor = _ad_unit(f"{tab}_ad", args_model, d)
        blank = ADetailerUnitForm()  # for a field whose component starts empty (None)
        first = {name: getattr(blank, name) if c.value is None else c.value
                 for name, c in editor.items()}
        defaults = [first, *({**first, "model": "None"} for _ in AD_ORDINALS[1:])]
        held = gr.Textbox(json.dumps({"shown": 0, "units": [None] * AD_UNITS}),
                          visible="hidden", elem_id=f"{tab}_ad_held", label="ADetailer units")
    names = list(editor)
    picker.input(None, js=f"(...args) => ({_SWITCH_JS})({json.dumps(names)}, "
                          f"{json.dumps(defaults)}, {json.dumps(list(AD_ORDINALS))})(...args)",
                 inputs=[held, picker, *editor.values()], outputs=[held, *editor.values()],
                 queue=False, show_progress="hidden")
    return ADetailerControls(enabled, picker, editor, held, defaults)


def _ad_unit(prefix: str, args_model: type[BaseModel], d: dict[str, Any]) -> dict[str, Any]:
    f: dict[str, Any] = {}

    def rng(field: str, fallback: tuple[float, float]) -> tuple[float, float]:
        return bounds(args_model, field, fallback)

    f["model"] = gr.Dropdown(list(AD_MODELS), value="face_yolov8n.pt",
                             label=AD_LABELS["ad_model"], elem_id=f"{prefix}_model")
    f["prompt"] = gr.Textbox(label=AD_LABELS["ad_prompt"], lines=2, elem_id=f"{prefix}_prompt",
                             placeholder="empty: the main prompt")
    f["negative_prompt"] = gr.Textbox(label=AD_LABELS["ad_negative_prompt"], lines=2,
                                      elem_id=f"{prefix}_negative_prompt")
    with gr.Accordion("Detection", open=False):
        with gr.Row():
            f["confidence"] = gr.Slider(0, 1, step=0.01, value=0.3,
                                        label=AD_LABELS["ad_confidence"])
        with gr.Row():
            f["mask_min_ratio"] = gr.Slider(0, 1, step=0.001, value=0,
                                            label=AD_LABELS["ad_mask_min_ratio"])
            f["mask_max_ratio"] = gr.Slider(0, 1, step=0.001, value=1,
                                            label=AD_LABELS["ad_mask_max_ratio"])
    with gr.Accordion("Mask preprocessing", open=False):
        with gr.Row():
            # the table gives no range: ADetailer's own sliders' (-200, 200)
            f["x_offset"] = gr.Slider(-200, 200, step=1, value=0, label=AD_LABELS["ad_x_offset"])
            f["y_offset"] = gr.Slider(-200, 200, step=1, value=0, label=AD_LABELS["ad_y_offset"])
        with gr.Row():
            f["dilate_erode"] = gr.Slider(*rng("ad_dilate_erode", (-128, 128)), step=4,
                                          value=4, label=AD_LABELS["ad_dilate_erode"])
            f["mask_merge_invert"] = gr.Radio(list(AD_MASK_MERGE_MODES), value="None",
                                              label=AD_LABELS["ad_mask_merge_invert"])
    with gr.Accordion("Inpainting", open=False):
        with gr.Row():
            f["mask_blur"] = gr.Slider(*rng("ad_mask_blur", (0, 64)), step=1, value=4,
                                       label=AD_LABELS["ad_mask_blur"])
            f["denoising"] = gr.Slider(0, 1, step=0.01, value=0.4,
                                       label=AD_LABELS["ad_denoising_strength"])
        with gr.Row():
            f["inpaint_only_masked"] = gr.Checkbox(value=True, label="Inpaint only masked")
            f["padding"] = gr.Slider(*rng("ad_inpaint_only_masked_padding", (0, 256)), step=4,
                                     value=32, label=AD_LABELS["ad_inpaint_only_masked_padding"])
        with gr.Row():
            f["use_inpaint_size"] = gr.Checkbox(label="Use separate width/height")
            f["inpaint_width"] = gr.Slider(64, 2048, step=8, value=512, label=AD_LABELS["ad_inpaint_width"])
            f["inpaint_height"] = gr.Slider(64, 2048, step=8, value=512,
                                            label=AD_LABELS["ad_inpaint_height"])
        with gr.Row():
            f["use_steps"] = gr.Checkbox(label="Use separate steps")
            f["steps"] = gr.Slider(*rng("ad_steps", (1, 150)), step=1, value=28,
                                   label=AD_LABELS["ad_steps"])
        with gr.Row():
            f["use_cfg"] = gr.Checkbox(label="Use separate CFG scale")
            f["cfg_scale"] = gr.Slider(*rng("ad_cfg_scale", (1, 30)), step=1,
                                       value=int(d["cfg_scale"]), label=AD_LABELS["ad_cfg_scale"])
        with gr.Row():
            f["use_sampler"] = gr.Checkbox(label="Use separate sampler")
            f["sampler"] = gr.Dropdown(list(m.SAMPLERS), value=d["sampler"],
                                       label=AD_LABELS["ad_sampler"])
        with gr.Row():
            f["use_noise_multiplier"] = gr.Checkbox(label="Use separate noise multiplier")
            # both tables type it as an integer in ADetailer's [0.5, 1.5]: 1 is what fits
            # not rounded here: 1.4 is refused naming the field, not sent as 1
            f["noise_multiplier"] = gr.Number(1, minimum=0.5, maximum=1.5, step=0.1,
                                              label=AD_LABELS["ad_noise_multiplier"],
                                              info="whole numbers (the API's type)")
        f["restore_face"] = gr.Checkbox(label="Restore faces after ADetailer")
    with gr.Accordion("ControlNet", open=False):
        with gr.Row():
            f["controlnet_model"] = gr.Dropdown(list(AD_CONTROLNET_MODELS), value="None",
                                                label=AD_LABELS["ad_controlnet_model"])
            # the reference documents only "None" (ADetailer picks the module itself)
            f["controlnet_module"] = gr.Dropdown(list(AD_CONTROLNET_MODULES),
                                                 value="None", label="ControlNet module",
                                                 interactive=False)
        with gr.Row():
            f["controlnet_weight"] = gr.Slider(
                *rng("ad_controlnet_weight", (0, 2)),
                step=1 if _integer(args_model, "ad_controlnet_weight") else 0.05, value=1,
                label=AD_LABELS["ad_controlnet_weight"])
            f["controlnet_guidance_start"] = gr.Slider(
                0, 1, step=1 if _integer(args_model, "ad_controlnet_guidance_start") else 0.01,
                value=0, label=AD_LABELS["ad_controlnet_guidance_start"])
            f["controlnet_guidance_end"] = gr.Slider(
                0, 1, step=1 if _integer(args_model, "ad_controlnet_guidance_end") else 0.01,
                value=1, label=AD_LABELS["ad_controlnet_guidance_end"])
    return f


def _integer(model: type[BaseModel], field: str) -> bool:
    """The img2img table types ADetailer's ControlNet weight and guidance as integers."""
    annotation = str(model.model_fields[field].annotation)
    return "int" in annotation and "float" not in annotation
