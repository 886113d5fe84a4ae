"""The bundled models on language they never saw: the natural sets, written apart from the training data."""

import json
from collections import Counter

import pytest
import torch

from model import checkpoint
from model.checkpoint import ASSETS_CHECKPOINT
from model.corpus import ARTICLE_EXAMPLES, normalise
from model.data import DATASETS_DIR, Dataset, load_builtin
from model.trainer import EncodedSet, evaluate

BUNDLED = {"en": ASSETS_CHECKPOINT, "zh": ASSETS_CHECKPOINT.with_name("checkpoint_zh")}
MINIMUM_ROWS = {"en": 300, "zh": 200}


def natural(language: str) -> list[dict]:
    path = DATASETS_DIR / f"sentiment_{language}" / "natural.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_natural_sets_are_held_out_and_span_the_domains(language):
    rows = natural(language)
    assert len(rows) >= MINIMUM_ROWS[language]
    labels = Counter(r["label"] for r in rows)
    assert set(labels) == {"negative", "positive"} and min(labels.values()) > 0.4 * len(rows)
    assert len({r["domain"] for r in rows}) == 15 and len({r["phenomenon"] for r in rows}) >= 8
    builtin = load_builtin(f"sentiment_{language}")
    seen = {normalise(t) for t in builtin.train.texts + builtin.valid.texts}
    assert not seen & {normalise(r["text"]) for r in rows}  # never trained on, never validated on
    assert not seen & {normalise(t) for t in ARTICLE_EXAMPLES}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_bundled_models_read_sentences_they_never_saw(language):
    ckpt = checkpoint.load(BUNDLED[language])
    rows = natural(language)
    data = Dataset([r["text"] for r in rows], [ckpt.label_names.index(r["label"]) for r in rows], ckpt.label_names)
    _, _, predicted = evaluate(
        ckpt.model, EncodedSet.build(data, ckpt.tokenizer, ckpt.model.cfg.max_len), torch.device("cpu")
    )
    right = sum(int(p) == y for p, y in zip(predicted, data.labels))  # counted, not a float32 mean
    assert right / len(rows) >= 0.90, f"{language}: {right} of {len(rows)} natural sentences"


def test_the_english_vocabulary_holds_everyday_words_whole():
    tokenizer = checkpoint.load(BUNDLED["en"]).tokenizer
    everyday = (
        "it was were is the staff rude and helpful what a delightful little restaurant we will definitely "
        "come back honestly best book i've read this year food service room phone app movie film slow "
        "cheap expensive friendly dirty clean broke worth money again never"
    ).split()
    pieces = {w: tokenizer.encode(w, 16).tokens[1:] for w in everyday}
    assert {w: t for w, t in pieces.items() if len(t) != 1 and w != "i've"} == {}
    assert tokenizer.vocab_size >= 4000


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_predicts_one_word_change_flips_the_bundled_model(lang):
    """Predict opens with two sentences one word apart ("Change one word and see what moves"): the
    bundled model must answer them differently, or the lesson contradicts itself (it said "not good"
    was positive)."""
    import json

    from model.checkpoint import ASSETS_CHECKPOINT, load
    from model.inspect import inspect_sentence
    from tests.conftest import ROOT

    strings = json.loads((ROOT / "assets" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    ckpt = load(ASSETS_CHECKPOINT if lang == "en" else ASSETS_CHECKPOINT.with_name("checkpoint_zh"))
    a, b = (inspect_sentence(ckpt, strings[f"compare_{side}_default"]) for side in "ab")
    assert a.prediction != b.prediction
