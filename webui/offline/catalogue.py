"""What the offline backend offers: checkpoints, LoRAs, VAEs, embeddings.

It holds every name the reference uses (checkpoints revAnimated and Photon, the Hayasaka Ai
LoRA, the three VAE files, the embeddings of the sample list and EasyNegative from the sample
prompt) plus plausible others across base models, some marked adult.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# (file, display name, base model, adult)
CHECKPOINTS: tuple[tuple[str, str, str, int], ...] = (
    ("revAnimated_v122_7371.safetensors", "ReV Animated", "SD 1.5", 0),
    ("photon_v1_84728.safetensors", "Photon", "SD 1.5", 0),
    ("dreamshaper_8_128713.safetensors", "DreamShaper", "SD 1.5", 0),
    ("majicmixRealistic_v7_176425.safetensors", "majicMIX realistic 麦橘写实", "SD 1.5", 0),
    ("realisticVisionV60B1_v51VAE_245598.safetensors", "Realistic Vision", "SD 1.5", 0),
    ("anythingV5_PrtRE_9409.safetensors", "Anything V5", "SD 1.5", 0),
    ("meinamix_meinaV11_7240.safetensors", "MeinaMix", "SD 1.5", 0),
    ("counterfeitV30_v30_4468.safetensors", "Counterfeit-V3.0", "SD 1.5", 0),
    ("chilloutmix_NiPrunedFp32Fix_6424.safetensors", "ChilloutMix", "SD 1.5", 1),
    ("epicrealism_naturalSinRC1VAE_25694.safetensors", "epiCRealism", "SD 1.5", 0),
    ("cetusMix_Whalefall2_6755.safetensors", "CetusMix", "SD 1.5", 0),
    ("ghostmix_v20Bakedvae_36520.safetensors", "GhostMix 鬼混", "SD 1.5", 0),
    ("absolutereality_v181_81458.safetensors", "AbsoluteReality", "SD 1.5", 0),
    ("toonyou_beta6_30240.safetensors", "ToonYou", "SD 1.5", 0),
    ("cyberrealistic_v42_15003.safetensors", "CyberRealistic", "SD 1.5", 0),
    ("xxmix9realistic_v40_47274.safetensors", "XXMix_9realistic", "SD 1.5", 1),
    ("guofeng3_v34_10415.safetensors", "GuoFeng3 国风3", "SD 1.5", 0),
    ("sdXL_v10VAEFix_101055.safetensors", "SDXL 1.0", "SDXL 1.0", 0),
    ("juggernautXL_v9Rdphoto2Lightning_133005.safetensors", "Juggernaut XL", "SDXL 1.0", 0),
    ("dreamshaperXL_lightningDPMSDE_112902.safetensors", "DreamShaper XL", "SDXL 1.0", 0),
    ("animagineXLV31_v31_260267.safetensors", "Animagine XL 3.1", "SDXL 1.0", 0),
    ("aamXLAnimeMix_v10_269232.safetensors", "AAM XL AnimeMix", "SDXL 1.0", 0),
    ("ponyDiffusionV6XL_v6StartWithThisOne_257749.safetensors", "Pony Diffusion V6 XL",
     "Pony", 1),
    ("autismmixSDXL_autismmixPony_324524.safetensors", "AutismMix SDXL", "Pony", 1),
)

# (simplify name, display name, base model, adult)
LORAS: tuple[tuple[str, str, str, int], ...] = (
    ("hayasaka_ai_v10_26390", "Hayasaka Ai 早坂愛 / Kaguya-sama wa Kokurasetai ", "SD 1.5", 0),
    ("add_detail_58390", "Detail Tweaker LoRA", "SD 1.5", 0),
    ("more_details_82098", "Add More Details", "SD 1.5", 0),
    ("epi_noiseoffset2_13941", "epi_noiseoffset", "SD 1.5", 0),
    ("blindbox_v1_mix_25995", "Blindbox 盲盒", "SD 1.5", 0),
    ("ghibli_style_offset_6526", "Ghibli Style", "SD 1.5", 0),
    ("moxin_10_14856", "Moxin 墨心", "SD 1.5", 0),
    ("chinese_ink_style_120298", "Chinese Ink Painting 水墨", "SD 1.5", 0),
    ("hanfu_v30_23411", "Hanfu 汉服", "SD 1.5", 0),
    ("cyberpunk_anime_12037", "Cyberpunk Anime Style", "SD 1.5", 0),
    ("lcm_lora_sdv1_5_195519", "LCM LoRA SD1.5", "SD 1.5", 0),
    ("film_grain_v2_33208", "Film Grain", "SD 1.5", 0),
    ("paper_cut_v1_15002", "Paper Cut 剪纸", "SD 1.5", 0),
    ("pixel_art_v1_43820", "Pixel Art", "SD 1.5", 0),
    ("watercolor_v3_17211", "Watercolor", "SD 1.5", 0),
    ("lingerie_v2_44810", "Lingerie", "SD 1.5", 1),
    ("pixel_art_xl_v11_120096", "Pixel Art XL", "SDXL 1.0", 0),
    ("sdxl_lightning_4step_335240", "SDXL Lightning 4-step", "SDXL 1.0", 0),
    ("xl_more_art_full_124347", "XL More Art", "SDXL 1.0", 0),
    ("add_detail_xl_122359", "Detail Tweaker XL", "SDXL 1.0", 0),
    ("ink_scenery_xl_150521", "Ink Scenery XL", "SDXL 1.0", 0),
    ("pony_realism_slider_296012", "Pony Realism Slider", "Pony", 0),
    ("pony_style_sketch_310044", "Sketch Style (Pony)", "Pony", 0),
    ("pony_nsfw_pose_301177", "Pose Pack (Pony)", "Pony", 1),
)

VAES: tuple[str, ...] = (
    "vae-ft-mse-840000-ema-pruned.ckpt",
    "vae-ft-mse-840000-ema-pruned.vae.pt",
    "k1F8Anime2_k1F8Anime2VAE.ckpt",
    "kl-f8-anime2.ckpt",
    "orangemix.vae.pt",
    "clearvae_v23.safetensors",
    "sdxl_vae.safetensors",
)
# Values A1111 accepts for sd_vae that are not files.
VAE_KEYWORDS: tuple[str, ...] = ("None", "Automatic")

EMBEDDINGS: tuple[str, ...] = (
    "FastNegativeV2", "bad-artist-anime", "bad-artist", "bad-hands-5", "bad-image-v2-39000",
    "bad-picture-chill-75v", "bad_prompt", "bad_prompt_version2", "badhandv4",
    "by-bad-artist-neg", "EasyNegative", "ng_deepnegative_v1_75t",
    "verybadimagenegative_v1.3", "negative_hand-neg", "BadDream", "UnrealisticDream",
)


@dataclass(frozen=True)
class Entry:
    kind: str  # "model" | "lora" | "vae" | "embedding"
    id: int
    name: str  # what a request names it by
    title: str
    base_model: str = ""
    adult: int = 0

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.kind}:{self.name}".encode()).hexdigest().upper()


def _entries() -> dict[str, list[Entry]]:
    return {
        "model": [Entry("model", 30 + i, f, t, b, a) for i, (f, t, b, a) in
                  enumerate(CHECKPOINTS)],
        "lora": [Entry("lora", 8741 + i, n, t, b, a) for i, (n, t, b, a) in enumerate(LORAS)],
        "vae": [Entry("vae", 2 + i, f, f) for i, f in enumerate(VAES)],
        "embedding": [Entry("embedding", 3 + i, n, n + ".pt") for i, n in
                      enumerate(EMBEDDINGS)],
    }


class Catalogue:
    def __init__(self) -> None:
        self.entries = _entries()
        self._by_name = {kind: {e.name: e for e in rows} for kind, rows in self.entries.items()}

    def find(self, kind: str, name: str) -> Entry | None:
        return self._by_name[kind].get(name)

    def get(self, kind: str, entry_id: int) -> Entry | None:
        return next((e for e in self.entries.get(kind, []) if e.id == entry_id), None)

    def search(self, kind: str, **filters: str | None) -> list[Entry]:
        """Case-insensitive substring filters on name/title, exact on base model."""
        rows = self.entries[kind]
        text = filters.get("text")
        if text:
            needle = text.lower()
            rows = [e for e in rows if needle in e.name.lower() or needle in e.title.lower()]
        base = filters.get("base_model")
        if base:
            rows = [e for e in rows if e.base_model.lower() == base.lower()]
        return rows

    def add(self, kind: str, name: str, title: str, base_model: str = "", adult: int = 0
            ) -> Entry:
        """Extra entries for tests (e.g. a name that is an HTML injection attempt)."""
        entry = Entry(kind, max((e.id for e in self.entries[kind]), default=0) + 1, name, title,
                      base_model, adult)
        self.entries[kind].append(entry)
        self._by_name[kind][name] = entry
        return entry
