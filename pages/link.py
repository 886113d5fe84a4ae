"""An experiment in the Train page's address, as TensorFlow Playground keeps its state in the URL.

A teacher sets up an experiment on the Train page and shares the page's address; every student
who opens it starts from the same settings:

    /train?preset=tiny&lr=0.01&dropout=0.2&dataset=sentiment_zh

`read` turns query parameters into setting values, and lists what it ignored and why; `write`
turns settings back into the few parameters that differ from their defaults. No Streamlit here:
tests call both directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from model.config import PRESETS, TrainConfig, preset

# What each setting's widget offers; a value from a link must be one of them.
CHOICES: dict[str, Sequence[Any]] = {
    "n_layers": [1, 2, 3, 4, 6],
    "n_heads": [1, 2, 4, 8],
    "d_model": [16, 32, 64, 128, 256, 512],
    "d_ff": [32, 64, 128, 256, 512, 1024, 2048],
    "dropout": [round(0.05 * i, 2) for i in range(11)],  # the slider: 0 to 0.5 in steps of 0.05
    "lr": [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0, 10.0],
    "batch_size": [8, 16, 32, 64, 128, 256],
    "positional": ["learned", "sinusoidal"],
    "pooling": ["mean", "cls"],
    "activation": ["relu", "gelu"],
    "tokenizer": ["wordpiece", "bpe"],
    "vocab_size": [250, 500, 1000, 2000, 4000, 8000, 16000],
}
RANGES: dict[str, tuple[int, int]] = {"epochs": (1, 50), "seed": (0, 2**31 - 1)}
MODEL_SETTINGS = ("n_layers", "n_heads", "d_model", "d_ff", "dropout", "positional", "pooling", "activation")
TRAIN_SETTINGS = ("lr", "batch_size", "epochs", "seed")
# The Train page starts from "small"; the tokenizer settings start at TrainConfig's own defaults.
DEFAULTS = {"preset": "small", "tokenizer": TrainConfig.tokenizer, "vocab_size": TrainConfig.vocab_size}
# The order in which settings appear in a link.
ORDER = ("preset", *MODEL_SETTINGS, *TRAIN_SETTINGS, "dataset", "tokenizer", "vocab_size")


def preset_values(name: str) -> dict[str, Any]:
    """A preset's value for every setting the Train page shows."""
    model_cfg, train_cfg = preset(name)
    return {**{k: getattr(model_cfg, k) for k in MODEL_SETTINGS}, **{k: getattr(train_cfg, k) for k in TRAIN_SETTINGS}}


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _parse(name: str, text: str, datasets: Sequence[str]) -> Any:
    """The value of one setting, or ValueError with the values it may take."""
    if name == "preset":
        options: Sequence[Any] = list(PRESETS)
    elif name == "dataset":
        options = list(datasets)
    elif name in RANGES:
        low, high = RANGES[name]
        try:
            value = _number(text)
        except ValueError:
            value = None
        if value is None or value != int(value) or not low <= value <= high:
            raise ValueError(f"{low} … {high}")
        return int(value)
    else:
        options = CHOICES[name]
    if isinstance(options[0], str):
        if text not in options:
            raise ValueError(", ".join(options))
        return text
    allowed = ", ".join(f"{o:g}" for o in options)
    try:
        value = _number(text)
    except ValueError:
        raise ValueError(allowed) from None
    for option in options:  # 0.001 and 1e-3 are the same choice; so are 0.15 and 0.15000000000000002
        if _same(value, option):
            return option
    raise ValueError(allowed)


def read(params: Mapping[str, str], datasets: Sequence[str]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The settings a link asks for, and (name, value, the values it may take) for each one that cannot be used.

    Parameters that are not settings (``lang``, anything else) are left to whoever reads them.
    """
    values: dict[str, Any] = {}
    ignored: list[tuple[str, str, str]] = []
    for name in ORDER:
        if name not in params:
            continue
        text = str(params[name]).strip()
        try:
            values[name] = _parse(name, text, datasets)
        except ValueError as exc:
            ignored.append((name, text[:40], str(exc)))
    return values, ignored


def write(values: Mapping[str, Any], default_dataset: str) -> dict[str, str]:
    """The parameters of a link to these settings: the preset, and each setting that differs from it."""
    name = values.get("preset") if values.get("preset") in PRESETS else DEFAULTS["preset"]
    defaults = {**DEFAULTS, **preset_values(name), "dataset": default_dataset}
    params = {"preset": name} if name != DEFAULTS["preset"] else {}
    for key in ORDER[1:]:
        value = values.get(key)
        if value is None or _same(value, defaults.get(key)):
            continue
        params[key] = f"{value:g}" if isinstance(value, float) else str(value)
    return params


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def describe(values: Mapping[str, Any]) -> str:
    """``d_model = 64, lr = 0.01``: the settings a link set, for a message."""
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in values.items())
