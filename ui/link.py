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


# ---- the view a page shows: its sentence, layer, head, query token and step ----------------------
# /attention?sentence=I+love+it&layer=1&head=2 and /step_by_step?sentence=…&layer=…&head=…&query=…&step=4
# open exactly that view. Each parameter is the number the page shows (layers, heads and tokens from 0,
# steps from 1 as the sections are numbered); the kept value (ui/state.py) it sets is named here.
VIEWS: dict[str, dict[str, str]] = {
    "attention": {"sentence": "sentence", "layer": "attention_layer", "head": "attention_head"},
    "step_by_step": {
        "sentence": "sentence",
        "layer": "steps_layer",
        "head": "steps_head",
        "query": "steps_query",
        "step": "steps_section",
    },
}
VIEW_PARAMS = ("sentence", "layer", "head", "query", "step")
MAX_SENTENCE = 2000  # as the sentence box


def read_view(
    page: str, params: Mapping[str, str], sizes: Mapping[str, int], steps: Sequence[str], all_steps: str
) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The kept values a link asks ``page`` to show, and (name, value, the values it may take) for each
    parameter it cannot use. ``sizes``: how many layers, heads and query tokens there are (the query's
    count is the link's sentence's tokens); ``steps``: the keys of the sections, in order; ``all_steps``:
    the key of "every section" (``step=all``)."""
    wanted = VIEWS.get(page, {})
    values: dict[str, Any] = {}
    ignored: list[tuple[str, str, str]] = []
    for name in VIEW_PARAMS:
        if name not in params or name not in wanted:
            continue
        text = str(params[name])
        if name == "sentence":
            if text.strip() and len(text) <= MAX_SENTENCE:
                values[wanted[name]] = text
            else:
                ignored.append((name, text[:40], f"1 … {MAX_SENTENCE} characters"))
            continue
        if name == "step" and text.strip().lower() == "all":
            values[wanted[name]] = all_steps
            continue
        low, high = (1, len(steps)) if name == "step" else (0, sizes.get(name, 0) - 1)
        number = text.strip()
        if not number.isdigit() or not low <= int(number) <= high:
            allowed = f"{low} … {high}" + (", all" if name == "step" else "")
            ignored.append((name, text[:40], allowed))
            continue
        values[wanted[name]] = steps[int(number) - 1] if name == "step" else int(number)
    return values, ignored


def write_view(page: str, kept: Mapping[str, Any], default_sentence: str, steps: Sequence[str]) -> dict[str, str]:
    """The parameters of a link to what ``page`` shows now: each of its kept values that is set (the
    sentence only when it is not the language's default)."""
    params: dict[str, str] = {}
    for name, key in VIEWS.get(page, {}).items():
        value = kept.get(key)
        if value is None or (name == "sentence" and value == default_sentence):
            continue
        if name == "step":
            params[name] = str(steps.index(value) + 1) if value in steps else "all"
        else:
            params[name] = str(value)
    return params
