"""Every page through streamlit's AppTest, in both languages, and the train-then-inspect journey."""

import base64
import json
import re
import time

import numpy as np
import pytest

from tests.conftest import ROOT, click, new_app, open_page, train_page

PAGES = [
    "pages/home.py",
    "pages/data.py",
    "pages/train.py",
    "pages/attention.py",
    "pages/step_by_step.py",
    "pages/predict.py",
]
TITLES = {
    "en": ["How a Transformer learns", "Data", "Train", "Attention", "Step by step", "Predict"],
    "zh": ["Transformer 是如何学习的", "数据", "训练", "注意力", "逐步计算", "预测"],
}


def plotly_specs(at) -> list[dict]:
    """Every Plotly figure the page sent, as the browser receives it."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def plotly_array(value) -> np.ndarray:
    """A figure's array as Plotly sends it: a numpy array becomes a typed array in base64."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value.get("shape", -1)).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).reshape(shape)
    return np.array(value)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_in_both_languages(lang):
    at = new_app(lang)
    at.run()
    for page, title in zip(PAGES, TITLES[lang]):
        at.switch_page(page)
        at.run()
        assert not at.exception, f"{page}: {[e.value for e in at.exception]}"
        assert not at.error, f"{page}: {[e.value for e in at.error]}"
        assert at.title[0].value == title


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_counts_the_current_models_parameters_by_part(lang):
    at = open_page(new_app(lang), "pages/home.py")
    from ui.state import bundled_checkpoint

    model = bundled_checkpoint(lang).model  # the model the Home page shows before any training
    table = at.dataframe[0].value
    assert len(table) == 8 and table.iloc[0, 1] == f"{model.cfg.vocab_size} × {model.cfg.d_model}"
    assert sum(int(n.replace(",", "")) for n in table.iloc[:, 2]) == model.num_parameters(non_embedding=False)
    assert any(f"{model.num_parameters(non_embedding=False):,}" in c.value for c in at.caption)
    diagram = at.get("graphviz_chart")[0].proto.spec  # the same model's sizes, in the page's language
    pooling = {"en": {"mean": "mean", "cls": "[CLS]"}, "zh": {"mean": "平均", "cls": "[CLS]"}}[lang][model.cfg.pooling]
    assert f"({model.cfg.vocab_size} × {model.cfg.d_model})" in diagram and f": {pooling}" in diagram
    assert {"relu": "(ReLU)", "gelu": "(GELU)"}[model.cfg.activation] in diagram


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_home_writes_the_feed_forward_network_with_the_models_activation(lang, tokenizer):
    """The bundled model uses ReLU, an uploaded one may use GELU: the idea card says which, as the diagram does."""
    import torch

    from model.checkpoint import Checkpoint
    from model.config import ModelConfig
    from model.transformer import TransformerClassifier
    from ui.state import ModelChoice

    def ffn_card(at):  # the idea card's formula and the text under its title ("#### 4. ...")
        texts = [m.value for m in at.markdown]
        title = next(i for i, v in enumerate(texts) if v.startswith("#### 4."))
        return at.latex[3].value, texts[title + 1]

    formula, text = ffn_card(open_page(new_app(lang), "pages/home.py"))  # the bundled model
    assert r"H &= \max(0,\, xW_1 + b_1)" in formula and "ReLU" in text and "GELU" not in text
    cfg = ModelConfig(
        vocab_size=tokenizer.vocab_size,
        n_classes=2,
        d_model=16,
        n_heads=2,
        n_layers=1,
        d_ff=32,
        max_len=24,
        activation="gelu",
    )
    torch.manual_seed(0)
    at = new_app(lang)
    at.session_state["model"] = ModelChoice(
        Checkpoint(TransformerClassifier(cfg), tokenizer, ["a", "b"]), "uploaded", time.time()
    )
    formula, text = ffn_card(open_page(at, "pages/home.py"))
    assert r"H &= \mathrm{GELU}(xW_1 + b_1)" in formula and r"\max" not in formula
    assert "GELU" in text and "ReLU" not in text
    assert "(GELU)" in at.get("graphviz_chart")[0].proto.spec


def test_the_data_page_shows_each_tokens_position_and_id():
    at = open_page(new_app(), "pages/data.py")
    next(i for i in at.text_input if i.label == "Type any text to see its tokens").set_value("I love this movie!").run()
    from ui.state import preview_tokenizer

    tokenizer, _ = preview_tokenizer(at.session_state["data"], "wordpiece", 8000)
    enc = tokenizer.encode("I love this movie!", max_len=512)
    table = at.dataframe[-1].value
    assert table.index.name == "position" and list(table.index) == ["token", "id"]
    assert list(table.columns) == list(range(len(enc.ids))) and enc.tokens[:2] == ["[CLS]", "i"]
    assert table.loc["token"].tolist() == enc.tokens and table.loc["id"].tolist() == [str(i) for i in enc.ids]


def test_key_widgets_exist():
    at = open_page(new_app(), "pages/train.py")
    labels = {b.label for b in at.button}
    for name in ("▶ Start", "⏸ Pause", "⏭ Step", "⏹ Stop", "Yes, throw it away"):  # the last: Reset's question
        assert name in labels
    sliders = {s.label for s in at.select_slider}
    assert {"Layers (N)", "Heads (h)", "d_model", "Feed-forward width", "Learning rate", "Batch size"} <= sliders
    assert {r.label for r in at.radio} >= {"Positions", "Pooling", "Device"}
    # Row by row, as a phone stacks the columns: the model's sizes, then how it learns, then its choices.
    assert [s.label for s in at.select_slider] == [
        "Layers (N)",
        "Heads (h)",
        "d_model",
        "Feed-forward width",
        "Dropout",
        "Learning rate",
        "Batch size",
        "Label smoothing",
        "Word dropout",
    ]
    assert [r.label for r in at.radio][:4] == ["Positions", "Pooling", "Activation", "Device"]
    assert at.radio(key="hp_activation").options == ["ReLU", "GELU"]  # as the article writes them, not "RELU"
    assert at.radio(key="hp_device").options[:2] == ["auto", "CPU"]
    at.switch_page("pages/attention.py")
    at.run()
    assert at.text_input(key="sentence_input_attention").value == "I love this movie!"
    assert at.metric[0].value == "positive"
    at.switch_page("pages/step_by_step.py")
    at.run()
    at.selectbox(key="steps_section").set_value("all").run()
    assert {s.label for s in at.selectbox} == {
        "Section",
        "Layer",
        "Head",
        "Query token (asking)",
        "Key token (looked at)",
    }
    assert len(at.latex) >= 15  # one formula per section


def test_chinese_presets_are_named_in_chinese_and_the_link_keeps_the_english_name():
    at = open_page(new_app("zh"), "pages/train.py")
    presets = at.button_group(key="preset")
    assert list(presets.options) == ["微型 (tiny)", "小型 (small)", "基础 (base)"]
    presets.set_value("tiny").run()
    assert not at.exception
    assert (at.session_state["hp_d_model"], at.session_state["hp_n_heads"]) == (32, 2)  # the tiny preset's sizes
    assert at.query_params["preset"] == "tiny"  # a shared link opens the same preset in either language


def test_empty_sentence_gets_a_message_not_a_traceback():
    at = open_page(new_app(), "pages/attention.py")
    at.text_input(key="sentence_input_attention").set_value("   ").run()
    assert not at.exception
    assert any("Type a sentence" in w.value for w in at.warning)


@pytest.mark.slow
def test_the_smallest_settings_the_widgets_allow_train_the_model_they_describe():
    """d_model 16 with 8 heads (d_head 2), one layer, [CLS] pooling: the page builds exactly that."""
    at = click(
        train_page(
            new_app(),
            hp_d_model=16,
            hp_n_heads=8,
            hp_n_layers=1,
            hp_d_ff=32,
            hp_epochs=1,
            hp_pooling="cls",
            hp_positional="sinusoidal",
        ),
        "▶ Start",
    )
    run = at.session_state["run"]
    assert run.join(timeout=120) and run.status == "done", run.error
    at.run()
    assert not at.exception and not at.error
    cfg = run.view().checkpoint.model.cfg
    assert (cfg.d_model, cfg.n_heads, cfg.d_head, cfg.n_layers, cfg.d_ff) == (16, 8, 2, 1, 32)
    assert (cfg.pooling, cfg.positional) == ("cls", "sinusoidal")
    assert any(b.label == "Download the model (zip)" for b in at.get("download_button"))


@pytest.mark.slow
def test_quick_training_from_the_train_page_is_the_model_the_attention_page_uses():
    from model.config import preset

    model_cfg, _ = preset("tiny")
    # the tiny preset's d_model and heads, as a click on it would set them, and a shorter run
    at = click(
        train_page(new_app(), hp_d_model=model_cfg.d_model, hp_n_heads=model_cfg.n_heads, hp_epochs=3), "▶ Start"
    )
    run = at.session_state["run"]
    assert run.join(timeout=120), "training did not finish"
    assert run.status == "done", run.error
    at.run()
    assert not at.exception
    assert any(m.label == "Validation accuracy" for m in at.metric)
    from ui.i18n import loss_text

    shown = {m.label: m.value for m in at.metric}
    assert shown["Training loss"] == loss_text(run.view().steps[-1].loss)
    assert shown["Validation loss"] == loss_text(run.view().evals[-1].valid_loss)
    assert shown["Device"] in ("CPU", "GPU (CUDA)")  # as the device options write it, not "cpu" or "cuda:0"
    # the bag-of-words baseline beside it, fitted by the worker on the same split, with what the gap means
    baseline = run.view().checkpoint.meta["baseline"]["valid_accuracy"]
    assert shown["Bag-of-words baseline"] == f"{baseline:.1%}"
    lead = round(round(100 * run.view().done.valid_accuracy, 1) - round(100 * baseline, 1), 1)
    verdict = {"baseline_ahead": lead >= 1, "baseline_behind": lead <= -1, "baseline_even": -1 < lead < 1}
    shown_verdict = json.loads((ROOT / "assets" / "i18n" / "en.json").read_text(encoding="utf-8"))[
        next(k for k, v in verdict.items() if v)
    ].split("{points}")[0]
    assert any(c.value.startswith(shown_verdict) for c in at.caption), shown_verdict
    # The misclassified table lists exactly the wrong predictions; with none, a message, not an empty table.
    from model.data import load_builtin

    labels = load_builtin("sentiment_en").valid.labels
    run.predictions = [1 - y for y in labels]  # as if the worker had found every one wrong
    at.run()
    misclassified = lambda: [tb for tb in at.table if "predicted" in tb.value.columns]  # noqa: E731 (not Compare runs)
    assert len(misclassified()[0].value) == 25 and not at.success  # the first 25, whole; the count above them
    assert any(f"The first 25 of {len(labels)}" in c.value for c in at.caption)
    run.predictions = list(labels)
    at.run()
    assert not misclassified() and at.success[0].value == "Every validation sentence was classified correctly."
    trained = run.view().checkpoint
    assert trained.model.cfg.d_model == model_cfg.d_model and trained.model.cfg.n_layers == model_cfg.n_layers
    at.switch_page("pages/attention.py")
    at.run()
    assert not at.exception
    assert any("the one you trained" in c.value for c in at.caption)
    # the prediction shown is the trained model's own
    from model.inspect import inspect_sentence

    expected = inspect_sentence(trained, "I love this movie!").prediction
    assert at.metric[0].value == expected
    from model.session import PROBE_SENTENCES

    probes = next(s for s in at.selectbox if s.label == "Probe sentence")  # the sentences as written
    assert probes.options == PROBE_SENTENCES["en"]
    # the animation of the first probe's attention: one frame per snapshot, the last layer's head 0
    history = next(spec for spec in plotly_specs(at) if "frames" in spec)
    snapshots = run.view().snapshots
    assert [f["name"] for f in history["frames"]] == [str(s.step) for s in snapshots]
    for frame, snap in zip(history["frames"], snapshots):
        assert np.allclose(plotly_array(frame["data"][0]["z"]), snap.weights[0][-1][0], atol=1e-6)


def test_strings_are_complete_in_both_languages():
    en = json.loads((ROOT / "assets/i18n/en.json").read_text(encoding="utf-8"))
    zh = json.loads((ROOT / "assets/i18n/zh.json").read_text(encoding="utf-8"))
    assert set(en) == set(zh)
    used = set()
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        used |= set(re.findall(r"\bt\(\s*[\"']([a-z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    assert used and not used - set(en), used - set(en)
    for key, text in zh.items():  # the same {placeholders} in both languages
        assert set(re.findall(r"{(\w+)", text)) == set(re.findall(r"{(\w+)", en[key])), key
    chinese = sum(bool(re.search(r"[\u4e00-\u9fff]", v)) for v in zh.values())
    assert chinese > 0.8 * len(zh)


def test_training_run_worker_lifecycle():
    from model.config import preset
    from model.data import load_builtin
    from model.session import TrainingRun

    ds = load_builtin("colour")
    model_cfg, train_cfg = preset("tiny", epochs=200)
    run = TrainingRun()
    run.start(ds.train, ds.valid, model_cfg, train_cfg, ["the red car"])
    with pytest.raises(RuntimeError, match="already training"):
        run.start(ds.train, ds.valid, model_cfg, train_cfg)
    deadline = time.time() + 30
    while not run.view().steps and time.time() < deadline:
        time.sleep(0.05)
    run.pause()
    assert run.status == "paused"
    time.sleep(0.3)  # a step under way when the pause came ends
    n = len(run.view().steps)
    run.step()
    while len(run.view().steps) == n and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(run.view().steps) == n + 1 and run.status == "paused"  # one step, then paused again
    run.resume()
    run.stop()
    assert run.join(10) and run.status == "stopped" and run.view().checkpoint is not None
    assert run.view().snapshots[0].step == 0
    run.reset()
    assert run.status == "idle" and not run.view().steps


def test_a_run_paused_while_preparing_starts_paused_and_steps_on_request():
    """Pause is offered from the moment Start is pressed, while the tokenizer is still being learned."""
    from model.config import preset
    from model.data import load_builtin
    from model.session import TrainingRun

    ds = load_builtin("colour")
    model_cfg, train_cfg = preset("tiny", epochs=200)
    run = TrainingRun()
    run.start(ds.train, ds.valid, model_cfg, train_cfg)
    assert run.status == "preparing"
    run.pause()
    assert run.status == "paused"
    time.sleep(1.5)  # long enough to prepare and take many steps, were it not paused
    assert run.status == "paused" and not run.view().steps
    run.step()
    deadline = time.time() + 30
    while not run.view().steps and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert [r.step for r in run.view().steps] == [1] and run.status == "paused"
    run.stop()
    assert run.join(10) and run.status == "stopped"


def test_an_abandoned_run_ends_by_itself():
    from model.config import preset
    from model.data import load_builtin
    from model.session import TrainingRun

    ds = load_builtin("colour")
    run = TrainingRun(abandon_after=0.5)
    run.start(ds.train, ds.valid, *preset("tiny", epochs=500))
    assert run.join(timeout=30), "the worker kept running with nobody watching"
    assert run.status == "stopped"


def test_the_sentence_follows_the_student_across_pages():
    at = open_page(new_app(), "pages/attention.py")
    at.text_input(key="sentence_input_attention").set_value("not good at all").run()
    at.switch_page("pages/step_by_step.py")
    at.run()
    at.selectbox(key="steps_section").set_value("all").run()
    assert at.text_input(key="sentence_input_steps").value == "not good at all"
    tokens = [o for o in at.selectbox(key="steps_query").options]
    assert tokens == ["0: [CLS]", "1: not", "2: good", "3: at", "4: all"]
    # The feed-forward half, for the chosen layer and token, with the count ReLU zeroed from the trace.
    from model.inspect import feed_forward_steps, inspect_sentence
    from ui.state import bundled_checkpoint

    ckpt = bundled_checkpoint("en")
    at.selectbox(key="steps_layer").set_value(1)
    at.selectbox(key="steps_query").set_value(2)
    at.run()
    zeroed = feed_forward_steps(inspect_sentence(ckpt, "not good at all"), 1).zeroed[2]
    assert 0 < zeroed < ckpt.model.cfg.d_ff
    texts = [m.value for m in at.markdown]
    assert "### 15. Back to d_model, and the second residual" in texts
    assert any(f"for **good**, {zeroed} of its {ckpt.model.cfg.d_ff} numbers are exactly 0" in x for x in texts)
    assert any("output: what the final LayerNorm and the pooling read" in x for x in texts)  # layer 1 is the last
    # Step 6 pads the sentence as a batch would, and shows that forward pass's weights for the chosen query.
    assert any("again with 3 [PAD] tokens after it" in x and "weights for **good**" in x for x in texts)


def test_step_4_opens_one_score_up_for_the_chosen_query_and_key():
    """The key starts at the query's largest score; Q_i, K_j and their products are the model's,
    and the formula writes the score the model computed."""
    from model.inspect import head_steps, inspect_sentence
    from ui.state import bundled_checkpoint

    at = open_page(new_app(), "pages/step_by_step.py")
    at.selectbox(key="steps_section").set_value("all").run()
    at.selectbox(key="steps_head").set_value(1)
    at.selectbox(key="steps_query").set_value(3)
    at.run()
    ckpt = bundled_checkpoint("en")
    s = head_steps(inspect_sentence(ckpt, "I love this movie!"), ckpt.model, 0, 1, 3)
    assert at.selectbox(key="steps_key").value == int(s.scores[3].argmax())
    at.selectbox(key="steps_key").set_value(4).run()  # "movie"
    assert any("S_{3,4} = " in f.value and f"= {float(s.scores[3, 4]):.4f}" in f.value for f in at.latex)
    dot = next(
        spec for spec in plotly_specs(at) if spec["layout"]["yaxis"].get("ticktext") == ["Q: this", "K: movie", "Q × K"]
    )
    rows = plotly_array(dot["data"][0]["z"])
    assert np.allclose(rows, np.stack([s.q[3], s.k[4], s.q[3] * s.k[4]]), atol=1e-6)
    assert any("the query of **this** and the key of **movie**" in m.value.replace("\\", "") for m in at.markdown)
    # that cell is framed in S, in S/√d_k and in the softmax weights
    framed = [spec["layout"]["shapes"][0] for spec in plotly_specs(at) if spec["layout"].get("shapes")]
    assert len(framed) == 3 and all((f["x0"], f["x1"], f["y0"], f["y1"]) == (3.5, 4.5, 2.5, 3.5) for f in framed)
    # another query: the key starts again at that query's largest score, not at the kept position
    at.selectbox(key="steps_query").set_value(1).run()
    s1 = head_steps(inspect_sentence(ckpt, "I love this movie!"), ckpt.model, 0, 1, 1)
    assert at.selectbox(key="steps_key").value == int(s1.scores[1].argmax())


def test_the_what_if_bars_share_one_scale():
    """Without √d_k the softmax is peakier; both bar charts use one value axis, so the bars compare."""
    at = open_page(new_app(), "pages/step_by_step.py")
    at.selectbox(key="steps_section").set_value("all").run()
    next(t for t in at.toggle if t.label == "Without the √d_k scaling").set_value(True).run()
    charts = plotly_specs(at)
    bars = [c for c in charts if "weights for the query" in c["layout"].get("title", {}).get("text", "")]
    assert len(bars) == 2
    model_row, what_if_row = (max(c["data"][0]["y"]) for c in bars)
    assert what_if_row > model_row  # the change is visible in the bars
    assert bars[0]["layout"]["yaxis"]["range"] == bars[1]["layout"]["yaxis"]["range"]
    assert bars[0]["layout"]["yaxis"]["range"][1] >= what_if_row


def test_an_empty_language_switch_keeps_the_language():
    """A click on the selected language clears the switch; the pages must not break or change language."""
    at = new_app("zh")
    at.run()
    at.sidebar.button_group(key="lang").set_value(None).run()
    at.switch_page("pages/attention.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "注意力"


def test_built_in_class_labels_are_shown_in_the_chosen_language():
    """The bundled Chinese model predicts 'positive'; a Chinese page says 积极, and the model keeps its names."""
    at = open_page(new_app("zh"), "pages/attention.py")
    at.text_input(key="sentence_input_attention").set_value("我很喜欢这部电影！").run()
    assert at.metric[0].value == "积极"
    at.switch_page("pages/predict.py")
    at.run()
    table = at.dataframe[0].value
    assert {"积极", "消极"} <= set(table.columns) and set(table["预测"]) <= {"积极", "消极"}
    from model.checkpoint import ASSETS_CHECKPOINT, load

    assert load(ASSETS_CHECKPOINT.with_name("checkpoint_zh")).label_names == ["negative", "positive"]  # unchanged


def test_the_predict_table_gives_each_sentences_probabilities_in_percent():
    from model.inspect import inspect_sentence
    from ui.state import bundled_checkpoint

    at = open_page(new_app(), "pages/predict.py")
    table = at.dataframe[0].value
    assert len(table) == 5 and list(table.columns) == ["text", "predicted", "negative", "positive"]
    for _, row in table.iterrows():
        result = inspect_sentence(bundled_checkpoint("en"), row["text"])
        assert row["predicted"] == result.prediction
        assert [row["negative"], row["positive"]] == pytest.approx([100 * p for p in result.probabilities], abs=1e-4)
    assert table[["negative", "positive"]].sum(axis=1).tolist() == pytest.approx([100.0] * 5, abs=1e-3)


def test_translated_labels_that_would_look_the_same_stay_as_they_are():
    from ui import i18n, state

    state.keep("lang", "zh")  # outside a script run, session state is a plain dictionary
    try:
        assert i18n.class_names(["negative", "positive", "pos"]) == {
            "negative": "消极",
            "positive": "积极",
            "pos": "pos",
        }
        assert i18n.class_names(["positive", "积极"]) == {"positive": "positive", "积极": "积极"}
    finally:
        state.keep("lang", None)


def test_a_tiny_loss_is_not_shown_as_zero():
    from ui.i18n import loss_text

    assert [loss_text(x) for x in (0.6931, 0.001, 3.2e-5, 0.0)] == ["0.6931", "0.0010", "3.2e-05", "0.0000"]


# The KaTeX commands the pages' formulas use. A command glued to the next symbol (`\quadZ`) is not
# one of them, and KaTeX would print it in red instead of the formula.
KATEX_COMMANDS = {
    "arg",
    "begin",
    "cdot",
    "dots",
    "end",
    "exp",
    "frac",
    "in",
    "infty",
    "left",
    "leftarrow",
    "log",
    "mathbb",
    "mathcal",
    "mathrm",
    "max",
    "nabla",
    "qquad",
    "quad",
    "right",
    "sqrt",
    "sum",
    "text",
    "textstyle",
    "tfrac",
    "theta",
    "times",
    "top",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_formula_uses_only_known_katex_commands(lang):
    at = new_app(lang)
    at.run()
    used = set()
    for page in PAGES:
        at.switch_page(page)
        at.run()
        used |= {c for formula in at.latex for c in re.findall(r"\\([A-Za-z]+)", formula.value)}
    assert used and used <= KATEX_COMMANDS, used - KATEX_COMMANDS


# ---- what the model cannot read ------------------------------------------------------------------
# A model with the conftest tokenizer, whose vocabulary the tests know: "love" is a word of its
# texts, "rude" is not (the tokenizer spells it in ##pieces), and "ʘʘ" has characters it never saw.


def with_known_vocabulary(at, tokenizer):
    """Make an "uploaded" model with the conftest tokenizer the model the pages use."""
    import torch

    from model.checkpoint import Checkpoint
    from model.config import ModelConfig
    from model.transformer import TransformerClassifier
    from ui.state import ModelChoice

    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=tokenizer.vocab_size, n_classes=2, d_model=16, n_heads=2, n_layers=1, d_ff=32, max_len=24
    )
    ckpt = Checkpoint(TransformerClassifier(cfg), tokenizer, ["negative", "positive"])
    at.session_state["model"] = ModelChoice(ckpt, "uploaded", time.time())
    return at


@pytest.mark.parametrize(
    "page, key, lang",
    [
        ("pages/attention.py", "sentence_input_attention", "en"),
        ("pages/attention.py", "sentence_input_attention", "zh"),
        ("pages/step_by_step.py", "sentence_input_steps", "en"),
    ],
)
def test_a_sentence_the_model_mostly_cannot_read_gets_a_warning_naming_its_words(page, key, lang, tokenizer):
    from ui.i18n import md

    at = with_known_vocabulary(new_app(lang), tokenizer)
    at.session_state["sentence"] = "I love this movie!"
    open_page(at, page)
    assert not at.exception and not at.warning  # every word whole: nothing to warn about
    at.text_input(key=key).set_value("love rude ʘʘ").run()
    assert not at.exception
    (warning,) = at.warning
    counted = {"en": "reads 2 of these 3 words", "zh": "这 3 个词（中文按词元计）中，有 2 个"}[lang]
    assert counted in warning.value
    rude = " ".join(tokenizer.read("rude").words[0].tokens)  # r ##… : the pieces the model reads
    assert md(f"rude ({rude})") in warning.value and md("ʘʘ ([UNK])") in warning.value
    assert "love" not in warning.value
    at.text_input(key=key).set_value("love rude").run()  # 1 of 2 is not "mostly"
    assert not at.warning


def test_predict_flags_the_sentences_the_model_mostly_cannot_read(tokenizer):
    at = open_page(with_known_vocabulary(new_app(), tokenizer), "pages/predict.py")
    at.text_area[0].set_value("I love this movie!\nlove rude ʘʘ\nwhat a good film\n我爱你").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["mostly unreadable"].tolist() == [False, True, False, True]
    (warning,) = at.warning
    assert "most words of 2 of these 4 sentences" in warning.value
    assert all(word in warning.value for word in ("rude", "ʘʘ", "爱", "你")) and "love" not in warning.value
    at.text_area[0].set_value("I love this movie!\nwhat a good film").run()
    assert "mostly unreadable" not in at.dataframe[0].value.columns and not at.warning  # no flag, no column


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_data_page_shows_how_much_of_the_dataset_the_model_in_use_reads(lang, tokenizer):
    from model.data import Dataset
    from ui.state import DataChoice

    names = ["negative", "positive"]
    train = Dataset(["I love this movie!", "love rude ʘʘ", "Rude ʘʘ ʘʘ"], [1, 0, 0], names)
    valid = Dataset(["good ʘʘ"], [1], names)
    at = with_known_vocabulary(new_app(lang), tokenizer)
    at.session_state["data"] = DataChoice(train, valid, "mine.csv", False)
    open_page(at, "pages/data.py")
    assert not at.exception
    # 12 words: I love this movie love good whole; rude Rude in pieces; ʘʘ four times unknown
    labels = {
        "en": ["whole words", "only in pieces (##)", "not at all ([UNK])"],
        "zh": ["完整的词", "只能拆成碎片（##）", "完全不认识（[UNK]）"],
    }[lang]
    shown = {m.label: m.value for m in at.metric}
    assert [shown[label] for label in labels] == ["50.0%", "16.7%", "33.3%"]
    captions = [c.value for c in at.caption]
    assert any("12" in c and {"en": "the model you uploaded", "zh": "你上传的模型"}[lang] in c for c in captions)
    assert any("ʘʘ" in c and "×4" in c for c in captions) and any("rude" in c and "×2" in c for c in captions)
    # The tokenizer the page learns for its settings, on the same data: its own coverage.
    learned = at.session_state["_cache_preview_tokenizer"][1][0].coverage(train.texts + valid.texts)
    shares = [f"{learned.share(s):.1%}".replace(".", "\\.") for s in ("whole", "pieces", "unknown")]
    assert any(all(share in c for share in shares) for c in captions)


def test_the_data_page_coverage_follows_the_chosen_dataset():
    """The bundled English model on the built-in Chinese reviews: the numbers are for that pair."""
    from model.data import load_builtin
    from ui.state import bundled_checkpoint

    at = open_page(new_app(), "pages/data.py")
    at.selectbox[0].set_value("sentiment_zh").run()
    click(at, "Use this dataset")
    assert not at.exception
    ds = load_builtin("sentiment_zh")
    expected = bundled_checkpoint("en").tokenizer.coverage(ds.train.texts + ds.valid.texts)
    shown = {m.label: m.value for m in at.metric}
    assert [shown[label] for label in ("whole words", "only in pieces (##)", "not at all ([UNK])")] == [
        f"{expected.share(s):.1%}" for s in ("whole", "pieces", "unknown")
    ]
    assert any(f"{expected.words:,}" in c.value and "the bundled model" in c.value for c in at.caption)
