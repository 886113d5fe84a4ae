"""Checkpoints: a directory of ``model.safetensors``, ``config.json`` and ``tokenizer.json``.

Loading never unpickles anything: weights come through safetensors, settings through JSON, the
tokenizer through the tokenizers library. A missing, corrupt, truncated or mismatched file is
refused with a ``CheckpointError`` that says which file and why.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import ConfigError, ModelConfig, model_config_from_dict, to_dict
from .tokenizer import Tokenizer, TokenizerError
from .transformer import TransformerClassifier

FORMAT_VERSION = 1
# The bundled model, trained by `python -m model train --dataset sentiment_en --word-dropout 0.1
# --label-smoothing 0.1 --out assets/checkpoint` (README).
ASSETS_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "checkpoint"
FILES = ("model.safetensors", "config.json", "tokenizer.json")
MAX_ZIP_BYTES = 200 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint cannot be loaded; the message names the file and the problem."""


@dataclass
class Checkpoint:
    model: TransformerClassifier
    tokenizer: Tokenizer
    label_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)  # training settings, dataset, metrics


def save(directory: str | Path, ckpt: Checkpoint) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = ckpt.model
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(directory / "model.safetensors"), metadata={"format": "pt"})
    ckpt.tokenizer.save(directory / "tokenizer.json")
    config = {
        "format_version": FORMAT_VERSION,
        "model": to_dict(model.cfg),
        "label_names": list(ckpt.label_names),
        **{k: v for k, v in ckpt.meta.items() if k not in ("model", "label_names", "format_version")},
    }
    (directory / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return directory


def load(directory: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory} is not a checkpoint directory")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"the checkpoint lacks {', '.join(missing)}")
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"config.json is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or "model" not in config or "label_names" not in config:
        raise CheckpointError("config.json lacks the 'model' settings or the 'label_names'")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"config.json has format_version {config.get('format_version')!r}; expected {FORMAT_VERSION}"
        )
    try:
        model_cfg: ModelConfig = model_config_from_dict(config["model"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"config.json has invalid model settings: {exc}") from None
    labels = config["label_names"]
    if (
        not isinstance(labels, list)
        or len(labels) != model_cfg.n_classes
        or not all(isinstance(x, str) for x in labels)
    ):
        raise CheckpointError(f"config.json: label_names must list {model_cfg.n_classes} names, one per class")
    try:
        tokenizer = Tokenizer.load(directory / "tokenizer.json")
    except TokenizerError as exc:
        raise CheckpointError(str(exc)) from None
    if tokenizer.vocab_size != model_cfg.vocab_size:
        raise CheckpointError(
            f"tokenizer.json has {tokenizer.vocab_size} tokens but the model was built for {model_cfg.vocab_size}: "
            "the tokenizer does not belong to these weights"
        )
    weights_path = directory / "model.safetensors"
    try:
        # safetensors parses a JSON header and raw tensor bytes: no pickle, so no code can run.
        weights = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"model.safetensors is not a valid safetensors file ({str(exc)[:160]})") from None
    model = TransformerClassifier(model_cfg)
    expected = model.state_dict()
    if set(weights) != set(expected):
        extra, lacking = sorted(set(weights) - set(expected)), sorted(set(expected) - set(weights))
        raise CheckpointError(
            "model.safetensors does not match config.json: "
            + "; ".join(part for part in (
                f"unexpected tensors {', '.join(extra[:4])}" if extra else "",
                f"missing tensors {', '.join(lacking[:4])}" if lacking else "") if part)
        )  # fmt: skip
    for name, tensor in weights.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(
                f"model.safetensors does not match config.json: {name} has shape {tuple(tensor.shape)}, "
                f"the config needs {tuple(expected[name].shape)}"
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"model.safetensors: {name} holds NaN or infinite values")
    model.load_state_dict(weights)
    model.to(device).eval()
    meta = {k: v for k, v in config.items() if k not in ("model", "label_names", "format_version")}
    return Checkpoint(model, tokenizer, labels, meta)


def to_zip(directory: str | Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in FILES:
            zf.write(Path(directory) / name, arcname=name)
    return buffer.getvalue()


def from_zip(data: bytes, directory: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Unpack a checkpoint zip (only its three known files, never paths from the archive) and load it."""
    if len(data) > MAX_ZIP_BYTES:
        raise CheckpointError(f"the zip is {len(data) / 1e6:.0f} MB; the limit is {MAX_ZIP_BYTES / 1e6:.0f} MB")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CheckpointError("the upload is not a zip file") from None
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with zf:
        by_name = {Path(info.filename).name: info for info in zf.infolist() if not info.is_dir()}
        missing = [name for name in FILES if name not in by_name]
        if missing:
            raise CheckpointError(f"the zip lacks {', '.join(missing)}")
        for name in FILES:
            info = by_name[name]
            if info.file_size > MAX_ZIP_BYTES:
                raise CheckpointError(f"{name} in the zip is too large")
            try:
                (directory / name).write_bytes(zf.read(info))
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise CheckpointError(f"{name} in the zip is damaged ({exc})") from None
    return load(directory, device)
