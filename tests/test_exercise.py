"""Predict, then reveal: the figures wait for the student's guess; the score counts right guesses."""

from __future__ import annotations

import json

import torch

from model.checkpoint import ASSETS_CHECKPOINT, load
from model.inspect import inspect_sentence, most_attended
from tests.conftest import new_app

SENTENCE = "I love this movie!"


def test_the_most_attended_keys_are_the_rows_largest_and_ties_count_both():
    assert most_attended(torch.tensor([0.1, 0.6, 0.3])) == [1]
    assert most_attended(torch.tensor([0.4, 0.2, 0.4])) == [0, 2]


def attention_with_exercise(lang="en", **params):
    at = new_app(lang)
    at.query_params.update(params)
    at.switch_page("pages/attention.py")
    at.run()
    at.toggle(key="exercise").set_value(True).run()
    assert not at.exception
    return at


def test_the_prediction_and_the_heads_wait_for_the_guesses_and_the_score_counts_them():
    truth = inspect_sentence(load(ASSETS_CHECKPOINT), SENTENCE)
    at = attention_with_exercise()
    assert not at.metric and not at.get("plotly_chart")  # nothing shown before the guess
    assert any("What will the model say" in m.value for m in at.markdown)
    wrong = next(name for name in truth.label_names if name != truth.prediction)
    guess = next(g for g in at.button_group if g.key.startswith("guess_"))
    guess.set_value(wrong).run()
    assert any("You guessed" in w.value for w in at.warning)
    assert at.metric[0].value == truth.prediction  # now the prediction is shown
    assert any(c.value == "Your guesses this session: 0 of 1 right." for c in at.caption)
    # the head's question: layer 1 (the last), head 0, the first word, before any heatmap
    assert any("In layer 1, head 0: which word does “i” look at most?" in m.value for m in at.markdown)
    assert not any(c.proto.id and "heads_figure" in c.proto.id for c in at.get("plotly_chart"))
    row = truth.trace.layers[1].attention.weights[0, 0, 1]
    right = most_attended(row)[0]
    next(g for g in at.button_group if g.key.startswith("guess_")).set_value(right).run()
    said = [s.value.replace("\\", "") for s in at.success]  # (numbers are escaped for Markdown)
    assert any("Right: it gives" in text and f"{float(row[right]):.1%}" in text for text in said), said
    assert any(c.value == "Your guesses this session: 1 of 2 right." for c in at.caption)
    bars = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    revealed = next(b for b in bars if b["data"][0]["type"] == "bar" and "looks at" in b["layout"]["title"]["text"])
    assert torch.allclose(torch.tensor(revealed["data"][0]["y"]), row, atol=1e-6)  # the row, as the model gives it
    assert len(at.get("plotly_chart")) >= 3  # the probabilities, the row, and the heads of the open tab
    # the same question again (another page and back) is not asked twice
    at.switch_page("pages/predict.py").run()
    at.switch_page("pages/attention.py").run()
    assert any(c.value == "Your guesses this session: 1 of 2 right." for c in at.caption)


def test_in_presenter_mode_the_class_votes_and_the_teacher_reveals_in_chinese():
    at = attention_with_exercise("zh", mode="present")
    assert any("请举手投票" in c.value for c in at.caption) and not at.metric
    next(b for b in at.button if b.label == "揭晓").click().run()
    assert at.metric  # revealed: the prediction
    next(b for b in at.button if b.label == "揭晓").click().run()
    assert any("它最关注" in i.value for i in at.info)
    assert at.session_state["_kept"].get("exercise_score") is None  # a class's vote is not a student's score


def test_step_by_step_asks_before_the_scores_and_an_answer_counts_on_both_pages():
    truth = inspect_sentence(load(ASSETS_CHECKPOINT), SENTENCE)
    at = new_app()
    at.query_params.update({"layer": "0", "head": "1", "query": "2", "step": "4"})
    at.switch_page("pages/step_by_step.py")
    at.run()
    at.toggle(key="exercise").set_value(True).run()
    assert any("In layer 0, head 1: which word does “love” look at most?" in m.value for m in at.markdown)
    assert not at.get("plotly_chart") and not at.latex  # the scores wait
    row = truth.trace.layers[0].attention.weights[0, 1, 2]
    wrong = next(i for i in range(len(truth.tokens)) if i not in most_attended(row))
    next(g for g in at.button_group if g.key.startswith("guess_")).set_value(wrong).run()
    assert any("You picked" in w.value for w in at.warning) and at.latex  # now the scores
    assert any(c.value == "Your guesses this session: 0 of 1 right." for c in at.caption)
    # the same question on Attention is already answered: not asked again
    at.switch_page("pages/attention.py").run()
    next(g for g in at.button_group if g.key.startswith("guess_")).set_value(truth.prediction).run()
    at.selectbox(key="exercise_layer").set_value(0).run()
    at.selectbox(key="exercise_head").set_value(1).run()
    at.selectbox(key="exercise_query").set_value(2).run()
    assert any("You picked" in w.value for w in at.warning)
    assert any(c.value == "Your guesses this session: 1 of 2 right." for c in at.caption)


def test_every_step_from_the_scores_on_waits_for_the_guess():
    """Step 8 (the softmax weights) shows the answer as plainly as step 4: opened first, it asks too."""
    at = new_app()
    at.query_params.update({"layer": "0", "head": "1", "query": "2", "step": "8"})
    at.switch_page("pages/step_by_step.py")
    at.run()
    at.toggle(key="exercise").set_value(True).run()
    assert any("which word does “love” look at most?" in m.value for m in at.markdown)
    assert not at.get("plotly_chart")  # no weights yet
    at.selectbox(key="steps_section").set_value("x").run()  # step 1 tells nothing: it is shown
    assert at.get("plotly_chart") and not any("look at most" in m.value for m in at.markdown)
