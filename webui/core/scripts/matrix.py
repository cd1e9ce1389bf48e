"""Prompt matrix, as A1111's `scripts/prompt_matrix.py`: `|`-separated parts, the first always,
the rest on and off (2^(n-1) prompts, in A1111's order)."""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass

from webui.core.scripts.common import MAX_MATRIX_PROMPTS, RANDOM_SEEDS, PromptScriptError
from webui.messages import Msg

# --- Prompt matrix -----------------------------------------------------------------------------


class PromptType(enum.StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class Delimiter(enum.StrEnum):
    COMMA = "comma"
    SPACE = "space"

    @property
    def text(self) -> str:
        return ", " if self is Delimiter.COMMA else " "


def matrix_count(text: str) -> int:
    """How many prompts a matrix makes: 2^(number of `|` separators)."""
    return 2 ** text.count("|")


def prompt_matrix(
    text: str,
    *,
    put_at_start: bool = False,
    delimiter: Delimiter | str = Delimiter.COMMA,
    limit: int = MAX_MATRIX_PROMPTS,
) -> list[str]:
    """A1111's combinations, in its order: prompt i holds the variable part n when bit n of i is
    set; the first part is kept verbatim, the others stripped of spaces and commas."""
    joiner = Delimiter(delimiter).text
    count = matrix_count(text)
    if count > limit:
        raise PromptScriptError(
            Msg("scripts.matrix_too_many", parts=text.count("|"), count=count, limit=limit),
            "too_many",
            {"count": count, "limit": limit},
        )
    parts = text.split("|")
    prompts = []
    for number in range(count):
        chosen = [part.strip().strip(",") for n, part in enumerate(parts[1:]) if number & (1 << n)]
        chosen = [*chosen, parts[0]] if put_at_start else [parts[0], *chosen]
        prompts.append(joiner.join(chosen))
    return prompts


@dataclass(frozen=True)
class MatrixPlan:
    """One image per entry: the prompts, negative prompts and seeds line up."""

    prompts: tuple[str, ...]
    negative_prompts: tuple[str, ...]
    seeds: tuple[int, ...]
    parts: tuple[str, ...]  # the matrix's parts, for the grid's labels

    def n_iter(self, batch_size: int) -> int:
        """A1111: p.n_iter = ceil(images / batch_size)."""
        return math.ceil(len(self.prompts) / max(1, batch_size))


def plan_prompt_matrix(
    prompt: str,
    negative_prompt: str,
    seed: int,
    *,
    put_at_start: bool = False,
    different_seeds: bool = False,
    prompt_type: PromptType | str = PromptType.POSITIVE,
    delimiter: Delimiter | str = Delimiter.COMMA,
    limit: int = MAX_MATRIX_PROMPTS,
    rng: random.Random | None = None,
) -> MatrixPlan:
    """A1111's run(): the matrix over the positive or the negative prompt (the other one kept
    for every image), one seed for all or seed + i with "Random seeds"; seed -1 is drawn
    first (fix_seed) from `rng`."""
    kind = PromptType(prompt_type)
    if seed == -1:
        seed = (rng or random.Random()).randrange(RANDOM_SEEDS)
    source = prompt if kind is PromptType.POSITIVE else negative_prompt
    prompts = prompt_matrix(source, put_at_start=put_at_start, delimiter=delimiter, limit=limit)
    count = len(prompts)
    fixed = (prompt,) * count if kind is PromptType.NEGATIVE else tuple(prompts)
    negatives = tuple(prompts) if kind is PromptType.NEGATIVE else (negative_prompt,) * count
    seeds = tuple(int(seed + (i if different_seeds else 0)) for i in range(count))
    return MatrixPlan(fixed, negatives, seeds, tuple(source.split("|")))


