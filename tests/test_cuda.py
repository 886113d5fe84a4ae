"""The GPU: the same model on CUDA as on the CPU, training there, and a run on a Ray worker's GPU.

Skipped where no CUDA GPU is at hand (the project's CPU machines); bench/gpu.sh runs them where one is.
"""

from __future__ import annotations

import time

import pytest
import torch

from model.checkpoint import ASSETS_CHECKPOINT, load
from model.data import Dataset, load_builtin
from model.recipe import build_model
from model.settings import configs
from model.trainer import EncodedSet, evaluate, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (bench/gpu.sh runs these)")


def small_set(n_train: int = 2000, n_valid: int = 300):
    data = load_builtin("sentiment_en")
    return (
        Dataset(data.train.texts[:n_train], data.train.labels[:n_train], data.train.label_names),
        Dataset(data.valid.texts[:n_valid], data.valid.labels[:n_valid], data.valid.label_names),
    )


def test_the_bundled_model_gives_the_same_logits_on_the_gpu():
    ckpt = load(ASSETS_CHECKPOINT)
    data = load_builtin("sentiment_en").valid
    encoded = EncodedSet.build(data, ckpt.tokenizer, ckpt.model.cfg.max_len)
    ids, mask, _ = encoded.batch(torch.arange(min(256, len(data))), torch.device("cpu"))
    with torch.no_grad():
        on_cpu = ckpt.model.eval()(ids, mask)
        on_gpu = ckpt.model.to("cuda")(ids.cuda(), mask.cuda()).cpu()
    assert torch.allclose(on_cpu, on_gpu, atol=1e-4, rtol=1e-4), (on_cpu - on_gpu).abs().max()
    cpu_loss, cpu_acc, _ = evaluate(ckpt.model.cpu(), encoded, torch.device("cpu"))
    gpu_loss, gpu_acc, _ = evaluate(ckpt.model.to("cuda"), encoded, torch.device("cuda"))
    assert abs(cpu_acc - gpu_acc) <= 2 / len(data) and abs(cpu_loss - gpu_loss) < 1e-3


def test_training_on_the_gpu_learns_and_its_checkpoint_opens_on_the_cpu(tmp_path):
    from model import checkpoint

    train_set, valid_set = small_set()
    model_cfg, train_cfg = configs({"epochs": 3, "device": "cuda"}, "small")
    tokenizer, model = build_model(train_set, model_cfg, train_cfg)
    records = list(train(model, tokenizer, train_set, valid_set, train_cfg, probe_sentences=["I love this movie!"]))
    done = records[-1]
    assert done.kind == "done" and done.device.startswith("cuda") and done.valid_accuracy > 0.7, done
    assert next(p for p in model.parameters()).is_cuda
    checkpoint.save(tmp_path, checkpoint.Checkpoint(model.cpu(), tokenizer, train_set.label_names, {}))
    reopened = checkpoint.load(tmp_path)
    encoded = EncodedSet.build(valid_set, reopened.tokenizer, reopened.model.cfg.max_len)
    assert evaluate(reopened.model, encoded, torch.device("cpu"))[1] == pytest.approx(done.valid_accuracy, abs=0.01)


def test_a_ray_worker_trains_on_the_gpu(monkeypatch):
    ray = pytest.importorskip("ray")
    from model.cluster import RayTrainingRun

    ray.init(
        address="local", num_gpus=1, include_dashboard=False, namespace="transformer-classroom", log_to_driver=False
    )
    try:
        monkeypatch.setenv("CLASSROOM_RAY_GPUS", "1")
        run = RayTrainingRun(address="local")
        model_cfg, train_cfg = configs({"epochs": 2, "device": "cuda"}, "small")
        run.start(*small_set(), model_cfg, train_cfg, [], "a slice of the English reviews")
        deadline = time.monotonic() + 300
        while run.view().active:
            run.heartbeat()
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert run.status == "done" and run.done.device.startswith("cuda"), (run.status, run.error)
        assert run.checkpoint is not None and run.done.valid_accuracy > 0.7
        print(f"ray worker on the GPU: {run.done.samples_per_second:.0f} samples/s")
    finally:
        ray.shutdown()
