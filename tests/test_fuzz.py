"""Any sentence a class can type: arbitrary Unicode up to 10,000 characters (hypothesis)."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.checkpoint import ASSETS_CHECKPOINT, load
from model.inspect import InputError, inspect_sentence
from tests.conftest import new_app, open_page

CKPT = load(ASSETS_CHECKPOINT)
NASTY = [
    "",
    " ",
    "   \t\n ",
    "\x00\x01\x02",
    "\u200b\u200e\u202e",
    "😀🎬👍🏽",
    "这部电影非常好看",
    "مرحبا بالعالم هذا فيلم رائع",
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "I love this movie!" * 700,
    "\ufeff",
    "a\u0301",
    "{{7*7}} ${x} %s",
    "'; DROP TABLE x; --",
    "\ud7ff\ue000\U0010ffff",
]
sentences = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=10_000),
    st.lists(st.sampled_from(["good", "not", "bad", "电影", "😀", "<b>", " ", "\n", "\u202e"]), max_size=3000).map(
        "".join
    ),
)


def check(text: str) -> None:
    try:
        result = inspect_sentence(CKPT, text)
    except InputError as exc:  # only for text with nothing to read, and with a message
        assert "sentence" in str(exc)
        assert not CKPT.tokenizer.encode(text, 10).ids[1:]
        return
    T = len(result.tokens)
    assert 2 <= T <= CKPT.model.cfg.max_len
    assert result.truncated == (result.n_tokens_before_truncation > CKPT.model.cfg.max_len)
    assert abs(sum(result.probabilities) - 1) < 1e-5
    for layer in result.trace.layers:
        w = layer.attention.weights[0]
        assert torch.isfinite(w).all()
        assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5)


@pytest.mark.parametrize("text", NASTY)
def test_nasty_sentences(text):
    check(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentences)
def test_any_unicode_through_tokenizer_and_trace(text):
    check(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sentences, min_size=2, max_size=5))
def test_padding_gets_zero_in_any_batch(texts):
    ids, mask, _ = CKPT.tokenizer.batch(texts, CKPT.model.cfg.max_len)
    _, trace = CKPT.model(ids, mask, return_trace=True)
    for layer in trace.layers:
        w = layer.attention.weights
        padded = w[(mask == 0)[:, None, None, :].expand_as(w)]
        assert padded.numel() == 0 or padded.abs().max() == 0
        assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5)


def test_long_text_is_truncated_with_a_visible_notice():
    at = open_page(new_app(timeout=60), "pages/attention.py")
    at.text_input(key="sentence_input_attention").set_value("good " * 400).run()
    assert not at.exception
    assert any("the model reads at most 64" in w.value for w in at.warning)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(NASTY[:12]) | st.text(max_size=300))
def test_the_attention_page_never_shows_a_traceback(text):
    at = new_app(timeout=60)
    at.switch_page("pages/attention.py")
    at.session_state["sentence_input_attention"] = text[:2000]  # the box's own max_chars
    at.run()
    assert not at.exception, [e.value for e in at.exception]
