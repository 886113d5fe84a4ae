"""Training, free of any UI (minGPT's trainer: it yields plain records, never prints).

``train(...)`` is a generator of records: ``StepRecord`` every step, ``EvalRecord`` at intervals
and at each epoch's end, ``EpochRecord`` at each epoch's end, ``DiagnosticRecord`` (each part's
gradient norm and update size) every few steps, ``SnapshotRecord`` (the probe sentences' attention
and the sentence vectors the classifier reads) at intervals, and one ``DoneRecord`` last.
AdamW with linear warm-up then cosine decay, gradient clipping, batches padded only to their
longest sentence (with length bucketing), pause/resume/stop from another thread through
``TrainingControl``. A loss or gradient that becomes NaN or infinite, or a loss that runs away,
stops training with the reason and the last good weights restored.
"""

from __future__ import annotations

import copy
import ctypes
import math
import platform
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .config import TrainConfig
from .data import Dataset
from .tokenizer import Tokenizer
from .transformer import TransformerClassifier, cross_entropy, evaluating


def pick_device(requested: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for "auto"; a forced device that is absent is an error."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda was requested but no CUDA GPU is available; use --device cpu or auto")
    if requested == "mps" and not has_mps:
        raise RuntimeError("device mps was requested but Apple's MPS is not available; use --device cpu or auto")
    return torch.device(requested)


_MALLOC_TUNED = False


def reuse_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks of up to 16 MB for reuse, process-wide, once.

    Every training step frees and reallocates the same tensors of a few hundred KB to 4 MB (the
    8000 × 128 embedding gradient is 4 MB). With glibc's defaults many of them are returned to
    the kernel and come back as fresh zeroed pages on the next step; this keeps them (the page
    faults and system time it saves are in bench/RESULTS.md). PyTorch's CPU performance guide
    reaches the same end by preloading jemalloc or tcmalloc. Linux with glibc only; elsewhere this
    does nothing and returns False.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
    # Blocks under 16 MB come from the heap, not from mmap; up to 64 MB of free heap is kept.
    _MALLOC_TUNED = bool(mallopt(M_MMAP_THRESHOLD, 16 << 20)) and bool(mallopt(M_TRIM_THRESHOLD, 64 << 20))
    return _MALLOC_TUNED


@dataclass
class StepRecord:
    step: int
    epoch: float  # fractional: 1.5 is halfway through the second epoch
    loss: float  # training loss of this step's batch
    lr: float
    samples_per_second: float  # over the run so far, evaluation time excluded
    elapsed: float  # seconds since training started
    total_steps: int
    kind: str = "step"


@dataclass
class EvalRecord:
    step: int
    epoch: float
    valid_loss: float
    valid_accuracy: float
    elapsed: float
    kind: str = "eval"


@dataclass
class EpochRecord:
    """One pass over the training set, as the article prints it: the loss per epoch.

    ``train_loss`` is the mean of the epoch's step losses (its StepRecord.loss values, each the loss
    of one batch as it was trained on, dropout and all); the validation figures are an evaluation of
    the weights at the epoch's end. A run stopped mid-epoch (Stop, the time budget) ends with a
    record of that partial epoch, ``complete`` False. A diverged run gets none for the epoch it
    diverged in: its weights are rolled back to the last good evaluation, so no figures describe it.
    """

    epoch: int  # 1, 2, ...
    train_loss: float
    valid_loss: float
    valid_accuracy: float
    elapsed: float  # seconds since training started
    complete: bool = True
    kind: str = "epoch"


@dataclass
class DiagnosticRecord:
    """How one step changed the model, part by part (see ``parameter_groups``).

    ``grad_norms``: the L2 norm of the part's gradients, before clipping. ``update_ratios``:
    ‖θ_after − θ_before‖ / ‖θ_before‖ over the part's parameters for that step's optimizer update;
    around 1e-3 is the usual rule of thumb for a healthy step (far above: too big a learning rate,
    far below: the part hardly learns).
    """

    step: int
    grad_norms: dict[str, float]
    update_ratios: dict[str, float]
    kind: str = "diagnostics"


@dataclass
class SnapshotRecord:
    """Attention of the probe sentences at one step: weights[layer][head] is (T, T) per sentence.

    Also the sentence vectors the classifier reads (trace.pooled: after the final LayerNorm and
    the pooling), in float16 (to about 1e-3 of their unit scale): of the probe sentences, and of up to PROJECTION_ROWS
    validation sentences (``projection_rows``: their indices in the validation set, evenly spaced).
    """

    step: int
    sentences: list[str]  # as they were typed; tokens are what the tokenizer made of them
    tokens: list[list[str]]
    weights: list[list[list[list[list[float]]]]]  # sentence -> layer -> head -> T x T
    probabilities: list[list[float]]
    # (N, D) one d_model vector per projection row, and (P, D) per probe sentence, in float16: 300 rows
    # at d_model 128 are 77 KB a snapshot (as Python lists of floats they were 1.25 MB, 30 MB a run)
    pooled: Tensor = field(default_factory=lambda: torch.zeros(0, 0, dtype=torch.float16))
    predicted: list[int] = field(default_factory=list)  # the class the model gives each projection row
    projection_rows: list[int] = field(default_factory=list)  # indices into the validation set
    probe_pooled: Tensor = field(default_factory=lambda: torch.zeros(0, 0, dtype=torch.float16))
    # The model's weights at this step, in float16 on the CPU, so that a sentence typed after the run can be
    # placed on this snapshot's projection too (model.explain.snapshot_vectors): 2.6 MB at the default sizes
    state: dict[str, Tensor] = field(default_factory=dict)
    kind: str = "snapshot"


@dataclass
class DoneRecord:
    reason: str  # "finished", "time budget", "stopped", or "diverged: ..." (English, for the command line)
    steps: int
    train_seconds: float
    samples_per_second: float
    valid_loss: float
    valid_accuracy: float
    device: str
    kind: str = "done"
    # when it diverged: what went wrong as a code and its values, for a page to word in its language
    divergence: dict | None = None


class TrainingControl:
    """Pause, resume, step and stop a running ``train`` from another thread."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._paused = self._stopped = False
        self._steps = 0  # steps granted while paused, not yet taken

    def pause(self) -> None:
        with self._changed:
            self._paused, self._steps = True, 0

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._changed.notify_all()

    def step(self, n: int = 1) -> None:
        """While paused: let ``n`` more training steps run, then stay paused (TensorFlow Playground's ⏭)."""
        with self._changed:
            if self._paused:
                self._steps += n
                self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()  # wake a paused loop so it can see the stop

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def wait_while_paused(self) -> float:
        """Before each step: block while paused (unless a step was granted); return the seconds waited.

        The waiting is kept out of the timings.
        """
        if not self._paused:
            return 0.0
        start = time.perf_counter()
        with self._changed:
            self._changed.wait_for(lambda: not self._paused or self._stopped or self._steps > 0)
            if self._paused and not self._stopped:
                self._steps -= 1
        return time.perf_counter() - start


@dataclass
class EncodedSet:
    """A dataset tokenized once: ids (N, max_len) padded, true lengths, labels."""

    ids: Tensor
    lengths: Tensor
    labels: Tensor
    truncated: int = 0  # how many sentences were cut to max_len

    @classmethod
    def build(cls, dataset: Dataset, tokenizer: Tokenizer, max_len: int) -> EncodedSet:
        encoded = tokenizer.encode_batch(dataset.texts, max_len)
        ids = torch.full((len(encoded), max_len), tokenizer.pad_id, dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
        lengths = torch.tensor([len(e.ids) for e in encoded], dtype=torch.long)
        labels = torch.tensor(dataset.labels, dtype=torch.long)
        return cls(ids, lengths, labels, sum(e.truncated for e in encoded))

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx: Tensor, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        """Padded only to the longest sentence of this batch (dynamic padding)."""
        T = int(self.lengths[idx].max())
        ids = self.ids[idx, :T]
        mask = (torch.arange(T) < self.lengths[idx, None]).long()
        return ids.to(device), mask.to(device), self.labels[idx].to(device)


def bucketed_batches(lengths: Tensor, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """Shuffled batches of similar lengths: shuffle, sort within chunks of 50 batches, shuffle batches.

    Less padding per batch means less wasted arithmetic; the outer shuffles keep the order random.
    """
    order = torch.randperm(len(lengths), generator=generator)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[torch.argsort(lengths[part], stable=True)]
        batches += list(part.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def drop_words(ids: Tensor, mask: Tensor, p: float, unk_id: int) -> Tensor:
    """Word dropout: each real token after [CLS] becomes [UNK] with probability ``p`` (a new tensor).

    The model then cannot lean on any single word, and learns what to make of a word it does not
    know (Iyyer et al. 2015 drop whole words for the same reason). Training only; [CLS] and padding stay.
    """
    drop = (torch.rand(ids.shape, device=ids.device) < p) & mask.bool()
    drop[:, 0] = False
    return ids.masked_fill(drop, unk_id)


def lr_at(progress: float, cfg: TrainConfig) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to 10% of it; progress runs from 0 to 1."""
    if cfg.warmup > 0 and progress < cfg.warmup:
        return cfg.lr * progress / cfg.warmup
    decay = min(1.0, (progress - cfg.warmup) / max(1e-9, 1 - cfg.warmup))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * decay)))


def make_optimizer(model: TransformerClassifier, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on weight matrices only (not on biases, norms or embeddings)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "embedding" not in name else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel updates every tensor in one pass: about 3x faster than the per-tensor loop
    # on the CPU, where the 8000 x d_model embedding is most of the parameters (bench/RESULTS.md).
    fused = all(p.device.type in ("cpu", "cuda") for p in model.parameters())
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-8, fused=fused)


def clip_gradients(parameters, max_norm: float) -> Tensor:
    """Scale all gradients together so that their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping, as torch.nn.utils.clip_grad_norm_ does (a test checks they
    agree). Unlike it, this skips the multiplication when the norm is already within bounds; torch
    multiplies every gradient by min(1, max_norm / norm) on every step so as not to wait for the
    norm, but the trainer reads the norm anyway to catch a divergence. ``max_norm`` 0: never clip.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.nn.utils.get_total_norm(grads, foreach=True)
    norm = float(total)
    if 0 < max_norm < norm < math.inf:
        torch._foreach_mul_(grads, max_norm / (norm + 1e-6))
    return total


@torch.no_grad()
def evaluate(
    model: TransformerClassifier,
    data: EncodedSet,
    device: torch.device,
    batch_size: int = 256,
    rows: Sequence[int] | None = None,
):
    """Mean loss, accuracy and the predicted class of every sentence.

    With ``rows``, also the pooled vectors (len(rows), D) of those sentences, from the same forward
    pass: a snapshot taken at an evaluation then costs no forward pass of its own.
    """
    total_loss, predictions = 0.0, []
    order = torch.argsort(data.lengths)  # sorted by length: little padding
    slot = pooled = None
    if rows is not None:
        slot = torch.full((len(data),), -1, dtype=torch.long)  # each sentence's place in rows, or -1
        slot[torch.as_tensor(list(rows), dtype=torch.long)] = torch.arange(len(rows))
        pooled = torch.empty(len(rows), model.cfg.d_model)
    with evaluating(model):
        for idx in order.split(batch_size):
            ids, mask, labels = data.batch(idx, device)
            if slot is None:
                logits = model(ids, mask)
            else:
                logits, trace = model(ids, mask, return_trace=True)
                places = slot[idx]
                wanted = places >= 0
                pooled[places[wanted]] = trace.pooled[wanted.to(trace.pooled.device)].float().cpu()
            total_loss += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
            predictions.append(logits.argmax(-1).cpu())
    predicted = torch.empty(len(data), dtype=torch.long)
    if predictions:
        predicted[order] = torch.cat(predictions)
    n = max(1, len(data))
    accuracy = float((predicted == data.labels).float().mean()) if len(data) else 0.0
    if rows is not None:
        return total_loss / n, accuracy, predicted, pooled
    return total_loss / n, accuracy, predicted


# Validation sentences whose pooled vectors each snapshot keeps (for a projection of them): enough
# to see the classes separate, few enough that 24 snapshots stay a few MB.
PROJECTION_ROWS = 300


def projection_rows(n: int, limit: int = PROJECTION_ROWS) -> list[int]:
    """Indices of up to ``limit`` of ``n`` rows, evenly spaced: every row when ``n <= limit``."""
    return list(range(n)) if n <= limit else [i * n // limit for i in range(limit)]


@torch.no_grad()
def pooled_vectors(model: TransformerClassifier, data: EncodedSet, rows: Sequence[int], device, batch_size: int = 64):
    """trace.pooled (B, D) and the predicted class (B,) for ``rows`` of ``data``, in the order of ``rows``."""
    rows = torch.as_tensor(list(rows), dtype=torch.long)
    pooled = torch.empty(len(rows), model.cfg.d_model)
    predicted = torch.empty(len(rows), dtype=torch.long)
    if not len(rows):  # (torch splits an empty tensor into one empty batch, which has no length to pad to)
        return pooled, predicted
    order = torch.argsort(data.lengths[rows])  # sorted by length: little padding
    with evaluating(model):
        for part in order.split(batch_size):
            ids, mask, _ = data.batch(rows[part], device)
            logits, trace = model(ids, mask, return_trace=True)
            pooled[part], predicted[part] = trace.pooled.float().cpu(), logits.argmax(-1).cpu()
    return pooled, predicted


@torch.no_grad()
def snapshot(
    model: TransformerClassifier,
    tokenizer: Tokenizer,
    sentences: Sequence[str],
    step: int,
    device,
    valid: EncodedSet | None = None,
    rows: Sequence[int] = (),
    evaluated: tuple[Tensor, Tensor] | None = None,
):
    """The probe sentences' attention and pooled vectors, and the pooled vectors of ``rows`` of ``valid``
    (``evaluated``: those vectors and every sentence's predicted class from an evaluation of these very
    weights, used instead of a forward pass of their own)."""
    ids, mask, encoded = tokenizer.batch(sentences, model.cfg.max_len)
    with evaluating(model):
        logits, trace = model(ids.to(device), mask.to(device), return_trace=True)
    probabilities = torch.softmax(logits, -1).cpu().tolist()
    weights = []
    for row, e in enumerate(encoded):
        T = len(e.ids)
        weights.append([layer.attention.weights[row, :, :T, :T].cpu().tolist() for layer in trace.layers])
    record = SnapshotRecord(step, list(sentences), [e.tokens for e in encoded], weights, probabilities)
    record.probe_pooled = trace.pooled.detach().to("cpu", torch.float16)
    record.state = {
        name: value.detach().to("cpu", torch.float16 if value.is_floating_point() else value.dtype)
        for name, value in model.state_dict().items()
    }
    if valid is not None and len(rows):
        if evaluated is not None:
            pooled, predicted = evaluated[0], evaluated[1][torch.as_tensor(list(rows), dtype=torch.long)]
        else:
            pooled, predicted = pooled_vectors(model, valid, rows, device)
        record.pooled, record.predicted, record.projection_rows = pooled.half(), predicted.tolist(), list(rows)
    return record


# Diagnostics (gradient norms, update sizes) about this many times a run: a curve's worth of points.
DIAGNOSTICS_PER_RUN = 200
# ... but never more often than every 5 steps: a diagnostic step costs about a tenth of a step more
# (a copy of every weight and per-part norms), and a 150-step run diagnosed at every step lost 10-15%.
DIAGNOSTICS_MIN_EVERY = 5


def parameter_groups(model: TransformerClassifier) -> dict[str, list[torch.nn.Parameter]]:
    """The model's parameters by part: "embedding" (token and position embeddings), "layer_1" …
    "layer_L" (each block), "output" (the final LayerNorm and the classifier head), in that order."""
    groups: dict[str, list[torch.nn.Parameter]] = {"embedding": []}
    groups.update({f"layer_{i}": [] for i in range(1, len(model.blocks) + 1)})
    groups["output"] = []
    for name, p in model.named_parameters():
        top, _, rest = name.partition(".")
        if top == "blocks":
            part = f"layer_{int(rest.partition('.')[0]) + 1}"
        else:
            part = "embedding" if "embedding" in top else "output"
        groups[part].append(p)
    return {part: params for part, params in groups.items() if params}


def _norm(tensors: Sequence[Tensor]) -> Tensor:
    return torch.nn.utils.get_total_norm(list(tensors), foreach=True)


def gradient_norms(groups: dict[str, list[torch.nn.Parameter]]) -> dict[str, Tensor]:
    """Each part's gradient L2 norm, as 0-d tensors (read them all at once: one wait for the device)."""
    return {part: _norm([p.grad for p in params if p.grad is not None]) for part, params in groups.items()}


@dataclass
class PartsCopy:
    """The parts' parameters copied before an optimizer step, and their norms ‖θ_before‖."""

    tensors: dict[str, list[Tensor]]
    norms: dict[str, Tensor]

    @classmethod
    def of(cls, groups: dict[str, list[torch.nn.Parameter]]) -> PartsCopy:
        tensors = {part: [p.detach().clone() for p in params] for part, params in groups.items()}
        return cls(tensors, {part: _norm(copies) for part, copies in tensors.items()})


def update_ratios(groups: dict[str, list[torch.nn.Parameter]], before: PartsCopy) -> dict[str, Tensor]:
    """‖θ_after − θ_before‖ / ‖θ_before‖ per part, ``before`` copied before the step.

    The copies are overwritten with θ_before − θ_after (in place: no second copy of the embedding).
    """
    ratios = {}
    for part, params in groups.items():
        torch._foreach_sub_(before.tensors[part], [p.detach() for p in params])
        ratios[part] = _norm(before.tensors[part]) / before.norms[part]
    return ratios


@dataclass
class _Health:
    """Keeps a copy of the last weights known to be good, to restore them after a divergence."""

    state: dict = field(default_factory=dict)
    loss_limit: float = 0.0


def train(
    model: TransformerClassifier,
    tokenizer: Tokenizer,
    train_set: Dataset,
    valid_set: Dataset,
    cfg: TrainConfig,
    control: TrainingControl | None = None,
    probe_sentences: Sequence[str] = (),
    diagnostics_every: int | None = None,
) -> Iterator[StepRecord | EvalRecord | EpochRecord | DiagnosticRecord | SnapshotRecord | DoneRecord]:
    """Train ``model`` and yield its records (see the module's docstring).

    ``diagnostics_every``: steps between DiagnosticRecords (and the first step has one); None for
    about DIAGNOSTICS_PER_RUN a run (at most one every DIAGNOSTICS_MIN_EVERY steps), 0 for none.
    """
    control = control or TrainingControl()
    device = pick_device(cfg.device)
    if device.type == "cpu":
        reuse_freed_memory()
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    model.to(device).train()
    max_len = model.cfg.max_len
    train_data = EncodedSet.build(train_set, tokenizer, max_len)
    valid_data = EncodedSet.build(valid_set, tokenizer, max_len)
    optimizer = make_optimizer(model, cfg)
    steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    # By default four evaluations an epoch, at its quarters: the last is the epoch's end, whose
    # EpochRecord then needs no evaluation of its own (every 46 steps of 187 would add a fifth).
    quarters = {math.ceil(k * steps_per_epoch / 4) for k in range(1, 5)}

    def eval_due(step: int) -> bool:
        if cfg.eval_every:
            return step % cfg.eval_every == 0
        return (step - 1) % steps_per_epoch + 1 in quarters

    # About 24 snapshots a run are plenty for the history slider; more only cost time. By default
    # they are taken at evaluations, whose forward pass gives the validation sentences' vectors.
    snapshot_spacing = max(1, total_steps // 24)

    def snapshot_due(step: int) -> bool:
        if cfg.snapshot_every:
            return step % cfg.snapshot_every == 0
        return evaluated_at == step and step - snapshot_at >= snapshot_spacing

    if diagnostics_every is None:
        diagnostics_every = max(DIAGNOSTICS_MIN_EVERY, total_steps // DIAGNOSTICS_PER_RUN)
    groups = parameter_groups(model)
    rows = projection_rows(len(valid_data))
    # A batch loss far above chance level (ln C) means the run is diverging, not learning.
    health = _Health(loss_limit=3 * math.log(model.cfg.n_classes) + 5)
    health.state = copy.deepcopy(model.state_dict())

    step, samples, paused_for, eval_seconds = 0, 0, 0.0, 0.0
    valid_loss, valid_accuracy, evaluated_at = float("nan"), 0.0, -1
    evaluated = None  # the last evaluation's pooled vectors of the projection rows and its predictions
    snapshot_at = -1
    start = time.perf_counter()

    def train_seconds() -> float:
        return time.perf_counter() - start - paused_for

    def run_eval(keep_if_sane: bool = True):
        nonlocal eval_seconds, valid_loss, valid_accuracy, evaluated_at, evaluated
        t0 = time.perf_counter()
        if probe_sentences:  # snapshots are wanted: keep the projection rows' vectors of this pass
            valid_loss, valid_accuracy, predicted, pooled = evaluate(model, valid_data, device, rows=rows)
            evaluated = (pooled, predicted)
        else:
            valid_loss, valid_accuracy, _ = evaluate(model, valid_data, device)
        eval_seconds += time.perf_counter() - t0
        evaluated_at = step
        if keep_if_sane and valid_loss < health.loss_limit:
            health.state = copy.deepcopy(model.state_dict())
        return EvalRecord(step, step / steps_per_epoch, valid_loss, valid_accuracy, train_seconds())

    def take_snapshot():
        nonlocal snapshot_at
        snapshot_at = step
        reuse = evaluated if evaluated_at == step else None
        return snapshot(model, tokenizer, probe_sentences, step, device, valid_data, rows, reuse)

    if probe_sentences:
        yield take_snapshot()
    reason, divergence = "finished", None
    ema_loss = None
    for epoch in range(1, cfg.epochs + 1):
        epoch_loss, epoch_steps = 0.0, 0  # the sum of this epoch's step losses, and how many
        for idx in bucketed_batches(train_data.lengths, cfg.batch_size, generator):
            paused_for += control.wait_while_paused()
            if control.stopped:
                reason = "stopped"
                break
            progress = (step + 1) / total_steps  # the step about to be taken: never lr 0
            if cfg.time_budget:
                progress = max(progress, (train_seconds() - eval_seconds) / cfg.time_budget)
                if progress >= 1.0:
                    reason = "time budget"
                    break
            lr = lr_at(progress, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            ids, mask, labels = train_data.batch(idx, device)
            if cfg.word_dropout:
                ids = drop_words(ids, mask, cfg.word_dropout, tokenizer.unk_id)
            loss = cross_entropy(model(ids, mask), labels, cfg.label_smoothing)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                reason = f"diverged: the loss became {loss_value} at step {step + 1}; try a smaller learning rate"
                divergence = {"code": "loss_not_finite", "value": str(loss_value), "step": step + 1}
                break
            ema_loss = loss_value if ema_loss is None else 0.9 * ema_loss + 0.1 * loss_value
            if ema_loss > health.loss_limit:
                reason = (
                    f"diverged: the loss rose to {ema_loss:.1f} (chance level is "
                    f"{math.log(model.cfg.n_classes):.2f}) at step {step + 1}; try a smaller learning rate"
                )
                divergence = {
                    "code": "loss_rose",
                    "value": f"{ema_loss:.1f}",
                    "chance": f"{math.log(model.cfg.n_classes):.2f}",
                    "step": step + 1,
                }
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            diagnose = diagnostics_every > 0 and (step == 0 or (step + 1) % diagnostics_every == 0)
            if diagnose:  # the gradients before clipping, and the weights before the step
                grad_norms = gradient_norms(groups)
                before = PartsCopy.of(groups)
            grad_norm = clip_gradients(model.parameters(), cfg.grad_clip)
            if not torch.isfinite(grad_norm):
                reason = (
                    f"diverged: the gradient became {float(grad_norm)} at step {step + 1}; try a smaller learning rate"
                )
                divergence = {"code": "gradient_not_finite", "value": str(float(grad_norm)), "step": step + 1}
                break
            optimizer.step()
            step += 1
            samples += len(idx)
            epoch_loss, epoch_steps = epoch_loss + loss_value, epoch_steps + 1
            t = train_seconds()
            yield StepRecord(
                step, step / steps_per_epoch, loss_value, lr, samples / max(1e-9, t - eval_seconds), t, total_steps
            )
            if diagnose:
                ratios = update_ratios(groups, before)
                # one transfer for all the numbers: each float() of a GPU tensor waits for the device
                norms = torch.stack([*grad_norms.values(), *ratios.values()]).tolist()
                yield DiagnosticRecord(
                    step, dict(zip(grad_norms, norms[: len(groups)])), dict(zip(ratios, norms[len(groups) :]))
                )
            if eval_due(step):
                yield run_eval()
            if probe_sentences and snapshot_due(step):
                yield take_snapshot()
        else:  # the epoch's end: its weights evaluated (once, if an evaluation was just due anyway)
            if epoch_steps:
                if evaluated_at != step:
                    yield run_eval()
                yield EpochRecord(epoch, epoch_loss / epoch_steps, valid_loss, valid_accuracy, train_seconds())
            epoch_steps = 0
            continue
        break
    if reason.startswith("diverged"):
        model.load_state_dict(health.state)  # the last weights whose validation loss was sane
        valid_loss, valid_accuracy, _ = evaluate(model, valid_data, device)
    else:
        if evaluated_at != step:
            yield run_eval(keep_if_sane=False)  # the final metrics are always those of the final weights
        if epoch_steps:  # stopped mid-epoch: the part of it that ran
            elapsed = train_seconds()
            yield EpochRecord(epoch, epoch_loss / epoch_steps, valid_loss, valid_accuracy, elapsed, complete=False)
    if probe_sentences and snapshot_at != step:
        yield take_snapshot()
    seconds = train_seconds()
    yield DoneRecord(
        reason,
        step,
        seconds,
        samples / max(1e-9, seconds - eval_seconds),
        valid_loss,
        valid_accuracy,
        str(device),
        divergence=divergence,
    )
