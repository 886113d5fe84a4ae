"""What a training run is made of, the same for the command line and the app's worker.

``build_model`` learns the tokenizer from the training texts and sizes a fresh model to it;
``run_meta`` is what a checkpoint records about the run that made it; ``validation_predictions``
and ``archive`` are what a page shows and offers once a run is done.
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch

from . import checkpoint
from .checkpoint import Checkpoint
from .config import ModelConfig, TrainConfig, to_dict, with_vocab
from .data import Dataset
from .tokenizer import Tokenizer
from .trainer import DoneRecord, EncodedSet, evaluate
from .transformer import TransformerClassifier


def build_model(train_set: Dataset, model_cfg: ModelConfig, train_cfg: TrainConfig):
    """The tokenizer learnt from ``train_set`` and a model sized to it and to its labels (seeded by train_cfg.seed)."""
    torch.manual_seed(train_cfg.seed)
    tokenizer = Tokenizer.train(train_set.texts, train_cfg.vocab_size, train_cfg.tokenizer)
    model_cfg = with_vocab(model_cfg, tokenizer.vocab_size, len(train_set.label_names))
    return tokenizer, TransformerClassifier(model_cfg)


def run_meta(
    train_cfg: TrainConfig,
    description: str,
    train_set: Dataset,
    valid_set: Dataset,
    done: DoneRecord,
    baseline: dict[str, Any] | None,
) -> dict[str, Any]:
    """What a checkpoint records about the run that made it."""
    return {
        "baseline": baseline,
        "training": to_dict(train_cfg),
        "dataset": {
            "description": description,
            "n_train": len(train_set),
            "n_valid": len(valid_set),
            "label_counts": train_set.label_counts(),
        },
        "metrics": {
            "valid_accuracy": done.valid_accuracy,
            "valid_loss": done.valid_loss,
            "steps": done.steps,
            "train_seconds": done.train_seconds,
            "samples_per_second": done.samples_per_second,
            "device": done.device,
            "reason": done.reason,
        },
    }


def validation_predictions(ckpt: Checkpoint, valid_set: Dataset) -> list[int]:
    """The class the model predicts for each validation sentence, in the set's order."""
    encoded = EncodedSet.build(valid_set, ckpt.tokenizer, ckpt.model.cfg.max_len)
    return evaluate(ckpt.model, encoded, torch.device("cpu"))[2].tolist()


def archive(ckpt: Checkpoint) -> bytes:
    """The checkpoint as one zip, for a download button."""
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint.save(tmp, ckpt)
        return checkpoint.to_zip(tmp)
