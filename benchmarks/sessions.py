"""What a page session costs the app, next to Gradio's own session state for the same page in
the same run: Gradio makes a session's state at a visitor's first event (and for each
`session_hash` a script sends), and keeps it until `state_session_capacity` newer ones push it
out. Gradio's renders every block's config into it (for deep links, which the app does not
offer) and renders a block's config again for each output an event changes; the app's
(`PageSessionState`, webui/ui/page_blocks.py) keeps the values and replaced blocks only.

    python -m benchmarks.sessions [--sessions 40]

Measured in this process on the app's whole page (built as `zhiqite-webui` builds it, with the
offline backend): CPU per new session, memory per session kept (tracemalloc), and CPU per
changed output (a Slider replaced, as a bounds update does).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.state_holder import SessionState

from webui.core.engine import PollPolicy
from webui.core.runtime import Runtime, Settings
from webui.ui.app import build
from webui.ui.context import UiContext
from webui.ui.page_blocks import PageSessionState


def page() -> gr.Blocks:
    work = Path(tempfile.mkdtemp(prefix="bench-sessions-"))
    settings = Settings(data_dir=work / "data", outputs_dir=work / "outputs",
                        backend="offline", offline_time_scale=0.01)
    runtime = Runtime.open(settings, env={}, policy=PollPolicy().scaled(0.01))
    try:
        return build(UiContext.create(runtime, preview_interval=0.01))
    finally:
        runtime.close()


def measure(kind: type[SessionState], demo: gr.Blocks, sessions: int) -> dict[str, float]:
    kind(demo)  # warm
    times = []
    for _ in range(sessions):
        began = time.process_time()
        kind(demo)
        times.append(time.process_time() - began)
    tracemalloc.start()
    kept = [kind(demo) for _ in range(sessions)]
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    slider = next(b for b in demo.blocks.values() if isinstance(b, gr.Slider))
    state, updates = kept[0], []
    for _ in range(sessions):
        replaced = gr.Slider(slider.minimum, slider.maximum, value=slider.value, render=False)
        began = time.process_time()
        state[slider._id] = replaced
        state._update_config(slider._id)  # what Gradio's postprocess does after it
        updates.append(time.process_time() - began)
    return {"new session (ms CPU)": 1000 * statistics.median(times),
            "kept per session (KB)": size / len(kept) / 1024,
            "a changed output (ms CPU)": 1000 * statistics.median(updates)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=40)
    args = parser.parse_args(argv)
    began = time.monotonic()
    demo = page()
    ours = measure(PageSessionState, demo, args.sessions)
    gradios = measure(SessionState, demo, args.sessions)
    print(f"# a page session: the app's state vs Gradio's, on the app's page "
          f"({len(demo.blocks)} blocks), {args.sessions} sessions each\n")
    widths = (26, 14, 16, 8)
    print(" | ".join(h.ljust(w) for h, w in zip(
        ("what", "zhiqite-webui", "Gradio's state", "ratio"), widths, strict=True)))
    print(" | ".join("-" * w for w in widths))
    for what, value in ours.items():
        reference = gradios[what]
        ratio: Any = f"{value / reference:.3f}" if reference else "-"
        print(" | ".join(str(c).ljust(w) for c, w in zip(
            (what, f"{value:.2f}", f"{reference:.2f}", ratio), widths, strict=True)))
    print(f"\nRan {time.monotonic() - began:.0f} s.")


if __name__ == "__main__":
    main()
