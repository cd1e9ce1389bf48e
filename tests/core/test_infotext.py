"""A1111 infotext: written in A1111's layout, read back by A1111's own parsing rules."""

from __future__ import annotations

import pytest

from tests.conftest import t2i
from webui.api import models as m
from webui.api.validation import parse_request
from webui.core import infotext

# An infotext as AUTOMATIC1111 v1.6 writes it (hires fix, clip skip, a quoted value).
A1111_SAMPLE = (
    "masterpiece, best quality, 1girl, <lora:add_detail:0.5>\n"
    "Negative prompt: (worst quality:1.4), lowres, bad anatomy\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, "
    "Clip skip: 2, Hires upscale: 2, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+ Anime6B, "
    'Lora hashes: "add_detail: 7c6bad76eb54", Version: v1.6.0'
)


def test_parses_an_a1111_image() -> None:
    fields = infotext.parse(A1111_SAMPLE)
    assert fields["Prompt"] == "masterpiece, best quality, 1girl, <lora:add_detail:0.5>"
    assert fields["Negative prompt"] == "(worst quality:1.4), lowres, bad anatomy"
    assert fields["Sampler"] == "DPM++ 2M Karras" and fields["Seed"] == "1234567890"
    assert (fields["Size-1"], fields["Size-2"]) == ("512", "768")
    assert fields["Lora hashes"] == "add_detail: 7c6bad76eb54"
    assert fields["Hires upscaler"] == "R-ESRGAN 4x+ Anime6B"
    assert fields["Version"] == "v1.6.0"


def test_multiline_prompts_and_no_negative() -> None:
    text = infotext.compose("line one\nline two", None, {"Steps": 20, "Sampler": "Euler a",
                                                          "Seed": 1})
    assert text == "line one\nline two\nSteps: 20, Sampler: Euler a, Seed: 1"
    fields = infotext.parse(text)
    assert fields["Prompt"] == "line one\nline two" and fields["Negative prompt"] == ""


def test_values_with_commas_colons_and_quotes_survive() -> None:
    params = {"Steps": 20, "Sampler": "Euler a", "ADetailer prompt": 'a "red", face: smiling',
              "Note": "plain", "Seed": 5}
    fields = infotext.parse(infotext.compose("p", "n", params))
    assert fields["ADetailer prompt"] == 'a "red", face: smiling'
    assert fields["Note"] == "plain"


def request(**fields: object) -> m.Text2ImageRequest:
    return parse_request(m.Text2ImageRequest, t2i("abc", **fields))


def test_txt2img_fields_in_a1111_order() -> None:
    text = infotext.for_request("text2image", request(
        prompt="猫, 可爱 🐱", negative_prompt="blurry", steps=30, cfg_scale=6.5,
        sampler_index="DPM++ 2M Karras", width=512, height=768, seed=99,
        scripts={"sd_vae": "vae-ft-mse-840000-ema-pruned.safetensors",
                 "override_settings": {"CLIP_stop_at_last_layers": 2}}), 99)
    assert text.splitlines() == [
        "猫, 可爱 🐱", "Negative prompt: blurry",
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 99, Size: 512x768, "
        "Model: photon_v1_84728, VAE: vae-ft-mse-840000-ema-pruned, Clip skip: 2, "
        "Version: zhiqite-webui"]


def test_hires_fix_by_scale_and_by_size() -> None:
    by_scale = infotext.parse(infotext.for_request("text2image", request(
        enable_hr=True, hr_scale=2, hr_second_pass_steps=10, hr_upscaler="Latent"), 1))
    assert (by_scale["Hires upscale"], by_scale["Hires steps"], by_scale["Hires upscaler"],
            by_scale["Denoising strength"]) == ("2", "10", "Latent", "0.75")
    by_size = infotext.parse(infotext.for_request("text2image", request(
        enable_hr=True, hr_resize_x=640, hr_resize_y=320), 1))
    assert "Hires upscale" not in by_size
    assert (by_size["Hires resize-1"], by_size["Hires resize-2"]) == ("640", "320")


def test_inpaint_fields() -> None:
    body = t2i("abc", resize_mode=1, mask_blur=4, inpainting_fill=1, inpaint_full_res=True,
               inpaint_full_res_padding=32, inpainting_mask_invert=1, denoising_strength=0.6,
               scripts={"image_link": "http://127.0.0.1/i.png",
                        "mask_link": "http://127.0.0.1/m.png"})
    fields = infotext.parse(infotext.for_request(
        "image2image", parse_request(m.Image2ImageRequest, body), 3))
    assert fields["Mask blur"] == "4" and fields["Masked content"] == "original"
    assert fields["Inpaint area"] == "Only masked" and fields["Masked area padding"] == "32"
    assert fields["Mask mode"] == "Inpaint not masked"
    assert fields["Denoising strength"] == "0.6"


def test_controlnet_units_and_adetailer_as_the_extensions_write_them() -> None:
    unit = {"image_link": "http://127.0.0.1/c.png", "module": "canny",
            "model": "control_v11p_sd15_canny", "weight": 0.8, "guidance_end": 0.9}
    body = t2i("abc", scripts={"controlnet": {"args": [unit]}})
    fields = infotext.parse(infotext.for_request(
        "controlnet", parse_request(m.ControlNetRequest, body), 3))
    assert fields["ControlNet 0"].startswith(
        "Module: canny, Model: control_v11p_sd15_canny, Weight: 0.8, Resize Mode: ")
    assert "Guidance Start: 0, Guidance End: 0.9" in fields["ControlNet 0"]

    body = t2i("abc", scripts={"ADetailer": {"args": [
        {"ad_model": "face_yolov8n.pt", "ad_confidence": 0.3, "ad_prompt": "smile, detailed"},
        {"ad_model": "hand_yolov8n.pt"}]}})
    fields = infotext.parse(infotext.for_request("text2image",
                                                 parse_request(m.Text2ImageRequest, body), 3))
    assert fields["ADetailer model"] == "face_yolov8n.pt"
    assert fields["ADetailer confidence"] == "0.3"
    assert fields["ADetailer prompt"] == "smile, detailed"
    assert fields["ADetailer model 2nd"] == "hand_yolov8n.pt"


@pytest.mark.parametrize("body, expected", [
    ({"resizeMode": 0, "upscalingResize": 4, "upscaler1": "R-ESRGAN 4x+"},
     {"Postprocess upscale by": "4", "Postprocess upscaler": "R-ESRGAN 4x+"}),
    ({"resizeMode": 1, "upscalingResizeW": 1024, "upscalingResizeH": 768, "upscalingCrop": True,
      "codeformerVisibility": 0.5, "codeformerWeight": 0.7},
     {"Postprocess upscale to-1": "1024", "Postprocess crop to fit": "True",
      "CodeFormer visibility": "0.5", "CodeFormer weight": "0.7"}),
])
def test_extras(body: dict, expected: dict) -> None:
    request = parse_request(m.EnhanceRequest, {"businessTaskId": "x",
                                               "image": "http://127.0.0.1/a.png", **body})
    fields = infotext.parse(infotext.for_request("enhance", request, None))
    assert {k: fields.get(k) for k in expected} == expected
