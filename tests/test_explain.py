"""Why the model decided (model/explain.py): each number against an independent computation.

Head ablation against a copy of the model whose W_O columns for the head are zeroed; integrated
gradients against completeness; attention rollout against a hand computation from the trace's
weights; the last layer readout against the model's logits.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import warnings
from types import SimpleNamespace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import checkpoint
from model.checkpoint import Checkpoint
from model.data import Dataset
from model.explain import (
    ablated_probabilities,
    evaluate_ablated,
    explain,
    head_importance,
    head_means,
    layer_readout,
    pooled_vectors,
    project,
    projection_frames,
    prune_curve,
    sentence_head_effects,
    spearman,
)
from model.inspect import InputError
from model.trainer import EncodedSet, evaluate
from model.transformer import Ablation, TransformerClassifier
from tests.conftest import ROOT, TEXTS

SENTENCES = [t for t in dict.fromkeys(TEXTS)]


def with_head_zeroed(model: TransformerClassifier, heads, means=None) -> TransformerClassifier:
    """An independent model: W_O's input columns of each head set to zero (and, for a mean ablation,
    W_O · mean folded into W_O's bias), so that the head's output cannot reach the residual stream."""
    other = copy.deepcopy(model)
    Dh = model.cfg.d_head
    with torch.no_grad():
        for layer, head in heads:
            proj = other.blocks[layer].attn.proj  # nn.Linear: weight is (out, in), in = the heads side by side
            columns = slice(head * Dh, (head + 1) * Dh)
            if means is not None:
                proj.bias += proj.weight[:, columns] @ means[layer, head]
            proj.weight[:, columns] = 0.0
    return other


@pytest.fixture
def labelled(tokenizer, tiny_model):
    labels = [i % tiny_model.cfg.n_classes for i in range(len(SENTENCES))]
    data = Dataset(SENTENCES, labels, ["a", "b", "c"])
    return EncodedSet.build(data, tokenizer, tiny_model.cfg.max_len)


@pytest.fixture
def ckpt(tiny_model, tokenizer) -> Checkpoint:
    return Checkpoint(tiny_model, tokenizer, ["a", "b", "c"], {})


def pooled_by(ckpt: Checkpoint, pooling: str) -> Checkpoint:
    """The same weights, pooling by [CLS] or by the mean of the real tokens."""
    model = TransformerClassifier(dataclasses.replace(ckpt.model.cfg, pooling=pooling))
    model.load_state_dict(ckpt.model.state_dict())
    return Checkpoint(model.eval(), ckpt.tokenizer, ckpt.label_names, {})


# ---- head ablation -------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(heads=st.sets(st.tuples(st.integers(0, 1), st.integers(0, 3)), max_size=8))
def test_switching_heads_off_equals_zeroing_their_columns_of_w_o(heads, tiny_model, tokenizer):
    # (the model is only read: sharing it between examples is safe)
    ids, mask, _ = tokenizer.batch(SENTENCES, tiny_model.cfg.max_len)
    ablation = Ablation.of(2, 4, heads)
    ablated = tiny_model(ids, mask, ablation=ablation)
    reference = with_head_zeroed(tiny_model, heads)(ids, mask)
    torch.testing.assert_close(ablated, reference, rtol=1e-5, atol=1e-6)
    if heads:  # and it is not the unablated model
        assert not torch.allclose(ablated, tiny_model(ids, mask), atol=1e-6)


def test_mean_ablation_equals_folding_the_mean_into_w_o_bias(tiny_model, labelled, tokenizer):
    means = head_means(tiny_model, labelled)
    assert means.shape == (2, 4, tiny_model.cfg.d_head)
    # the mean really is the average of the head's output over the real tokens
    ids, mask, _ = labelled.batch(torch.arange(len(labelled)), torch.device("cpu"))
    _, trace = tiny_model(ids, mask, return_trace=True)
    output = trace.layers[1].attention.output[:, 2]  # (B, T, Dh) layer 1, head 2
    torch.testing.assert_close(means[1, 2], output[mask.bool()].mean(dim=0), rtol=1e-5, atol=1e-6)
    heads = [(0, 1), (1, 2)]
    ablated = tiny_model(ids, mask, ablation=Ablation.of(2, 4, heads, means))
    torch.testing.assert_close(ablated, with_head_zeroed(tiny_model, heads, means)(ids, mask), rtol=1e-5, atol=1e-5)


def test_head_importance_and_pruning_against_evaluating_zeroed_models(tiny_model, labelled):
    importance = head_importance(tiny_model, labelled)
    loss, accuracy, _ = evaluate(tiny_model, labelled, torch.device("cpu"))
    assert importance.baseline_accuracy == pytest.approx(accuracy)
    assert importance.baseline_loss == pytest.approx(loss, rel=1e-5)
    assert [(e.layer, e.head) for e in importance.heads] == [(layer, h) for layer in range(2) for h in range(4)]
    for e in importance.heads:
        ref_loss, ref_accuracy, _ = evaluate(with_head_zeroed(tiny_model, [(e.layer, e.head)]), labelled, "cpu")
        assert e.accuracy == pytest.approx(ref_accuracy)
        assert e.loss == pytest.approx(ref_loss, rel=1e-5)
    change = importance.change("loss")
    assert change[1, 3] == pytest.approx(importance.heads[7].loss - loss, rel=1e-5)

    curve = prune_curve(tiny_model, labelled, importance)
    order = importance.least_important_first()
    assert [(e.layer, e.head) for e in curve] == order and len(set(order)) == 8
    for i in (0, 3, 7):  # i + 1 heads off, the least important first
        ref_loss, ref_accuracy, _ = evaluate(with_head_zeroed(tiny_model, order[: i + 1]), labelled, "cpu")
        assert curve[i].accuracy == pytest.approx(ref_accuracy)
        assert curve[i].loss == pytest.approx(ref_loss, rel=1e-5)
    costs = [e.loss - loss for e in importance.heads]
    assert sorted(costs) == [costs[4 * layer + h] for layer, h in order]


def test_sentence_head_effects_are_the_drop_of_the_predicted_class(ckpt):
    target, effects = sentence_head_effects(ckpt, "the soup was cold and bland")
    before = explain(ckpt, "the soup was cold and bland").probabilities
    assert target == max(range(3), key=before.__getitem__)
    for layer, head in [(0, 2), (1, 1)]:
        after = ablated_probabilities(ckpt, "the soup was cold and bland", [(layer, head)])
        assert float(effects[layer, head]) == pytest.approx(before[target] - after[target], abs=1e-6)
    assert effects.abs().sum() > 0


def test_evaluate_ablated_gives_each_sentence_its_own_prediction(tiny_model, labelled, ckpt):
    heads = [(0, 0), (1, 3)]
    _, _, predicted = evaluate_ablated(tiny_model, labelled, Ablation.of(2, 4, heads))
    reference = with_head_zeroed(tiny_model, heads)
    for i in (0, 3, 7):
        probabilities = ablated_probabilities(ckpt, SENTENCES[i], heads)
        ids, mask, _ = ckpt.tokenizer.batch([SENTENCES[i]], tiny_model.cfg.max_len)
        expected = torch.softmax(reference(ids, mask)[0], -1)
        torch.testing.assert_close(torch.tensor(probabilities), expected, rtol=1e-5, atol=1e-6)
        assert int(predicted[i]) == int(expected.argmax())


# ---- attribution, rollout, readout ---------------------------------------------------------------


@pytest.mark.parametrize("sentence", ["I love this movie!", "She doesn't like this book.", "服务很差，但是菜很好吃。"])
def test_integrated_gradients_are_complete(ckpt, sentence):
    result = explain(ckpt, sentence)
    difference = result.logit - result.ig_baseline_logit
    assert abs(sum(result.integrated_gradients) - difference) <= 0.01 * abs(difference) + 1e-5
    assert result.integrated_gradients[0] == 0.0  # [CLS] is the same in the baseline
    # the baseline logit is the model's on the sentence with every word [UNK]
    model, tokenizer = ckpt.model, ckpt.tokenizer
    ids, mask, _ = tokenizer.batch([sentence], model.cfg.max_len)
    unknown = ids.clone()
    unknown[:, 1:] = tokenizer.unk_id
    assert result.ig_baseline_logit == pytest.approx(
        float(model(unknown, mask)[0, result.target_index].detach()), abs=1e-5
    )
    assert result.logit == pytest.approx(float(model(ids, mask)[0].max().detach()), abs=1e-6)
    assert len(result.integrated_gradients) == len(result.tokens) == len(result.gradient_x_input)


def test_the_bundled_models_attributions_are_complete_where_the_path_is_steep():
    # "She doesn't like this book." once needed thousands of gradients on a fixed grid (model/explain.py)
    for path, sentence in [
        ("assets/checkpoint", "She doesn't like this book."),
        ("assets/checkpoint_zh", "她不喜欢这本书。"),
    ]:
        result = explain(checkpoint.load(ROOT / path), sentence)
        difference = result.logit - result.ig_baseline_logit
        assert result.ig_error <= 0.01 * abs(difference)


def test_gradient_x_input_is_the_gradient_of_the_logit_times_the_token_vectors(ckpt):
    result = explain(ckpt, "good but far too long")
    model = ckpt.model
    ids, mask, _ = ckpt.tokenizer.batch(["good but far too long"], model.cfg.max_len)
    vectors = model.token_vectors(ids).detach().requires_grad_()
    logit = model(ids, mask, token_vectors=vectors)[0, result.target_index]
    (gradient,) = torch.autograd.grad(logit, vectors)
    expected = (gradient * vectors).sum(-1)[0]
    torch.testing.assert_close(torch.tensor(result.gradient_x_input), expected.detach(), rtol=1e-4, atol=1e-6)


def hand_rollout(weights: list[list[list[list[float]]]]) -> list[list[float]]:
    """Abnar & Zuidema's rollout with plain Python lists: weights[layer][head][i][j]."""
    T = len(weights[0][0])
    rollout = [[1.0 if i == j else 0.0 for j in range(T)] for i in range(T)]
    for layer in weights:
        H = len(layer)
        a = [
            [0.5 * sum(layer[h][i][j] for h in range(H)) / H + (0.5 if i == j else 0.0) for j in range(T)]
            for i in range(T)
        ]
        a = [[v / sum(row) for v in row] for row in a]
        rollout = [[sum(a[i][k] * rollout[k][j] for k in range(T)) for j in range(T)] for i in range(T)]
    return rollout


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_attention_rollout_against_a_hand_computation(ckpt, pooling):
    ckpt = pooled_by(ckpt, pooling)
    result = explain(ckpt, "the soup was cold and bland")
    ids, mask, _ = ckpt.tokenizer.batch(["the soup was cold and bland"], ckpt.model.cfg.max_len)
    _, trace = ckpt.model(ids, mask, return_trace=True)
    rollout = hand_rollout([layer.attention.weights[0].tolist() for layer in trace.layers])
    T = len(rollout)
    expected = rollout[0] if pooling == "cls" else [sum(rollout[i][j] for i in range(T)) / T for j in range(T)]
    assert result.attention_rollout == pytest.approx(expected, abs=1e-5)
    assert sum(result.attention_rollout) == pytest.approx(1.0, abs=1e-5)
    assert result.pooling == pooling


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_the_last_layer_readout_is_the_models_prediction_exactly(ckpt, pooling):
    ckpt = pooled_by(ckpt, pooling)
    ids, mask, _ = ckpt.tokenizer.batch(["What a wonderful film"], ckpt.model.cfg.max_len)
    logits, trace = ckpt.model(ids, mask, return_trace=True)
    readout = layer_readout(ckpt.model, trace, mask.bool())
    assert readout.shape == (3, 3)
    assert torch.equal(readout[-1], torch.softmax(logits[0], -1))
    # row 0 reads the embedding: final LayerNorm, pooling and head applied by hand
    x = ckpt.model.ln_f(trace.embedding[0])
    pooled = x[0] if pooling == "cls" else x.mean(0)
    torch.testing.assert_close(readout[0], torch.softmax(ckpt.model.head(pooled), -1), rtol=1e-5, atol=1e-6)
    assert explain(ckpt, "What a wonderful film").layer_readout[-1] == pytest.approx(readout[-1].tolist(), abs=1e-7)


def test_spearman_against_scipy():
    from scipy.stats import spearmanr

    a, b = [0.1, 0.5, 0.5, 2.0, -1.0], [3.0, 1.0, 2.0, 2.0, 0.0]
    assert spearman(a, b) == pytest.approx(spearmanr(a, b).statistic)
    assert spearman([1, 2], [2, 1]) is None and spearman([1, 1, 1], [1, 2, 3]) is None


def test_an_empty_sentence_is_a_clear_error(ckpt):
    with pytest.raises(InputError):
        explain(ckpt, "   ")
    with pytest.raises(InputError):
        ablated_probabilities(ckpt, "", [(0, 0)])


# ---- sentence vectors --------------------------------------------------------------------------


def test_no_sentences_give_no_vectors(ckpt):
    """(An uploaded or shared model has no probe sentences: an empty list once crashed the Why page.)"""
    vectors, predicted = pooled_vectors(ckpt.model, ckpt.tokenizer, [])
    assert vectors.shape == (0, ckpt.model.cfg.d_model) and predicted.shape == (0,)


def test_pooled_vectors_and_their_projection(ckpt):
    vectors, predicted = pooled_vectors(ckpt.model, ckpt.tokenizer, SENTENCES)
    ids, mask, _ = ckpt.tokenizer.batch(SENTENCES, ckpt.model.cfg.max_len)
    logits, trace = ckpt.model(ids, mask, return_trace=True)
    torch.testing.assert_close(vectors, trace.pooled, rtol=1e-5, atol=1e-6)
    assert predicted.tolist() == logits.argmax(-1).tolist()

    from sklearn.decomposition import PCA

    xy, extra_xy, explained = project(vectors, vectors[:2])
    pca = PCA(n_components=2).fit(vectors.double().numpy())
    assert explained == pytest.approx(tuple(pca.explained_variance_ratio_))
    reference = torch.from_numpy(pca.transform(vectors.double().numpy())).float()
    torch.testing.assert_close(xy.abs(), reference.abs(), rtol=1e-4, atol=1e-4)  # up to each axis's sign
    torch.testing.assert_close(extra_xy, xy[:2], rtol=1e-4, atol=1e-4)  # placed on the same axes
    flipped, _, _ = project(vectors, previous=-xy)
    torch.testing.assert_close(flipped, -xy, rtol=1e-4, atol=1e-4)  # each axis agrees with the frame before


def test_projection_frames_one_per_snapshot_with_each_frames_typed_sentence(ckpt):
    vectors, predicted = pooled_vectors(ckpt.model, ckpt.tokenizer, SENTENCES)
    snapshots = [
        SimpleNamespace(step=s, pooled=(vectors * (1 + s)).tolist(), predicted=predicted.tolist(), probe_pooled=[])
        for s in (0, 5, 10)
    ]
    typed = [vectors[:1] * 1, None, vectors[:1] * 11]  # the first sentence as each snapshot's model places it
    frames = projection_frames(snapshots, extra=typed)
    assert [f.step for f in frames] == [0, 5, 10]
    assert [len(f.extra_xy) for f in frames] == [1, 0, 1]  # none where the snapshot kept no weights
    for k in (0, 2):
        torch.testing.assert_close(frames[k].extra_xy[0], frames[k].xy[0], rtol=1e-4, atol=1e-3)


def test_snapshot_vectors_place_a_sentence_by_the_model_as_it_was_at_each_snapshot(ckpt, tokenizer):
    """A sentence typed after training, placed by each snapshot's kept weights: the same vector the model
    gave it at that step (within float16 rounding of the weights), and not the vector of the final model."""
    from model.explain import snapshot_vectors
    from model.trainer import snapshot

    model, sentence = ckpt.model, "the film was good"
    snaps, then = [], []
    for step in (0, 1, 2):
        with torch.no_grad():  # a step of "training": every weight moves
            for p in model.parameters():
                p.add_(0.2 * torch.randn_like(p))
        snaps.append(snapshot(model, tokenizer, ["a probe"], step, "cpu"))
        then.append(pooled_vectors(model, tokenizer, [sentence])[0])
    assert all(v.dtype == torch.float16 for v in snaps[0].state.values() if v.is_floating_point())
    placed = snapshot_vectors(model, tokenizer, snaps + [SimpleNamespace(step=3)], [sentence])
    assert placed[-1] is None  # a snapshot that kept no weights
    for got, expected in zip(placed, then):
        torch.testing.assert_close(got, expected, rtol=0, atol=2e-2)
    assert (placed[0] - then[-1]).abs().max() > 0.1  # each frame's own model, not the last one
    torch.testing.assert_close(pooled_vectors(model, tokenizer, [sentence])[0], then[-1])  # model left as it was


# ---- the command line ------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m model ARGS`` in this process (a new interpreter costs seconds of imports), its
    exit status and both streams captured as a subprocess run would give them."""
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    from model.cli import main

    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("always")  # a library warning would reach the console: it must not be there
        warnings.showwarning = lambda message, category, *_: err.write(f"{category.__name__}: {message}\n")
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own exit
            code = exc.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    from model.config import ModelConfig
    from model.tokenizer import Tokenizer

    torch.manual_seed(1)
    tokenizer = Tokenizer.train(TEXTS, vocab_size=300)
    cfg = ModelConfig(vocab_size=tokenizer.vocab_size, n_classes=2, d_model=16, n_heads=2, n_layers=2, d_ff=32)
    model = TransformerClassifier(cfg).eval()
    folder = tmp_path_factory.mktemp("ckpt")
    checkpoint.save(folder / "model", Checkpoint(model, tokenizer, ["negative", "positive"], {}))
    rows = "\n".join(json.dumps({"text": t, "label": ["negative", "positive"][i % 2]}) for i, t in enumerate(SENTENCES))
    (folder / "valid.jsonl").write_text(rows + "\n")
    return folder


def test_cli_ablate_prints_every_head(saved):
    done = run_cli("ablate", str(saved / "model"), "--data", str(saved / "valid.jsonl"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    ckpt = checkpoint.load(saved / "model")
    data = EncodedSet.build(
        Dataset(SENTENCES, [i % 2 for i in range(len(SENTENCES))], ["negative", "positive"]), ckpt.tokenizer, 64
    )
    importance = head_importance(ckpt.model, data)
    assert result["baseline_accuracy"] == pytest.approx(importance.baseline_accuracy, abs=1e-6)
    assert [(h["layer"], h["head"]) for h in result["heads"]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [h["accuracy"] for h in result["heads"]] == pytest.approx([e.accuracy for e in importance.heads], abs=1e-6)
    assert [h["loss"] for h in result["heads"]] == pytest.approx([e.loss for e in importance.heads], abs=1e-6)
    assert len(result["prune"]) == 4
    mean = run_cli("ablate", str(saved / "model"), "--data", str(saved / "valid.jsonl"), "--mean", "--json")
    assert json.loads(mean.stdout.strip().splitlines()[-1])["replacement"] == "mean"


def test_cli_explain_prints_one_value_per_token(saved):
    done = run_cli("explain", str(saved / "model"), "good but far too long", "--json")
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    n = len(result["tokens"])
    for key in ("gradient_x_input", "integrated_gradients", "attention_rollout"):
        assert len(result[key]) == n
    difference = result["logit"] - result["ig_baseline_logit"]
    assert abs(sum(result["integrated_gradients"]) - difference) <= 0.01 * abs(difference) + 1e-4
    assert result["predicted"] == ["negative", "positive"][result["target_index"]]
    assert [r["layer"] for r in result["layer_readout"]] == [0, 1, 2]
    assert result["layer_readout"][-1]["probabilities"] == result["probabilities"]
    text = run_cli("explain", str(saved / "model"), "good but far too long")
    assert "integrated gradients sum" in text.stdout and text.returncode == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["explain", "{ckpt}", "  "], "the sentence is empty"),
        (["explain", "{dir}/nowhere", "hello"], "error:"),
        (["ablate", "{ckpt}", "--data", "{dir}/nowhere.csv"], "error:"),
    ],
)
def test_cli_bad_input_is_one_clear_line(saved, args, message):
    args = [a.format(ckpt=saved / "model", dir=saved) for a in args]
    done = run_cli(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
