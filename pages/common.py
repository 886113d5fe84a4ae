"""What every page shares: translated strings, per-session state accessors and a few small UIs.

Per-user things (the training run, the chosen model, the sentence) live in ``st.session_state``;
only read-only shared things (built-in datasets, the bundled checkpoint) are cached for all users.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from model import checkpoint
from model.checkpoint import ASSETS_CHECKPOINT, Checkpoint
from model.data import BuiltinDataset, Dataset, load_builtin
from model.inspect import InputError, Inspection, inspect_sentence
from model.session import TrainingRun
from model.tokenizer import WordReading

ROOT = Path(__file__).resolve().parent.parent


_run = threading.local()  # per script run (Streamlit runs each in its own thread)


def entered_from_app() -> None:
    """Called first thing by app.py: this run goes through st.navigation."""
    _run.via_app = True


def _leave_legacy_pages_mode() -> None:
    """Make sure app.py's st.navigation runs, even when a deep link is a fresh server's first request.

    With a folder named pages/ beside app.py, Streamlit starts in its legacy mode (every file
    in pages/ becomes a page run without app.py) until some session calls st.navigation
    (streamlit/runtime/pages_manager.py, commands/navigation.py). A first visitor arriving
    at /attention would otherwise leave every session without the language switch and with
    "common" listed as a page. Switch the legacy mode off and rerun through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    first_run = not st.session_state.get("_session_started")
    st.session_state["_session_started"] = True
    if getattr(_run, "via_app", False):
        return  # app.py is running this page: st.navigation has switched the legacy mode off
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        # Rerun through app.py only on a session's first run: there is no click yet to lose then.
        # (Once switched off the mode stays off in a server; AppTest switches it on for every run.)
        if first_run:
            st.rerun()


STRINGS_DIR = ROOT / "assets" / "i18n"
LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_SENTENCE = {"en": "I love this movie!", "zh": "我很喜欢这部电影！"}
ACTIVATION_NAMES = {"relu": "ReLU", "gelu": "GELU"}  # as the article and the papers write them


def activation_tex(activation: str, argument: str) -> str:
    """The activation applied to ``argument``, as a formula: max(0, ·) for ReLU, GELU(·)."""
    return rf"\max(0,\, {argument})" if activation == "relu" else rf"\mathrm{{GELU}}({argument})"


# ---- language -------------------------------------------------------------------------------
@st.cache_data
def strings(lang: str) -> dict[str, str]:
    return json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def lang() -> str:
    """The interface language: the switch's value, else the last one chosen, else ?lang=, else English.

    The switch can be empty (a click on the selected option clears it), so never trust it alone.
    """
    value = st.session_state.get("lang")
    if value in LANGUAGES:
        return value
    fallback = st.session_state.get("_lang_before") or st.query_params.get("lang", "en")
    fallback = fallback if fallback in LANGUAGES else "en"
    if "lang" not in st.session_state:  # before the switch exists: seed it
        st.session_state["lang"] = fallback
    return fallback


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


def t_plain(key: str, **values) -> str:
    """The string ``key`` with values filled in unescaped: for Plotly, whose builders escape HTML."""
    text = strings(lang()).get(key) or strings("en").get(key, key)
    return text.format(**values) if values else text


def _switch_language() -> None:
    """Follow the new language with whatever is still at the old language's default; keep the rest."""
    old = st.session_state.get("_lang_before", "en")
    new = st.session_state.get("lang") if st.session_state.get("lang") in LANGUAGES else old
    st.session_state["lang"] = st.session_state["_lang_before"] = new
    st.query_params["lang"] = new
    if st.session_state.get("sentence") == DEFAULT_SENTENCE[old]:
        st.session_state["sentence"] = DEFAULT_SENTENCE[new]
        for page in ("attention", "steps"):
            st.session_state[f"sentence_input_{page}"] = DEFAULT_SENTENCE[new]
    data = st.session_state.get("data")
    if data is not None and data.builtin and data.name == DEFAULT_DATASET[old]:
        del st.session_state["data"]


def language_ui() -> None:
    st.session_state.setdefault("_lang_before", lang())
    st.sidebar.segmented_control(
        "🌐", options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang", label_visibility="collapsed",
        on_change=_switch_language,
    )  # fmt: skip


# Settings a student expects to find again after visiting another page. Streamlit drops the state
# of a page's widgets when another page is shown, so their values are also kept in a plain key.
PERSISTENT_WIDGETS = (
    "preset", "tokenizer_kind", "vocab_size", "steps_layer", "steps_head", "attention_layer", "cls_layer",
    "lines_layer", "lines_head",
    "compare_a", "compare_b", "compare_layer",
    *(f"hp_{name}" for name in ("n_layers", "n_heads", "d_model", "d_ff", "dropout", "lr", "batch_size", "epochs",
                                "positional", "pooling", "activation", "seed", "device")),
)  # fmt: skip


def begin_page() -> None:
    """The first call of every page: leave Streamlit's legacy pages mode, restore settings.

    (Called from the page's run, not at import: an st.rerun() raised while several sessions are
    importing this module at once would break their imports.)
    """
    _leave_legacy_pages_mode()
    restore_widget_state()


def restore_widget_state() -> None:
    """At the start of a page: put back the remembered value of any setting Streamlit dropped."""
    for key, value in st.session_state.get("_remembered", {}).items():
        if key not in st.session_state:
            st.session_state[key] = value


def seed_choice(key: str, options, default, labels: Sequence[str] | None = None):
    """Seed a persistent choice before its widget: the default, or a remembered value still valid.

    (A layer remembered from a 4-layer model does not exist in a 2-layer one.) Widgets seeded
    this way take no value=/index=/default= of their own, as Streamlit asks.

    ``labels``: what the widget shows for its options, where that can change under a kept value
    (another sentence's tokens, another language). A selectbox would go on showing the label it
    was drawn with ("2: love" once token 2 of the new sentence is "film", "layer 0" in Chinese)
    though its value is right (streamlit#13788); the value set again from here redraws its label.
    """
    options = list(options)
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
    if labels is not None:
        drawn = f"_labels_{key}"
        if st.session_state.get(drawn, labels) != list(labels):
            st.session_state[key] = st.session_state[key]
        st.session_state[drawn] = list(labels)
    return options


def remember_widget_state() -> None:
    """At the end of a page: remember the current value of every persistent setting.

    Called from the page itself: widget keys are scoped to the page that drew them.
    """
    remembered = dict(st.session_state.get("_remembered", {}))
    for key in PERSISTENT_WIDGETS:  # named: st.session_state.keys() does not list widget keys
        value = st.session_state.get(key)
        if value is not None:
            remembered[key] = value
    st.session_state["_remembered"] = remembered  # assigned, not mutated in place: state may be copied


# ---- shared, read-only -------------------------------------------------------------------------
BUNDLED = {"en": ASSETS_CHECKPOINT, "zh": ASSETS_CHECKPOINT.with_name("checkpoint_zh")}
DEFAULT_DATASET = {"en": "sentiment_en", "zh": "sentiment_zh"}


@st.cache_resource(show_spinner=False)
def bundled_checkpoint(language: str = "en") -> Checkpoint:
    """The bundled model for the interface language: English reviews, or Chinese reviews for 中文."""
    return checkpoint.load(BUNDLED.get(language, ASSETS_CHECKPOINT))


@st.cache_resource(show_spinner=False)
def builtin_dataset(name: str) -> BuiltinDataset:
    return load_builtin(name)


# ---- per session ------------------------------------------------------------------------------
@dataclass
class ModelChoice:
    checkpoint: Checkpoint
    source: str  # "bundled", "trained" or "uploaded"
    since: float  # when it became the current model


@dataclass
class DataChoice:
    train: Dataset
    valid: Dataset
    name: str  # a built-in name, or the uploaded file's name
    builtin: bool


def current_run() -> TrainingRun:
    return st.session_state.setdefault("run", TrainingRun())


def current_data() -> DataChoice:
    if "data" not in st.session_state:
        ds = builtin_dataset(DEFAULT_DATASET[lang()])
        st.session_state["data"] = DataChoice(ds.train, ds.valid, ds.name, True)
    return st.session_state["data"]


def current_model() -> ModelChoice:
    """The newest of: the model this session trained, the one it uploaded, the bundled one."""
    run = current_run()
    chosen: ModelChoice | None = st.session_state.get("model")
    trained = run.view().checkpoint
    if trained is not None and (chosen is None or chosen.since < (run.started_at or 0)):
        return ModelChoice(trained, "trained", run.started_at or time.time())
    return chosen or ModelChoice(bundled_checkpoint(lang()), "bundled", 0.0)


def set_model(ckpt: Checkpoint, source: str) -> None:
    st.session_state["model"] = ModelChoice(ckpt, source, time.time())


def model_banner() -> Checkpoint:
    """Say which model the page shows, and return it; before any training, offer a quick training."""
    choice = current_model()
    ckpt = choice.checkpoint
    acc = ckpt.meta.get("metrics", {}).get("valid_accuracy")
    described = t(f"model_source_{choice.source}", accuracy=f"{acc:.1%}" if acc is not None else "—")
    if choice.source == "bundled":
        col_text, col_button = st.columns([4, 1])
        col_text.info(described, icon="📦")
        if col_button.button(t("quick_train"), help=t("quick_train_help"), width="stretch"):
            quick_train()
    else:
        st.caption(described)
    return ckpt


def quick_train() -> None:
    from model.config import preset
    from model.session import PROBE_SENTENCES, ServerBusy

    data = current_data()
    model_cfg, train_cfg = preset("tiny")
    run = current_run()
    try:
        run.reset()
        run.start(data.train, data.valid, model_cfg, train_cfg, PROBE_SENTENCES["zh" if is_chinese(data) else "en"],
                  data.name)  # fmt: skip
    except ServerBusy:
        st.error(t("server_busy"))
        return
    st.switch_page("pages/train.py")


def is_chinese(data: DataChoice) -> bool:
    sample = "".join(data.train.texts[:50])
    return sum("\u4e00" <= ch <= "\u9fff" for ch in sample) > len(sample) * 0.2


def sentence_ui(page: str) -> str:
    """The sentence to open the model up on, shared by the Attention and Step-by-step pages.

    Streamlit forgets a widget's state when the page changes, so the sentence itself lives in
    ``st.session_state["sentence"]`` and each page's text box starts from it.
    """
    shared = st.session_state.setdefault("sentence", DEFAULT_SENTENCE[lang()])
    key = f"sentence_input_{page}"
    if key not in st.session_state:
        st.session_state[key] = shared
    value = st.text_input(t("sentence_label"), key=key, help=t("sentence_help"), max_chars=2000)
    st.session_state["sentence"] = value
    return value


def inspect_ui(ckpt: Checkpoint, sentence: str) -> Inspection | None:
    """Run the traced forward; show a clear message instead of a traceback on bad input."""
    try:
        result = inspect_sentence(ckpt, sentence)
    except InputError:
        st.warning(t("empty_sentence"), icon="✍️")
        return None
    if result.truncated:
        st.warning(t("truncated", n=result.n_tokens_before_truncation, max_len=ckpt.model.cfg.max_len), icon="✂️")
    unreadable_warning(ckpt, sentence)
    return result


def unreadable_words(words: Sequence[WordReading], limit: int = 6) -> str:
    """The words the model cannot read whole, each with what it became: "rude (r ##ud ##e), 我 ([UNK])"."""
    shown = [f"{w.word} ({' '.join(w.tokens)})" for w in words[:limit]]
    return t_plain("word_separator").join(shown + ["…"] * (len(words) > limit))


def unreadable_warning(ckpt: Checkpoint, sentence: str) -> None:
    """Warn when the model reads most of the sentence's words only in pieces or not at all."""
    reading = ckpt.tokenizer.read(sentence)
    if reading.mostly_unreadable:
        words = unreadable_words(reading.unreadable)
        st.warning(t("unreadable_warning", n=len(reading.unreadable), total=len(reading.words), words=words), icon="🧩")


def show_chart(where, chart, key: str | None = None) -> None:
    """Show an Altair chart from figures/ without re-validating its spec on every rerun.

    Altair's schema validation took ~23 ms a chart, most of an Attention-page rerun; the specs
    come from our own builders, which tests/test_figures.py validates once.
    """
    where.vega_lite_chart(chart.to_dict(validate=False), width="stretch", key=key)


def head_titles(n_heads: int) -> list[str]:
    return [t("head_n", n=h) for h in range(n_heads)]


def layer_titles(n_layers: int) -> list[str]:
    return [t("layer_n", n=i) for i in range(n_layers)]


def pick(where, label: str, titles: list[str], key: str, default: int) -> int:
    """One of a model's layers or heads (``titles``), as a row of buttons in ``where``, remembered
    under ``key``. A click on the chosen button clears the control; that reads as the first one."""
    options = seed_choice(key, range(len(titles)), default)
    return where.segmented_control(label, options, format_func=titles.__getitem__, key=key) or 0
