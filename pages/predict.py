"""Predict: many sentences into a table, and two sentences side by side with their attention."""

import pandas as pd
import streamlit as st

from figures import NARROW_PX, PERCENT_COLUMN_PX, SCREENS_CSS, WIDE_PX, attention_heads, heads_per_row
from model.inspect import InputError, inspect_sentence
from ui.i18n import class_names, md, t, t_plain
from ui.nav import begin_page
from ui.state import text_binding
from ui.widgets import (
    about,
    choose,
    head_titles,
    layer_titles,
    model_banner,
    pick,
    show_figure,
    unreadable_warning,
    unreadable_words,
)

begin_page()
st.html(SCREENS_CSS)  # the compared sentences' heads side by side on a projector, one at a time on a phone
st.title(t("predict_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg
shown = class_names(ckpt.label_names)  # every sentence's result carries the model's label names

kept_lines = text_binding("predict_lines", "predict_lines_default")
lines = st.text_area(t("predict_lines"), height=180, max_chars=20000, help=t("predict_lines_help"), **kept_lines)
texts = [line for line in lines.splitlines()[:200] if line.strip()]
rows, truncated, unreadable = [], 0, []  # unreadable: the words of the sentences the model mostly cannot read
for line, reading in zip(texts, ckpt.tokenizer.read_batch(texts)):
    try:
        result = inspect_sentence(ckpt, line)
    except InputError:
        continue
    truncated += result.truncated
    percents = {shown[name]: 100 * p for name, p in zip(result.label_names, result.probabilities)}
    row = {t("col_text"): line, t("predicted"): shown[result.prediction], **percents}
    rows.append({**row, t("col_unreadable"): reading.mostly_unreadable})
    if reading.mostly_unreadable:
        unreadable.append(reading.unreadable)
if rows:
    table = pd.DataFrame(rows)
    if not unreadable:  # the column only where some sentence is flagged
        table = table.drop(columns=t("col_unreadable"))
    # Percentages to one decimal in every row, as the side-by-side captions below write them
    # (Streamlit's "percent" format wrote 99.93% in one row and 100% for 99.97% in the next).
    percent = st.column_config.ProgressColumn(min_value=0.0, max_value=100.0, format="%.1f%%", width=PERCENT_COLUMN_PX)
    columns = {name: percent for name in shown.values()}
    columns[t("col_unreadable")] = st.column_config.CheckboxColumn(help=t("col_unreadable_help"))
    # The prediction and its percentages first, then the sentence: a phone shows the numbers and as
    # much of the sentence as fits, where it used to cut the percentages off. Every row on the page
    # ("content"), none behind a scroll of the table's own inside the page's.
    order = [t("predicted"), *shown.values(), t("col_text"), t("col_unreadable")]
    order = [name for name in order if name in table.columns]
    with st.container(key="wide_predictions"):
        st.dataframe(table, hide_index=True, height="content", column_order=order, column_config=columns)
    with st.container(key="narrow_predictions"):  # on a phone: a table that wraps each sentence whole
        narrow = table[order].copy()
        for name in shown.values():
            narrow[name] = narrow[name].map("{:.1f}%".format)
        if t("col_unreadable") in narrow:
            narrow[t("col_unreadable")] = narrow[t("col_unreadable")].map({True: "🧩", False: ""})
        st.table(narrow, hide_index=True)
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
layer = choose(st, t("layer"), layer_titles(cfg.n_layers), "compare_layer", cfg.n_layers - 1)
heads = head_titles(cfg.n_heads)
with st.container(key="narrow_compare_head"):  # on a phone: one head of each sentence, one under the other
    head = pick(st, t("head"), heads, "compare_head", 0)
left, right = st.columns(2)
sides = ((left, "compare_a"), (right, "compare_b"))
texts = {
    key: column.text_input(t("compare_sentence"), max_chars=2000, **text_binding(key, f"{key}_default"))
    for column, key in sides
}
results = {}
for key, text in texts.items():
    try:
        results[key] = inspect_sentence(ckpt, text)
    except InputError:
        results[key] = None
# Both sentences' heads in the same rows, however many tokens each has, so that they compare head by head.
n_keys = max((len(result.tokens) for result in results.values() if result), default=1)
per_row = heads_per_row(cfg.n_heads, n_keys, WIDE_PX // 2)
axes = dict(query_title=t_plain("query_axis"), key_title=t_plain("key_token"))
for column, key in sides:
    with column:
        result = results[key]
        if result is None:
            st.warning(t("empty_sentence"))
            continue
        unreadable_warning(ckpt, texts[key])
        probs = ", ".join(f"{shown[n]} {p:.1%}" for n, p in zip(result.label_names, result.probabilities))
        st.metric(t("prediction"), shown[result.prediction], help=md(probs))
        st.caption(md(probs))  # label names come from the user's data
        weights = result.trace.layers[layer].attention.weights[0]
        with st.container(key=f"wide_{key}"):
            half = attention_heads(weights, result.tokens, heads, **axes, per_row=per_row)
            title = about(t_plain("compare_title"), layer_titles(cfg.n_layers)[layer], sentence=texts[key])
            show_figure(st, half, key=f"{key}_figure", title=title)
        with st.container(key=f"narrow_{key}"):
            one = slice(head, head + 1)
            one_head = attention_heads(weights[one], result.tokens, heads[one], **axes, width=NARROW_PX)
            show_figure(st, one_head, key=f"{key}_head_figure", title=about(title, heads[head]))
