"""An experiment in the address (ui/link.py): read, write, and the page that uses them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from model.config import PRESETS
from model.data import builtin_names
from model.sections import SECTIONS
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


# ---- the view a page shows: /attention?sentence=…&layer=…&head=…, /step_by_step?…&query=…&step=… ------
STEPS = ["x", "w", "qkv", "scores", "scaled"]
SIZES = {"layer": 2, "head": 4, "query": 7}


def test_a_view_link_reads_back_as_the_values_the_page_keeps():
    params = {"sentence": "the film was not good", "layer": "1", "head": "3", "query": "6", "step": "4", "lr": "x"}
    values, ignored = link.read_view("step_by_step", params, SIZES, STEPS, "all")
    assert values == {
        "sentence": "the film was not good",
        "steps_layer": 1,
        "steps_head": 3,
        "steps_query": 6,
        "steps_section": "scores",  # steps are numbered from 1, as the page numbers its sections
    }
    assert not ignored  # lr is the Train page's: not a view parameter
    assert link.write_view("step_by_step", values, "I love this movie!", STEPS) == {
        k: v for k, v in params.items() if k != "lr"
    }
    # Attention reads the sentence, layer and head, not a query or a step
    values, _ = link.read_view("attention", params, SIZES, STEPS, "all")
    assert values == {"sentence": "the film was not good", "attention_layer": 1, "attention_head": 3}
    assert link.read_view("step_by_step", {"step": "ALL"}, SIZES, STEPS, "all")[0] == {"steps_section": "all"}


@pytest.mark.parametrize(
    ("name", "text", "allowed"),
    [
        ("layer", "2", "0 … 1"),
        ("head", "-1", "0 … 3"),
        ("head", "1.5", "0 … 3"),
        ("query", "7", "0 … 6"),
        ("step", "0", "1 … 5, all"),
        ("step", "six", "1 … 5, all"),
        ("sentence", "   ", "1 … 2000 characters"),
        ("sentence", "x" * 2001, "1 … 2000 characters"),
    ],
)
def test_a_view_value_the_page_does_not_offer_is_ignored_and_named(name, text, allowed):
    values, ignored = link.read_view("step_by_step", {name: text}, SIZES, STEPS, "all")
    assert values == {} and ignored == [(name, text[:40], allowed)]


def test_the_default_sentence_and_unset_values_stay_out_of_the_address():
    kept = {"sentence": "I love this movie!", "steps_layer": 0, "steps_section": None}
    assert link.write_view("step_by_step", kept, "I love this movie!", STEPS) == {"layer": "0"}


def view_link(page: str, lang: str = "en", **params) -> AppTest:
    """A new visitor opening /``page``?params directly (not through Home)."""
    at = new_app(lang)
    at.query_params.update(params)
    at.switch_page(f"pages/{page}.py")
    return at.run()


def test_a_step_by_step_link_opens_exactly_that_view_and_the_address_keeps_it():
    from model.checkpoint import ASSETS_CHECKPOINT, load

    sentence = "the plot was not good at all"
    at = view_link("step_by_step", sentence=sentence, layer="1", head="2", query="3", step="4")
    assert not at.exception and not at.warning
    assert [at.selectbox[i].value for i in range(4)] == [1, 2, 3, "scores"]  # layer, head, query, section
    assert at.text_input(key="sentence_input_steps").value == sentence
    tokens = load(ASSETS_CHECKPOINT).tokenizer.encode(sentence, 64).tokens
    assert at.selectbox[2].format_func(3) == f"3: {tokens[3]}"  # the query is the sentence's 4th token
    scores_title = strings("en")[SECTIONS[3].title_key]
    headings = [h.value for h in (*at.subheader, *at.header, *at.markdown)]
    assert any(scores_title in h for h in headings)  # the fourth section is the one shown
    assert not any(strings("en")[SECTIONS[4].title_key] in h for h in headings)
    assert dict(at.query_params) == {"sentence": sentence, "layer": "1", "head": "2", "query": "3", "step": "4"}
    # the teacher moves on to the next step: the address follows
    at.selectbox[3].set_value("scaled").run()
    assert at.query_params["step"] == "5"


def test_an_attention_link_opens_its_layer_and_head_and_names_what_it_ignored_in_chinese():
    at = view_link("attention", "zh", sentence="这部电影很好看", layer="0", head="9", query="2")
    assert not at.exception
    kept = at.session_state["_kept"]
    assert kept["sentence"] == "这部电影很好看" and kept["attention_layer"] == 0
    assert kept["attention_head"] == 0  # head 9 of a 4-head model: ignored, the default used
    warning = " ".join(w.value for w in at.warning)
    assert "链接中的以下设置无效" in warning and "head = 9（可选：0 … 3）" in warning
    assert "query" not in warning  # Attention has no query: not its parameter, not named
    assert at.button_group(key="attention_layer").value == 0
    assert at.query_params["layer"] == "0" and "query" not in at.query_params
