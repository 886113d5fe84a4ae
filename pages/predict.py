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
    unreadable_warning,
    unreadable_words,
)

begin_page()
st.title(t("predict_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg
shown = class_names(ckpt.label_names)  # every sentence's result carries the model's label names

default_lines = t("predict_default_lines")
lines = st.text_area(t("predict_lines"), value=default_lines, height=180, max_chars=20000, help=t("predict_lines_help"))
texts = [line for line in lines.splitlines()[:200] if line.strip()]
rows, truncated, unreadable = [], 0, []  # unreadable: the words of the sentences the model mostly cannot read
for line, reading in zip(texts, ckpt.tokenizer.read_batch(texts)):
    try:
        result = inspect_sentence(ckpt, line)
    except InputError:
        continue
    truncated += result.truncated
    rows.append({t("col_text"): line, t("predicted"): shown[result.prediction],
                 **{shown[name]: 100 * p for name, p in zip(result.label_names, result.probabilities)},
                 t("col_unreadable"): reading.mostly_unreadable})  # fmt: skip
    if reading.mostly_unreadable:
        unreadable.append(reading.unreadable)
if rows:
    table = pd.DataFrame(rows)
    if not unreadable:  # the column only where some sentence is flagged
        table = table.drop(columns=t("col_unreadable"))
    # Percentages to one decimal in every row, as the side-by-side captions below write them
    # (Streamlit's "percent" format wrote 99.93% in one row and 100% for 99.97% in the next).
    percent = st.column_config.ProgressColumn(min_value=0.0, max_value=100.0, format="%.1f%%")
    columns = {name: percent for name in shown.values()}
    columns[t("col_unreadable")] = st.column_config.CheckboxColumn(help=t("col_unreadable_help"))
    st.dataframe(table, hide_index=True, width="stretch", column_config=columns)
    if truncated:
        st.caption(t("predict_truncated", n=truncated, max_len=cfg.max_len))
    if unreadable:
        each_once = {w.word.lower(): w for words in unreadable for w in words}  # in order of first occurrence
        words = unreadable_words(list(each_once.values()))
        st.warning(t("predict_unreadable", n=len(unreadable), total=len(rows), words=words), icon="🧩")
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
        unreadable_warning(ckpt, text)
        probs = ", ".join(f"{shown[n]} {p:.1%}" for n, p in zip(result.label_names, result.probabilities))
        st.metric(t("prediction"), shown[result.prediction], help=md(probs))
        st.caption(md(probs))  # label names come from the user's data
        weights = result.trace.layers[layer].steps.weights[0]
        st.plotly_chart(attention_heads(weights, result.tokens, head_titles(cfg.n_heads)), width="stretch",
                        key=f"{key}_figure")  # fmt: skip

remember_widget_state()
