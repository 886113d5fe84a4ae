"""The builders pages call: each draws one piece of the interface and keeps what it needs in ui/state.py."""

from __future__ import annotations

import html
import zlib
from collections.abc import Sequence

import streamlit as st
import torch

from figures import token_bars
from figures.base import figure_csv, for_projector
from figures.training import chart_image
from model.checkpoint import Checkpoint
from model.cluster import ClusterError
from model.config import PRESETS, ConfigError
from model.inspect import InputError, Inspection, inspect_sentence, most_attended
from model.session import ServerBusy
from model.settings import BY_NAME, Setting
from model.tokenizer import WordReading
from ui import state
from ui.i18n import ACTIVATION_NAMES, LANGUAGES, class_names, device_name, has, md, t, t_plain

# Plotly's toolbar (zoom, pan, download) sits over a figure's top right corner, and on a touch
# screen it is always shown: every figure keeps a band at its top clear for it (figures/base.py,
# TOOLBAR_PX), and the toolbar offers only what a classroom uses.
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


# ---- language and the run, in the sidebar of every page ----------------------------------------
def language_ui() -> None:
    st.sidebar.segmented_control(
        "🌐",
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        label_visibility="collapsed",
        **state.bind("lang", LANGUAGES, "en", then=state.switch_language),
    )


def class_code_ui() -> None:
    """In the sidebar: type the code a teacher read out, and every page shows the model shared under it.

    The box shows the code of the shared model that is open. A code that opens nothing is said under the box
    and, as what any code gave, at the top of the page (share_notes_ui): on a phone the sidebar may close.
    """
    from ui.errors import error_text

    choice = state.current_model()
    open_code = spaced(choice.code) if choice.source == "shared" else ""
    if st.session_state.get("_class_code_shows") != open_code or "class_code_box" not in st.session_state:
        st.session_state["class_code_box"] = open_code  # another model is open: the box shows its code, or none
        st.session_state["_class_code_shows"] = open_code
    with st.sidebar.form("class_code", border=False, enter_to_submit=True):
        st.text_input(
            t("class_code_label"),
            max_chars=12,
            placeholder=t_plain("class_code_placeholder"),
            help=t("class_code_help"),
            key="class_code_box",
        )
        st.form_submit_button(t("class_code_open"), icon="🔑", on_click=_open_typed_code)
    failed = state.typed_code_error()
    if failed is not None:
        st.sidebar.error(t("class_code_failed", error=error_text(failed)), icon="🚫")


def _open_typed_code() -> None:
    state.open_typed_code(st.session_state.get("class_code_box") or "")


def spaced(code: str) -> str:
    """A class code as it is read aloud: in two halves."""
    return f"{code[:3]} {code[3:]}"


def share_notes_ui() -> None:
    """What the link's or the sidebar's class code gave, once, at the top of the page."""
    from ui.errors import error_text

    note = state.share_notes()
    if note is None:
        return
    kind, value = note
    if kind == "opened":
        st.success(t("class_code_opened", code=spaced(value)), icon="🔑")
    elif kind == "typed_error":  # the code typed in the sidebar: the model in use stays
        st.error(t("class_code_failed", error=error_text(value)), icon="🚫")
    else:  # a link's code: the student had no model of their own before it
        st.error(t("class_code_failed_link", error=error_text(value)), icon="🚫")


def link_notes_ui(ignored: list[tuple[str, str, str]]) -> None:
    """The values a link asked for that the page cannot show, each named with what it may be."""
    if ignored:
        items = "; ".join(t_plain("link_ignored_item", name=n, value=v, allowed=allowed) for n, v, allowed in ignored)
        st.warning(t("link_ignored", items=items), icon="🔗")


def run_status_ui() -> None:
    """A run in progress is visible on every page, and keeps running while you look elsewhere.

    The fragment polls the run (and tells it someone is watching: a run nobody watches stops by
    itself); when the run ends it redraws the page once, so the page shows the new model.
    """
    run = state.current_run()

    @st.fragment(run_every=state.poll_every(2.0))
    def status() -> None:
        run.heartbeat()
        view = run.view()
        if state.run_just_ended(view.active) or state.poll_changed(view):
            st.rerun(scope="app")  # the run ended (every page now shows its model), or left the queue
        if view.status == "idle":
            return
        last = view.steps[-1] if view.steps else None
        where = {"step": last.step if last else 0, "total": last.total_steps if last else 0}
        where["position"] = queue_position_text(view)
        with st.container(border=True):
            if view.active:
                st.markdown(t(f"run_status_{view.status}", **where))
                st.progress(min(1.0, where["step"] / max(1, where["total"])))
            else:
                accuracy = f"{view.done.valid_accuracy:.1%}" if view.done else "—"
                st.markdown(t(f"run_status_{view.status}", accuracy=accuracy, **where))
            st.page_link("pages/train.py", label=t("run_status_open"), icon="🏋️")

    with st.sidebar:
        status()


def queue_position_text(view) -> str:
    """Where a run waiting for the cluster is in the class's queue, in words."""
    if view.queue_position is None:
        return t("queue_position_unknown")
    return t("queue_position", n=view.queue_position)


# ---- the model a page shows ---------------------------------------------------------------------
def model_banner() -> Checkpoint:
    """Say which model the page shows, and return it; before any training, offer a quick training."""
    choice = state.current_model()
    ckpt = choice.checkpoint
    metrics = ckpt.meta.get("metrics")
    acc = metrics.get("valid_accuracy") if isinstance(metrics, dict) else None
    accuracy = f"{acc:.1%}" if acc is not None else "—"
    described = t(f"model_source_{choice.source}", accuracy=accuracy, code=spaced(choice.code))
    if state.presenting() and choice.source == "bundled":  # a projector shows the lesson, not the offer
        st.caption(t("model_source_bundled_short", accuracy=accuracy))
    elif state.current_run().active:  # the bundled model's text invites a quick training: not while one runs
        shown = t("model_source_bundled_short", accuracy=accuracy) if choice.source == "bundled" else described
        st.info(shown + " " + t("model_while_training"), icon="⏳")
    elif choice.source == "bundled":
        col_text, col_button = st.columns([4, 1], vertical_alignment="center")
        col_text.info(described, icon="📦")
        if col_button.button(t("quick_train"), help=t("quick_train_help"), width="stretch"):
            quick_train()
    else:
        st.caption(described)
    return ckpt


def quick_train() -> None:
    """The tiny preset on the current data, then the Train page to watch it (only offered when no run is on)."""
    state.apply_preset("tiny")
    if start_training_ui():
        st.switch_page("pages/train.py")


def start_training_ui() -> bool:
    """Start a run with the current settings; say why not in the page's language when it cannot start."""
    from ui.errors import error_text

    try:
        state.start_training()
    except ConfigError as exc:
        st.error(t("settings_error", error=error_text(exc)), icon="⚙️")
        return False
    except ServerBusy:
        st.error(t("server_busy"), icon="⏳")
        return False
    except ClusterError as exc:  # the reason is Ray's or the network's own, in English
        st.error(t("cluster_error", detail=str(exc)), icon="🛰️")
        return False
    return True


# ---- settings -----------------------------------------------------------------------------------
def available_devices() -> list[str]:
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def preset_ui() -> None:
    st.segmented_control(
        t("preset"),
        list(PRESETS),
        format_func={p: t(f"preset_{p}") for p in PRESETS}.__getitem__,
        help=t("preset_help"),
        **state.bind_setting("preset", list(PRESETS), then=state.apply_preset),
    )


def setting_ui(where, name: str, *, disabled: bool = False, label: str | None = None):
    """The widget of one setting (model/settings.py), drawn in ``where`` and kept in ui/state.py."""
    setting: Setting = BY_NAME[name]
    options = available_devices() if name == "device" else list(setting.choices)
    kwargs = {
        "label": label or t(f"hp_{name}"),
        "help": t(f"hp_{name}_help") if has(f"hp_{name}_help") else None,
        "disabled": disabled,
        **state.bind_setting(name, options or None),
    }
    if setting.widget == "number":
        return where.number_input(min_value=int(setting.low), max_value=int(setting.high), step=1, **kwargs)
    # The names are looked up now, in this run's language: a format_func is also called later, outside it.
    names = {option: choice_name(name, option) for option in options}
    if setting.widget == "radio":
        return where.radio(options=options, format_func=names.__getitem__, **kwargs)
    return where.select_slider(options=options, format_func=names.__getitem__, **kwargs)


def choice_name(name: str, option) -> str:
    """How one of a setting's choices is written: 0.001, ReLU, [CLS], GPU (CUDA), WordPiece."""
    if name == "activation":
        return ACTIVATION_NAMES[option]
    if name == "device":
        return device_name(option)
    if name == "tokenizer":
        return {"wordpiece": "WordPiece", "bpe": "BPE"}[option]
    if name in ("positional", "pooling"):
        return t(f"{name}_{option}")
    return f"{option:g}" if isinstance(option, float) else str(option)


def setting_label(name: str) -> str:
    """A setting's name as the pages write it (its hp_ string), for a table or a report; hp_<name>_table where
    the widget's label leans on its page (the Data page's tokenizer "Type")."""
    for key in (f"hp_{name}_table", f"hp_{name}"):
        if has(key):
            return t_plain(key)
    return name


def setting_text(name: str, value) -> str:
    """A setting's value as the pages write it: a choice by its name (ReLU, WordPiece, 可学习), a share as a
    percentage, 0 where it means "none" or "automatic" in words, any other number plainly (0.001, 8,000)."""
    if name in ("activation", "device", "tokenizer", "positional", "pooling"):
        try:
            return choice_name(name, value)
        except KeyError:  # a value of a newer or older version of the app
            return str(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if name == "warmup":
        return f"{value:.0%}"
    if name in ("time_budget", "eval_every", "snapshot_every", "grad_clip") and value == 0:
        zero = {"time_budget": "none", "grad_clip": "off", "eval_every": "eval_auto", "snapshot_every": "snapshot_auto"}
        return t_plain(f"setting_{zero[name]}")
    if name == "time_budget":
        return t_plain("setting_seconds", n=f"{value:g}")
    if name in ("eval_every", "snapshot_every"):
        return t_plain("setting_steps", n=f"{value:,}")
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


# ---- a sentence, opened up ----------------------------------------------------------------------
def sentence_ui(page: str) -> str:
    """The sentence to open the model up on, one for every page that has a sentence box."""
    return st.text_input(
        t("sentence_label"),
        help=t("sentence_help"),
        max_chars=2000,
        **state.sentence_binding(f"sentence_input_{page}"),
    )


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


# ---- figures and pickers ------------------------------------------------------------------------
def show_chart(where, chart, key: str | None = None) -> None:
    """Show an Altair chart from figures/ without re-validating its spec on every rerun.

    Altair's schema validation took most of an Attention-page rerun; the specs come from our own
    builders, which tests/test_figures.py validates once.
    """
    where.vega_lite_chart(chart.to_dict(validate=False), width="stretch", key=key)


# Under every figure: PNG and SVG scaled to a projector's width, drawn by Plotly's own export in the browser
# (Plotly.downloadImage: nothing to install on the server), and the numbers behind it as CSV. One click
# handler a page, installed once; a button finds its figure in the container around both.
EXPORT_WIDTH = 1920
EXPORT_SCRIPT = """<script>
if (!window.classroomExport) {
  window.classroomExport = true;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-export]");
    if (!button || !window.Plotly) return;
    const gd = button.closest("[class*='st-key-figure_']")?.querySelector(".js-plotly-plot");
    if (!gd || !gd._fullLayout) return;
    // as drawn on the page, scaled up to the projector's width: the labels grow with the figure; on a
    // slide the figure names itself: its title in a band above it (the page says it in a heading)
    const width = gd._fullLayout.width, band = button.dataset.title ? 44 : 0;
    const height = gd._fullLayout.height + band, scale = EXPORT_WIDTH / width;
    const margin = Object.assign({}, gd._fullLayout.margin, {t: gd._fullLayout.margin.t + band});
    const title = {text: button.dataset.title, x: 0.01, xanchor: "left", y: 1 - 12 / height, yanchor: "top",
                   yref: "container", font: {size: 17}};
    const layout = Object.assign({}, gd.layout, band ? {title, margin} : {}, {width, height});
    const format = button.dataset.export;
    window.Plotly.toImage({data: gd.data, layout}, {format, width, height, scale}).then((url) => {
      const link = document.createElement("a");
      link.href = url;
      link.download = button.dataset.name + "." + format;
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  });
}
</script>""".replace("EXPORT_WIDTH", str(EXPORT_WIDTH))
EXPORT_BUTTONS = (
    "<div style='display:flex;gap:0.4rem'>"
    "<button data-export='png' data-name='{name}' data-title='{title}' class='classroom-export'"
    " title='{png_help}'>⬇ PNG</button>"
    "<button data-export='svg' data-name='{name}' data-title='{title}' class='classroom-export'"
    " title='{svg_help}'>⬇ SVG</button>"
    "</div><style>.classroom-export {{ border: none; background: none; color: inherit; opacity: 0.7;"
    " font-size: 0.85rem; cursor: pointer; padding: 0.1rem 0.3rem; }} .classroom-export:hover {{ opacity: 1; }}</style>"
)


def show_figure(where, figure, key: str | None = None, title: str = "", columns: tuple[str, str] = ("", "")) -> None:
    """Show a Plotly figure from figures/ with the classroom's toolbar (in presenter mode, larger), and its
    exports: PNG and SVG at a projector's width, and its numbers as CSV, each named by ``title`` (what
    the page says above the figure, with the sentence it is of); ``columns`` names a CSV's columns where
    the figure's axes have no titles."""
    if state.presenting():
        figure = for_projector(figure)
    count = st.session_state.get("_figures_this_run", 0) + 1
    st.session_state["_figures_this_run"] = count
    name = key or f"figure_{count}"  # numbered in the page's order: the same name from one run to the next
    box = where.container(key=f"figure_{name}")
    box.plotly_chart(figure, width="stretch", key=key, config=PLOTLY_CONFIG)
    with box.container(horizontal=True, gap="small", vertical_alignment="center"):
        help_text = {"png_help": t_plain("export_png_help"), "svg_help": t_plain("export_svg_help")}
        attribute = html.escape(title, quote=True)
        buttons = EXPORT_SCRIPT + EXPORT_BUTTONS.format(name=name, title=attribute, **help_text)
        st.html(buttons, width="content", unsafe_allow_javascript=True)
        csv_download(name, lambda: figure_csv(figure, title, columns))


def about(*parts: str, sentence: str | None = None) -> str:
    """A figure's title for its exports: what it shows (``parts``, joined by ·) and the sentence it is of."""
    words = " · ".join(p for p in parts if p)
    return f"{words} · “{sentence}”" if sentence else words


# Presenter mode: no sidebar or header; on a wide screen type a quarter larger (Streamlit sizes its text
# in rem) and the page's whole width. Figures are drawn larger by for_projector.
PRESENTER_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"] { display: none !important; }
@media (min-width: 700px) {
  html { font-size: 20px; }
  [data-testid="stMainBlockContainer"] { max-width: 100%; padding: 1.5rem 3rem 4rem; }
}
</style>"""


def presenter_ui() -> None:
    """On every page: in presenter mode its look and the way out; otherwise the way in, in the sidebar."""
    if state.presenting():
        st.html(PRESENTER_CSS)
        with st.container(horizontal=True, horizontal_alignment="right"):
            st.button(t("present_leave"), icon="⏏️", type="tertiary", on_click=state.set_presenting, args=(False,))
    else:
        st.sidebar.button(
            t("present_enter"), icon="📽️", help=t("present_enter_help"), on_click=state.set_presenting, args=(True,)
        )


def head_titles(n_heads: int) -> list[str]:
    return [t("head_n", n=h) for h in range(n_heads)]


def layer_titles(n_layers: int) -> list[str]:
    return [t("layer_n", n=i) for i in range(n_layers)]


def pick(where, label: str, titles: list[str], key: str, default: int) -> int:
    """One of a model's layers or heads (``titles``), as a row of buttons in ``where``, kept under ``key``."""
    options = list(range(len(titles)))
    chosen = where.segmented_control(
        label, options, format_func=titles.__getitem__, **state.bind(key, options, default)
    )
    return default if chosen is None else chosen


def choose(where, label: str, titles: list[str], key: str, default: int, help: str | None = None) -> int:
    """As ``pick``, in a drop-down: for choices too many for a row of buttons (a sentence's tokens)."""
    options = list(range(len(titles)))
    return where.selectbox(
        label, options, format_func=titles.__getitem__, help=help, **state.bind(key, options, default)
    )


# ---- why the model decided ------------------------------------------------------------------------
def heads_off_ui(n_layers: int, n_heads: int) -> list[tuple[int, int]]:
    """A row of head buttons for each layer, a pressed one switched off; returns the (layer, head) pairs
    that are off. Each layer's choice is kept in ui/state.py (``why_heads_off_<layer>``)."""
    heads = head_titles(n_heads)
    options = list(range(n_heads))
    off = []
    for layer, title in enumerate(layer_titles(n_layers)):
        key = f"why_heads_off_{layer}"
        valid = [h for h in state.kept(key, []) if h in options]  # a larger model's heads, kept, are not this one's
        if valid != state.kept(key, []):
            state.keep(key, valid)
        chosen = st.segmented_control(
            title, options, selection_mode="multi", format_func=heads.__getitem__, **state.bind(key, default=[])
        )
        off += [(layer, head) for head in chosen or []]
    return off


def all_heads_on(n_layers: int) -> None:
    """Every head switched back on (a button's on_click)."""
    for layer in range(n_layers):
        state.keep(f"why_heads_off_{layer}", [])


# In presenter mode the arrow keys press Back and Next (unless a box or a list has the keyboard). Installed
# once a page; the buttons are found by the CSS class Streamlit gives a keyed widget (st-key-<key>).
ARROW_KEYS = """<script>
if (!window.classroomArrowKeys) {
  window.classroomArrowKeys = true;
  document.addEventListener("keydown", (event) => {
    const busy = event.target.closest("input, textarea, select, [role=listbox], [role=combobox], [role=slider]");
    if (busy || event.altKey || event.ctrlKey || event.metaKey) return;
    const which = {ArrowRight: "next", ArrowLeft: "previous"}[event.key];
    const button = which && document.querySelector(`[class*="_section_${which}_"] button`);
    if (button) { event.preventDefault(); button.click(); button.blur(); }
  });
}
</script>"""


def neighbours_ui(titles: dict[str, str], current: str, prefix: str, where: str = "bottom") -> None:
    """Under a section shown alone: buttons to the one before and the one after (``titles``: key -> shown
    title, in order). The sections are kept under ``<prefix>_section``; the page draws the shown one in
    a container keyed ``section_<key>``. ``where``: "top" or "bottom", for a second row of the same buttons
    above the section (presenter mode)."""

    def go_to(key: str) -> None:
        """Show that section, and bring its heading into view once it is drawn."""
        state.keep(f"{prefix}_section", key)
        state.keep(f"{prefix}_scroll_to", key)

    keys = list(titles)
    i = keys.index(current)
    before, after = st.columns(2)
    if i > 0:
        label = t("steps_section_previous", title=titles[keys[i - 1]])
        before.button(label, key=f"{prefix}_section_previous_{where}", on_click=go_to, args=(keys[i - 1],))
    if i + 1 < len(keys):
        label = t("steps_section_next", title=titles[keys[i + 1]])
        after.button(label, key=f"{prefix}_section_next_{where}", type="primary", on_click=go_to, args=(keys[i + 1],))
    if state.presenting() and where == "bottom":
        st.html(ARROW_KEYS, unsafe_allow_javascript=True)
    if where == "bottom" and state.kept(f"{prefix}_scroll_to") == current:
        state.keep(f"{prefix}_scroll_to", None)
        # The browser keeps the clicked button in view, which would open the new section at its end (on a phone,
        # below its last figure): bring its heading up instead, clear of Streamlit's header bar. Streamlit has no
        # scrolling of its own.
        style = f".st-key-section_{current} {{ scroll-margin-top: 4.5rem; }}"
        script = f"document.querySelector('.st-key-section_{current}')?.scrollIntoView({{block: 'start'}})"
        st.html(f"<style>{style}</style><script>{script}</script>", unsafe_allow_javascript=True)


# ---- predict, then reveal (Hundhausen et al. 2002: what students do with a view matters more than what it shows) ----
def exercise_switch_ui() -> bool:
    """The exercise switch: each figure waits for the student's guess (in presenter mode, for the teacher's reveal)."""
    on = st.toggle(t("exercise_toggle"), help=t("exercise_help"), **state.bind("exercise", (False, True), False))
    if on and not state.presenting():
        right, given = state.score()
        st.caption(t("exercise_score", right=right, total=given))
    return on


def _guessed(question: str, widget_key: str, right: list) -> None:
    chosen = st.session_state.get(widget_key)
    if chosen is not None:
        state.give_answer(question, chosen, chosen in right)


def _guess(question: str, options: list, format_func, right: list, label: str) -> None:
    """The student's pick among ``options`` (or, in presenter mode, the class votes and the teacher reveals)."""
    if state.presenting():  # the choices in large type, for the class to vote on
        st.markdown("#### " + " · ".join(md(str(format_func(option))) for option in options))
        st.caption(t("exercise_vote"))
        st.button(
            t("exercise_reveal"),
            icon="👀",
            key=f"reveal_{zlib.crc32(question.encode())}",
            on_click=state.give_answer,
            args=(question, "revealed", None),
        )
        return
    widget_key = f"guess_{zlib.crc32(question.encode())}"
    st.segmented_control(
        label, options, format_func=format_func, key=widget_key, on_change=_guessed, args=(question, widget_key, right)
    )


def guess_class_ui(result: Inspection) -> bool:
    """Before the prediction: which class will the model give this sentence? True once answered."""
    names = list(result.label_names)
    shown = class_names(names)
    question = f"class|{state.model_id()}|{result.sentence}"
    given = state.answer(question)
    if given is None:
        st.markdown(f"**{t('exercise_class_question')}**")
        _guess(question, names, shown.get, [result.prediction], t("exercise_your_guess"))
        return False
    if given != "revealed":
        answer = shown[result.prediction]
        if given == result.prediction:
            st.success(t("exercise_class_right", answer=answer), icon="✅")
        else:
            st.warning(t("exercise_class_wrong", guess=shown[given], answer=answer), icon="🤔")
    return True


def attention_question(result: Inspection, layer: int, head: int, query: int) -> str:
    """Names the question "which word does this query look at most?" for this model, sentence, head and query."""
    return f"attention|{state.model_id()}|{result.sentence}|{layer}|{head}|{query}"


def guess_attention_ui(result: Inspection, layer: int, head: int, query: int) -> bool:
    """Before a head's weights: which word does the query look at most? True once answered; the answer is
    then shown with the query's row of weights."""
    tokens = result.tokens
    weights = result.trace.layers[layer].attention.weights[0, head, query]  # (T,) this query's row
    right = most_attended(weights)
    question = attention_question(result, layer, head, query)
    given = state.answer(question)
    names = [f"{i}: {token}" for i, token in enumerate(tokens)]
    if given is None:
        st.markdown(f"**{t('exercise_attention_question', layer=layer, head=head, query=tokens[query])}**")
        _guess(question, list(range(len(tokens))), names.__getitem__, right, t("exercise_your_guess"))
        return False
    best = right[0]
    answer = dict(token=tokens[best], weight=f"{float(weights[best]):.1%}")
    if given == "revealed":
        st.info(t("exercise_attention_revealed", **answer), icon="👀")
    elif given in right:
        st.success(t("exercise_attention_right", **answer), icon="✅")
    else:
        mine = f"{float(weights[given]):.1%}"
        st.warning(t("exercise_attention_wrong", guess=tokens[given], mine=mine, **answer), icon="🤔")
    title = t_plain("exercise_row_title", query=tokens[query], layer=layer, head=head)
    row = token_bars(weights.tolist(), tokens, title, t_plain("weight"))
    show_figure(st, row, key=f"row_{zlib.crc32(question.encode())}")
    return True


def chart_exports(where, spec: dict, rows, name: str) -> None:
    """Under a Vega-Lite chart: PNG (1920 pixels wide) and SVG drawn on the server by vl-convert, and its rows
    as CSV; each made only when its button is pressed."""
    with where.container(horizontal=True, gap="small"):
        for fmt, mime in (("png", "image/png"), ("svg", "image/svg+xml")):
            st.download_button(
                f"⬇ {fmt.upper()}",
                data=lambda fmt=fmt: chart_image(spec, rows, fmt),
                file_name=f"{name}.{fmt}",
                mime=mime,
                type="tertiary",
                on_click="ignore",
                key=f"{fmt}_{name}",
                help=t_plain(f"export_{fmt}_help"),
            )
        if rows is not None:
            csv_download(name, lambda: rows.to_csv(index=False))


def csv_download(name: str, make) -> None:
    """A small "⬇ CSV" button whose table ``make()`` writes only when it is pressed."""
    st.download_button(
        "⬇ CSV",
        data=make,
        file_name=f"{name}.csv",
        mime="text/csv",
        type="tertiary",
        on_click="ignore",
        key=f"csv_{name}",
        help=t_plain("export_csv_help"),
    )
