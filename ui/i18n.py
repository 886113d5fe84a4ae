"""Strings in the page's language, and everything that differs by language in one place.

``t`` gives a string for Markdown (values escaped), ``t_plain`` one for Plotly (whose builders
escape HTML themselves). ``DEFAULTS`` holds each language's default sentence, dataset, bundled
model and probe sentences.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from model.checkpoint import ASSETS_CHECKPOINT
from model.session import PROBE_SENTENCES

ROOT = Path(__file__).resolve().parent.parent
STRINGS_DIR = ROOT / "assets" / "i18n"
LANGUAGES = {"en": "English", "zh": "简体中文"}
ACTIVATION_NAMES = {"relu": "ReLU", "gelu": "GELU"}  # as the article and the papers write them


@dataclass(frozen=True)
class LanguageDefaults:
    sentence: str  # the sentence Attention and Step by step open with
    dataset: str  # the built-in dataset a session starts on
    checkpoint: Path  # the bundled model shown before anything is trained
    probes: tuple[str, ...]  # the sentences whose attention is recorded while training


DEFAULTS = {
    "en": LanguageDefaults("I love this movie!", "sentiment_en", ASSETS_CHECKPOINT, tuple(PROBE_SENTENCES["en"])),
    "zh": LanguageDefaults(
        "我很喜欢这部电影！", "sentiment_zh", ASSETS_CHECKPOINT.with_name("checkpoint_zh"), tuple(PROBE_SENTENCES["zh"])
    ),
}


@functools.cache
def strings(lang: str) -> Mapping[str, str]:
    """The strings of one language, read once per process and shared read-only by every session.

    (Was st.cache_data, which hands each caller its own unpickled copy: a page's hundred strings cost
    it 30-50 ms of the server's one Python thread, the larger part of a Train page's run.)"""
    return MappingProxyType(json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8")))


def lang() -> str:
    """The interface language (ui/state.py keeps it)."""
    from ui.state import language

    return language()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def md(text: object) -> str:
    """Escape text for Streamlit Markdown: a sentence like '$x$', '**hi**' or '<b>' stays literal text."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def t(key: str, **values) -> str:
    """The string ``key`` in the chosen language (English if a translation is missing), for Markdown.

    Every string value filled in is escaped (md): tokens, file names and error messages quote what
    a user typed or uploaded, and must never become formatting, math or markup.
    """
    return t_plain(key, **{k: md(v) if isinstance(v, str) else v for k, v in values.items()})


def t_plain(key: str, **values) -> str:
    """The string ``key`` with values filled in unescaped: for Plotly, whose builders escape HTML."""
    text = strings(lang()).get(key) or strings("en").get(key, key)
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in strings("en")


def class_names(names: list[str]) -> dict[str, str]:
    """Each class label as it is shown: the built-in datasets' labels in the chosen language
    (negative → 消极), any other as it is. The model and its checkpoint keep the original names.

    Where translating would make two labels look the same, every label stays as it is.
    """
    shown = [strings(lang()).get(f"class_{name}") or name for name in names]
    return dict(zip(names, shown if len(set(shown)) == len(shown) else names, strict=True))


def loss_text(loss: float) -> str:
    """A loss for a metric: four decimals, or two significant digits once it is below 0.001.

    A trained run's batch loss falls to 1e-5 and below, where four decimals would read "0.0000",
    a loss of exactly zero that cross-entropy never reaches.
    """
    return f"{loss:.1e}" if 0 < abs(loss) < 1e-3 else f"{loss:.4f}"


def activation_tex(activation: str, argument: str) -> str:
    """The activation applied to ``argument``, as a formula: max(0, ·) for ReLU, GELU(·)."""
    return rf"\max(0,\, {argument})" if activation == "relu" else rf"\mathrm{{GELU}}({argument})"


def device_name(device: str) -> str:
    """As the pages write a device: cpu → CPU, cuda:0 → GPU (CUDA), auto in the page's language."""
    return {"auto": t("device_auto"), "cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "GPU (MPS)"}.get(
        device.split(":")[0], device
    )


def dataset_name(name: str, builtin: bool) -> str:
    return t(f"dataset_{name}") if builtin else name
