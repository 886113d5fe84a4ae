"""The sections of the Step-by-step lesson, in order: one list that the page, the bench and the tests read.

The page numbers its sections from this list (``enumerate(SECTIONS, 1)``) and offers them in its section
navigator, so a new section is one more entry here (and its drawing on the page).
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"  # the navigator's choice that shows every section on one page


@dataclass(frozen=True)
class Section:
    key: str  # names its strings: step_<key>_title, step_<key>_text
    part: str  # the half of the block it opens up: "attention", "feed_forward", or "what_if" (an experiment)

    @property
    def title_key(self) -> str:
        return f"step_{self.key}_title"


SECTIONS = [
    Section("x", "attention"),  # X = LayerNorm(block input)
    Section("w", "attention"),  # one head's W_Q, W_K, W_V
    Section("qkv", "attention"),  # Q, K, V
    Section("scores", "attention"),  # QKᵀ, one score opened up term by term
    Section("scaled", "attention"),  # QKᵀ/√d_k
    Section("mask", "attention"),  # the padding mask, with the sentence padded as in a batch
    Section("exp", "attention"),  # exp and the row sum of one query
    Section("softmax", "attention"),  # the attention weights
    Section("output", "attention"),  # weights · V
    Section("concat", "attention"),  # the heads side by side
    Section("wo", "attention"),  # · W_O
    Section("residual", "attention"),  # X' = block input + attention
    Section("ffn_norm", "feed_forward"),  # LayerNorm(X')
    Section("ffn_hidden", "feed_forward"),  # act(·W1 + b1)
    Section("ffn_out", "feed_forward"),  # ·W2 + b2 and the second residual
    Section("whatif", "what_if"),  # the softmax again without √d_k, or at another temperature
]
