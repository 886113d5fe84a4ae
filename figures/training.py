"""A training run drawn: the data's classes, the loss and accuracy curves, the confusion matrix, and
inside the training: the learning rate, each part's gradient norm and update size, the loss per
epoch, and the positional encoding table.

The curves are Vega-Lite (Altair) specs the Train page fills with rows on each refresh; the confusion
matrix and the positional table are Plotly heatmaps.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Sequence

import altair as alt
import pandas as pd
import plotly.graph_objects as go

from figures.base import PALETTE, TOOLBAR_PX
from figures.base import columns as text_columns
from figures.heatmaps import heatmap
from model.history import SMOOTH_SPAN  # steps in the training loss's moving average (curve_data)

# The update size a step usually should have: about a thousandth of the weights (a common rule of thumb,
# from Karpathy's "A Recipe for Training Neural Networks" and CS231n; drawn dashed on update_chart).
UPDATE_RATIO_REFERENCE = 1e-3


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
        )
        .properties(height=220)
    )


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
                ),
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
            ),
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
            "series": [labels["train_loss"]] * len(keep)
            + [labels["train_loss_smooth"]] * len(keep)
            + [labels["valid_loss"]] * len(evals),
        }
    )
    accuracy = pd.DataFrame(
        {
            "step": [e[0] for e in evals],
            "valid_accuracy": [e[2] for e in evals],
            "series": [labels["valid_accuracy"]] * len(evals),
        }
    )
    return loss, accuracy


def confusion_matrix(
    label_names: Sequence[str], true: Sequence[int], predicted: Sequence[int], titles: dict[str, str]
) -> go.Figure:
    """Validation sentences counted by (true class, predicted class); ``titles`` names the two axes."""
    n = len(label_names)
    counts = [[0] * n for _ in range(n)]
    for t, p in zip(true, predicted):
        counts[t][p] += 1
    height = 70 + 60 * n + TOOLBAR_PX
    return heatmap(
        counts, label_names, label_names, x_title=titles["predicted"], y_title=titles["true"], digits=0, height=height
    )


# ---- inside the training: the learning rate, each part's gradients and updates, the epochs ------------
def _thin(n: int, max_points: int) -> list[int]:
    """Indices of every k-th of ``n`` points (and always the last) so that at most about max_points stay."""
    keep = list(range(n))
    if n > max_points:
        keep = keep[:: n // max_points + 1]
        if keep[-1] != n - 1:
            keep.append(n - 1)
    return keep


def _spec(chart) -> dict:
    """The chart's spec without data, for every layer: the page's rows take its place."""
    spec = chart.to_dict()
    for part in (spec, *spec.get("layer", [])):
        part.pop("data", None), part.pop("datasets", None)
    return spec


def schedule_chart(labels: dict[str, str]) -> dict:
    """Vega-Lite spec, without data, of the learning rate at each step (the rows of ``schedule_data``).

    ``labels``: "lr_title", "step", "lr" (translated). Built once per language, as ``training_curves``.
    """
    return copy.deepcopy(_schedule_spec(tuple(sorted(labels.items()))))


@functools.lru_cache(maxsize=8)
def _schedule_spec(label_items: tuple[tuple[str, str], ...]) -> dict:
    labels = dict(label_items)
    chart = (
        alt.Chart(title=alt.TitleParams(labels["lr_title"], offset=0))
        .mark_line(color="#1d3557", strokeWidth=2.5)
        .encode(
            x=alt.X("step:Q", title=labels["step"], axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("lr:Q", title=labels["lr"], axis=alt.Axis(format=".0e")),
            tooltip=["step:Q", alt.Tooltip("lr:Q", format=".3e")],
        )
        .properties(height=260)
    )
    return _spec(chart)


def schedule_data(steps: Sequence[tuple[int, float]], max_points: int = 300) -> pd.DataFrame:
    """(step, lr) rows for ``schedule_chart`` from (step, learning rate) per step, thinned as ``curve_data``."""
    keep = _thin(len(steps), max_points)
    return pd.DataFrame({"step": [steps[i][0] for i in keep], "lr": [steps[i][1] for i in keep]})


def part_chart(labels: dict[str, str], parts: Sequence[str], reference: float | None = None) -> dict:
    """Vega-Lite spec, without data, of one value per model part at each step, on a log axis.

    Used for the gradient norms and the update ratios (the rows of ``part_data``). ``labels``:
    "title", "step", "value", and "reference" where a dashed ``reference`` line is drawn (the update
    ratio's 1e-3); ``parts`` are the parts' shown names in the model's order, bottom (embedding) to top.
    """
    return copy.deepcopy(_part_spec(tuple(sorted(labels.items())), tuple(parts), reference))


@functools.lru_cache(maxsize=16)
def _part_spec(label_items: tuple[tuple[str, str], ...], parts: tuple[str, ...], reference: float | None) -> dict:
    labels = dict(label_items)
    palette = [PALETTE[i % len(PALETTE)] for i in range(len(parts))]
    colours = alt.Scale(domain=list(parts), range=palette) if parts else alt.Undefined  # none before the first step
    lines = (
        alt.Chart()
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title=labels["step"], axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("value:Q", title=labels["value"], scale=alt.Scale(type="log"), axis=alt.Axis(format=".0e")),
            color=alt.Color("part:N", title=None, scale=colours, legend=alt.Legend(orient="top", offset=4, padding=0)),
            tooltip=["part:N", "step:Q", alt.Tooltip("value:Q", format=".3e")],
        )
    )
    layers = [lines]
    if reference is not None:
        layers.append(alt.Chart().mark_rule(strokeDash=[6, 4], color="#555555").encode(y=alt.datum(reference)))
    spec = _spec(alt.layer(*layers, title=alt.TitleParams(labels["title"], offset=0)).properties(height=300))
    if reference is not None:  # the rule has one row of its own, not one per row the page sends
        spec["layer"][1]["data"] = {"values": [{"reference": labels.get("reference", "")}]}
        spec["layer"][1]["encoding"]["tooltip"] = {"field": "reference", "type": "nominal"}
    return spec


def part_data(records: Sequence[tuple[int, dict[str, float]]], names: dict[str, str]) -> pd.DataFrame:
    """(step, part, value) rows for ``part_chart`` from (step, {part key: value}) per diagnostic step.

    ``names`` gives each part key ("embedding", "layer_1", …, "output") its shown name. Values that
    a log axis cannot draw (0, negative, NaN, infinite) are left out.
    """
    rows = [
        (step, names.get(part, part), value)
        for step, values in records
        for part, value in values.items()
        if math.isfinite(value) and value > 0
    ]
    return pd.DataFrame(rows, columns=["step", "part", "value"])


def epoch_table(epochs: Sequence[tuple[int, float, float, float, bool]], labels: dict[str, str]) -> pd.DataFrame:
    """The loss per epoch, as the article prints it: (epoch, training loss, validation loss, accuracy) rows.

    ``epochs`` holds (epoch, train loss, valid loss, valid accuracy, complete); ``labels`` names the
    columns ("epoch", "train_loss", "valid_loss", "valid_accuracy") and "partial", which is written
    after the number of an epoch that was cut short (a stopped run's last).
    """
    return pd.DataFrame(
        {
            labels["epoch"]: [str(e) if complete else f"{e} ({labels['partial']})" for e, *_, complete in epochs],
            labels["train_loss"]: [round(row[1], 4) for row in epochs],
            labels["valid_loss"]: [round(row[2], 4) for row in epochs],
            labels["valid_accuracy"]: [f"{row[3]:.1%}" for row in epochs],
        }
    )


def positional_heatmap(table, position_title: str, dimension_title: str, height: int = 360) -> go.Figure:
    """The positional encoding table (positions × dimensions): what the model adds to the token at each position.

    Signed colours centred on 0 (SIGNED_SCALE, as every signed matrix of the app); hover gives the exact
    value. Rows are positions from 0.
    """
    rows, cols = len(table), len(table[0])
    return heatmap(
        table,
        [str(c) for c in range(cols)],
        [str(r) for r in range(rows)],
        x_title=dimension_title,
        y_title=position_title,
        signed=True,
        annotate=False,
        height=height + TOOLBAR_PX,
    )


# ---- runs set side by side ---------------------------------------------------------------------------
def compare_data(records: Sequence, names: Sequence[str], labels: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows ``compare_charts`` draws: (step, loss, run, part) of each run's smoothed training loss and
    validation loss, and (step, accuracy, run) of its validation accuracy; ``names`` labels the runs,
    ``labels`` "train" and "valid" the two losses (translated)."""
    loss_rows, accuracy_rows = [], []
    for record, name in zip(records, names):
        loss_rows += [(step, loss, name, labels["train"]) for step, loss in record.steps]
        loss_rows += [(step, loss, name, labels["valid"]) for step, loss, _ in record.evals]
        accuracy_rows += [(step, accuracy, name) for step, _, accuracy in record.evals]
    loss = pd.DataFrame(loss_rows, columns=["step", "loss", "run", "part"])
    accuracy = pd.DataFrame(accuracy_rows, columns=["step", "accuracy", "run"])
    return loss, accuracy


COMPARE_HEIGHT = 280  # pixels of plot, under the title and above the axis and the legend
COMPARE_TITLE_COLUMNS = 40  # a title wider than this (in Latin characters) is wrapped: a phone's column is ~350 px


def title_lines(text: str, columns: int = COMPARE_TITLE_COLUMNS) -> list[str]:
    """``text`` in lines of at most about ``columns`` Latin characters (a Chinese one counts two), broken
    after a space or a punctuation mark where there is one: Vega-Lite cuts a long title short with "…"."""
    lines, line = [], ""
    for piece in re.findall(r"[^\s，；：、）)]*[\s，；：、）)]?", text):
        if line and text_columns(line + piece.rstrip()) > columns:
            lines.append(line.rstrip())
            line = ""
        line += piece
    return [*lines, line.rstrip()] if line.strip() else lines or [text]


def compare_charts(loss: pd.DataFrame, accuracy: pd.DataFrame, labels: dict[str, str]) -> tuple[alt.Chart, alt.Chart]:
    """Every compared run's loss (training, smoothed: solid; validation: dashed, as "loss_title" should say)
    and validation accuracy against the step, one colour a run. ``labels``: "loss_title", "accuracy_title",
    "step", "loss", "accuracy", "train", "valid" (translated).

    Each plot is COMPARE_HEIGHT pixels whatever else the chart holds: Streamlit fits a chart's whole height
    (title, legend and all) into the height it is given unless the spec says otherwise ("fit-x"), which left
    the plot ~100 px once the legend listed a few runs. Titles are wrapped rather than cut; the accuracy axis
    runs from 0 to 100%, so runs are compared on the same scale."""
    step = alt.X("step:Q", title=labels["step"], axis=alt.Axis(format="d", tickMinStep=1))
    # Legends under the charts, one entry a line: side by side they ran off a phone's width
    legend = alt.Legend(orient="bottom", direction="vertical", labelLimit=260)
    run = alt.Color("run:N", title=None, legend=legend, scale=alt.Scale(range=PALETTE))
    part = alt.StrokeDash(
        "part:N",
        title=None,
        legend=None,  # the title says which is which: two legends side by side ran off a phone's width
        scale=alt.Scale(domain=[labels["train"], labels["valid"]], range=[[1, 0], [6, 3]]),
    )
    size = dict(height=COMPARE_HEIGHT, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))

    def title(text: str) -> alt.TitleParams:
        return alt.TitleParams(title_lines(text), anchor="start", offset=6, limit=0)

    loss_chart = (
        alt.Chart(loss, title=title(labels["loss_title"]))
        .mark_line()
        .encode(x=step, y=alt.Y("loss:Q", title=labels["loss"]), color=run, strokeDash=part)
        .properties(**size)
    )
    accuracy_axis = alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1])
    accuracy_chart = (
        alt.Chart(accuracy, title=title(labels["accuracy_title"]))
        .mark_line(point=True)
        .encode(
            x=step,
            y=alt.Y("accuracy:Q", title=labels["accuracy"], scale=alt.Scale(domain=[0, 1]), axis=accuracy_axis),
            color=run,
        )
        .properties(**size)
    )
    return loss_chart, accuracy_chart


# ---- a Vega-Lite chart as an image, drawn on the server by vl-convert (no browser) ---------------------
EXPORT_WIDTH = 1920  # pixels: a projector's width (as the Plotly figures' export)


def chart_image(spec: dict, rows: pd.DataFrame | None, fmt: str, width: int = 900) -> bytes:
    """The chart ``spec`` (Vega-Lite, with its data or drawn from ``rows``) as a PNG scaled to EXPORT_WIDTH
    pixels wide, or as an SVG ``width`` wide. The page's charts stretch to their column; here they get a
    fixed width, and a height in proportion when they have none."""
    import json

    import vl_convert

    spec = copy.deepcopy(spec)
    if rows is not None:
        spec["data"] = {"values": json.loads(rows.to_json(orient="records"))}
    spec["width"] = width
    spec.setdefault("height", round(width * 0.45))
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be png or svg, not {fmt!r}")
    svg = vl_convert.vegalite_to_svg(spec)
    if fmt == "svg":
        return svg.encode("utf-8")
    drawn = float(re.search(r'width="([0-9.]+)"', svg).group(1))  # the plot and its axes' labels
    return vl_convert.vegalite_to_png(spec, scale=EXPORT_WIDTH / drawn)
