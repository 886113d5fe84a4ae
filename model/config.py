"""Settings for the Transformer classifier and for its training.

Two frozen dataclasses, as in nanoGPT's ``GPTConfig``: every default is commented, and
``__post_init__`` checks ranges with a message a student can act on. Three named presets:
``tiny`` (seconds on a CPU, for demos and tests), ``small`` (the default) and ``base`` (a GPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# The English sentence of each ConfigError, as the command line prints it; the app words the same
# code in the page's language (assets/i18n: error_<code>).
MESSAGES = {
    "not_whole_number": "{setting} must be a whole number, got {value}",
    "not_a_number": "{setting} must be a number, got {value}",
    "out_of_range": "{setting} {value} is out of range: choose {low} to {high}",
    "not_divisible": "d_model {d_model} is not divisible by {n_heads} heads: "
    "choose a d_model that is a multiple of n_heads (e.g. {suggestion})",
    "not_a_choice": "{setting} must be one of {choices}; got {value}",
    "unknown_preset": "unknown preset {preset!r}: choose one of {choices}",
    "unknown_setting": "unknown setting {setting!r}",
    "settings_not_an_object": "model settings must be a JSON object",
    "unknown_settings": "unknown model settings: {settings}",
}


class ConfigError(ValueError):
    """A setting is out of range. ``code`` names the problem and ``values`` fill in its sentence
    (MESSAGES, the English of the command line); the app says the same in the page's language."""

    def __init__(self, message: str = "", *, code: str | None = None, **values: object) -> None:
        self.code, self.values = code, values
        super().__init__(message or MESSAGES[code].format(**values))


def _check(condition: bool, code: str, **values: Any) -> None:
    if not condition:
        raise ConfigError(code=code, **values)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    _check(isinstance(value, int) and not isinstance(value, bool), "not_whole_number", setting=name, value=repr(value))
    _check(low <= value <= high, "out_of_range", setting=name, value=value, low=low, high=high)


def _check_float(name: str, value: Any, low: float, high: float) -> None:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    _check(is_number, "not_a_number", setting=name, value=repr(value))
    _check(low <= value <= high, "out_of_range", setting=name, value=value, low=low, high=high)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    _check(value in choices, "not_a_choice", setting=name, value=repr(value), choices=", ".join(choices))


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 8000  # rows of the token embedding: one per tokenizer vocabulary entry
    n_classes: int = 2  # outputs of the classifier head: one logit per label
    d_model: int = 128  # width of every token vector (the article's d_model)
    n_heads: int = 4  # heads of multi-head attention: d_head = d_model // n_heads
    n_layers: int = 2  # N: how many [attention + feed-forward] blocks are stacked
    d_ff: int = 256  # hidden width of the feed-forward network FFN(x) = act(xW1+b1)W2+b2
    max_len: int = 64  # longest input in tokens, [CLS] included; longer text is truncated
    dropout: float = 0.1  # probability of zeroing an activation while training
    positional: str = "learned"  # "learned" (a trained table) or "sinusoidal" (the 2017 paper)
    activation: str = "relu"  # "relu" as in the article, or "gelu"
    pooling: str = "mean"  # "mean" of the token vectors, or the "cls" token's vector

    def __post_init__(self) -> None:
        _check_int("vocab_size", self.vocab_size, 8, 200_000)
        _check_int("n_classes", self.n_classes, 2, 20)
        _check_int("d_model", self.d_model, 4, 2048)
        _check_int("n_heads", self.n_heads, 1, 64)
        _check_int("n_layers", self.n_layers, 1, 24)
        _check_int("d_ff", self.d_ff, 4, 8192)
        _check_int("max_len", self.max_len, 2, 1024)
        _check_float("dropout", self.dropout, 0.0, 0.9)
        suggestion = self.n_heads * max(1, round(self.d_model / self.n_heads))
        divisible = self.d_model % self.n_heads == 0
        _check(divisible, "not_divisible", d_model=self.d_model, n_heads=self.n_heads, suggestion=suggestion)
        _check_choice("positional", self.positional, ("learned", "sinusoidal"))
        _check_choice("activation", self.activation, ("relu", "gelu"))
        _check_choice("pooling", self.pooling, ("mean", "cls"))

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10  # full passes over the training set (a time budget may end sooner)
    batch_size: int = 64  # sentences per optimizer step; each batch is padded to its longest
    lr: float = 2e-3  # peak learning rate of AdamW, reached after warm-up
    weight_decay: float = 0.01  # AdamW's decoupled weight decay (not on norms, biases, embeddings)
    warmup: float = 0.05  # fraction of training spent raising the learning rate from 0 to lr
    grad_clip: float = 1.0  # largest allowed gradient norm; 0 switches clipping off
    seed: int = 0  # seeds weights, shuffling and dropout: same seed, same run (on CPU)
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), "cpu", "cuda" or "mps"
    time_budget: float = 0.0  # seconds of training before stopping; 0 means no limit
    eval_every: int = 0  # steps between validation passes; 0 means four times per epoch
    snapshot_every: int = 0  # steps between attention snapshots of the probes; 0 = about 24 a run
    vocab_size: int = 8000  # tokenizer vocabulary to learn from the training texts
    tokenizer: str = "wordpiece"  # "wordpiece" or "bpe"
    label_smoothing: float = 0.0  # share of each target spread evenly over all classes (less overconfidence)
    word_dropout: float = 0.0  # probability of replacing each training token by [UNK]: no one word decides

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1, 1000)
        _check_int("batch_size", self.batch_size, 1, 4096)
        _check_float("lr", self.lr, 1e-7, 100.0)
        _check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        _check_float("warmup", self.warmup, 0.0, 0.5)
        _check_float("grad_clip", self.grad_clip, 0.0, 1e6)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        _check_choice("device", self.device, ("auto", "cpu", "cuda", "mps"))
        _check_float("time_budget", self.time_budget, 0.0, 7 * 24 * 3600.0)
        _check_int("eval_every", self.eval_every, 0, 10**7)
        _check_int("snapshot_every", self.snapshot_every, 0, 10**7)
        _check_int("vocab_size", self.vocab_size, 50, 200_000)
        _check_float("label_smoothing", self.label_smoothing, 0.0, 0.5)
        _check_float("word_dropout", self.word_dropout, 0.0, 0.5)
        _check_choice("tokenizer", self.tokenizer, ("wordpiece", "bpe"))


# Presets: only the settings that differ from the dataclass defaults.
PRESETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # Trains in a few seconds on a laptop CPU: for demos, quick starts and tests.
    "tiny": (
        dict(d_model=32, n_heads=2, n_layers=2, d_ff=64, max_len=32, dropout=0.0, pooling="cls"),
        dict(epochs=8, batch_size=32, lr=3e-3, vocab_size=1000),
    ),
    # The default: beats a bag-of-words baseline on real review phrases in 90 s on 2 CPU cores.
    "small": ({}, {}),
    # Wider and deeper, for a GPU.
    "base": (
        dict(d_model=256, n_heads=8, n_layers=4, d_ff=1024, max_len=128, vocab_size=16000),
        dict(epochs=10, batch_size=128, lr=1e-3, vocab_size=16000),
    ),
}


def preset(name: str, **overrides: Any) -> tuple[ModelConfig, TrainConfig]:
    """The named preset's two configs, with any setting overridden (None means keep)."""
    if name not in PRESETS:
        raise ConfigError(code="unknown_preset", preset=name, choices=", ".join(PRESETS))
    model_kw, train_kw = PRESETS[name]
    model_kw, train_kw = dict(model_kw), dict(train_kw)
    model_names = {f.name for f in fields(ModelConfig)}
    train_names = {f.name for f in fields(TrainConfig)}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in model_names and key not in train_names:
            raise ConfigError(code="unknown_setting", setting=key)
        if key in model_names:
            model_kw[key] = value
        if key in train_names:
            train_kw[key] = value
    if "vocab_size" in train_kw and "vocab_size" not in model_kw:
        model_kw["vocab_size"] = train_kw["vocab_size"]
    return ModelConfig(**model_kw), TrainConfig(**train_kw)


def to_dict(config: ModelConfig | TrainConfig) -> dict[str, Any]:
    return asdict(config)


def model_config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Rebuild a ModelConfig from JSON, refusing unknown keys with a clear message."""
    if not isinstance(data, dict):
        raise ConfigError(code="settings_not_an_object")
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(code="unknown_settings", settings=", ".join(unknown))
    return ModelConfig(**data)


def with_vocab(config: ModelConfig, vocab_size: int, n_classes: int) -> ModelConfig:
    """The model config resized to a trained tokenizer and a dataset's labels."""
    return replace(config, vocab_size=vocab_size, n_classes=n_classes)
