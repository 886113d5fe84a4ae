"""Step by step: softmax(QKᵀ/√d_k)·V for one head and one query token, then the block's feed-forward half,
with the model's real numbers; one section at a time (model/sections.py lists them, in order) or all."""

import json

import pandas as pd
import streamlit as st

from figures import heatmap, token_bars
from model.inspect import dot_product, feed_forward_steps, head_steps, padded_row, steps_record, what_if_weights
from model.sections import ALL, SECTIONS
from ui.i18n import activation_tex, md, t, t_plain
from ui.nav import begin_page
from ui.state import answer, bind, keep, kept, presenting
from ui.widgets import (
    about,
    attention_question,
    choose,
    exercise_switch_ui,
    guess_attention_ui,
    head_titles,
    inspect_ui,
    layer_titles,
    model_banner,
    neighbours_ui,
    sentence_ui,
    show_figure,
)

begin_page("step_by_step")
st.title(t("steps_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg

sentence = sentence_ui("steps")
result = inspect_ui(ckpt, sentence)
if result is None:
    st.stop()
tokens = result.tokens
token_names = [f"{i}: {token}" for i, token in enumerate(tokens)]  # by position: a token may come twice
# On a projector the step is what the class looks at: the knobs fold away under one line, and what they
# are set to is said above the step.
controls = st.expander(t("present_controls"), icon="🎛️") if presenting() else st.container()
c1, c2, c3 = controls.columns(3)
layer = choose(c1, t("layer"), layer_titles(cfg.n_layers), "steps_layer", 0)
head = choose(c2, t("head"), head_titles(cfg.n_heads), "steps_head", 0)
query = choose(c3, t("query_token"), token_names, "steps_query", 0)
s = head_steps(result, ckpt.model, layer, head, query)
shown_head = (layer_titles(cfg.n_layers)[layer], head_titles(cfg.n_heads)[head])  # for the exports' titles
f = feed_forward_steps(result, layer)
controls.download_button(
    t("export_steps_json"),
    data=lambda: json.dumps(steps_record(result, s, f, layer, head, query), ensure_ascii=False, allow_nan=False),
    file_name=f"step-by-step-layer{layer}-head{head}-query{query}.json",
    mime="application/json",
    type="tertiary",
    icon="⬇️",
    on_click="ignore",
    help=t("export_steps_json_help"),
)
dims = [f"{i}" for i in range(cfg.d_model)]
dh = [f"{i}" for i in range(s.d_k)]
# The key is chosen in the scores section, and framed there and in the sections after it. It starts at the
# query's largest score, and starts there again for another sentence, layer, head or query: a key kept by
# position would open up a score the new query hardly has.
top_key = int(s.scores[query].argmax())
if kept("steps_key_for") != (sentence, layer, head, query):
    keep("steps_key", None)
    keep("steps_key_for", (sentence, layer, head, query))
key = kept("steps_key", top_key)
key = key if key in range(len(tokens)) else top_key

titles = {section.key: f"{n}. {t_plain(section.title_key)}" for n, section in enumerate(SECTIONS, 1)}
choices = {ALL: t_plain("steps_section_all"), **titles}
n1, n2 = controls.columns([3, 1], vertical_alignment="bottom")
if presenting():  # one step a screen, moved by Back / Next and the arrow keys: no list of sections
    shown = kept("steps_section", SECTIONS[0].key)
    shown = shown if shown in titles else SECTIONS[0].key
    number = list(titles).index(shown) + 1
    where = " · ".join((*shown_head, t_plain("present_query", token=token_names[query])))
    st.caption(t("present_step", n=number, total=len(SECTIONS)) + " · " + md(where))
else:
    shown = n1.selectbox(
        t("steps_section"),
        list(choices),
        format_func=choices.__getitem__,
        help=t("steps_section_help"),
        **bind("steps_section", list(choices), SECTIONS[0].key),
    )
as_tables = n2.toggle(t("show_tables"), help=t("show_tables_help"), **bind("steps_tables", (False, True), False))
with controls:
    exercise = exercise_switch_ui()


def distinct(labels) -> list[str]:
    """A table's rows and columns need distinct names: where a label repeats (a token said twice, [PAD]),
    each is named by its position, as the query box names tokens ("3: the")."""
    labels = list(labels)
    return labels if len(set(labels)) == len(labels) else [f"{i}: {label}" for i, label in enumerate(labels)]


# What each matrix is called in the formulas, for the title of its exports (a slide names its matrix).
MATRIX_NAMES = {
    "x": "LayerNorm(X)",
    "wq": "W_Q",
    "wk": "W_K",
    "wv": "W_V",
    "q": "Q = XW_Q",
    "k": "K = XW_K",
    "v": "V = XW_V",
    "scores": "QKᵀ",
    "dot": "q · k",
    "scaled": "QKᵀ/√d_k",
    "mask": "M",
    "weights": "softmax(QKᵀ/√d_k + M)",
    "output": "softmax(QKᵀ/√d_k + M)·V",
    "concat": "Concat(head_1, …, head_h)",
    "attn_out": "Concat(…)·W_O",
    "residual": "X' = X + MultiHead(X)",
    "ffn_in": "X'' = LayerNorm(X')",
    "hidden": "activation(X''W₁ + b₁)",
    "ffn_out": "FFN(X'')",
    "block_out": "X' + FFN(X'')",
}


def matrix_name(key: str) -> str:
    return t_plain("whatif_new_row", token=tokens[query]) if key == "whatif" else MATRIX_NAMES[key]


def show(matrix, x_labels, y_labels, key, signed=True, digits=2, outline=None):
    """A heatmap, or every number in a table when the tables toggle is on."""
    if as_tables:
        values = matrix.detach().cpu().numpy() if hasattr(matrix, "detach") else matrix
        frame = pd.DataFrame(values, index=distinct(y_labels), columns=distinct(x_labels))
        # One number format per column: a pandas Styler took about a second per table of d_model columns.
        number = st.column_config.NumberColumn(format=f"%.{digits + 2}f")
        st.dataframe(frame, column_config=dict.fromkeys(frame.columns, number), width="stretch")
    else:
        figure = heatmap(matrix, x_labels, y_labels, signed=signed, digits=digits, outline=outline)
        show_figure(st, figure, key=key, title=about(matrix_name(key), *shown_head, sentence=sentence))


def tex(key: str) -> str:
    """Words inside a formula, in the page's language."""
    return rf"\text{{{t_plain(f'tex_{key}')}}}"


def explain(formula: str, text_key: str, **values) -> None:
    """A section's formula, then what it says in words."""
    st.latex(formula)
    st.markdown(t(text_key, **values))


# ---- the sections, one function each, drawn in the order of model/sections.py ---------------------------------
def x_section():
    formula = (
        rf"\begin{{aligned}} X &= \mathrm{{LayerNorm}}({tex('block_input')}) \\ "
        r"&\in \mathbb{R}^{T \times d_{model}} \end{aligned}"
    )
    explain(formula, "step_x_text", T=len(tokens), d=cfg.d_model)
    show(s.x_norm, dims, tokens, "x")


def w_section():
    explain(
        r"W_Q,\; W_K,\; W_V \in \mathbb{R}^{d_{model} \times d_k}", "step_w_text", d=cfg.d_model, dk=s.d_k, head=head
    )
    for tab, (name, matrix) in zip(st.tabs(["W_Q", "W_K", "W_V"]), (("wq", s.W_Q), ("wk", s.W_K), ("wv", s.W_V))):
        with tab:
            show(matrix, dh, dims, name)


def qkv_section():
    explain(r"\begin{aligned} Q &= XW_Q + b_Q \\ K &= XW_K + b_K \\ V &= XW_V + b_V \end{aligned}", "step_qkv_text")
    for tab, (name, matrix) in zip(st.tabs(["Q", "K", "V"]), (("q", s.q), ("k", s.k), ("v", s.v))):
        with tab:
            show(matrix, dh, tokens, name)


def scores_section():
    explain(r"S = QK^\top,\qquad S_{ij} = \textstyle\sum_{c} Q_{ic} K_{jc}", "step_scores_text")
    show(s.scores, tokens, tokens, "scores", outline=(query, key))
    choose(st, t("dot_key"), token_names, "steps_key", top_key, help=t("dot_key_help"))  # the same kept key
    d = dot_product(s, query, key)
    rows = [f"Q: {tokens[query]}", f"K: {tokens[key]}", "Q × K"]
    show([d.q.tolist(), d.k.tolist(), d.terms.tolist()], dh, rows, "dot")
    last = s.d_k - 1
    st.latex(rf"S_{{{query},{key}}} = \textstyle\sum_{{c=0}}^{{{last}}} Q_{{{query},c}}\,K_{{{key},c}} = {d.score:.4f}")
    positive, negative = f"{d.positive:.2f}", f"{-d.negative:.2f}"
    st.markdown(t("dot_text", query_token=tokens[query], key_token=tokens[key], positive=positive, negative=negative))


def scaled_section():
    explain(rf"S / \sqrt{{d_k}} = S / \sqrt{{{s.d_k}}} = S / {s.d_k**0.5:.3f}", "step_scaled_text", dk=s.d_k)
    show(s.scaled, tokens, tokens, "scaled", outline=(query, key))


def mask_section():
    formula = rf"M_j = \begin{{cases}} 0 & {tex('real_token')} \\ -\infty & {tex('padding')} \end{{cases}}"
    padded = padded_row(ckpt, result, layer, head, query)
    if padded is None:  # the sentence fills max_len: no room to pad it
        explain(formula, "step_mask_text")
        show([s.mask.tolist()], tokens, [t_plain("mask_row")], "mask", digits=0)
        return
    n_pad, change = len(padded.tokens) - len(tokens), f"{padded.largest_change:.2g}"
    explain(formula, "step_mask_text_padded", n=n_pad, token=tokens[query], change=change)
    rows = [t_plain("mask_row"), t_plain("padded_weights_row", token=tokens[query])]
    show([padded.mask.tolist(), padded.weights.tolist()], padded.tokens, rows, "mask")


def exp_section():
    formula = (
        r"\begin{aligned} e_j &= \exp\!\left(\tfrac{S_{ij}}{\sqrt{d_k}} + M_j - m\right) \\ "
        r"m &= \max_j \left(\tfrac{S_{ij}}{\sqrt{d_k}} + M_j\right) \\ Z &= \textstyle\sum_j e_j \end{aligned}"
    )
    explain(formula, "step_exp_text", token=tokens[query], Z=f"{s.row_sum:.4f}")
    columns = {
        "col_token": token_names,
        "col_scaled": s.scaled[query].tolist(),
        "col_exp": s.exp.tolist(),
        "col_weight": (s.exp / s.row_sum).tolist(),
    }
    table = pd.DataFrame({t_plain(name): values for name, values in columns.items()})
    number = st.column_config.NumberColumn(format="%.4f")
    numbers = {t_plain(name): number for name in ("col_scaled", "col_exp", "col_weight")}
    st.dataframe(table, column_config=numbers, hide_index=True, width="stretch")


def softmax_section():
    formula = r"A_{ij} = \frac{e_j}{Z} = \mathrm{softmax}_j\!\left(\frac{S_{ij}}{\sqrt{d_k}} + M_j\right)"
    explain(formula, "step_softmax_text")
    show(s.weights, tokens, tokens, "weights", signed=False, outline=(query, key))


def output_section():
    formula = r"\mathrm{head}_h = A V,\qquad \mathrm{head}_{h,i} = \textstyle\sum_j A_{ij} V_j"
    explain(formula, "step_output_text", token=tokens[query])
    show(s.output, dh, tokens, "output")


def concat_section():
    formula = r"\mathrm{Concat}(\mathrm{head}_0, \dots, \mathrm{head}_{h-1}) \in \mathbb{R}^{T \times d_{model}}"
    start, end = head * s.d_k, (head + 1) * s.d_k - 1
    explain(formula, "step_concat_text", heads=cfg.n_heads, head=head, start=start, end=end)
    show(s.concat, dims, tokens, "concat")


def wo_section():
    explain(r"\mathrm{MultiHead}(X) = \mathrm{Concat}(\cdot)\, W_O + b_O", "step_wo_text")
    show(s.attn_out, dims, tokens, "attn_out")


def residual_section():
    explain(rf"X' = {tex('block_input')} + \mathrm{{MultiHead}}(X)", "step_residual_text")
    show(s.residual, dims, tokens, "residual")


def ffn_norm_section():
    explain(r"X'' = \mathrm{LayerNorm}(X')", "step_ffn_norm_text")
    show(f.x_norm, dims, tokens, "ffn_in")


def ffn_hidden_section():
    hidden = activation_tex(cfg.activation, "X''W_1 + b_1")
    formula = rf"H = {hidden} \in \mathbb{{R}}^{{T \times d_{{ff}}}}"
    text_key = f"step_ffn_hidden_text_{cfg.activation}"
    explain(formula, text_key, F=cfg.d_ff, token=tokens[query], zeroed=f.zeroed[query])
    show(f.hidden, [f"{i}" for i in range(cfg.d_ff)], tokens, "hidden", signed=cfg.activation != "relu")


def ffn_out_section():
    if layer + 1 == cfg.n_layers:
        after = t_plain("ffn_next_final")
    else:
        after = t_plain("ffn_next_layer", layer=layer_titles(cfg.n_layers)[layer + 1])
    formula = (
        r"\begin{aligned} \mathrm{FFN}(X'') &= HW_2 + b_2 \\ "
        rf"{tex('block_output')} &= X' + \mathrm{{FFN}}(X'') \end{{aligned}}"
    )
    explain(formula, "step_ffn_out_text", d=cfg.d_model, next=after)
    for tab, (name, matrix) in zip(
        st.tabs(["FFN(X'')", "X' + FFN(X'')"]), (("ffn_out", f.ffn_out), ("block_out", f.out))
    ):
        with tab:
            show(matrix, dims, tokens, name)


def whatif_section():
    st.markdown(t("whatif_intro"))
    w1, w2 = st.columns(2)
    no_scale = w1.toggle(
        t("whatif_no_scale"), help=t("whatif_no_scale_help"), **bind("steps_whatif_no_scale", (False, True), False)
    )
    temperature_range = dict(min_value=0.1, max_value=5.0, step=0.1)
    temperature = w2.slider(
        t("whatif_temperature"),
        help=t("whatif_temperature_help"),
        **temperature_range,
        **bind("steps_whatif_temperature", default=1.0),
    )
    masked_scores = s.scores + s.mask  # the mask is added before the softmax, as in the model
    changed = what_if_weights(masked_scores, s.d_k, scale=not no_scale, temperature=temperature)
    peak, peak_changed = float(s.weights[query].max()), float(changed[query].max())
    y_max = max(peak, peak_changed)  # one scale for both charts
    c1, c2 = st.columns(2)
    for where, weights, title in ((c1, s.weights, "whatif_model_row"), (c2, changed, "whatif_new_row")):
        bars = token_bars(
            weights[query].tolist(), tokens, t_plain(title, token=tokens[query]), t("weight"), y_max=y_max
        )
        show_figure(where, bars, title=about(t_plain(title, token=tokens[query]), *shown_head, sentence=sentence))
    st.caption(t("whatif_caption", before=peak, after=peak_changed))
    show(changed, tokens, tokens, "whatif", signed=False)


# Each section is drawn by the function named after its key: a section missing one fails here, on every run.
DRAW = {section.key: globals()[f"{section.key}_section"] for section in SECTIONS}


if presenting():
    neighbours_ui(titles, shown, "steps", where="top")
# Predict first: from the scores on, every section shows which key this query favours, so each waits for the guess
asks_from = [section.key for section in SECTIONS].index("scores")
unanswered = exercise and answer(attention_question(result, layer, head, query)) is None
part = None
for number, section in enumerate(SECTIONS, 1):
    if shown not in (ALL, section.key):
        continue
    if part not in (None, section.part):  # all sections: a line between the attention, the FFN and the what-if
        st.divider()
    part = section.part
    with st.container(key=f"section_{section.key}"):  # a CSS class, st-key-section_<key>, to scroll to
        st.markdown(f"### {number}. {t(section.title_key)}")
        if unanswered and number - 1 >= asks_from:
            guess_attention_ui(result, layer, head, query)  # the question, in place of the section
            break
        if exercise and section.key == "scores":
            guess_attention_ui(result, layer, head, query)  # answered: right or wrong, and the row
        DRAW[section.key]()
if shown != ALL:
    neighbours_ui(titles, shown, "steps")
