"""Every figure of every page, built as the pages build them, for one sentence of a checkpoint.

The bench times them (``page_figures_ms_p50``); tests/test_figures.py builds them checked and unchecked
by Plotly and compares the two. A page that draws a new figure adds it here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch

# The app's figures carry Streamlit's Plotly template (set when streamlit draws its first chart):
# build them with it here too, as the page does.
from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

from figures import (
    attention_grid,
    attention_heads,
    attention_lines,
    attribution_heatmap,
    heatmap,
    importance_heatmap,
    part_chart,
    positional_heatmap,
    probabilities,
    projection_figure,
    prune_figure,
    readout_figure,
    schedule_chart,
    token_bars,
)
from model.data import Dataset, load_builtin
from model.explain import explain, head_importance, pooled_vectors, project, prune_curve
from model.inspect import (
    dot_product,
    feed_forward_steps,
    head_steps,
    inspect_sentence,
    padded_row,
    positional_table,
    what_if_weights,
)
from model.sections import SECTIONS
from model.trainer import EncodedSet


def page_figures(ckpt, sentence: str) -> Callable[[], list]:
    """A function that builds all the figures for ``sentence``: the model's numbers they draw (the
    explanation, head importance, sentence vectors) are computed once here, as the pages cache them."""
    configure_streamlit_plotly_theme()
    cfg = ckpt.model.cfg

    def step_by_step_figures(r) -> list:
        """The figures of Step by step with every section shown (model/sections.py): layer 0, head 0, query 0."""
        s, f = head_steps(r, ckpt.model, 0, 0, 0), feed_forward_steps(r, 0)
        tok, dims, dh, ff = r.tokens, *([str(i) for i in range(n)] for n in (cfg.d_model, s.d_k, cfg.d_ff))
        padded = padded_row(ckpt, r, 0, 0, 0)  # the mask section runs the sentence again, padded
        d = dot_product(s, 0, int(s.scores[0].argmax()))  # the scores section opens the top score up
        changed = what_if_weights(s.scores + s.mask, s.d_k, temperature=2.0)
        matrices = {  # what each section draws, as the page draws it: a new section says here what it adds
            "x": [(s.x_norm, dims, tok)],
            "w": [(s.W_Q, dh, dims), (s.W_K, dh, dims), (s.W_V, dh, dims)],
            "qkv": [(s.q, dh, tok), (s.k, dh, tok), (s.v, dh, tok)],
            "scores": [(s.scores, tok, tok), ([d.q.tolist(), d.k.tolist(), d.terms.tolist()], dh, ["Q", "K", "Q × K"])],
            "scaled": [(s.scaled, tok, tok)],
            "mask": [([padded.mask.tolist(), padded.weights.tolist()], padded.tokens, ["M", "A"])],
            "exp": [],  # a table, not a figure
            "softmax": [(s.weights, tok, tok)],
            "output": [(s.output, dh, tok)],
            "concat": [(s.concat, dims, tok)],
            "wo": [(s.attn_out, dims, tok)],
            "residual": [(s.residual, dims, tok)],
            "ffn_norm": [(f.x_norm, dims, tok)],
            "ffn_hidden": [(f.hidden, ff, tok)],
            "ffn_out": [(f.ffn_out, dims, tok), (f.out, dims, tok)],
            "whatif": [(changed, tok, tok)],
        }
        figs = [heatmap(m, xs, ys, signed=True) for section in SECTIONS for m, xs, ys in matrices[section.key]]
        return figs + [token_bars(weights[0].tolist(), tok, "", "w") for weights in (s.weights, changed)]

    def all_figures():
        r = inspect_sentence(ckpt, sentence)
        tok, heads = r.tokens, [f"head {h}" for h in range(cfg.n_heads)]
        layers = [f"layer {i}" for i in range(cfg.n_layers)]
        last = r.trace.layers[-1].attention.weights[0]  # (H, T, T)
        figs = [
            probabilities(r.label_names, r.probabilities),
            attention_heads(last, tok, heads),
            attention_lines(last[0], tok, "query", "key"),
            attention_grid(torch.stack([lt.attention.weights[0] for lt in r.trace.layers]), tok, layers, heads),
        ]
        cls_rows = last[:, 0, :]
        figs += [heatmap(cls_rows, tok, heads), token_bars(cls_rows.mean(0).tolist(), tok, "", "w")]
        figs.append(token_bars(r.trace.pooling_weights[0].tolist(), tok, "", "w"))
        return figs + step_by_step_figures(r)

    # Why (pages/why.py) and Train's "Inside the training" (pages/train.py): their figures from the model's
    # numbers, computed once outside the timing (the page caches them too), drawn as the pages draw them.

    why = explain(ckpt, sentence)
    valid = load_builtin("sentiment_en").valid
    rows = [round(i * (len(valid) - 1) / 299) for i in range(300)]
    texts, labels = [valid.texts[i] for i in rows], [valid.labels[i] for i in rows]
    data = EncodedSet.build(Dataset(texts, labels, valid.label_names), ckpt.tokenizer, cfg.max_len)
    importance = head_importance(ckpt.model, data)
    curve = prune_curve(ckpt.model, data, importance)
    vectors, predicted = pooled_vectors(ckpt.model, ckpt.tokenizer, texts)
    typed, _ = pooled_vectors(ckpt.model, ckpt.tokenizer, [sentence])
    xy, extra_xy, explained = project(vectors, typed)
    frames = [SimpleNamespace(step=0, xy=xy, predicted=predicted.tolist(), explained=explained, extra_xy=extra_xy)]
    words = {k: k for k in ("true", "predicted", "wrong", "probe", "typed", "step", "play", "pause", "axis")}
    methods = ["gradient_x_input", "integrated_gradients", "attention_rollout"]
    signed = [True, True, False]
    labels_lr = {k: k for k in ("lr_title", "step", "lr", "title", "value", "reference")}

    def new_figures() -> list:
        values = [getattr(why, m) for m in methods]
        layers, heads = [f"layer {i}" for i in range(cfg.n_layers)], [f"head {h}" for h in range(cfg.n_heads)]
        depths = ["embedding"] + layers
        return [
            attribution_heatmap(values, why.tokens, methods, signed),
            attribution_heatmap(values, why.tokens, methods, signed, tokens_down=True),
            readout_figure(why.layer_readout, why.label_names, depths),
            importance_heatmap(importance.change("accuracy"), layers, heads, True),
            importance_heatmap(importance.change("loss"), layers, heads, False),
            prune_figure(
                importance.baseline_accuracy, [e.accuracy for e in curve], [f"{e.layer}.{e.head}" for e in curve]
            ),
            projection_figure(frames, labels, why.label_names, texts, [], sentence, words),
            positional_heatmap(positional_table(ckpt.model), "position", "dimension"),
            schedule_chart(labels_lr),
            part_chart(labels_lr, ["embedding", "layer_1", "layer_2", "output"], 1e-3),
        ]

    def every_figure() -> list:
        return all_figures() + new_figures()

    return every_figure
