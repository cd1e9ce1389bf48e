"""A1111's prompt token counter: CLIP tokens, counted the way A1111 fills its chunks of 75.

The count is what the prompt costs the text encoder, not characters: `<lora:...>` tags are
taken out, emphasis brackets and weights are not tokens, `AND` splits a prompt into parts and
`[from:to:when]` / `[a|b]` into the prompts of each step, and the longest one is shown, as
A1111's `update_token_counter` does. A chunk holds 75 tokens; BREAK, and a chunk that would
cut text within 20 tokens after a comma, pad the chunk to 75 (A1111's default
`comma_padding_backtrack`). Limits, said here rather than hidden: an embedding's name counts
as its text (the lists do not say how many vectors it has), and a word longer than
`LONGEST_WORD` characters is counted in pieces of that length.

The BPE merges are CLIP's (`vocab/clip_bpe_merges.txt.gz`: the 48,894 merges of OpenAI's
`bpe_simple_vocab_16e6.txt`, MIT licence, as shipped in open_clip), the same vocabulary for
SD 1.x and both SDXL text encoders."""

from __future__ import annotations

import gzip
import html
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import groupby
from pathlib import Path

from webui.api.models import MAX_PROMPT_CHARS

CHUNK = 75  # tokens of text per CLIP pass (77 with its start and end tokens)
COMMA_BACKTRACK = 20  # A1111's default `comma_padding_backtrack`
LONGEST_WORD = 64  # longer words are counted in pieces: BPE is quadratic in a word's length
LONGEST_TEXT = MAX_PROMPT_CHARS  # characters counted; past it the count says "at least"
MAX_SIDES = 8  # prompts counted for one prompt-edited prompt (the longest is shown)
MAX_NESTING = 4  # levels of [ [ ] ] resolved; deeper brackets count as text
MERGES = Path(__file__).with_name("vocab") / "clip_bpe_merges.txt.gz"

# CLIP's pre-tokenizer, in `re` terms: [^\W\d_] is a letter, \d a digit, the rest punctuation
_WORDS = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|([^\W\d_]+)|\d|(?:[^\s\w]|_)+")
# <lora:name:1>, <hypernet:...>: A1111's pattern, with no "<" inside (linear on any text)
_EXTRA_NETWORK = re.compile(r"<\w+:[^<>]+>")
_AND = re.compile(r"\bAND\b")
_PART_WEIGHT = re.compile(r"\s*:\s*[-+]?(?:\d+\.?|\d*\.\d+)\s*$")
_BREAK = re.compile(r"\s*\bBREAK\b\s*")
# emphasis: escapes, brackets, a closing weight `:1.2)`, plain text, a lone colon
_ATTENTION = re.compile(r"\\[()\[\]\\]|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:")
# prompt editing, innermost first: [from:to:when], [to:when], [from::when], [a|b|c]
_SCHEDULE = re.compile(r"\[([^\[\]:|]*):([^\[\]:|]*):\s*[\d.]+\s*\]|\[([^\[\]:|]*):\s*[\d.]+\s*\]")
_ALTERNATION = re.compile(r"\[([^\[\]:]*\|[^\[\]:]*)\]")


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    limit: int  # the tokens the chunks in use hold: 75, 150, ...
    partial: bool = False  # the text was longer than LONGEST_TEXT

    def __str__(self) -> str:  # A1111's "12/75"
        return f"{'≥' if self.partial else ''}{self.tokens}/{self.limit}"


@cache
def _bytes_to_symbols() -> dict[int, str]:
    """CLIP's byte -> printable symbol table (bytes that print stand for themselves)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    spare = 256
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(spare)
            spare += 1
    return table


@cache
def _merge_ranks() -> dict[tuple[str, str], int]:
    with gzip.open(MERGES, "rt", encoding="utf-8") as lines:
        pairs = (tuple(line.split()) for line in lines if line.strip())
        return {(first, second): rank for rank, (first, second) in enumerate(pairs)}


@lru_cache(maxsize=50_000)  # bounded: the text is anyone's
def _bpe_length(word: str) -> int:
    """How many BPE tokens one pre-tokenized word (already in byte symbols) becomes."""
    ranks = _merge_ranks()
    parts = [*word[:-1], word[-1] + "</w>"]
    while len(parts) > 1:
        pairs = {(a, b) for a, b in zip(parts, parts[1:], strict=False)}
        best = min(pairs, key=lambda pair: ranks.get(pair, math.inf))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(parts):
            if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return len(parts)


@cache
def _ftfy_table() -> dict[int, str]:
    """What ftfy's `fix_text` (run by CLIP's tokenizer in A1111) changes that a prompt holds:
    fullwidth forms ("，" "ＡＢＣ", an ideographic space) to their plain width, curly quotes
    to straight ones, Latin ligatures spelled out."""
    table = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFF01, 0xFFEF)}
    table = {code: plain for code, plain in table.items() if plain != chr(code)}
    table[0x3000] = " "
    table.update({ord(q): "'" for q in "‘’‚‛"})
    table.update({ord(q): '"' for q in "“”„‟"})
    table.update({ord(k): v for k, v in {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi",
                                         "ﬄ": "ffl", "ﬅ": "ſt", "ﬆ": "st"}.items()})
    return table


def _as_ftfy_fixes(text: str) -> str:
    if "<" not in text:  # ftfy leaves text that looks like HTML as it is
        text = html.unescape(text)
    return text.translate(_ftfy_table())


def _words(text: str) -> list[str]:
    """CLIP's pre-tokenizer: whitespace collapsed, lower case, then letters, single numbers
    (any numeric: "²" too) and runs of the rest."""
    words: list[str] = []
    text = unicodedata.normalize("NFC", " ".join(_as_ftfy_fixes(text).split())).lower()
    for match in _WORDS.finditer(text):
        word = match.group(0)
        if match.group(1) is None or word.isalpha():
            words.append(word)
            continue
        # `re` has no \p{L}: a letter run that holds numerics ("x²y") is split at them
        for is_letter, run in groupby(word, str.isalpha):
            chars = list(run)
            words.extend(["".join(chars)] if is_letter else chars)
    return words


def clip_tokens(text: str) -> list[int]:
    """The text's tokens as their lengths' stand-ins: 1 per token, with the comma token
    marked as 0 (the chunking only needs to know where commas are)."""
    symbols = _bytes_to_symbols()
    tokens: list[int] = []
    for word in _words(text):
        if word == ",":
            tokens.append(0)
            continue
        encoded = "".join(symbols[byte] for byte in word.encode("utf-8"))
        for start in range(0, len(encoded), LONGEST_WORD):
            tokens.extend([1] * _bpe_length(encoded[start:start + LONGEST_WORD]))
    return tokens


def attention_parts(text: str) -> list[tuple[str, float]]:
    """The prompt split by emphasis, as A1111's `parse_prompt_attention`: (text, weight)
    runs, brackets and weights taken out, ("BREAK", -1) between chunks."""
    parts: list[list[str | float]] = []
    round_open: list[int] = []
    square_open: list[int] = []

    def scale(start: int, factor: float) -> None:
        for part in parts[start:]:
            part[1] = float(part[1]) * factor

    for match in _ATTENTION.finditer(text):
        piece, weight = match.group(0), match.group(1)
        if piece.startswith("\\"):
            parts.append([piece[1:], 1.0])
        elif piece == "(":
            round_open.append(len(parts))
        elif piece == "[":
            square_open.append(len(parts))
        elif weight is not None and round_open:
            try:
                scale(round_open.pop(), float(weight))
            except ValueError:  # "1.2.3": A1111 fails here and counts the whole prompt
                return [(text, 1.0)]
        elif piece == ")" and round_open:
            scale(round_open.pop(), 1.1)
        elif piece == "]" and square_open:
            scale(square_open.pop(), 1 / 1.1)
        else:
            for i, run in enumerate(_BREAK.split(piece)):
                if i:
                    parts.append(["BREAK", -1.0])
                parts.append([run, 1.0])
    for start in round_open:
        scale(start, 1.1)
    for start in square_open:
        scale(start, 1 / 1.1)
    merged: list[list[str | float]] = []
    for part in parts or [["", 1.0]]:
        if merged and merged[-1][1] == part[1]:  # runs of one weight are tokenized together
            merged[-1][0] = str(merged[-1][0]) + str(part[0])
        else:
            merged.append(list(part))
    return [(str(run), float(weight)) for run, weight in merged]


def count_line(text: str) -> int:
    """The tokens one prompt fills, padding included, as A1111's `tokenize_line`."""
    total = 0
    chunk: list[int] = []
    last_comma = -1

    def close(last: bool = False) -> None:
        nonlocal total, chunk, last_comma
        total += len(chunk) if last else CHUNK
        chunk, last_comma = [], -1

    closed_any = False
    for run, weight in attention_parts(text):
        if run == "BREAK" and weight == -1:
            close()
            closed_any = True
            continue
        for token in clip_tokens(run):
            if token == 0:
                last_comma = len(chunk)
            elif (len(chunk) == CHUNK and last_comma != -1
                  and len(chunk) - last_comma <= COMMA_BACKTRACK):
                moved = chunk[last_comma + 1:]
                close()
                closed_any = True
                chunk = moved
            if len(chunk) == CHUNK:
                close()
                closed_any = True
            chunk.append(token)
    if chunk or not closed_any:
        close(last=True)
    return total


def step_prompts(text: str) -> list[str]:
    """The prompts a prompt-edited prompt becomes over its steps: every [from:to:when] on
    its `from` side, then on its `to` side; every [a|b|c] on its first choice, its second,
    ... The count is the longest, so these are enough (A1111 lists every step's prompt)."""
    if "[" not in text:
        return [text]
    choices = max((match.group(1).count("|") + 1 for match in _ALTERNATION.finditer(text)),
                  default=2)
    return sorted({_one_side(text, side) for side in range(min(max(choices, 2), MAX_SIDES))})


def _one_side(text: str, side: int) -> str:
    def alternation(match: re.Match[str]) -> str:
        options = match.group(1).split("|")
        return options[side % len(options)]

    def edit(match: re.Match[str]) -> str:
        before = match.group(1) if match.group(3) is None else ""
        after = match.group(2) if match.group(3) is None else match.group(3)
        return after if side else before

    for _ in range(MAX_NESTING):  # nested edits: the innermost go first
        edited = _SCHEDULE.sub(edit, _ALTERNATION.sub(alternation, text))
        if edited == text:
            break
        text = edited
    return text


def count_prompt(text: str, *, negative: bool = False) -> TokenCount:
    """The prompt's count as A1111 shows it over the prompt box ("12/75")."""
    partial = len(text) > LONGEST_TEXT
    text = _EXTRA_NETWORK.sub("", text[:LONGEST_TEXT])
    parts = [text] if negative else [_PART_WEIGHT.sub("", part) for part in _AND.split(text)]
    prompts = {prompt for part in parts for prompt in step_prompts(part)}
    tokens = max(count_line(prompt) for prompt in prompts)
    return TokenCount(tokens, math.ceil(max(tokens, 1) / CHUNK) * CHUNK, partial)
