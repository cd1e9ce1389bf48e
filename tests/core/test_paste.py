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


# --- a stored task's request -> form fields (Send to, ↙) ----------------------------------------


def test_a_stored_request_fills_the_form_it_came_from() -> None:
    from webui.core.builder import Img2ImgForm, img2img_body
    from webui.core.paste import fields_from_request

    form = Txt2ImgForm(checkpoint="photon_v1_84728.safetensors", vae="vae-ft.safetensors",
                       clip_skip=2, prompt="a fox", negative_prompt="blurry", sampler="Euler",
                       steps=33, width=640, height=384, n_iter=2, batch_size=3, cfg_scale=6.5,
                       seed=-1, restore_faces=True, enable_hr=True, hr_upscaler="Latent",
                       hr_steps=12, hr_denoising=0.4, hr_scale=2)
    fields = fields_from_request(txt2img_body(form, "a"), seed=98765)
    expected = {**{k: getattr(form, k) for k in fields if k != "seed"}, "seed": 98765}
    assert fields == expected
    assert {"prompt", "negative_prompt", "sampler", "steps", "width", "height", "cfg_scale",
            "checkpoint", "vae", "clip_skip", "enable_hr", "hr_denoising", "hr_steps",
            "hr_scale", "restore_faces", "batch_size"} <= set(fields)

    inpaint = Img2ImgForm(checkpoint="c.safetensors", prompt="p", mode="inpaint",
                          init_url="https://x/i.png", mask_url="https://x/m.png", resize_mode=1,
                          denoising_strength=0.55, mask_blur=9, mask_mode=1, masked_content=2,
                          inpaint_area=1, padding=48, seed=7, cfg_scale=5)
    fields = fields_from_request(img2img_body(inpaint, "b"))
    for name in ("resize_mode", "denoising_strength", "mask_blur", "mask_mode",
                 "masked_content", "inpaint_area", "padding", "seed", "cfg_scale"):
        assert fields[name] == getattr(inpaint, name), name
    assert "hr_denoising" not in fields and "enable_hr" not in fields
    # a txt2img request without Hires. fix: its denoising strength (a default) is no img2img's
    plain = fields_from_request({**txt2img_body(Txt2ImgForm(prompt="p"), "c"),
                                 "denoising_strength": 0.75})
    assert "denoising_strength" not in plain and "hr_denoising" not in plain


def test_controlnet_spelling_and_junk_are_read_or_left_alone() -> None:
    from webui.core.paste import fields_from_request

    fields = fields_from_request({"prompt": "p", "steps": "x", "sampler_index": "Bogus",
                                  "always_on_scripts": {"sd_model_checkpoint": "cn.safetensors"}})
    assert fields == {"prompt": "p", "checkpoint": "cn.safetensors"}


def test_pasted_infotext_is_told_from_a_prompt() -> None:
    from webui.core.paste import looks_like_infotext

    assert looks_like_infotext("a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, "
                               "CFG scale: 7, Seed: 1")
    assert looks_like_infotext(A1111_SAMPLE)
    assert not looks_like_infotext("a cat, best quality, steps in the snow")
    assert not looks_like_infotext("")
    assert not looks_like_infotext("   \n ")
