"""Hugging Face Spaces entry point (`app_file: app.py`): the same app as `zhiqite-webui`."""

import os

from webui.ui.app import main

if __name__ == "__main__":
    main(["--host", "0.0.0.0", "--port", os.environ.get("PORT", "7860")]
         if os.environ.get("SPACE_ID") else [])
