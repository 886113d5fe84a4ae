"""Training, free of any UI (minGPT's trainer: it yields plain records, never prints).

``train(...)`` is a generator of records: ``StepRecord`` every step, ``EvalRecord`` at intervals,
``SnapshotRecord`` (the probe sentences' attention) at intervals, and one ``DoneRecord`` last.
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
from .transformer import TransformerClassifier, cross_entropy


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
class SnapshotRecord:
    """Attention of the probe sentences at one step: weights[layer][head] is (T, T) per sentence."""

    step: int
    sentences: list[str]  # as they were typed; tokens are what the tokenizer made of them
    tokens: list[list[str]]
    weights: list[list[list[list[list[float]]]]]  # sentence -> layer -> head -> T x T
    probabilities: list[list[float]]
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
def evaluate(model: TransformerClassifier, data: EncodedSet, device: torch.device, batch_size: int = 256):
    """Mean loss, accuracy and the predicted class of every sentence."""
    was_training = model.training
    model.eval()
    total_loss, predictions = 0.0, []
    order = torch.argsort(data.lengths)  # sorted by length: little padding
    for idx in order.split(batch_size):
        ids, mask, labels = data.batch(idx, device)
        logits = model(ids, mask)
        total_loss += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
        predictions.append(logits.argmax(-1).cpu())
    model.train(was_training)
    predicted = torch.empty(len(data), dtype=torch.long)
    if predictions:
        predicted[order] = torch.cat(predictions)
    n = max(1, len(data))
    return total_loss / n, float((predicted == data.labels).float().mean()) if len(data) else 0.0, predicted


@torch.no_grad()
def snapshot(model: TransformerClassifier, tokenizer: Tokenizer, sentences: Sequence[str], step: int, device):
    was_training = model.training
    model.eval()
    ids, mask, encoded = tokenizer.batch(sentences, model.cfg.max_len)
    logits, trace = model(ids.to(device), mask.to(device), return_trace=True)
    model.train(was_training)
    probabilities = torch.softmax(logits, -1).cpu().tolist()
    weights = []
    for row, e in enumerate(encoded):
        T = len(e.ids)
        weights.append([layer.attention.weights[row, :, :T, :T].cpu().tolist() for layer in trace.layers])
    return SnapshotRecord(step, list(sentences), [e.tokens for e in encoded], weights, probabilities)


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
) -> Iterator[StepRecord | EvalRecord | SnapshotRecord | DoneRecord]:
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
    eval_every = cfg.eval_every or max(1, steps_per_epoch // 4)
    # About 24 attention snapshots a run are plenty for the history slider; more only cost time.
    snapshot_every = cfg.snapshot_every or max(eval_every, total_steps // 24)
    # A batch loss far above chance level (ln C) means the run is diverging, not learning.
    health = _Health(loss_limit=3 * math.log(model.cfg.n_classes) + 5)
    health.state = copy.deepcopy(model.state_dict())

    step, samples, paused_for, eval_seconds = 0, 0, 0.0, 0.0
    valid_loss, valid_accuracy = float("nan"), 0.0
    start = time.perf_counter()

    def train_seconds() -> float:
        return time.perf_counter() - start - paused_for

    def run_eval():
        nonlocal eval_seconds, valid_loss, valid_accuracy
        t0 = time.perf_counter()
        valid_loss, valid_accuracy, _ = evaluate(model, valid_data, device)
        eval_seconds += time.perf_counter() - t0
        return EvalRecord(step, step / steps_per_epoch, valid_loss, valid_accuracy, train_seconds())

    if probe_sentences:
        yield snapshot(model, tokenizer, probe_sentences, 0, device)
    reason, divergence = "finished", None
    ema_loss = None
    for _ in range(cfg.epochs):
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
            t = train_seconds()
            yield StepRecord(
                step, step / steps_per_epoch, loss_value, lr, samples / max(1e-9, t - eval_seconds), t, total_steps
            )
            if step % eval_every == 0:
                yield run_eval()
                if valid_loss < health.loss_limit:
                    health.state = copy.deepcopy(model.state_dict())
            if probe_sentences and step % snapshot_every == 0:
                yield snapshot(model, tokenizer, probe_sentences, step, device)
        else:
            continue
        break
    if reason.startswith("diverged"):
        model.load_state_dict(health.state)  # the last weights whose validation loss was sane
        valid_loss, valid_accuracy, _ = evaluate(model, valid_data, device)
    elif step == 0 or step % eval_every:
        yield run_eval()  # the final metrics are always those of the final weights
    if probe_sentences and step % snapshot_every:
        yield snapshot(model, tokenizer, probe_sentences, step, device)
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
