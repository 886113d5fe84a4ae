"""One user's training run in a background thread, so the page script never blocks on it.

The app keeps one ``TrainingRun`` per browser session (in ``st.session_state``); the thread
consumes ``trainer.train`` and appends its plain records under a lock; the page polls
``view()`` for a consistent copy. Nothing here imports streamlit, so tests drive it directly.

A run nobody watches ends by itself: the page calls ``heartbeat()`` on every poll, and the
worker stops when no heartbeat came for ``abandon_after`` seconds (the tab was closed).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field

import torch

from .baseline import baseline_metrics
from .checkpoint import Checkpoint
from .config import ModelConfig, TrainConfig
from .data import Dataset
from .history import run_history
from .recipe import archive, build_model, run_meta, validation_predictions
from .trainer import (
    DiagnosticRecord,
    DoneRecord,
    EpochRecord,
    EvalRecord,
    SnapshotRecord,
    StepRecord,
    TrainingControl,
    train,
)

PROBE_SENTENCES = {
    "en": ["I love this movie!", "She doesn't like this book."],
    "zh": ["我很喜欢这部电影！", "她不喜欢这本书。"],
}

_log = logging.getLogger(__name__)

# At most this many runs train at once on one server; more would slow every class member down.
MAX_CONCURRENT_RUNS = 4
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_RUNS)
_THREADS = torch.get_num_threads()


# The statuses of a run that is still on (a run on a Ray cluster may also be "queued": model/cluster.py).
ACTIVE = ("queued", "preparing", "training", "paused")


class ServerBusy(RuntimeError):
    """Too many runs are training on this server right now."""


@dataclass
class RunView:
    """A consistent copy of a run's state for one page render."""

    status: str  # idle, queued, preparing, training, paused, done, stopped, diverged, failed
    steps: list[StepRecord]
    evals: list[EvalRecord]
    snapshots: list[SnapshotRecord]
    done: DoneRecord | None
    error: str | None
    checkpoint: Checkpoint | None
    started_at: float | None
    predictions: list[int] | None = None  # the model's class for each validation sentence, once done
    archive: bytes | None = None  # the checkpoint as a zip, once done
    valid: Dataset | None = None  # the validation set it was trained against (the page's data may change since)
    epochs: list[EpochRecord] = field(default_factory=list)  # the loss per epoch (a stopped run's last is partial)
    diagnostics: list[DiagnosticRecord] = field(default_factory=list)  # gradient norms and update sizes by part
    queue_position: int | None = None  # while queued on a cluster: 1 for the next run to start

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def seconds_left(self) -> float | None:
        """Seconds of training left at the pace of the last (up to) 50 steps; None before 5 steps.

        Not the pace since the start: the first steps of a fresh server are slow (threads, caches and
        allocations warming up), and an estimate from them said 879 s for a run that took 99.
        """
        if len(self.steps) < 5:
            return None
        last, ref = self.steps[-1], self.steps[max(0, len(self.steps) - 51)]
        if last.step <= ref.step or last.elapsed <= ref.elapsed:
            return None
        return (last.elapsed - ref.elapsed) / (last.step - ref.step) * max(0, last.total_steps - last.step)


def view_of(run, **extra) -> RunView:
    """A copy of a run's state (a TrainingRun's, or a RayTrainingRun's), taken under its lock by the caller."""
    return RunView(
        run.status,
        list(run.steps),
        list(run.evals),
        list(run.snapshots),
        run.done,
        run.error,
        run.checkpoint,
        run.started_at,
        run.predictions,
        run.archive,
        run.valid,
        list(run.epochs),
        list(run.diagnostics),
        **extra,
    )


def clear_records(run) -> None:
    """Forget a run's records and results (a TrainingRun's, or a RayTrainingRun's), under the caller's lock."""
    run.steps, run.evals, run.snapshots, run.epochs, run.diagnostics = [], [], [], [], []
    run.done = run.error = run.checkpoint = run.started_at = None
    run.predictions = run.archive = run.valid = None


def new_run():
    """A run for a new session: on the Ray cluster when one is named (model/cluster.py), else a thread here."""
    from .cluster import RayTrainingRun, cluster_address

    return RayTrainingRun() if cluster_address() else TrainingRun()


def _abandon_after() -> float:
    """Seconds without a heartbeat before a run stops (TRANSFORMER_CLASSROOM_ABANDON_AFTER, default 120)."""
    try:
        return max(1.0, float(os.environ.get("TRANSFORMER_CLASSROOM_ABANDON_AFTER", 120)))
    except ValueError:
        return 120.0


@dataclass
class TrainingRun:
    abandon_after: float = field(default_factory=_abandon_after)  # seconds without a heartbeat before giving up
    status: str = "idle"
    steps: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    done: DoneRecord | None = None
    error: str | None = None
    checkpoint: Checkpoint | None = None
    started_at: float | None = None
    predictions: list[int] | None = None
    archive: bytes | None = None
    valid: Dataset | None = None
    epochs: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)
    _thread: threading.Thread | None = None
    _control: TrainingControl = field(default_factory=TrainingControl)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_heartbeat: float = field(default_factory=time.monotonic)

    # ---- control, from the page --------------------------------------------------------
    def start(
        self,
        train_set: Dataset,
        valid_set: Dataset,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        probe_sentences: list[str] | None = None,
        dataset_description: str = "",
    ) -> None:
        if self.active:
            raise RuntimeError("a run is already training; stop it first")
        if not _slots.acquire(blocking=False):
            raise ServerBusy(f"{MAX_CONCURRENT_RUNS} models are already training on this server")
        self._reset_records()
        self._control = TrainingControl()
        self.status, self.started_at, self.valid = "preparing", time.time(), valid_set
        self.heartbeat()
        args = (train_set, valid_set, model_cfg, train_cfg, list(probe_sentences or []), dataset_description)
        self._thread = threading.Thread(target=self._work, args=args, name="training-run", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Pause a run, also while it is still preparing (it then starts paused)."""
        with self._lock:  # the worker sets "training" or "paused" after preparing, under the same lock
            if self.status in ("preparing", "training"):
                self._control.pause()
                self.status = "paused"

    def resume(self) -> None:
        with self._lock:
            if self.status == "paused":
                self._control.resume()
                self.status = "training"

    def step(self) -> None:
        """One more training step (one batch) of a paused run, which then stays paused."""
        if self.status == "paused":
            self._control.step()

    def stop(self) -> None:
        self._control.stop()

    def reset(self, timeout: float = 10.0) -> None:
        """Stop any training and forget its history."""
        self.stop()
        self.join(timeout)
        self._reset_records()
        self.status = "idle"

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def heartbeat(self) -> None:
        self._last_heartbeat = time.monotonic()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def view(self) -> RunView:
        with self._lock:
            return view_of(self)

    # ---- the worker thread --------------------------------------------------------------
    def _reset_records(self) -> None:
        with self._lock:
            clear_records(self)

    def _work(self, train_set, valid_set, model_cfg, train_cfg, probes, description) -> None:
        try:
            # A new thread gets its own OpenMP team; size it like the main thread's explicitly.
            torch.set_num_threads(_THREADS)
            tokenizer, model = build_model(train_set, model_cfg, train_cfg)
            if self._control.stopped:
                self.status = "stopped"
                return
            with self._lock:
                self.status = "paused" if self._control.paused else "training"
            for record in train(model, tokenizer, train_set, valid_set, train_cfg, self._control, probes):
                if not self._control.stopped and time.monotonic() - self._last_heartbeat > self.abandon_after:
                    self._control.stop()  # nobody is watching: the tab was closed
                    _log.warning("training run stopped: no heartbeat for %.0f s (tab closed?)", self.abandon_after)
                with self._lock:
                    if isinstance(record, StepRecord):
                        self.steps.append(record)
                    elif isinstance(record, EvalRecord):
                        self.evals.append(record)
                    elif isinstance(record, DiagnosticRecord):
                        self.diagnostics.append(record)
                    elif isinstance(record, EpochRecord):
                        self.epochs.append(record)
                    elif isinstance(record, SnapshotRecord):
                        self.snapshots.append(record)
                    elif isinstance(record, DoneRecord):
                        self.done = record
            # Beside every finished model, the honest rival: word counting on the same split (a second or two).
            baseline = baseline_metrics(train_set, valid_set) if self.done.steps else None
            meta = run_meta(train_cfg, description, train_set, valid_set, self.done, baseline)
            meta["history"] = run_history(self.steps, self.evals)  # the curves travel with the model
            model.cpu().eval()
            trained = Checkpoint(model, tokenizer, list(train_set.label_names), meta)
            # What the page shows and offers once the run is done, computed here and not in the page.
            predictions = validation_predictions(trained, valid_set)
            zipped = archive(trained)
            with self._lock:
                self.checkpoint, self.predictions, self.archive = trained, predictions, zipped
                reason = self.done.reason
                self.status = (
                    "diverged" if reason.startswith("diverged") else "stopped" if reason == "stopped" else "done"
                )
        except Exception as exc:  # the page shows this as a message; the worker must never die silently
            with self._lock:
                self.error = f"{type(exc).__name__}: {exc}"
                self.status = "failed"
            traceback.print_exc()
        finally:
            _slots.release()
