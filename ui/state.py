"""The one place a session's state is read and written.

Streamlit forgets a widget's value when another page is shown, and a rerun asked from inside a
fragment can hand widgets back their defaults (streamlit#11266): a widget's own key is no place to
keep anything. Every value a person chose is kept in one plain dictionary (``kept``/``keep``);
``bind`` gives a widget its kept value before it is drawn, and copies a change back in the
widget's on_change callback, which runs only on a person's change. Settings (model/settings.py)
are kept the same way and mirrored in the address (ui/link.py), so that a reload or a shared link
opens them again.

Per-user things (the run, the data, the model) live in ``st.session_state``; only read-only shared
things (built-in datasets, bundled checkpoints) are cached for every user.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from model import checkpoint
from model.checkpoint import Checkpoint
from model.cluster import ClusterModelStore, cluster_address
from model.config import PRESETS
from model.data import BuiltinDataset, Dataset, builtin_names, load_builtin
from model.history import RunRecord
from model.session import TrainingRun, new_run
from model.settings import BY_NAME, DEFAULT_PRESET, configs, preset_values
from model.share import ModelStore, Shared, ShareError, normalise_code
from model.tokenizer import Coverage, Tokenizer
from model.trainer import EncodedSet, pooled_vectors, projection_rows
from ui import link
from ui.i18n import DEFAULTS, LANGUAGES, ROOT, strings

_KEPT = "_kept"


# ---- kept values: the one accessor and the one writer ------------------------------------------
def kept(key: str, default: Any = None) -> Any:
    value = st.session_state.get(_KEPT, {}).get(key)
    return default if value is None else value


def keep(key: str, value: Any) -> None:
    # assigned, not mutated in place: Streamlit may hand out copies of session state
    st.session_state[_KEPT] = {**st.session_state.get(_KEPT, {}), key: value}


def bind(
    key: str,
    options: Sequence[Any] | None = None,
    default: Any = None,
    *,
    widget_key: str | None = None,
    then: Callable[[Any, Any], None] | None = None,
) -> dict[str, Any]:
    """The ``key``/``on_change`` arguments of a widget that shows the kept value ``key``.

    The kept value (else ``default``; also when it is not among ``options``, as a layer kept from a
    4-layer model in a 2-layer one) is put in the widget's key before the widget is drawn, every run:
    so it is also what a selectbox shows when its labels change under it (streamlit#13788). A widget
    drawn this way takes no value=/index=/default= of its own, as Streamlit asks.
    """
    widget_key = widget_key or key
    value = kept(key, default)
    if options is not None and value not in list(options):
        value = default
    if kept(key) != value:
        keep(key, value)
    st.session_state[widget_key] = value
    return {"key": widget_key, "on_change": _from_widget, "args": (key, widget_key, then)}


def _from_widget(key: str, widget_key: str, then: Callable[[Any, Any], None] | None) -> None:
    before, value = kept(key), st.session_state.get(widget_key)
    if value is not None:  # a click on the chosen option of a segmented control clears it: keep the choice
        keep(key, value)
    if then is not None and value is not None:
        then(before, value)


# ---- settings ----------------------------------------------------------------------------------
def settings() -> dict[str, Any]:
    """Every setting on the pages (model/settings.py), and the preset they started from."""
    return kept("settings") or {"preset": DEFAULT_PRESET, **preset_values(DEFAULT_PRESET)}


def bind_setting(name: str, options: Sequence[Any] | None = None, then: Callable[[Any], None] | None = None) -> dict:
    """As ``bind``, for a setting: the widget ``hp_<name>`` (``preset`` for the preset) shows settings()[name]."""
    widget_key = name if name == "preset" else f"hp_{name}"
    value = settings().get(name)
    if options is not None and value not in list(options):
        value = list(options)[0] if name != "device" else "auto"
        set_settings(**{name: value})
    st.session_state[widget_key] = value
    return {"key": widget_key, "on_change": _setting_from_widget, "args": (name, widget_key, then)}


def _setting_from_widget(name: str, widget_key: str, then: Callable[[Any], None] | None) -> None:
    value = st.session_state.get(widget_key)
    if value is not None:
        set_settings(**{name: value})
        if then is not None:
            then(value)


def set_settings(**values: Any) -> None:
    keep("settings", {**settings(), **values})


def apply_preset(name: str) -> None:
    """Every setting at the preset's value (a teacher's "start from tiny")."""
    name = name if name in PRESETS else DEFAULT_PRESET
    values = preset_values(name)
    set_settings(preset=name, **{k: values[k] for k in values if BY_NAME[k].from_preset})


def current_configs():
    """The model and training configs of the current settings (ConfigError if they do not fit)."""
    values = settings()
    return configs(values, values.get("preset") or DEFAULT_PRESET)


# ---- the session's first run -------------------------------------------------------------------
def start_session() -> None:
    """On a session's first run: the language, settings and dataset from the address, if it has any."""
    if st.session_state.get(_KEPT) is not None:
        return
    params = st.query_params.to_dict()
    keep("lang", params.get("lang") if params.get("lang") in LANGUAGES else "en")
    asked, ignored = link.read(params, builtin_names())
    apply_preset(asked.get("preset", DEFAULT_PRESET))
    set_settings(**{k: v for k, v in asked.items() if k not in ("preset", "dataset")})
    if "dataset" in asked:
        use_builtin(asked["dataset"])
    mode = params.get("mode")
    keep("present", mode == "present")
    if mode not in (None, "present"):
        st.session_state["_mode_notes"] = [("mode", str(mode)[:40], "present")]
    st.session_state["_link_notes"] = (asked, ignored)
    open_shared_from_address(params)
    st.session_state["_view_link"] = params  # read by the first page drawn (open_view_from_address)


def presenting() -> bool:
    """Presenter mode (``?mode=present``): larger type and figures, no sidebar or settings, one step a screen."""
    return bool(kept("present", False))


def set_presenting(on: bool) -> None:
    keep("present", on)


# ---- predict, then reveal: a student's guesses before a figure is shown, and the session's score -------
def model_id() -> str:
    """Names the model in use, for a question asked about it."""
    choice = current_model()
    return f"{choice.source}:{choice.since}:{choice.code}"


def answer(question: str) -> Any:
    """The answer given to ``question`` (a string naming the model, the sentence and what is asked), or None."""
    return kept("exercise_answers", {}).get(question)


def give_answer(question: str, chosen: Any, right: bool | None) -> None:
    """Keep the answer; a right or wrong one counts in the score (``right`` None: revealed to a class)."""
    if answer(question) is not None:
        return
    keep("exercise_answers", {**kept("exercise_answers", {}), question: chosen})
    if right is not None:
        score = kept("exercise_score", (0, 0))
        keep("exercise_score", (score[0] + int(right), score[1] + 1))


def score() -> tuple[int, int]:
    """Right answers and answers given, this session."""
    return tuple(kept("exercise_score", (0, 0)))


def link_notes() -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """What the opening link asked for and what it could not use: given once, then forgotten."""
    return st.session_state.pop("_link_notes", ({}, []))


def open_view_from_address(page: str | None) -> None:
    """The view the opening link asks ``page`` for (``/step_by_step?layer=1&step=4``), checked against the
    model it opens on; what cannot be used is kept for the page to name (``view_notes``). Once a session."""
    params = st.session_state.pop("_view_link", None)
    if not params or page not in link.VIEWS:
        return
    from model.sections import ALL, SECTIONS

    ckpt = current_model().checkpoint
    cfg = ckpt.model.cfg
    sentence = str(params.get("sentence") or kept("sentence") or default_sentence())
    n_tokens = len(ckpt.tokenizer.encode(sentence[: link.MAX_SENTENCE], cfg.max_len).ids)
    sizes = {"layer": cfg.n_layers, "head": cfg.n_heads, "query": n_tokens}
    values, ignored = link.read_view(page, params, sizes, [s.key for s in SECTIONS], ALL)
    for key, value in values.items():
        keep(key, value)
    st.session_state["_view_notes"] = ignored


def view_notes() -> list[tuple[str, str, str]]:
    """The view parameters the opening link gave that the page could not use: given once."""
    return st.session_state.pop("_mode_notes", []) + st.session_state.pop("_view_notes", [])


def mirror_in_address(page: str | None = None) -> None:
    """Keep the address in step with the settings, on every page, and with what ``page`` shows (its
    sentence, layer, head …: ui/link.py VIEWS), so that it can be shared or reloaded."""
    from model.sections import SECTIONS

    data = current_data()
    values = {**settings(), "dataset": data.name if data.builtin else None}
    wanted = link.write(values, DEFAULTS[language()].dataset)
    if page in link.VIEWS:
        steps = [s.key for s in SECTIONS]
        wanted.update(link.write_view(page, st.session_state.get(_KEPT, {}), default_sentence(), steps))
    if language() != "en":  # the language decides the default dataset, and what the reader sees
        wanted["lang"] = language()
    if presenting():
        wanted["mode"] = "present"
    model = st.session_state.get("model")
    if model is not None and model.source == "shared":
        wanted["model"] = model.code  # a reload, or the address passed on, opens the same model
    for key in (*link.ORDER, "lang", "model", "mode", *link.VIEW_PARAMS):
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


# ---- language ----------------------------------------------------------------------------------
def language() -> str:
    value = kept("lang")
    return value if value in LANGUAGES else "en"


def switch_language(old: str, new: str) -> None:
    """Follow the new language with whatever is still at the old language's default; keep the rest."""
    if new not in LANGUAGES or new == old or old not in LANGUAGES:
        return
    keep("lang", new)
    if kept("sentence") == DEFAULTS[old].sentence:
        keep("sentence", DEFAULTS[new].sentence)
    for key in ("compare_a", "compare_b", "predict_lines"):  # Predict's texts, where still the old defaults
        if kept(key) == strings(old).get(f"{key}_default"):
            keep(key, None)
    data = st.session_state.get("data")
    running = st.session_state.get("run") is not None and st.session_state["run"].active
    if data is not None and data.builtin and data.name == DEFAULTS[old].dataset and not running:
        del st.session_state["data"]  # (not under a run in progress: its results are of this data)


def default_sentence() -> str:
    """The sentence the pages open with: the page language's (DEFAULTS), unless the model shown reads most of
    it only as [UNK] or pieces (an English class model on a Chinese page); then the first default or probe
    sentence of any language that it reads."""
    choice = current_model()

    def pick() -> str:
        tokenizer = choice.checkpoint.tokenizer
        own = DEFAULTS[language()].sentence
        others = [s for d in DEFAULTS.values() for s in (d.sentence, *d.probes)]
        return next((s for s in (own, *others) if not tokenizer.read(s).mostly_unreadable), own)

    return _per_model(choice, "default_sentence", (language(),), pick)


def sentence_binding(widget_key: str) -> dict:
    """``bind`` for a page's sentence box. A sentence still at some language's default follows the model:
    opening an English model on a Chinese page turns 我很喜欢这部电影！ into the model's own default."""
    return _example_binding("sentence", default_sentence(), {d.sentence for d in DEFAULTS.values()}, widget_key)


def model_language() -> str:
    """The language of the sentences the model shown reads: the page's, unless it reads the page language's
    default sentence mostly as [UNK] or pieces and another language's not (an English class model on a
    Chinese page)."""
    choice = current_model()

    def pick() -> str:
        tokenizer = choice.checkpoint.tokenizer
        order = (language(), *(lang for lang in LANGUAGES if lang != language()))
        readable = (lang for lang in order if not tokenizer.read(DEFAULTS[lang].sentence).mostly_unreadable)
        return next(readable, language())

    return _per_model(choice, "model_language", (language(),), pick)


def text_binding(key: str, string_key: str, widget_key: str | None = None) -> dict:
    """``bind`` for a box that opens on an example (the string ``string_key``): the example in the model's
    language, and an example left untouched follows the model when another is opened."""
    default = strings(model_language()).get(string_key) or strings("en")[string_key]
    return _example_binding(key, default, {strings(lang).get(string_key) for lang in LANGUAGES}, widget_key)


def _example_binding(key: str, default: str, examples: set, widget_key: str | None) -> dict:
    """``bind`` with ``default``; a value still at one of the ``examples`` (untouched) becomes ``default``."""
    if kept(key) in examples and kept(key) != default:
        keep(key, default)
    return bind(key, default=default, widget_key=widget_key)


# ---- shared, read-only -------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def bundled_checkpoint(language: str = "en") -> Checkpoint:
    """The bundled model for the interface language: English reviews, or Chinese reviews for 中文."""
    return checkpoint.load(DEFAULTS.get(language, DEFAULTS["en"]).checkpoint)


@st.cache_resource(show_spinner=False)
def builtin_dataset(name: str) -> BuiltinDataset:
    return load_builtin(name)


# ---- the session's data, run and model ---------------------------------------------------------
@dataclass
class ModelChoice:
    checkpoint: Checkpoint
    source: str  # "bundled", "trained", "uploaded" or "shared"
    since: float  # when it became the current model
    code: str = ""  # a shared model's class code


@dataclass
class DataChoice:
    train: Dataset
    valid: Dataset
    name: str  # a built-in name, or the uploaded file's name
    builtin: bool


def current_run() -> TrainingRun:
    if "run" not in st.session_state:
        st.session_state["run"] = new_run()
    return st.session_state["run"]


def current_data() -> DataChoice:
    if "data" not in st.session_state:
        use_builtin(DEFAULTS[language()].dataset)
    return st.session_state["data"]


def use_builtin(name: str) -> None:
    ds = builtin_dataset(name)
    st.session_state["data"] = DataChoice(ds.train, ds.valid, ds.name, True)


def use_data(train: Dataset, valid: Dataset, name: str) -> None:
    st.session_state["data"] = DataChoice(train, valid, name, False)


QUEUED_POLL_SECONDS = 3.0  # a run waiting for the cluster: only its place in the queue changes


def poll_every(seconds: float) -> float | None:
    """How often a view of the run refreshes: every ``seconds`` while it trains, every
    QUEUED_POLL_SECONDS while it waits in the cluster's queue (a class of 30 whose runs wait would
    otherwise rerun 30 fragments a second on the server for nothing), never once it is over."""
    run = current_run()
    st.session_state["_drawn_queued"] = run.status == "queued"
    if not run.active:
        return None
    return max(seconds, QUEUED_POLL_SECONDS) if run.status == "queued" else seconds


def poll_changed(view) -> bool:
    """Whether the run left the queue (or went into it) since the page set how often it refreshes:
    the page is drawn again to refresh at the new rate."""
    return view.active and (view.status == "queued") != st.session_state.get("_drawn_queued", False)


def run_just_ended(active: bool) -> bool:
    """Whether the run stopped being active since the last look (by any watcher: the first to see it says so)."""
    was_active = st.session_state.get("_run_was_active", False)
    st.session_state["_run_was_active"] = active
    return was_active and not active


RUNS_KEPT = 5  # a session's last runs, to compare


def _remember_run(view) -> None:
    """Keep a finished run's settings, curves and figures (as its checkpoint records them), the last RUNS_KEPT."""
    runs = st.session_state.get("past_runs", [])
    if view.checkpoint is None or any(started == view.started_at for started, _, _ in runs):
        return
    record = RunRecord.from_checkpoint(view.checkpoint)
    if record is None:
        return
    number = st.session_state.get("runs_counted", 0) + 1
    st.session_state["runs_counted"] = number
    st.session_state["past_runs"] = [*runs, (view.started_at, number, record)][-RUNS_KEPT:]


def past_runs() -> list[tuple[int, RunRecord]]:
    """This session's last runs, oldest first: (its number in the session, the run)."""
    return [(number, record) for _, number, record in st.session_state.get("past_runs", [])]


def adopt_finished_run() -> None:
    """A finished run's model becomes the session's model, and stays so when the next run starts."""
    view = current_run().view()
    if not view.active:
        _remember_run(view)
    chosen: ModelChoice | None = st.session_state.get("model")
    if view.checkpoint is not None and not view.active and (chosen is None or chosen.since < view.started_at):
        st.session_state["model"] = ModelChoice(view.checkpoint, "trained", view.started_at)


def current_model() -> ModelChoice:
    """The newest of: the model this session trained, the one it uploaded; else the bundled one."""
    adopt_finished_run()
    return st.session_state.get("model") or ModelChoice(bundled_checkpoint(language()), "bundled", 0.0)


def set_model(ckpt: Checkpoint, source: str) -> None:
    st.session_state["model"] = ModelChoice(ckpt, source, time.time())


# ---- a model shared with the class under a code (model/share.py) ----------------------------------
def model_store() -> ModelStore:
    """The store of shared models: on the Ray cluster when one is named (every app replica reads the
    same one; model/cluster.py), else this server's SQLite file, CLASSROOM_STORE (default .store/ here)."""
    if cluster_address():
        return ClusterModelStore()
    return ModelStore(os.environ.get("CLASSROOM_STORE") or ROOT / ".store" / "shared-models.sqlite3")


def share_run_model() -> Shared:
    """Keep the finished run's model (the zip the Train page offers for download) in the store under a new
    code (ShareError, CheckpointError when it cannot)."""
    view = current_run().view()
    shared = model_store().share(view.archive)
    keep("shared_by_me", {"code": shared.code, "expires": shared.expires, "since": view.started_at})
    return shared


def shared_link(code: str) -> str:
    """The address that opens the model shared under ``code``: this server's Predict page, in the page's language."""
    where = urlsplit(str(st.context.url or ""))
    base = where.path.rsplit("/", 1)[0] if where.path.count("/") > 1 else ""  # under a base URL path, if any
    query = urlencode({"model": code, **({"lang": language()} if language() != "en" else {})})
    return urlunsplit((where.scheme, where.netloc, f"{base}/predict", query, ""))


@st.cache_resource(show_spinner=False, max_entries=16, ttl=3600)
def _shared_checkpoint(code: str) -> Checkpoint:
    """A shared model, read once for every session that opens its code (it is read-only, as the bundled one)."""
    return model_store().open(code)


def open_shared(text: str) -> ModelChoice:
    """The model shared under the code ``text`` becomes the session's model (ShareError, CheckpointError)."""
    code = normalise_code(text)
    choice = ModelChoice(_shared_checkpoint(code), "shared", time.time(), code)
    st.session_state["model"] = choice
    return choice


def open_shared_from_address(params: dict[str, str]) -> None:
    """``?model=CODE``: open that model; what happened is kept for the page to say (``share_notes``)."""
    if "model" not in params:
        return
    try:
        choice = open_shared(params["model"])
    except (ShareError, checkpoint.CheckpointError) as exc:
        st.session_state["_share_note"] = ("error", exc)
        del st.query_params["model"]  # a reload must not say it again
    else:
        st.session_state["_share_note"] = ("opened", choice.code)


def open_typed_code(text: str) -> None:
    """The code typed in the sidebar's box: open its model; what happened is kept for the page to say at its
    top (``share_notes``: on a phone the sidebar may be closed) and for the box (``typed_code_error``)."""
    if not text.strip():
        return
    try:
        choice = open_shared(text)
    except (ShareError, checkpoint.CheckpointError) as exc:
        st.session_state["_share_note"] = ("typed_error", exc)  # the model in use stays
    else:
        st.session_state["_share_note"] = ("opened", choice.code)


def typed_code_error() -> Exception | None:
    """Why the code just typed opened nothing (None when it opened a model, or nothing was typed)."""
    note = st.session_state.get("_share_note")
    return note[1] if note and note[0] == "typed_error" else None


def share_notes() -> tuple[str, Any] | None:
    """What the class code gave, once: ("opened", code), or the exception of a link's code ("error") or of a
    typed one ("typed_error")."""
    return st.session_state.pop("_share_note", None)


def is_chinese(data: DataChoice) -> bool:
    sample = "".join(data.train.texts[:50])
    return sum("\u4e00" <= ch <= "\u9fff" for ch in sample) > len(sample) * 0.2


def start_training() -> None:
    """Start a run with the current settings on the current data.

    The previous run's model stays the session's model until this one finishes. Raises ConfigError
    (settings that do not fit) or ServerBusy.
    """
    adopt_finished_run()
    model_cfg, train_cfg = current_configs()
    data = current_data()
    run = current_run()
    probes = DEFAULTS["zh" if is_chinese(data) else "en"].probes
    if not run.active:
        run.reset()
    run.start(data.train, data.valid, model_cfg, train_cfg, list(probes), data.name)


# ---- what the Data page shows of a tokenizer: shared by every session for the built-in sets ---------
@st.cache_resource(show_spinner=False)
def _builtin_coverage(dataset: str, language: str | None, kind: str | None = None, vocab_size: int | None = None):
    """Coverage of a built-in set by the bundled model of ``language``, or by a tokenizer learnt on it."""
    data = builtin_dataset(dataset)
    tokenizer = bundled_checkpoint(language).tokenizer if language else _builtin_tokenizer(dataset, kind, vocab_size)
    return tokenizer.coverage(data.train.texts + data.valid.texts)


@st.cache_resource(show_spinner=False)
def _builtin_tokenizer(dataset: str, kind: str, vocab_size: int) -> Tokenizer:
    return Tokenizer.train(builtin_dataset(dataset).train.texts, vocab_size, kind)


def coverage(model: ModelChoice, data: DataChoice) -> Coverage:
    """How much of the data the model's vocabulary reads whole, computed once per model and dataset."""
    if model.source == "bundled" and data.builtin:
        return _builtin_coverage(data.name, language())
    return _session_cached(
        "coverage",
        (id(model.checkpoint), id(data.train)),
        lambda: model.checkpoint.tokenizer.coverage(data.train.texts + data.valid.texts),
    )


def preview_tokenizer(data: DataChoice, kind: str, vocab_size: int) -> tuple[Tokenizer, Coverage]:
    """A tokenizer learnt on the data's training texts, as the next run would learn it, and its coverage."""
    if data.builtin:
        return _builtin_tokenizer(data.name, kind, vocab_size), _builtin_coverage(data.name, None, kind, vocab_size)

    def learn():
        tokenizer = Tokenizer.train(data.train.texts, vocab_size, kind)
        return tokenizer, tokenizer.coverage(data.train.texts + data.valid.texts)

    return _session_cached("preview_tokenizer", (id(data.train), kind, vocab_size), learn)


def _session_cached(slot: str, key: tuple, compute: Callable[[], Any]) -> Any:
    """One value per session, computed again only when its key changes (an upload is one session's)."""
    cached = st.session_state.get(f"_cache_{slot}")
    if cached is None or cached[0] != key:
        cached = (key, compute())
        st.session_state[f"_cache_{slot}"] = cached
    return cached[1]


# ---- why the model decided: the validation set that goes with the model, and what is computed on it ----
WHY_SENTENCES = 600  # at most this many validation sentences, evenly spaced: head ablation and the projection


@dataclass
class ModelValidation:
    """The labelled sentences the Why page measures the current model on."""

    data: Dataset  # at most WHY_SENTENCES of the validation set, evenly spaced
    encoded: EncodedSet  # ``data`` encoded by the model's tokenizer
    total: int  # sentences in the whole validation set
    origin: str  # "builtin" (the bundled model's own dataset), "run" (the set it trained against), "data"
    name: str  # the dataset's name: a built-in name or a file's
    builtin: bool


def _model_key(choice: ModelChoice) -> tuple:
    return (choice.source, choice.since, id(choice.checkpoint))


@st.cache_resource(show_spinner=False)
def _shared_cached(slot: str, key: tuple, _compute: Callable[[], Any]) -> Any:
    return _compute()


def _per_model(choice: ModelChoice, slot: str, key: tuple, compute: Callable[[], Any]) -> Any:
    """Computed once per model and ``key``: for the bundled model once for every session (it is
    read-only and the same for all of a language's visitors: a class opening the page computes it
    once), for any other model once per session."""
    if choice.source == "bundled":
        return _shared_cached(slot, (language(), *key), compute)
    return _session_cached(f"why_{slot}", (*_model_key(choice), *key), compute)


def _labelled_validation(choice: ModelChoice) -> tuple[Dataset, str, str, bool] | None:
    """The whole validation set that goes with the model, where it came from, its name and whether it is built in."""
    ckpt = choice.checkpoint
    if choice.source == "bundled":
        name = DEFAULTS[language()].dataset
        return builtin_dataset(name).valid, "builtin", name, True
    view = current_run().view()
    dataset = ckpt.meta.get("dataset")
    described = str(dataset.get("description") or "") if isinstance(dataset, dict) else ""
    if choice.source == "trained" and view.valid is not None and view.started_at == choice.since:
        name = described or current_data().name
        return view.valid, "run", name, name in builtin_names()
    if described in builtin_names() and len(ckpt.label_names) == len(builtin_dataset(described).valid.label_names):
        return builtin_dataset(described).valid, "builtin", described, True  # shared or uploaded, of a built-in set
    data = current_data()  # an uploaded model, or a trained one whose run has been replaced since
    if len(data.valid) and list(data.valid.label_names) == list(ckpt.label_names):
        return data.valid, "data", data.name, data.builtin
    return None


def model_validation(choice: ModelChoice) -> ModelValidation | None:
    """The validation set that goes with the model (at most WHY_SENTENCES, evenly spaced), encoded once
    per model; None when there is none with the model's classes (an uploaded checkpoint, other data)."""
    found = _labelled_validation(choice)
    if found is None:
        return None
    valid, origin, name, builtin = found

    def build() -> ModelValidation:
        rows = projection_rows(len(valid), WHY_SENTENCES)
        data = Dataset([valid.texts[i] for i in rows], [valid.labels[i] for i in rows], list(valid.label_names))
        encoded = EncodedSet.build(data, choice.checkpoint.tokenizer, choice.checkpoint.model.cfg.max_len)
        return ModelValidation(data, encoded, len(valid), origin, name, builtin)

    return _per_model(choice, "validation", (id(valid), WHY_SENTENCES), build)


def head_means(choice: ModelChoice, validation: ModelValidation):
    """(L, H, Dh) each head's mean output over the validation sentences: what "mean" ablation puts in."""
    from model import explain

    key = (id(validation.encoded),)
    return _per_model(choice, "means", key, lambda: explain.head_means(choice.checkpoint.model, validation.encoded))


def head_analysis(choice: ModelChoice, validation: ModelValidation, replacement: str):
    """Every head's importance (each alone off) and the pruning curve, with ``replacement`` ("zeros" or
    "mean") for the heads switched off; computed once per model and replacement."""
    from model import explain

    def compute():
        model, means = choice.checkpoint.model, head_means(choice, validation) if replacement == "mean" else None
        importance = explain.head_importance(model, validation.encoded, means)
        return importance, explain.prune_curve(model, validation.encoded, importance, means)

    return _per_model(choice, f"heads_{replacement}", (id(validation.encoded),), compute)


def ablated_validation(choice: ModelChoice, validation: ModelValidation, heads: Sequence[tuple[int, int]], means):
    """Mean loss and accuracy on the validation sentences with ``heads`` off (the last set asked, kept)."""
    from model import explain

    model = choice.checkpoint.model
    heads = tuple(sorted(heads))

    def compute():
        loss, accuracy, _ = explain.evaluate_ablated(
            model, validation.encoded, explain.ablation_for(model, heads, means)
        )
        return loss, accuracy

    key = (*_model_key(choice), id(validation.encoded), heads, None if means is None else id(means))
    return _session_cached("why_ablated", key, compute)


def explanation(choice: ModelChoice, sentence: str):
    """model.explain.explain for the sentence: attributions take a few seconds, so they are kept, for the
    bundled model shared by every session (a class types the same sentences), else for the last sentence."""
    from model import explain

    if choice.source == "bundled":
        return _bundled_explanation(language(), sentence)
    return _session_cached(
        "why_explain", (*_model_key(choice), sentence), lambda: explain.explain(choice.checkpoint, sentence)
    )


@st.cache_resource(show_spinner=False, max_entries=256)
def _bundled_explanation(lang: str, sentence: str):
    from model import explain

    return explain.explain(bundled_checkpoint(lang), sentence)


def snapshot_vectors(choice: ModelChoice, snapshots: Sequence, sentence: str) -> list:
    """The pooled vector (1, D) of ``sentence`` by the model as it was at each of the run's ``snapshots``."""
    from model import explain

    ckpt = choice.checkpoint
    steps = tuple(snap.step for snap in snapshots)

    def compute():
        return explain.snapshot_vectors(ckpt.model, ckpt.tokenizer, snapshots, [sentence])

    return _session_cached("why_snapshot_vectors", (*_model_key(choice), steps, sentence), compute)


def validation_vectors(choice: ModelChoice, validation: ModelValidation, probes: Sequence[str]):
    """The pooled vectors (N, D) and predicted classes (N,) of the validation sentences, and the pooled
    vectors of ``probes`` (M, D), by the model as it is now."""
    from model import explain

    ckpt = choice.checkpoint

    def compute():
        sentences = range(len(validation.encoded))  # already encoded by the model's tokenizer: not again
        device = next(ckpt.model.parameters()).device
        vectors, predicted = pooled_vectors(ckpt.model, validation.encoded, sentences, device)
        probe_vectors, _ = explain.pooled_vectors(ckpt.model, ckpt.tokenizer, list(probes))
        return vectors, predicted, probe_vectors

    return _per_model(choice, "vectors", (id(validation.encoded), tuple(probes)), compute)
