"""A classroom at once: training faults in the UI, isolated sessions, server limits, and load."""

import pytest

from tests.conftest import click, new_app, train_page


@pytest.mark.slow
def test_a_learning_rate_of_ten_stops_with_the_reason_and_keeps_good_weights():
    at = click(train_page(new_app(), hp_lr=10.0, hp_epochs=20), "▶ Start")
    run = at.session_state["run"]
    assert run.join(timeout=120)
    at.run()
    assert not at.exception
    assert run.status == "diverged"
    assert any("Training stopped: the " in e.value and "smaller learning rate" in e.value for e in at.error)
    import torch

    assert all(torch.isfinite(p).all() for p in run.view().checkpoint.model.parameters())


@pytest.mark.slow
def test_stop_reset_and_page_switches_in_the_middle_of_a_run():
    at = click(train_page(new_app(), hp_epochs=50), "▶ Start")
    run = at.session_state["run"]
    for page in ("pages/attention.py", "pages/step_by_step.py", "pages/predict.py", "pages/data.py", "pages/train.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
    assert run.active, "a page switch must not stop training"
    click(at, "⏹ Stop")
    assert run.join(timeout=20) and run.status == "stopped"
    at.run()
    assert not at.exception
    click(at, "Yes, throw it away")  # a finished run's results are not lost to one stray click either
    assert run.status == "idle" and not run.view().steps and not run.thread_alive
    click(at, "▶ Start")
    click(at, "Yes, throw it away")  # reset while training, once asked: the worker ends, nothing is left behind
    assert not run.thread_alive and run.status == "idle"


@pytest.mark.slow
def test_sessions_are_isolated():
    alice, bob = new_app(), new_app()
    bob.run()
    bob.switch_page("pages/train.py")
    bob.run()
    bob_settings = {k: bob.session_state[k] for k in ("hp_d_model", "hp_n_layers", "hp_lr", "preset")}
    click(train_page(alice, hp_epochs=3), "▶ Start")
    assert alice.session_state["run"].join(timeout=120)
    alice.switch_page("pages/attention.py")
    alice.run()
    assert any("the one you trained" in c.value for c in alice.caption)
    bob.switch_page("pages/attention.py")
    bob.run()
    assert any("bundled model" in i.value for i in bob.info), "bob must still see the bundled model"
    assert bob.session_state["run"] is not alice.session_state["run"]
    assert bob.session_state["run"].status == "idle"
    bob.switch_page("pages/train.py")
    bob.run()
    assert {k: bob.session_state[k] for k in bob_settings} == bob_settings


@pytest.mark.slow
def test_the_number_of_runs_training_at_once_is_limited_with_a_message():
    from model.config import preset
    from model.data import load_builtin
    from model.session import MAX_CONCURRENT_RUNS, TrainingRun

    ds = load_builtin("colour")
    others = [TrainingRun() for _ in range(MAX_CONCURRENT_RUNS)]
    try:
        for run in others:
            run.start(ds.train, ds.valid, *preset("tiny", epochs=500))
        at = click(train_page(new_app()), "▶ Start")
        assert not at.exception
        assert any("Too many models are training" in e.value for e in at.error)
        assert at.session_state["run"].status == "idle"
    finally:
        for run in others:
            run.stop()
        for run in others:
            assert run.join(timeout=30)
    at = click(train_page(new_app()), "▶ Start")  # a slot is free again
    assert at.session_state["run"].status in ("preparing", "training", "paused", "done")
    at.session_state["run"].reset()


@pytest.mark.slow
def test_model_size_and_input_limits_are_enforced_by_the_widgets():
    at = train_page(new_app())
    limits = {s.label: s.options for s in at.select_slider}
    assert max(map(int, limits["d_model"])) <= 512 and max(map(int, limits["Layers (N)"])) <= 6
    assert max(map(int, limits["Feed-forward width"])) <= 2048 and max(map(int, limits["Batch size"])) <= 256
    at.switch_page("pages/attention.py")
    at.run()
    assert at.text_input(key="sentence_input_attention").max_chars == 2000


@pytest.mark.slow
def test_twenty_concurrent_sessions_while_one_trains():
    """The load test of bench/load.py, shortened: the real server, 20 sessions, no errors."""
    from bench.load import run

    result = run(sessions=20, seconds=30, reference=False)
    assert result["errors"] == 0, result["first_errors"]
    assert result["updates"] >= 10  # the server kept answering (throughput varies with the machine)
    # With Streamlit's post-run gc off (.streamlit/config.toml), many reruns must not pile up memory.
    assert result["server_peak_rss_mb"] is None or result["server_peak_rss_mb"] < 1000


def test_settings_survive_a_visit_to_another_page():
    at = train_page(new_app(), hp_n_layers=4, hp_lr=0.01)
    at.switch_page("pages/attention.py")
    at.run()
    at.switch_page("pages/train.py")
    at.run()
    assert at.session_state["hp_n_layers"] == 4 and at.session_state["hp_lr"] == 0.01
    assert at.select_slider(key="hp_n_layers").value == 4


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_run_waiting_for_the_cluster_says_its_place_in_the_queue(lang):
    """On a Ray cluster a run may wait for a place (model/cluster.py): the Train page and the sidebar say
    where it is, in the page's language, and Stop is offered."""
    import time

    from model.session import TrainingRun

    class Queued(TrainingRun):  # what RayTrainingRun.view() returns while the cluster is full
        def view(self):
            view = super().view()
            view.queue_position = 3
            return view

    at = new_app(lang)
    at.run()
    at.session_state["run"] = Queued(status="queued", started_at=time.time())
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    expected = {"en": "number 3 in the queue", "zh": "队列中第 3 位"}[lang]
    assert any(expected in i.value for i in at.info), [i.value for i in at.info]
    # Train shows the run whole; its sidebar has no second view of it to poll
    assert not any(expected in m.value for m in at.sidebar.markdown), [m.value for m in at.sidebar.markdown]
    stop = next(b for b in at.button if b.label in ("⏹ Stop", "⏹ 停止"))
    assert not stop.disabled
    at.switch_page("pages/attention.py")
    at.run()
    assert any(expected in m.value for m in at.sidebar.markdown), [m.value for m in at.sidebar.markdown]
    assert at.session_state["_drawn_queued"] is True  # the views of the run refresh at the queue's rate


def test_a_run_on_the_cluster_asks_the_actor_at_most_once_per_interval(monkeypatch):
    """Every open tab polls (Train each second, the sidebar every two): the actor is asked at most every
    POLL_SECONDS while the run trains, every QUEUE_POLL_SECONDS while it waits, heartbeats a few times a window."""
    from model import cluster

    clock = [1000.0]
    monkeypatch.setattr(cluster.time, "monotonic", lambda: clock[0])
    run = cluster.RayTrainingRun(address="127.0.0.1:1", abandon_after=120)
    run._actor, run.status = object(), "training"
    asked, beats = [], []
    monkeypatch.setattr(run, "_poll", lambda: asked.append(clock[0]))
    monkeypatch.setattr(run, "_call", lambda method: beats.append((method, clock[0])))
    for _ in range(3):
        run.view(), run.heartbeat()
    assert asked == [1000.0] and beats == [("heartbeat", 1000.0)]
    clock[0] += cluster.POLL_SECONDS
    run.view()
    assert asked == [1000.0, 1000.0 + cluster.POLL_SECONDS]
    run.status = "queued"
    clock[0] += cluster.POLL_SECONDS
    run.view()  # waiting: not asked again before QUEUE_POLL_SECONDS
    assert len(asked) == 2
    clock[0] += cluster.QUEUE_POLL_SECONDS
    run.view(), run.heartbeat()
    assert len(asked) == 3 and len(beats) == 1  # 3 s since the last heartbeat
    clock[0] += 2.0
    run.heartbeat()
    assert beats == [("heartbeat", 1000.0), ("heartbeat", clock[0])]  # every 5 s: 24 within the 120-s window


def test_a_cluster_that_cannot_be_reached_is_said_on_the_page_and_the_settings_stay(monkeypatch):
    monkeypatch.setenv("CLASSROOM_RAY_ADDRESS", "127.0.0.1:1")  # nothing listens there
    at = train_page(new_app(), hp_dropout=0.3)
    settings = dict(at.session_state["_kept"]["settings"])
    click(at, "▶ Start")
    assert not at.exception, [e.value for e in at.exception]
    shown = [e.value.replace("\\", "") for e in at.error]  # the address as the page shows it (unescaped)
    assert any("training cluster cannot take this run" in e and "127.0.0.1:1" in e for e in shown), shown
    assert at.session_state["run"].status == "idle"
    assert at.session_state["_kept"]["settings"] == settings and settings["dropout"] == 0.3
