"""Attention: the prediction, every head of a layer, all layers x heads, what [CLS] looks at,
and how the probe sentences' attention changed while the model trained."""

import streamlit as st
import torch

from figures import (
    NARROW_PX,
    SCREENS_CSS,
    attention_grid,
    attention_heads,
    attention_history,
    attention_lines,
    heatmap,
    probabilities,
    token_bars,
)
from ui.i18n import class_names, t, t_plain
from ui.nav import begin_page
from ui.state import bind, current_data, current_model, current_run
from ui.widgets import (
    about,
    choose,
    exercise_switch_ui,
    guess_attention_ui,
    guess_class_ui,
    head_titles,
    inspect_ui,
    layer_titles,
    model_banner,
    pick,
    sentence_ui,
    show_figure,
    spaced,
)

begin_page("attention")
st.html(SCREENS_CSS)  # a layer's heads side by side on a projector, one at a time on a phone
st.title(t("attention_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg

sentence = sentence_ui("attention")
exercise = exercise_switch_ui()
result = inspect_ui(ckpt, sentence)
if result is not None:
    if exercise and not guess_class_ui(result):
        st.stop()  # the prediction waits for the guess
    left, right = st.columns([1, 2])
    shown = class_names(result.label_names)
    left.metric(t("prediction"), shown[result.prediction])
    figure = probabilities(list(shown.values()), result.probabilities)
    columns = (t_plain("why_probability"), t_plain("export_class_column"))
    title = about(t_plain("prediction"), sentence=sentence)
    show_figure(right, figure, key="probabilities_figure", title=title, columns=columns)
    st.caption(t("tokens_caption", tokens=" · ".join(result.tokens)))
    if exercise:  # one head and one asking word: which word does it look at most? The figures wait for the guess.
        c1, c2, c3 = st.columns(3)
        layers, heads = list(range(cfg.n_layers)), list(range(cfg.n_heads))
        q_layer = c1.selectbox(
            t("layer"),
            layers,
            format_func=layer_titles(cfg.n_layers).__getitem__,
            **bind("attention_layer", layers, cfg.n_layers - 1, widget_key="exercise_layer"),
        )
        q_head = c2.selectbox(
            t("head"),
            heads,
            format_func=head_titles(cfg.n_heads).__getitem__,
            **bind("attention_head", heads, 0, widget_key="exercise_head"),
        )
        names = [f"{i}: {token}" for i, token in enumerate(result.tokens)]
        q_query = choose(c3, t("exercise_query"), names, "exercise_query", min(1, len(names) - 1))
        if not guess_attention_ui(result, q_layer, q_head, q_query):
            st.stop()

    # Lazy tabs: only the open one is computed and sent (a third of the work of each rerun).
    tabs = [t("tab_layer"), t("tab_lines"), t("tab_grid"), t("tab_cls")]
    tab_layer, tab_lines, tab_grid, tab_cls = st.tabs(tabs, key="attention_view", on_change="rerun")
    if tab_layer.open:
        with tab_layer:
            layer = pick(st, t("layer"), layer_titles(cfg.n_layers), "attention_layer", cfg.n_layers - 1)
            st.markdown(t("heads_explain"))
            weights = result.trace.layers[layer].attention.weights[0]  # (H, T, T)
            heads = head_titles(cfg.n_heads)
            axes = dict(query_title=t_plain("query_axis"), key_title=t_plain("key_token"))
            with st.container(key="wide_heads"):
                title = about(t_plain("tab_layer"), layer_titles(cfg.n_layers)[layer], sentence=sentence)
                show_figure(st, attention_heads(weights, result.tokens, heads, **axes), key="heads_figure", title=title)
            with st.container(key="narrow_heads"):  # four heads in a phone's width cannot be read: one at a time
                head = pick(st, t("head"), heads, "attention_head", 0)
                one = slice(head, head + 1)
                one_head = attention_heads(weights[one], result.tokens, heads[one], **axes, width=NARROW_PX)
                show_figure(st, one_head, key="head_figure", title=about(title, heads[head]))
    if tab_lines.open:
        with tab_lines:
            st.markdown(t("lines_explain"))
            c1, c2 = st.columns(2)
            layer_l = pick(c1, t("layer"), layer_titles(cfg.n_layers), "attention_layer", cfg.n_layers - 1)
            head_l = pick(c2, t("head"), head_titles(cfg.n_heads), "attention_head", 0)
            weights = result.trace.layers[layer_l].attention.weights[0, head_l]  # (T, T)
            lines = attention_lines(weights, result.tokens, t_plain("query_axis"), t_plain("key_token"))
            where = (t_plain("tab_lines"), layer_titles(cfg.n_layers)[layer_l], head_titles(cfg.n_heads)[head_l])
            show_figure(st, lines, key="lines_figure", title=about(*where, sentence=sentence))
    if tab_grid.open:
        with tab_grid:
            st.markdown(t("grid_explain"))
            all_weights = torch.stack([lt.attention.weights[0] for lt in result.trace.layers])  # (L, H, T, T)
            grid = attention_grid(all_weights, result.tokens, layer_titles(cfg.n_layers), head_titles(cfg.n_heads))
            show_figure(st, grid, key="grid_figure", title=about(t_plain("tab_grid"), sentence=sentence))
    if tab_cls.open:
        with tab_cls:
            st.markdown(t(f"cls_explain_{cfg.pooling}"))
            layer_c = pick(st, t("layer"), layer_titles(cfg.n_layers), "attention_layer", cfg.n_layers - 1)
            # (H, T): the [CLS] query of each head
            cls_rows = result.trace.layers[layer_c].attention.weights[0, :, 0, :]
            # The title above the figure, not in it: on a phone the keys' labels stand upright and
            # Plotly pushed the axis title up into a title of its own (tests/test_browser.py).
            st.markdown(f"**{t('cls_heatmap_title')}**")
            axes = dict(x_title=t_plain("key_token"), y_title=t_plain("head"))
            title = about(t_plain("cls_heatmap_title"), layer_titles(cfg.n_layers)[layer_c], sentence=sentence)
            figure = heatmap(cls_rows, result.tokens, head_titles(cfg.n_heads), **axes)
            show_figure(st, figure, key="cls_figure", title=title)
            bars = token_bars(cls_rows.mean(0).tolist(), result.tokens, t_plain("cls_mean_title"), t_plain("weight"))
            title = about(t_plain("cls_mean_title"), layer_titles(cfg.n_layers)[layer_c], sentence=sentence)
            show_figure(st, bars, key="cls_mean_figure", title=title)
            if cfg.pooling == "mean":
                pooling = result.trace.pooling_weights[0].tolist()
                bars = token_bars(pooling, result.tokens, t_plain("pooling_title"), t_plain("weight"))
                show_figure(st, bars, key="pooling_figure", title=about(t_plain("pooling_title"), sentence=sentence))

with st.container(border=True):
    st.subheader(t("history_title"))
    view = current_run().view()
    shown = current_model()
    if shown.source in ("shared", "uploaded"):  # snapshots are of a run trained here, not of this model
        model = t_plain(f"runs_model_{shown.source}", code=spaced(shown.code))
        st.info(t("history_other_model", model=model), icon="⏱️")
    elif not view.snapshots:
        st.info(t("history_empty"), icon="⏱️")
    else:
        first = view.snapshots[0]
        n_layers, n_heads = len(first.weights[0]), len(first.weights[0][0])
        label_names = view.checkpoint.label_names if view.checkpoint else current_data().train.label_names
        c1, c2, c3 = st.columns(3)
        probe = choose(c1, t("probe_sentence"), list(first.sentences), "history_probe", 0)
        h_layer = choose(c2, t("layer"), layer_titles(n_layers), "history_layer", n_layers - 1)
        h_head = choose(c3, t("head"), head_titles(n_heads), "history_head", 0)
        st.markdown(t("history_explain"))
        names = list(class_names(label_names).values())

        def caption(snap) -> tuple[str, str]:  # the step, then each class's probability for the probe
            chances = ", ".join(f"{name} {p:.1%}" for name, p in zip(names, snap.probabilities[probe]))
            return t_plain("history_caption", step=snap.step), chances

        frames = [(snap.step, snap.weights[probe][h_layer][h_head], caption(snap)) for snap in view.snapshots]
        words = {
            "play": "history_play",
            "pause": "history_pause",
            "step": "history_step",
            "query": "query_axis",
            "key": "key_token",
        }
        labels = {name: t_plain(key) for name, key in words.items()}
        figure = attention_history(frames, first.tokens[probe], labels)
        show_figure(st, figure, key="history_figure", title=about(t_plain("history_title")))
