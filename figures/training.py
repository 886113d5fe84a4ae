"""A training run drawn: the data's classes, the loss and accuracy curves, and the confusion matrix.

The curves are Vega-Lite (Altair) specs the Train page fills with rows on each refresh; the confusion
matrix is a Plotly heatmap.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import altair as alt
import pandas as pd
import plotly.graph_objects as go

from figures.base import TOOLBAR_PX
from figures.heatmaps import heatmap

SMOOTH_SPAN = 20  # steps in the training loss's moving average (curve_data)


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
