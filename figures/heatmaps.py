"""The annotated heatmap: any matrix of the model (a vector per token, weights, scores) with its labels.

Token rows are categories with the tokens as tick text; token columns are categories made distinct
(so Plotly can thin their labels to the width it draws at). Either way a sentence with a repeated
word ("the ... the") keeps one row and one column per token.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures.base import (
    ATTENTION_SCALE,
    FONT,
    SIGNED_SCALE,
    TOOLBAR_PX,
    array,
    distinct,
    figure,
    safe,
    title_under_toolbar,
)


def cell_text(z: np.ndarray, digits: int = 2) -> np.ndarray:
    """The numbers a heatmap writes in its cells; -inf (a masked score) as −∞."""
    return np.array([[("−∞" if v == float("-inf") else f"{v:.{digits}f}") for v in row] for row in z.tolist()])


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
    own (the page writes one above it); its column labels and ``x_title`` stand on top, under the
    toolbar's band.
    """
    z = array(matrix)
    rows, cols = z.shape
    finite = np.isfinite(z)
    bound = float(np.abs(z[finite]).max()) if finite.any() else 1.0
    bound = bound or 1.0
    shown = np.where(finite, z, np.nan)
    xs, ys = [safe(t) for t in x_labels], [safe(t) for t in y_labels]
    # Numbers are written in the cells only where they can be read: at more than 20 columns Plotly
    # shrinks them to a few pixels (hover and the page's tables still give every value).
    small = annotate and cols <= 20 and rows * cols <= 400
    # Tall matrices keep every value on hover but label every k-th row.
    y_every = max(1, rows // 32)
    # Columns get ticks that follow the width they are drawn at, where 32 fixed labels would collide
    # on a phone: numbered ones (a vector's 128 numbers) Plotly's own, 0, 20, 40 … on a projector and
    # 0, 50, 100 on a phone; named ones (tokens) as distinct categories, every one where they fit,
    # every 2nd or 3rd where they do not. Up to 16 numbers are all written. automargin: the labels
    # and the title take the height they need on the width drawn at, under the title's band.
    xaxis = dict(side="top", automargin=True)
    x = np.arange(cols)
    if xs != [str(i) for i in range(cols)]:
        x = distinct(xs)
        xaxis.update(type="category")
    elif cols <= 16:
        xaxis.update(tickvals=list(range(cols)), ticktext=xs)
    # Rows are categories too, so that hover names a cell by its row and column labels themselves:
    # a customdata array of label pairs for every cell took a third of the time to build the
    # figures of a page (Plotly copies it element by element, several times).
    y = distinct(ys)
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
        trace.update(text=cell_text(z, digits), texttemplate="%{text}")
    if signed:
        trace.update(zmid=0, zmin=-bound, zmax=bound)
    row_px = 48 if rows <= 16 else max(6, 720 // rows)
    # automargin on both axes: the row labels and the row title take the room they need (left to plotly.js's
    # defaults, as in a report's HTML file, the row labels fell outside the figure and the title on the labels)
    yaxis = dict(type="category", tickvals=y[::y_every], ticktext=ys[::y_every], autorange="reversed", automargin=True)
    # An axis title only where there is one: Plotly keeps 30 px for an empty one.
    if x_title:
        xaxis["title"] = dict(text=x_title)
    if y_title:
        yaxis["title"] = dict(text=y_title)
    layout = dict(
        font=FONT,
        title=title_under_toolbar(),
        margin=dict(l=10, r=10, t=10, b=10),
        height=height or max(220, row_px * rows + 130) + TOOLBAR_PX,
        xaxis=xaxis,
        yaxis=yaxis,
    )
    if outline is not None:
        r, c = outline
        frame = dict(color="#111111", width=3)
        layout["shapes"] = [
            dict(type="rect", xref="x", yref="y", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5, line=frame)
        ]
    # One dict, validated once: far faster than go.Heatmap plus three update_* calls.
    return figure([trace], layout)
