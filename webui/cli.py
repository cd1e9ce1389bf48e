"""`zhiqite-webui`: the command a user runs.

Until the web UI lands, it starts the offline backend (the local stand-in for the Zhiqite API)
and says so. `zhiqite-webui offline ...` takes the offline backend's own options;
`zhiqite-webui generate ...` submits one payload from the command line (see webui/generate.py).
"""

from __future__ import annotations

import sys

from webui import __version__


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        print(f"zhiqite-webui {__version__}")
        return
    if args[:1] == ["generate"]:
        from webui.generate import main as generate_main

        sys.exit(generate_main(args[1:]))
    if args[:1] == ["offline"]:
        args = args[1:]
    elif args[:1] in (["-h"], ["--help"]):
        print("usage: zhiqite-webui generate <endpoint> <payload.json> [--out DIR] "
              "[--poll|--callback]\n"
              "       zhiqite-webui [offline] [--host H] [--port N] [--time-scale X] ...\n\n"
              "The web UI is not built yet: this starts the offline backend, a local server\n"
              "with the Zhiqite API's 11 endpoints and synthetic images. Options:\n")
        args = ["--help"]
    from webui.offline.__main__ import main as offline_main

    print("zhiqite-webui: the web UI is not built yet; starting the offline backend "
          "(synthetic images, no credentials needed).", flush=True)
    offline_main(args)


if __name__ == "__main__":
    main()
