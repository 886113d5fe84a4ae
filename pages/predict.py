"""Predict: many sentences into a table, and two sentences side by side with their attention."""

import pandas as pd
import streamlit as st

from figures import attention_heads
from model.inspect import InputError, inspect_sentence
from pages.common import (
    begin_page,
    class_names,
    head_titles,
    layer_titles,
    md,
    model_banner,
    remember_widget_state,
    seed_choice,
    t,
    t_plain,
)

begin_page()
st.title(t("predict_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg
shown = class_names(ckpt.label_names)  # every sentence's result carries the model's label names

default_lines = t("predict_default_lines")
lines = st.text_area(t("predict_lines"), value=default_lines, height=180, max_chars=20000, help=t("predict_lines_help"))
rows, truncated = [], 0
for line in lines.splitlines()[:200]:
    if not line.strip():
        continue
    try:
        result = inspect_sentence(ckpt, line)
    except InputError:
        continue
    truncated += result.truncated
    rows.append({t("col_text"): line, t("predicted"): shown[result.prediction],
                 **{shown[name]: 100 * p for name, p in zip(result.label_names, result.probabilities)}})  # fmt: skip
if rows:
    table = pd.DataFrame(rows)
    # Percentages to one decimal in every row, as the side-by-side captions below write them
    # (Streamlit's "percent" format wrote 99.93% in one row and 100% for 99.97% in the next).
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={name: st.column_config.ProgressColumn(name, min_value=0.0, max_value=100.0, format="%.1f%%")
                                for name in shown.values()})  # fmt: skip
    if truncated:
        st.caption(t("predict_truncated", n=truncated, max_len=cfg.max_len))
else:
    st.info(t("predict_empty"), icon="✍️")

st.divider()
st.subheader(t("compare_title"))
st.markdown(t("compare_intro"))
layer_names = layer_titles(cfg.n_layers)
layers = seed_choice("compare_layer", range(cfg.n_layers), cfg.n_layers - 1, layer_names)
layer = st.selectbox(t("layer"), layers, format_func=layer_names.__getitem__, key="compare_layer")
left, right = st.columns(2)
for column, key in ((left, "compare_a"), (right, "compare_b")):
    with column:
        st.session_state.setdefault(key, t_plain(f"compare_default_{key[-1]}"))
        text = st.text_input(t("compare_sentence"), key=key, max_chars=2000)
        try:
            result = inspect_sentence(ckpt, text)
        except InputError:
            st.warning(t("empty_sentence"))
            continue
        probs = ", ".join(f"{shown[n]} {p:.1%}" for n, p in zip(result.label_names, result.probabilities))
        st.metric(t("prediction"), shown[result.prediction], help=md(probs))
        st.caption(md(probs))  # label names come from the user's data
        weights = result.trace.layers[layer].steps.weights[0]
        st.plotly_chart(attention_heads(weights, result.tokens, head_titles(cfg.n_heads)), width="stretch",
                        key=f"{key}_figure")  # fmt: skip

remember_widget_state()
