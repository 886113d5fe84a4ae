"""A run's curves, small enough to travel inside its checkpoint, and runs set side by side.

``run_history`` keeps the training loss (the moving average a page draws, at most HISTORY_POINTS of
it) and every evaluation; the app's worker writes it into the checkpoint's config.json, so that an
uploaded or shared model shows how it was trained. ``RunRecord`` is one run to compare: its
settings, curves and final figures, read from a checkpoint's record (``from_meta``) whatever made
it; ``differing`` names the settings in which the compared runs differ. No Streamlit here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HISTORY_POINTS = 400  # of the training loss: a curve's worth, a few KB of JSON
SMOOTH_SPAN = 20  # as the Train page smooths each batch's loss (figures.training.SMOOTH_SPAN)


def run_history(steps: Sequence, evals: Sequence, max_points: int = HISTORY_POINTS) -> dict[str, list]:
    """{"steps": [[step, smoothed training loss], …], "evals": [[step, valid_loss, valid_accuracy], …]}.

    The training loss of one batch is noisy: what is kept is its exponential moving average over about
    SMOOTH_SPAN steps (bias corrected), at every k-th step and always the last."""
    smoothed, average, weight = [], 0.0, 0.0
    decay = 1 - 2 / (SMOOTH_SPAN + 1)
    for record in steps:
        average = decay * average + (1 - decay) * record.loss
        weight = decay * weight + (1 - decay)
        smoothed.append(average / weight)
    keep = list(range(len(steps)))
    if len(keep) > max_points:
        keep = keep[:: len(keep) // max_points + 1]
        if keep[-1] != len(steps) - 1:
            keep.append(len(steps) - 1)
    return {
        "steps": [[steps[i].step, round(smoothed[i], 6)] for i in keep],
        "evals": [[e.step, round(e.valid_loss, 6), round(e.valid_accuracy, 6)] for e in evals],
    }


def _points(rows: Any, width: int) -> list[tuple]:
    """Rows of ``width`` finite numbers from a checkpoint's JSON (anything else is dropped, never raised on)."""
    if not isinstance(rows, list):
        return []
    out = []
    for row in rows:
        if (
            isinstance(row, list)
            and len(row) == width
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in row)
        ):
            out.append(tuple(row))
    return out


@dataclass
class RunRecord:
    """One run to set beside others."""

    settings: dict[str, Any]  # the model's and the training's settings, by name
    steps: list[tuple[int, float]] = field(default_factory=list)  # (step, smoothed training loss)
    evals: list[tuple[int, float, float]] = field(default_factory=list)  # (step, valid_loss, valid_accuracy)
    metrics: dict[str, Any] = field(default_factory=dict)  # valid_accuracy, valid_loss, steps, train_seconds

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], model_settings: Mapping[str, Any]) -> RunRecord | None:
        """The run a checkpoint records (``Checkpoint.meta`` and its model's config); None when it records
        no curves (a checkpoint from before they were kept, or made elsewhere)."""
        history = meta.get("history")
        if not isinstance(history, Mapping):
            return None
        steps, evals = _points(history.get("steps"), 2), _points(history.get("evals"), 3)
        if not steps and not evals:
            return None
        training = meta.get("training") if isinstance(meta.get("training"), Mapping) else {}
        dataset = meta.get("dataset") if isinstance(meta.get("dataset"), Mapping) else {}
        settings = {**dict(model_settings), **dict(training)}
        if dataset.get("description"):
            settings["dataset"] = str(dataset["description"])
        metrics = meta.get("metrics") if isinstance(meta.get("metrics"), Mapping) else {}
        return cls(
            settings,
            [(int(s), float(v)) for s, v in steps],
            [(int(s), float(lo), float(a)) for s, lo, a in evals],
            dict(metrics),
        )

    @classmethod
    def from_checkpoint(cls, ckpt) -> RunRecord | None:
        """The run a checkpoint (model.checkpoint.Checkpoint) records, by its record and its model's settings."""
        from .config import to_dict

        return cls.from_meta(ckpt.meta, to_dict(ckpt.model.cfg))


# Settings that differ from run to run without being a choice of the experiment.
NOT_COMPARED = {"device", "n_classes", "time_budget", "snapshot_every", "eval_every"}


def differing(records: Sequence[RunRecord]) -> list[str]:
    """The settings whose values are not the same in every one of ``records`` (in the first run's order)."""
    names: list[str] = []
    for record in records:
        names += [name for name in record.settings if name not in names and name not in NOT_COMPARED]
    return [name for name in names if len({repr(r.settings.get(name)) for r in records}) > 1]
