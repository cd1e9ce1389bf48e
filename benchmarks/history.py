"""History at 10,000 tasks: the time to build one page (store query + summaries + thumbnails +
HTML, i.e. the History tab's handler) for the first, a middle and the last page, a prompt
search and a kind filter; next to the reference of an unpaged history (every row summarised)
measured in the same run. Thumbnails are timed cold (made from the 512x512 PNGs) and warm.

    python -m benchmarks.history [--tasks 10000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from webui.api.models import TaskState
from webui.core.history import Thumbnails, history_page, summary
from webui.core.store import SQLiteTaskStore, StoredImage, TaskRecord
from webui.ui.tabs.history import rows_html

KINDS = ("text2image", "image2image", "controlnet", "enhance", "roop")
WORDS = ("lighthouse", "castle", "forest", "portrait", "city", "ocean", "dragon", "garden")


def fill(store: SQLiteTaskStore, folder: Path, tasks: int, owner: str) -> None:
    """`tasks` finished tasks of one visitor (each with a 512x512 PNG: 64 distinct files)."""
    images = []
    for n in range(64):
        path = folder / f"{n:05d}.png"
        Image.new("RGB", (512, 512), (n * 4 % 256, 90, 160)).save(path)
        images.append(str(path))
    for n in range(tasks):
        kind = KINDS[n % len(KINDS)]
        prompt = f"a {WORDS[n % len(WORDS)]} number {n}" if kind in KINDS[:3] else ""
        store.create(TaskRecord(
            id=f"t{n:06d}", kind=kind, owner=owner, request={"prompt": prompt, "seed": n},
            state=TaskState.SUCCEEDED, submitted=True, created_at=1.7e9 + n,
            finished_at=1.7e9 + n + 12, billed_calls=6,
            images=(StoredImage(0, n, None, images[n % 64]),)))
    # other visitors' rows share the table, as on a Space
    for n in range(tasks // 4):
        store.create(TaskRecord(id=f"o{n:06d}", kind="text2image", owner="someone-else",
                                request={"prompt": "other"}, created_at=1.7e9 + n))


def timed(action: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    owner = "visitor"
    with tempfile.TemporaryDirectory(prefix="zq-history-bench-") as tmp:
        root = Path(tmp)
        store = SQLiteTaskStore(root / "tasks.sqlite3")
        start = time.perf_counter()
        fill(store, root, args.tasks, owner)
        print(f"filled {args.tasks} tasks (+{args.tasks // 4} of another visitor) in "
              f"{time.perf_counter() - start:.1f} s")
        thumbs = Thumbnails(root / "thumbs")
        pages = -(-args.tasks // 20)

        def page(n: int, **filters: str) -> Callable[[], object]:
            return lambda: rows_html(history_page(store, thumbs, owner, page=n, **filters))

        start = time.perf_counter()
        page(1)()
        cold = (time.perf_counter() - start) * 1000
        rows = [
            ("page 1, thumbnails cold (first ever view)", (cold, cold)),
            ("page 1", timed(page(1), args.rounds)),
            (f"page {pages // 2} (middle)", timed(page(pages // 2), args.rounds)),
            (f"page {pages} (last)", timed(page(pages), args.rounds)),
            ("search 'castle', page 1", timed(page(1, text="castle"), args.rounds)),
            ("kind = Extras, page 1", timed(page(1, kind="enhance"), args.rounds)),
        ]

        def unpaged() -> object:
            return [summary(r, thumbs) for r in store.list(owner, limit=args.tasks + 1)]

        reference = timed(unpaged, max(3, args.rounds // 5))
        print(f"\n{'History page build':45} {'p50 ms':>8} {'p95 ms':>8}")
        for label, (p50, p95) in rows:
            print(f"{label:45} {p50:8.1f} {p95:8.1f}")
        print(f"{'reference: unpaged, all rows summarised':45} {reference[0]:8.1f} "
              f"{reference[1]:8.1f}")
        print(f"\npage 1 p50 is {reference[0] / rows[1][1][0]:.0f}x faster than the unpaged "
              f"history; target: every page under 200 ms")


if __name__ == "__main__":
    main()
