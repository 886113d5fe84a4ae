"""Presenter mode (?mode=present): larger type and figures, no sidebar or settings, one step a screen."""

from __future__ import annotations

import json

import torch

from figures import heatmap, probabilities
from figures.base import for_projector
from model.sections import SECTIONS
from tests.conftest import new_app


def presenting(page: str, lang: str = "en", **params):
    at = new_app(lang)
    at.query_params.update({"mode": "present", **params})
    at.switch_page(f"pages/{page}.py")
    return at.run()


def test_a_figure_for_the_projector_is_larger_and_draws_the_same_numbers():
    z = torch.randn(4, 5)
    small = heatmap(z, list("abcde"), list("wxyz"), x_title="key", signed=True)
    large = for_projector(small, 1.5)
    sent = lambda fig: json.loads(fig.to_json())  # noqa: E731 - what Streamlit sends to the browser
    assert sent(large)["data"][0]["z"] == sent(small)["data"][0]["z"]
    assert large.layout.height == round(small.layout.height * 1.5)
    assert large.layout.font.size == small.layout.font.size * 1.5
    assert large.layout.xaxis.title.text == "key"
    bars = probabilities(["neg", "pos"], [0.25, 0.75])
    bigger = for_projector(bars, 1.3)
    assert sent(bigger)["data"][0]["x"] == sent(bars)["data"][0]["x"]
    font_sizes = lambda fig: sorted(  # noqa: E731
        v for k, v in _walk(json.loads(fig.to_json())) if k == "size" and isinstance(v, (int, float))
    )
    assert [round(v * 1.3, 1) for v in font_sizes(bars)] == font_sizes(bigger)


def _walk(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)
    else:
        yield key, node


def test_step_by_step_presents_one_step_a_screen_moved_by_back_and_next():
    at = presenting("step_by_step", step="4")
    assert not at.exception
    assert not any(s.label == "Section" for s in at.selectbox)  # no list of sections: Back and Next
    # what the knobs are set to, above the step; the knobs folded away so that the step comes first
    shown = [c.value.replace("\\", "") for c in at.caption]  # as Markdown draws it, unescaped
    assert "Step 4 of 16 · ← → to move · layer 0 · head 0 · query 0: [CLS]" in shown, shown
    folded = next(e for e in at.expander if e.label.startswith("Layer, head and query"))
    assert not folded.proto.expanded and {s.label for s in folded.selectbox} >= {"Layer", "Head"}
    keys = {b.key for b in at.button}
    assert {"steps_section_next_top", "steps_section_next_bottom", "steps_section_previous_top"} <= keys
    assert not at.sidebar.button or all(b.label != "Presenter mode" for b in at.sidebar.button)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert chart["layout"]["font"]["size"] == 15 * 1.3  # drawn for the projector
    at.button(key="steps_section_next_top").click().run()
    assert at.query_params["step"] == "5" and at.query_params["mode"] == "present"
    assert any(c.value.startswith("Step 5 of 16") for c in at.caption)
    shown = [h.value for h in at.markdown if h.value.startswith("### ")]
    assert shown == [f"### 5. {json.loads(open('assets/i18n/en.json').read())[SECTIONS[4].title_key]}"]
    # the way out: the address loses mode=present, the list of sections is back
    next(b for b in at.button if b.label == "Leave presenter mode").click().run()
    assert "mode" not in at.query_params and any(s.label == "Section" for s in at.selectbox)
    assert any(b.label == "Presenter mode" for b in at.sidebar.button)


def test_the_train_page_presents_the_run_without_its_settings_in_chinese():
    at = presenting("train", "zh")
    assert not at.exception
    assert not any(e.label == "设置" for e in at.expander) and not at.get("slider")
    assert any(b.label == "▶ 开始" for b in at.button)  # the run itself is still driven from here


def test_a_mode_the_app_does_not_have_is_named_and_ignored():
    at = new_app()
    at.query_params.update({"mode": "slides"})
    at.switch_page("pages/attention.py")
    at.run()
    assert any("mode = slides" in w.value and "allowed" in w.value and "present" in w.value for w in at.warning)
    assert "mode" not in at.query_params and any(b.label == "Presenter mode" for b in at.sidebar.button)
