"""Pure figure builders: data in, a Plotly figure or an Altair chart out. No streamlit here.

Tests call these on small tensors and check what they draw: the axis labels are the tokens and
the values are the trace's own numbers. Token rows are numeric axes with the tokens as tick text;
token columns are categories made distinct (so Plotly can thin their labels to the width it draws
at). Either way a sentence with a repeated word ("the ... the") keeps one row and one column per token.
"""

from __future__ import annotations

import copy
import functools
import html
import unicodedata
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go

ATTENTION_SCALE = "Blues"
SIGNED_SCALE = "RdBu"
FONT = dict(size=15)
SMOOTH_SPAN = 20  # steps in the training loss's moving average (curve_data)
LINE_STEPS = 20  # attention_lines draws opacity in steps of 1/20
PALETTE = ["#e76f51", "#2a9d8f", "#264653", "#e9c46a", "#8ab17d", "#6d597a", "#f4a261", "#457b9d"]


def safe(label: str) -> str:
    """Plotly renders a little HTML in text; escape tokens so '<img ...>' stays text."""
    return html.escape(str(label), quote=False)


def _columns(text: str) -> int:
    """How wide a label is, in Latin characters: a Chinese (East Asian wide) character counts two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _array(matrix) -> np.ndarray:
    """A float numpy array: Plotly validates numpy arrays in one go, nested lists element by element."""
    if hasattr(matrix, "detach"):
        return matrix.detach().cpu().float().numpy()
    return np.asarray(matrix, dtype=float)


def _cell_text(z: np.ndarray, digits: int = 2) -> np.ndarray:
    """The numbers a heatmap writes in its cells; -inf (a masked score) as −∞."""
    return np.array([[("−∞" if v == float("-inf") else f"{v:.{digits}f}") for v in row] for row in z.tolist()])


def _distinct(labels: Sequence[str]) -> list[str]:
    """Labels made distinct, for a category axis: a repeated token ("the ... the") gets zero-width
    spaces appended, so that it keeps a column of its own and still reads the same."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        out.append(label + "\u200b" * seen.get(label, 0))
        seen[label] = seen.get(label, 0) + 1
    return out


def heatmap(
    matrix,
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    x_title: str = "",
    y_title: str = "",
    signed: bool = False,
    annotate: bool = True,
    digits: int = 2,
    height: int | None = None,
    outline: tuple[int, int] | None = None,
) -> go.Figure:
    """One annotated heatmap; hover shows the row token, the column token and the exact value.

    -inf (a masked score) is drawn as an empty cell and written as −∞. ``outline`` (row, column)
    draws a frame around one cell: the number the page is talking about. It has no title of its
    own: the page writes one above it, where upright top-axis labels cannot run into it.
    """
    z = _array(matrix)
    rows, cols = z.shape
    finite = np.isfinite(z)
    bound = float(np.abs(z[finite]).max()) if finite.any() else 1.0
    bound = bound or 1.0
    shown = np.where(finite, z, np.nan)
    xs, ys = [safe(t) for t in x_labels], [safe(t) for t in y_labels]
    # Numbers are written in the cells only where they can be read: at more than 20 columns Plotly
    # shrinks them to a few pixels (hover and the page's tables still give every value).
    small = annotate and cols <= 20 and rows * cols <= 400
    text = None
    if small:
        text = _cell_text(z, digits)
    # Tall matrices keep every value on hover but label every k-th row.
    y_every = max(1, rows // 32)
    # Columns get ticks that follow the width they are drawn at, where 32 fixed labels would collide
    # on a phone: numbered ones (a vector's 128 numbers) Plotly's own, 0, 20, 40 … on a projector and
    # 0, 50, 100 on a phone; named ones (tokens) as distinct categories, every one where they fit,
    # every 2nd or 3rd where they do not. Up to 16 numbers are all written.
    xaxis = dict(title=x_title, side="top")
    x = np.arange(cols)
    if xs != [str(i) for i in range(cols)]:
        x = _distinct(xs)
        xaxis.update(type="category")
    elif cols <= 16:
        xaxis.update(tickvals=list(range(cols)), ticktext=xs)
    # Rows are categories too, so that hover names a cell by its row and column labels themselves:
    # a customdata array of label pairs for every cell took a third of the time to build the
    # figures of a page (Plotly copies it element by element, several times).
    y = _distinct(ys)
    trace = dict(
        type="heatmap",
        z=shown,
        x=x,
        y=y,
        hovertemplate="%{y} → %{x}<br>%{z:.6f}<extra></extra>",
        colorscale=SIGNED_SCALE if signed else ATTENTION_SCALE,
        showscale=True,
    )
    if small:
        trace.update(text=text, texttemplate="%{text}")
    if signed:
        trace.update(zmid=0, zmin=-bound, zmax=bound)
    row_px = 48 if rows <= 16 else max(6, 720 // rows)
    layout = dict(
        font=FONT,
        margin=dict(l=10, r=10, t=60, b=10),
        height=height or max(220, row_px * rows + 130),
        xaxis=xaxis,
        yaxis=dict(type="category", tickvals=y[::y_every], ticktext=ys[::y_every], title=y_title, autorange="reversed"),
    )
    if outline is not None:
        r, c = outline
        layout["shapes"] = [dict(type="rect", xref="x", yref="y", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                                 line=dict(color="#111111", width=3))]  # fmt: skip
    # One dict, validated once: far faster than go.Heatmap plus three update_* calls.
    fig = go.Figure(data=[trace], layout=layout)
    return fig


def attention_heads(weights, tokens: Sequence[str], head_titles: Sequence[str], title: str = "") -> go.Figure:
    """Every head of one layer side by side: weights is (H, T, T), rows are queries, columns keys."""
    w = [_array(weights[h]) for h in range(len(head_titles))]
    return _grid([w], tokens, [[(h,) for h in head_titles]], title)


def attention_grid(layers_weights, tokens: Sequence[str], row_titles: Sequence[str], head_titles: Sequence[str]):
    """All layers x heads: layers_weights is (L, H, T, T)."""
    grid = [[_array(layers_weights[layer][h]) for h in range(len(head_titles))] for layer in range(len(row_titles))]
    titles = [[(r, c) for c in head_titles] for r in row_titles]
    return _grid(grid, tokens, titles, "")


def _grid(grid: list[list[np.ndarray]], tokens, titles: list[list[tuple[str, ...]]], title) -> go.Figure:
    """Heatmaps in rows and columns sharing one colour scale (0 to 1).

    Each heatmap's title is a few short lines ("layer 0", "head 2"), which fit over a column even on
    a phone; its hover box names them on one line.

    The layout is written out directly instead of with make_subplots: one validation of the
    whole figure instead of one per axis keeps the page fast (see bench: page_figures_ms).
    """
    n_rows, n_cols = len(grid), len(grid[0])
    labels = [safe(t) for t in tokens]
    keys = _distinct(labels)
    T = len(tokens)
    # Heights in pixels, then as fractions of the plotting area: below each row its column labels
    # (slanted at 60°, about 7 px a character, twice that for a Chinese one), then the next row's titles.
    row_px = 28 * T
    label_px = 16 + 7 * min(max(_columns(t) for t in tokens), 16)
    title_px = 18 * len(titles[0][0])
    gap_px = label_px + title_px + 18
    plot_px = max(240, n_rows * row_px + (n_rows - 1) * gap_px)
    gap_x, gap_y = 0.04, gap_px / plot_px
    width, height = (1 - gap_x * (n_cols - 1)) / n_cols, (1 - gap_y * (n_rows - 1)) / n_rows
    traces, layout, annotations = [], {}, []
    for r in range(n_rows):
        for c in range(n_cols):
            n = r * n_cols + c + 1
            suffix = "" if n == 1 else str(n)
            lines = [safe(line) for line in titles[r][c]]
            x0, y1 = c * (width + gap_x), 1 - r * (height + gap_y)
            x_domain = [max(0.0, x0), min(1.0, x0 + width)]  # clamped: float rounding may step outside [0, 1]
            y_domain = [max(0.0, y1 - height), min(1.0, y1)]
            traces.append(dict(
                type="heatmap", z=grid[r][c], x=keys, y=keys, coloraxis="coloraxis", xaxis=f"x{suffix}",
                yaxis=f"y{suffix}", hovertemplate="%{y} → %{x}<br>%{z:.6f}<extra>"
                              + " · ".join(lines) + "</extra>",
            ))  # fmt: skip
            # Keys as categories with automatic ticks: Plotly labels every key while the labels fit
            # (a 12-px font needs 14 px a column) and every 2nd or 3rd when the heatmap is narrower,
            # as four heads side by side are on a phone, instead of printing them over each other.
            layout[f"xaxis{suffix}"] = dict(domain=x_domain, anchor=f"y{suffix}", type="category", tickangle=-60,
                                            tickfont=dict(size=12), ticks="")  # fmt: skip
            # Only the first column names the query tokens; the others share its rows.
            layout[f"yaxis{suffix}"] = dict(domain=y_domain, anchor=f"x{suffix}", type="category", tickvals=keys,
                                            ticktext=labels, showticklabels=c == 0, ticks="", autorange="reversed")  # fmt: skip
            annotations.append(dict(text="<br>".join(lines), x=x0 + width / 2, y=y1, xref="paper", yref="paper",
                                    xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=14)))  # fmt: skip
    top_px = 24 + title_px + (40 if title else 0)
    layout.update(
        title=safe(title), annotations=annotations, coloraxis=dict(colorscale=ATTENTION_SCALE, cmin=0, cmax=1),
        font=dict(size=13), height=top_px + plot_px + label_px, margin=dict(l=10, r=10, t=top_px, b=label_px),
    )  # fmt: skip
    return go.Figure(data=traces, layout=layout)


def attention_lines(weights, tokens: Sequence[str], query_title: str = "", key_title: str = "") -> go.Figure:
    """One head as BertViz's head view draws it: every token twice, as a query on the left and as a
    key on the right, each query joined to each key by a line as opaque as its weight (a row of
    weights sums to 1). Hovering a token lists its five largest weights: where its attention goes
    (left), or which queries look at it (right).

    The opacity is the weight in steps of 0.05 (lines under 0.025 are left out), with one trace per
    step: a shape per line took 30–70 ms to build for a sentence of 20 tokens.
    """
    w = _array(weights)
    T = len(tokens)
    labels = [safe(t) for t in tokens]
    opacity = np.round(w * LINE_STEPS) / LINE_STEPS
    traces = []
    for level in np.unique(opacity[opacity > 0]):
        queries, keys = np.nonzero(opacity == level)
        traces.append(dict(
            type="scatter", mode="lines", hoverinfo="skip", showlegend=False,
            line=dict(color=f"rgba(37, 99, 235, {level:.2f})", width=3),
            x=[x for _ in queries for x in (0.03, 0.97, None)],
            y=[y for i, j in zip(queries.tolist(), keys.tolist()) for y in (i, j, None)],
        ))  # fmt: skip

    def largest(values: np.ndarray) -> str:
        return "<br>".join(f"{labels[k]}  {values[k]:.3f}" for k in np.argsort(-values, kind="stable")[:5])

    side = dict(type="scatter", mode="text", y=np.arange(T), text=labels, hoverinfo="text", showlegend=False)
    traces += [
        dict(side, x=np.zeros(T), textposition="middle left",
             hovertext=[f"<b>{labels[i]}</b> →<br>{largest(w[i])}" for i in range(T)]),
        dict(side, x=np.ones(T), textposition="middle right",
             hovertext=[f"→ <b>{labels[j]}</b><br>{largest(w[:, j])}" for j in range(T)]),
    ]  # fmt: skip
    titles = [dict(text=safe(text), x=x, y=-0.9, xref="x", yref="y", xanchor=anchor, yanchor="bottom",
                   showarrow=False, font=dict(size=14))
              for text, x, anchor in ((query_title, 0, "right"), (key_title, 1, "left")) if text]  # fmt: skip
    hidden = dict(visible=False, fixedrange=True)
    layout = dict(
        font=FONT, annotations=titles, height=30 * T + 90, margin=dict(l=10, r=10, t=20, b=10),
        xaxis=dict(hidden, range=[-0.7, 1.7]), yaxis=dict(hidden, range=[T - 0.5, -1.2]),
    )  # fmt: skip
    return go.Figure(data=traces, layout=layout)


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
    fig.layout.title = dict(text="<br>".join(safe(line) for line in frames[-1][2]), yref="container", y=1,
                            yanchor="top", pad=dict(t=14), font=dict(size=15))  # fmt: skip
    fig.layout.margin.t += 50  # two lines of caption above the keys' labels
    fig.data[0].update(zmin=0, zmax=1)  # one colour scale for every frame
    written = fig.data[0].text is not None  # numbers in the cells, where they fit
    title = fig.layout.title.to_plotly_json()
    animated = []
    for step, weights, caption in frames:
        z = _array(weights)
        patch = dict(type="heatmap", z=z)
        if written:
            patch["text"] = _cell_text(z)
        # each frame's caption placed and styled as the first one's, a line for each line
        text = "<br>".join(safe(line) for line in caption)
        animated.append(dict(name=str(step), data=[patch], traces=[0], layout=dict(title=dict(title, text=text))))
    fig.frames = animated

    def animate(duration: int) -> dict:  # Plotly.animate's options: heatmaps are redrawn, not tweened
        return dict(frame=dict(duration=duration, redraw=True), transition=dict(duration=0), mode="immediate")

    fig.layout.margin.b = 150  # under the heatmap: the buttons, then the slider
    fig.layout.height += 150 + 50
    fig.layout.updatemenus = [dict(
        type="buttons", direction="left", x=0, y=0, xanchor="left", yanchor="top", pad=dict(t=20),
        showactive=False, buttons=[
            dict(label=f"▶ {safe(labels['play'])}", method="animate", args=[None, animate(600)]),
            dict(label=f"⏸ {safe(labels['pause'])}", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
        ],
    )]  # fmt: skip
    fig.layout.sliders = [dict(
        active=len(frames) - 1, x=0, len=1, y=0, yanchor="top", pad=dict(t=70),
        currentvalue=dict(prefix=f"{safe(labels['step'])} ", font=dict(size=14)),
        steps=[dict(label=str(step), method="animate", args=[[str(step)], animate(0)]) for step, _, _ in frames],
    )]  # fmt: skip
    return fig


def token_bars(values: Sequence[float], tokens: Sequence[str], title: str, value_title: str,
               y_max: float | None = None) -> go.Figure:  # fmt: skip
    """How much each token gets, e.g. the [CLS] query's attention: one bar per token, in order.

    ``y_max`` fixes the value axis (0 to y_max, plus room for the bars' labels), so that two charts
    set side by side can be compared bar for bar.
    """
    labels = [safe(t) for t in tokens]
    values = [float(v) for v in values]
    trace = dict(
        type="bar", x=list(range(len(labels))), y=values, customdata=labels, marker=dict(color="#2563eb"),
        text=[f"{v:.2f}" for v in values], textposition="outside",
        hovertemplate="%{customdata}<br>%{y:.6f}<extra></extra>",
    )  # fmt: skip
    layout = dict(
        title=safe(title), font=FONT, height=300, margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        xaxis=dict(tickvals=list(range(len(labels))), ticktext=labels, tickangle=-45),
        yaxis=dict(title=value_title, rangemode="tozero"),
    )  # fmt: skip
    if y_max is not None:
        layout["yaxis"]["range"] = [0, 1.15 * y_max]
    return go.Figure(data=[trace], layout=layout)


def probabilities(label_names: Sequence[str], probs: Sequence[float], title: str = "") -> go.Figure:
    """One horizontal bar per class, 0 to 100%."""
    labels = [safe(n) for n in label_names]
    probs = [float(p) for p in probs]
    trace = dict(
        type="bar", orientation="h", x=probs, y=labels, text=[f"{p:.1%}" for p in probs],
        # inside a long bar, after a short one: "auto" dropped the label of a bar narrower than a pixel (0.0%)
        textposition=["inside" if p > 0.15 else "outside" for p in probs],
        marker=dict(color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))]),
        hovertemplate="%{y}: %{x:.4%}<extra></extra>",
    )  # fmt: skip
    layout = dict(
        title=safe(title), font=FONT, height=56 * len(labels) + 60, margin=dict(l=10, r=24, t=30 if title else 10, b=10),
        # every quarter up to 100% (with the default ticks the last label, 100%, did not fit)
        xaxis=dict(range=[0, 1], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1]), yaxis=dict(autorange="reversed"),
    )  # fmt: skip
    return go.Figure(data=[trace], layout=layout)


def training_curves(labels: dict[str, str]) -> tuple[dict, dict]:
    """Vega-Lite specs, without data, for the loss per step (validation loss on top) and the accuracy.

    ``labels`` holds the translated names of the series and axes. The specs are built once per
    language and the page sends only ``curve_data`` on each refresh: building the Altair charts
    with their data took ~35 ms a refresh, on the server beside the training thread.
    """
    loss_spec, accuracy_spec = _curve_specs(tuple(sorted(labels.items())))
    return copy.deepcopy(loss_spec), copy.deepcopy(accuracy_spec)


@functools.lru_cache(maxsize=8)
def _curve_specs(label_items: tuple[tuple[str, str], ...]) -> tuple[dict, dict]:
    labels = dict(label_items)
    step = alt.X("step:Q", title=labels["step"], axis=alt.Axis(format="d", tickMinStep=1))  # whole steps
    # A legend on top of both charts, close to the title, so that side by side their plots are the same height.
    legend = alt.Legend(orient="top", offset=4, padding=0)
    loss_chart = (
        alt.Chart(title=alt.TitleParams(labels["loss_title"], offset=0))
        .mark_line(point=False)
        .encode(
            x=step,
            y=alt.Y("loss:Q", title=labels["loss"]),
            # Colours told apart on a projector: training in blues (each batch's loss faint, its moving
            # average dark), validation in orange.
            color=alt.Color(
                "series:N",
                title=None,
                legend=legend,
                scale=alt.Scale(
                    domain=[labels["train_loss"], labels["train_loss_smooth"], labels["valid_loss"]],
                    range=["#8fb3cc", "#1d3557", "#e76f51"],
                ),  # fmt: skip
            ),
            strokeWidth=alt.condition(alt.datum.series == labels["train_loss"], alt.value(1), alt.value(2.5)),
            tooltip=["series:N", "step:Q", alt.Tooltip("loss:Q", format=".4f")],
        )
        .properties(height=360)
    )
    accuracy_chart = (
        alt.Chart(title=alt.TitleParams(labels["accuracy_title"], offset=0))
        .mark_line(point=True)
        .encode(
            color=alt.Color(
                "series:N",
                title=None,
                legend=legend,
                scale=alt.Scale(domain=[labels["valid_accuracy"]], range=["#2a9d8f"]),
            ),
            x=step,
            y=alt.Y(
                "valid_accuracy:Q", title=labels["accuracy"], scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")
            ),  # fmt: skip
            tooltip=["step:Q", alt.Tooltip("valid_accuracy:Q", format=".2%")],
        )
        .properties(height=360)
    )
    specs = loss_chart.to_dict(), accuracy_chart.to_dict()
    for spec in specs:  # Altair puts in an empty dataset; the page's rows take its place
        spec.pop("data", None), spec.pop("datasets", None)
    return specs


def curve_data(
    steps: Sequence[tuple[int, float]],
    evals: Sequence[tuple[int, float, float]],
    labels: dict[str, str],
    max_points: int = 300,
    smooth_span: int = SMOOTH_SPAN,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows ``training_curves`` draws: (step, loss, series) and (step, valid_accuracy, series).

    ``steps`` holds (step, training loss) per optimizer step, ``evals`` (step, validation loss,
    validation accuracy) per evaluation. Each batch's loss is noisy, so the training loss is drawn
    twice: as it is, and as its exponential moving average over about ``smooth_span`` steps (bias
    corrected, as TensorBoard smooths, so the first point is the first loss). Above ``max_points``
    steps every k-th is kept, and always the last, so the chart stays light however long the run;
    the average is taken over every step before that.
    """
    keep = list(range(len(steps)))
    if len(steps) > max_points:
        keep = keep[:: len(steps) // max_points + 1]
        if keep[-1] != len(steps) - 1:
            keep.append(len(steps) - 1)
    smoothed = pd.Series([loss for _, loss in steps], dtype=float).ewm(span=smooth_span, adjust=True).mean()
    kept_steps = [steps[i][0] for i in keep]
    loss = pd.DataFrame(
        {
            "step": kept_steps * 2 + [e[0] for e in evals],
            "loss": [steps[i][1] for i in keep] + smoothed.iloc[keep].tolist() + [e[1] for e in evals],
            "series": [labels["train_loss"]] * len(keep) + [labels["train_loss_smooth"]] * len(keep)
            + [labels["valid_loss"]] * len(evals),
        }
    )  # fmt: skip
    accuracy = pd.DataFrame(
        {
            "step": [e[0] for e in evals],
            "valid_accuracy": [e[2] for e in evals],
            "series": [labels["valid_accuracy"]] * len(evals),
        }
    )
    return loss, accuracy


def label_balance(counts: dict[str, int], title: str = "", label: str = "label", count: str = "count") -> alt.Chart:
    """Sentences per class as bars; ``label`` and ``count`` name the axes and the tooltip (translated)."""
    df = pd.DataFrame({"label": list(counts), "count": list(counts.values())})
    # Vega-Lite turns a nominal axis's labels on end by default, which lays 消极 on its side; a few
    # short labels fit upright, more or longer ones slant.
    upright = len(counts) <= 6 and max(map(len, counts), default=0) <= 12
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            x=alt.X("label:N", title=None, sort=list(counts), axis=alt.Axis(labelAngle=0 if upright else -45)),
            y=alt.Y("count:Q", title=count),
            color=alt.Color("label:N", legend=None),
            tooltip=[alt.Tooltip("label:N", title=label), alt.Tooltip("count:Q", title=count)],
        )  # fmt: skip
        .properties(height=220)
    )


def confusion_matrix(label_names: Sequence[str], true: Sequence[int], predicted: Sequence[int], titles: dict[str, str]):
    n = len(label_names)
    counts = [[0] * n for _ in range(n)]
    for t, p in zip(true, predicted):
        counts[t][p] += 1
    return heatmap(counts, label_names, label_names, x_title=titles["predicted"], y_title=titles["true"], digits=0,
                   height=70 + 60 * n)  # fmt: skip


def architecture_dot(n_layers: int, d_model: int, n_heads: int, d_ff: int, pooling: str, n_classes: int,
                     labels: dict[str, str], *, vocab_size: int, activation: str) -> str:  # fmt: skip
    """Graphviz source for the real architecture with the model's own sizes, in the order of its forward.

    `pooling` and `activation` are the names to show (the pooling already translated)."""
    L = labels

    def q(text: str) -> str:
        return '"' + str(text).replace('"', "'") + '"'

    nl = "\\n"  # a line break inside a Graphviz label
    emb = q(L["embedding"] + nl + f"({vocab_size} × {d_model}) + " + L["position"])
    block = q(f"{n_layers} × " + L["block"])
    mha = q(L["attention"] + nl + f"{n_heads} × softmax(QKᵀ/√d_k)·V")
    ffn = q(L["ffn"] + f" ({activation})" + nl + f"{d_model} → {d_ff} → {d_model}")
    pool = q(L["pooling"] + f": {pooling}")
    head = q(L["classifier"] + nl + f"{d_model} → {n_classes}")
    return f"""digraph {{
  rankdir=TB; node [shape=box, style="rounded,filled", fillcolor="#eef4fb", fontname="Helvetica", fontsize=14];
  tokens [label={q(L["tokens"])}, fillcolor="#ffffff"];
  emb [label={emb}];
  subgraph cluster_block {{
    label={block}; style="rounded,dashed"; fontname="Helvetica";
    ln1 [label="LayerNorm"]; mha [label={mha}, fillcolor="#dbeafe"];
    add1 [label="+", shape=circle]; ln2 [label="LayerNorm"];
    ffn [label={ffn}, fillcolor="#fde68a"]; add2 [label="+", shape=circle];
    ln1 -> mha -> add1 -> ln2 -> ffn -> add2;
  }}
  ln_f [label="LayerNorm"]; pool [label={pool}]; head [label={head}];
  out [label={q(L["probabilities"])}, fillcolor="#ffffff"];
  tokens -> emb -> ln1; emb -> add1 [style=dashed, label={q(L["residual"])}]; add1 -> add2 [style=dashed];
  add2 -> ln_f -> pool -> head -> out;
}}"""
