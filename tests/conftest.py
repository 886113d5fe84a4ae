"""Hermetic fixtures: small tokenizers and models built inside the tests, no network."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

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


# ---- the app through Streamlit's AppTest: shared by test_app.py and test_classroom.py ----------


def new_app(lang: str = "en", timeout: float = 120) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["lang"] = lang
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Run the app, then go to ``page`` (e.g. "pages/attention.py") and run it."""
    at.run()
    at.switch_page(page)
    at.run()
    return at


def train_page(at: AppTest, **settings) -> AppTest:
    """The Train page with the tiny preset, shortened, and any widget values in ``settings``."""
    open_page(at, "pages/train.py")
    at.session_state["preset"] = "tiny"
    at.run()
    for key, value in {"hp_d_model": 32, "hp_n_heads": 2, "hp_d_ff": 64, "hp_epochs": 2, **settings}.items():
        at.session_state[key] = value
    at.run()
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    return at
