"""The Why page through Streamlit's AppTest: every section in both languages, and every number it shows
recomputed here by model/explain.py on the same model and the same validation sentences."""

import base64
import json
import time

import numpy as np
import pytest
import torch

from tests.conftest import new_app, open_page

PAGE = "pages/why.py"
SECTIONS = ["attribution", "layers", "heads", "vectors"]
# A smaller evenly spaced share of the validation set than the page's 600 keeps these tests quick; the
# page says how many it used, and the tests check that too.
SENTENCES = 90


@pytest.fixture(autouse=True)
def fewer_sentences(monkeypatch):
    import ui.state

    monkeypatch.setattr(ui.state, "WHY_SENTENCES", SENTENCES)


def section(at, key: str):
    at.button_group(key="why_section").set_value(key).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def evenly_spaced_validation(lang: str = "en"):
    """The validation sentences the page measures the bundled model on, chosen here independently."""
    from model.checkpoint import ASSETS_CHECKPOINT, load
    from model.data import Dataset, load_builtin
    from model.trainer import EncodedSet

    ckpt = load(ASSETS_CHECKPOINT if lang == "en" else ASSETS_CHECKPOINT.with_name("checkpoint_zh"))
    valid = load_builtin({"en": "sentiment_en", "zh": "sentiment_zh"}[lang]).valid
    rows = [i * len(valid) // SENTENCES for i in range(SENTENCES)]
    data = Dataset([valid.texts[i] for i in rows], [valid.labels[i] for i in rows], valid.label_names)
    return ckpt, EncodedSet.build(data, ckpt.tokenizer, ckpt.model.cfg.max_len), len(valid)


def plotly(at, key: str) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(chart.proto.spec)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_section_of_the_why_page_shows_in_both_languages(lang):
    from ui.i18n import strings

    titles = {"en": "Why the model decided", "zh": "模型为什么这样判断"}
    at = open_page(new_app(lang), PAGE)
    assert not at.exception and at.title[0].value == titles[lang]
    for number, key in enumerate(SECTIONS, 1):
        section(at, key)
        heading = next(m.value for m in at.markdown if m.value.startswith("### "))
        assert heading == f"### {number}. {strings(lang)[f'why_{key}_title']}"  # in the page's language
        assert at.get("plotly_chart"), key  # every section draws the model's numbers


def test_the_attribution_section_shows_the_explanation_of_the_sentence():
    from model.explain import explain

    at = open_page(new_app(), PAGE)
    sentence = at.text_input(key="sentence_input_why").value
    from ui.state import bundled_checkpoint

    e = explain(bundled_checkpoint("en"), sentence)
    spec = plotly(at, "attribution_figure")
    signed, rollout = spec["data"]
    raw = [[cell[0] for cell in row] for row in signed["customdata"]]
    assert torch.allclose(torch.tensor(raw), torch.tensor([e.gradient_x_input, e.integrated_gradients]), atol=1e-6)
    formula = at.latex[0].value  # the completeness check, with the model's own logits
    assert f"{sum(e.integrated_gradients):.4f}" in formula and f"{e.logit:.4f}" in formula
    assert f"{e.ig_baseline_logit:.4f}" in formula
    assert any(f"from {e.ig_steps} gradients" in m.value for m in at.markdown)
    assert any("not an explanation by themselves" in i.value for i in at.info)
    agreement = e.agreement()["gradient_x_input~integrated_gradients"]
    shown = "—" if agreement is None else f"{agreement:+.2f}".replace("-", "\\-").replace(".", "\\.")
    assert any(f"ρ\u00a0=\u00a0{shown}" in m.value for m in at.markdown)


def test_the_last_layer_readout_is_the_models_prediction():
    at = section(open_page(new_app(), PAGE), "layers")
    from model.inspect import inspect_sentence
    from ui.state import bundled_checkpoint

    result = inspect_sentence(bundled_checkpoint("en"), at.text_input(key="sentence_input_why").value)
    table = at.dataframe[0].value
    assert len(table) == 3 and table.iloc[0, 0] == "embedding"
    assert list(table.iloc[-1, 1:]) == [f"{p:.2%}" for p in result.probabilities]


@pytest.mark.parametrize("replacement", ["zeros", "mean"])
def test_switching_a_head_off_shows_the_accuracy_evaluate_ablated_gives(replacement):
    from model.explain import ablated_probabilities, ablation_for, evaluate_ablated, head_means

    ckpt, encoded, total = evenly_spaced_validation()
    means = head_means(ckpt.model, encoded) if replacement == "mean" else None
    _, all_on, _ = evaluate_ablated(ckpt.model, encoded)
    _, with_off, _ = evaluate_ablated(ckpt.model, encoded, ablation_for(ckpt.model, [(0, 1), (1, 3)], means))

    at = section(open_page(new_app(), PAGE), "heads")
    assert any(f"{SENTENCES} of the {total:,} validation sentences" in c.value for c in at.caption)
    if replacement == "mean":
        at.button_group(key="why_replacement").set_value("mean").run()
    (metric,) = at.metric
    assert metric.value == f"{all_on:.1%}"
    at.button_group(key="why_heads_off_0").set_value([1]).run()
    at.button_group(key="why_heads_off_1").set_value([3]).run()
    assert not at.exception
    (metric,) = at.metric
    assert metric.value == f"{with_off:.1%}" and "2 heads off" in metric.label
    right = round(with_off * SENTENCES), round(all_on * SENTENCES)
    assert any(f"{right[0]} of {SENTENCES} right ({right[1]} with every head on)" in c.value for c in at.caption)
    sentence = at.text_input(key="sentence_input_why").value
    after = ablated_probabilities(ckpt, sentence, [(0, 1), (1, 3)], means)
    assert list(at.dataframe[0].value.iloc[:, 2]) == [f"{p:.1%}" for p in after]  # this sentence, heads off
    # Every head alone off, and the pruning curve: the numbers of head_importance and prune_curve.
    importance = plotly(at, "importance_accuracy_figure")["data"][0]["z"]
    from model.explain import head_importance

    expected = head_importance(ckpt.model, encoded, means).change("accuracy")
    assert torch.allclose(torch.tensor(_array(importance)), expected, atol=1e-6)
    next(b for b in at.button if b.label == "Switch every head back on").click().run()
    assert at.metric[0].value == f"{all_on:.1%}"


def _array(value) -> np.ndarray:
    """A figure's array as Plotly sends it: a numpy array becomes a typed array in base64."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value.get("shape", -1)).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).reshape(shape)
    return np.array(value)


def test_an_empty_sentence_gets_a_message_not_a_traceback():
    at = open_page(new_app(), PAGE)
    at.text_input(key="sentence_input_why").set_value("   ").run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Type a sentence to see what the model does with it."]


def test_a_model_without_a_labelled_validation_set_says_what_ablation_needs(tokenizer):
    from model.checkpoint import Checkpoint
    from model.config import ModelConfig
    from model.transformer import TransformerClassifier
    from ui.state import ModelChoice

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=tokenizer.vocab_size, n_classes=3, d_model=16, n_heads=2, n_layers=1, d_ff=32)
    at = new_app()
    model = ModelChoice(Checkpoint(TransformerClassifier(cfg), tokenizer, ["a", "b", "c"]), "uploaded", time.time())
    at.session_state["model"] = model
    open_page(at, PAGE)
    section(at, "heads")
    assert any("needs a labelled validation set" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == 3 and not at.metric  # the sentence's part still works
    section(at, "vectors")
    assert any("needs a labelled validation set" in i.value for i in at.info)


def test_a_model_trained_in_this_session_shows_its_sentence_vectors_snapshot_by_snapshot(tokenizer, tiny_model):
    """A run's snapshots (model.trainer.snapshot, as the trainer takes them) become the projection's frames,
    with the typed sentence on every frame, placed by that snapshot's weights."""
    from model.checkpoint import Checkpoint
    from model.data import Dataset
    from model.session import TrainingRun
    from model.trainer import EncodedSet, snapshot
    from tests.conftest import TEXTS
    from ui.state import ModelChoice

    valid = Dataset(TEXTS[:10], [i % 3 for i in range(10)], ["a", "b", "c"])
    encoded = EncodedSet.build(valid, tokenizer, tiny_model.cfg.max_len)
    probes = ["I love this movie!"]
    snaps = []
    for step in (0, 4, 8):
        with torch.no_grad():  # as if trained between snapshots: every weight moves
            for p in tiny_model.parameters():
                p.add_(0.2 * torch.randn_like(p))
        snaps.append(snapshot(tiny_model, tokenizer, probes, step, "cpu", encoded, list(range(10))))
    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    run = TrainingRun(status="done", snapshots=snaps, checkpoint=ckpt, started_at=1000.0, valid=valid)
    at = new_app()
    at.session_state["run"] = run
    at.session_state["model"] = ModelChoice(ckpt, "trained", 1000.0)
    section(open_page(at, PAGE), "vectors")
    spec = plotly(at, "projection_figure")
    assert [f["name"] for f in spec["frames"]] == ["0", "4", "8"]
    typed = [(_array(f["data"][4]["x"]), _array(f["data"][4]["y"])) for f in spec["frames"]]  # a, b, c; probes; ★
    assert [len(x) for x, _ in typed] == [1, 1, 1]
    assert len({(float(x[0]), float(y[0])) for x, y in typed}) == 3  # each frame's model places it anew
    assert any("One frame per training snapshot (3, from step 0 to step 8)" in m.value for m in at.markdown)


def test_an_uploaded_or_shared_model_shows_its_sentence_vectors():
    """A model that is neither the bundled one nor this session's run has no probe sentences: the projection
    of the validation sentences and the typed sentence, with no ◆ (it once raised on the empty probe list)."""
    import time

    from model.checkpoint import ASSETS_CHECKPOINT, load
    from ui.state import ModelChoice

    for source, code in (("uploaded", ""), ("shared", "ABC234")):
        at = new_app()
        at.session_state["model"] = ModelChoice(load(ASSETS_CHECKPOINT), source, time.time(), code)
        open_page(at, PAGE)
        section(at, "vectors")
        assert not at.exception, at.exception
        spec = plotly(at, "projection_figure")
        points = {trace.get("name"): len(_array(trace.get("x", []))) for trace in spec["data"][:4]}
        assert points["negative"] > 0 and points["positive"] > 0  # the validation sentences
        assert points["probe sentences"] == 0 and points["your sentence"] == 1  # ★, no ◆
