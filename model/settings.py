"""The one table of training settings a person can choose.

Everything that lists settings is derived from ``SETTINGS``: the command line's options
(``model/cli.py``), the Train page's widgets and the values they keep (``ui/state.py``,
``ui/widgets.py``), and the shareable link (``ui/link.py``). To expose a hyperparameter, add a row
here (and its two strings, ``hp_<name>`` and ``hp_<name>_help``, in ``assets/i18n``).

No streamlit here: the command line and the tests read the same table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from .config import PRESETS, ConfigError, ModelConfig, TrainConfig, preset


@dataclass(frozen=True)
class Setting:
    """One setting: the field of ``ModelConfig`` or ``TrainConfig`` it sets, and what may be chosen."""

    name: str  # the config field; the link's parameter; the CLI's --name-with-dashes
    choices: tuple[Any, ...] = ()  # the values a page offers and a link may carry
    low: float | None = None  # or a range of whole numbers (epochs, seed)
    high: float | None = None
    widget: str = "select_slider"  # select_slider, radio, number (the Train page's widget)
    page: str | None = "train"  # the page that shows it ("train", "data"); None: the command line only
    link: bool = True  # carried by a shared link (not the device: a student may have no GPU)
    help: str = ""  # the command line's help (the pages have theirs in assets/i18n)
    from_preset: bool = True  # False: a preset leaves it alone on the pages (the tokenizer: the Data page's)

    @property
    def config(self) -> str:
        """Which config holds it: "model" or "train" (vocab_size: the tokenizer's, so "train")."""
        return "train" if self.name in _TRAIN_FIELDS else "model"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def kind(self) -> type:
        if self.choices:
            return type(self.choices[0])
        return int if isinstance(self.low, int) else float

    def default(self, preset_name: str) -> Any:
        model_cfg, train_cfg = preset(preset_name) if self.from_preset else (ModelConfig(), TrainConfig())
        return getattr(train_cfg if self.config == "train" else model_cfg, self.name)


_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
_MODEL_FIELDS = {f.name for f in fields(ModelConfig)}

_STEPS_OF_5 = tuple(round(0.05 * i, 2) for i in range(11))  # 0, 0.05, …, 0.5: a slider's stops
SETTINGS: tuple[Setting, ...] = (
    # the model's sizes
    Setting("n_layers", (1, 2, 3, 4, 6), help="encoder blocks"),
    Setting("n_heads", (1, 2, 4, 8), help="attention heads per layer"),
    Setting("d_model", (16, 32, 64, 128, 256, 512), help="width of every token vector (d_model)"),
    Setting("d_ff", (32, 64, 128, 256, 512, 1024, 2048), help="hidden width of the feed-forward network"),
    # how it learns
    Setting("dropout", _STEPS_OF_5, help="probability of zeroing an activation"),
    Setting("lr", (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0, 10.0), help="peak learning rate of AdamW"),
    Setting("batch_size", (8, 16, 32, 64, 128, 256), help="sentences per optimizer step"),
    Setting("epochs", low=1, high=50, widget="number", help="full passes over the training set"),
    # its choices
    Setting("positional", ("learned", "sinusoidal"), widget="radio", help="position vectors"),
    Setting("pooling", ("mean", "cls"), widget="radio", help="how the token vectors become one"),
    Setting("activation", ("relu", "gelu"), widget="radio", help="the feed-forward network's activation"),
    Setting("seed", low=0, high=2**31 - 1, widget="number", help="seeds weights, shuffling and dropout"),
    Setting("label_smoothing", _STEPS_OF_5[:7], help="target share spread over all classes (0 to 0.5)"),
    Setting("word_dropout", _STEPS_OF_5[:7], help="probability of hiding each training token as [UNK]"),
    Setting("device", ("auto", "cpu", "cuda", "mps"), widget="radio", link=False, help="where to train"),
    # the tokenizer: chosen on the Data page
    Setting(
        "tokenizer",
        ("wordpiece", "bpe"),
        widget="radio",
        page="data",
        from_preset=False,
        help="how words become tokens",
    ),
    Setting(
        "vocab_size",
        (250, 500, 1000, 2000, 4000, 8000, 16000),
        page="data",
        from_preset=False,
        help="tokenizer vocabulary to learn",
    ),
    # the command line only
    Setting("time_budget", low=0.0, high=7 * 24 * 3600.0, page=None, link=False, help="stop after this many seconds"),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
ON_PAGE: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.page)
DEFAULT_PRESET = "small"  # the Train page starts from it
assert all(s.name in _TRAIN_FIELDS | _MODEL_FIELDS for s in SETTINGS)


def preset_values(name: str) -> dict[str, Any]:
    """A preset's value for every setting on the pages (the tokenizer's: TrainConfig's defaults)."""
    return {s.name: s.default(name) for s in ON_PAGE}


def configs(values: Mapping[str, Any], preset_name: str = DEFAULT_PRESET) -> tuple[ModelConfig, TrainConfig]:
    """The two configs for these settings: the preset's, with each setting given (None: keep) over it.

    Raises ConfigError with a message a student can act on (an unknown preset or an out-of-range value).
    """
    if preset_name not in PRESETS:
        raise ConfigError(code="unknown_preset", preset=preset_name, choices=", ".join(PRESETS))
    given = {k: v for k, v in values.items() if k in BY_NAME and v is not None}
    for name, value in given.items():  # a float where an int belongs (a widget's 3.0) would fail the config's check
        if BY_NAME[name].kind is int and isinstance(value, float) and value.is_integer():
            given[name] = int(value)
    return preset(preset_name, **given)


# ---- the link: settings in an address ------------------------------------------------------------
def parse(setting: Setting, text: str) -> Any:
    """The value of one setting from a link's text, or ValueError naming the values it may take."""
    if setting.low is not None and not setting.choices:
        try:
            value = _number(text)
        except ValueError:
            value = None
        if value is None or value != int(value) or not setting.low <= value <= setting.high:
            raise ValueError(f"{setting.low:g} … {setting.high:g}")
        return int(value)
    return choose(text, setting.choices)


def choose(text: str, options: Sequence[Any]) -> Any:
    """The option ``text`` names (0.001 and 1e-3 are the same choice), or ValueError listing them."""
    if isinstance(options[0], str):
        if text not in options:
            raise ValueError(", ".join(options))
        return text
    allowed = ", ".join(f"{o:g}" for o in options)
    try:
        value = _number(text)
    except ValueError:
        raise ValueError(allowed) from None
    for option in options:
        if same(value, option):
            return option
    raise ValueError(allowed)


def same(a: Any, b: Any) -> bool:
    """Equal, for numbers up to rounding (0.15 and 0.15000000000000002 are one choice)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value
