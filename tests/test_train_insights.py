"""Training opened up (issue 19, part 5): each number of the Train page's "Inside the training" and of
the word-order test against an independent computation.

The update ratio is checked against the parameters as they are before and after each step seen from
outside the trainer, the gradient norms against torch's own norms of the gradients it leaves behind,
the epochs against the steps' losses and an evaluate() of the weights at that moment, the snapshots'
sentence vectors against a traced forward of each sentence alone.
"""

from __future__ import annotations

import json
import math
import time

import altair as alt
import pytest
import torch
from streamlit import dataframe_util

from figures import (
    UPDATE_RATIO_REFERENCE,
    epoch_table,
    part_chart,
    part_data,
    positional_heatmap,
    schedule_chart,
    schedule_data,
)
from model.checkpoint import Checkpoint
from model.config import ModelConfig, TrainConfig
from model.data import Dataset, load_builtin
from model.inspect import inspect_sentence, positional_table, word_order
from model.trainer import (
    PROJECTION_ROWS,
    EncodedSet,
    TrainingControl,
    evaluate,
    parameter_groups,
    projection_rows,
    train,
)
from model.transformer import TransformerClassifier
from tests.conftest import ROOT, TEXTS, new_app, train_page

CPU = torch.device("cpu")


def _data(n: int = 64, offset: int = 0) -> Dataset:
    texts = (TEXTS * 3)[offset : offset + n]
    return Dataset(texts, [(i + offset) % 2 for i in range(n)], ["a", "b"])


def _model(tokenizer, seed: int = 0, **kw) -> TransformerClassifier:
    torch.manual_seed(seed)
    sizes = dict(d_model=16, n_heads=2, n_layers=2, d_ff=32, max_len=24, n_classes=2)
    return TransformerClassifier(ModelConfig(vocab_size=tokenizer.vocab_size, **{**sizes, **kw}))


def _part_of(name: str) -> str:
    """The part a parameter belongs to, by its name: written here apart from the trainer's own grouping."""
    if name.startswith("blocks."):
        return f"layer_{int(name.split('.')[1]) + 1}"
    return "embedding" if name.startswith(("token_embedding", "position_embedding")) else "output"


def _by_part(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each part's tensors flattened into one vector."""
    parts: dict[str, list[torch.Tensor]] = {}
    for name, t in tensors.items():
        parts.setdefault(_part_of(name), []).append(t.detach().flatten().double())
    return {part: torch.cat(ts) for part, ts in parts.items()}


def test_the_parts_are_the_embeddings_each_layer_and_the_output(tokenizer):
    model = _model(tokenizer, n_layers=3)
    groups = parameter_groups(model)
    assert list(groups) == ["embedding", "layer_1", "layer_2", "layer_3", "output"]
    named = {id(p): name for name, p in model.named_parameters()}
    assert {named[id(p)] for p in groups["embedding"]} == {"token_embedding.weight", "position_embedding.weight"}
    assert {named[id(p)] for p in groups["output"]} == {"ln_f.weight", "ln_f.bias", "head.weight", "head.bias"}
    assert all(named[id(p)].startswith("blocks.1.") for p in groups["layer_2"])
    assert sum(len(ps) for ps in groups.values()) == len(named)  # every parameter in exactly one part
    sinusoidal = parameter_groups(_model(tokenizer, positional="sinusoidal"))
    assert len(sinusoidal["embedding"]) == 1  # a fixed table is no parameter


def test_update_ratios_are_the_optimizers_actual_step_part_by_part(tokenizer):
    model = _model(tokenizer)
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", lr=3e-3)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    checked = 0
    for record in train(model, tokenizer, _data(), _data(32, 5), cfg, diagnostics_every=1):
        if record.kind == "step":
            after = {name: p.detach().clone() for name, p in model.named_parameters()}
            old, new = _by_part(before), _by_part(after)
            expected = {part: float((new[part] - old[part]).norm() / old[part].norm()) for part in old}
            before = after
        elif record.kind == "diagnostics":
            assert record.update_ratios.keys() == expected.keys()
            for part, ratio in record.update_ratios.items():
                assert ratio == pytest.approx(expected[part], rel=1e-4), (record.step, part)
            checked += 1
    assert checked == 16  # every step of two epochs of 8 batches
    assert all(v > 0 for v in expected.values())


def test_gradient_norms_are_torchs_norms_of_each_parts_gradients_before_clipping(tokenizer):
    for clip in (0.0, 1e-3):  # unclipped, and clipped hard: the record keeps the norms from before clipping
        model = _model(tokenizer, seed=1)
        cfg = TrainConfig(epochs=1, batch_size=8, device="cpu", grad_clip=clip)
        steps = 0
        for record in train(model, tokenizer, _data(), _data(32, 5), cfg, diagnostics_every=3):
            if record.kind != "diagnostics":
                continue
            steps += 1
            # what the step left behind: this step's gradients, after clipping when clipping is on
            grads = _by_part({name: p.grad for name, p in model.named_parameters()})
            left = {part: float(g.norm()) for part, g in grads.items()}
            total = math.sqrt(sum(v**2 for v in record.grad_norms.values()))
            scale = clip / (total + 1e-6) if 0 < clip < total else 1.0
            assert total > 10 * clip  # so the clipped case really was clipped
            for part, norm in record.grad_norms.items():
                assert norm * scale == pytest.approx(left[part], rel=1e-4), (clip, record.step, part)
        assert steps == 3  # the first step, then every 3rd: 1, 3 and 6 of 8


def test_diagnostics_come_every_k_steps_after_their_step_and_can_be_switched_off(tokenizer):
    cfg = TrainConfig(epochs=1, batch_size=8, device="cpu")
    records = list(train(_model(tokenizer), tokenizer, _data(), _data(32, 5), cfg, diagnostics_every=3))
    kinds = [(r.kind, getattr(r, "step", None)) for r in records]
    diagnostics = [r.step for r in records if r.kind == "diagnostics"]
    assert diagnostics == [1, 3, 6]
    for step in diagnostics:  # right after the step they describe
        assert kinds[kinds.index(("diagnostics", step)) - 1] == ("step", step)
    off = list(train(_model(tokenizer), tokenizer, _data(), _data(32, 5), cfg, diagnostics_every=0))
    assert not [r for r in off if r.kind == "diagnostics"]
    default = list(train(_model(tokenizer), tokenizer, _data(), _data(32, 5), cfg))
    # 8 steps: the first, then every DIAGNOSTICS_MIN_EVERY (5) steps, never every step
    assert [r.step for r in default if r.kind == "diagnostics"] == [1, 5]


def _epochs_with_checks(tokenizer, cfg, control=None, stop_after=None):
    """Train, checking each EpochRecord as it comes against the steps and an evaluate() of the weights then."""
    model = _model(tokenizer, seed=2)
    valid = _data(40, 7)
    valid_data = EncodedSet.build(valid, tokenizer, model.cfg.max_len)
    losses: dict[int, list[float]] = {}
    epochs, records = [], []
    for record in train(model, tokenizer, _data(), valid, cfg, control):
        records.append(record)
        if record.kind == "step":
            losses.setdefault(math.ceil(record.epoch - 1e-9), []).append(record.loss)
            if record.step == stop_after:
                control.stop()
        elif record.kind == "epoch":
            valid_loss, valid_accuracy, _ = evaluate(model, valid_data, CPU)
            assert record.train_loss == pytest.approx(sum(losses[record.epoch]) / len(losses[record.epoch]), abs=1e-9)
            assert (record.valid_loss, record.valid_accuracy) == pytest.approx((valid_loss, valid_accuracy), abs=1e-6)
            epochs.append(record)
    return epochs, records


def test_each_epoch_is_its_mean_step_loss_and_an_evaluation_of_its_end(tokenizer):
    # 8 steps an epoch, an evaluation every 3: the epoch's end (8, 16, 24) is no multiple of 3
    cfg = TrainConfig(epochs=3, batch_size=8, device="cpu", eval_every=3)
    epochs, records = _epochs_with_checks(tokenizer, cfg)
    assert [(e.epoch, e.complete) for e in epochs] == [(1, True), (2, True), (3, True)]
    assert len({round(e.train_loss, 9) for e in epochs}) == 3  # each its own epoch's steps
    evals = [r.step for r in records if r.kind == "eval"]
    assert evals == [3, 6, 8, 9, 12, 15, 16, 18, 21, 24]  # the epoch ends evaluated, and each step once
    # the epoch's end reuses the evaluation of that step: its EvalRecord and its EpochRecord agree
    at_end = {r.step: r for r in records if r.kind == "eval"}
    assert all(at_end[8 * e.epoch].valid_loss == e.valid_loss for e in epochs)
    assert records[-1].valid_loss == epochs[-1].valid_loss  # and the final figures are the last epoch's


def test_an_evaluation_due_at_an_epochs_end_is_not_run_twice(tokenizer):
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", eval_every=4)
    epochs, records = _epochs_with_checks(tokenizer, cfg)
    assert [r.step for r in records if r.kind == "eval"] == [4, 8, 12, 16]
    assert len(epochs) == 2
    # by default four evaluations an epoch, at its quarters: 11 steps an epoch, the last is its end
    epochs, records = _epochs_with_checks(tokenizer, TrainConfig(epochs=2, batch_size=6, device="cpu"))
    assert [r.step for r in records if r.kind == "eval"] == [3, 6, 9, 11, 14, 17, 20, 22]
    assert len(epochs) == 2


def test_a_stopped_run_ends_with_its_partial_epoch(tokenizer):
    cfg = TrainConfig(epochs=5, batch_size=8, device="cpu", eval_every=100)
    control = TrainingControl()
    epochs, records = _epochs_with_checks(tokenizer, cfg, control, stop_after=11)
    assert [(e.epoch, e.complete) for e in epochs] == [(1, True), (2, False)]  # steps 9, 10 and 11 of epoch 2
    done = records[-1]
    assert done.reason == "stopped" and done.steps == 11
    assert (epochs[-1].valid_loss, epochs[-1].valid_accuracy) == (done.valid_loss, done.valid_accuracy)
    # stopped just as an epoch ended: no empty partial epoch after it
    epochs, records = _epochs_with_checks(tokenizer, cfg, TrainingControl(), stop_after=8)
    assert [(e.epoch, e.complete) for e in epochs] == [(1, True)] and records[-1].steps == 8


def test_a_diverged_run_keeps_its_complete_epochs_and_no_record_of_the_one_rolled_back():
    ds = load_builtin("colour")
    from model.config import preset, with_vocab
    from model.tokenizer import Tokenizer

    model_cfg, cfg = preset("tiny", lr=10.0, warmup=0.0, grad_clip=0.0, eval_every=5, epochs=3)
    tok = Tokenizer.train(ds.train.texts, cfg.vocab_size)
    torch.manual_seed(0)
    model = TransformerClassifier(with_vocab(model_cfg, tok.vocab_size, 2))
    records = list(train(model, tok, ds.train, ds.valid, cfg))
    done = records[-1]
    assert done.reason.startswith("diverged")
    diverged_in = math.ceil(done.divergence["step"] / 63)
    epochs = [r for r in records if r.kind == "epoch"]
    assert [e.epoch for e in epochs] == list(range(1, diverged_in)) and all(e.complete for e in epochs)


def test_projection_rows_are_every_row_or_an_even_spread():
    assert projection_rows(40) == list(range(40))
    rows = projection_rows(1000)
    assert len(rows) == PROJECTION_ROWS == 300 and rows == sorted(set(rows))
    assert rows[0] == 0 and rows[-1] >= 990 and max(b - a for a, b in zip(rows, rows[1:])) == 4


def test_snapshots_keep_the_pooled_vectors_the_classifier_reads(tokenizer):
    model = _model(tokenizer, seed=3, pooling="mean")
    valid = _data(50, 3)
    probes = ["was not good", "I love this movie!"]
    cfg = TrainConfig(epochs=2, batch_size=8, device="cpu", snapshot_every=5)
    ckpt = Checkpoint(model, tokenizer, ["a", "b"])
    snaps = []
    for record in train(model, tokenizer, _data(), valid, cfg, probe_sentences=probes):
        if record.kind != "snapshot":
            continue
        snaps.append(record.step)
        assert record.projection_rows == list(range(50))
        assert len(record.pooled) == len(record.predicted) == 50 and len(record.pooled[0]) == 16
        # each sentence alone, unpadded, through the traced forward: the weights of this very step
        for i in (0, 17, 49):
            alone = inspect_sentence(ckpt, valid.texts[record.projection_rows[i]])
            assert torch.allclose(record.pooled[i].float(), alone.trace.pooled[0], atol=4e-3), (record.step, i)
            assert record.predicted[i] == max(range(2), key=alone.probabilities.__getitem__)
        for i, probe in enumerate(probes):
            alone = inspect_sentence(ckpt, probe)
            assert torch.allclose(record.probe_pooled[i].float(), alone.trace.pooled[0], atol=4e-3)
            assert record.probe_pooled.dtype == torch.float16
    assert snaps == [0, 5, 10, 15, 16]  # the untrained model, every 5 steps, and the last


def test_positional_table_is_what_embed_adds(tokenizer):
    for positional in ("learned", "sinusoidal"):
        model = _model(tokenizer, positional=positional)
        table = positional_table(model)
        assert table.shape == (model.cfg.max_len, model.cfg.d_model)
        ids = torch.randint(5, tokenizer.vocab_size, (2, 11))
        added = model.embed(ids) - model.token_embedding(ids) * math.sqrt(model.cfg.d_model)
        assert torch.allclose(added, table[:11].expand(2, -1, -1), atol=1e-5), positional


def test_without_positions_word_order_changes_nothing(tokenizer):
    """The page's one sentence of explanation: without positions, attention reads a bag of words."""
    model = _model(tokenizer, seed=4, pooling="mean").eval()
    with torch.no_grad():  # positions on the token vectors' scale, as training makes them (init is 0.02)
        model.position_embedding.weight.normal_(std=1.0)
    ckpt = Checkpoint(model, tokenizer, ["a", "b"])

    def apart(test) -> float:  # how far apart the two sentence vectors the classifier reads are
        return float((test.first.trace.pooled - test.second.trace.pooled).abs().max())

    with_positions = word_order(ckpt, "not good", "good not")
    assert with_positions.same_tokens and apart(with_positions) > 0.05 and with_positions.largest_change > 0
    assert with_positions.first.probabilities == inspect_sentence(ckpt, "not good").probabilities
    with torch.no_grad():
        model.position_embedding.weight.zero_()
    without = word_order(ckpt, "not good", "good not")
    assert apart(without) < 1e-5 and without.largest_change < 1e-6
    assert not word_order(ckpt, "not good", "very good").same_tokens


# ---- the figures -------------------------------------------------------------------------------------
def test_inside_the_training_charts_are_valid_and_carry_the_records_numbers():
    rows = schedule_data([(i, 1e-3 * i / 500) for i in range(1, 1001)])
    assert len(rows) <= 301 and rows["step"].iloc[-1] == 1000 and all(rows["lr"] == 1e-3 * rows["step"] / 500)
    spec = schedule_chart({"lr_title": "学习率", "step": "步", "lr": "lr"})
    assert "data" not in spec and spec["title"]["text"] == "学习率"
    alt.Chart.from_dict({**spec, "data": {"values": rows.to_dict("records")}}, validate=True)

    names = {"embedding": "emb", "layer_1": "layer 0", "output": "out"}
    records = [(1, {"embedding": 0.5, "layer_1": 0.0, "output": float("nan")}), (3, {"embedding": 0.25, "output": 2.0})]
    data = part_data(records, names)
    assert data.values.tolist() == [[1, "emb", 0.5], [3, "emb", 0.25], [3, "out", 2.0]]  # a log axis: no 0, no NaN
    labels = {"title": "t", "step": "s", "value": "v", "reference": "rule of thumb"}
    grad = part_chart(labels, list(names.values()))
    update = part_chart(labels, list(names.values()), UPDATE_RATIO_REFERENCE)
    for spec in (grad, update):
        assert "data" not in spec and "data" not in spec["layer"][0]  # the page's rows reach the lines
        assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
        assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == ["emb", "layer 0", "out"]
        alt.LayerChart.from_dict({**spec, "data": {"values": data.to_dict("records")}}, validate=True)
    assert len(grad["layer"]) == 1 and len(update["layer"]) == 2
    rule = update["layer"][1]
    assert rule["mark"]["type"] == "rule" and rule["mark"]["strokeDash"] and rule["encoding"]["y"]["datum"] == 1e-3
    assert rule["data"] == {"values": [{"reference": "rule of thumb"}]}  # one rule, not one per row

    table = epoch_table(
        [(1, 0.69312, 0.5, 0.75, True), (2, 0.4, 0.45, 0.8125, False)],
        {"epoch": "轮次", "train_loss": "训练", "valid_loss": "验证", "valid_accuracy": "准确率", "partial": "未完成"},
    )
    assert table.values.tolist() == [["1", 0.6931, 0.5, "75.0%"], ["2 (未完成)", 0.4, 0.45, "81.2%"]]

    pe = torch.randn(6, 4)
    figure = positional_heatmap(pe, "position", "dimension")
    assert torch.allclose(torch.tensor(figure.data[0].z), pe)
    assert figure.layout.yaxis.title.text == "position" and figure.data[0].zmid == 0


# ---- the command line ---------------------------------------------------------------------------------
def test_train_prints_the_loss_per_epoch(tmp_path, capsys):
    from model.cli import main

    path = tmp_path / "small.jsonl"
    data = _data(64)
    rows = [json.dumps({"text": text, "label": ["a", "b"][y]}) for text, y in zip(data.texts, data.labels)]
    path.write_text("\n".join(rows) + "\n")
    argv = ["train", "--data", path, "--preset", "tiny", "--epochs", "2", "--no-baseline", "--out", tmp_path / "ck"]
    assert main(list(map(str, argv))) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    epochs = summary["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(set(e) == {"epoch", "train_loss", "valid_loss", "valid_accuracy"} for e in epochs)
    assert all(round(v, 4) == v for e in epochs for v in e.values())
    # the last epoch ends where the run ends: its figures are the final ones
    assert (epochs[-1]["valid_loss"], epochs[-1]["valid_accuracy"]) == (
        summary["valid_loss"],
        summary["valid_accuracy"],
    )
    assert epochs[0]["train_loss"] > epochs[1]["train_loss"]
    assert len(out.strip().splitlines()) == 1  # standard output holds the JSON alone
    for e in epochs:  # one line per epoch on standard error, as the article prints them
        assert f"epoch {e['epoch']}: train loss {e['train_loss']:.4f}, valid loss {e['valid_loss']:.4f}" in err


# ---- the page ------------------------------------------------------------------------------------------
WORDS = {
    "en": ("Inside the training", "Loss per epoch", "epoch", "Word order and positions", "not good", "good not"),
    "zh": ("深入训练过程", "每轮损失", "轮次", "词序与位置编码", "不好", "好不"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_train_page_opens_the_training_up_in_both_languages(lang):
    from ui.state import DataChoice

    title, tab, epoch_column, positions, first, second = WORDS[lang]
    colour = load_builtin("colour")
    part = Dataset(colour.train.texts[:256], colour.train.labels[:256], colour.train.label_names)
    valid = Dataset(colour.valid.texts[:100], colour.valid.labels[:100], colour.valid.label_names)
    at = train_page(new_app(lang))
    at.session_state["data"] = DataChoice(part, valid, "colour", True)
    at.run()
    assert not [m for m in at.markdown if title in m.value]  # nothing to open up before a run
    next(b for b in at.button if b.label.endswith(("Start", "开始"))).click().run()
    run = at.session_state["run"]
    deadline = time.time() + 120
    while run.status != "done" and time.time() < deadline:
        time.sleep(0.1)
    assert run.status == "done", (run.status, run.error)
    at.run()
    assert not at.exception
    view = run.view()
    assert [(e.epoch, e.complete) for e in view.epochs] == [(1, True), (2, True)] and view.diagnostics
    assert any(f"**{title}**" == m.value for m in at.markdown)
    assert tab in [t.label for t in at.tabs]
    table = next(d.value for d in at.dataframe if epoch_column in d.value.columns)
    assert table[epoch_column].tolist() == ["1", "2"]
    assert table.iloc[:, 1].tolist() == [round(e.train_loss, 4) for e in view.epochs]
    strings = json.loads((ROOT / "assets" / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    titles = [json.loads(c.proto.spec).get("title", {}).get("text") for c in at.get("vega_lite_chart")]
    titles = [" ".join(t) if isinstance(t, list) else t for t in titles]  # a long title comes in lines
    charts = dict(zip(titles, (c.proto for c in at.get("vega_lite_chart"))))
    for key in ("lr_title", "grad_title", "update_title"):  # beside the loss and the accuracy
        assert strings[key] in charts, (key, list(charts))
    update = json.loads(charts[strings["update_title"]].spec)
    assert update["layer"][1]["encoding"]["y"]["datum"] == 1e-3  # the rule of thumb, dashed
    # the parts in the page's language, the layers numbered from 0 as on every other page
    layers = [strings["layer_n"].format(n=n) for n in (0, 1)]
    parts = [strings["part_embedding"], *layers, strings["part_output"]]
    assert update["layer"][0]["encoding"]["color"]["scale"]["domain"] == parts

    def rows(key):  # the rows the page sent a chart
        return dataframe_util.convert_arrow_bytes_to_pandas_df(charts[strings[key]].data.data)

    assert rows("lr_title")["lr"].tolist() == pytest.approx([r.lr for r in view.steps])  # 16 steps: every one
    ratios = rows("update_title")
    assert sorted(set(ratios["step"])) == [r.step for r in view.diagnostics]
    at_step_1 = view.diagnostics[0].update_ratios
    assert sorted(ratios.loc[ratios["step"] == 1, "value"]) == pytest.approx(sorted(at_step_1.values()))
    # the word-order test, on the model just trained
    assert positions in [e.label for e in at.expander]
    assert not [w for w in at.text_input if w.key and w.key.startswith("word_order_")]  # drawn only when open
    at.session_state["positions_open"] = True
    at.run()
    assert [w.value for w in at.text_input if w.key and w.key.startswith("word_order_")] == [first, second]
    ckpt = view.checkpoint
    predictions = [m.value for m in at.metric if m.label in ("Prediction", "预测")][-2:]
    shown = {"en": {}, "zh": {"colour": "有颜色", "no_colour": "没有颜色"}}[lang]  # as the page shows the classes
    expected = [inspect_sentence(ckpt, s).prediction for s in (first, second)]
    assert predictions == [shown.get(p, p) for p in expected]


def test_default_snapshots_are_taken_at_evaluations_and_reuse_their_forward_pass(tokenizer, monkeypatch):
    import model.trainer as trainer_module

    model = _model(tokenizer, seed=4, pooling="mean")
    valid = _data(40, 5)
    cfg = TrainConfig(epochs=3, batch_size=8, device="cpu")  # 8 steps an epoch: evaluations at 2, 4, 6, 8, ...
    separate_passes = []
    real = trainer_module.pooled_vectors
    monkeypatch.setattr(trainer_module, "pooled_vectors", lambda *a, **k: separate_passes.append(1) or real(*a, **k))
    ckpt = Checkpoint(model, tokenizer, ["a", "b"])
    evals, snaps = [], []
    for record in train(model, tokenizer, _data(), valid, cfg, probe_sentences=["I love this movie!"]):
        if record.kind == "eval":
            evals.append(record.step)
        elif record.kind == "snapshot":
            snaps.append(record.step)
            for i in (0, 21, 39):
                alone = inspect_sentence(ckpt, valid.texts[record.projection_rows[i]])
                assert torch.allclose(record.pooled[i].float(), alone.trace.pooled[0], atol=4e-3)
                assert record.predicted[i] == max(range(2), key=alone.probabilities.__getitem__)
    assert snaps[0] == 0 and set(snaps[1:]) <= set(evals) and snaps[-1] == evals[-1] == 24
    assert len(snaps) >= 6
    assert separate_passes == [1]  # only the untrained model's snapshot, before any evaluation, has its own
