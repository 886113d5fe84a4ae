"""`python -m bench --quick` runs end to end and its last line carries every promised figure.

No timing is asserted here (figures depend on the machine); only that each is measured: a number
where a number is promised, consistent with the other figures of the same run.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMISED = ["throughput_ratio_vs_torch_encoder", "mfu", "time_to_90_seconds", "inspect_ms_p50", "inspect_ms_p95",
            "page_figures_ms_p50", "streaming_overhead_ratio", "app_peak_rss_mb"]  # fmt: skip


@pytest.mark.slow
def test_quick_bench_prints_every_figure_as_its_last_line():
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--no-app"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True).stdout  # fmt: skip
    lines = out.strip().splitlines()
    results = json.loads(lines[-1])
    assert set(PROMISED) <= set(results)
    for key in PROMISED[:-1]:
        assert isinstance(results[key], (int, float)) and math.isfinite(results[key]) and results[key] > 0, key
    assert results["app_peak_rss_mb"] is None  # --no-app: not measured, so not reported as a number
    # the figures are derived from one another as the issue defines them
    ratio = results["samples_per_second"] / results["reference_samples_per_second"]
    assert math.isclose(results["throughput_ratio_vs_torch_encoder"], ratio, rel_tol=1e-3)
    assert results["inspect_ms_p50"] <= results["inspect_ms_p95"]
    assert 0 < results["mfu"] < 1 and 0 < results["sentiment_en_final_accuracy"] <= 1
    assert any(line.startswith("mfu") and ("met" in line) for line in lines)  # the table names each verdict


@pytest.mark.parametrize(("module", "args"), [
    ("bench.load", ["--think", "nan"]), ("bench.load", ["--think", "-1"]), ("bench.load", ["--sessions", "0"]),
    ("bench.load", ["--seconds", "abc"]), ("bench.__main__", ["--batch-size", "0"]),
    ("bench.__main__", ["--device", "cuda"]),
])  # fmt: skip
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
