"""Infotext -> form fields, for PNG Info and Send to."""

from __future__ import annotations

from tests.conftest import t2i
from tests.core.test_infotext import A1111_SAMPLE
from webui.api import models as m
from webui.api.validation import parse_request
from webui.core import infotext
from webui.core.builder import Txt2ImgForm, txt2img_body
from webui.core.paste import fields_from_infotext


def test_an_a1111_image_fills_every_field_it_names() -> None:
    fields = fields_from_infotext(A1111_SAMPLE, ["v1-5-pruned-emaonly.safetensors", "other"])
    assert fields == {
        "prompt": "masterpiece, best quality, 1girl, <lora:add_detail:0.5>",
        "negative_prompt": "(worst quality:1.4), lowres, bad anatomy",
        "steps": 28, "sampler": "DPM++ 2M Karras", "cfg_scale": 7.0, "seed": 1234567890,
        "width": 512, "height": 768, "clip_skip": 2, "hr_steps": 15, "hr_scale": 2.0,
        "hr_upscaler": "R-ESRGAN 4x+ Anime6B", "enable_hr": True, "hr_denoising": 0.45,
        "checkpoint": "v1-5-pruned-emaonly.safetensors",
    }


def test_our_own_infotext_rebuilds_the_same_request() -> None:
    body = t2i("a", prompt="a fox, running", negative_prompt="blurry", steps=33, cfg_scale=6.5,
               sampler_index="Euler", width=640, height=384, seed=42, enable_hr=True,
               hr_resize_x=1280, hr_resize_y=768, hr_upscaler="Latent", denoising_strength=0.5,
               scripts={"override_settings": {"CLIP_stop_at_last_layers": 2}})
    request = parse_request(m.Text2ImageRequest, body)
    text = infotext.for_request("text2image", request, 42)
    fields = fields_from_infotext(text, ["photon_v1_84728.safetensors"])
    rebuilt = parse_request(m.Text2ImageRequest, txt2img_body(Txt2ImgForm(**fields), "a")).to_wire()
    original = request.to_wire()
    for key in ("prompt", "negative_prompt", "steps", "cfg_scale", "sampler_index", "width",
                "height", "seed", "enable_hr", "hr_resize_x", "hr_resize_y", "hr_upscaler",
                "denoising_strength"):
        assert rebuilt[key] == original[key], key
    assert rebuilt["alwayson_scripts"]["sd_model_checkpoint"] == "photon_v1_84728.safetensors"
    assert rebuilt["alwayson_scripts"]["override_settings"]["CLIP_stop_at_last_layers"] == 2


def test_unknown_names_are_left_alone() -> None:
    fields = fields_from_infotext("p\nSteps: 20, Sampler: Made Up, Seed: x, Model: gone, "
                                  "Hires upscaler: Bogus", ["photon.safetensors"])
    assert fields == {"prompt": "p", "negative_prompt": "", "steps": 20, "enable_hr": True}
