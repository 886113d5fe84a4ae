"""Step by step: softmax(QKᵀ/√d_k)·V for one head and one query token, then the block's feed-forward half,
with the model's real numbers."""

import pandas as pd
import streamlit as st

from figures import heatmap, token_bars
from model.inspect import dot_product, feed_forward_steps, head_steps, padded_row, what_if_weights
from pages.common import (
    activation_tex,
    begin_page,
    head_titles,
    inspect_ui,
    layer_titles,
    model_banner,
    remember_widget_state,
    seed_choice,
    sentence_ui,
    t,
    t_plain,
)

begin_page()
st.title(t("steps_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg

sentence = sentence_ui("steps")
result = inspect_ui(ckpt, sentence)
if result is None:
    st.stop()
tokens = result.tokens
c1, c2, c3 = st.columns(3)
layer_names, head_names = layer_titles(cfg.n_layers), head_titles(cfg.n_heads)
token_names = [f"{i}: {token}" for i, token in enumerate(tokens)]  # by position: a token may come twice
layers = seed_choice("steps_layer", range(cfg.n_layers), 0, layer_names)
heads = seed_choice("steps_head", range(cfg.n_heads), 0, head_names)
queries = seed_choice("steps_query", range(len(tokens)), 0, token_names)
layer = c1.selectbox(t("layer"), layers, format_func=layer_names.__getitem__, key="steps_layer")
head = c2.selectbox(t("head"), heads, format_func=head_names.__getitem__, key="steps_head")
query = c3.selectbox(t("query_token"), queries, format_func=token_names.__getitem__, key="steps_query")
s = head_steps(result, ckpt.model, layer, head, query)
as_tables = st.toggle(t("show_tables"), help=t("show_tables_help"))
dims = [f"{i}" for i in range(cfg.d_model)]
dh = [f"{i}" for i in range(s.d_k)]


def show(matrix, x_labels, y_labels, key, signed=True, digits=2, outline=None):
    if as_tables:
        frame = pd.DataFrame(matrix.detach().numpy() if hasattr(matrix, "detach") else matrix,
                             index=list(y_labels), columns=list(x_labels))  # fmt: skip
        st.dataframe(frame.style.format(f"{{:.{digits + 2}f}}"), width="stretch")
    else:
        figure = heatmap(matrix, x_labels, y_labels, signed=signed, digits=digits, outline=outline)
        st.plotly_chart(figure, width="stretch", key=key)


def tex(key: str) -> str:
    """Words inside a formula, in the page's language."""
    return rf"\text{{{t_plain(f'tex_{key}')}}}"


def step(number: int, key: str, formula: str, text: str = "", **values) -> None:
    st.markdown(f"### {number}. {t(f'step_{key}_title')}")
    st.latex(formula)
    st.markdown(t(text or f"step_{key}_text", **values))


step(1, "x", rf"\begin{{aligned}} X &= \mathrm{{LayerNorm}}({tex('block_input')}) \\ "
     r"&\in \mathbb{R}^{T \times d_{model}} \end{aligned}", T=len(tokens), d=cfg.d_model)  # fmt: skip
show(s.x_norm, dims, tokens, "x")
step(2, "w", r"W_Q,\; W_K,\; W_V \in \mathbb{R}^{d_{model} \times d_k}", d=cfg.d_model, dk=s.d_k, head=head)
w1, w2, w3 = st.tabs(["W_Q", "W_K", "W_V"])
for tab, name, matrix in ((w1, "wq", s.W_Q), (w2, "wk", s.W_K), (w3, "wv", s.W_V)):
    with tab:
        show(matrix, dh, dims, name)
step(3, "qkv", r"\begin{aligned} Q &= XW_Q + b_Q \\ K &= XW_K + b_K \\ V &= XW_V + b_V \end{aligned}")
q1, q2, q3 = st.tabs(["Q", "K", "V"])
for tab, name, matrix in ((q1, "q", s.q), (q2, "k", s.k), (q3, "v", s.v)):
    with tab:
        show(matrix, dh, tokens, name)
step(4, "scores", r"S = QK^\top,\qquad S_{ij} = \textstyle\sum_{c} Q_{ic} K_{jc}")
scores_figure = st.empty()  # drawn once the key is chosen, with the (query, key) cell framed
# The key starts at the query's largest score, and starts there again for another sentence, layer,
# head or query: a key kept by position would open up a score the new query hardly has.
if st.session_state.get("_steps_key_for") != (sentence, layer, head, query):
    st.session_state.pop("steps_key", None)
    st.session_state["_steps_key_for"] = (sentence, layer, head, query)
keys = seed_choice("steps_key", range(len(tokens)), int(s.scores[query].argmax()), token_names)
key = st.selectbox(t("dot_key"), keys, format_func=token_names.__getitem__, key="steps_key", help=t("dot_key_help"))
with scores_figure.container():
    show(s.scores, tokens, tokens, "scores", outline=(query, key))
d = dot_product(s, query, key)
show([d.q.tolist(), d.k.tolist(), d.terms.tolist()], dh, [f"Q: {tokens[query]}", f"K: {tokens[key]}", "Q × K"], "dot")
st.latex(
    rf"S_{{{query},{key}}} = \textstyle\sum_{{c=0}}^{{{s.d_k - 1}}} Q_{{{query},c}}\,K_{{{key},c}} = {d.score:.4f}"
)
st.markdown(t("dot_text", query_token=tokens[query], key_token=tokens[key], positive=f"{d.positive:.2f}",
              negative=f"{-d.negative:.2f}"))  # fmt: skip
step(5, "scaled", rf"S / \sqrt{{d_k}} = S / \sqrt{{{s.d_k}}} = S / {s.d_k**0.5:.3f}", dk=s.d_k)
show(s.scaled, tokens, tokens, "scaled", outline=(query, key))
mask_formula = rf"M_j = \begin{{cases}} 0 & {tex('real_token')} \\ -\infty & {tex('padding')} \end{{cases}}"
padded = padded_row(ckpt, result, layer, head, query)
if padded is None:  # the sentence fills max_len: no room to pad it
    step(6, "mask", mask_formula)
    show([s.mask.tolist()], tokens, [t("mask_row")], "mask", digits=0)
else:
    step(6, "mask", mask_formula, text="step_mask_text_padded", n=len(padded.tokens) - len(tokens), token=tokens[query],
         change=f"{padded.largest_change:.2g}")  # fmt: skip
    show([padded.mask.tolist(), padded.weights.tolist()], padded.tokens,
         [t_plain("mask_row"), t_plain("padded_weights_row", token=tokens[query])], "mask")  # fmt: skip
step(7, "exp", r"\begin{aligned} e_j &= \exp\!\left(\tfrac{S_{ij}}{\sqrt{d_k}} + M_j - m\right) \\ "
     r"m &= \max_j \left(\tfrac{S_{ij}}{\sqrt{d_k}} + M_j\right) \\ Z &= \textstyle\sum_j e_j \end{aligned}",
     token=tokens[query], Z=f"{s.row_sum:.4f}")  # fmt: skip
exp_table = pd.DataFrame({t("col_token"): tokens, t("col_scaled"): s.scaled[query].tolist(),
                          t("col_exp"): s.exp.tolist(), t("col_weight"): (s.exp / s.row_sum).tolist()})  # fmt: skip
st.dataframe(exp_table.style.format({t("col_scaled"): "{:.4f}", t("col_exp"): "{:.4f}", t("col_weight"): "{:.4f}"}),
             hide_index=True, width="stretch")  # fmt: skip
step(8, "softmax", r"A_{ij} = \frac{e_j}{Z} = \mathrm{softmax}_j\!\left(\frac{S_{ij}}{\sqrt{d_k}} + M_j\right)")
show(s.weights, tokens, tokens, "weights", signed=False, outline=(query, key))
step(
    9, "output", r"\mathrm{head}_h = A V,\qquad \mathrm{head}_{h,i} = \textstyle\sum_j A_{ij} V_j", token=tokens[query]
)
show(s.output, dh, tokens, "output")
step(10, "concat", r"\mathrm{Concat}(\mathrm{head}_0, \dots, \mathrm{head}_{h-1}) \in \mathbb{R}^{T \times d_{model}}",
     heads=cfg.n_heads, head=head, start=head * s.d_k, end=(head + 1) * s.d_k - 1)  # fmt: skip
show(s.concat, dims, tokens, "concat")
step(11, "wo", r"\mathrm{MultiHead}(X) = \mathrm{Concat}(\cdot)\, W_O + b_O")
show(s.attn_out, dims, tokens, "attn_out")
step(12, "residual", rf"X' = {tex('block_input')} + \mathrm{{MultiHead}}(X)")
show(s.residual, dims, tokens, "residual")

f = feed_forward_steps(result, layer)
step(13, "ffn_norm", r"X'' = \mathrm{LayerNorm}(X')")
show(f.x_norm, dims, tokens, "ffn_in")
hidden = activation_tex(cfg.activation, "X''W_1 + b_1")
step(14, "ffn_hidden", rf"H = {hidden} \in \mathbb{{R}}^{{T \times d_{{ff}}}}", text=f"step_ffn_hidden_text_{cfg.activation}",
     F=cfg.d_ff, token=tokens[query], zeroed=f.zeroed[query])  # fmt: skip
show(f.hidden, [f"{i}" for i in range(cfg.d_ff)], tokens, "hidden", signed=cfg.activation != "relu")
last = layer + 1 == cfg.n_layers
after = t_plain("ffn_next_final") if last else t_plain("ffn_next_layer", layer=layer_titles(cfg.n_layers)[layer + 1])
step(15, "ffn_out", r"\begin{aligned} \mathrm{FFN}(X'') &= HW_2 + b_2 \\ "
     rf"{tex('block_output')} &= X' + \mathrm{{FFN}}(X'') \end{{aligned}}", d=cfg.d_model, next=after)  # fmt: skip
f1, f2 = st.tabs(["FFN(X'')", "X' + FFN(X'')"])
with f1:
    show(f.ffn_out, dims, tokens, "ffn_out")
with f2:
    show(f.out, dims, tokens, "block_out")

st.divider()
st.subheader(t("whatif_title"))
st.markdown(t("whatif_intro"))
w1, w2 = st.columns(2)
scale = not w1.toggle(t("whatif_no_scale"), help=t("whatif_no_scale_help"))
temperature = w2.slider(t("whatif_temperature"), 0.1, 5.0, 1.0, 0.1, help=t("whatif_temperature_help"))
masked_scores = s.scores + s.mask  # the mask is added before the softmax, as in the model
changed = what_if_weights(masked_scores, s.d_k, scale=scale, temperature=temperature)
c1, c2 = st.columns(2)
peak, peak_changed = float(s.weights[query].max()), float(changed[query].max())
y_max = max(peak, peak_changed)  # one scale for both charts
c1.plotly_chart(token_bars(s.weights[query].tolist(), tokens, t_plain("whatif_model_row", token=tokens[query]), t("weight"),
                           y_max=y_max), width="stretch")  # fmt: skip
c2.plotly_chart(token_bars(changed[query].tolist(), tokens, t_plain("whatif_new_row", token=tokens[query]), t("weight"),
                           y_max=y_max), width="stretch")  # fmt: skip
st.caption(t("whatif_caption", before=peak, after=peak_changed))
show(changed, tokens, tokens, "whatif", signed=False)

remember_widget_state()
