"""Open the model up on one sentence: its tokens, the prediction and the full attention trace.

The numbers come from ``model(ids, mask, return_trace=True)``: the forward that trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .tokenizer import PAD, Encoded
from .transformer import Trace, evaluating

# One head's slices of AttentionCache that Inspection.head hands out (and to_json writes), in this order.
HEAD_MATRICES = ("q", "k", "v", "scores", "scaled", "weights", "output")


class InputError(ValueError):
    """The sentence cannot be inspected (e.g. it is empty); the message says what to do."""


@dataclass
class Inspection:
    sentence: str
    encoded: Encoded
    label_names: list[str]
    probabilities: list[float]
    trace: Trace  # batch of one: index [0] everywhere

    @property
    def tokens(self) -> list[str]:
        return self.encoded.tokens

    @property
    def truncated(self) -> bool:
        return self.encoded.truncated

    @property
    def n_tokens_before_truncation(self) -> int:
        return self.encoded.length

    @property
    def prediction(self) -> str:
        return self.label_names[max(range(len(self.probabilities)), key=self.probabilities.__getitem__)]

    def head(self, layer: int, head: int) -> dict[str, torch.Tensor]:
        """One head's matrices for this sentence (T tokens, Dh head width), named as in AttentionCache."""
        cache = self.trace.layers[layer].attention
        return {name: getattr(cache, name)[0, head] for name in HEAD_MATRICES}

    def to_json(self) -> dict:
        def rounded(t: torch.Tensor):
            return torch.round(t.float(), decimals=6).tolist()

        layers = []
        for i, lt in enumerate(self.trace.layers):
            heads = [{k: rounded(v) for k, v in self.head(i, h).items()} for h in range(lt.attention.q.shape[1])]
            layers.append(
                {"heads": heads, "concat": rounded(lt.attention.concat[0]), "attn_out": rounded(lt.attn_out[0])}
            )
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
            for h in range(lt.attention.q.shape[1]):
                w = lt.attention.weights[0, h, 0]
                top = sorted(range(len(w)), key=lambda j: -float(w[j]))[:3]
                where = ", ".join(f"{self.tokens[j]} {float(w[j]):.2f}" for j in top)
                lines.append(f"layer {i} head {h}: {self.tokens[0]:<{width}} attends most to {where}")
        return "\n".join(lines)


# Each parameter's part, by its module's name (with "blocks.N." taken off); in this order.
PARAMETER_PARTS = {
    "token_embedding": "token_embedding",
    "position_embedding": "position_embedding",
    "attn.qkv": "qkv",
    "attn.proj": "out",
    "ffn.fc1": "ffn1",
    "ffn.fc2": "ffn2",
    "ln1": "norms",
    "ln2": "norms",
    "ln_f": "norms",
    "head": "classifier",
}


@dataclass
class ParameterPart:
    part: str  # a value of PARAMETER_PARTS
    arithmetic: str  # how the count adds up, matrices as X·W: "2 × (128 × 384 + 384)"
    count: int


def parameter_parts(model) -> list[ParameterPart]:
    """Every trainable tensor of the model, counted by part, from the model's own parameters."""
    copies: dict[str, dict[str, list[str]]] = {}  # part -> module -> its tensors' shapes
    counts: dict[str, int] = {}
    for name, p in model.named_parameters():
        module = name.rpartition(".")[0]
        part = PARAMETER_PARTS[module.split(".", 2)[2] if module.startswith("blocks.") else module]
        # nn.Linear stores W as (out, in); the formulas write X·W, so show in × out.
        dims = p.shape[::-1] if p.dim() == 2 and "embedding" not in module else p.shape
        copies.setdefault(part, {}).setdefault(module, []).append(" × ".join(map(str, dims)))
        counts[part] = counts.get(part, 0) + p.numel()
    rows = []
    for part in dict.fromkeys(PARAMETER_PARTS.values()):
        if part in copies:
            # Every copy of a part (one per block) has the same shapes: show one, times how many.
            shapes = list(copies[part].values())
            one = " + ".join(shapes[0])
            rows.append(ParameterPart(part, one if len(shapes) == 1 else f"{len(shapes)} × ({one})", counts[part]))
    return rows


def encode_sentence(ckpt, sentence: str) -> Encoded:
    """The sentence as the model reads it, or InputError when there is nothing to read."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise InputError("the sentence is empty: type a few words")
    encoded = ckpt.tokenizer.encode(sentence, ckpt.model.cfg.max_len)
    if len(encoded.ids) <= 1:
        raise InputError("the sentence has no tokens after cleaning (only spaces or control characters?)")
    return encoded


@torch.no_grad()
def inspect_sentence(ckpt, sentence: str) -> Inspection:
    """Tokenize, run the traced forward on one sentence, and collect what a person wants to see."""
    model = ckpt.model
    encoded = encode_sentence(ckpt, sentence)
    logits, trace = _traced_forward(model, encoded.ids, [1] * len(encoded.ids))
    probabilities = torch.softmax(logits[0].float(), -1).tolist()
    return Inspection(sentence, encoded, list(ckpt.label_names), probabilities, trace)


@torch.no_grad()
def _traced_forward(model, ids: list[int], attention_mask: list[int]):
    """The training forward in eval mode (no dropout) on one sentence, with its trace."""
    device = next(model.parameters()).device
    with evaluating(model):
        ids_batch = torch.tensor([ids], device=device)  # a batch of one
        return model(ids_batch, torch.tensor([attention_mask], device=device), return_trace=True)


def additive_mask(real: torch.Tensor) -> torch.Tensor:
    """M_j from the model's boolean key mask (True for a real token): 0 for a real key, -inf for padding."""
    return torch.zeros(real.shape[-1]).masked_fill(~real.cpu(), float("-inf"))


@dataclass
class PaddedRow:
    """One head's softmax row for one query when the sentence is padded, as in a batch with longer
    sentences: what the padding mask does, from the model's own forward pass."""

    tokens: list[str]  # the sentence's tokens, then [PAD] n_pad times
    mask: torch.Tensor  # (T + n_pad,) M_j: 0 for a real key, -inf for padding
    weights: torch.Tensor  # (T + n_pad,) the query's weights in that padded forward
    largest_change: float  # max |weights on the real keys - the unpadded weights|


def padded_row(ckpt, result: Inspection, layer: int, head: int, query: int, n_pad: int = 3) -> PaddedRow | None:
    """Run the sentence again with ``n_pad`` [PAD] tokens after it (as many as the model's max_len
    leaves room for); None when there is no room, i.e. the sentence fills max_len."""
    model, tokenizer = ckpt.model, ckpt.tokenizer
    T = len(result.tokens)
    n_pad = min(n_pad, model.cfg.max_len - T)
    if n_pad <= 0:
        return None
    _, trace = _traced_forward(model, result.encoded.ids + [tokenizer.pad_id] * n_pad, [1] * T + [0] * n_pad)
    cache = trace.layers[layer].attention
    mask = additive_mask(cache.mask[0, 0, 0])
    weights = cache.weights[0, head, query].cpu()
    unpadded = result.trace.layers[layer].attention.weights[0, head, query].cpu()
    largest_change = float((weights[:T] - unpadded).abs().max())
    return PaddedRow(result.tokens + [PAD] * n_pad, mask, weights, largest_change)


@dataclass
class HeadSteps:
    """One head's arithmetic for one sentence, every number taken from the trace or the weights."""

    x: torch.Tensor  # (T, D) block input (residual stream)
    x_norm: torch.Tensor  # (T, D) LayerNorm(x), what Q, K and V are computed from
    W_Q: torch.Tensor  # (D, Dh)
    W_K: torch.Tensor
    W_V: torch.Tensor
    b_Q: torch.Tensor  # (Dh,)
    b_K: torch.Tensor
    b_V: torch.Tensor
    q: torch.Tensor  # (T, Dh)
    k: torch.Tensor
    v: torch.Tensor
    scores: torch.Tensor  # (T, T) QKᵀ
    scaled: torch.Tensor  # (T, T) QKᵀ/√d_k
    mask: torch.Tensor  # (T,) 0 for a real key, -inf for padding
    exp: torch.Tensor  # (T,) exp(scaled[query] - max) for the chosen query row
    row_sum: float  # Σ exp: the softmax denominator
    weights: torch.Tensor  # (T, T) softmax rows
    output: torch.Tensor  # (T, Dh) weights · V
    concat: torch.Tensor  # (T, D) all heads side by side
    W_O: torch.Tensor  # (D, D)
    b_O: torch.Tensor  # (D,)
    attn_out: torch.Tensor  # (T, D) concat · W_O + b_O
    residual: torch.Tensor  # (T, D) x + attn_out
    d_k: int


def head_steps(result: Inspection, model, layer: int, head: int, query: int) -> HeadSteps:
    lt = result.trace.layers[layer]
    attn = model.blocks[layer].attn
    w = {k: v.detach() for k, v in attn.head_weights(head).items()}
    matrices = result.head(layer, head)  # q, k, v, scores, scaled, weights, output from the trace
    scaled = matrices["scaled"]
    cache = lt.attention
    real = cache.mask[0, 0, 0] if cache.mask is not None else torch.ones(scaled.shape[-1], dtype=torch.bool)
    mask = additive_mask(real)
    row = scaled[query] + mask
    exp = torch.exp(row - row.max())  # subtracting the max changes nothing after normalising, avoids overflow
    return HeadSteps(
        **matrices,
        **w,
        x=lt.x[0],
        x_norm=lt.x_norm[0],
        mask=mask,
        exp=exp,
        row_sum=float(exp.sum()),
        concat=cache.concat[0],
        W_O=attn.proj.weight.detach().T,
        b_O=attn.proj.bias.detach(),
        attn_out=lt.attn_out[0],
        residual=lt.residual[0],
        d_k=cache.q.shape[-1],
    )


@dataclass
class DotProduct:
    """One score S_ij = Σ_c Q_ic·K_jc of one head, term by term (as BertViz's neuron view shows it)."""

    q: torch.Tensor  # (Dh,) the query token's row of Q
    k: torch.Tensor  # (Dh,) the key token's row of K
    terms: torch.Tensor  # (Dh,) Q_ic·K_jc for every dimension c
    score: float  # S_ij as the model computed it (the trace's QKᵀ)
    positive: float  # the sum of the positive terms: where the two vectors agree
    negative: float  # the sum of the negative terms: where they disagree


def dot_product(steps: HeadSteps, query: int, key: int) -> DotProduct:
    q, k = steps.q[query], steps.k[key]
    terms = q * k
    positive, negative = float(terms.clamp(min=0).sum()), float(terms.clamp(max=0).sum())
    return DotProduct(
        q=q, k=k, terms=terms, score=float(steps.scores[query, key]), positive=positive, negative=negative
    )


@dataclass
class FeedForwardSteps:
    """One block's feed-forward half for one sentence, every number taken from the trace."""

    x_norm: torch.Tensor  # (T, D) LayerNorm(X'), X' = block input + MultiHead(X) (HeadSteps.residual)
    hidden: torch.Tensor  # (T, F) act(LayerNorm(X')·W1 + b1)
    ffn_out: torch.Tensor  # (T, D) hidden·W2 + b2
    out: torch.Tensor  # (T, D) X' + ffn_out: the block output
    zeroed: list[int]  # per token: hidden numbers exactly 0 (what ReLU cut off)


def feed_forward_steps(result: Inspection, layer: int) -> FeedForwardSteps:
    lt = result.trace.layers[layer]
    hidden = lt.hidden[0]
    zeroed = (hidden == 0).sum(-1).tolist()
    return FeedForwardSteps(x_norm=lt.ffn_in[0], hidden=hidden, ffn_out=lt.ffn_out[0], out=lt.out[0], zeroed=zeroed)


def what_if_weights(scores: torch.Tensor, d_k: int, scale: bool = True, temperature: float = 1.0) -> torch.Tensor:
    """Recompute a head's softmax with the √d_k scaling on or off and a temperature τ:
    softmax(QKᵀ / (√d_k · τ)) — τ = 1 with scaling on is exactly what the model computed."""
    divisor = (math.sqrt(d_k) if scale else 1.0) * temperature
    return torch.softmax(scores / divisor, dim=-1)


def positional_table(model) -> torch.Tensor:
    """(max_len, d_model) what ``embed`` adds to the token vector at each position: the learned
    position embedding's weights, or the fixed sinusoidal table of the 2017 paper."""
    if model.cfg.positional == "learned":
        return model.position_embedding.weight.detach()
    return model.sinusoidal


@dataclass
class WordOrder:
    """Two sentences compared, e.g. "not good" and "good not": the same words in another order."""

    first: Inspection
    second: Inspection

    @property
    def same_tokens(self) -> bool:
        """Whether the two are the same tokens, only in another order (what the test is about)."""
        return sorted(self.first.tokens) == sorted(self.second.tokens)

    @property
    def largest_change(self) -> float:
        """max |p_first − p_second| over the classes: 0 would mean the order changed nothing."""
        return max(abs(a - b) for a, b in zip(self.first.probabilities, self.second.probabilities))


def word_order(ckpt, first: str, second: str) -> WordOrder:
    """Both sentences through the model (``inspect_sentence``): without its positions, a Transformer
    would give a sentence and any reordering of it the same prediction, a bag of words."""
    return WordOrder(inspect_sentence(ckpt, first), inspect_sentence(ckpt, second))


def most_attended(weights_row: torch.Tensor, tolerance: float = 1e-6) -> list[int]:
    """The keys a query gives its largest weight (several where they tie within ``tolerance``): the
    right answers to "which word does this query look at most?"."""
    row = weights_row.detach().float().cpu()
    return [int(i) for i in torch.nonzero(row >= row.max() - tolerance).flatten()]


def steps_record(result: Inspection, steps: HeadSteps, ffn: FeedForwardSteps, layer: int, head: int, query: int):
    """Every matrix Step by step shows for one head and query, as plain lists for one JSON file (a masked
    -inf is written as null: JSON has no infinity)."""
    from dataclasses import fields

    def finite(value):
        if isinstance(value, list):
            return [finite(v) for v in value]
        return value if math.isfinite(value) else None

    def plain(value):
        return finite(value.detach().cpu().double().tolist()) if isinstance(value, torch.Tensor) else value

    record = {
        "sentence": result.sentence,
        "tokens": list(result.tokens),
        "layer": layer,
        "head": head,
        "query": query,
        "prediction": result.prediction,
        "probabilities": dict(zip(result.label_names, map(float, result.probabilities))),
    }
    record["attention"] = {f.name: plain(getattr(steps, f.name)) for f in fields(steps)}
    record["feed_forward"] = {f.name: plain(getattr(ffn, f.name)) for f in fields(ffn)}
    return record
