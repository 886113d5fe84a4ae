"""What every figure shares: colours, fonts, escaping, and the band at the top kept for Plotly's toolbar."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from _plotly_utils.basevalidators import ColorscaleValidator

# Plotly checks every property of a figure as it is built, and that check was over a third of the
# time a page took to build its figures (40 figures: 148 ms checked, 90 ms not, on 2 cores). The
# figures here are built unchecked; tests/test_figures.py builds every one of them checked as well
# and asserts both give the same JSON, so a misspelt or invalid property still fails a test.
VALIDATE = False


def named_scale(name: str) -> list:
    """A Plotly colour scale by name, as the list of [stop, colour] a checked figure would hold:
    plotly.js knows some names too, but draws them in other colours ("Blues" there is blue to grey)."""
    return ColorscaleValidator("colorscale", "heatmap").validate_coerce(name)


ATTENTION_SCALE = named_scale("Blues")
SIGNED_SCALE = named_scale("RdBu")
FONT = dict(size=15)
PALETTE = ["#e76f51", "#2a9d8f", "#264653", "#e9c46a", "#8ab17d", "#6d597a", "#f4a261", "#457b9d"]
# Plotly's toolbar (zoom, pan, download) covers the top 30 px of a figure's right side, and a touch
# screen shows it always: no title, label or bar of ours is drawn in that band.
TOOLBAR_PX = 34
# An invisible title: Plotly reserves a title's height above the axes only for a title with text.
_NO_TITLE = "\u200b"


def figure(data: list, layout: dict, frames: list | None = None) -> go.Figure:
    """A Plotly figure of traces and a layout written out as dicts (checked only when VALIDATE)."""
    return go.Figure(data=data, layout=layout, frames=frames, _validate=VALIDATE)


def safe(label: str) -> str:
    """Plotly renders a little HTML in text; escape tokens so '<img ...>' stays text."""
    return html.escape(str(label), quote=False)


def columns(text: str) -> int:
    """How wide a label is, in Latin characters: a Chinese (East Asian wide) character counts two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def array(matrix) -> np.ndarray:
    """A float numpy array: Plotly validates numpy arrays in one go, nested lists element by element."""
    if hasattr(matrix, "detach"):
        return matrix.detach().cpu().float().numpy()
    return np.asarray(matrix, dtype=float)


def distinct(labels: Sequence[str]) -> list[str]:
    """Labels made distinct, for a category axis: a repeated token ("the ... the") gets zero-width
    spaces appended, so that it keeps a column of its own and still reads the same."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        out.append(label + "\u200b" * seen.get(label, 0))
        seen[label] = seen.get(label, 0) + 1
    return out


def title_under_toolbar(lines: str | Sequence[str] = "", size: int = 15, centered: bool = False) -> dict:
    """A ``layout.title`` of one or more lines that stands just under the toolbar's band, at the
    figure's left (or centred over the plot).

    With ``automargin`` Plotly reserves the title's height at the top of the figure and lays the top
    axis's title and labels out under it, however tall they are on the width it draws at. A figure
    without a title gets an invisible one, so that its top labels stay clear of the toolbar too.
    """
    lines = [lines] if isinstance(lines, str) else list(lines)
    text = "<br>".join(safe(line) for line in lines if line)
    where = dict(xref="paper", x=0.5, xanchor="center") if centered else dict(xref="container", x=0, xanchor="left")
    return dict(
        text=text or _NO_TITLE,
        font=dict(size=size if text else 1),
        yref="container",
        y=1,
        yanchor="top",
        pad=dict(t=TOOLBAR_PX, l=10),
        automargin=True,
        **where,
    )


def animation_controls(
    fig, steps: Sequence, play: str, pause: str, step: str, duration: int, buttons_pad: int, slider_pad: int
) -> None:
    """▶ / ⏸ buttons and a slider under ``fig``, whose frames are named by ``steps`` (str(step) each);
    the slider opens on the last frame. Frames are redrawn, not tweened (each may have its own axes)."""

    def animate(ms: int) -> dict:
        return dict(frame=dict(duration=ms, redraw=True), transition=dict(duration=0), mode="immediate")

    still = dict(frame=dict(duration=0, redraw=False), mode="immediate")
    buttons = [
        dict(label=f"▶ {safe(play)}", method="animate", args=[None, animate(duration)]),
        dict(label=f"⏸ {safe(pause)}", method="animate", args=[[None], still]),
    ]
    fig.layout.updatemenus = [
        dict(
            type="buttons",
            direction="left",
            x=0,
            y=0,
            xanchor="left",
            yanchor="top",
            pad=dict(t=buttons_pad),
            showactive=False,
            buttons=buttons,
        )
    ]
    marks = [dict(label=str(s), method="animate", args=[[str(s)], animate(0)]) for s in steps]
    fig.layout.sliders = [
        dict(
            active=len(steps) - 1,
            x=0,
            len=1,
            y=0,
            yanchor="top",
            pad=dict(t=slider_pad),
            currentvalue=dict(prefix=f"{safe(step)} ", font=dict(size=14)),
            steps=marks,
        )
    ]


def for_projector(fig: go.Figure, scale: float = 1.3) -> go.Figure:
    """The same figure with every font size and its height ``scale`` times larger (presenter mode): read
    from the back of a classroom. Its numbers are untouched; Plotly lays the larger labels out itself."""
    spec = fig.to_plotly_json()

    def larger(node, under_font: bool = False):
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "size" and under_font and isinstance(value, (int, float)):
                    node[name] = round(value * scale, 1)
                elif name in ("font", "textfont", "tickfont", "insidetextfont", "outsidetextfont"):
                    larger(value, True)
                else:
                    larger(value, False)
        elif isinstance(node, list):
            for item in node:
                larger(item, under_font)

    layout = spec.get("layout", {})
    layout.setdefault("font", {}).setdefault("size", 12)  # Plotly's own default, made explicit to be scaled
    for part in (spec.get("data", []), layout, *(frame for frame in spec.get("frames", []) or [])):
        larger(part)
    if isinstance(layout.get("height"), (int, float)):
        layout["height"] = round(layout["height"] * scale)
    return figure(spec.get("data", []), layout, spec.get("frames") or None)


def figure_csv(fig: go.Figure, title: str = "", columns: tuple[str, str] = ("", "")) -> str:
    """The numbers a figure draws, as CSV, under a first line naming it (``title``): a heatmap as its
    matrix (row labels down the side, column labels across the top), any other trace as one row a point,
    its columns named by the axes' titles (or ``columns``, or x and y) and its hover text. Traces are
    separated by a line naming them. Labels are the figure's own (distinct zero-width spaces removed)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)

    def clean(value):
        return str(value).replace("\u200b", "").strip() if isinstance(value, str) else value

    def axis_title(trace, letter: str, fallback: str) -> str:
        axis = fig.layout[f"{letter}axis{(getattr(trace, f'{letter}axis') or letter)[1:]}"]
        text = clean(axis.title.text) if axis and axis.title and axis.title.text else ""
        return text or fallback or letter

    if title:
        writer.writerow([f"# {clean(title)}"])
    for n, trace in enumerate(fig.data):
        if n:
            writer.writerow([])
        if len(fig.data) > 1 or trace.name:
            writer.writerow([f"# {clean(trace.name) if trace.name else f'{trace.type} {n + 1}'}"])
        if trace.type == "heatmap" and trace.z is not None:
            z = np.asarray(trace.z, dtype=float)
            columns_ = list(trace.x) if trace.x is not None else list(range(z.shape[1]))
            rows = list(trace.y) if trace.y is not None else list(range(z.shape[0]))
            corner = " \\ ".join(t for t in (axis_title(trace, "y", ""), axis_title(trace, "x", "")) if t not in "xy")
            writer.writerow([corner, *map(clean, columns_)])
            for label, row in zip(rows, z.tolist()):
                writer.writerow([clean(label), *("" if np.isnan(v) else repr(v) for v in row)])
            continue
        x = list(trace.x) if trace.x is not None else []
        y = list(trace.y) if trace.y is not None else []
        text = trace.hovertext if getattr(trace, "hovertext", None) is not None else None
        text = list(text) if isinstance(text, (list, tuple)) else None
        header = [axis_title(trace, "x", columns[0]), axis_title(trace, "y", columns[1])]
        writer.writerow([*header, *(["text"] if text else [])])
        for i in range(max(len(x), len(y))):
            row = [clean(x[i]) if i < len(x) else "", clean(y[i]) if i < len(y) else ""]
            writer.writerow(row + ([clean(text[i]) if i < len(text) else ""] if text else []))
    return out.getvalue()
