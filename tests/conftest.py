"""Hermetic fixtures: small tokenizers and models built inside the tests, no network."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.config import ModelConfig  # noqa: E402
from model.tokenizer import Tokenizer  # noqa: E402
from model.transformer import TransformerClassifier  # noqa: E402

TEXTS = [
    "I love this movie!", "She doesn't like this book.", "The plot was not good at all.",
    "What a wonderful film", "good but far too long", "the soup was cold and bland",
    "这部电影非常好看。", "我不喜欢这本书。", "服务很差，但是菜很好吃。", "这款手机不错",
] * 5  # fmt: skip


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer.train(TEXTS, vocab_size=300)


@pytest.fixture
def tiny_model(tokenizer) -> TransformerClassifier:
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=tokenizer.vocab_size, n_classes=3, d_model=16, n_heads=4, n_layers=2,
                      d_ff=32, max_len=24, dropout=0.0)  # fmt: skip
    return TransformerClassifier(cfg).eval()
