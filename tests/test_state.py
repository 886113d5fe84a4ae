"""What a session keeps (ui/state.py): settings, choices and the run survive every path a teacher takes.

Each test walks a path that lost state or work before the app layer was rebuilt (issue 18):
settings back at their minimum after a run, a run thrown away by a click on another page, the
last trained model dropped by the next Start.
"""

from __future__ import annotations

import time

from model.data import Dataset
from tests.conftest import TEXTS, click, new_app, open_page, set_settings
from ui.state import DataChoice

# 60 short sentences, two labels: a run on them takes a second or two.
SMALL = Dataset(TEXTS + TEXTS[:10], [i % 2 for i in range(60)], ["negative", "positive"])


def small_data(at) -> None:
    at.session_state["data"] = DataChoice(SMALL, SMALL, "small.csv", False)


def wait_for(run, status: set[str], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while run.status not in status and time.time() < deadline:
        time.sleep(0.05)
    assert run.status in status, (run.status, run.error)


def test_settings_survive_other_pages_a_language_switch_and_a_finished_run():
    at = open_page(new_app(), "pages/train.py")
    at.button_group(key="preset").set_value("tiny").run()
    at.select_slider(key="hp_lr").set_value(0.01).run()
    at.number_input(key="hp_epochs").set_value(1).run()
    small_data(at)
    chosen = dict(at.session_state["_kept"]["settings"])
    click(at, "▶ Start")
    for page in ("pages/attention.py", "pages/step_by_step.py", "pages/data.py", "pages/train.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, page
    at.sidebar.button_group(key="lang").set_value("zh").run()
    wait_for(at.session_state["run"], {"done"})
    at.run()
    assert not at.exception
    assert at.session_state["_kept"]["settings"] == chosen
    # and the widgets show them
    assert (at.select_slider(key="hp_lr").value, at.number_input(key="hp_epochs").value) == (0.01, 1)
    assert at.select_slider(key="hp_d_model").value == 32  # tiny's, not the slider's first option (16)
    assert at.query_params["preset"] == "tiny" and at.query_params["lr"] == "0.01"


def test_a_run_in_progress_is_shown_on_every_page_and_not_offered_to_be_replaced():
    at = open_page(new_app(), "pages/train.py")
    small_data(at)
    set_settings(at, preset="tiny", epochs=50)
    click(at, "▶ Start")
    run = at.session_state["run"]
    run.pause()
    for page in ("pages/home.py", "pages/attention.py", "pages/predict.py"):
        at.switch_page(page)
        at.run()
        sidebar = " ".join(m.value for m in at.sidebar.markdown)
        assert "Paused" in sidebar or "Training" in sidebar, (page, sidebar)
        assert not any(b.label == "⚡ Quick train" for b in at.button), page  # it would replace the run
    at.switch_page("pages/attention.py")
    at.run()
    assert any("still training" in i.value for i in at.info)
    assert not any("quick training" in i.value for i in at.info)  # no invitation to start another
    assert run.status == "paused"  # nothing above touched it
    run.stop()
    run.join(10)


def test_throwing_a_run_away_asks_first():
    at = open_page(new_app(), "pages/train.py")
    small_data(at)
    set_settings(at, preset="tiny", epochs=50)
    click(at, "▶ Start")
    run = at.session_state["run"]
    run.pause()
    at.run()
    labels = [b.label for b in at.button]
    assert "↺ Reset" not in labels  # no one-click reset while a run is on: it is behind a question
    assert "Yes, throw it away" in labels
    assert run.status == "paused"
    click(at, "Yes, throw it away")
    assert run.status == "idle"


def test_the_last_trained_model_stays_in_use_while_the_next_run_trains():
    at = open_page(new_app(), "pages/train.py")
    small_data(at)
    set_settings(at, preset="tiny", epochs=1)
    click(at, "▶ Start")
    run = at.session_state["run"]
    wait_for(run, {"done"})
    at.run()
    first = run.view().checkpoint
    set_settings(at, epochs=50)
    click(at, "▶ Start")  # a second run: the first one's model must not be dropped
    run.pause()
    at.switch_page("pages/attention.py")
    at.run()
    assert at.session_state["model"].checkpoint is first and at.session_state["model"].source == "trained"
    assert not any("bundled model" in i.value for i in at.info)
    run.stop()
    run.join(10)


def test_a_kept_layer_that_the_next_model_lacks_falls_back_to_its_last_layer():
    at = open_page(new_app(), "pages/attention.py")
    at.button_group(key="attention_layer").set_value(1).run()
    assert at.session_state["_kept"]["attention_layer"] == 1
    at.switch_page("pages/predict.py")
    at.run()
    at.switch_page("pages/attention.py")
    at.run()
    assert at.button_group(key="attention_layer").value == 1  # kept across pages


def test_time_left_is_from_the_recent_pace_not_from_a_slow_start():
    """A fresh server's first steps are slow; an estimate from them once said 879 s for a 99 s run."""
    from model.session import RunView
    from model.trainer import StepRecord

    # 10 steps of 2 s (threads and caches warming up), then 90 of 0.1 s; 1000 steps in all
    elapsed = [2.0 * min(i, 10) + 0.1 * max(0, i - 10) for i in range(1, 101)]
    steps = [StepRecord(i, i / 100, 0.5, 1e-3, 100.0, e, 1000) for i, e in enumerate(elapsed, start=1)]
    view = RunView("training", steps, [], [], None, None, None, 0.0)
    assert view.seconds_left == 900 * 0.1  # 900 steps left at the last 50 steps' 0.1 s
    assert RunView("training", steps[:4], [], [], None, None, None, 0.0).seconds_left is None  # too early to say


def test_a_dozen_sentences_get_a_warning_that_the_model_will_learn_them_by_heart():
    at = open_page(new_app("zh"), "pages/train.py")
    tiny = Dataset(TEXTS[:12], [i % 2 for i in range(12)], ["negative", "positive"])
    at.session_state["data"] = DataChoice(tiny, tiny, "twelve.csv", False)
    at.run()
    assert any("12 个训练句子" in w.value for w in at.warning)


def test_a_language_switch_follows_what_is_still_at_its_default_and_keeps_the_rest():
    at = open_page(new_app(), "pages/attention.py")
    assert at.text_input(key="sentence_input_attention").value == "I love this movie!"
    at.sidebar.button_group(key="lang").set_value("zh").run()
    assert at.text_input(key="sentence_input_attention").value == "我很喜欢这部电影！"  # the default follows
    assert at.session_state["data"].name == "sentiment_zh"
    at.text_input(key="sentence_input_attention").set_value("这本书一般。").run()
    at.sidebar.button_group(key="lang").set_value("en").run()
    assert at.text_input(key="sentence_input_attention").value == "这本书一般。"  # what the student typed stays
    assert at.title[0].value == "Attention" and at.query_params.get("lang") is None


def test_a_language_switch_during_a_run_leaves_its_data_alone():
    """The Chinese default dataset used to replace the English one under an English run: its results vanished."""
    at = open_page(new_app(), "pages/train.py")
    set_settings(at, preset="tiny", epochs=50)
    click(at, "▶ Start")
    run = at.session_state["run"]
    run.pause()
    at.sidebar.button_group(key="lang").set_value("zh").run()
    assert at.session_state["data"].name == "sentiment_en" and run.view().valid is not None
    run.stop()
    run.join(10)
