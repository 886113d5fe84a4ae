#!/usr/bin/env bash
# The GPU checks: run from anywhere on a machine with a CUDA GPU and a CUDA build of torch.
#   bash bench/gpu.sh            # then copy the figures it prints into bench/RESULTS.md
# 1. the CUDA tests (tests/test_cuda.py: same logits as the CPU, training there, a Ray worker's GPU)
# 2. python -m bench --device cuda (throughput, MFU, streaming, real data where ../shared/realdata exists)
# 3. the default preset trained by a Ray worker holding one GPU, through the app's own run class
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
python - <<'PY'
import sys
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if not torch.cuda.is_available():
    sys.exit("no CUDA GPU visible to torch: install a CUDA build of torch==2.13.0 (see README)")
print("device", torch.cuda.get_device_name(0))
PY
echo "== 1. CUDA tests"
python -m pytest -q -rs tests/test_cuda.py -s
echo "== 2. python -m bench --device cuda"
python -m bench --device cuda --no-app | tail -n 1 | tee /tmp/bench-cuda.json
echo "== 3. a Ray worker on the GPU, the default preset on the built-in English reviews"
python - <<'PY'
import os, time
import ray
from model.cluster import RayTrainingRun
from model.data import load_builtin
from model.settings import configs
ray.init(address="local", num_gpus=1, include_dashboard=False, log_to_driver=False)
os.environ["CLASSROOM_RAY_GPUS"] = "1"
data = load_builtin("sentiment_en")
model_cfg, train_cfg = configs({"device": "cuda"}, "small")
run = RayTrainingRun(address="local")
t0 = time.time()
run.start(data.train, data.valid, model_cfg, train_cfg, [], "sentiment_en")
while run.view().active:
    run.heartbeat(); time.sleep(0.5)
d = run.done
print(f"ray GPU worker: status {run.status}, {d.steps} steps in {d.train_seconds:.1f} s, "
      f"{d.samples_per_second:.0f} samples/s, validation accuracy {d.valid_accuracy:.3f}, "
      f"{time.time() - t0:.1f} s from Start to the checkpoint here")
PY
