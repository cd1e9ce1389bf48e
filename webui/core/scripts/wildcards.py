"""Dynamic prompts in the style of sd-dynamic-prompts: `{a|b}` variants (nested, `{2$$a|b|c}`)
and `__name__` wildcards from files, expanded at random per seed (reproducible) or all
combinations; bounded in depth, work and length."""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webui.api.models.common import MAX_PROMPT_CHARS
from webui.core.scripts.common import (
    MAX_COMBINATIONS,
    MAX_EXPANSION_STEPS,
    MAX_NESTING,
    MAX_WILDCARD_BYTES,
    MAX_WILDCARD_DEPTH,
    PromptScriptError,
)
from webui.messages import Msg

# --- Dynamic prompts and wildcards -------------------------------------------------------------


_NAME = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
_WILDCARD = re.compile(r"__([^\s{}|]+?)__")
_QUANTITY = re.compile(
    r"(?P<low>\d+)?(?:(?P<dash>-)(?P<high>\d+)?)?\$\$"
    r"(?:(?P<sep>[^{}|$]*)\$\$)?"
)


@dataclass(frozen=True)
class _Text:
    value: str


@dataclass(frozen=True)
class _Wildcard:
    name: str


@dataclass(frozen=True)
class _Variant:
    options: tuple[tuple[Any, ...], ...]
    low: int = 1
    high: int = 1
    sep: str = ", "


_Seq = tuple[Any, ...]


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise PromptScriptError(
            Msg("scripts.wildcard_bad_name", name=name),
            "bad_wildcard_name",
            {"name": name},
        )
    return name


def parse_template(template: str) -> _Seq:
    """`{a|b}` variants (nested), `{2$$a|b|c}`, `{1-2$$ and $$a|b}`, `__name__` wildcards;
    `\\{ \\} \\|` are literal braces and bar. A `|` outside braces is plain text."""
    pos = 0

    def sequence(inside: bool) -> _Seq:
        nonlocal pos
        nodes: list[Any] = []
        text: list[str] = []

        def flush() -> None:
            if text:
                nodes.append(_Text("".join(text)))
                text.clear()

        while pos < len(template):
            char = template[pos]
            if char == "\\" and template[pos + 1 : pos + 2] in ("{", "}", "|"):
                text.append(template[pos + 1])
                pos += 2
            elif char == "{":
                flush()
                pos += 1
                nodes.append(variant())
            elif char == "}" or (char == "|" and inside):
                if not inside:
                    raise PromptScriptError(
                        Msg("scripts.unmatched_close", at=pos + 1), "syntax", {"at": pos + 1}
                    )
                break
            elif template.startswith("__", pos) and (match := _WILDCARD.match(template, pos)):
                flush()
                nodes.append(_Wildcard(_check_name(match.group(1))))
                pos = match.end()
            else:
                text.append(char)
                pos += 1
        flush()
        return tuple(nodes)

    depth = 0

    def variant() -> _Variant:
        nonlocal pos, depth
        start = pos
        depth += 1
        if depth > MAX_NESTING:
            raise PromptScriptError(
                Msg("scripts.braces_too_deep", limit=MAX_NESTING, at=start),
                "too_deep", {"at": start, "limit": MAX_NESTING})
        low = high = 1
        sep = ", "
        quantity = _QUANTITY.match(template, pos)
        if quantity and (quantity.group("low") or quantity.group("dash")):
            low = int(quantity.group("low") or 1)  # `{-3$$`: one to three
            high = (
                int(quantity.group("high"))
                if quantity.group("high")
                else (len(template) if quantity.group("dash") else low)
            )  # `{2-$$`: two or more
            if quantity.group("sep") is not None:
                sep = quantity.group("sep")
            pos = quantity.end()
        options = [sequence(inside=True)]
        while pos < len(template) and template[pos] == "|":
            pos += 1
            options.append(sequence(inside=True))
        if pos >= len(template):
            raise PromptScriptError(Msg("scripts.unmatched_open", at=start), "syntax", {"at": start})
        pos += 1  # the closing brace
        depth -= 1
        high = min(high, len(options))
        low = min(low, high)
        return _Variant(tuple(options), low, high, sep)

    return sequence(inside=False)


class Wildcards:
    """`name.txt` files in the given folders (the first folder holding one wins): one option
    a line, blank lines and `#` comments skipped. Names are checked, the path must stay inside
    its folder (symlinks resolved), and a file is bounded in size."""

    def __init__(self, folders: Sequence[Path], max_bytes: int = MAX_WILDCARD_BYTES) -> None:
        self.folders = [Path(folder) for folder in folders]
        self.max_bytes = max_bytes
        self._cache: dict[tuple[str, int, int], tuple[_Seq, ...]] = {}

    def path(self, name: str) -> Path | None:
        _check_name(name)
        for folder in self.folders:
            root = folder.resolve()
            candidate = (root / f"{name}.txt").resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return candidate
        return None

    def names(self) -> list[str]:
        """Every wildcard the folders offer, for a picker."""
        found: set[str] = set()
        for folder in self.folders:
            if folder.is_dir():
                for file in folder.rglob("*.txt"):
                    name = file.relative_to(folder).with_suffix("").as_posix()
                    if _NAME.fullmatch(name):
                        found.add(name)
        return sorted(found)

    def options(self, name: str) -> tuple[_Seq, ...]:
        path = self.path(name)
        if path is None:
            # named by their last two parts ("presets/wildcards"): never the server's paths
            folders = ", ".join(f"{folder.parent.name}/{folder.name}" for folder in self.folders)
            missing = (
                Msg("scripts.wildcard_missing", name=name, folders=folders)
                if folders
                else Msg("scripts.wildcard_missing_no_folder", name=name)
            )
            raise PromptScriptError(missing, "wildcard_missing", {"name": name})
        stat = path.stat()
        if stat.st_size > self.max_bytes:
            raise PromptScriptError(
                Msg("scripts.wildcard_too_large", name=name, size=stat.st_size,
                    limit=self.max_bytes),
                "wildcard_too_large",
                {"name": name, "size": stat.st_size},
            )
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._cache:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            kept = [line.strip() for line in lines]
            kept = [line for line in kept if line and not line.startswith("#")]
            if not kept:
                raise PromptScriptError(
                    Msg("scripts.wildcard_empty", name=name), "wildcard_empty", {"name": name}
                )
            self._cache[key] = tuple(parse_template(line) for line in kept)
        return self._cache[key]


@dataclass(frozen=True)
class Expansion:
    """A template and the prompt it expanded to (with the seed that chose it, if random)."""

    template: str
    text: str
    seed: int | None = None


@dataclass
class _Walk:
    wildcards: Wildcards | None
    max_chars: int
    steps: int = 0
    chain: list[str] = field(default_factory=list)

    def visit(self) -> None:
        self.steps += 1
        if self.steps > MAX_EXPANSION_STEPS:
            raise PromptScriptError(Msg("scripts.template_too_complex"), "too_complex")

    def enter(self, name: str) -> tuple[_Seq, ...]:
        if len(self.chain) >= MAX_WILDCARD_DEPTH:
            path = " -> ".join(f"__{n}__" for n in [*self.chain, name])
            raise PromptScriptError(
                Msg("scripts.wildcards_too_deep", limit=MAX_WILDCARD_DEPTH, path=path),
                "wildcard_depth",
                {"chain": [*self.chain, name]},
            )
        if self.wildcards is None:
            raise PromptScriptError(
                Msg("scripts.wildcard_no_folders", name=name),
                "wildcard_missing",
                {"name": name},
            )
        options = self.wildcards.options(name)
        self.chain.append(name)
        return options

    def check(self, text: str) -> str:
        if len(text) > self.max_chars:
            raise PromptScriptError(
                Msg("scripts.expanded_too_long", limit=self.max_chars),
                "too_long",
                {"limit": self.max_chars},
            )
        return text


def _random_seq(seq: _Seq, walk: _Walk, rng: random.Random) -> str:
    out: list[str] = []
    size = 0
    for node in seq:
        walk.visit()
        if isinstance(node, _Text):
            piece = node.value
        elif isinstance(node, _Wildcard):
            options = walk.enter(node.name)
            piece = _random_seq(rng.choice(options), walk, rng)
            walk.chain.pop()
        else:
            count = rng.randint(node.low, node.high)
            picked = rng.sample(node.options, count) if count != 1 else [rng.choice(node.options)]
            piece = node.sep.join(_random_seq(option, walk, rng) for option in picked)
        size += len(piece)
        if size > walk.max_chars:
            walk.check(piece + "".join(out))
        out.append(piece)
    return "".join(out)


def template_seed(template: str, seed: int) -> int:
    """The random generator's seed: from the image seed and the template, the same on every
    run and machine (not Python's salted hash)."""
    digest = hashlib.sha256(f"{seed}\n{template}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def expand_random(
    template: str,
    seed: int,
    wildcards: Wildcards | None = None,
    *,
    max_chars: int = MAX_PROMPT_CHARS,
) -> Expansion:
    """One expansion chosen by `seed` (resolve -1 first): the same template and seed give the
    same text; each variant, wildcard line and `N$$` pick drawn in reading order."""
    rng = random.Random(template_seed(template, seed))
    walk = _Walk(wildcards, max_chars)
    text = walk.check(_random_seq(parse_template(template), walk, rng))
    return Expansion(template, text, seed)


COUNT_CAP = 10**9  # counts are exact below this, and only "at least this" above it


def _picks(counts: Sequence[int], low: int, high: int) -> int:
    """Sum over subsets of `low`..`high` options of the product of their counts (how many
    prompts `{low-high$$...}` makes): one table for every size, each entry capped (a
    template past the cap is refused anyway; the numbers stay small and quick)."""
    table = [1] + [0] * high
    for seen, count in enumerate(counts, 1):
        for j in range(min(high, seen), 0, -1):  # sizes past `seen` are still 0
            table[j] = min(COUNT_CAP, table[j] + table[j - 1] * count)
        if seen % 32 == 0 and sum(table[low : high + 1]) >= COUNT_CAP:
            return COUNT_CAP  # already too many: the rest cannot lower it
    return min(COUNT_CAP, sum(table[low : high + 1]))


def _count_seq(seq: _Seq, walk: _Walk) -> int:
    total = 1
    for node in seq:
        walk.visit()
        if isinstance(node, _Wildcard):
            options = walk.enter(node.name)
            total *= min(COUNT_CAP, sum(_count_seq(option, walk) for option in options))
            walk.chain.pop()
        elif isinstance(node, _Variant):
            counts = [_count_seq(option, walk) for option in node.options]
            total *= _picks(counts, node.low, node.high)
        total = min(total, COUNT_CAP)
    return total


def _all_seq(seq: _Seq, walk: _Walk) -> list[str]:
    parts: list[list[str]] = []
    for node in seq:
        walk.visit()
        if isinstance(node, _Text):
            parts.append([node.value])
        elif isinstance(node, _Wildcard):
            options = walk.enter(node.name)
            parts.append([text for option in options for text in _all_seq(option, walk)])
            walk.chain.pop()
        else:
            each = [_all_seq(option, walk) for option in node.options]
            texts: list[str] = []
            for k in range(node.low, node.high + 1):
                for chosen in itertools.combinations(each, k):
                    texts.extend(node.sep.join(combo) for combo in itertools.product(*chosen))
            parts.append(texts)
    return ["".join(combo) for combo in itertools.product(*parts)]


def count_expansions(template: str, wildcards: Wildcards | None = None) -> int:
    """How many prompts `expand_all` would make (without making them)."""
    return _count_seq(parse_template(template), _Walk(wildcards, MAX_PROMPT_CHARS))


def expand_all(
    template: str,
    wildcards: Wildcards | None = None,
    *,
    limit: int = MAX_COMBINATIONS,
    max_chars: int = MAX_PROMPT_CHARS,
) -> list[Expansion]:
    """Every expansion, in reading order (the first choice varies slowest; a wildcard's lines
    in file order; `N$$` picks as combinations of the options, in order); more than `limit`
    is refused, naming the count."""
    seq = parse_template(template)
    count = _count_seq(seq, _Walk(wildcards, max_chars))
    if count > limit:
        raise PromptScriptError(
            Msg("scripts.template_too_many", count=count, limit=limit),
            "too_many",
            {"count": count, "limit": limit},
        )
    walk = _Walk(wildcards, max_chars)
    return [Expansion(template, walk.check(text)) for text in _all_seq(seq, walk)]


def expand_for_seeds(
    template: str, seeds: Iterable[int], wildcards: Wildcards | None = None
) -> list[Expansion]:
    """One random expansion per image seed (a batch's seeds: seed, seed + 1, ...)."""
    return [expand_random(template, seed, wildcards) for seed in seeds]
