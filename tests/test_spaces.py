"""The repository root works as a Hugging Face Space: README front matter matching the pinned
gradio, the entry point, and storage / public URL taken from the Space's environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from webui.core.runtime import Settings, storage_from_env

ROOT = Path(__file__).resolve().parents[1]


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md must start with the Space's front matter"
    return {k.strip(): v.strip().strip('"') for k, v in
            (line.split(":", 1) for line in match.group(1).splitlines())}


def test_front_matter_matches_the_pinned_gradio_and_the_entry_point() -> None:
    meta = front_matter()
    pinned = next(d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                  ["dependencies"] if d.startswith("gradio=="))
    assert meta["sdk"] == "gradio" and f"gradio=={meta['sdk_version']}" == pinned
    assert pinned in (ROOT / "requirements.txt").read_text().splitlines()
    assert meta["python_version"] == "3.11"
    assert (ROOT / meta["app_file"]).is_file()


def test_storage_on_a_space_uses_persistent_data_when_it_exists(tmp_path: Path) -> None:
    persistent = tmp_path / "data"
    persistent.mkdir()
    data, outputs, ephemeral = storage_from_env({"SPACE_ID": "me/app"}, persistent)
    assert (data, outputs, ephemeral) == (persistent / "zhiqite" / "data",
                                          persistent / "zhiqite" / "outputs", False)
    data, outputs, ephemeral = storage_from_env({"SPACE_ID": "me/app"}, tmp_path / "missing")
    assert ephemeral and data.name == "data" and "zhiqite" in str(data)


def test_storage_elsewhere_and_overrides(tmp_path: Path) -> None:
    assert storage_from_env({}, tmp_path) == (Path("data"), Path("outputs"), False)
    env = {"SPACE_ID": "me/app", "ZHIQITE_DATA_DIR": "/x/d", "ZHIQITE_OUTPUTS_DIR": "/x/o"}
    assert storage_from_env(env, tmp_path) == (Path("/x/d"), Path("/x/o"), False)


def test_the_space_host_is_the_public_url_for_callbacks_and_uploads(tmp_path: Path) -> None:
    settings = Settings.from_env({"SPACE_ID": "me/app", "SPACE_HOST": "me-app.hf.space"},
                                 persistent_root=tmp_path / "none")
    assert settings.public_url == "https://me-app.hf.space" and settings.ephemeral
