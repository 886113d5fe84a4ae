"""An encoder-only Transformer text classifier, as the article describes it, done right.

    tokens -> embedding (vocab x d_model) + positional embedding
           -> N x [ x + MultiHeadAttention(LayerNorm(x)) ; x + FFN(LayerNorm(x)) ]   (pre-norm)
           -> LayerNorm -> pooling ([CLS] or mean over real tokens) -> linear head -> logits

Attention is one small pure function, ``attention(q, k, v, mask)``, computing
softmax(QKᵀ/√d_k)·V and returning every intermediate (as the Annotated Transformer's
``attention`` returns ``p_attn``). Training and the step-by-step view call the same function:
``model(ids, mask, return_trace=True)`` runs the very forward that trains and hands back the
intermediates (as TransformerLens' cache does) instead of stashing them on modules.

Shape legend: B batch, T tokens, H heads, D d_model, Dh d_head, F d_ff, C classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig


@dataclass
class AttentionCache:
    """What softmax(QKᵀ/√d_k)·V computed for one layer, all heads at once (TransformerLens' hook_q … hook_z)."""

    q: Tensor  # (B, H, T, Dh) queries
    k: Tensor  # (B, H, T, Dh) keys
    v: Tensor  # (B, H, T, Dh) values
    scores: Tensor  # (B, H, T, T) raw QKᵀ
    scaled: Tensor  # (B, H, T, T) QKᵀ / √d_k
    mask: Tensor | None  # (B, 1, 1, T) True where the key is a real token, False for padding
    weights: Tensor  # (B, H, T, T) softmax over keys (each row sums to 1, padding gets 0)
    output: Tensor  # (B, H, T, Dh) weights · V

    @property
    def concat(self) -> Tensor:
        """(B, T, D) the heads' outputs side by side: what W_O reads."""
        B, H, T, Dh = self.output.shape
        return self.output.transpose(1, 2).reshape(B, T, H * Dh)  # (B, T, H, Dh) -> (B, T, D)


@dataclass
class LayerTrace:
    """Everything one block computed, for every head (TransformerLens-style named values)."""

    x: Tensor  # (B, T, D) the block input, i.e. the residual stream before this block
    x_norm: Tensor  # (B, T, D) LayerNorm(x): what attention actually reads
    attention: AttentionCache  # Q, K, V, scores, weights and the heads' outputs
    attn_out: Tensor  # (B, T, D) concat · W_O + b_O
    residual: Tensor  # (B, T, D) x + attn_out, the input of the feed-forward half
    ffn_in: Tensor  # (B, T, D) LayerNorm(residual): what the feed-forward network reads
    hidden: Tensor  # (B, T, F) act(ffn_in·W1 + b1)
    ffn_out: Tensor  # (B, T, D) hidden·W2 + b2
    out: Tensor  # (B, T, D) the block output: residual + ffn_out (dropout aside)


@dataclass
class Ablation:
    """Heads switched off, for head ablation (TransformerLens' head ablation hook, as a value).

    A head that is off has its output weights·V replaced before W_O reads it: by zeros (W_O's bias
    stays), or, where ``means`` is given, by that head's mean output over a set of sentences
    ("mean ablation": the head still adds its average, only what it says about *this* sentence is gone).
    """

    heads_off: Tensor  # (L, H) bool: True where the head is switched off
    means: Tensor | None = None  # (L, H, Dh) each head's mean output; None: zeros

    @classmethod
    def of(cls, n_layers: int, n_heads: int, heads, means: Tensor | None = None) -> Ablation:
        """The heads given as (layer, head) pairs switched off."""
        off = torch.zeros(n_layers, n_heads, dtype=torch.bool)
        for layer, head in heads:
            off[layer, head] = True
        return cls(off, means)


@dataclass
class Trace:
    layers: list[LayerTrace] = field(default_factory=list)
    embedding: Tensor | None = None  # (B, T, D) token + position, before the first block
    pooled: Tensor | None = None  # (B, D) the vector the classifier head reads
    pooling_weights: Tensor | None = None  # (B, T) how much each token counts in pooling
    logits: Tensor | None = None  # (B, C)


def softmax_over_keys(scores: Tensor) -> Tensor:
    """torch.softmax(scores, dim=-1), with rows of 5 to 15 keys padded to 16 on the CPU.

    PyTorch's CPU softmax runs rows shorter than its vector width (16 floats with AVX-512) through
    a slow path: forward and backward over 64 × 4 × 12 × 12 took 747 µs, against 238 µs for the
    same rows padded to 16 (bench/RESULTS.md; below 5 keys padding costs more than it saves). The
    padding is -inf: exp(-inf) = 0, so it adds nothing to any row's sum and gets exactly 0 weight,
    and it is sliced off again.
    """
    T = scores.size(-1)
    if scores.device.type != "cpu" or not 5 <= T < 16:
        return torch.softmax(scores, dim=-1)
    return torch.softmax(F.pad(scores, (0, 16 - T), value=float("-inf")), dim=-1)[..., :T]


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> AttentionCache:
    """softmax(QKᵀ/√d_k)·V with every intermediate; q, k, v are (..., T, d_k).

    ``mask`` broadcasts against the scores and is True where a key may be attended to.
    """
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1)  # (B, H, T, T)
    scaled = scores / math.sqrt(d_k)
    if mask is not None:
        # Padding keys get -inf so that exp(-inf) = 0: they receive exactly zero weight.
        weights = softmax_over_keys(scaled.masked_fill(~mask, float("-inf")))
    else:
        weights = softmax_over_keys(scaled)
    output = weights @ v  # (B, H, T, Dh)
    return AttentionCache(q=q, k=k, v=v, scores=scores, scaled=scaled, mask=mask, weights=weights, output=output)


class MultiHeadAttention(nn.Module):
    """MultiHead(X) = Concat(head_1..head_h)·W_O, head_i = Attention(X·W_Q_i, X·W_K_i, X·W_V_i).

    Q, K and V come from one fused projection ``qkv`` whose weight is laid out like
    ``nn.MultiheadAttention.in_proj_weight``: rows [0, D) are W_Q, [D, 2D) W_K, [2D, 3D) W_V.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.d_head = cfg.n_heads, cfg.d_head
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)  # W_O

    def forward(
        self, x: Tensor, mask: Tensor | None, heads_off: Tensor | None = None, means: Tensor | None = None
    ) -> tuple[Tensor, AttentionCache]:
        """The attention's output (B, T, D), and its cache: Q, K, V, scores and weights of every head.

        ``heads_off`` (H,) bool switches heads off: their weights·V becomes ``means`` (H, Dh), or zeros,
        before W_O (the cache then holds what W_O read).
        """
        B, T, D = x.shape
        H, Dh = self.n_heads, self.d_head
        q, k, v = self.qkv(x).split(D, dim=-1)  # 3 x (B, T, D)
        q = q.view(B, T, H, Dh).transpose(1, 2)  # (B, H, T, Dh)
        k = k.view(B, T, H, Dh).transpose(1, 2)  # (B, H, T, Dh)
        v = v.view(B, T, H, Dh).transpose(1, 2)  # (B, H, T, Dh)
        cache = attention(q, k, v, mask)
        if heads_off is not None and bool(heads_off.any()):
            off = heads_off.to(x.device)[None, :, None, None]  # (1, H, 1, 1)
            replacement = 0.0 if means is None else means.to(x.device, x.dtype)[None, :, None, :]
            cache.output = torch.where(off, replacement, cache.output)
        return self.proj(cache.concat), cache

    def head_weights(self, head: int) -> dict[str, Tensor]:
        """W_Q, W_K, W_V (D, Dh) and their biases for one head, oriented as X·W."""
        D, Dh = self.qkv.in_features, self.d_head
        rows = slice(head * Dh, (head + 1) * Dh)
        weights = {}
        for i, name in enumerate("QKV"):  # qkv's rows: W_Q, then W_K, then W_V, D each
            block = slice(i * D, (i + 1) * D)
            weights[f"W_{name}"] = self.qkv.weight[block][rows].T
            weights[f"b_{name}"] = self.qkv.bias[block][rows]
        return weights


def dropout_mask(x: Tensor, p: float) -> Tensor:
    """A dropout mask shaped like x: 0 with probability p, otherwise 1/(1 − p), so E[x·mask] = x.

    On the CPU, drawing one random float per element (torch's bernoulli_ or rand_like) was most of
    the cost of dropout (bench/RESULTS.md). Here one 64-bit draw gives four 16-bit integers, each
    uniform over 65,536 values; an element is dropped when its integer falls among the lowest
    round(p·65536). So p is used to 1/65536 (0.1 becomes 0.1000061) and the scale uses that same p.
    """
    n = x.numel()
    dropped = round(p * 65536)
    scale = 65536 / (65536 - dropped)
    # from = int64 min and no upper bound: torch draws all 64 bits, so every 16-bit lane is uniform.
    bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(-(2**63), None)
    lanes = bits.view(torch.int16)[:n].view(x.shape)  # uniform over -32768 ... 32767
    threshold = -32768 + dropped  # lanes below it are dropped
    # (lane − threshold + 1) is ≤ 0 for a dropped element and ≥ 1 for a kept one; times scale,
    # clamped to [0, scale], that is exactly 0 or scale, in three in-place passes (in float32,
    # which holds every 16-bit integer exactly).
    return lanes.to(torch.float32).sub_(threshold - 1).mul_(scale).clamp_(0.0, scale).to(x.dtype)


class Dropout(nn.Module):
    """nn.Dropout's behaviour (zero with probability p, scale the rest by 1/(1 − p), only while
    training) with a cheaper mask on the CPU (``dropout_mask``); elsewhere torch's fused F.dropout.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, True)
        return x * dropout_mask(x, self.p)


class FeedForward(nn.Module):
    """FFN(x) = act(x·W1 + b1)·W2 + b2, with ReLU as in the article (GELU selectable).

    As in the 2017 paper and nanoGPT, dropout is applied to the block's output, not inside.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.d_model, cfg.d_ff)
        self.fc2 = nn.Linear(cfg.d_ff, cfg.d_model)
        self.act = nn.ReLU() if cfg.activation == "relu" else nn.GELU()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """FFN(x), and the hidden layer act(x·W1 + b1) (B, T, F) it was computed from."""
        hidden = self.act(self.fc1(x))
        return self.fc2(hidden), hidden


class Block(nn.Module):
    """One pre-norm encoder block: x + Attention(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ffn = FeedForward(cfg)
        self.dropout = Dropout(cfg.dropout)

    def forward(
        self, x: Tensor, mask: Tensor | None, keep: bool, heads_off: Tensor | None = None, means: Tensor | None = None
    ):
        x_norm = self.ln1(x)
        attn_out, cache = self.attn(x_norm, mask, heads_off, means)
        residual = x + self.dropout(attn_out)
        ffn_in = self.ln2(residual)
        ffn_out, hidden = self.ffn(ffn_in)
        out = residual + self.dropout(ffn_out)
        if not keep:
            return out, None
        trace = LayerTrace(
            x=x,
            x_norm=x_norm,
            attention=cache,
            attn_out=attn_out,
            residual=residual,
            ffn_in=ffn_in,
            hidden=hidden,
            ffn_out=ffn_out,
            out=out,
        )
        return out, trace


def sinusoidal_table(max_len: int, d_model: int) -> Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...), as in the 2017 paper."""
    position = torch.arange(max_len).unsqueeze(1)  # (T, 1)
    div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
    return table


class TransformerClassifier(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        # The article sized its embedding by d_model; it must have one row per vocabulary entry.
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.d_model)
        if cfg.positional == "learned":
            self.position_embedding = nn.Embedding(cfg.max_len, cfg.d_model)
        else:
            self.register_buffer("sinusoidal", sinusoidal_table(cfg.max_len, cfg.d_model), persistent=False)
        self.dropout = Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)
        self.apply(self._init_weights)
        # Token vectors are multiplied by √d_model in embed(), so start them at std 1/√d_model:
        # the product then has the unit scale of the sinusoidal table (the 2017 paper's recipe).
        nn.init.normal_(self.token_embedding.weight, std=cfg.d_model**-0.5)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def token_vectors(self, input_ids: Tensor) -> Tensor:
        """(B, T, D) each token's embedding row times √d_model: the input that attribution methods vary."""
        # The paper's √d_model keeps token vectors on the same scale as the positional table.
        return self.token_embedding(input_ids) * math.sqrt(self.cfg.d_model)

    def positions(self, T: int) -> Tensor:
        """(T, D) what is added for each position: the learned position embedding or the sinusoidal table."""
        return self.position_embedding.weight[:T] if self.cfg.positional == "learned" else self.sinusoidal[:T]

    def embed(self, input_ids: Tensor) -> Tensor:
        return self.token_vectors(input_ids) + self.positions(input_ids.size(1))

    def classify(self, x: Tensor, real: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """Final LayerNorm, pooling and the linear head on a residual stream x (B, T, D).

        Returns logits (B, C), the pooled vector (B, D) and the pooling weights (B, T). The forward
        ends with this, and the layer-by-layer readout applies it to earlier residual streams.
        """
        B, T, _ = x.shape
        x = self.ln_f(x)
        if self.cfg.pooling == "cls":
            pooling_weights = torch.zeros(B, T, dtype=x.dtype, device=x.device)
            pooling_weights[:, 0] = 1.0  # the tokenizer puts [CLS] first
            pooled = x[:, 0]
        else:
            # Mean over real tokens only: padding must not dilute the average.
            keep = real.to(x.dtype) if real is not None else torch.ones(B, T, dtype=x.dtype, device=x.device)
            pooling_weights = keep / keep.sum(dim=1, keepdim=True)
            pooled = (pooling_weights.unsqueeze(-1) * x).sum(dim=1)
        return self.head(pooled), pooled, pooling_weights

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        return_trace: bool = False,
        *,
        ablation: Ablation | None = None,
        token_vectors: Tensor | None = None,
    ):
        """Logits (B, C) for token ids (B, T); with ``return_trace`` also the full Trace.

        ``attention_mask`` (B, T) is 1 for real tokens, 0 for padding; None means no padding.
        ``ablation`` switches heads off; ``token_vectors`` (B, T, D) replaces ``token_vectors(input_ids)``
        (integrated gradients move them along a path; the positions are added as always).
        """
        B, T = input_ids.shape
        if T > self.cfg.max_len:
            raise ValueError(f"input has {T} tokens but this model reads at most {self.cfg.max_len}")
        real = attention_mask.bool() if attention_mask is not None else None
        mask = real[:, None, None, :] if real is not None else None  # (B, 1, 1, T) over keys
        if token_vectors is None:
            token_vectors = self.token_vectors(input_ids)
        x = self.dropout(token_vectors + self.positions(T))
        trace = Trace(embedding=x) if return_trace else None
        for i, block in enumerate(self.blocks):
            if ablation is None:
                x, layer = block(x, mask, return_trace)
            else:
                means = ablation.means[i] if ablation.means is not None else None
                x, layer = block(x, mask, return_trace, ablation.heads_off[i], means)
            if trace is not None:
                trace.layers.append(layer)
        logits, pooled, pooling_weights = self.classify(x, real)
        if trace is None:
            return logits
        trace.pooled, trace.pooling_weights, trace.logits = pooled, pooling_weights, logits
        return logits, trace

    def run_blocks(self, x: Tensor, real: Tensor | None, start: int = 0, ablation: Ablation | None = None) -> Tensor:
        """The residual stream after the last block, from ``x`` entering block ``start`` (no trace).

        Head ablation uses it to run only the blocks at and after the first head switched off: the
        blocks before it compute what they computed with every head on.
        """
        mask = real[:, None, None, :] if real is not None else None
        for i in range(start, len(self.blocks)):
            if ablation is None:
                x, _ = self.blocks[i](x, mask, False)
            else:
                means = ablation.means[i] if ablation.means is not None else None
                x, _ = self.blocks[i](x, mask, False, ablation.heads_off[i], means)
        return x

    def num_parameters(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.token_embedding.weight.numel()
            if self.cfg.positional == "learned":
                n -= self.position_embedding.weight.numel()
        return n


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode (no dropout) for the block, then back in the mode it was in: what every
    look at the model between training steps needs (a page's inspection, an evaluation, a snapshot)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def cross_entropy(logits: Tensor, labels: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """The classification loss: softmax + negative log-likelihood over C classes.

    (The article applied BCELoss to two raw logits; cross-entropy is the right loss for them.)
    With ``label_smoothing`` ε the target is 1 - ε on the true class plus ε/C on every class.
    """
    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
