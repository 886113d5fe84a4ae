"""Why the model decided: what three attribution methods say about the sentence's tokens, the prediction
read out layer by layer, heads switched off, and the sentence vectors as they formed; one section at a time.

Every number is model/explain.py's; ui/state.py keeps what is slow (attributions, each head's importance)
per model, so that switching a head off recomputes only that."""

from typing import NamedTuple

import pandas as pd
import streamlit as st
import torch

from figures import (
    SCREENS_CSS,
    attribution_heatmap,
    importance_heatmap,
    projection_figure,
    prune_figure,
    readout_figure,
)
from model.explain import (
    ProjectionFrame,
    ablated_probabilities,
    layer_readout,
    pooled_vectors,
    project,
    projection_frames,
)
from model.inspect import InputError
from ui import state
from ui.i18n import DEFAULTS, class_names, t, t_plain
from ui.nav import begin_page
from ui.widgets import (
    about,
    all_heads_on,
    heads_off_ui,
    inspect_ui,
    model_banner,
    neighbours_ui,
    sentence_ui,
    show_figure,
)


class Section(NamedTuple):
    key: str
    title_key: str


SECTIONS = [
    Section("attribution", "why_attribution_title"),
    Section("layers", "why_layers_title"),
    Section("heads", "why_heads_title"),
    Section("vectors", "why_vectors_title"),
]
METHODS = ("gradient_x_input", "integrated_gradients", "attention_rollout")  # model/explain.py's names
SIGNED = (True, True, False)  # rollout is a share of attention, never negative

begin_page()
st.html(SCREENS_CSS)  # the attributions across the tokens on a projector, down them on a phone
st.title(t("why_title"))
ckpt = model_banner()
choice = state.current_model()
cfg = ckpt.model.cfg

sentence = sentence_ui("why")
result = inspect_ui(ckpt, sentence)
if result is None:
    st.stop()
names = list(class_names(result.label_names).values())
predicted = max(range(len(names)), key=result.probabilities.__getitem__)
st.markdown(t("why_prediction", label=names[predicted], p=f"{result.probabilities[predicted]:.1%}"))
st.caption(t("tokens_caption", tokens=" · ".join(result.tokens)))


def head_name(layer: int, head: int) -> str:
    return f"{t_plain('layer_n', n=layer)} · {t_plain('head_n', n=head)}"


def validation_caption(validation: state.ModelValidation) -> None:
    name = t_plain(f"dataset_{validation.name}") if validation.builtin else validation.name
    where = t_plain(f"why_valid_{validation.origin}", name=name)  # plain: t() escapes it once, below
    st.caption(t("why_valid_caption", n=len(validation.data), total=f"{validation.total:,}", where=where))


# ---- the sections, one function each -----------------------------------------------------------------
def attribution_section():
    try:
        with st.spinner(t("why_attribution_computing")):
            e = state.explanation(choice, sentence)
    except InputError:
        st.warning(t("empty_sentence"), icon="✍️")
        return
    target = names[e.target_index]
    st.markdown(t("why_attribution_intro", label=target))
    methods = [t_plain(f"why_method_{m}") for m in METHODS]
    values = [getattr(e, m) for m in METHODS]
    with st.container(key="wide_attribution"):
        title = about(t_plain("why_attribution_title"), target, sentence=sentence)
        show_figure(st, attribution_heatmap(values, e.tokens, methods, SIGNED), key="attribution_figure", title=title)
    with st.container(key="narrow_attribution"):  # the tokens down the screen, the three methods across
        figure = attribution_heatmap(values, e.tokens, methods, SIGNED, tokens_down=True)
        show_figure(st, figure, key="attribution_figure_narrow", title=title)
    st.caption(t("why_attribution_caption", label=target))
    st.info(t("why_honest"), icon="⚖️")

    st.markdown(f"##### {t('why_agreement_title')}")
    lines = []
    for pair, value in e.agreement().items():
        a, b = pair.split("~")
        shown = "—" if value is None else f"{value:+.2f}"
        lines.append(t("why_agreement_line", a=t_plain(f"why_method_{a}"), b=t_plain(f"why_method_{b}"), rho=shown))
    st.markdown("\n".join(f"- {line}" for line in lines))
    st.caption(t("why_agreement_caption"))

    st.markdown(f"##### {t('why_completeness_title')}")
    total, difference = sum(e.integrated_gradients), e.logit - e.ig_baseline_logit
    st.latex(
        rf"\begin{{aligned}} \textstyle\sum_i \mathrm{{IG}}_i &= {total:.4f} \\ "
        rf"z - z_{{\text{{[UNK]}}}} &= {e.logit:.4f} - ({e.ig_baseline_logit:.4f}) = {difference:.4f} \end{{aligned}}"
    )
    share = f"{e.ig_error / abs(difference):.2%}" if difference else "—"
    st.markdown(t("why_completeness_text", label=target, error=f"{e.ig_error:.4f}", share=share, steps=e.ig_steps))
    st.markdown(t("why_baseline_text"))

    st.markdown(f"##### {t('why_numbers_title')}")
    table = pd.DataFrame({t_plain("why_col_token"): e.tokens, **dict(zip(methods, values))})
    number = st.column_config.NumberColumn(format="%.5f")
    config = dict.fromkeys(methods, number)
    st.container(key="wide_numbers").dataframe(table, column_config=config, hide_index=True, width="stretch")
    # a phone's width cuts a grid of four columns off: a plain table wraps its headers instead
    st.container(key="narrow_numbers").table(table.style.format(dict.fromkeys(methods, "{:.5f}")), hide_index=True)


def layers_section():
    st.markdown(t("why_layers_intro"))
    real = torch.ones(1, len(result.tokens), dtype=torch.bool)
    readout = layer_readout(ckpt.model, result.trace, real)  # (L + 1, C): the embedding, then each block
    depths = [t_plain("why_depth_embedding")] + [t_plain("why_depth_after", n=i) for i in range(cfg.n_layers)]
    figure = readout_figure(readout, names, depths, value_title=t_plain("why_probability"))
    show_figure(st, figure, key="readout_figure", title=about(t_plain("why_layers_title"), sentence=sentence))
    last = readout[-1]
    top = int(last.argmax())
    st.markdown(t("why_layers_last", label=names[top], p=f"{float(last[top]):.1%}"))
    table = pd.DataFrame(
        {
            t_plain("why_col_depth"): depths,
            **{name: [f"{float(p):.2%}" for p in readout[:, c]] for c, name in enumerate(names)},
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")


def heads_section():
    validation = state.model_validation(choice)
    st.markdown(t("why_heads_intro"))
    replacements = {"zeros": t_plain("why_replacement_zeros"), "mean": t_plain("why_replacement_mean")}
    replacement = st.segmented_control(
        t("why_replacement"),
        list(replacements),
        format_func=replacements.__getitem__,
        help=t("why_replacement_help"),
        disabled=validation is None,
        **state.bind("why_replacement", list(replacements), "zeros"),
    )
    replacement = "zeros" if validation is None else replacement or state.kept("why_replacement", "zeros")
    if validation is None:
        st.info(t("why_needs_validation"), icon="🏷️")
    else:
        validation_caption(validation)
    means = state.head_means(choice, validation) if replacement == "mean" else None

    st.markdown(f"##### {t('why_switch_title')}")
    off = heads_off_ui(cfg.n_layers, cfg.n_heads)
    st.button(t("why_all_on"), on_click=all_heads_on, args=(cfg.n_layers,), disabled=not off)
    sentence_part, valid_part = st.columns(2)
    after = ablated_probabilities(ckpt, sentence, off, means)
    columns = {
        t_plain("why_col_class"): names,
        t_plain("why_col_all_on"): [f"{p:.1%}" for p in result.probabilities],
    }
    if off:
        off_title = t_plain("why_col_off_one") if len(off) == 1 else t_plain("why_col_off", n=len(off))
        columns[off_title] = [f"{p:.1%}" for p in after]
    table = pd.DataFrame(columns)
    with sentence_part:
        st.markdown(f"**{t('why_this_sentence')}**")
        st.dataframe(table, hide_index=True, width="stretch")
    if validation is None:
        return
    with st.spinner(t("why_heads_computing", n=len(validation.data), heads=cfg.n_layers * cfg.n_heads)):
        importance, curve = state.head_analysis(choice, validation, replacement)
    n = len(validation.data)
    with valid_part:
        if off:
            _, accuracy = state.ablated_validation(choice, validation, off, means)
        else:
            accuracy = importance.baseline_accuracy
        change = f"{accuracy - importance.baseline_accuracy:+.1%}"
        if not off:
            label = t("why_valid_accuracy_all_on")
        else:
            label = t("why_valid_accuracy_one") if len(off) == 1 else t("why_valid_accuracy", n=len(off))
        st.metric(label, f"{accuracy:.1%}", delta=change if off else None)
        right, right_all = round(accuracy * n), round(importance.baseline_accuracy * n)
        if off:
            st.caption(t("why_valid_right", right=right, n=n, right_all=right_all))
        else:
            st.caption(t("why_valid_right_on", right=right, n=n))

    st.markdown(f"##### {t('why_importance_title')}")
    st.markdown(t(f"why_importance_intro_{replacement}"))
    layers = [t_plain("layer_n", n=i) for i in range(cfg.n_layers)]
    heads = [t_plain("head_n", n=h) for h in range(cfg.n_heads)]
    left, right = st.columns(2)
    lost = importance_heatmap(importance.change("accuracy"), layers, heads, True, t_plain("why_accuracy_lost"))
    about_heads = t_plain("why_importance_title")
    show_figure(left, lost, key="importance_accuracy_figure", title=about(about_heads, t_plain("why_accuracy_lost")))
    added = importance_heatmap(importance.change("loss"), layers, heads, False, t_plain("why_loss_added"))
    show_figure(right, added, key="importance_loss_figure", title=about(about_heads, t_plain("why_loss_added")))
    st.caption(t("why_importance_caption"))
    st.markdown(t("why_importance_note"))
    rows = pd.DataFrame(
        {
            t_plain("why_col_head"): [head_name(h.layer, h.head) for h in importance.heads],
            t_plain("why_col_accuracy"): [f"{h.accuracy:.1%}" for h in importance.heads],
            t_plain("why_accuracy_lost"): [
                f"{importance.baseline_accuracy - h.accuracy:+.1%}" for h in importance.heads
            ],
            t_plain("why_col_loss"): [f"{h.loss:.4f}" for h in importance.heads],
            t_plain("why_loss_added"): [f"{h.loss - importance.baseline_loss:+.4f}" for h in importance.heads],
        }
    )
    st.container(key="wide_importance").dataframe(rows, hide_index=True, width="stretch")
    st.container(key="narrow_importance").table(rows, hide_index=True)

    st.markdown(f"##### {t('why_prune_title')}")
    removed = [head_name(e.layer, e.head) for e in curve]
    figure = prune_figure(
        importance.baseline_accuracy,
        [e.accuracy for e in curve],
        removed,
        x_title=t_plain("why_prune_x"),
        y_title=t_plain("why_valid_accuracy_axis"),
    )
    show_figure(st, figure, key="prune_figure", title=t_plain("why_prune_title"))
    st.caption(t("why_prune_caption", order=t_plain("word_separator").join(removed)))


def vectors_section():
    st.markdown(t("why_vectors_intro"))
    view = state.current_run().view()
    snapshots = []
    if choice.source == "trained" and view.started_at == choice.since and view.valid is not None:
        snapshots = [s for s in view.snapshots if len(s.pooled)]  # (each snapshot's subset of the validation set)
    if snapshots and all(s.projection_rows == snapshots[0].projection_rows for s in snapshots):
        with st.spinner(t("why_vectors_placing", n=len(snapshots))):
            frames = projection_frames(snapshots, extra=state.snapshot_vectors(choice, snapshots, sentence))
        rows = snapshots[0].projection_rows
        labels, texts = [view.valid.labels[i] for i in rows], [view.valid.texts[i] for i in rows]
        probes = list(snapshots[0].sentences)
        total = len(view.valid)
    else:
        validation = state.model_validation(choice)
        if validation is None:
            st.info(t("why_needs_validation"), icon="🏷️")
            return
        probes = list(DEFAULTS[state.language()].probes) if choice.source == "bundled" else []
        with st.spinner(t("why_vectors_computing", n=len(validation.data))):
            vectors, predicted, probe_vectors = state.validation_vectors(choice, validation, probes)
        typed, _ = pooled_vectors(ckpt.model, ckpt.tokenizer, [sentence])  # (1, D) by the model as it is now
        xy, extra_xy, explained = project(vectors, extra=torch.cat([probe_vectors, typed]))
        frames = [ProjectionFrame(0, xy, predicted.tolist(), explained, extra_xy)]
        labels, texts, total = validation.data.labels, validation.data.texts, validation.total
    words = {
        "true": "why_true",
        "predicted": "why_predicted",
        "wrong": "why_wrong",
        "probe": "why_probe",
        "typed": "why_typed",
        "step": "history_step",
        "play": "history_play",
        "pause": "history_pause",
        "axis": "why_pc_axis",
    }
    words = {name: t_plain(key) for name, key in words.items()}
    figure = projection_figure(frames, labels, names, texts, probes, sentence, words)
    show_figure(st, figure, key="projection_figure", title=about(t_plain("why_vectors_title"), sentence=sentence))
    wrong = sum(p != y for p, y in zip(frames[-1].predicted, labels))
    st.caption(t("why_vectors_caption", n=len(labels), total=f"{total:,}", wrong=wrong))
    if probes:
        quoted = t_plain("word_separator").join(f"“{p}”" for p in probes)
        st.markdown(t("why_vectors_typed_probes", probes=quoted))
    else:
        st.markdown(t("why_vectors_typed"))
    if len(frames) > 1:
        st.markdown(t("why_vectors_frames", n=len(frames), first=frames[0].step, last=frames[-1].step))


# Each section is drawn by the function named after its key: a section missing one fails here, on every run.
DRAW = {section.key: globals()[f"{section.key}_section"] for section in SECTIONS}
titles = {section.key: f"{n}. {t_plain(section.title_key)}" for n, section in enumerate(SECTIONS, 1)}


shown = st.segmented_control(
    t("steps_section"),
    list(titles),
    format_func=titles.__getitem__,
    **state.bind("why_section", list(titles), SECTIONS[0].key),
)
shown = shown or state.kept("why_section", SECTIONS[0].key)
with st.container(key=f"section_{shown}"):  # a CSS class, st-key-section_<key>, to scroll to
    st.markdown(f"### {titles[shown]}")
    DRAW[shown]()
neighbours_ui(titles, shown, "why")
