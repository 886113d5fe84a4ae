"""Runs side by side (model/history.py, the Train page's "Compare runs"), and a run's curves in its checkpoint."""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from types import SimpleNamespace

import pandas as pd
import pytest

from model.history import HISTORY_POINTS, SMOOTH_SPAN, RunRecord, differing, run_history


def test_the_history_keeps_the_smoothed_loss_every_kth_step_and_the_last_and_every_evaluation():
    losses = [1.0 / (1 + i) + (0.3 if i % 7 == 0 else 0.0) for i in range(1000)]
    steps = [SimpleNamespace(step=i + 1, loss=loss) for i, loss in enumerate(losses)]
    evals = [SimpleNamespace(step=s, valid_loss=0.5, valid_accuracy=0.75) for s in (250, 500, 1000)]
    history = run_history(steps, evals)
    expected = pd.Series(losses).ewm(span=SMOOTH_SPAN, adjust=True).mean()  # as the Train page smooths
    assert len(history["steps"]) <= HISTORY_POINTS + 1 and history["steps"][-1][0] == 1000
    for step, loss in history["steps"]:
        assert loss == pytest.approx(expected[step - 1], abs=1e-6)
    assert history["evals"] == [[250, 0.5, 0.75], [500, 0.5, 0.75], [1000, 0.5, 0.75]]
    assert len(json.dumps(history)) < 20_000  # a few KB inside config.json


def test_a_checkpoints_record_of_any_shape_gives_a_run_or_none_and_never_raises():
    model = {"d_model": 64, "n_heads": 4}
    good = {
        "history": {"steps": [[1, 0.7], [2, 0.6]], "evals": [[2, 0.65, 0.5]]},
        "training": {"lr": 0.003, "device": "cpu"},
        "dataset": {"description": "sentiment_en"},
        "metrics": {"valid_accuracy": 0.5},
    }
    record = RunRecord.from_meta(good, model)
    assert record.steps == [(1, 0.7), (2, 0.6)] and record.evals == [(2, 0.65, 0.5)]
    assert record.settings == {"d_model": 64, "n_heads": 4, "lr": 0.003, "device": "cpu", "dataset": "sentiment_en"}
    for meta in ({}, {"history": "x"}, {"history": {"steps": [["a", 1]], "evals": [[1, float("nan"), 0.5]]}}):
        assert RunRecord.from_meta(meta, model) is None
    odd = RunRecord.from_meta({"history": {"steps": [[1, 0.5], [2]], "evals": []}, "training": [1]}, model)
    assert odd.steps == [(1, 0.5)] and odd.settings == model
    other = RunRecord.from_meta({**good, "training": {"lr": 0.01, "device": "cuda"}}, model)
    assert differing([record, other]) == ["lr"]  # the device is where it ran, not a choice of the experiment


def test_two_runs_on_the_train_page_are_compared_and_the_curves_travel_in_the_checkpoint():
    from model import checkpoint
    from tests.conftest import click, new_app, set_settings, train_page
    from ui.state import ModelChoice

    at = train_page(new_app(), hp_d_model=16, hp_n_heads=2, hp_d_ff=32, hp_epochs=1)
    for lr in (0.003, 0.01):
        set_settings(at, lr=lr)
        click(at.run(), "▶ Start")
        run = at.session_state["run"]
        assert run.join(timeout=120) and run.status == "done", run.error
        at.run()
    assert not at.exception
    expander = next(e for e in at.expander if e.label.startswith("Compare runs"))
    assert expander.label == "Compare runs (2)"
    table = at.table[-1].value
    assert list(table.columns) == [c for c in table.columns if c.startswith("Run ")] and len(table.columns) == 2
    assert list(table.loc["Learning rate"]) == ["0.003", "0.01"]
    accuracy = run.view().checkpoint.meta["metrics"]["valid_accuracy"]
    assert table.loc["Validation accuracy"].iloc[1] == f"{accuracy:.1%}"
    assert len(at.get("arrow_vega_lite_chart")) >= 2 or len(at.get("vega_lite_chart")) >= 2
    # the run's curves are in the zip a teacher downloads, and an upload of it shows them
    with zipfile.ZipFile(io.BytesIO(run.view().archive)) as zf:
        history = json.loads(zf.read("config.json"))["history"]
    assert history["evals"][-1][2] == pytest.approx(run.view().evals[-1].valid_accuracy, abs=1e-6)
    assert history["steps"][-1][0] == run.view().steps[-1].step
    loaded = checkpoint.from_zip(run.view().archive, tempfile.mkdtemp())
    assert RunRecord.from_meta(loaded.meta, {}).evals[-1][2] == pytest.approx(accuracy, abs=1e-6)
    at.session_state["model"] = ModelChoice(loaded, "uploaded", time.time())
    at.run()
    assert any(e.label == "Compare runs (3)" for e in at.expander)
    assert "the uploaded model" in list(at.table[-1].value.columns)
