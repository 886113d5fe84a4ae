"""An experiment in the address (ui/link.py): read, write, and the page that uses them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from model.config import PRESETS
from model.data import builtin_names
from model.settings import ON_PAGE, preset_values
from tests.conftest import ROOT, new_app
from ui import link
from ui.i18n import strings

DATASETS = builtin_names()


def test_a_teachers_link_reads_back_as_the_settings_it_names():
    values, ignored = link.read(
        {
            "preset": "tiny",
            "lr": "1e-2",
            "d_model": "64",
            "dropout": "0.15",
            "epochs": "3",
            "pooling": "mean",
            "dataset": "sentiment_zh",
            "vocab_size": "2000",
            "lang": "zh",
            "utm_source": "mail",
        },
        DATASETS,
    )
    assert ignored == []
    assert values == {
        "preset": "tiny",
        "d_model": 64,
        "dropout": 0.15,
        "pooling": "mean",
        "lr": 0.01,
        "epochs": 3,
        "dataset": "sentiment_zh",
        "vocab_size": 2000,
    }
    assert isinstance(values["d_model"], int) and isinstance(values["epochs"], int)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("d_model", "abc"),
        ("d_model", "100"),
        ("d_model", "64.5"),
        ("lr", "nan"),
        ("lr", "inf"),
        ("lr", "0.5"),
        ("epochs", "0"),
        ("epochs", "51"),
        ("epochs", "2.5"),
        ("seed", "-1"),
        ("dropout", "0.12"),
        ("dropout", "-0"),
        ("preset", "huge"),
        ("dataset", "../../etc/passwd"),
        ("pooling", "max"),
        ("tokenizer", "BPE"),
        ("n_heads", ""),
        ("batch_size", "1e400"),
    ],
)
def test_a_value_the_widget_does_not_offer_is_ignored_and_named(name, text):
    values, ignored = link.read({name: text, "d_ff": "512"}, DATASETS)
    if (name, text) == ("dropout", "-0"):  # -0 is the choice 0: accepted
        assert values == {"dropout": 0.0, "d_ff": 512} and ignored == []
        return
    assert values == {"d_ff": 512}  # the good one is still used
    assert [(n, v) for n, v, _ in ignored] == [(name, text)]
    assert ignored[0][2]  # and what it may be instead


def test_an_overlong_value_is_cut_in_the_message():
    _, ignored = link.read({"d_model": "9" * 5000}, DATASETS)
    assert len(ignored[0][1]) == 40


def test_every_presets_values_are_among_the_widgets_choices():
    for name in PRESETS:
        for setting in ON_PAGE:
            value = preset_values(name)[setting.name]
            if setting.choices:
                assert value in setting.choices, (name, setting.name, value)
            else:
                assert setting.low <= value <= setting.high


def test_a_link_to_the_defaults_is_empty_and_names_only_what_differs():
    default = {
        **preset_values("small"),
        "preset": "small",
        "dataset": "sentiment_en",
        "tokenizer": "wordpiece",
        "vocab_size": 8000,
    }
    assert link.write(default, "sentiment_en") == {}
    assert link.write({**default, "lr": 0.01, "dropout": 0.15000000000000002}, "sentiment_en") == {
        "dropout": "0.15",
        "lr": "0.01",
    }
    tiny = {**default, **preset_values("tiny"), "preset": "tiny"}
    assert link.write(tiny, "sentiment_en") == {"preset": "tiny"}
    assert link.write({**tiny, "dataset": "sentiment_zh"}, "sentiment_en") == {
        "preset": "tiny",
        "dataset": "sentiment_zh",
    }


SETTING = {
    s.name: st.sampled_from(list(s.choices)) if s.choices else st.integers(int(s.low), int(s.high)) for s in link.LINKED
}


@settings(max_examples=200, deadline=None)
@given(
    preset=st.sampled_from(list(PRESETS)),
    chosen=st.fixed_dictionaries({}, optional=SETTING),
    dataset=st.sampled_from(DATASETS),
)
def test_any_settings_survive_a_round_trip_through_the_address(preset, chosen, dataset):
    settings_ = {
        **preset_values(preset),
        "tokenizer": "wordpiece",
        "vocab_size": 8000,
        **chosen,
        "preset": preset,
        "dataset": dataset,
    }
    params = link.write(settings_, "sentiment_en")
    assert all(isinstance(v, str) for v in params.values())
    values, ignored = link.read(params, DATASETS)
    assert ignored == []
    # Opening the link: the preset, then what the link names on top of it, gives the same settings.
    opened = {
        **preset_values(values.get("preset", "small")),
        "tokenizer": "wordpiece",
        "vocab_size": 8000,
        "dataset": "sentiment_en",
        "preset": "small",
        **values,
    }
    assert opened == settings_


# ---- the Train page --------------------------------------------------------------------------------


def shown(element) -> str:
    """An element's Markdown as the reader sees it: without the escaping backslashes."""
    return element.value.replace("\\", "")


def open_train_page_at(params: dict[str, str], lang: str = "en"):
    at = new_app(lang)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/train.py")  # as a browser opening /train?... : the session's first page
    at.run()
    assert not at.exception
    return at


def test_opening_a_shared_link_starts_from_its_settings_and_says_so():
    at = open_train_page_at({"preset": "tiny", "lr": "0.01", "d_ff": "128", "dataset": "sentiment_zh", "seed": "7"})
    s = at.session_state
    assert (s["preset"], s["hp_lr"], s["hp_d_ff"], s["hp_seed"]) == ("tiny", 0.01, 128, 7)
    assert s["_kept"]["settings"]["lr"] == 0.01  # kept where every page reads it, not only in the widget
    assert s["hp_d_model"] == preset_values("tiny")["d_model"]  # the rest from the preset
    assert s["data"].name == "sentiment_zh"
    assert any(
        "lr = 0.01" in shown(i) and "d_ff = 128" in shown(i) and "dataset = sentiment_zh" in shown(i) for i in at.info
    )
    assert not at.warning
    # The widgets show those values, so Start trains what the link described.
    assert next(w for w in at.select_slider if w.key == "hp_lr").value == 0.01


def test_a_broken_link_still_opens_the_page_names_what_it_ignored_and_keeps_the_rest():
    at = open_train_page_at({"d_model": "<b>**big**</b>", "n_heads": "3", "lr": "0.003"}, lang="zh")
    s = at.session_state
    assert s["hp_d_model"] == 128 and s["hp_n_heads"] == 4  # the default preset's values
    assert s["hp_lr"] == 0.003
    [warning] = at.warning
    assert "n_heads = 3（可选：1, 2, 4, 8）" in shown(warning)
    # What a link says is shown as text, never as markup: every Markdown character is escaped.
    assert "d\\_model = \\<b\\>\\*\\*big\\*\\*\\</b\\>" in warning.value


def test_the_address_follows_the_settings_as_they_change():
    at = open_train_page_at({})
    assert not any(k in at.query_params for k in link.ORDER)  # the defaults: a plain address
    at.select_slider(key="hp_d_ff").set_value(512).run()
    at.select_slider(key="hp_dropout").set_value(0.25).run()
    assert {k: at.query_params[k] for k in link.ORDER if k in at.query_params} == {"d_ff": "512", "dropout": "0.25"}
    at.select_slider(key="hp_d_ff").set_value(256).run()  # back to the preset's value: gone from the address
    assert "d_ff" not in at.query_params and at.query_params["dropout"] == "0.25"
    # And a second student opening that address gets the same settings.
    again = open_train_page_at(dict(at.query_params))
    assert (again.session_state["hp_dropout"], again.session_state["hp_d_ff"]) == (0.25, 256)


def test_a_chinese_teachers_link_opens_in_chinese_on_the_chinese_data():
    at = open_train_page_at({}, lang="zh")
    at.number_input(key="hp_epochs").set_value(3).run()
    assert at.query_params["lang"] == "zh" and at.query_params["epochs"] == "3"
    assert "dataset" not in at.query_params  # the Chinese default, implied by lang=zh
    student = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)  # no language chosen yet
    for key, value in at.query_params.items():
        student.query_params[key] = value
    student.switch_page("pages/train.py")
    student.run()
    assert student.session_state["data"].name == "sentiment_zh" and student.session_state["hp_epochs"] == 3
    assert student.title[0].value == at.title[0].value == strings("zh")["train_title"]  # in Chinese
