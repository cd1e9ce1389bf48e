"""The extra-networks card browser without a browser: lists from the offline backend, search,
base-model filter, sort, adult entries hidden with their covers never registered, clicks that
toggle tags or pick the checkpoint, hostile names escaped, covers served by the app."""

from __future__ import annotations

import io
from typing import Any

import gradio as gr
import requests
from fastapi import FastAPI
from PIL import Image

from tests.ui.conftest import BuiltUi
from webui.core.routes import covers_router
from webui.offline.server import ThreadedServer

XSS = "<img src=x onerror=alert(1)>"
VISITOR = "visitor-0123456789abcdef"


def render(ui: BuiltUi, kind: str = "LoRA", text: str = "", base: str = "All base models",
           sort: str = "Default order", prompt: str = "", negative: str = "") -> str:
    update = ui.tab.networks.render(ui.token(VISITOR), kind, text, base, sort, prompt, negative, None)
    return update[ui.tab.networks.cards]


def click(ui: BuiltUi, kind: str, name: str, prompt: str = "", negative: str = "",
          weight: float = 1.0) -> dict[Any, Any]:
    return ui.tab.networks.click(ui.token(VISITOR), kind, "", "All base models", "Default order", weight,
                                 prompt,
                                 negative, None, gr.EventData(None, {"kind": kind, "name": name}))


def add_entry(ui: BuiltUi, **entry: Any) -> None:
    offline = ui.ctx.runtime.offline
    requests.post(f"{offline.url}/__offline/catalogue", json=entry, timeout=5).raise_for_status()


def test_lora_cards_search_filter_and_sort(ui: BuiltUi) -> None:
    cards = render(ui)
    assert "Hayasaka Ai" in cards and 'data-name="hayasaka_ai_v10_26390"' in cards
    assert 'loading="lazy"' in cards and "api/zhiqite/covers/" in cards
    found = render(ui, text="ink")
    assert "Chinese Ink Painting" in found and "Ink Scenery XL" in found and "Hayasaka" not in found
    xl = render(ui, base="SDXL 1.0")
    assert "Pixel Art XL" in xl and "Hayasaka" not in xl
    names = render(ui, sort="Name Z-A")
    assert names.index("XL More Art") < names.index("Add More Details")


def test_adult_entries_and_their_covers_stay_hidden(ui: BuiltUi) -> None:
    before = dict(ui.ctx.covers._urls)
    cards = render(ui)
    assert "Lingerie" not in cards and "Pose Pack" not in cards
    adult = [c for c in ui.ctx.catalog.loras(show_adult=True) if c.adult]
    registered = set(ui.ctx.covers._urls.values()) - set(before.values())
    assert adult and not registered & {c.cover for c in adult}


def test_clicks_toggle_loras_and_embeddings_and_pick_checkpoints(ui: BuiltUi) -> None:
    net, box = ui.tab.networks, ui.tab.box
    added = click(ui, "LoRA", "hayasaka_ai_v10_26390", prompt="1girl", weight=0.7)
    assert added[box.prompt] == "1girl, <lora:hayasaka_ai_v10_26390:0.7>"
    assert "zq-card-on" in added[net.cards]
    removed = click(ui, "LoRA", "hayasaka_ai_v10_26390", prompt=added[box.prompt])
    assert removed[box.prompt] == "1girl" and "zq-card-on" not in removed[net.cards]
    negative = click(ui, "Embeddings", "EasyNegative", negative="lowres")
    assert negative[box.negative] == "lowres, EasyNegative"
    picked = click(ui, "Checkpoints", "dreamshaper_8_128713.safetensors")
    assert picked[ui.topbar.checkpoint].value == "dreamshaper_8_128713.safetensors"
    assert click(ui, "LoRA", "not_in_the_list") == {ui.tab.networks.cards: gr.skip()}


def test_hostile_names_are_text(ui: BuiltUi) -> None:
    add_entry(ui, kind="lora", name="xss_lora", title=XSS, base_model="SD 1.5")
    add_entry(ui, kind="embedding", name='"><script>alert(2)</script>')
    cards = render(ui, text="xss")
    assert "<img src=x" not in cards and "&lt;img src=x onerror=alert(1)&gt;" in cards
    ui.ctx.catalog.embeddings(refresh=True)
    embeddings = render(ui, kind="Embeddings")
    assert "<script>" not in embeddings and "&lt;script&gt;" in embeddings
    assert 'data-name="&quot;&gt;&lt;script&gt;' in embeddings


def test_covers_are_served_as_small_webp_only_when_registered(ui: BuiltUi) -> None:
    cards = render(ui)
    address = cards.split('src="')[1].split('"')[0]
    app = FastAPI()
    app.include_router(covers_router(ui.ctx.covers))
    with ThreadedServer(app) as server:
        answer = requests.get(f"{server.url}/{address}", timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(answer.content)) as cover:
            assert max(cover.size) <= 256
        unknown = address.rsplit("/", 1)[0] + "/" + "0" * 32 + ".webp"
        assert requests.get(f"{server.url}/{unknown}", timeout=5).status_code == 404
        assert requests.get(f"{server.url}/api/zhiqite/covers/..%2Fx.webp",
                            timeout=5).status_code == 404
