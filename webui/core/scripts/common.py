"""What A1111's scripts (X/Y/Z plot, Prompt matrix, Prompts from file, dynamic prompts) share:
the refusal, the bounds, the seed range. Nothing here sends a request: each function turns
text into the prompts or the form values by name (as `builder.Txt2ImgForm` spells them) that
the caller submits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webui.messages import Msg

MAX_MATRIX_PROMPTS = 256  # 2^8: nine `|`-separated parts
MAX_PROMPT_LINES = 500  # lines of a prompts file
MAX_COMBINATIONS = 1000  # combinatorial expansions of one template
MAX_WILDCARD_DEPTH = 10  # `__a__` naming `__b__` naming ...
MAX_WILDCARD_BYTES = 256 * 1024  # one wildcard file
MAX_NESTING = 32  # `{a|{b|{c|...}}}` levels (each is a recursion in the parser)
MAX_EXPANSION_STEPS = 100_000  # nodes visited while expanding one template
RANDOM_SEEDS = 4294967294  # a random seed, as A1111 draws it: random.randrange(RANDOM_SEEDS)


class PromptScriptError(ValueError):
    """A template, matrix or prompts file refused; `msg` names what and where, rendered in the
    visitor's language where it is shown (`str()` is the English, for logs)."""

    def __init__(
        self, msg: Msg, kind: str = "invalid", context: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(str(msg))
        self.msg = msg
        self.kind = kind
        self.context = dict(context or {})


