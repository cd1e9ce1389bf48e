"""Running a task from a tab, and finding it again after a reload: the glue between a tab's
form, the task engine and its results panel."""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from webui.api.errors import FieldIssue, InvalidRequestError, ZhiqiteError
from webui.core import untrusted
from webui.core.builder import HIRES_UPSCALERS
from webui.core.extensions import AD_ARG, AD_ORDINALS, CONTROLNET_UNITS
from webui.core.hosting import UploadRefused, prepare_upload
from webui.core.limits import BoundedMap, RateLimited
from webui.core.scripts.common import PromptScriptError
from webui.core.scripts.xyz import AxisChoices, XYZError
from webui.core.store import BatchRecord
from webui.core.submission import Bill, Plan, PlannedTask
from webui.messages import Language, Msg, label
from webui.ui import toasts
from webui.ui.batch_view import BatchView
from webui.ui.context import NO_VISITOR, UiContext
from webui.ui.language import current_language, say
from webui.ui.results import ResultsPanel
from webui.ui.scripts import Script, ScriptControls, wildcard_prompt

MAX_LAST_TASKS = 20_000  # characters of the browser's {tab: task ids} map


def read_last_tasks(value: Any) -> dict[str, str]:
    """The browser's {tab: task id} map. Kept as a JSON string: Gradio 6 hands a dict held in
    a BrowserState back with an "__type__": "update" key added, and then reads it as an
    update of the component."""
    if isinstance(value, str) and value:
        value = untrusted.loads(value, MAX_LAST_TASKS)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str) and not k.startswith("__")}


def write_last_tasks(tasks: dict[str, str]) -> str:
    return json.dumps(tasks, separators=(",", ":"))


# What a refused Generate or Run yields before it ends: a generator that ends without a yield
# has Gradio reset every output (the last good result and its status would go). One skip()
# for several outputs is "change none of them" (gradio/blocks.py, postprocess_data).
KEEP: Any = gr.skip()



def host_files(ctx: UiContext, visitor: str | None, files: dict[Any, str]) -> dict[Any, str]:
    """Check uploaded files and give each a URL for the service ({key: path} -> {key: URL}):
    the service's own URL for one of the visitor's results, else hosted. A refusal names the
    file's field and says why."""
    urls = {}
    owner = ctx.owner(visitor or "")
    for key, path in files.items():
        try:
            prepared = prepare_upload(Path(path).read_bytes(), "Control image")
            urls[key] = ctx.runtime.sources.url_for(owner, prepared.image, png=prepared.png,
                                                    what="Control image").url
        except OSError:
            raise _invalid(Msg("field.labelled", label=Msg("controlnet.control_image"),
                               text=Msg("upload.read_failed")), key) from None
        except UploadRefused as refused:
            raise _invalid(refused.msg, key) from None
    return urls


def refusal(field: str, text: Msg, kind: str = "invalid", endpoint: str | None = None
            ) -> InvalidRequestError:
    """A form's own refusal of a field, as the request models refuse one (`warn_invalid`
    shows it with the field's label)."""
    return InvalidRequestError([FieldIssue(field, str(text), kind, msg=text)], endpoint)


def _invalid(text: Msg, unit: int) -> InvalidRequestError:
    """A control image's refusal; `unit`: the page's ControlNet unit it is of."""
    return InvalidRequestError([FieldIssue("controlnet.image_link", str(text), "invalid",
                                           {"controlnet_unit": unit}, msg=text)])



def warn_invalid(error: InvalidRequestError, labels: dict[str, str]) -> None:
    """One warning per bad field, with the label the user sees (in their language) and the
    allowed range."""
    language = current_language()
    for issue in error.issues:
        name = issue.field.split(".")[-1]
        text = say(issue, language)
        english = labels.get(name)
        shown = label(english, language) if english else None
        unit = AD_ARG.search(issue.field)
        # the 2nd or 3rd ADetailer tab says so (the 1st is the one most visitors use alone)
        if shown and unit and 0 < int(unit.group(1)) < len(AD_ORDINALS):
            shown = _with_unit(shown, label(AD_ORDINALS[int(unit.group(1))], language), language)
        # a ControlNet unit but the first is named as its picker names it (the request counts
        # only the enabled ones: the builder says which of the page's it is)
        page_unit = issue.context.get("controlnet_unit")
        unit_name = label(CONTROLNET_UNITS[page_unit], language) if isinstance(page_unit, int) \
            and 0 < page_unit < len(CONTROLNET_UNITS) else None
        if shown and unit_name:
            shown = _with_unit(shown, unit_name, language)
        # an upload's refusal names its picture itself ("Mask: ...", "Control image: ...")
        msg = issue.msg  # a Msg always (FieldIssue makes one of a plain sentence)
        own_label = msg.key == "field.labelled"
        if isinstance(page_unit, int) and msg.key == "field.named":
            # "module must be ...", not "...controlnet.args[0].module": the request counts the
            # enabled units only, so its index is not the page's unit
            text = Msg("field.named", field=name, problem=msg.params.get("problem")
                       ).render(language)
        if own_label and unit_name:  # "Control image (ControlNet Unit 1): ..."
            named_by = say(msg.params.get("label"), language)
            text = Msg("field.labelled", label=_with_unit(named_by, unit_name, language),
                       text=msg.params.get("text")).render(language)
        toasts.warn(Msg("field.labelled", label=shown, text=text) if shown and not own_label
                    else text)


def _with_unit(shown: Any, unit: str, language: Language) -> str:
    """"Sampling steps (2nd)"; in Chinese in full-width brackets, as its colon is:
    "迭代步数（第二单元）"."""
    return f"{shown}（{unit}）" if language is Language.ZH_CN else f"{shown} ({unit})"


# --- sending ----------------------------------------------------------------------------------

PENDING_SECONDS = 600.0  # a plan waiting for "Send" is dropped after this


@dataclass
class SendControls:
    """Beside a tab's results: the bill of what Generate would send, the confirmation asked
    above the visitor's threshold, "Generate forever", and the mark a finished batch leaves
    (the page's script clicks Generate again on it while "Generate forever" is on)."""

    tab: str
    bill: gr.Markdown
    confirm_row: gr.Row
    confirm_text: gr.Markdown
    confirm: gr.Button
    cancel: gr.Button
    forever: gr.Checkbox
    finished: gr.Textbox

    @property
    def outputs(self) -> list[Any]:
        return [self.bill, self.confirm_row, self.confirm_text, self.forever]


def build_send_controls(tab: str) -> SendControls:
    with gr.Row(elem_classes="zq-send-row"):
        forever = gr.Checkbox(False, label="Generate forever", elem_id=f"{tab}_forever",
                              container=False, scale=0, min_width=160)
        bill = gr.Markdown("", elem_id=f"{tab}_bill", elem_classes="zq-bill")
    with gr.Row(visible=False, elem_id=f"{tab}_confirm_row") as confirm_row:
        confirm_text = gr.Markdown("", elem_id=f"{tab}_confirm_text")
        confirm = gr.Button("Send", variant="primary", size="sm", scale=0, min_width=80,
                            elem_id=f"{tab}_confirm")
        cancel = gr.Button("Cancel", size="sm", scale=0, min_width=80,
                           elem_id=f"{tab}_confirm_cancel")
    finished = gr.Textbox("", visible="hidden", elem_id=f"{tab}_finished", label="finished")
    return SendControls(tab, bill, confirm_row, confirm_text, confirm, cancel, forever,
                        finished)


class PendingPlans:
    """Plans waiting for the visitor's "Send" (one per visitor and tab), kept in memory for
    a while: a forged Send finds nothing, a stale one is gone."""

    def __init__(self, capacity: int = 2_000) -> None:
        self._lock = threading.Lock()
        self._plans: BoundedMap[tuple[str, str], Plan] = BoundedMap(capacity, PENDING_SECONDS,
                                                                    time.monotonic)

    def put(self, visitor: str, tab: str, plan: Plan) -> None:
        with self._lock:
            self._plans.pop((visitor, tab))
            self._plans.get((visitor, tab), lambda: plan)

    def take(self, visitor: str, tab: str) -> Plan | None:
        with self._lock:
            plan = self._plans.peek((visitor, tab))
            self._plans.pop((visitor, tab))
            return plan


PENDING = PendingPlans()


def send_plan(ctx: UiContext, visitor: str, plan: Plan, labels: dict[str, str]
              ) -> BatchRecord | None:
    """Send a plan; a refusal is a toast naming the limit or the field, and None."""
    try:
        sent = ctx.submissions.submit(visitor, plan)
    except RateLimited as limited:
        toasts.warn(Msg("send.not_sent", reason=limited))
        return None
    except InvalidRequestError as error:
        warn_invalid(error, labels)
        return None
    if sent.invalid is not None:
        warn_invalid(sent.invalid, labels)
    if sent.refused is not None:
        toasts.warn(Msg("send.some_not_sent", count=sent.not_sent, reason=sent.refused))
    return sent.batch if sent.batch and sent.batch.task_ids else None


def after_send(controls: SendControls, panel: ResultsPanel, last_tasks_state: Any,
               last_tasks: Any, batch: BatchRecord | None, bill: Bill | None
               ) -> dict[Any, Any]:
    """What a Generate click shows at once: the tab remembers its newest batch (a reload and
    the follower find it), the bill sent; a refusal stops "Generate forever"."""
    hidden = {controls.confirm_row: gr.Row(visible=False)}
    if batch is None:
        return KEEP
    remembered = write_last_tasks({**read_last_tasks(last_tasks), controls.tab: batch.id})
    count = len(batch.task_ids)
    language = current_language()
    return {**hidden, last_tasks_state: remembered,
            controls.bill: say(Msg("send.sent", bill=bill.summary), language) if bill else "",
            panel.status: say(Msg("tasks.submitted", count=count), language)}


# --- following ----------------------------------------------------------------------------------


def follow_tab(ctx: UiContext, view: BatchView, *, visitor: str | None, last_tasks: Any,
               page: str | None, finished: Any = None, take_over: bool = True
               ) -> Iterator[dict[Any, Any]]:
    """Show the visitor's newest batch of this tab in its results panel, and the next one
    when a newer one is sent meanwhile (a second Generate click). One follower per page and
    tab: the latest started; an earlier one ends. `finished`: a component that gets the id
    of each batch followed to its end (what "Generate forever" waits for). `take_over`: a
    click's follower replaces the page's current one; the reattaching one after the page's
    load steps aside when a click was quicker. A replaced follower sends nothing more (it
    looks before every update), so a late preview never lands over a newer result."""
    if not visitor:
        return
    service = ctx.submissions
    owner = ctx.owner(visitor)
    tab = view.tab
    if service.followers.newest(owner, tab) is None:
        key = read_last_tasks(last_tasks).get(tab)
        found = service.batch(visitor, key) if key else None
        if found is None:
            return
        service.followers.sent(owner, tab, found.id)
    page = page or secrets.token_hex(8)
    followers = service.followers
    token = followers.start(page, tab, take_over=take_over)
    if token is None:
        return
    try:
        shown = None
        while followers.current(page, tab, token):
            batch_id = followers.newest(owner, tab)
            if batch_id is None or batch_id == shown:
                if followers.finish(page, tab, token, owner, shown or ""):
                    return
                continue
            batch = service.batch(visitor, batch_id)
            if batch is None:
                shown = batch_id
                continue

            def superseded(b: str = batch_id) -> bool:
                return followers.newest(owner, tab) != b or \
                    not followers.current(page, tab, token)

            # the end mark rides on the batch's last update (one message, not two)
            mark = {finished: batch_id} if finished is not None else {}
            updates = view.stream(ctx, visitor, batch, stop=superseded, done=mark)
            while True:
                try:
                    update = next(updates)
                except StopIteration:
                    break
                if not followers.current(page, tab, token):
                    updates.close()
                    return
                yield update
            shown = batch_id
    finally:
        followers.release(page, tab, token)


def reattach(ctx: UiContext, view: BatchView | ResultsPanel, visitor: str,
             last_tasks: Any) -> Iterator[dict[Any, Any]]:
    """The tab's last batch as the browser remembers it, followed to its end or shown as it
    ended (no new submit). Only the visitor's own tasks are ever shown."""
    if isinstance(view, ResultsPanel):
        view = BatchView(view)
    key = read_last_tasks(last_tasks).get(view.tab)
    batch = ctx.submissions.batch(visitor, key) if key else None
    if batch is not None:
        yield from view.stream(ctx, visitor, batch)


# --- wiring -------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A tab's form read once for one Generate: `values` by name (styles applied), `check`
    validates the values of one task without uploading, `make` builds its request (hosting
    its uploads)."""

    values: dict[str, Any]
    check: Callable[[dict[str, Any]], Any]
    make: Callable[[dict[str, Any]], Any]


def plan_generate(ctx: UiContext, tab: str, visitor: str, prepared: Prepared,
                  data: dict[Any, Any], scripts: ScriptControls | None) -> Plan:
    """One task per script cell (one for a plain Generate), each checked before any is sent;
    a wildcard prompt is expanded per task, by its seed. Raises InvalidRequestError,
    XYZError or PromptScriptError."""
    values = prepared.values
    if scripts is not None:
        # the lists only for a plot (a list call is billed)
        choices = axis_choices(ctx, visitor) if scripts.chosen(data) is Script.XYZ \
            else AxisChoices()
        script_plan = scripts.plan(data, values, choices=choices, wildcards=ctx.wildcards)
        cells = [(cell.overrides, cell.meta) for cell in script_plan.cells]
        script, layout = script_plan.script, script_plan.layout
    else:
        cells, script, layout = [({}, {})], "", {}
    rng = random.Random()
    tasks = []
    for overrides, meta in cells:
        task_values = {**values, **overrides}
        expanded, template = wildcard_prompt(task_values, ctx.wildcards, rng)
        task_values.update(expanded)
        prepared.check(task_values)
        images = max(1, int(task_values.get("n_iter") or 1)) * \
            max(1, int(task_values.get("batch_size") or 1))
        tasks.append(PlannedTask(make=partial(prepared.make, task_values), images=images,
                                 meta={**meta, **template}))
    return Plan(tab, tuple(tasks), script=script, layout=layout)


def axis_choices(ctx: UiContext, visitor: str) -> AxisChoices:
    """What choice axes are checked against: the visitor's lists (unchecked when a list
    cannot be had: the request models still check what they can)."""
    catalog = ctx.catalog_for(visitor)
    try:
        checkpoints = [c.value for c in catalog.checkpoints(show_adult=ctx.adult(visitor))]
    except ZhiqiteError:
        checkpoints = None
    return AxisChoices(checkpoints=checkpoints or None, upscalers=list(HIRES_UPSCALERS))


@dataclass
class Follower:
    """A tab's follower (`follow_tab`) as wired after its button: what app.py starts again
    after a reload, and what Interrupt cancels."""

    fn: Callable[..., Iterator[dict[Any, Any]]]  # after a click: takes over
    reattach: Callable[..., Iterator[dict[Any, Any]]]  # after the page's load: steps aside
    inputs: set[Any]
    outputs: list[Any]
    event: Any

    def after(self, event: Any, *, load: bool = False) -> Any:
        """The follower started after another event (`load`: the page's load event)."""
        return event.then(self.reattach if load else self.fn, inputs=self.inputs,
                          outputs=self.outputs, concurrency_limit=None,
                          show_progress="hidden", trigger_mode="multiple")


def make_follower(ctx: UiContext, view: Any, *, visitor: Any, last_tasks: Any,
                  outputs: list[Any], finished: Any = None) -> Follower:
    """The handlers of a tab's follower (`follow_tab`): after a click it takes over, after
    the page's load it steps aside. Wire it with `Follower.after`."""

    def following(data: dict[Any, Any], request: Any, take_over: bool
                  ) -> Iterator[dict[Any, Any]]:
        who = ctx.visitor_id(data[visitor], request)
        yield from follow_tab(ctx, view, visitor=who, last_tasks=data[last_tasks],
                              page=getattr(request, "session_hash", None), finished=finished,
                              take_over=take_over)

    def follow(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
               ) -> Iterator[dict[Any, Any]]:
        yield from following(data, request, True)

    def reattach_tab(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                     ) -> Iterator[dict[Any, Any]]:
        yield from following(data, request, False)

    return Follower(follow, reattach_tab, {visitor, last_tasks}, outputs, None)


def then_follow(send: Callable[..., Any], follower: Follower, last_tasks: Any
                ) -> Callable[..., Iterator[dict[Any, Any]]]:
    """A click's handler then the follower, in one generator (what the page does in two
    events; for tests and scripted use)."""

    def sent_and_followed(data: dict[Any, Any],
                          request: gr.Request = None  # type: ignore[assignment]
                          ) -> Iterator[dict[Any, Any]]:
        first = send(data, request)
        yield first
        if isinstance(first, dict) and last_tasks in first:
            yield from follower.fn({**data, last_tasks: first[last_tasks]}, request)

    return sent_and_followed


@dataclass
class GenerateHandlers:
    submit_event: Any
    submit: Callable[..., dict[Any, Any]]
    follower: Follower
    generate: Callable[..., Iterator[dict[Any, Any]]]  # submit, then follow (for tests)
    preview_request: Callable[..., dict[Any, Any]]
    confirm: Callable[..., dict[Any, Any]]  # "Send" of the confirmation


def wire_generate(ctx: UiContext, *, generate_button: Any, panel: ResultsPanel,
                  controls: SendControls, requests_view: Any, visitor: Any, last_tasks: Any,
                  inputs: set[Any], prepare: Callable[[dict[Any, Any]], Prepared],
                  labels: dict[str, str], scripts: ScriptControls | None = None
                  ) -> GenerateHandlers:
    """Generate on an SD tab: never blocks. Each click (or Ctrl+Enter) reads the form as it
    is, plans one task per script cell, prices it, asks above the visitor's threshold, sends
    it and returns; the tab's follower then shows the newest batch. `prepare(data)` reads
    the form once (`Prepared`)."""
    tab = panel.tab
    view = BatchView(panel)
    script_inputs = scripts.components if scripts else set()

    def with_format(data: dict[Any, Any], prepared: Prepared) -> Prepared:
        output_format = ctx.prefs(data[visitor]).output_format
        return Prepared(prepared.values,
                        lambda v: prepared.check(v).with_output_format(output_format),
                        lambda v: prepared.make(v).with_output_format(output_format))

    def generate(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                 ) -> dict[Any, Any]:
        data = ctx.with_visitor(data, visitor, request)
        who = data[visitor]
        if not who:
            toasts.warn(NO_VISITOR)
            return KEEP  # a refusal changes nothing shown ("Generate forever" stops with it)
        try:
            prepared = with_format(data, prepare(data))
            plan = plan_generate(ctx, tab, who, prepared, data, scripts)
        except InvalidRequestError as error:
            warn_invalid(error, labels)
            return KEEP
        except (XYZError, PromptScriptError) as error:
            toasts.warn(error)
            return KEEP
        prefs = ctx.prefs(who)
        bill = ctx.submissions.estimate(who, plan, ctx.preview(who)() if len(plan.tasks) == 1
                                        else None)
        if bill.needs_confirmation(prefs.confirm_images, prefs.confirm_calls):
            PENDING.put(who, tab, plan)
            question = Msg("send.confirm", bill=bill.summary, images=prefs.confirm_images,
                           calls=prefs.confirm_calls)
            return {controls.confirm_row: gr.Row(visible=True), controls.forever: False,
                    controls.confirm_text: say(question)}
        first: list[Any] = []
        plan = _remember_first(plan, first)
        batch = send_plan(ctx, who, plan, labels)
        update = after_send(controls, panel, last_tasks, data[last_tasks], batch, bill)
        if batch is not None and first:
            update.update(requests_view.views(ctx, first[0]))
        return update

    def confirm(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                ) -> dict[Any, Any]:
        data = ctx.with_visitor(data, visitor, request)
        who = data[visitor]
        plan = PENDING.take(who, tab) if who else None
        if plan is None:
            return {controls.confirm_row: gr.Row(visible=False)}
        bill = ctx.submissions.estimate(who, plan)
        batch = send_plan(ctx, who, plan, labels)
        if batch is None:  # refused: the question goes, the toast says why
            return {controls.confirm_row: gr.Row(visible=False)}
        return after_send(controls, panel, last_tasks, data[last_tasks], batch, bill)

    def cancel(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
               ) -> dict[Any, Any]:
        who = ctx.visitor_id(data[visitor], request)
        if who:
            PENDING.take(who, tab)
        return {controls.confirm_row: gr.Row(visible=False)}

    follower = make_follower(ctx, view, visitor=visitor, last_tasks=last_tasks,
                             outputs=[*panel.outputs, controls.finished],
                             finished=controls.finished)
    generate_and_follow = then_follow(generate, follower, last_tasks)

    def preview_request(data: dict[Any, Any], request: gr.Request = None  # type: ignore[assignment]
                        ) -> dict[Any, Any]:
        data = ctx.with_visitor(data, visitor, request)
        try:
            prepared = with_format(data, prepare(data))
            return requests_view.views(ctx, prepared.check(prepared.values))
        except InvalidRequestError as error:
            return requests_view.invalid(error)

    every = {visitor, last_tasks, *inputs, *script_inputs}
    sent_outputs = [*controls.outputs, last_tasks, panel.status, *requests_view.outputs]
    submit_event = generate_button.click(generate, inputs=every, outputs=sent_outputs,
                                         concurrency_limit=None, show_progress="hidden",
                                         trigger_mode="multiple")
    follower.event = follower.after(submit_event)
    follower.after(controls.confirm.click(confirm, inputs={visitor, last_tasks},
                                          outputs=sent_outputs, concurrency_limit=None,
                                          show_progress="hidden"))
    controls.cancel.click(cancel, inputs={visitor}, outputs=controls.confirm_row,
                          show_progress="hidden")
    # "Generate forever": a new task each time the shown one ends, until unticked
    controls.finished.change(None, inputs=[controls.finished, controls.forever], js=(
        f"(done, forever) => {{ if (forever && done) setTimeout(() => "
        f"document.getElementById('{tab}_generate')?.click(), 100); return []; }}"),
        queue=False, show_progress="hidden")
    requests_view.wire(preview_request, {visitor, *inputs})
    return GenerateHandlers(submit_event, generate, follower, generate_and_follow,
                            preview_request, confirm)


def _remember_first(plan: Plan, first: list[Any]) -> Plan:
    """The plan with its first task's request kept as it is made (for the Request panel)."""
    if not plan.tasks:
        return plan
    head = plan.tasks[0]

    def make() -> Any:
        request = head.make()
        first.append(request)
        return request

    return replace(plan, tasks=(replace(head, make=make), *plan.tasks[1:]))
