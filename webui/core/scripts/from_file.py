"""Prompts from file or textbox, as A1111's `scripts/prompts_from_file.py`: a prompt a line,
or A1111's `--option value` syntax, mapped to this app's form fields; what the API cannot do
is refused naming the line."""

from __future__ import annotations

import enum
import math
import random
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webui.api.models import SAMPLERS
from webui.core.scripts.common import MAX_PROMPT_LINES, RANDOM_SEEDS, PromptScriptError
from webui.messages import Msg

# --- Prompts from file or textbox --------------------------------------------------------------


class TagKind(enum.StrEnum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"


@dataclass(frozen=True)
class Tag:
    """One of A1111's `prompt_tags`: its type, and the form field it sets here (`field`), or
    why it is refused (`refused`), or neither: accepted and dropped (nothing to do here).
    A refused tag whose value equals `noop` (e.g. `--tiling false`) is dropped instead."""

    kind: TagKind
    field: str | None = None
    refused: Msg | None = None
    noop: Any = None


_NO_VARIATION = Msg("scripts.option_no_variation")
_NO_PATHS = Msg("scripts.option_no_paths")

# A1111's prompt_tags, in its order.
PROMPT_TAGS: dict[str, Tag] = {
    "sd_model": Tag(TagKind.STRING, "checkpoint"),
    "outpath_samples": Tag(TagKind.STRING, refused=_NO_PATHS),
    "outpath_grids": Tag(TagKind.STRING, refused=_NO_PATHS),
    "prompt_for_display": Tag(TagKind.STRING),
    "prompt": Tag(TagKind.STRING, "prompt"),
    "negative_prompt": Tag(TagKind.STRING, "negative_prompt"),
    "styles": Tag(TagKind.STRING, "styles"),
    "seed": Tag(TagKind.INT, "seed"),
    "subseed_strength": Tag(TagKind.FLOAT, refused=_NO_VARIATION, noop=0.0),
    "subseed": Tag(TagKind.INT, refused=_NO_VARIATION),
    "seed_resize_from_h": Tag(TagKind.INT, refused=_NO_VARIATION),
    "seed_resize_from_w": Tag(TagKind.INT, refused=_NO_VARIATION),
    "sampler_index": Tag(
        TagKind.INT, refused=Msg("scripts.option_sampler_index")
    ),
    "sampler_name": Tag(TagKind.STRING, "sampler"),
    "batch_size": Tag(TagKind.INT, "batch_size"),
    "n_iter": Tag(TagKind.INT, "n_iter"),
    "steps": Tag(TagKind.INT, "steps"),
    "cfg_scale": Tag(TagKind.FLOAT, "cfg_scale"),
    "width": Tag(TagKind.INT, "width"),
    "height": Tag(TagKind.INT, "height"),
    "restore_faces": Tag(TagKind.BOOL, "restore_faces"),
    "tiling": Tag(TagKind.BOOL, refused=Msg("scripts.option_no_tiling"), noop=False),
    "do_not_save_samples": Tag(TagKind.BOOL),
    "do_not_save_grid": Tag(TagKind.BOOL),
}

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _convert(kind: TagKind, value: str) -> Any:
    """A1111's process_*_tag, stricter: a value it would misread is refused (None)."""
    text = value.strip()
    if kind is TagKind.INT:
        return int(text) if _INT.fullmatch(text) else None
    if kind is TagKind.FLOAT:
        return float(text) if _FLOAT.fullmatch(text) else None
    if kind is TagKind.BOOL:  # A1111: "true" is True, anything else False
        return {"true": True, "false": False}.get(text.lower())
    return value


def _wrong_type(kind: TagKind, option: str, got: str) -> Msg:
    """`--steps 'x' is not a whole number`, by the kind of value the option takes."""
    if kind is TagKind.INT:
        return Msg("scripts.line_not_whole", option=option, got=got)
    if kind is TagKind.FLOAT:
        return Msg("scripts.line_not_number", option=option, got=got)
    return Msg("scripts.line_not_bool", option=option, got=got)


# shlex's reasons (Python's English), as the visitor reads them; another is shown as it is
_SHLEX_REASONS = {
    "No closing quotation": Msg("scripts.shlex_no_closing_quotation"),
    "No escaped character": Msg("scripts.shlex_no_escaped_character"),
}


@dataclass(frozen=True)
class PromptLine:
    """One line of a prompts file: its number (1-based, blank lines counted), the form values
    it sets by name, and the A1111 options it carried that have no effect here."""

    number: int
    values: Mapping[str, Any]
    dropped: tuple[str, ...] = ()


def _line_error(number: int, problem: Msg, kind: str, **context: Any) -> PromptScriptError:
    return PromptScriptError(
        Msg("scripts.line", line=number, problem=problem), kind, {"line": number, **context}
    )


def _sampler(value: str) -> str | None:
    """A1111 looks the name up case-insensitively (samplers_map)."""
    return next((name for name in SAMPLERS if name.lower() == value.strip().lower()), None)


def _checkpoint(value: str, checkpoints: Sequence[str]) -> str | None:
    """An exact name, or one written without its extension (as A1111's infotext does)."""
    for code in checkpoints:
        if code == value or code.rsplit(".", 1)[0] == value:
            return code
    return None


def parse_prompt_line(
    line: str, number: int = 1, checkpoints: Sequence[str] | None = None
) -> PromptLine:
    """A1111's cmdargs: shlex-split `--option value` pairs; `--prompt`/`--negative_prompt` take
    every word up to the next `--option`. A line that does not start with an option is a
    prompt as it stands (A1111 falls back so when its parse fails on the first word)."""
    text = line.strip()
    if "--" not in text:
        return PromptLine(number, {"prompt": text})
    try:
        args = shlex.split(text)
    except ValueError as exc:  # "No closing quotation"
        reason = _SHLEX_REASONS.get(str(exc), str(exc))
        raise _line_error(number, Msg("scripts.line_unreadable", reason=reason), "syntax") from None
    if not args or not args[0].startswith("--"):
        return PromptLine(number, {"prompt": text})
    values: dict[str, Any] = {}
    dropped: list[str] = []
    pos = 0
    while pos < len(args):
        arg = args[pos]
        if not arg.startswith("--"):
            raise _line_error(number, Msg("scripts.line_not_option", got=arg), "syntax", got=arg)
        if pos + 1 >= len(args):
            raise _line_error(number, Msg("scripts.line_no_value", option=arg), "missing",
                              option=arg)
        tag_name = arg[2:]
        if tag_name in ("prompt", "negative_prompt"):
            pos += 1
            words = [args[pos]]
            pos += 1
            while pos < len(args) and not args[pos].startswith("--"):
                words.append(args[pos])
                pos += 1
            values[tag_name] = " ".join(words)
            continue
        tag = PROMPT_TAGS.get(tag_name)
        if tag is None:
            raise _line_error(number, Msg("scripts.line_unknown_option", option=arg),
                              "unknown_option", option=arg)
        raw = args[pos + 1]
        pos += 2
        value = _convert(tag.kind, raw)
        if value is None or (tag.kind is TagKind.FLOAT and not math.isfinite(value)):
            raise _line_error(
                number,
                _wrong_type(tag.kind, arg, raw),
                "wrong_type",
                option=arg,
                got=raw,
                type=tag.kind.value,
            )
        if tag.refused is not None:
            if tag.noop is not None and value == tag.noop:
                dropped.append(tag_name)
                continue
            refused = Msg("scripts.line_refused", option=arg, reason=tag.refused)
            raise _line_error(number, refused, "unsupported", option=arg)
        if tag.field is None:
            dropped.append(tag_name)
            continue
        if tag_name == "sampler_name":
            value = _sampler(raw)
            if value is None:
                raise _line_error(
                    number,
                    Msg("scripts.line_unknown_sampler", option=arg, got=raw),
                    "unknown_choice",
                    option=arg,
                    got=raw,
                )
        elif tag_name == "sd_model" and checkpoints is not None:
            value = _checkpoint(raw, checkpoints)
            if value is None:
                raise _line_error(
                    number,
                    Msg("scripts.line_unknown_checkpoint", option=arg, got=raw),
                    "unknown_choice",
                    option=arg,
                    got=raw,
                )
        elif tag_name == "styles":  # the form takes a list of style names
            value = [name.strip() for name in raw.split(",") if name.strip()]
        values[tag.field] = value
    return PromptLine(number, values, tuple(dropped))


def parse_prompt_lines(
    text: str, checkpoints: Sequence[str] | None = None, limit: int = MAX_PROMPT_LINES
) -> list[PromptLine]:
    """Every non-blank line (stripped, as A1111), numbered as in the text."""
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    numbered = [(n, line) for n, line in numbered if line]
    if len(numbered) > limit:
        raise PromptScriptError(
            Msg("scripts.too_many_lines", count=len(numbered), limit=limit),
            "too_many",
            {"count": len(numbered), "limit": limit},
        )
    return [parse_prompt_line(line, n, checkpoints) for n, line in numbered]


class PromptPosition(enum.StrEnum):
    """A1111's "Insert prompts at the": a line's prompt goes before or after the form's."""

    START = "start"
    END = "end"


def prompt_file_jobs(
    lines: Iterable[PromptLine],
    base: Mapping[str, Any],
    *,
    iterate_seed: bool = False,
    same_seed: bool = False,
    position: PromptPosition | str = PromptPosition.START,
    rng: random.Random | None = None,
) -> list[dict[str, Any]]:
    """A1111's run(): one job (the form's values by name) per line. A line's option replaces
    the form's; its prompt is joined to a non-empty form prompt at `position` (likewise the
    negative prompt). "Iterate seed every line" / "Use same random seed for all lines" draw
    seed -1 once; iterating adds the form's batch_size * n_iter after each line."""
    where = PromptPosition(position)
    seed = int(base.get("seed", -1))
    if (iterate_seed or same_seed) and seed == -1:
        seed = (rng or random.Random()).randrange(RANDOM_SEEDS)
    step = int(base.get("batch_size", 1)) * int(base.get("n_iter", 1))
    jobs = []
    for line in lines:
        job = {**base, "seed": seed, **line.values}
        for name in ("prompt", "negative_prompt"):
            mine, theirs = line.values.get(name), base.get(name)
            if mine and theirs:
                job[name] = (
                    f"{mine} {theirs}" if where is PromptPosition.START else f"{theirs} {mine}"
                )
        jobs.append(job)
        if iterate_seed:
            seed += step
    return jobs


