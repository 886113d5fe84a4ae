"""Checkpoints round-trip exactly and refuse anything that is not what it claims to be."""

import json
import pickle
import zipfile

import pytest
import torch

from model import checkpoint
from model.checkpoint import Checkpoint, CheckpointError
from model.config import ModelConfig
from model.tokenizer import Tokenizer
from model.transformer import TransformerClassifier


@pytest.fixture
def saved(tmp_path, tokenizer, tiny_model):
    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"], {"metrics": {"valid_accuracy": 0.5}})
    return checkpoint.save(tmp_path / "ckpt", ckpt)


def test_round_trip_gives_identical_outputs(saved, tokenizer, tiny_model):
    loaded = checkpoint.load(saved)
    ids, mask, _ = tokenizer.batch(["I love this movie!", "我不喜欢这本书。"], tiny_model.cfg.max_len)
    assert torch.equal(loaded.model(ids, mask), tiny_model(ids, mask))
    assert loaded.label_names == ["a", "b", "c"] and loaded.meta["metrics"]["valid_accuracy"] == 0.5
    assert loaded.model.cfg == tiny_model.cfg


class _Boom:
    def __reduce__(self):
        return (open, ("PWNED", "w"))  # would create a file if ever unpickled


def test_a_pickle_renamed_model_safetensors_is_refused_and_never_run(saved, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (saved / "model.safetensors").write_bytes(pickle.dumps({"w": _Boom()}))
    torch.save({"x": torch.ones(2)}, tmp_path / "torch.pt")
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        checkpoint.load(saved)
    assert not (tmp_path / "PWNED").exists()
    (saved / "model.safetensors").write_bytes((tmp_path / "torch.pt").read_bytes())
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        checkpoint.load(saved)


def test_truncated_weights_are_refused(saved):
    data = (saved / "model.safetensors").read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        (saved / "model.safetensors").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="model.safetensors"):
            checkpoint.load(saved)


def test_config_that_does_not_match_the_weights(saved):
    config = json.loads((saved / "config.json").read_text())
    config["model"]["d_model"] = 32
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not match config.json"):
        checkpoint.load(saved)
    config["model"]["d_model"], config["model"]["n_layers"] = 16, 3
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="missing tensors blocks.2"):
        checkpoint.load(saved)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["model"].update(d_model=30), "not divisible by 4 heads"),
        (lambda c: c["model"].update(colour="red"), "unknown model settings: colour"),
        (lambda c: c.update(label_names=["a"]), "label_names must list 3"),
        (lambda c: c.pop("model"), "lacks the 'model'"),
        (lambda c: c.update(format_version=99), "format_version"),
    ],
)
def test_bad_configs(saved, edit, message):
    config = json.loads((saved / "config.json").read_text())
    edit(config)
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(saved)


def test_config_that_is_not_json(saved):
    (saved / "config.json").write_bytes(b"\xff\xfe{garbage")
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        checkpoint.load(saved)


def test_tokenizer_that_does_not_match_the_vocabulary(saved):
    Tokenizer.train(["completely different words here"] * 3, vocab_size=100).save(saved / "tokenizer.json")
    with pytest.raises(CheckpointError, match="does not belong to these weights"):
        checkpoint.load(saved)


def test_missing_files_and_directories(saved, tmp_path):
    (saved / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="lacks tokenizer.json"):
        checkpoint.load(saved)
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        checkpoint.load(tmp_path / "nowhere")


def test_nan_weights_are_refused(saved, tokenizer):
    from safetensors.torch import load_file, save_file

    weights = load_file(str(saved / "model.safetensors"))
    weights["head.bias"][0] = float("nan")
    save_file(weights, str(saved / "model.safetensors"))
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.load(saved)


def test_zip_round_trip_and_hostile_zips(saved, tmp_path, tokenizer, tiny_model):
    data = checkpoint.to_zip(saved)
    loaded = checkpoint.from_zip(data, tmp_path / "unzipped")
    ids, mask, _ = tokenizer.batch(["good"], 24)
    assert torch.equal(loaded.model(ids, mask), tiny_model(ids, mask))
    with pytest.raises(CheckpointError, match="not a zip"):
        checkpoint.from_zip(b"PK\x03\x04 nope", tmp_path / "z1")
    # names with directories are flattened: nothing is written outside the target
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(hostile, "w") as zf:
        for name in checkpoint.FILES:
            zf.write(saved / name, arcname=f"../../escape/{name}")
    checkpoint.from_zip(hostile.read_bytes(), tmp_path / "z2")
    assert not (tmp_path.parent / "escape").exists()
    with zipfile.ZipFile(hostile, "w") as zf:
        zf.writestr("config.json", "{}")
    with pytest.raises(CheckpointError, match="lacks model.safetensors"):
        checkpoint.from_zip(hostile.read_bytes(), tmp_path / "z3")


def test_sinusoidal_model_round_trips(tmp_path, tokenizer):
    cfg = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=16,
        n_heads=2,
        n_layers=1,
        d_ff=16,
        max_len=16,
        positional="sinusoidal",
        activation="gelu",
        pooling="cls",
    )
    model = TransformerClassifier(cfg).eval()
    checkpoint.save(tmp_path / "s", Checkpoint(model, tokenizer, ["x", "y"]))
    ids, mask, _ = tokenizer.batch(["good"], 16)
    assert torch.equal(checkpoint.load(tmp_path / "s").model(ids, mask), model(ids, mask))


def test_bundled_checkpoint_loads_and_gets_the_articles_examples_right():
    from model.checkpoint import ASSETS_CHECKPOINT
    from model.inspect import inspect_sentence

    ckpt = checkpoint.load(ASSETS_CHECKPOINT)
    # 8,000 vocabulary rows × d_model 128 × 4 bytes are 4.1 MB of the 5.4 MB; 8 MB leaves room, not bloat
    assert sum(f.stat().st_size for f in ASSETS_CHECKPOINT.iterdir()) < 8 * 1024 * 1024
    # its validation set is real language of the same sources (tests/test_bundled.py: sentences never seen)
    assert ckpt.meta["metrics"]["valid_accuracy"] >= 0.8
    assert inspect_sentence(ckpt, "I love this movie!").prediction == "positive"
    assert inspect_sentence(ckpt, "She doesn't like this book.").prediction == "negative"


def test_errors_carry_a_code_and_their_cause(saved, tmp_path, monkeypatch):
    """The app words each code in the page's language, the cause too; str() stays the command line's English."""
    config = json.loads((saved / "config.json").read_text())
    config["model"]["d_model"] = 30
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError) as err:
        checkpoint.load(saved)
    assert err.value.code == "bad_model_settings" and err.value.values["error"].code == "not_divisible"
    assert str(err.value).startswith("config.json has invalid model settings: d_model 30 is not divisible by 4 heads")
    config["model"]["d_model"] = 16
    (saved / "config.json").write_text(json.dumps(config))
    (saved / "tokenizer.json").write_text('{"not": "a tokenizer"}')
    with pytest.raises(CheckpointError) as err:
        checkpoint.load(saved)
    assert err.value.code == "bad_tokenizer" and err.value.values["error"].code == "tokenizer_invalid"
    monkeypatch.setattr(checkpoint, "MAX_ZIP_BYTES", 2 * 2**20)
    with pytest.raises(CheckpointError) as err:
        checkpoint.from_zip(b"x" * 3 * 2**20, tmp_path / "z")
    assert err.value.code == "zip_too_big" and str(err.value) == "the zip is 3 MB; the limit is 2 MB"
