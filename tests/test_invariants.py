"""Invariants of attention and pooling that any correct implementation keeps."""

import pytest
import torch

from model.config import ModelConfig
from model.transformer import TransformerClassifier


def test_rows_sum_to_one_and_padding_gets_zero(tokenizer, tiny_model):
    ids, mask, _ = tokenizer.batch(["I love this movie!", "good", "这部电影非常好看。"], tiny_model.cfg.max_len)
    assert (mask == 0).any(), "the batch must contain padding for this test to mean anything"
    _, trace = tiny_model(ids, mask, return_trace=True)
    for layer in trace.layers:
        w = layer.attention.weights
        assert torch.allclose(w.sum(-1), torch.ones_like(w.sum(-1)), atol=1e-6)
        padded_keys = (mask == 0)[:, None, None, :].expand_as(w)
        assert w[padded_keys].abs().max() == 0


@pytest.mark.parametrize("pooling", ["mean", "cls"])
@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_padding_does_not_change_predictions(tokenizer, pooling, positional):
    torch.manual_seed(0)
    sizes = dict(vocab_size=tokenizer.vocab_size, n_classes=2, d_model=16, n_heads=2, n_layers=2, d_ff=32, max_len=24)
    cfg = ModelConfig(**sizes, dropout=0.0, pooling=pooling, positional=positional)
    model = TransformerClassifier(cfg).eval()
    ids, mask, _ = tokenizer.batch(["good"], cfg.max_len)
    alone = model(ids, mask)
    for pad in (1, 5, 20):
        padded_ids = torch.cat([ids, torch.full((1, pad), tokenizer.pad_id)], 1)
        padded_mask = torch.cat([mask, torch.zeros(1, pad, dtype=torch.long)], 1)
        assert torch.allclose(model(padded_ids, padded_mask), alone, atol=1e-5)
    # and the padding token's embedding is irrelevant: garbage ids under mask 0 change nothing
    garbage = torch.cat([ids, torch.randint(3, tokenizer.vocab_size, (1, 6))], 1)
    garbage_mask = torch.cat([mask, torch.zeros(1, 6, dtype=torch.long)], 1)
    assert torch.allclose(model(garbage, garbage_mask), alone, atol=1e-5)


def test_a_sentence_in_a_batch_gets_the_same_prediction_as_alone(tokenizer, tiny_model):
    sentences = ["She doesn't like this book.", "good but far too long", "我不喜欢这本书。"]
    ids, mask, _ = tokenizer.batch(sentences, tiny_model.cfg.max_len)
    batched = tiny_model(ids, mask)
    for i, s in enumerate(sentences):
        one_ids, one_mask, _ = tokenizer.batch([s], tiny_model.cfg.max_len)
        assert torch.allclose(tiny_model(one_ids, one_mask)[0], batched[i], atol=1e-5)


def test_pooling_weights_cover_only_real_tokens(tokenizer, tiny_model):
    ids, mask, _ = tokenizer.batch(["I love this movie!", "good"], tiny_model.cfg.max_len)
    _, trace = tiny_model(ids, mask, return_trace=True)
    pw = trace.pooling_weights
    assert torch.allclose(pw.sum(1), torch.ones(2))
    assert pw[mask == 0].abs().max() == 0


def test_too_long_input_is_refused_not_silently_wrapped(tiny_model):
    ids = torch.ones(1, tiny_model.cfg.max_len + 1, dtype=torch.long)
    with pytest.raises(ValueError, match="at most"):
        tiny_model(ids)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_parameter_parts_count_every_parameter_once_and_their_arithmetic_adds_up(positional):
    from model.inspect import parameter_parts

    cfg = ModelConfig(vocab_size=500, d_model=48, n_heads=4, n_layers=3, d_ff=96, n_classes=5, positional=positional)
    model = TransformerClassifier(cfg)
    parts = {p.part: p for p in parameter_parts(model)}
    assert sum(p.count for p in parts.values()) == model.num_parameters(non_embedding=False)
    for p in parts.values():  # the shown arithmetic is the count, e.g. "3 × (48 × 144 + 144)"
        assert eval(p.arithmetic.replace("×", "*")) == p.count, p  # noqa: S307 (digits and operators only)
    assert parts["token_embedding"].arithmetic == "500 × 48"  # one row per vocabulary entry, not d_model rows
    assert parts["qkv"].arithmetic == "3 × (48 × 144 + 144)"  # X·W orientation: d_model in, 3·d_model out
    assert parts["ffn2"].arithmetic == "3 × (96 × 48 + 48)"
    assert parts["norms"].arithmetic == "7 × (48 + 48)"  # two per block and the final one
    assert parts["classifier"].arithmetic == "48 × 5 + 5"
    assert ("position_embedding" in parts) == (positional == "learned")  # the sinusoidal table is not learned


def test_the_padded_row_of_the_mask_section_is_the_models_own_and_padding_changes_nothing(tokenizer, tiny_model):
    from model.checkpoint import Checkpoint
    from model.inspect import inspect_sentence, padded_row

    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    result = inspect_sentence(ckpt, "I love this movie!")
    T = len(result.tokens)
    row = padded_row(ckpt, result, layer=1, head=2, query=3)
    assert row.tokens == result.tokens + ["[PAD]"] * 3
    assert row.mask[:T].eq(0).all() and row.mask[T:].eq(float("-inf")).all()
    assert row.weights[T:].eq(0).all() and abs(float(row.weights.sum()) - 1) < 1e-6
    unpadded = result.trace.layers[1].attention.weights[0, 2, 3]
    assert row.largest_change == float((row.weights[:T] - unpadded).abs().max()) < 1e-6
    # the same row as in a training batch next to a longer sentence
    ids, mask, _ = tokenizer.batch(["I love this movie!", "the soup was cold and bland but the bread was good"], 24)
    assert ids.shape[1] > T + 3
    _, trace = tiny_model(ids, mask, return_trace=True)
    assert torch.allclose(trace.layers[1].attention.weights[0, 2, 3, :T], row.weights[:T], atol=1e-6)
    # no more padding than max_len has room for, and none when the sentence fills it
    long = inspect_sentence(ckpt, " ".join(["good"] * (tiny_model.cfg.max_len - 3)))
    assert len(padded_row(ckpt, long, 0, 0, 0).tokens) == tiny_model.cfg.max_len
    full = inspect_sentence(ckpt, " ".join(["good"] * 40))
    assert len(full.tokens) == tiny_model.cfg.max_len and padded_row(ckpt, full, 0, 0, 0) is None


def test_the_dot_product_of_the_scores_section_adds_up_to_the_models_score(tokenizer, tiny_model):
    """S_ij opened up: Q_i and K_j are the rows the block's own weights give, the terms are their
    products, and they add up to the score the model's forward computed."""
    from model.checkpoint import Checkpoint
    from model.inspect import dot_product, head_steps, inspect_sentence

    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    result = inspect_sentence(ckpt, "She doesn't like this book.")
    steps = head_steps(result, tiny_model, layer=1, head=2, query=3)
    # a key whose terms have both signs, so that both partial sums are put to the test
    j, d = next(
        (j, d) for j in range(len(result.tokens)) if len(set((d := dot_product(steps, 3, j)).terms.sign().tolist())) > 1
    )
    block, cfg, T = tiny_model.blocks[1], tiny_model.cfg, len(result.tokens)
    with torch.no_grad():  # Q and K again, from the layer input and the block's weights alone
        q, k, _ = block.attn.qkv(block.ln1(result.trace.layers[1].x[0])).split(cfg.d_model, dim=-1)
    assert torch.allclose(d.q, q.view(T, cfg.n_heads, -1)[3, 2], atol=1e-6)
    assert torch.allclose(d.k, k.view(T, cfg.n_heads, -1)[j, 2], atol=1e-6)
    assert torch.equal(d.terms, d.q * d.k)
    assert d.score == float(result.trace.layers[1].attention.scores[0, 2, 3, j])
    assert abs(float(d.terms.sum()) - d.score) < 1e-5 and abs(d.positive + d.negative - d.score) < 1e-5
    assert d.positive > 0 > d.negative
    assert abs(d.positive - float(d.terms.clamp(min=0).sum())) < 1e-6
