"""`zhiqite-webui`: the command a user runs.

    zhiqite-webui [--host H] [--port N] [--backend auto|offline|cloud] [--api-base URL] [--share]
    zhiqite-webui generate <endpoint> <payload.json> [--out DIR] [--poll|--callback]
    zhiqite-webui offline [--port N] [--time-scale X] ...   (the offline backend alone)
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
        from webui.offline.__main__ import main as offline_main

        offline_main(args[1:])
        return
    from webui.ui.app import main as app_main

    app_main(args)


if __name__ == "__main__":
    main()
