"""An experiment in the page's address, as TensorFlow Playground keeps its state in the URL.

A teacher sets up an experiment and shares the address; every student who opens it starts from
the same settings:

    /train?preset=tiny&lr=0.01&dropout=0.2&dataset=sentiment_zh

`read` turns query parameters into setting values, and lists what it ignored and why; `write`
turns settings back into the few parameters that differ from their defaults. The settings are
model/settings.py's table. No Streamlit here: tests call both directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from model.config import PRESETS
from model.settings import DEFAULT_PRESET, SETTINGS, choose, parse, preset_values, same

LINKED = tuple(s for s in SETTINGS if s.page and s.link)
# The order in which settings appear in a link.
ORDER = ("preset", *(s.name for s in LINKED), "dataset")


def read(params: Mapping[str, str], datasets: Sequence[str]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The settings a link asks for, and (name, value, the values it may take) for each one that cannot be used.

    Parameters that are not settings (``lang``, anything else) are left to whoever reads them.
    """
    by_name = {s.name: s for s in LINKED}
    values: dict[str, Any] = {}
    ignored: list[tuple[str, str, str]] = []
    for name in ORDER:
        if name not in params:
            continue
        text = str(params[name]).strip()
        try:
            if name == "preset":
                values[name] = choose(text, list(PRESETS))
            elif name == "dataset":
                values[name] = choose(text, list(datasets))
            else:
                values[name] = parse(by_name[name], text)
        except ValueError as exc:
            ignored.append((name, text[:40], str(exc)))
    return values, ignored


def write(values: Mapping[str, Any], default_dataset: str) -> dict[str, str]:
    """The parameters of a link to these settings: the preset, and each setting that differs from it."""
    name = values.get("preset") if values.get("preset") in PRESETS else DEFAULT_PRESET
    defaults = {**preset_values(name), "dataset": default_dataset}
    params = {"preset": name} if name != DEFAULT_PRESET else {}
    for key in ORDER[1:]:
        value = values.get(key)
        if value is None or same(value, defaults.get(key)):
            continue
        params[key] = f"{value:g}" if isinstance(value, float) else str(value)
    return params


def describe(values: Mapping[str, Any]) -> str:
    """``d_model = 64, lr = 0.01``: the settings a link set, for a message."""
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in values.items())
