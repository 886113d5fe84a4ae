"""Attention weights drawn: a layer's heads side by side, every layer × head, one head as lines,
one head through training, and how much each token gets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.base import (
    ATTENTION_SCALE,
    FONT,
    TOOLBAR_PX,
    animation_controls,
    array,
    columns,
    distinct,
    figure,
    safe,
    title_under_toolbar,
)
from figures.heatmaps import cell_text, heatmap
from figures.screens import WIDE_PX

LINE_STEPS = 20  # attention_lines draws opacity in steps of 1/20
KEY_PX = 15  # the width a key's column needs for its 12-px label, slanted at 60°, to stand clear of the next


def heads_per_row(n_heads: int, n_tokens: int, width: int = WIDE_PX) -> int:
    """How many of a layer's heads stand side by side in ``width`` px with every key labelled: the
    most that fit (a divisor of ``n_heads``, so that the rows are full), at least one."""
    plots_px = width - 150  # the query labels and their title on the left, the colour bar on the right

    def fits(n: int) -> bool:  # n heads of n_tokens keys each, 16 px apart
        return n * n_tokens * KEY_PX + (n - 1) * 16 <= plots_px

    return max((n for n in range(1, n_heads + 1) if n_heads % n == 0 and fits(n)), default=1)


def attention_heads(
    weights,
    tokens: Sequence[str],
    head_titles: Sequence[str],
    query_title: str = "",
    key_title: str = "",
    width: int = WIDE_PX,
    per_row: int | None = None,
) -> go.Figure:
    """A layer's heads, as many side by side as ``width`` px holds with every key labelled (or
    ``per_row``), the others in rows below: weights is (H, T, T), rows are queries, columns keys."""
    n_heads = len(head_titles)
    per_row = per_row or heads_per_row(n_heads, len(tokens), width)
    heads = [array(weights[h]) for h in range(n_heads)]
    grid = [heads[start : start + per_row] for start in range(0, n_heads, per_row)]
    titles = [[(title,) for title in head_titles[start : start + per_row]] for start in range(0, n_heads, per_row)]
    return _grid(grid, tokens, titles, every_key=True, query_title=query_title, key_title=key_title, width=width)


def attention_grid(layers_weights, tokens: Sequence[str], row_titles: Sequence[str], head_titles: Sequence[str]):
    """All layers x heads: layers_weights is (L, H, T, T)."""
    grid = [[array(layers_weights[layer][h]) for h in range(len(head_titles))] for layer in range(len(row_titles))]
    titles = [[(r, c) for c in head_titles] for r in row_titles]
    return _grid(grid, tokens, titles)


def _grid(
    grid: list[list[np.ndarray]],
    tokens: Sequence[str],
    titles: list[list[tuple[str, ...]]],
    every_key: bool = False,
    query_title: str = "",
    key_title: str = "",
    width: int = WIDE_PX,
) -> go.Figure:
    """Heatmaps in rows and columns sharing one colour scale (0 to 1).

    Each heatmap's title is a few short lines ("layer 0", "head 2"), which fit over a column even on
    a phone; its hover box names them on one line. ``every_key`` labels every key (a layer's heads,
    laid out so that they fit); otherwise Plotly labels as many as fit the width it draws at.

    The layout is written out directly instead of with make_subplots: one validation of the
    whole figure instead of one per axis keeps the page fast (see bench: page_figures_ms).
    """
    n_rows, n_cols = len(grid), len(grid[0])
    labels = [safe(t) for t in tokens]
    keys = distinct(labels)
    T = len(tokens)
    # Heights in pixels, then as fractions of the plotting area: below each row its column labels
    # (slanted at 60°, about 7 px a character, twice that for a Chinese one) and the keys' title,
    # then the next row's titles. The top margin keeps the toolbar's band clear above the titles.
    # A layer's heads one to a row (a phone) have their colour bar under them, to take the whole width.
    colorbar_below = every_key and n_cols == 1
    cell_px = (width - (90 if colorbar_below else 150)) / n_cols  # less the query labels and the colour bar
    key_column_px = cell_px / T
    row_px = T * max(18, min(40, int(key_column_px)))  # about square cells, tall enough for a label
    label_px = 16 + 7 * min(max(columns(t) for t in tokens), 16)
    key_px = 22 if key_title else 0
    title_px = 18 * len(titles[0][0])
    gap_px = label_px + key_px + title_px + 18
    plot_px = max(120, n_rows * row_px + (n_rows - 1) * gap_px)
    colorbar_px = 50 if colorbar_below else 0
    gap_x, gap_y = 0.04, gap_px / plot_px
    cell_w, cell_h = (1 - gap_x * (n_cols - 1)) / n_cols, (1 - gap_y * (n_rows - 1)) / n_rows
    # Every key labelled: a smaller font where the columns are narrow (a long sentence on a phone).
    key_font = max(9, min(12, int(key_column_px) - 4)) if every_key else 12
    traces, layout, annotations = [], {}, []
    for r in range(n_rows):
        y1 = 1 - r * (cell_h + gap_y)
        y_domain = [max(0.0, y1 - cell_h), min(1.0, y1)]  # clamped: float rounding may step outside [0, 1]
        for c in range(len(grid[r])):
            n = r * n_cols + c + 1
            suffix = "" if n == 1 else str(n)
            lines = [safe(line) for line in titles[r][c]]
            x0 = c * (cell_w + gap_x)
            traces.append(
                dict(
                    type="heatmap",
                    z=grid[r][c],
                    x=keys,
                    y=keys,
                    coloraxis="coloraxis",
                    xaxis=f"x{suffix}",
                    yaxis=f"y{suffix}",
                    hovertemplate="%{y} → %{x}<br>%{z:.6f}<extra>" + " · ".join(lines) + "</extra>",
                )
            )
            xaxis = dict(
                domain=[max(0.0, x0), min(1.0, x0 + cell_w)],
                anchor=f"y{suffix}",
                type="category",
                tickangle=-60,
                tickfont=dict(size=key_font),
                ticks="",
            )
            if every_key:
                xaxis.update(tickmode="array", tickvals=keys, ticktext=labels)
            # Otherwise keys as categories with automatic ticks: Plotly labels every key while the
            # labels fit (a 12-px font needs 14 px a column) and every 2nd or 3rd when the heatmap is
            # narrower, as a layer's four heads side by side on a phone are, instead of printing them over each other.
            layout[f"xaxis{suffix}"] = xaxis
            # Only the first column names the query tokens; the others share its rows.
            layout[f"yaxis{suffix}"] = dict(
                domain=y_domain,
                anchor=f"x{suffix}",
                type="category",
                tickvals=keys,
                ticktext=labels,
                showticklabels=c == 0,
                ticks="",
                autorange="reversed",
                automargin=True,
            )
            if query_title and c == 0:  # only where there is one: Plotly keeps 30 px for an empty title
                layout[f"yaxis{suffix}"]["title"] = dict(text=safe(query_title), font=dict(size=14))
            annotations.append(
                dict(
                    text="<br>".join(lines),
                    x=x0 + cell_w / 2,
                    y=y1,
                    xref="paper",
                    yref="paper",
                    xanchor="center",
                    yanchor="bottom",
                    showarrow=False,
                    font=dict(size=14),
                )
            )
        if key_title:  # under the row's slanted key labels, once for the row
            annotations.append(
                dict(
                    text=safe(key_title),
                    x=0.5,
                    y=y1 - cell_h - label_px / plot_px,
                    xref="paper",
                    yref="paper",
                    xanchor="center",
                    yanchor="top",
                    showarrow=False,
                    font=dict(size=14),
                )
            )
    top_px = TOOLBAR_PX + title_px + 6
    colorbar = dict(thickness=14)
    if colorbar_below:
        below = -(label_px + key_px + 8) / plot_px
        colorbar = dict(orientation="h", thickness=12, len=0.6, x=0.5, xanchor="center", y=below, yanchor="top")
    layout.update(
        annotations=annotations,
        coloraxis=dict(colorscale=ATTENTION_SCALE, cmin=0, cmax=1, colorbar=colorbar),
        font=dict(size=13),
        height=top_px + plot_px + label_px + key_px + colorbar_px,
        margin=dict(l=10, r=10, t=top_px, b=label_px + key_px + colorbar_px),
    )
    return figure(traces, layout)


def attention_lines(weights, tokens: Sequence[str], query_title: str = "", key_title: str = "") -> go.Figure:
    """One head as BertViz's head view draws it: every token twice, as a query on the left and as a
    key on the right, each query joined to each key by a line as opaque as its weight (a row of
    weights sums to 1). Tapping or hovering a token lists its five largest weights: where its
    attention goes (left), or which queries look at it (right).

    The opacity is the weight in steps of 0.05 (lines under 0.025 are left out), with one trace per
    step: a shape per line took 30–70 ms to build for a sentence of 20 tokens.
    """
    w = array(weights)
    T = len(tokens)
    labels = [safe(t) for t in tokens]
    opacity = np.round(w * LINE_STEPS) / LINE_STEPS
    traces = []
    for level in np.unique(opacity[opacity > 0]):
        queries, keys = np.nonzero(opacity == level)
        traces.append(
            dict(
                type="scatter",
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line=dict(color=f"rgba(37, 99, 235, {level:.2f})", width=3),
                x=[x for _ in queries for x in (0.03, 0.97, None)],
                y=[y for i, j in zip(queries.tolist(), keys.tolist()) for y in (i, j, None)],
            )
        )

    def largest(values: np.ndarray) -> str:
        return "<br>".join(f"{labels[k]}  {values[k]:.3f}" for k in np.argsort(-values, kind="stable")[:5])

    side = dict(type="scatter", mode="text", y=np.arange(T), text=labels, hoverinfo="text", showlegend=False)
    looks_at = [f"<b>{labels[i]}</b> →<br>{largest(w[i])}" for i in range(T)]
    looked_at_by = [f"→ <b>{labels[j]}</b><br>{largest(w[:, j])}" for j in range(T)]
    traces += [
        dict(side, x=np.zeros(T), textposition="middle left", hovertext=looks_at),
        dict(side, x=np.ones(T), textposition="middle right", hovertext=looked_at_by),
    ]
    # The two columns' titles on a row of their own above the tokens, inside the plot: under the toolbar's band
    titles = [
        dict(text=safe(text), x=x, y=-1, xref="x", yref="y", xanchor=anchor, yanchor="middle", showarrow=False)
        for text, x, anchor in ((query_title, 0, "right"), (key_title, 1, "left"))
        if text
    ]
    hidden = dict(visible=False, fixedrange=True)
    layout = dict(
        font=FONT,
        annotations=titles,
        height=30 * T + 100 + TOOLBAR_PX,
        margin=dict(l=10, r=10, t=TOOLBAR_PX, b=10),
        xaxis=dict(hidden, range=[-0.7, 1.7]),
        yaxis=dict(hidden, range=[T - 0.5, -1.6]),
    )
    return figure(traces, layout)


def attention_history(
    frames: Sequence[tuple[int, object, Sequence[str]]],
    tokens: Sequence[str],
    labels: dict[str, str],
) -> go.Figure:
    """One head's weights for one sentence at each snapshot of a training run, as an animation.

    ``frames`` holds (step, T × T weights, caption lines) in order; ``labels`` the translated
    "play", "pause", "step", "query" and "key". The figure opens on the last (trained) frame; ▶ plays
    the run from the untrained model on, in the browser, and the slider moves to any step. The
    buttons and the slider stand on rows of their own under the heatmap, so they fit a phone.
    """
    fig = heatmap(frames[-1][1], tokens, tokens, x_title=labels["key"], y_title=labels["query"], signed=False)
    fig.layout.title = title_under_toolbar(frames[-1][2])
    fig.layout.height += 50  # two lines of caption above the keys' labels
    fig.data[0].update(zmin=0, zmax=1)  # one colour scale for every frame
    written = fig.data[0].text is not None  # numbers in the cells, where they fit
    title = fig.layout.title.to_plotly_json()
    animated = []
    for step, weights, caption in frames:
        z = array(weights)
        patch = dict(type="heatmap", z=z)
        if written:
            patch["text"] = cell_text(z)
        # each frame's caption placed and styled as the first one's, a line for each line
        text = title_under_toolbar(caption)["text"]
        animated.append(dict(name=str(step), data=[patch], traces=[0], layout=dict(title=dict(title, text=text))))
    fig.frames = animated

    fig.layout.margin.b = 150  # under the heatmap: the buttons, then the slider
    fig.layout.height += 150
    steps = [step for step, _, _ in frames]
    animation_controls(fig, steps, labels["play"], labels["pause"], labels["step"], 600, 20, 70)
    return fig


def token_bars(
    values: Sequence[float], tokens: Sequence[str], title: str, value_title: str, y_max: float | None = None
) -> go.Figure:
    """How much each token gets, e.g. the [CLS] query's attention: one bar per token, in order.

    ``y_max`` fixes the value axis (0 to y_max, plus room for the bars' labels), so that two charts
    set side by side can be compared bar for bar. The title stands under the toolbar's band.
    """
    labels = [safe(t) for t in tokens]
    values = [float(v) for v in values]
    trace = dict(
        type="bar",
        x=list(range(len(labels))),
        y=values,
        customdata=labels,
        marker=dict(color="#2563eb"),
        text=[f"{v:.2f}" for v in values],
        textposition="outside",
        hovertemplate="%{customdata}<br>%{y:.6f}<extra></extra>",
    )
    layout = dict(
        title=title_under_toolbar(title),
        font=FONT,
        height=300 + TOOLBAR_PX,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(tickvals=list(range(len(labels))), ticktext=labels, tickangle=-45),
        yaxis=dict(title=dict(text=value_title), rangemode="tozero"),
    )
    if y_max is not None:
        layout["yaxis"]["range"] = [0, 1.15 * y_max]
    return figure([trace], layout)
