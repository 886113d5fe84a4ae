"""One HTML file that opens offline: a run's settings, curves, figures and tables, for a teacher's records.

``run_report`` writes the sections it is given in order: a Plotly figure (drawn by plotly.js, which the
file carries once, so nothing is fetched from the network), a pandas table, or a paragraph of text.
No Streamlit here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

STYLE = """
body { font-family: "Source Sans Pro", "Noto Sans CJK SC", "Noto Sans", sans-serif; max-width: 1100px;
       margin: 2rem auto; padding: 0 1.5rem; color: #0f172a; line-height: 1.5; }
h1 { font-size: 2rem; margin-bottom: 0.2rem; } h2 { font-size: 1.3rem; margin-top: 2rem; }
.meta { color: #64748b; } table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #cbd5e1; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f1f5f9; }
"""


def run_report(title: str, subtitle: str, sections: Sequence[tuple[str, object]], lang: str = "en") -> str:
    """The HTML of a report: ``sections`` holds (heading, content), content a go.Figure, a pd.DataFrame
    or a str (escaped, a paragraph)."""
    from plotly.offline import get_plotlyjs

    parts = [
        f"<!DOCTYPE html><html lang='{html.escape(lang)}'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",  # plotly.js itself, once: the file needs no network
        f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(subtitle)}</p>",
    ]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if isinstance(content, go.Figure):
            parts.append(content.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))
        elif isinstance(content, pd.DataFrame):
            parts.append(content.to_html(escape=True, border=0))
        else:
            parts.append(f"<p>{html.escape(str(content))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def curves_figure(
    steps: Sequence[tuple[int, float]], evals: Sequence[tuple[int, float, float]], labels: dict[str, str]
) -> go.Figure:
    """A run's loss (training, smoothed, and validation) and validation accuracy against the step, as one
    Plotly figure with two y axes. ``labels``: "step", "loss", "accuracy", "train", "valid" (translated)."""
    from figures.base import FONT, PALETTE, figure

    data = [
        dict(
            type="scatter",
            mode="lines",
            name=labels["train"],
            x=[s for s, _ in steps],
            y=[v for _, v in steps],
            line=dict(color=PALETTE[2]),
        ),
        dict(
            type="scatter",
            mode="lines+markers",
            name=labels["valid"],
            x=[e[0] for e in evals],
            y=[e[1] for e in evals],
            line=dict(color=PALETTE[0], dash="dash"),
        ),
        dict(
            type="scatter",
            mode="lines+markers",
            name=labels["accuracy"],
            x=[e[0] for e in evals],
            y=[e[2] for e in evals],
            yaxis="y2",
            line=dict(color=PALETTE[1]),
        ),
    ]
    layout = dict(
        font=FONT,
        height=380,
        margin=dict(l=10, r=80, t=30, b=10),  # the right axis's title: automargin does not reserve it
        legend=dict(orientation="h", y=1.12),
        xaxis=dict(title=dict(text=labels["step"]), automargin=True),
        yaxis=dict(title=dict(text=labels["loss"]), automargin=True),
        yaxis2=dict(
            title=dict(text=labels["accuracy"]),
            overlaying="y",
            side="right",
            tickformat=".0%",
            range=[0, 1],
            tickmode="linear",
            tick0=0,
            dtick=0.2,
            automargin=True,
        ),
    )
    return figure(data, layout)
