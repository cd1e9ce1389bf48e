"""Prompt edits the pickers make: LoRA tags (ruling 8) and embedding names; and what a
prompt's LoRA tags are worth warning about before it is sent."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from webui.api.models import MAX_PROMPT_CHARS
from webui.core.catalog import Choice
from webui.messages import Msg


def lora_pattern(name: str) -> re.Pattern[str]:
    return re.compile(r"\s*,?\s*<lora:" + re.escape(name) + r"(?::[^>]*)?>")


def toggle_lora(prompt: str, name: str, weight: float = 1.0) -> str:
    """Add `<lora:name:weight>` to the prompt, or take it out if it is there."""
    pattern = lora_pattern(name)
    if pattern.search(prompt):
        return pattern.sub("", prompt).strip(" ,")
    tag = f"<lora:{name}:{weight:g}>"
    return f"{prompt.rstrip(' ,')}, {tag}" if prompt.strip() else tag


def toggle_word(text: str, word: str) -> str:
    """Add an embedding's name to the negative prompt, or take it out."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if word in parts:
        return ", ".join(part for part in parts if part != word)
    return ", ".join([*parts, word])


# no "<" inside a tag: each try stops at the next "<", so any text is read in linear time
LORA_TAG = re.compile(r"<lora:([^:<>]+)(?::[^<>]*)?>")
MAX_LORA_WARNINGS = 5  # a prompt of a hundred unknown tags gets five lines, not a hundred


class BaseFamily(enum.Enum):
    """The model family a checkpoint or a LoRA was trained for: a LoRA of one family does
    nothing good on a checkpoint of another. The lists spell bases freely ("SD 1.5",
    "SDXL 1.0", "Pony"), so the family is read from the name."""
    SD1 = "SD 1.x"
    SD2 = "SD 2.x"
    SDXL = "SDXL"
    SD3 = "SD 3"
    FLUX = "Flux"


_FAMILIES = (  # first match wins: "SDXL" before "SD"
    (re.compile(r"xl|pony|illustrious|noob|playground", re.I), BaseFamily.SDXL),
    (re.compile(r"flux", re.I), BaseFamily.FLUX),
    (re.compile(r"sd\s*3|sd3", re.I), BaseFamily.SD3),
    (re.compile(r"(sd|stable diffusion)\s*2(\.\d)?\b", re.I), BaseFamily.SD2),
    (re.compile(r"(sd|stable diffusion)\s*1(\.\d)?\b", re.I), BaseFamily.SD1),
)


def base_family(base_model: str | None) -> BaseFamily | None:
    """None when the name says no family we know (then nothing is claimed)."""
    for pattern, family in _FAMILIES:
        if base_model and pattern.search(base_model):
            return family
    return None


def lora_warnings(prompt: str, loras: Sequence[Choice], checkpoint: Choice | None
                  ) -> list[Msg]:
    """What to tell before sending: a `<lora:name:w>` naming no LoRA in the list (the
    service skips it), and a LoRA of another model family than the checkpoint's."""
    known = {lora.value: lora for lora in loras}
    checkpoint_family = base_family(checkpoint.base_model) if checkpoint else None
    warnings: list[Msg] = []
    tags = LORA_TAG.finditer(prompt[:MAX_PROMPT_CHARS])
    for name in dict.fromkeys(match.group(1).strip() for match in tags):
        lora = known.get(name)
        if lora is None:
            warnings.append(Msg("prompt.lora_unknown", name=name))
        elif checkpoint is not None and checkpoint_family is not None and \
                base_family(lora.base_model) not in (None, checkpoint_family):
            warnings.append(Msg("prompt.lora_base", name=lora.label, base=lora.base_model,
                                checkpoint=checkpoint.label, checkpoint_base=checkpoint.base_model))
        if len(warnings) == MAX_LORA_WARNINGS:
            break
    return warnings
