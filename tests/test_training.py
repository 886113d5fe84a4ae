"""The trainer learns, is deterministic, obeys pause/stop, and survives divergence."""

import math
import threading
import time

import pytest
import torch

from model.checkpoint import Checkpoint
from model.config import ModelConfig, TrainConfig, preset, with_vocab
from model.data import Dataset, load_builtin
from model.inspect import inspect_sentence
from model.tokenizer import Tokenizer
from model.trainer import TrainingControl, lr_at, train
from model.transformer import TransformerClassifier
from tests.conftest import TEXTS


def _setup(name="colour", **overrides):
    ds = load_builtin(name)
    model_cfg, train_cfg = preset("tiny", **overrides)
    tok = Tokenizer.train(ds.train.texts, train_cfg.vocab_size)
    torch.manual_seed(train_cfg.seed)
    model = TransformerClassifier(with_vocab(model_cfg, tok.vocab_size, len(ds.train.label_names)))
    return ds, tok, model, train_cfg


@pytest.mark.slow
def test_tiny_learns_the_colour_task_and_attends_to_the_colour_word():
    ds, tok, model, cfg = _setup("colour")
    records = list(train(model, tok, ds.train, ds.valid, cfg))
    done = records[-1]
    assert done.kind == "done" and done.reason == "finished"
    assert done.valid_accuracy >= 0.95
    ckpt = Checkpoint(model, tok, ds.train.label_names)
    colours = set(ds.info["deciding_words"])
    with_colour = [t for t, y in zip(ds.valid.texts, ds.valid.labels) if ds.valid.label_names[y] == "colour"]
    hits = 0
    for text in with_colour[:100]:
        ins = inspect_sentence(ckpt, text)
        argmaxes = {
            ins.tokens[int(lt.attention.weights[0, h, 0].argmax())]
            for lt in ins.trace.layers
            for h in range(lt.attention.q.shape[1])
        }
        hits += bool(argmaxes & colours)
    assert hits >= 95, f"the colour word got the largest [CLS] attention in a head for only {hits}/100"


def _small(tokenizer, n_layers=2, seed=0):
    """64 sentences and a model of d_model 16: a run of a few epochs takes well under a second."""
    data = Dataset(TEXTS + TEXTS[:14], [i % 2 for i in range(64)], ["a", "b"])
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=tokenizer.vocab_size, d_model=16, n_heads=2, n_layers=n_layers, d_ff=32, max_len=24)
    return data, TransformerClassifier(cfg)


def test_records_stream_in_order_with_the_promised_fields(tokenizer):
    data, model = _small(tokenizer)
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu", eval_every=3, snapshot_every=5)
    records = list(train(model, tokenizer, data, data, cfg, probe_sentences=["was not good", "was bad"]))
    steps = [r for r in records if r.kind == "step"]
    evals = [r for r in records if r.kind == "eval"]
    snaps = [r for r in records if r.kind == "snapshot"]
    assert [r.step for r in steps] == list(range(1, len(steps) + 1)) and len(steps) == 8
    assert all(r.loss > 0 and r.lr > 0 and r.samples_per_second > 0 for r in steps)
    assert [e.step for e in evals] == [3, 6, 8]
    assert [s.step for s in snaps] == [0, 5, 8]
    assert all(s.sentences == ["was not good", "was bad"] for s in snaps)  # as typed, for the Attention page's menu
    assert snaps[0].tokens[0][:4] == ["[CLS]", "was", "not", "good"]
    w = snaps[-1].weights[0]  # first probe: layer -> head -> T x T
    assert len(w) == 2 and len(w[0]) == 2 and len(w[0][0]) == 4
    assert all(abs(sum(row) - 1) < 1e-5 for row in w[1][1])
    assert records[-1].kind == "done" and records[-1].steps == 8
    # the schedule's values, step by step (its warm-up and decay: test_learning_rate_schedule)
    assert [r.lr for r in steps] == pytest.approx([lr_at(r.step / 8, cfg) for r in steps])


def test_training_is_deterministic_on_cpu(tokenizer):
    def run(seed):
        data, model = _small(tokenizer, seed=seed)
        cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", seed=seed)
        losses = [r.loss for r in train(model, tokenizer, data, data, cfg) if r.kind == "step"]
        return losses, model.state_dict()

    (a, sa), (b, sb) = run(0), run(0)
    assert a == b and len(a) == 16
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert run(1)[0] != a


def test_pause_resume_and_stop_from_another_thread():
    ds, tok, model, cfg = _setup("colour", epochs=50)
    control = TrainingControl()
    seen = []

    def consume():
        for r in train(model, tok, ds.train, ds.valid, cfg, control=control):
            seen.append(r)

    worker = threading.Thread(target=consume)
    worker.start()
    while not any(r.kind == "step" for r in seen):
        time.sleep(0.01)
    control.pause()
    time.sleep(0.2)
    n_paused = len(seen)
    time.sleep(0.5)
    assert len(seen) == n_paused, "records kept coming while paused"
    control.resume()
    time.sleep(0.3)
    assert len(seen) > n_paused
    control.stop()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert seen[-1].kind == "done" and seen[-1].reason == "stopped"
    assert seen[-1].steps < 50 * 63


def test_step_while_paused_takes_exactly_that_many_steps():
    ds, tok, model, cfg = _setup("colour", epochs=50)
    control = TrainingControl()
    control.step()  # not paused: nothing to grant, nothing stored for later
    control.pause()  # paused before the first step
    steps = []
    worker = threading.Thread(
        target=lambda: steps.extend(
            r.step for r in train(model, tok, ds.train, ds.valid, cfg, control=control) if r.kind == "step"
        )
    )
    worker.start()

    def settle(expected: int) -> None:
        deadline = time.time() + 20
        while len(steps) < expected and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # and no more come
        assert steps == list(range(1, expected + 1))

    settle(0)
    control.step()
    settle(1)
    control.step(3)
    settle(4)
    control.resume()  # running again: steps no longer counted
    deadline = time.time() + 20
    while len(steps) < 10 and time.time() < deadline:
        time.sleep(0.01)
    control.pause()
    control.step(2)
    control.stop()  # a stop ends the run at once, granted steps or not
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(steps) >= 10 and steps == list(range(1, len(steps) + 1))


def test_time_budget_ends_training():
    ds, tok, model, cfg = _setup("colour", epochs=1000, time_budget=1.0)
    t0 = time.perf_counter()
    done = list(train(model, tok, ds.train, ds.valid, cfg))[-1]
    assert done.reason == "time budget"
    assert time.perf_counter() - t0 < 10


def test_divergence_stops_with_a_reason_and_keeps_the_last_good_weights():
    ds, tok, model, cfg = _setup("colour", lr=10.0, warmup=0.0, grad_clip=0.0, eval_every=5)
    records = list(train(model, tok, ds.train, ds.valid, cfg))
    done = records[-1]
    assert done.reason.startswith("diverged"), done.reason
    assert "smaller learning rate" in done.reason
    # and as a code with its values, for a page to say in its own language
    assert done.divergence["code"] in ("loss_not_finite", "loss_rose", "gradient_not_finite")
    assert f"at step {done.divergence['step']}" in done.reason
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert math.isfinite(done.valid_loss) and done.valid_loss < 3 * math.log(2) + 5


def test_learning_rate_schedule():
    cfg = TrainConfig(lr=1.0, warmup=0.1)
    assert lr_at(0.0, cfg) == 0 and lr_at(0.05, cfg) == pytest.approx(0.5)
    assert lr_at(0.1, cfg) == pytest.approx(1.0) and lr_at(1.0, cfg) == pytest.approx(0.1)
    assert lr_at(0.5, cfg) > lr_at(0.9, cfg)


def test_forcing_a_missing_device_is_a_clear_error():
    from model.trainer import pick_device

    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            pick_device("cuda")
    assert pick_device("cpu").type == "cpu"


def test_word_dropout_hides_real_tokens_only_and_at_its_rate():
    from model.trainer import drop_words

    torch.manual_seed(0)
    ids = torch.randint(3, 100, (400, 30))
    ids[:, 0] = 2  # [CLS]
    mask = torch.ones_like(ids)
    mask[:, 20:] = 0  # padding
    ids[:, 20:] = 0
    dropped = drop_words(ids, mask, 0.25, unk_id=1)
    assert torch.equal(ids[:, 20:], dropped[:, 20:]) and torch.equal(dropped[:, 0], ids[:, 0])  # padding, [CLS]
    hidden = dropped[:, 1:20] == 1
    assert 0.22 < hidden.float().mean() < 0.28
    assert torch.equal(dropped[~(dropped == 1)], ids[~(dropped == 1)])  # the rest unchanged
    assert torch.equal(drop_words(ids, mask, 0.0, unk_id=1), ids)


def test_label_smoothing_is_the_promised_mixture_of_targets():
    from model.transformer import cross_entropy

    logits, labels = torch.tensor([[2.0, -1.0, 0.5]]), torch.tensor([0])
    logp = torch.log_softmax(logits, -1)[0]
    eps = 0.1
    expected = -((1 - eps) * logp[0] + eps / 3 * logp.sum())
    assert torch.isclose(cross_entropy(logits, labels, eps), expected)
    assert torch.isclose(cross_entropy(logits, labels), -logp[0])


def test_word_dropout_and_label_smoothing_keep_training_deterministic(tokenizer):
    cfg = TrainConfig(epochs=2, batch_size=8, seed=3, device="cpu", word_dropout=0.2, label_smoothing=0.1)
    data = Dataset(list(TEXTS[:40]), [i % 2 for i in range(40)], ["a", "b"])
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = TransformerClassifier(
            ModelConfig(vocab_size=tokenizer.vocab_size, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=24)
        )
        runs.append([r.loss for r in train(model, tokenizer, data, data, cfg) if r.kind == "step"])
    assert runs[0] == runs[1] and len(runs[0]) == 10
