"""A prediction drawn: the probability of each class as bars, and the width of a probability column."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from figures.base import FONT, PALETTE, TOOLBAR_PX, figure, safe, title_under_toolbar

# A probability column of the Predict table (a bar and "100.0%"): two of them and the predicted class
# fit a phone's 354 px, where Streamlit's own width, 150 px each, cut the second one off.
PERCENT_COLUMN_PX = 105


def probabilities(label_names: Sequence[str], probs: Sequence[float], title: str = "") -> go.Figure:
    """One horizontal bar per class, 0 to 100%, under the toolbar's band."""
    labels = [safe(n) for n in label_names]
    probs = [float(p) for p in probs]
    trace = dict(
        type="bar",
        orientation="h",
        x=probs,
        y=labels,
        text=[f"{p:.1%}" for p in probs],
        # inside a long bar, after a short one: "auto" dropped the label of a bar narrower than a pixel (0.0%)
        textposition=["inside" if p > 0.15 else "outside" for p in probs],
        marker=dict(color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))]),
        hovertemplate="%{y}: %{x:.4%}<extra></extra>",
    )
    layout = dict(
        title=title_under_toolbar(title),
        font=FONT,
        height=56 * len(labels) + 50 + TOOLBAR_PX + (30 if title else 0),
        margin=dict(l=10, r=24, t=10, b=10),
        # every quarter up to 100% (with the default ticks the last label, 100%, did not fit)
        xaxis=dict(range=[0, 1], tickformat=".0%", tickvals=[0, 0.25, 0.5, 0.75, 1]),
        yaxis=dict(autorange="reversed"),
    )
    return figure([trace], layout)
