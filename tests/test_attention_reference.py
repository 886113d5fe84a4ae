"""Our attention against PyTorch's own: the trace is the computation, to 1e-5 in float32."""

import pytest
import torch
import torch.nn.functional as F

from model.config import ModelConfig
from model.transformer import AttentionCache, MultiHeadAttention, TransformerClassifier, attention, softmax_over_keys

TOL = 1e-5


def _padded_batch(B=3, T=7, vocab=50):
    torch.manual_seed(1)
    ids = torch.randint(3, vocab, (B, T))
    lengths = torch.tensor([T, 4, 2])[:B]
    mask = (torch.arange(T) < lengths[:, None]).long()
    ids[mask == 0] = 0
    return ids, mask


def test_attention_function_equals_scaled_dot_product_attention():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8) for _ in range(3))
    key_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()[:, None, None, :]
    cache = attention(q, k, v, key_mask)
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask)
    assert (cache.output - reference).abs().max() < TOL
    # and the intermediates are what their names say
    assert cache.q is q and cache.k is k and cache.v is v and cache.mask is key_mask
    assert torch.allclose(cache.scores, q @ k.transpose(-2, -1), atol=TOL)
    assert torch.allclose(cache.scaled, cache.scores / 8**0.5, atol=TOL)
    assert torch.equal(cache.weights @ v, cache.output)
    # the heads side by side: head h fills columns h·d_k to (h+1)·d_k
    assert cache.concat.shape == (2, 5, 3 * 8)
    for h in range(3):
        assert torch.equal(cache.concat[..., h * 8 : (h + 1) * 8], cache.output[:, h])


@pytest.mark.parametrize("T", range(1, 21))
def test_softmax_over_keys_is_torch_softmax_at_every_length(T):
    """Rows of 5 to 15 keys are padded to 16 with -inf on the CPU (a faster kernel): the weights and
    their gradients are still torch.softmax's, masked keys still get exactly 0, every row sums to 1."""
    torch.manual_seed(T)
    scores = (3 * torch.randn(4, 3, T, T)).requires_grad_()
    masked = scores.masked_fill(torch.rand(4, 1, 1, T) < 0.3, float("-inf"))
    masked = masked.masked_fill(torch.arange(T) == 0, 0.0)  # one real key in every row, as [CLS] is
    ours = softmax_over_keys(masked)
    theirs = torch.softmax(masked, dim=-1)
    assert ours.shape == theirs.shape and (ours - theirs).abs().max() < 1e-6
    assert torch.equal(ours == 0, theirs == 0) and torch.allclose(ours.sum(-1), torch.ones(4, 3, T))
    upstream = torch.randn(4, 3, T, T)
    (grad_ours,) = torch.autograd.grad(ours, scores, upstream, retain_graph=True)
    (grad_theirs,) = torch.autograd.grad(theirs, scores, upstream)
    assert (grad_ours - grad_theirs).abs().max() < 1e-6


@pytest.mark.parametrize("n_heads", [1, 2, 4])
def test_multi_head_attention_equals_torch_multihead_attention(n_heads):
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=50, d_model=16, n_heads=n_heads, d_ff=32, dropout=0.0)
    ours = MultiHeadAttention(cfg).eval()
    for p in ours.parameters():  # non-trivial biases too
        torch.nn.init.normal_(p, std=0.3)
    reference = torch.nn.MultiheadAttention(16, n_heads, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.qkv.weight)
        reference.in_proj_bias.copy_(ours.qkv.bias)
        reference.out_proj.weight.copy_(ours.proj.weight)
        reference.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(3, 7, 16)
    _, mask = _padded_batch()
    out, cache = ours(x, mask.bool()[:, None, None, :])
    ref_out, ref_weights = reference(x, x, x, key_padding_mask=~mask.bool(), average_attn_weights=False)
    assert (out - ref_out).abs().max() < TOL
    assert isinstance(cache, AttentionCache) and (cache.weights - ref_weights).abs().max() < TOL
    assert torch.equal(out, ours.proj(cache.concat))  # W_O reads the cache's concat, nothing else


def test_model_trace_matches_reference_at_every_layer():
    """Each layer's recorded attention output equals nn.MultiheadAttention on the recorded input."""
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=50, d_model=16, n_heads=4, n_layers=3, d_ff=32, max_len=8, dropout=0.0)
    model = TransformerClassifier(cfg).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2)
    ids, mask = _padded_batch()
    logits, trace = model(ids, mask, return_trace=True)
    assert torch.equal(logits, model(ids, mask))  # tracing changes nothing
    key_padding = ~mask.bool()
    for block, layer in zip(model.blocks, trace.layers):
        reference = torch.nn.MultiheadAttention(16, 4, batch_first=True).eval()
        with torch.no_grad():
            reference.in_proj_weight.copy_(block.attn.qkv.weight)
            reference.in_proj_bias.copy_(block.attn.qkv.bias)
            reference.out_proj.weight.copy_(block.attn.proj.weight)
            reference.out_proj.bias.copy_(block.attn.proj.bias)
        x_norm = layer.x_norm
        ref_out, ref_w = reference(x_norm, x_norm, x_norm, key_padding_mask=key_padding, average_attn_weights=False)
        real = mask.bool()
        assert (layer.attn_out - ref_out)[real].abs().max() < TOL
        cache = layer.attention
        assert (cache.weights - ref_w).abs().max() < TOL
        sdpa = F.scaled_dot_product_attention(cache.q, cache.k, cache.v, attn_mask=cache.mask)
        assert (cache.output - sdpa).abs().max() < TOL
        # per-head Q from the head's own W_Q slice, as the Step-by-step page computes it
        for h in range(4):
            w = block.attn.head_weights(h)
            q_h = layer.x_norm @ w["W_Q"] + w["b_Q"]
            assert (q_h - cache.q[:, h]).abs().max() < TOL
        assert torch.allclose(layer.residual, layer.x + layer.attn_out, atol=TOL)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_model_trace_of_the_feed_forward_half_matches_torch_functional(activation):
    """FFN(x) = act(LN(x')·W1 + b1)·W2 + b2 recomputed with torch.nn.functional from the recorded X'."""
    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=50, d_model=16, n_heads=4, n_layers=3, d_ff=32, max_len=8, dropout=0.0, activation=activation
    )
    model = TransformerClassifier(cfg).eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2)
    ids, mask = _padded_batch()
    _, trace = model(ids, mask, return_trace=True)
    act = F.relu if activation == "relu" else F.gelu
    for i, (block, layer) in enumerate(zip(model.blocks, trace.layers)):
        ln = F.layer_norm(layer.residual, (16,), block.ln2.weight, block.ln2.bias, block.ln2.eps)
        hidden = act(F.linear(ln, block.ffn.fc1.weight, block.ffn.fc1.bias))
        assert (layer.ffn_in - ln).abs().max() < TOL and (layer.hidden - hidden).abs().max() < TOL
        assert (layer.ffn_out - F.linear(hidden, block.ffn.fc2.weight, block.ffn.fc2.bias)).abs().max() < TOL
        assert torch.equal(layer.out, layer.residual + layer.ffn_out)  # the second residual, exactly
        if i + 1 < len(trace.layers):
            assert torch.equal(trace.layers[i + 1].x, layer.out)  # a block's output is the next one's input
    if activation == "relu":
        assert (trace.layers[0].hidden >= 0).all() and (trace.layers[0].hidden == 0).any()


def test_trace_flows_through_the_training_forward():
    """The trace is recorded by the same call that produces the gradients."""
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=50, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=8, dropout=0.0)
    model = TransformerClassifier(cfg).train()
    ids, mask = _padded_batch()
    logits, trace = model(ids, mask, return_trace=True)
    logits.sum().backward()
    assert trace.layers[0].attention.weights.requires_grad
    assert model.blocks[0].attn.qkv.weight.grad is not None
