"""`python -m bench --quick` runs end to end and its last line carries every promised figure.

No timing is asserted here (figures depend on the machine); only that each is measured: a number
where a number is promised, consistent with the other figures of the same run.
"""

import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMISED = [
    "throughput_ratio_vs_torch_encoder",
    "mfu",
    "time_to_80_seconds",
    "inspect_ms_p50",
    "inspect_ms_p95",
    "page_figures_ms_p50",
    "streaming_overhead_ratio",
    "explain_ms_p50",
    "ablate_every_head_seconds",
    "ablate_over_one_evaluation",
    "app_peak_rss_mb",
]


@pytest.mark.slow
def test_quick_bench_prints_every_figure_as_its_last_line():
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    lines = out.strip().splitlines()
    results = json.loads(lines[-1])
    assert set(PROMISED) <= set(results)
    for key in PROMISED[:-1]:
        assert isinstance(results[key], (int, float)) and math.isfinite(results[key]) and results[key] > 0, key
    assert results["app_peak_rss_mb"] is None  # --no-app: not measured, so not reported as a number
    # the figures are derived from one another as the issue defines them
    for key, rounds in (
        ("throughput_ratio_vs_torch_encoder", "throughput_ratio_rounds"),
        ("mfu", "mfu_rounds"),
        ("streaming_overhead_ratio", "streaming_overhead_rounds"),
    ):
        assert math.isclose(results[key], statistics.median(results[rounds]), abs_tol=1e-3), key
    assert results["inspect_ms_p50"] <= results["inspect_ms_p95"]
    assert results["page_figures_count"] == 40  # Attention, Step by step, Why and Train's new figures
    assert results["ablate_heads"] == 8  # the bundled model: 2 layers of 4 heads, every one switched off
    assert 0 < results["mfu"] < 1 and 0 < results["sentiment_en_final_accuracy"] <= 1
    assert any(line.startswith("mfu") and ("met" in line) for line in lines)  # the table names each verdict


def test_the_ratio_and_mfu_are_medians_of_each_rounds_own_figures():
    from bench.__main__ import summarise_rounds

    # samples/s of ours and of the reference, and the peak FLOP/s, in three rounds on a drifting machine
    ours, reference, peaks = [3000.0, 4500.0, 3200.0], [2100.0, 2900.0, 2000.0], [2e11, 3e11, 2e11]
    s = summarise_rounds(ours, reference, peaks, flops_per_sample=1e7)
    assert s["throughput_ratio_rounds"] == [1.429, 1.552, 1.6]
    assert s["throughput_ratio_vs_torch_encoder"] == pytest.approx(4500 / 2900)  # not 3200 / 2100, from two rounds
    assert s["mfu_rounds"] == [0.15, 0.15, 0.16] and s["mfu"] == pytest.approx(0.15)  # not 3200e7 / 2e11
    assert (s["samples_per_second"], s["reference_samples_per_second"]) == (3200, 2100)


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("bench.load", ["--think", "nan"]),
        ("bench.load", ["--think", "-1"]),
        ("bench.load", ["--sessions", "0"]),
        ("bench.load", ["--seconds", "abc"]),
        ("bench.__main__", ["--batch-size", "0"]),
        ("bench.__main__", ["--device", "cuda"]),
    ],
)
def test_the_benches_refuse_bad_settings_with_one_line(module, args, capsys, monkeypatch):
    import importlib

    import torch

    if args == ["--device", "cuda"] and torch.cuda.is_available():
        pytest.skip("there is a GPU here")
    prog = "python -m " + module.removesuffix(".__main__")
    monkeypatch.setattr(sys, "argv", [prog, *args])
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main()  # refused before anything is measured
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"{prog}: error: ") and args[0].lstrip("-") in error


def test_the_real_data_row_says_skipped_without_real_data(monkeypatch, tmp_path):
    import bench.__main__ as bench

    monkeypatch.setattr(bench, "REALDATA", tmp_path / "absent")
    assert bench.bench_real_data(torch_cpu()) == {"real_data": "skipped: no real data"}


def test_trec_lines_become_coarse_classes(tmp_path):
    from bench.__main__ import read_trec

    path = tmp_path / "TREC.train"
    path.write_bytes("NUM:dist How far is it to the moon ?\nHUM:ind Who wrote the caf\xe9 song ?\n".encode("latin-1"))
    data = read_trec(path)
    assert data.label_names == ["HUM", "NUM"] and data.labels == [1, 0]
    assert data.texts == ["How far is it to the moon ?", "Who wrote the café song ?"]


def torch_cpu():
    import torch

    return torch.device("cpu")
