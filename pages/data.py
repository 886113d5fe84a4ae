"""Data: pick a built-in dataset or upload one, look at it, and see text become tokens and ids."""

import pandas as pd
import streamlit as st

from figures import label_balance
from model.data import MAX_CLASSES, MAX_FILE_BYTES, MAX_ROWS, DataError, builtin_names, parse_bytes
from model.tokenizer import Coverage, Tokenizer
from pages import link
from pages.common import (
    DataChoice,
    begin_page,
    builtin_dataset,
    class_names,
    current_data,
    current_model,
    remember_widget_state,
    seed_choice,
    show_chart,
    t,
    t_plain,
)


def coverage_of(tokenizer: Tokenizer, data: DataChoice, slot: str) -> Coverage:
    """The tokenizer's coverage of the whole dataset, computed once per tokenizer and dataset."""
    cached = st.session_state.get(slot)
    if cached is None or cached[0] is not tokenizer or cached[1] is not data.train:
        cached = (tokenizer, data.train, tokenizer.coverage(data.train.texts + data.valid.texts))
        st.session_state[slot] = cached
    return cached[2]


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
    name = st.selectbox(t("data_choose"), names, index=names.index(data.name) if data.builtin else 0,
                        format_func={n: t(f"dataset_{n}") for n in names}.__getitem__)  # fmt: skip
    if st.button(t("data_use_builtin"), type="primary", disabled=data.builtin and name == data.name):
        ds = builtin_dataset(name)
        st.session_state["data"] = data = DataChoice(ds.train, ds.valid, name, True)
        st.rerun()
with source_upload:
    st.markdown(t("data_upload_help", mb=MAX_FILE_BYTES // 2**20, rows=f"{MAX_ROWS:,}", classes=MAX_CLASSES))
    upload = st.file_uploader(t("data_upload_label"), type=["csv", "tsv", "jsonl", "json", "txt"])
    with st.expander(t("data_columns_title")):
        text_column = st.text_input(t("data_text_column"), help=t("data_columns_help")) or None
        label_column = st.text_input(t("data_label_column"), help=t("data_columns_help")) or None
    if upload is not None and st.button(t("data_use_upload"), type="primary"):
        raw = upload.getvalue()
        try:
            if len(raw) > MAX_FILE_BYTES:
                raise DataError(t("data_too_big", mb=len(raw) / 2**20, limit=MAX_FILE_BYTES // 2**20))
            full = parse_bytes(raw, upload.name, text_column, label_column)
            train, valid = full.split(0.1, seed=0)
            if len(valid) == 0 or len(train) < 4:
                raise DataError(t("data_too_small"))
        except DataError as exc:
            st.error(t("data_error", error=str(exc)), icon="🚫")  # the previous dataset stays
        else:
            st.session_state["data"] = data = DataChoice(train, valid, upload.name, False)
            st.success(t("data_loaded", name=upload.name, n=len(full), classes=len(full.label_names)))

st.divider()
st.subheader(t("data_current", name=t(f"dataset_{data.name}") if data.builtin else data.name))
m1, m2, m3 = st.columns(3)
m1.metric(t("data_n_train"), f"{len(data.train):,}")
m2.metric(t("data_n_valid"), f"{len(data.valid):,}")
m3.metric(t("data_n_classes"), len(data.train.label_names))

names = class_names(data.train.label_names)
left, right = st.columns([3, 2])
with left:
    shown = list(names.values())
    preview = pd.DataFrame({t("col_text"): data.train.texts[:200],
                            t("col_label"): [shown[y] for y in data.train.labels[:200]]})  # fmt: skip
    st.dataframe(preview, hide_index=True, height=320, width="stretch")
with right:
    counts = {names[k]: n for k, n in data.train.label_counts().items()}
    show_chart(st, label_balance(counts, t("data_balance"), t("col_label"), t("data_balance_count")))
if data.builtin:
    with st.expander(t("data_datasheet")):
        st.markdown(builtin_dataset(data.name).datasheet)

st.markdown(f"**{t('coverage_title')}**")
model = current_model()
coverage = coverage_of(model.checkpoint.tokenizer, data, "coverage_model")
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
kind = c1.radio(t("tokenizer_kind"), link.CHOICES["tokenizer"], key="tokenizer_kind", horizontal=True,
                format_func=lambda k: {"wordpiece": "WordPiece", "bpe": "BPE"}[k], help=t("tokenizer_kind_help"))  # fmt: skip
sizes = seed_choice("vocab_size", link.CHOICES["vocab_size"], link.DEFAULTS["vocab_size"])
vocab_size = c2.select_slider(t("tokenizer_vocab"), sizes, key="vocab_size", help=t("tokenizer_vocab_help"))

cache_key = (data.name, len(data.train), kind, vocab_size)
if st.session_state.get("tokenizer_preview", (None,))[0] != cache_key:
    with st.spinner(t("tokenizer_training")):
        st.session_state["tokenizer_preview"] = (cache_key, Tokenizer.train(data.train.texts, vocab_size, kind))
tokenizer = st.session_state["tokenizer_preview"][1]
st.caption(t("tokenizer_learned", n=tokenizer.vocab_size))
learned = coverage_of(tokenizer, data, "coverage_preview")
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

remember_widget_state()
