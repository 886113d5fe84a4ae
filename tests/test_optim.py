"""The speed-ups of the training step compute what the textbook versions compute.

clip_gradients against torch.nn.utils.clip_grad_norm_, and the 16-bit dropout mask against the
distribution nn.Dropout draws from.
"""

import copy
import math

import pytest
import torch

from model.config import ModelConfig
from model.trainer import clip_gradients
from model.transformer import Dropout, TransformerClassifier, cross_entropy, dropout_mask

CFG = ModelConfig(vocab_size=60, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=12, dropout=0.0)


@pytest.mark.parametrize("max_norm", [0.05, 1e6, 0.0])
def test_clip_gradients_matches_torch(max_norm):
    torch.manual_seed(0)
    ours = TransformerClassifier(CFG).train()
    theirs = copy.deepcopy(ours)
    g = torch.Generator().manual_seed(0)
    ids, labels = torch.randint(0, 60, (8, 10), generator=g), torch.randint(0, 2, (8,), generator=g)
    for model in (ours, theirs):
        cross_entropy(model(ids), labels).backward()
    norm = clip_gradients(ours.parameters(), max_norm)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm or math.inf)
    assert math.isclose(float(norm), float(expected), rel_tol=1e-5)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-9), name
    after = float(torch.nn.utils.get_total_norm([p.grad for p in ours.parameters()]))
    if 0 < max_norm < float(expected):
        assert math.isclose(after, max_norm, rel_tol=1e-4)  # clipped to the bound
    else:
        assert after == float(expected)  # untouched


def test_clip_gradients_reports_a_non_finite_norm_without_scaling():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.tensor([1.0, float("inf"), 2.0])
    assert not torch.isfinite(clip_gradients([p], 1.0))
    assert p.grad[0] == 1.0 and p.grad[2] == 2.0


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_mask_has_nn_dropouts_distribution(p):
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    mask = dropout_mask(x, p)
    kept_value = 65536 / (65536 - round(p * 65536))
    values = mask.unique().tolist()
    assert values[0] == 0.0 and values[1] == pytest.approx(kept_value) and len(values) == 2
    n = x.numel()
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(float((mask == 0).float().mean()) - p) < 5 * sigma
    # every one of the four 16-bit lanes of each 64-bit draw is uniform (a draw that leaves the
    # sign bit clear would never drop the fourth lane's elements)
    lanes = (mask.flatten() == 0).float().view(-1, 4).mean(0)
    assert (lanes - p).abs().max() < 5 * math.sqrt(p * (1 - p) / (n / 4))
    assert abs(float(mask.mean()) - 1.0) < 5 * math.sqrt(p / (1 - p) / n)  # E[x·mask] = x


def test_dropout_module_trains_with_the_mask_and_is_identity_in_eval():
    layer = Dropout(0.25)
    x = torch.randn(50, 40, requires_grad=True)
    torch.manual_seed(1)
    y = layer(x)
    torch.manual_seed(1)
    assert torch.equal(y, x * dropout_mask(x, 0.25))  # same seed, same mask
    y.sum().backward()
    assert torch.equal(x.grad, torch.where(y == 0, 0.0, 65536 / (65536 - 16384)))
    layer.eval()
    assert layer(x) is x
