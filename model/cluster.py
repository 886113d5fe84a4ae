"""Training runs on a Ray cluster, behind the same calls as the thread of ``session.TrainingRun``.

With ``CLASSROOM_RAY_ADDRESS`` (or Ray's own ``RAY_ADDRESS``) set, every run the app starts is a
Ray actor (``RunActor``) somewhere on the cluster, holding ``CLASSROOM_RAY_CPUS`` CPUs (default 1)
and ``CLASSROOM_RAY_GPUS`` GPUs (default 0). Inside the actor the run is the very same
``TrainingRun`` as in the embedded default, so the numbers are the same; the app's
``RayTrainingRun`` asks it for what is new on every poll (``RunActor.since``), and the finished
checkpoint comes back as the zip bytes a download offers, read through ``checkpoint.from_zip``.

The cluster's capacity is the limit on simultaneous runs: an actor that finds no free CPU waits
in Ray's queue, and the page says where it is in the class's queue (``ClassQueue``, one named actor
per cluster). A closed tab stops its run by the same heartbeat rule as a thread, and a run whose
owner (the app's process) ends is ended by Ray with it.

Ray is optional (``requirements-cluster.txt``): nothing here imports it until a run asks for it.
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import checkpoint
from .config import ModelConfig, TrainConfig
from .data import Dataset
from .session import ACTIVE, RunView, TrainingRun, _abandon_after, clear_records, view_of
from .share import ModelStore, Shared, ShareError, normalise_code
from .trainer import DoneRecord, EpochRecord, EvalRecord, StepRecord

NAMESPACE = "transformer-classroom"
QUEUE_NAME = "class-queue"
MODELS_NAME = "class-models"
# Where the cluster keeps the class's shared models: a SQLite file on the head's disk.
CLUSTER_STORE = "~/.transformer-classroom/shared-models.sqlite3"
# Training is batch work: on a machine that also serves pages, the pages come first.
TRAINING_NICENESS = 19
# The records a view holds, in the order ``RunActor.since`` counts them.
RECORDS = ("steps", "evals", "snapshots", "epochs", "diagnostics")
QUEUE_FORGETS_AFTER = 120.0  # seconds: a waiting run nobody asked about is no longer counted
CALL_TIMEOUT = 30.0  # seconds to wait for an actor's answer before calling the run lost
# Every open tab polls its run (the Train page once a second, the sidebar every two): the actor is
# asked at most this often, and a tab's several polls in one moment share the answer. A queued
# run's only news is its place in the queue, asked for less often.
POLL_SECONDS = 0.5
QUEUE_POLL_SECONDS = 2.0


def cluster_address() -> str | None:
    """The Ray cluster runs go to: CLASSROOM_RAY_ADDRESS, else RAY_ADDRESS; None for the embedded default."""
    return os.environ.get("CLASSROOM_RAY_ADDRESS") or os.environ.get("RAY_ADDRESS") or None


def _resources() -> tuple[float, float]:
    """CPUs and GPUs one run holds on the cluster (CLASSROOM_RAY_CPUS, CLASSROOM_RAY_GPUS)."""

    def number(name: str, default: float) -> float:
        try:
            return max(0.0, float(os.environ.get(name, default)))
        except ValueError:
            return default

    return number("CLASSROOM_RAY_CPUS", 1.0) or 1.0, number("CLASSROOM_RAY_GPUS", 0.0)


class ClusterError(RuntimeError):
    """The Ray cluster cannot be used (not installed, not reachable, refused us)."""


_connect_lock = threading.Lock()


def reachable(address: str, timeout: float = 5.0) -> None:
    """Raise ClusterError unless something listens at ``address`` (host:port, or ray://host:port).

    Ray itself retries an address where nothing listens for minutes, printing warnings; a teacher
    who mistyped the head's port should hear so at once.
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"the Ray address {address!r} is not host:port (for example 10.0.0.5:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def connect(address: str | None = None):
    """Join the cluster at ``address`` (once per process) and return the ray module."""
    try:
        import ray
    except ImportError:
        raise ClusterError("Ray is not installed here: pip install -r requirements-cluster.txt") from None
    with _connect_lock:
        if not ray.is_initialized():
            address = address or cluster_address()
            if address and address not in ("auto", "local"):
                reachable(address)
            try:
                ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ClusterError(f"cannot join the Ray cluster at {address}: {exc}") from None
    return ray


class ClassQueue:
    """Runs waiting for a place on the cluster, in the order they were started (a named actor)."""

    def __init__(self) -> None:
        self.waiting: dict[str, list[float]] = {}  # run id -> [entered, last asked]

    def enter(self, run_id: str) -> None:
        now = time.time()
        self.waiting[run_id] = [now, now]

    def leave(self, run_id: str) -> None:
        self.waiting.pop(run_id, None)

    def position(self, run_id: str) -> int | None:
        """1 for the next run to start; None once it has started (or was never queued)."""
        now = time.time()
        if run_id in self.waiting:
            self.waiting[run_id][1] = now
        self.waiting = {k: v for k, v in self.waiting.items() if now - v[1] < QUEUE_FORGETS_AFTER}
        order = sorted(self.waiting, key=lambda k: self.waiting[k][0])
        return order.index(run_id) + 1 if run_id in order else None

    def length(self) -> int:
        return len(self.waiting)


_handles: dict[str, Any] = {}  # this process's handles to the cluster's named actors: a lookup costs a GCS call


@functools.cache
def _remote(cls: type):
    """``ray.remote(cls)``, made once a process: Ray exports a class to the cluster once per remote class
    object, and exporting disassembles its code (about 30 ms of the web server's time on every Start)."""
    import ray

    return ray.remote(cls)


def _named(name: str, cls: type, *args: Any, **options: Any):
    """The cluster's one actor called ``name`` (made by whoever asks first), its handle kept for the process."""
    with _connect_lock:
        handle = _handles.get(name)
    if handle is None:
        connect()
        named = dict(name=name, namespace=NAMESPACE, get_if_exists=True, lifetime="detached")
        handle = _remote(cls).options(**named, **options).remote(*args)
        with _connect_lock:
            _handles[name] = handle
    return handle


def class_queue():
    """The cluster's one ClassQueue."""
    return _named(QUEUE_NAME, ClassQueue, num_cpus=0)


class RunActor:
    """One run on the cluster: a ``TrainingRun`` in the actor's process, asked for what is new."""

    def __init__(self, run_id: str, abandon_after: float) -> None:
        self.run = TrainingRun(abandon_after=abandon_after)
        class_queue().leave.remote(run_id)  # placed on the cluster: no longer waiting
        os.nice(TRAINING_NICENESS)  # a student waiting for a page goes before a run's next step

    def start(self, *args: Any) -> None:
        self.run.start(*args)

    def pause(self) -> None:
        self.run.pause()

    def resume(self) -> None:
        self.run.resume()

    def step(self) -> None:
        self.run.step()

    def stop(self) -> None:
        self.run.stop()

    def heartbeat(self) -> None:
        self.run.heartbeat()

    def since(self, seen: tuple[int, ...]) -> dict[str, Any]:
        """The run's state, with only the records after the ``seen`` counts (RECORDS' order); the
        checkpoint as its zip bytes once the run is over (a Checkpoint holds a live model)."""
        view = self.run.view()
        delta = {name: getattr(view, name)[n:] for name, n in zip(RECORDS, seen)}
        over = not view.active
        return {
            **delta,
            "status": view.status,
            "done": view.done,
            "error": view.error,
            "predictions": view.predictions if over else None,
            "archive": view.archive if over else None,
        }


@dataclass
class RayTrainingRun:
    """``TrainingRun``'s calls for a run on the Ray cluster (module docstring)."""

    abandon_after: float = field(default_factory=_abandon_after)
    address: str | None = field(default_factory=cluster_address)
    status: str = "idle"  # as TrainingRun's, and "queued" while the cluster has no place for it
    steps: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)
    done: DoneRecord | None = None
    error: str | None = None
    checkpoint: checkpoint.Checkpoint | None = None
    started_at: float | None = None
    predictions: list[int] | None = None
    archive: bytes | None = None
    valid: Dataset | None = None
    queue_position: int | None = None
    _actor: Any = None
    _placed: Any = None  # the actor's start call: done once the cluster has placed the run
    _run_id: str = ""
    _polled: float = float("-inf")  # time.monotonic() of the last question to the cluster
    _heard: float = float("-inf")  # and of the last heartbeat sent
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- control, from the page (as TrainingRun) -----------------------------------------
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
        connect(self.address)
        cpus, gpus = _resources()
        clear_records(self)
        self._run_id = uuid.uuid4().hex
        self.status, self.started_at, self.valid = "queued", time.time(), valid_set
        self._polled = self._heard = float("-inf")
        class_queue().enter.remote(self._run_id)
        actor = _remote(RunActor).options(num_cpus=cpus, num_gpus=gpus, max_restarts=0, namespace=NAMESPACE)
        self._actor = actor.remote(self._run_id, self.abandon_after)
        args = (train_set, valid_set, model_cfg, train_cfg, list(probe_sentences or []), dataset_description)
        self._placed = self._actor.start.remote(*args)

    def pause(self) -> None:
        if self.status in ("queued", "preparing", "training"):
            self._call("pause")
            self.status = "paused"

    def resume(self) -> None:
        if self.status == "paused":
            self._call("resume")
            self.status = "training"

    def step(self) -> None:
        if self.status == "paused":
            self._call("step")

    def stop(self) -> None:
        if self.status == "queued":  # never placed: nothing to wait for
            self._end("stopped")
        else:
            self._call("stop")

    def reset(self, timeout: float = 10.0) -> None:
        self.stop()
        self.join(timeout)
        self._end("idle")
        clear_records(self)
        self.status = "idle"

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the run is over (polling it as a page would); True if it is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.view().active:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def heartbeat(self) -> None:
        """Someone watches the run; sent on to the actor a few times within ``abandon_after``, not every poll."""
        now = time.monotonic()
        if now - self._heard >= min(5.0, self.abandon_after / 4):
            self._heard = now
            self._call("heartbeat")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def thread_alive(self) -> bool:
        return self.active

    def view(self) -> RunView:
        with self._lock:
            wait = QUEUE_POLL_SECONDS if self.status == "queued" else POLL_SECONDS
            if self._actor is not None and self.active and time.monotonic() - self._polled >= wait:
                self._polled = time.monotonic()
                self._poll()
            return view_of(self, queue_position=self.queue_position)

    def records(self, every: float = 0.5) -> Iterator[StepRecord | EvalRecord | EpochRecord | DoneRecord]:
        """The run's records as they come (for the command line), until it is over."""
        seen = dict.fromkeys(("steps", "evals", "epochs"), 0)
        while True:
            view = self.view()
            for name in seen:
                items = getattr(view, name)
                yield from items[seen[name] :]
                seen[name] = len(items)
            if not view.active:
                if view.done is not None:
                    yield view.done
                return
            time.sleep(every)

    # ---- talking to the actor -------------------------------------------------------------
    def _call(self, method: str) -> None:
        if self._actor is not None:
            getattr(self._actor, method).remote()  # in order after the actor's earlier calls

    def _poll(self) -> None:
        import ray
        from ray.exceptions import GetTimeoutError, RayError

        try:
            placed, _ = ray.wait([self._placed], timeout=0)
            if not placed:
                self.queue_position = ray.get(class_queue().position.remote(self._run_id), timeout=CALL_TIMEOUT)
                self.status = "paused" if self.status == "paused" else "queued"
                return
            ray.get(self._placed)  # raises what starting raised (a run already on, a dead actor)
            seen = tuple(len(getattr(self, name)) for name in RECORDS)
            delta = ray.get(self._actor.since.remote(seen), timeout=CALL_TIMEOUT)
        except GetTimeoutError:
            return  # a slow answer: the next poll asks again
        except RayError as exc:
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self._end("failed")
            return
        self.queue_position = None
        for name in RECORDS:
            getattr(self, name).extend(delta[name])
        self.done, self.error = delta["done"], delta["error"]
        self.status = delta["status"]
        if not self.active:
            if delta["archive"] is not None:
                with tempfile.TemporaryDirectory() as tmp:
                    self.checkpoint = checkpoint.from_zip(delta["archive"], tmp)
                self.archive, self.predictions = delta["archive"], delta["predictions"]
            self._end(self.status)

    def _end(self, status: str) -> None:
        """The run is over: free its place on the cluster."""
        if self._actor is not None:
            try:
                import ray

                ray.kill(self._actor)
                class_queue().leave.remote(self._run_id)
            except Exception:  # the cluster may be gone too; nothing is left to free then
                pass
        self._actor = self._placed = None
        self.status, self.queue_position = status, None


class ClassModels:
    """The class's shared models for every app replica: one ModelStore on the head, as a named actor.

    Answers are plain values; a ShareError travels back as its code and values (``ClusterModelStore``
    raises it again in the replica, worded in its page's language)."""

    def __init__(self, path: str) -> None:
        self.store = ModelStore(os.path.expanduser(path))

    def call(self, method: str, *args: Any) -> dict[str, Any]:
        try:
            return {"ok": getattr(self.store, method)(*args)}
        except ShareError as exc:
            return {"error": exc.code, "values": exc.values}


class ClusterModelStore:
    """``ModelStore``'s calls (share, open, count) on the cluster's one store (``ClassModels``).

    A model's zip is checked in the replica before it is sent, and a fetched zip is opened here,
    only through ``checkpoint.from_zip``."""

    def __init__(self, address: str | None = None, path: str | None = None) -> None:
        self.address, self.path = address, path or os.environ.get("CLASSROOM_CLUSTER_STORE") or CLUSTER_STORE

    def _call(self, method: str, *args: Any) -> Any:
        try:
            ray = connect(self.address)
            head = {"node:__internal_head__": 0.001}  # on the head, whose disk outlives the workers
            models = _named(MODELS_NAME, ClassModels, self.path, num_cpus=0, resources=head)
            answer = ray.get(models.call.remote(method, *args), timeout=CALL_TIMEOUT)
        except (ClusterError, OSError) as exc:
            raise ShareError("store_unavailable", detail=str(exc)[:120]) from None
        except Exception as exc:  # Ray's own errors (a lost head, a timeout)
            raise ShareError("store_unavailable", detail=f"{type(exc).__name__}: {exc}"[:120]) from None
        if "error" in answer:
            raise ShareError(answer["error"], **answer["values"])
        return answer["ok"]

    def share(self, archive: bytes) -> Shared:
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint.from_zip(archive, tmp)  # CheckpointError here, before anything is sent
        return self._call("share", archive)

    def open(self, code: str, device: str = "cpu") -> checkpoint.Checkpoint:
        archive = self._call("fetch", normalise_code(code))
        with tempfile.TemporaryDirectory() as tmp:
            return checkpoint.from_zip(archive, tmp, device)

    def count(self) -> int:
        return self._call("count")
