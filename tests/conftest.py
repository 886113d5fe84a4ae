"""Hermetic fixtures: small tokenizers and models built inside the tests, no network."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Shared models (model/share.py) go to a store of the test run's own, not the checkout's .store/; the
# servers the browser tests start inherit it.
os.environ["CLASSROOM_STORE"] = str(Path(tempfile.mkdtemp(prefix="classroom-store-")) / "shared.sqlite3")

from model.config import ModelConfig  # noqa: E402
from model.tokenizer import Tokenizer  # noqa: E402
from model.transformer import TransformerClassifier  # noqa: E402

TEXTS = [
    "I love this movie!",
    "She doesn't like this book.",
    "The plot was not good at all.",
    "What a wonderful film",
    "good but far too long",
    "the soup was cold and bland",
    "这部电影非常好看。",
    "我不喜欢这本书。",
    "服务很差，但是菜很好吃。",
    "这款手机不错",
] * 5


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer.train(TEXTS, vocab_size=300)


@pytest.fixture
def tiny_model(tokenizer) -> TransformerClassifier:
    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        n_classes=3,
        d_model=16,
        n_heads=4,
        n_layers=2,
        d_ff=32,
        max_len=24,
        dropout=0.0,
    )
    return TransformerClassifier(cfg).eval()


# ---- the app through Streamlit's AppTest: shared by test_app.py and test_classroom.py ----------


def new_app(lang: str = "en", timeout: float = 120) -> AppTest:
    """The app as a new visitor opens it, in ``lang`` (as a link with ?lang= opens it)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if lang != "en":
        at.query_params["lang"] = lang
    return at


def set_settings(at: AppTest, **values) -> AppTest:
    """Settings as if chosen on the Train page (``hp_d_model=32`` or ``d_model=32``), kept in ui/state.py."""
    kept = dict(at.session_state["_kept"])
    kept["settings"] = {**kept["settings"], **{k.removeprefix("hp_"): v for k, v in values.items()}}
    at.session_state["_kept"] = kept
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
    at.button_group(key="preset").set_value("tiny").run()
    set_settings(at, **{"d_model": 32, "n_heads": 2, "d_ff": 64, "epochs": 2, **settings})
    at.run()
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    return at


# ---- the real server and a real Chromium, one of each per test module (the browser tests) --------
@pytest.fixture(scope="module")
def server():
    from bench.serve import serving

    with serving() as running:
        yield running.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from bench.serve import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
