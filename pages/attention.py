"""Attention: the prediction, every head of a layer, all layers x heads, what [CLS] looks at,
and how the probe sentences' attention changed while the model trained."""

import streamlit as st
import torch

from figures import (
    attention_grid,
    attention_heads,
    attention_history,
    attention_lines,
    heatmap,
    probabilities,
    token_bars,
)
from pages.common import (
    begin_page,
    class_names,
    current_data,
    current_run,
    head_titles,
    inspect_ui,
    layer_titles,
    model_banner,
    pick,
    remember_widget_state,
    sentence_ui,
    t,
    t_plain,
)

begin_page()
st.title(t("attention_title"))
ckpt = model_banner()
cfg = ckpt.model.cfg

sentence = sentence_ui("attention")
result = inspect_ui(ckpt, sentence)
if result is not None:
    left, right = st.columns([1, 2])
    shown = class_names(result.label_names)
    left.metric(t("prediction"), shown[result.prediction])
    right.plotly_chart(probabilities(list(shown.values()), result.probabilities), width="stretch")
    st.caption(t("tokens_caption", tokens=" · ".join(result.tokens)))

    # Lazy tabs: only the open one is computed and sent (a third of the work of each rerun).
    tab_layer, tab_lines, tab_grid, tab_cls = st.tabs([t("tab_layer"), t("tab_lines"), t("tab_grid"), t("tab_cls")],
                                                      key="attention_view", on_change="rerun")  # fmt: skip
    if tab_layer.open:
        with tab_layer:
            layer = pick(st, t("layer"), layer_titles(cfg.n_layers), "attention_layer", cfg.n_layers - 1)
            st.markdown(t("heads_explain"))
            weights = result.trace.layers[layer].steps.weights[0]  # (H, T, T)
            st.plotly_chart(attention_heads(weights, result.tokens, head_titles(cfg.n_heads)), width="stretch",
                        key="heads_figure")  # fmt: skip
    if tab_lines.open:
        with tab_lines:
            st.markdown(t("lines_explain"))
            c1, c2 = st.columns(2)
            layer_l = pick(c1, t("layer"), layer_titles(cfg.n_layers), "lines_layer", cfg.n_layers - 1)
            head_l = pick(c2, t("head"), head_titles(cfg.n_heads), "lines_head", 0)
            weights = result.trace.layers[layer_l].steps.weights[0, head_l]  # (T, T)
            st.plotly_chart(attention_lines(weights, result.tokens, t("query_axis"), t("key_token")), width="stretch",
                            key="lines_figure")  # fmt: skip
    if tab_grid.open:
        with tab_grid:
            st.markdown(t("grid_explain"))
            all_weights = torch.stack([lt.steps.weights[0] for lt in result.trace.layers])  # (L, H, T, T)
            st.plotly_chart(attention_grid(all_weights, result.tokens, layer_titles(cfg.n_layers), head_titles(cfg.n_heads)),
                        width="stretch", key="grid_figure")  # fmt: skip
    if tab_cls.open:
        with tab_cls:
            st.markdown(t(f"cls_explain_{cfg.pooling}"))
            layer_c = pick(st, t("layer"), layer_titles(cfg.n_layers), "cls_layer", cfg.n_layers - 1)
            cls_rows = result.trace.layers[layer_c].steps.weights[0, :, 0, :]  # (H, T): the [CLS] query of each head
            # The title above the figure, not in it: on a phone the keys' labels stand upright and
            # Plotly pushed the axis title up into a title of its own (tests/test_browser.py).
            st.markdown(f"**{t('cls_heatmap_title')}**")
            st.plotly_chart(heatmap(cls_rows, result.tokens, head_titles(cfg.n_heads), x_title=t("key_token"),
                                    y_title=t("head")), width="stretch", key="cls_figure")  # fmt: skip
            st.plotly_chart(token_bars(cls_rows.mean(0).tolist(), result.tokens, t("cls_mean_title"), t("weight")), width="stretch")  # fmt: skip
            if cfg.pooling == "mean":
                st.plotly_chart(token_bars(result.trace.pooling_weights[0].tolist(), result.tokens, t("pooling_title"),
                                       t("weight")), width="stretch")  # fmt: skip

with st.container(border=True):
    st.subheader(t("history_title"))
    view = current_run().view()
    if not view.snapshots:
        st.info(t("history_empty"), icon="⏱️")
    else:
        first = view.snapshots[0]
        n_layers, n_heads = len(first.weights[0]), len(first.weights[0][0])
        label_names = view.checkpoint.label_names if view.checkpoint else current_data().train.label_names
        c1, c2, c3 = st.columns(3)
        probe = c1.selectbox(t("probe_sentence"), range(len(first.sentences)), format_func=first.sentences.__getitem__)
        h_layer = c2.selectbox(
            t("layer"), range(n_layers), index=n_layers - 1, format_func=layer_titles(n_layers).__getitem__
        )
        h_head = c3.selectbox(t("head"), range(n_heads), format_func=head_titles(n_heads).__getitem__)
        st.markdown(t("history_explain"))
        names = list(class_names(label_names).values())
        frames = [(snap.step, snap.weights[probe][h_layer][h_head],
                   (t_plain("history_caption", step=snap.step),
                    ", ".join(f"{name} {p:.1%}" for name, p in zip(names, snap.probabilities[probe]))))
                  for snap in view.snapshots]  # fmt: skip
        labels = {"play": t_plain("history_play"), "pause": t_plain("history_pause"), "step": t_plain("history_step"),
                  "query": t_plain("query_axis"), "key": t_plain("key_token")}  # fmt: skip
        st.plotly_chart(attention_history(frames, first.tokens[probe], labels), width="stretch", key="history_figure")

remember_widget_state()
