"""Handing saved files to Gradio components, wherever the folders are.

Gradio copies a file a handler returns into its cache only when the file is in the working
directory, the temp directory or its own cache; anything else fails with InvalidPathError.
On a Space the recommended storage is `/data` (outside both), so every result would end in
"Error". `allowed_paths` would fix that by letting Gradio serve those folders by path, to
anyone: visitors' results must not be reachable that way. Instead a file kept elsewhere is
linked (or copied, across file systems) into a folder of Gradio's own cache under a name
that cannot be guessed; Gradio takes it from there and its `delete_cache` prunes it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from gradio.utils import get_upload_folder

_KEY = secrets.token_bytes(16)  # names of this process's links: not guessable from a path


def _inside(path: Path, folder: str) -> bool:
    try:
        path.relative_to(Path(folder).resolve())
    except ValueError:
        return False
    return True


def shown(path: str | None) -> str | None:
    """A path Gradio accepts for the file at `path` (the same path when it already does)."""
    if not path:
        return path
    source = Path(path).resolve()
    if any(_inside(source, folder) for folder in (os.getcwd(), tempfile.gettempdir(),
                                                  get_upload_folder())):
        return path
    name = hmac.new(_KEY, str(source).encode(), hashlib.sha256).hexdigest()[:32]
    target = Path(get_upload_folder()) / "zhiqite" / name / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system, or links not allowed: copy it
            shutil.copyfile(source, target)
    return str(target)
