"""The command line end to end, as a teacher would run it before class."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "model", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ckpt"
    result = run("train", "--dataset", "colour", "--preset", "tiny", "--epochs", "3", "--seed", "1", "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.mark.slow
def test_train_prints_one_json_object_last(trained):
    out, result = trained
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("valid_accuracy", "steps", "train_seconds", "samples_per_second", "device"):
        assert key in summary
    assert summary["device"] == "cpu" and summary["steps"] == 3 * 63 and summary["valid_accuracy"] > 0.95
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    config = json.loads((out / "config.json").read_text())
    assert config["metrics"]["valid_accuracy"] == summary["valid_accuracy"]
    assert config["dataset"]["n_train"] == 2000 and config["label_names"] == ["no_colour", "colour"]
    # the bag-of-words baseline, fitted beside it: the colour task is one word, so word counting solves it
    assert summary["baseline_valid_accuracy"] == config["baseline"]["valid_accuracy"] > 0.95
    assert config["baseline"]["n_features"] > 50


@pytest.mark.slow
def test_evaluate_agrees_with_training(trained):
    out, result = trained
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    ev = run("evaluate", out, "--data", ROOT / "assets/datasets/colour/valid.jsonl")
    assert ev.returncode == 0, ev.stderr
    last = json.loads(ev.stdout.strip().splitlines()[-1])
    assert last["n"] == 400 and last["accuracy"] == summary["valid_accuracy"]


@pytest.mark.slow
def test_inspect_json_and_readable(trained):
    out, _ = trained
    res = run("inspect", out, "the man saw a red car", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["tokens"] == ["[CLS]", "the", "man", "saw", "a", "red", "car"]
    assert abs(sum(data["probabilities"].values()) - 1) < 1e-4
    assert data["prediction"] == "colour"
    assert len(data["layers"]) == 2 and len(data["layers"][0]["heads"]) == 2
    head = data["layers"][1]["heads"][0]
    T = len(data["tokens"])
    for key in ("q", "k", "v", "scores", "scaled", "weights", "output"):
        assert len(head[key]) == T
    assert all(abs(sum(row) - 1) < 1e-4 for row in head["weights"])
    assert len(head["q"][0]) == 16  # d_head = 32 / 2
    readable = run("inspect", out, "the man saw a red car")
    assert readable.returncode == 0 and "prediction:" in readable.stdout and "layer 1 head 1" in readable.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--dataset", "nope", "--out", "/tmp/x"], "no built-in dataset named 'nope'"),
        (["train", "--data", "/no/such.csv", "--out", "/tmp/x"], "does not exist"),
        (["train", "--out", "/tmp/x"], "one of the arguments --dataset --data is required"),
        (["train", "--dataset", "colour", "--epochs", "0", "--out", "/tmp/x"], "epochs 0 is out of range"),
        (["train", "--dataset", "colour", "--preset", "huge", "--out", "/tmp/x"], "invalid choice"),
        (
            ["train", "--dataset", "colour", "--d-model", "30", "--n-heads", "4", "--out", "/tmp/x"],
            "d_model 30 is not divisible by 4 heads",
        ),
        (["evaluate", "/no/ckpt", "--data", "x.csv"], "not a checkpoint directory"),
        (["inspect", "/no/ckpt", "hi"], "not a checkpoint directory"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_nonzero_with_one_line(args, message):
    res = run(*args)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert len([line for line in res.stderr.splitlines() if line.strip() and not line.startswith("usage")]) <= 2


def test_architecture_options_set_the_model(tmp_path):
    out = tmp_path / "ckpt"
    res = run(
        "train",
        "--dataset",
        "colour",
        "--preset",
        "tiny",
        "--epochs",
        "1",
        "--d-model",
        "24",
        "--n-heads",
        "3",
        "--n-layers",
        "1",
        "--d-ff",
        "40",
        "--dropout",
        "0.2",
        "--positional",
        "sinusoidal",
        "--activation",
        "gelu",
        "--quiet",
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr
    model = json.loads((out / "config.json").read_text())["model"]
    assert [model[k] for k in ("d_model", "n_heads", "n_layers", "d_ff", "dropout", "positional", "activation")] == [
        24,
        3,
        1,
        40,
        0.2,
        "sinusoidal",
        "gelu",
    ]


def test_bad_data_file_names_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngood,pos\nbad,neg,oops\n")
    res = run("train", "--data", bad, "--preset", "tiny", "--out", tmp_path / "o")
    assert res.returncode == 2 and "bad.csv, line 3" in res.stderr and "Traceback" not in res.stderr


def test_inspect_refuses_an_empty_sentence(tmp_path):
    from model.checkpoint import ASSETS_CHECKPOINT

    res = run("inspect", ASSETS_CHECKPOINT, "   ")
    assert res.returncode == 2 and "sentence is empty" in res.stderr
