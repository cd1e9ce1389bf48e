"""A1111's token counter: CLIP's BPE counts (checked against Hugging Face's CLIPTokenizer
built from the same merges), A1111's chunks of 75 (BREAK, the comma backtrack), and what the
count leaves out (LoRA tags, emphasis, AND weights, prompt editing)."""

from __future__ import annotations

import pytest

from webui.core.tokens import (
    MAX_SIDES,
    TokenCount,
    attention_parts,
    clip_tokens,
    count_prompt,
    step_prompts,
)

# counted by CLIP's tokenizer after ftfy.fix_text (as A1111's runs it), from OpenAI's
# bpe_simple_vocab_16e6
CLIP_COUNTS = [
    ("a photo of a cat", 5),
    ("masterpiece, best quality, 1girl, solo", 9),
    ("一只猫坐在窗台上", 19),
    ("Hello World!! it's ok_ish 3.14 ²", 13),
    ("café naïve über", 6),
    ("🐱 emoji 🎨", 3),
    ("ultra-detailed, 8k, RAW photo", 9),
    ("x²y", 3),
    ("don't", 2),
]


@pytest.mark.parametrize(("text", "tokens"), CLIP_COUNTS)
def test_clip_counts_as_the_reference_tokenizer(text: str, tokens: int) -> None:
    assert len(clip_tokens(text)) == tokens


# A1111's counts (CLIP's tokenizer runs ftfy first): fullwidth commas, as a Chinese keyboard
# types them, are commas; curly quotes, HTML entities and fullwidth letters are plain
FTFY_COUNTS = [
    ("1girl，solo，long hair", 7), ("一个女孩，长发，蓝眼睛", 23), ("“quoted” text", 4),
    ("&amp; &lt;tag&gt;", 4), ("ＡＢＣ fullwidth", 3), ("一个女孩，长发，蓝眼睛，" * 6, 147),
]


@pytest.mark.parametrize(("text", "tokens"), FTFY_COUNTS)
def test_text_is_fixed_as_ftfy_fixes_it_before_counting(text: str, tokens: int) -> None:
    assert count_prompt(text).tokens == tokens


def test_the_counter_reads_as_a1111s() -> None:
    assert str(count_prompt("")) == "0/75"
    assert str(count_prompt("masterpiece, best quality, 1girl, solo")) == "9/75"
    assert str(count_prompt("cat " * 75)) == "75/75"
    assert str(count_prompt("cat " * 76)) == "76/150"
    assert count_prompt("cat " * 151) == TokenCount(151, 225)


def test_break_pads_the_chunk_to_75() -> None:
    assert str(count_prompt("a cat BREAK a dog")) == "77/150"
    assert str(count_prompt("BREAK")) == "75/75"  # one empty chunk, closed by BREAK


def test_text_after_a_late_comma_moves_to_the_next_chunk() -> None:
    # 70 words, a comma (71), 10 more: the 76th token would cut within 20 tokens of the
    # comma, so the words after it start chunk two and chunk one is padded: 75 + 10
    assert str(count_prompt("cat " * 70 + ", " + "dog " * 10)) == "85/150"
    # a comma further back than 20 tokens is not used: 81 tokens as they come
    assert str(count_prompt("cat " * 50 + ", " + "dog " * 30)) == "81/150"


def test_lora_tags_and_emphasis_are_not_tokens() -> None:
    assert count_prompt("(cat:1.3), <lora:add_detail:0.8>").tokens == 2
    assert count_prompt("((cat)), [dog]").tokens == count_prompt("cat, dog").tokens
    assert count_prompt(r"\(cat\)").tokens == len(clip_tokens("(cat)"))


def test_emphasis_splits_the_text_where_a1111_tokenizes_it() -> None:
    assert attention_parts("a (b:1.5) c") == [("a ", 1.0), ("b", 1.5), (" c", 1.0)]
    assert attention_parts("a BREAK b") == [("a", 1.0), ("BREAK", -1.0), ("b", 1.0)]
    assert attention_parts("") == [("", 1.0)]
    assert attention_parts("((a))")[0][1] == pytest.approx(1.21)


def test_and_parts_are_counted_apart_and_the_longest_is_shown() -> None:
    assert count_prompt("a cat AND a dog with a hat :1.2").tokens == 5
    assert count_prompt("a cat AND dog :1.2").tokens == 2  # the part's weight is no text
    # the negative prompt is one text: AND is a word there
    assert count_prompt("a cat AND a dog", negative=True).tokens == 5


def test_prompt_editing_counts_the_longest_step() -> None:
    assert step_prompts("a [cat:dog:0.5]") == ["a cat", "a dog"]
    assert step_prompts("[red|green|blue] hat") == ["blue hat", "green hat", "red hat"]
    assert step_prompts("[[x:y:3]:z:0.2]") == ["x", "z"]
    assert count_prompt("a [cat:a very long dog with a red hat:0.5]").tokens == 9
    assert count_prompt("[big::4] dog").tokens == 2 and count_prompt("[big:4] dog").tokens == 2


@pytest.mark.parametrize("text", [
    "(" * 8000, "[a|" * 2000 + "]" * 2000, "[a:b:1]" * 1140, "[" * 4000 + "a|b" + "]" * 4000,
    "[a|b|c|d|e|f|g|h|i|j]" * 380, "a" * 8000, ", " * 4000, "BREAK " * 1300, "\x00" * 8000,
    "<lora:" * 50_000, "<a:" * 100_000,
])
def test_any_text_up_to_the_prompt_limit_is_counted(text: str) -> None:
    count = count_prompt(text)
    assert count.limit >= count.tokens >= 0 and count.limit % 75 == 0
    assert len(step_prompts(text)) <= MAX_SIDES


def test_past_the_prompt_limit_the_count_says_at_least() -> None:
    count = count_prompt("cat " * 3000)
    assert count.partial and str(count).startswith("≥")
