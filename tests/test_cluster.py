"""Training runs on a Ray cluster (model/cluster.py): the same numbers as the thread, the same calls.

Each test module run starts its own Ray head on 127.0.0.1 with two CPUs, in this process (so it
ends with the module and leaves no Ray processes behind), and names it to the app as
CLASSROOM_RAY_ADDRESS does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from model.config import ModelConfig, TrainConfig
from model.data import Dataset, load_builtin
from model.settings import configs

ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-cluster.txt")

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    """A Ray head on 127.0.0.1 with 2 CPUs; yields its address."""
    ray.init(
        address="local",  # a new head, even where another was started on this machine
        _node_ip_address="127.0.0.1",
        num_cpus=2,
        include_dashboard=False,
        namespace="transformer-classroom",
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture
def one_thread(monkeypatch):
    """Both backends on one CPU thread: float sums are only bit-equal for the same thread count."""
    import model.session

    before = torch.get_num_threads()
    monkeypatch.setattr(model.session, "_THREADS", 1)
    monkeypatch.setenv("CLASSROOM_RAY_CPUS", "1")
    yield
    torch.set_num_threads(before)


def small_task(epochs: int = 2) -> tuple[Dataset, Dataset, ModelConfig, TrainConfig]:
    data = load_builtin("sentiment_en")
    train_set = Dataset(data.train.texts[:320], data.train.labels[:320], data.train.label_names)
    valid_set = Dataset(data.valid.texts[:80], data.valid.labels[:80], data.valid.label_names)
    model_cfg, train_cfg = configs({"epochs": epochs, "vocab_size": 400}, "tiny")
    return train_set, valid_set, model_cfg, train_cfg


def finished(run, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while True:
        run.heartbeat()
        view = run.view()
        if not view.active:
            return view
        assert time.monotonic() < deadline, f"still {view.status} after {timeout} s"
        time.sleep(0.2)


def test_a_run_on_the_cluster_has_the_same_weights_and_curves_as_one_in_a_thread(cluster, one_thread, monkeypatch):
    from model.cluster import RayTrainingRun
    from model.session import PROBE_SENTENCES, TrainingRun, new_run

    task = small_task()
    probes = PROBE_SENTENCES["en"]
    here = TrainingRun()
    here.start(*task, probes, "a slice of the English reviews")
    local = finished(here)

    monkeypatch.setenv("CLASSROOM_RAY_ADDRESS", cluster)
    there = new_run()  # what the app makes for a session when a cluster is named
    assert isinstance(there, RayTrainingRun)
    there.start(*task, probes, "a slice of the English reviews")
    remote = finished(there)

    assert local.status == remote.status == "done"
    assert [s.loss for s in remote.steps] == [s.loss for s in local.steps] and len(local.steps) == 20
    assert [(e.step, e.valid_loss, e.valid_accuracy) for e in remote.evals] == [
        (e.step, e.valid_loss, e.valid_accuracy) for e in local.evals
    ]
    assert [e.train_loss for e in remote.epochs] == [e.train_loss for e in local.epochs]
    assert len(remote.snapshots) == len(local.snapshots) > 2
    assert remote.snapshots[-1].weights == local.snapshots[-1].weights
    ours, theirs = local.checkpoint.model.state_dict(), remote.checkpoint.model.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert remote.predictions == local.predictions and remote.archive[:2] == b"PK"
    assert remote.checkpoint.meta["history"]["steps"] == local.checkpoint.meta["history"]["steps"]


def test_a_run_waits_for_a_place_says_where_it_is_and_starts_when_one_is_free(cluster, monkeypatch):
    """Each run holds both CPUs of the head: the second waits as number 1 until the first is stopped."""
    from model.cluster import RayTrainingRun

    monkeypatch.setenv("CLASSROOM_RAY_CPUS", "2")
    first, second = RayTrainingRun(address=cluster), RayTrainingRun(address=cluster)
    first.start(*small_task(epochs=200))
    deadline = time.monotonic() + 60
    while not first.view().steps:  # the first is training
        assert time.monotonic() < deadline
        time.sleep(0.2)
    second.start(*small_task())
    time.sleep(2)
    view = second.view()
    assert view.status == "queued" and view.active and view.queue_position == 1, (view.status, view.queue_position)
    first.stop()
    assert first.join(60) and first.status == "stopped" and first.checkpoint is not None
    assert finished(second).status == "done"
    assert second.checkpoint is not None and second.queue_position is None


def test_a_queued_run_can_be_stopped_and_a_watched_run_nobody_watches_stops_itself(cluster, monkeypatch):
    from model.cluster import RayTrainingRun

    monkeypatch.setenv("CLASSROOM_RAY_CPUS", "2")
    watched = RayTrainingRun(address=cluster, abandon_after=2.0)
    watched.start(*small_task(epochs=200))
    waiting = RayTrainingRun(address=cluster)
    waiting.start(*small_task())
    time.sleep(1)
    assert waiting.view().status == "queued"
    waiting.stop()
    assert waiting.view().status == "stopped" and not waiting.active
    # nobody calls watched.heartbeat(): the run stops itself, as a thread does for a closed tab
    deadline = time.monotonic() + 90
    while watched.view().active:
        assert time.monotonic() < deadline, watched.status
        time.sleep(0.5)
    assert watched.status == "stopped" and watched.done.reason == "stopped"


def test_the_command_line_trains_on_the_cluster_and_writes_the_checkpoint_here(cluster, tmp_path):
    """`python -m model train … --ray ADDRESS`: the same weights as the same command without it."""
    command = [sys.executable, "-m", "model", "train", "--dataset", "colour", "--preset", "tiny"]
    command += ["--epochs", "1", "--quiet", "--no-baseline"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CLASSROOM_RAY_CPUS": "1"}
    results = {}
    for where, extra in (("here", []), ("cluster", ["--ray", cluster])):
        done = subprocess.run(
            [*command, *extra, "--out", str(tmp_path / where)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        results[where] = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["cluster"]["valid_accuracy"] == results["here"]["valid_accuracy"]
    assert results["cluster"]["steps"] == results["here"]["steps"] > 0
    losses = {where: [e["train_loss"] for e in result["epochs"]] for where, result in results.items()}
    assert losses["cluster"] == losses["here"]
    from model import checkpoint

    here, there = checkpoint.load(tmp_path / "here"), checkpoint.load(tmp_path / "cluster")
    ours, theirs = here.model.state_dict(), there.model.state_dict()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_cluster_that_cannot_be_reached_is_said_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "model", "train", "--dataset", "colour", "--preset", "tiny", "--quiet"]
        + ["--ray", "127.0.0.1:1", "--out", str(tmp_path / "x")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-1500:]
    assert "cluster" in done.stderr.splitlines()[-1]


def test_a_model_shared_through_one_app_replica_opens_in_another(cluster, tmp_path):
    """With a cluster the class's models live in one store on its head: a code given by one replica
    opens in another process with the same weights; an unknown code gets its own error."""
    from model import checkpoint
    from model.cluster import ClusterModelStore
    from model.share import ShareError

    archive = checkpoint.to_zip(checkpoint.ASSETS_CHECKPOINT)
    store = ClusterModelStore(cluster, str(tmp_path / "class.sqlite3"))
    before = store.count()
    shared = store.share(archive)
    assert store.count() == before + 1 and (tmp_path / "class.sqlite3").exists()
    other_replica = (
        "from model.cluster import ClusterModelStore\n"
        f"ckpt = ClusterModelStore({cluster!r}).open({shared.code.lower()!r})\n"
        "print(sum(float(p.detach().double().sum()) for p in ckpt.model.parameters()))"
    )
    done = subprocess.run([sys.executable, "-c", other_replica], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    here = checkpoint.load(checkpoint.ASSETS_CHECKPOINT)
    assert float(done.stdout.split()[-1]) == sum(float(p.detach().double().sum()) for p in here.model.parameters())
    unknown = "ABC234" if shared.code != "ABC234" else "ABC235"
    with pytest.raises(ShareError) as caught:
        store.open(unknown)
    assert caught.value.code == "unknown_code"
    with pytest.raises(checkpoint.CheckpointError):
        store.share(b"PK\x03\x04 not a checkpoint")
