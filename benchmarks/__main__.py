"""Run every benchmark and write `benchmarks/RESULTS.md`: machine, date, command, each script's
table; the run before it is kept below the new one, so a regression shows side by side.

    python -m benchmarks [--only tasks,history] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
PREVIOUS = "\n## Previous run\n"
# name -> (arguments, arguments with --quick)
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    "tasks": ([], ["--tasks", "10", "--billing-tasks", "4"]),
    "ui": ([], ["--rounds", "1", "--tasks", "5"]),
    "history": ([], ["--tasks", "2000", "--rounds", "5"]),
    "visitors": ([], ["--visitors", "10", "--tasks", "2"]),
    "abuse": ([], []),
    "xyz": ([], ["--cells", "3"]),
    "page": ([], []),
    "sessions": ([], ["--sessions", "10"]),
    "replicas": ([], ["--visitors", "10", "--tasks", "2"]),
}


def machine() -> str:
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / (1 << 30):.1f} GB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs{memory}, "
            f"Python {platform.python_version()}")


def run(name: str, arguments: list[str]) -> tuple[str, float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *arguments],
                          capture_output=True, text=True, cwd=HERE.parent, check=False)
    output = done.stdout.strip()
    if done.returncode:
        output += f"\n(exit {done.returncode})\n{done.stderr.strip()[-2000:]}"
    return output, time.perf_counter() - start, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(SCRIPTS))
    parser.add_argument("--quick", action="store_true", help="fewer tasks (a smoke run)")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(SCRIPTS)
    unknown = set(names) - set(SCRIPTS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    command = "python -m benchmarks" + (f" --only {args.only}" if args.only else "") + (
        " --quick" if args.quick else "")
    sections, failed = [], 0
    for name in names:
        arguments = SCRIPTS[name][1 if args.quick else 0]
        print(f"== {name} {' '.join(arguments)}", flush=True)
        output, seconds, code = run(name, arguments)
        failed += code != 0
        print(output, flush=True)
        sections.append(f"### {name} ({seconds:.0f} s)\n\n```\n{output}\n```\n")
    latest = (f"## Latest run\n\n- date: {time.strftime('%Y-%m-%d %H:%M %Z')}\n"
              f"- machine: {machine()}\n- command: `{command}`\n\n" + "\n".join(sections))
    previous = ""
    if RESULTS.exists():
        text = RESULTS.read_text(encoding="utf-8")
        if "## Latest run" in text:  # the last run becomes the previous one; older ones go
            previous = text.split("## Latest run", 1)[1].split(PREVIOUS, 1)[0]
            previous = PREVIOUS + previous.rstrip() + "\n"
    RESULTS.write_text("# Benchmark results\n\nWritten by `python -m benchmarks`; every figure "
                       "is measured next to its reference in the same run.\n\n" + latest
                       + previous, encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
