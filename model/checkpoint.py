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


# The English sentence of each CheckpointError, as the command line prints it; the app words the same
# code in the page's language (assets/i18n: error_<code>). An ``error`` value is the cause, itself worded.
MESSAGES = {
    "not_a_directory": "{path} is not a checkpoint directory",
    "missing_files": "the checkpoint lacks {files}",
    "config_not_json": "config.json is not valid JSON ({detail})",
    "config_incomplete": "config.json lacks the 'model' settings or the 'label_names'",
    "format_version": "config.json has format_version {found}; expected {expected}",
    "bad_model_settings": "config.json has invalid model settings: {error}",
    "label_names": "config.json: label_names must list {n} names, one per class",
    "bad_tokenizer": "{error}",
    "tokenizer_mismatch": "tokenizer.json has {tokens} tokens but the model was built for {vocab}: "
    "the tokenizer does not belong to these weights",
    "bad_weights": "model.safetensors is not a valid safetensors file ({detail})",
    "missing_tensors": "model.safetensors does not match config.json: missing tensors {tensors}",
    "unexpected_tensors": "model.safetensors does not match config.json: unexpected tensors {tensors}",
    "shape_mismatch": "model.safetensors does not match config.json: {tensor} has shape {shape}, "
    "the config needs {expected}",
    "not_finite": "model.safetensors: {tensor} holds NaN or infinite values",
    "zip_too_big": "the zip is {mb:.0f} MB; the limit is {limit:.0f} MB",
    "not_a_zip": "the upload is not a zip file",
    "zip_lacks": "the zip lacks {files}",
    "zip_member_too_big": "{file} in the zip is too large",
    "zip_damaged": "{file} in the zip is damaged ({detail})",
}


class CheckpointError(ValueError):
    """A checkpoint cannot be loaded. ``code`` names the problem and ``values`` fill in its sentence
    (MESSAGES, the English of the command line); the app says the same in the page's language."""

    def __init__(self, message: str = "", *, code: str | None = None, **values: object) -> None:
        self.code, self.values = code, values
        super().__init__(message or MESSAGES[code].format(**values))


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
        raise CheckpointError(code="not_a_directory", path=str(directory))
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(code="missing_files", files=", ".join(missing))
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(code="config_not_json", detail=str(exc)) from None
    if not isinstance(config, dict) or "model" not in config or "label_names" not in config:
        raise CheckpointError(code="config_incomplete")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(code="format_version", found=repr(config.get("format_version")), expected=FORMAT_VERSION)
    try:
        model_cfg: ModelConfig = model_config_from_dict(config["model"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(code="bad_model_settings", error=exc) from None
    labels = config["label_names"]
    if (
        not isinstance(labels, list)
        or len(labels) != model_cfg.n_classes
        or not all(isinstance(x, str) for x in labels)
    ):
        raise CheckpointError(code="label_names", n=model_cfg.n_classes)
    try:
        tokenizer = Tokenizer.load(directory / "tokenizer.json")
    except TokenizerError as exc:
        raise CheckpointError(code="bad_tokenizer", error=exc) from None
    if tokenizer.vocab_size != model_cfg.vocab_size:
        raise CheckpointError(code="tokenizer_mismatch", tokens=tokenizer.vocab_size, vocab=model_cfg.vocab_size)
    weights_path = directory / "model.safetensors"
    try:
        # safetensors parses a JSON header and raw tensor bytes: no pickle, so no code can run.
        weights = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(code="bad_weights", detail=str(exc)[:160]) from None
    model = TransformerClassifier(model_cfg)
    expected = model.state_dict()
    lacking, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if lacking:  # named first: a config with more layers than the weights lacks whole blocks
        raise CheckpointError(code="missing_tensors", tensors=", ".join(lacking[:4]))
    if extra:
        raise CheckpointError(code="unexpected_tensors", tensors=", ".join(extra[:4]))
    for name, tensor in weights.items():
        if tensor.shape != expected[name].shape:
            shape, needed = tuple(tensor.shape), tuple(expected[name].shape)
            raise CheckpointError(code="shape_mismatch", tensor=name, shape=shape, expected=needed)
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(code="not_finite", tensor=name)
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
        raise CheckpointError(code="zip_too_big", mb=len(data) / 2**20, limit=MAX_ZIP_BYTES / 2**20)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CheckpointError(code="not_a_zip") from None
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with zf:
        by_name = {Path(info.filename).name: info for info in zf.infolist() if not info.is_dir()}
        missing = [name for name in FILES if name not in by_name]
        if missing:
            raise CheckpointError(code="zip_lacks", files=", ".join(missing))
        for name in FILES:
            info = by_name[name]
            if info.file_size > MAX_ZIP_BYTES:
                raise CheckpointError(code="zip_member_too_big", file=name)
            try:
                (directory / name).write_bytes(zf.read(info))
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise CheckpointError(code="zip_damaged", file=name, detail=str(exc)) from None
    return load(directory, device)
