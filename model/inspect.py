"""Open the model up on one sentence: its tokens, the prediction and the full attention trace.

The numbers come from ``model(ids, mask, return_trace=True)``: the forward that trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .tokenizer import Encoded
from .transformer import Trace


class InputError(ValueError):
    """The sentence cannot be inspected (e.g. it is empty); the message says what to do."""


@dataclass
class Inspection:
    sentence: str
    encoded: Encoded
    label_names: list[str]
    probabilities: list[float]
    trace: Trace  # batch of one: index [0] everywhere
    n_tokens_before_truncation: int

    @property
    def tokens(self) -> list[str]:
        return self.encoded.tokens

    @property
    def truncated(self) -> bool:
        return self.encoded.truncated

    @property
    def prediction(self) -> str:
        return self.label_names[max(range(len(self.probabilities)), key=self.probabilities.__getitem__)]

    def head(self, layer: int, head: int) -> dict[str, torch.Tensor]:
        """One head's matrices for this sentence (T tokens, Dh head width)."""
        lt = self.trace.layers[layer]
        return {
            "q": lt.q[0, head], "k": lt.k[0, head], "v": lt.v[0, head],
            "scores": lt.steps.scores[0, head], "scaled": lt.steps.scaled[0, head],
            "weights": lt.steps.weights[0, head], "output": lt.steps.output[0, head],
        }  # fmt: skip

    def to_json(self) -> dict:
        def rounded(t: torch.Tensor):
            return torch.round(t.float(), decimals=6).tolist()

        layers = []
        for i, lt in enumerate(self.trace.layers):
            heads = [{k: rounded(v) for k, v in self.head(i, h).items()} for h in range(lt.q.shape[1])]
            layers.append({"heads": heads, "concat": rounded(lt.concat[0]), "attn_out": rounded(lt.attn_out[0])})
        return {
            "sentence": self.sentence,
            "tokens": self.tokens,
            "ids": self.encoded.ids,
            "truncated": self.truncated,
            "prediction": self.prediction,
            "probabilities": dict(zip(self.label_names, (round(p, 6) for p in self.probabilities))),
            "layers": layers,
        }

    def describe(self) -> str:
        lines = [f"sentence:   {self.sentence}", f"tokens:     {' '.join(self.tokens)}"]
        if self.truncated:
            lines.append(f"note:       {self.n_tokens_before_truncation} tokens, cut to the model's {len(self.tokens)}")
        probs = ", ".join(f"{n} {p:.1%}" for n, p in zip(self.label_names, self.probabilities))
        lines += [f"prediction: {self.prediction}  ({probs})", ""]
        width = max(len(t) for t in self.tokens)
        for i, lt in enumerate(self.trace.layers):
            for h in range(lt.q.shape[1]):
                w = lt.steps.weights[0, h, 0]
                top = sorted(range(len(w)), key=lambda j: -float(w[j]))[:3]
                where = ", ".join(f"{self.tokens[j]} {float(w[j]):.2f}" for j in top)
                lines.append(f"layer {i} head {h}: {self.tokens[0]:<{width}} attends most to {where}")
        return "\n".join(lines)


@torch.no_grad()
def inspect_sentence(ckpt, sentence: str) -> Inspection:
    """Tokenize, run the traced forward on one sentence, and collect what a person wants to see."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise InputError("the sentence is empty: type a few words")
    model, tokenizer = ckpt.model, ckpt.tokenizer
    full = tokenizer.encode(sentence, max_len=10**9)
    encoded = tokenizer.encode(sentence, model.cfg.max_len)
    if len(encoded.ids) <= 1:
        raise InputError("the sentence has no tokens after cleaning (only spaces or control characters?)")
    device = next(model.parameters()).device
    ids = torch.tensor([encoded.ids], device=device)
    mask = torch.ones_like(ids)
    was_training = model.training
    model.eval()
    logits, trace = model(ids, mask, return_trace=True)
    model.train(was_training)
    probabilities = torch.softmax(logits[0].float(), -1).tolist()
    return Inspection(sentence, encoded, list(ckpt.label_names), probabilities, trace, len(full.ids))
