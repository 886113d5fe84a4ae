"""Step by step: numbered from one list of sections, shown one at a time or all, with tables that take any tokens."""

import json

import pytest

from model.sections import ALL, SECTIONS
from tests.conftest import ROOT, new_app, open_page

PAGE = "pages/step_by_step.py"
STRINGS = {lang: json.loads((ROOT / "assets" / "i18n" / f"{lang}.json").read_text("utf-8")) for lang in ("en", "zh")}


def headings(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("### ")]


def scrolled_to(at) -> list[str]:
    """The sections this run brings into view: after a previous or next click, the one it opened."""
    body = " ".join(h.proto.body for h in at.get("html"))
    return [s.key for s in SECTIONS if f"querySelector('.st-key-section_{s.key}')?.scrollIntoView" in body]


def test_every_section_has_one_key_and_a_title_in_both_languages():
    keys = [section.key for section in SECTIONS]
    assert len(set(keys)) == len(keys) and ALL not in keys
    for lang, strings in STRINGS.items():
        assert all(strings.get(section.title_key) for section in SECTIONS), lang
    assert {section.part for section in SECTIONS} == {"attention", "feed_forward", "what_if"}


def test_one_section_at_a_time_numbered_from_the_list_with_previous_and_next():
    numbered = [f"{n}. {STRINGS['en'][section.title_key]}" for n, section in enumerate(SECTIONS, 1)]
    at = open_page(new_app(), PAGE)
    box = at.selectbox(key="steps_section")
    assert box.options == ["All sections"] + numbered
    assert headings(at) == [f"### {numbered[0]}"]  # the first section, alone
    assert not any(b.key == "steps_section_previous_bottom" for b in at.button)  # nothing before the first
    at.button(key="steps_section_next_bottom").click().run()
    assert headings(at) == [f"### {numbered[1]}"] and at.selectbox(key="steps_section").value == SECTIONS[1].key
    assert scrolled_to(at) == [SECTIONS[1].key]  # its heading, not the button at its end, comes into view
    at.run()
    assert scrolled_to(at) == []  # once: a later run (a new head, say) leaves the reader where they are
    at.button(key="steps_section_previous_bottom").click().run()
    assert headings(at) == [f"### {numbered[0]}"] and scrolled_to(at) == [SECTIONS[0].key]
    at.selectbox(key="steps_section").set_value(SECTIONS[-2].key).run()
    assert headings(at) == [f"### {numbered[-2]}"] and scrolled_to(at) == []
    at.button(key="steps_section_next_bottom").click().run()  # to the last section, which has no next button
    assert headings(at) == [f"### {numbered[-1]}"] and scrolled_to(at) == [SECTIONS[-1].key]
    assert not any(b.key == "steps_section_next_bottom" for b in at.button)
    at.selectbox(key="steps_section").set_value(ALL).run()
    assert headings(at) == [f"### {title}" for title in numbered]  # every one, in the list's order
    # the choice is kept while the student looks at another page
    at.switch_page("pages/attention.py").run()
    at.switch_page(PAGE).run()
    assert at.selectbox(key="steps_section").value == ALL and len(headings(at)) == len(SECTIONS)
    assert not at.exception


@pytest.mark.parametrize("lang, sentence", [("en", "the cat saw the dog"), ("zh", "我的猫看见了我的狗")])
def test_tables_take_repeated_tokens_and_padding(lang, sentence):
    """A token that comes twice and the [PAD] tokens after a short sentence made pandas refuse the
    tables ("Duplicate column names"): every table names its rows and columns uniquely."""
    at = open_page(new_app(lang), PAGE)
    at.text_input(key="sentence_input_steps").set_value(sentence).run()
    next(t for t in at.toggle if t.label == STRINGS[lang]["show_tables"]).set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="steps_section").set_value(ALL).run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [d.value for d in at.dataframe]
    assert len(tables) >= 18  # the page's matrices, the exp table and the what-if, all as tables
    for table in tables:
        assert table.columns.is_unique and table.index.is_unique, table
    (padded,) = [table for table in tables if any("[PAD]" in str(c) for c in table.columns)]  # the mask section
    n = len(padded.columns)
    assert list(padded.columns[-3:]) == [f"{i}: [PAD]" for i in range(n - 3, n)]  # each named by its position
