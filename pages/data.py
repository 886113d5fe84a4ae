"""Data: pick a built-in dataset or upload one, look at it, and see text become tokens and ids."""

import pandas as pd
import streamlit as st

from figures import label_balance
from model.data import (
    MAX_CLASSES,
    MAX_FILE_BYTES,
    MAX_ROWS,
    SMALL_TRAIN_ROWS,
    DataError,
    builtin_names,
    hold_out,
    parse_bytes,
)
from ui import state
from ui.errors import error_text
from ui.i18n import class_names, dataset_name, t, t_plain
from ui.nav import begin_page
from ui.state import builtin_dataset, current_data, current_model
from ui.widgets import setting_ui, show_chart


def frequent_words(words) -> str:
    """A coverage's examples: "rude (r ##ud ##e) ×12, …"."""
    return t_plain("word_separator").join(f"{w.word} ({' '.join(w.tokens)}) ×{w.count}" for w in words)


begin_page()
st.title(t("data_title"))
st.markdown(t("data_intro"))

data = current_data()
source_builtin, source_upload = st.tabs([t("data_builtin_tab"), t("data_upload_tab")])
with source_builtin:
    names = builtin_names()
    titles = {n: t(f"dataset_{n}") for n in names}
    index = names.index(data.name) if data.builtin else 0
    name = st.selectbox(t("data_choose"), names, index=index, format_func=titles.__getitem__)
    if st.button(t("data_use_builtin"), type="primary", disabled=data.builtin and name == data.name):
        state.use_builtin(name)
        st.rerun()
with source_upload:
    st.markdown(t("data_upload_help", mb=MAX_FILE_BYTES // 2**20, rows=f"{MAX_ROWS:,}", classes=MAX_CLASSES))
    upload = st.file_uploader(t("data_upload_label"), type=["csv", "tsv", "jsonl", "json", "txt"])
    with st.expander(t("data_columns_title")):
        text_column = st.text_input(t("data_text_column"), help=t("data_columns_help")) or None
        label_column = st.text_input(t("data_label_column"), help=t("data_columns_help")) or None
    if upload is not None and st.button(t("data_use_upload"), type="primary"):
        try:
            full = parse_bytes(upload.getvalue(), upload.name, text_column, label_column)
            train, valid = hold_out(full)
        except DataError as exc:
            st.error(t("data_error", error=error_text(exc)), icon="🚫")  # the previous dataset stays
        else:
            state.use_data(train, valid, upload.name)
            data = current_data()
            st.success(t("data_loaded", name=upload.name, n=len(full), classes=len(full.label_names)))

st.divider()
st.subheader(t("data_current", name=dataset_name(data.name, data.builtin)))
m1, m2, m3 = st.columns(3)
m1.metric(t("data_n_train"), f"{len(data.train):,}")
m2.metric(t("data_n_valid"), f"{len(data.valid):,}")
m3.metric(t("data_n_classes"), len(data.train.label_names))
if not data.builtin and len(data.train) < SMALL_TRAIN_ROWS:  # so few sentences are learnt by heart
    n_train, n_valid = len(data.train), len(data.valid)
    small = t("data_small_upload", name=data.name, n=n_train + n_valid, n_train=n_train, n_valid=n_valid)
    st.warning(small, icon="🔎")

names = class_names(data.train.label_names)
left, right = st.columns([3, 2])
with left:
    shown = list(names.values())
    labels = [shown[y] for y in data.train.labels[:200]]
    preview = pd.DataFrame({t("col_text"): data.train.texts[:200], t("col_label"): labels})
    st.dataframe(preview, hide_index=True, height=320, width="stretch")
with right:
    counts = {names[k]: n for k, n in data.train.label_counts().items()}
    show_chart(st, label_balance(counts, t("data_balance"), t("col_label"), t("data_balance_count")))
if data.builtin:
    with st.expander(t("data_datasheet")):
        st.markdown(builtin_dataset(data.name).datasheet)

st.markdown(f"**{t('coverage_title')}**")
model = current_model()
with st.spinner(t("coverage_reading")):
    coverage = state.coverage(model, data)
c1, c2, c3 = st.columns(3)
c1.metric(t("coverage_whole"), f"{coverage.share('whole'):.1%}")
c2.metric(t("coverage_pieces"), f"{coverage.share('pieces'):.1%}")
c3.metric(t("coverage_unknown"), f"{coverage.share('unknown'):.1%}")
st.caption(t("coverage_explain", n=f"{coverage.words:,}", model=t_plain(f"coverage_model_{model.source}")))
if coverage.frequent_pieces:
    st.caption(t("coverage_frequent_pieces", words=frequent_words(coverage.frequent_pieces)))
if coverage.frequent_unknown:
    st.caption(t("coverage_frequent_unknown", words=frequent_words(coverage.frequent_unknown)))

st.divider()
st.subheader(t("tokenizer_title"))
st.markdown(t("tokenizer_intro"))
c1, c2 = st.columns(2)
kind = setting_ui(c1, "tokenizer")
vocab_size = setting_ui(c2, "vocab_size")

with st.spinner(t("tokenizer_training")):
    tokenizer, learned = state.preview_tokenizer(data, kind, vocab_size)
st.caption(t("tokenizer_learned", n=tokenizer.vocab_size))
shares = {status: f"{learned.share(status):.1%}" for status in ("whole", "pieces", "unknown")}
st.caption(t("coverage_preview", **shares))
sample = st.text_input(t("tokenizer_try"), value=data.train.texts[0], max_chars=2000)
if sample.strip():
    enc = tokenizer.encode(sample, max_len=512)
    # One column per position: the header row numbers them, under the index's "position".
    rows = pd.Index([t("col_token"), t("col_id")], name=t("col_position"))
    st.dataframe(pd.DataFrame([enc.tokens, [str(i) for i in enc.ids]], index=rows), width="stretch")
    unknown = sum(i == tokenizer.unk_id for i in enc.ids)
    if unknown:
        st.caption(t("tokenizer_unknown", n=unknown))
else:
    st.caption(t("empty_sentence"))
