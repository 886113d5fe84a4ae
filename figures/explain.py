"""Why the model decided, drawn: attributions on the tokens, the prediction layer by layer, each head's
importance and the pruning curve, and the sentence vectors on their first two principal components.

The numbers are model/explain.py's; the labels come in translated. Scaling a row to its largest value
(``scaled_rows``) is the only arithmetic here, and the raw values stay in the hover.
"""

from __future__ import annotations

import bisect
import itertools
import textwrap
import unicodedata
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.base import (
    FONT,
    PALETTE,
    SIGNED_SCALE,
    TOOLBAR_PX,
    animation_controls,
    array,
    columns,
    distinct,
    figure,
    named_scale,
    safe,
    title_under_toolbar,
)

# Validation points: a circle where the model is right, a cross where it is wrong; the marked sentences.
RIGHT_SYMBOL, WRONG_SYMBOL, PROBE_SYMBOL, TYPED_SYMBOL = "circle", "x", "diamond", "star"
TYPED_COLOUR = "#111111"
# Rollout's own sequential scale: not the signed scale's blue, which says "toward the predicted class"
ROLLOUT_SCALE = named_scale("Purples")
LEGEND_PX = 120  # under a projection: its axis title, then the legend (two or three lines on a phone)
CONTROLS_PX = 130  # and, for an animation, ▶/⏸ and the slider between them


def scaled_rows(values) -> np.ndarray:
    """Each row divided by its own largest magnitude, so every row spans up to ±1 (a row of zeros stays zeros).

    Methods measure on different scales (a gradient, a share of attention): per row, each method's
    strongest token is 1 and the others are read against it.
    """
    z = array(values)
    bound = np.abs(z).max(axis=1, keepdims=True)
    return np.divide(z, bound, out=np.zeros_like(z), where=bound > 0)


def attribution_heatmap(
    values: Sequence[Sequence[float]],
    tokens: Sequence[str],
    method_names: Sequence[str],
    signed: Sequence[bool],
    tokens_down: bool = False,
) -> go.Figure:
    """One row per method over the tokens (``values`` is methods × tokens), each row scaled to its own
    largest magnitude and written in its cells; the method's own value in the hover box.

    Signed methods are drawn in a diverging scale (blue: positive), the others in a purple sequential one,
    each as its own trace on the same axes. ``tokens_down`` puts the tokens in rows and the methods
    in columns: a phone's width holds three columns, not twenty tokens.
    """
    raw, z = array(values), scaled_rows(values)
    labels = distinct([safe(t) for t in tokens])
    # as column titles on a phone, a name in lines of a word or two ("integrated<br>gradients")
    methods = [
        "<br>".join(safe(line) for line in textwrap.wrap(m, 12)) if tokens_down else safe(m) for m in method_names
    ]
    # The methods stand at 0, 1, 2 on a numeric axis named by its ticks: a heatmap trace of a single
    # row (rollout, in a scale of its own) is drawn half a row off on a category axis.
    traces = []
    for is_signed in (True, False):
        rows = [i for i in range(len(methods)) if bool(signed[i]) == is_signed]
        if not rows:
            continue
        shown = z[rows]
        text = np.array([[f"{v:+.2f}" if is_signed else f"{v:.2f}" for v in row] for row in shown])
        # hover: the method's name and its own value
        exact = [[[float(v), method_names[i]] for v in raw[i]] for i in rows]
        trace = dict(
            type="heatmap",
            x=labels,
            y=rows,
            z=shown,
            customdata=exact,
            text=text,
            colorscale=SIGNED_SCALE if is_signed else ROLLOUT_SCALE,
            zmin=-1 if is_signed else 0,
            zmax=1,
            showscale=False,
            xgap=2,
            ygap=2,
            hovertemplate="%{x} · %{customdata[1]}<br>%{customdata[0]:.5g}<extra></extra>",
        )
        if tokens_down or len(labels) <= 20:  # more tokens across than that leave a cell no room for a number
            trace["texttemplate"] = "%{text}"
        if tokens_down:
            exact_down = [[exact[r][j] for r in range(len(rows))] for j in range(len(labels))]
            trace.update(
                x=rows,
                y=labels,
                z=shown.T,
                customdata=exact_down,
                text=text.T,
                hovertemplate="%{y} · %{customdata[1]}<br>%{customdata[0]:.5g}<extra></extra>",
            )
        traces.append(trace)
    token_axis = dict(type="category", categoryorder="array", categoryarray=labels, automargin=True)
    method_axis = dict(
        type="linear",
        tickmode="array",
        tickvals=list(range(len(methods))),
        ticktext=methods,
        range=[-0.5, len(methods) - 0.5],
        showgrid=False,
        zeroline=False,
        automargin=True,
    )
    if tokens_down:
        xaxis, yaxis = dict(method_axis, side="top"), dict(token_axis, autorange="reversed")
        height = (44 if len(labels) <= 20 else 30) * len(labels) + 90
    else:
        xaxis = dict(token_axis, side="top", tickangle=-45 if len(labels) > 10 else 0)
        yaxis = dict(method_axis, range=[len(methods) - 0.5, -0.5])
        height = 56 * len(methods) + 110 + 6 * min(16, max(columns(t) for t in tokens))
    layout = dict(
        font=FONT,
        title=title_under_toolbar(),
        margin=dict(l=10, r=10, t=10, b=10),
        height=height + TOOLBAR_PX,
        xaxis=xaxis,
        yaxis=yaxis,
    )
    return figure(traces, layout)


def readout_figure(
    readout, class_names: Sequence[str], depth_names: Sequence[str], value_title: str = "", title: str = ""
) -> go.Figure:
    """The probability of each class read out after the embedding and after each block (``readout`` is
    depths × classes, the last row the model's prediction): one line per class, its values written."""
    p = array(readout)
    depths = [safe(d) for d in depth_names]
    traces = [
        dict(
            type="scatter",
            mode="lines+markers+text",
            x=list(range(len(depths))),
            y=p[:, c],
            name=safe(name),
            text=[f"{v:.1%}" for v in p[:, c]],
            # over a point that is its depth's highest, under any other: two classes' labels never overlap
            textposition=["top center" if v >= p[d].max() else "bottom center" for d, v in enumerate(p[:, c])],
            cliponaxis=False,
            line=dict(color=PALETTE[c % len(PALETTE)], width=3),
            marker=dict(size=10),
            hovertemplate="%{customdata}<br>" + safe(name) + ": %{y:.4%}<extra></extra>",
            customdata=depths,
        )
        for c, name in enumerate(class_names)
    ]
    layout = dict(
        font=FONT,
        title=title_under_toolbar(title),
        height=380 + TOOLBAR_PX,
        margin=dict(l=10, r=30, t=10, b=10),
        xaxis=dict(tickvals=list(range(len(depths))), ticktext=depths, range=[-0.3, len(depths) - 0.7]),
        yaxis=dict(
            title=dict(text=value_title), range=[-0.1, 1.12], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1]
        ),
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.18, yanchor="top"),
    )
    return figure(traces, layout)


def importance_heatmap(
    change, layer_names: Sequence[str], head_names: Sequence[str], percent: bool, title: str = ""
) -> go.Figure:
    """Each head's importance (layers × heads): the accuracy lost (``percent``) or the mean loss added
    when it alone is off. Positive (blue): the model does worse without the head."""
    z = array(change)
    bound = float(np.abs(z).max()) or 1.0
    trace = dict(
        type="heatmap",
        z=z,
        x=[safe(h) for h in head_names],
        y=[safe(name) for name in layer_names],
        colorscale=SIGNED_SCALE,
        zmid=0,
        zmin=-bound,
        zmax=bound,
        showscale=False,
        xgap=2,
        ygap=2,
        texttemplate="%{z:+.1%}" if percent else "%{z:+.3f}",
        hovertemplate="%{y} · %{x}<br>" + ("%{z:+.4%}" if percent else "%{z:+.5f}") + "<extra></extra>",
    )
    layout = dict(
        font=FONT,
        title=title_under_toolbar(title),
        height=70 * len(layer_names) + 90 + TOOLBAR_PX,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(type="category"),
        yaxis=dict(type="category", autorange="reversed"),
    )
    return figure([trace], layout)


def prune_figure(
    baseline_accuracy: float,
    accuracies: Sequence[float],
    removed: Sequence[str],
    x_title: str = "",
    y_title: str = "",
    title: str = "",
) -> go.Figure:
    """Validation accuracy against the number of heads switched off, least important first: point 0 is
    every head on, point i has i heads off, ``removed[i - 1]`` the one switched off last."""
    ys = [float(baseline_accuracy)] + [float(a) for a in accuracies]
    names = ["—"] + [safe(r) for r in removed]
    trace = dict(
        type="scatter",
        mode="lines+markers",
        x=list(range(len(ys))),
        y=ys,
        customdata=names,
        line=dict(color=PALETTE[2], width=3),
        marker=dict(size=9),
        hovertemplate="%{x} · %{customdata}<br>%{y:.2%}<extra></extra>",
    )
    layout = dict(
        font=FONT,
        title=title_under_toolbar(title),
        height=360 + TOOLBAR_PX,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(
            title=dict(text=x_title), tickmode="linear", dtick=max(1, (len(ys) - 1) // 12), range=[-0.4, len(ys) - 0.6]
        ),
        yaxis=dict(title=dict(text=y_title), range=[0, 1.02], tickformat=".0%"),
    )
    return figure([trace], layout)


def hover_sentence(text: str, width: int = 40, limit: int = 160) -> str:
    """A sentence for a hover box: at most ``limit`` columns (a Chinese character counts two), in lines
    of about ``width``, escaped."""
    text = " ".join(str(text).split())
    # each character's columns once (300 sentences a figure: counting them again per character took 0.2 s)
    used = list(itertools.accumulate(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))
    if used and used[-1] > limit:
        kept = bisect.bisect_right(used, limit - 1)  # the characters that fit in limit - 1 columns
        text, used = text[:kept].rstrip() + "…", used[:kept]
    wide = bool(used) and used[-1] > len(used)  # Chinese: no spaces to break at, and each character two columns
    lines = textwrap.wrap(text, width=width // 2 if wide else width) or [""]
    return "<br>".join(safe(line) for line in lines)


def projection_figure(
    frames: Sequence,
    true_labels: Sequence[int],
    class_names: Sequence[str],
    texts: Sequence[str],
    probe_texts: Sequence[str],
    typed_text: str | None,
    words: dict[str, str],
) -> go.Figure:
    """The validation sentences' pooled vectors on their first two principal components, one frame per
    ``frames`` entry (model.explain.ProjectionFrame: step, xy, predicted, explained, extra_xy).

    Colour: the true class; a cross: the model (at that frame) gets it wrong. ``extra_xy`` holds the
    probe sentences (marked ◆) and after them, on each frame that has it, the typed sentence (★), each
    placed by the model as it was at that frame. ``words`` holds the translated "true", "predicted", "wrong",
    "probe", "typed", "step", "play", "pause" and "axis" (a template with {n} and {share}).
    Several frames: ▶ plays them and a slider goes to any; the figure opens on the last.
    """
    C, n_probes = len(class_names), len(probe_texts)
    names = [safe(c) for c in class_names]
    shown_texts = [hover_sentence(t) for t in texts]
    labels = [int(y) for y in true_labels]
    members = [[i for i, y in enumerate(labels) if y == c] for c in range(C)]
    last = len(frames) - 1

    def frame_data(k: int) -> list[dict]:
        frame = frames[k]
        xy, predicted = array(frame.xy), [int(p) for p in frame.predicted]
        data = []
        for c in range(C):
            rows = members[c]
            data.append(
                dict(
                    type="scatter",
                    x=xy[rows, 0],
                    y=xy[rows, 1],
                    marker=dict(symbol=[RIGHT_SYMBOL if predicted[i] == c else WRONG_SYMBOL for i in rows]),
                    hovertext=[
                        f"{shown_texts[i]}<br>{safe(words['true'])}: {names[c]} · "
                        f"{safe(words['predicted'])}: {names[predicted[i]]}"
                        for i in rows
                    ],
                )
            )
        extra = array(frame.extra_xy) if len(frame.extra_xy) else np.zeros((0, 2))
        data.append(dict(type="scatter", x=extra[:n_probes, 0], y=extra[:n_probes, 1]))
        typed = extra[n_probes : n_probes + 1] if typed_text is not None else np.zeros((0, 2))
        data.append(dict(type="scatter", x=typed[:, 0], y=typed[:, 1]))
        return data

    def frame_layout(k: int) -> dict:
        frame = frames[k]
        xy = array(frame.xy)
        extra = array(frame.extra_xy) if len(frame.extra_xy) else np.zeros((0, 2))
        points = np.concatenate([xy, extra]) if len(extra) else xy
        ranges = []
        for axis in range(2):
            low, high = (float(points[:, axis].min()), float(points[:, axis].max())) if len(points) else (-1.0, 1.0)
            pad = 0.06 * (high - low) or 1.0
            ranges.append([low - pad, high + pad])
        titles = [words["axis"].format(n=n + 1, share=frame.explained[n]) for n in range(2)]
        return dict(
            xaxis=dict(range=ranges[0], title=dict(text=safe(titles[0]))),
            yaxis=dict(range=ranges[1], title=dict(text=safe(titles[1]))),
        )

    base = frame_data(last)
    data = [
        dict(
            base[c],
            mode="markers",
            name=names[c],
            hoverinfo="text",
            showlegend=False,  # a legend takes a trace's first symbol, which may be a cross: entries of their own
            marker=dict(base[c]["marker"], color=PALETTE[c % len(PALETTE)], size=9, opacity=0.75),
        )
        for c in range(C)
    ]
    data.append(
        dict(
            base[C],
            mode="markers",
            name=safe(words["probe"]),
            marker=dict(symbol=PROBE_SYMBOL, size=15, color="#ffffff", line=dict(color=TYPED_COLOUR, width=2)),
            hoverinfo="text",
            hovertext=[hover_sentence(t) for t in probe_texts],
            showlegend=n_probes > 0,
            legendrank=2 + C,
        )
    )
    data.append(
        dict(
            base[C + 1],
            mode="markers",
            name=safe(words["typed"]),
            marker=dict(symbol=TYPED_SYMBOL, size=22, color="#f4d35e", line=dict(color=TYPED_COLOUR, width=2)),
            hoverinfo="text",
            hovertext=[hover_sentence(typed_text or "")],
            showlegend=typed_text is not None,
            legendrank=3 + C,
        )
    )
    legend_only = dict(type="scatter", mode="markers", x=[None], y=[None], hoverinfo="skip")
    for c in range(C):
        marker = dict(symbol=RIGHT_SYMBOL, size=9, color=PALETTE[c % len(PALETTE)])
        data.append(dict(legend_only, name=names[c], marker=marker, legendrank=1 + c))
    wrong = dict(symbol=WRONG_SYMBOL, size=9, color="#6b7280")
    data.append(dict(legend_only, name=safe(words["wrong"]), marker=wrong, legendrank=1 + C))
    layout = dict(
        font=FONT,
        title=title_under_toolbar(),
        height=520 + TOOLBAR_PX,
        margin=dict(l=10, r=10, t=10, b=LEGEND_PX),
        # the legend at the figure's foot, under the axis title (and under the controls of an animation)
        legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0, yanchor="bottom"),
        hoverlabel=dict(align="left"),
        **frame_layout(last),
    )
    fig = figure(data, layout)
    if len(frames) < 2:
        return fig

    traces = list(range(C + 2))
    fig.frames = [
        dict(name=str(frame.step), data=frame_data(k), traces=traces, layout=frame_layout(k))
        for k, frame in enumerate(frames)
    ]
    fig.layout.margin.b += CONTROLS_PX  # under the axis title: the buttons, then the slider, then the legend
    fig.layout.height += CONTROLS_PX
    steps = [frame.step for frame in frames]
    animation_controls(fig, steps, words["play"], words["pause"], words["step"], 700, 70, 120)
    return fig
