"""The layout on a classroom projector (1400 × 900) and on a phone (390 × 844), measured in Chromium.

What only a browser shows: where Plotly puts its toolbar, how wide a figure is drawn, which of a
page's two layouts a screen gets (figures/screens.py), whether a table scrolls inside the page.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bench.serve import CHROMIUM

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (see README)"),
]

PROJECTOR, PHONE = (1400, 900), (390, 844)
LONG_SENTENCE = "the acting was good but the ending of this long film was far too slow"  # 16 tokens with [CLS]

# Every visible Plotly figure: its box, its traces, its toolbar, its titles and labels, and each
# x axis's tick labels (boxes in page pixels).
FIGURES_JS = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const texts = (p, selector) => [...p.querySelectorAll(selector)].filter(e => e.textContent.trim())
      .map(e => ({text: e.textContent, box: box(e)}));
  return [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.offsetParent).map(p => ({
    box: box(p),
    traces: p.data.map(d => d.type),
    toolbar: [...p.querySelectorAll('.modebar')].map(box),
    titles: texts(p, '.gtitle, .g-xtitle text, .g-ytitle text, .annotation-text, .bartext, .xtick text'),
    plots: [...p.querySelectorAll('.nsewdrag')].map(box),
    key_axes: [...p.querySelectorAll('.xaxislayer-above')].map(layer => texts(layer, 'text')),
  }));
}"""

# The weights of the heatmap on screen (a phone's one head).
SHOWN_HEAD_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.offsetParent)
    .map(p => p.data[0].type === 'heatmap' && JSON.stringify(p.data[0].z)).filter(Boolean)[0]"""

# Whether at least n visible figures draw a heatmap.
HEATMAPS_SHOWN_JS = """n => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(p => p.offsetParent && (p.data || []).some(d => d.type === 'heatmap')).length >= n"""


def wait_idle(page, timeout=60_000):
    """Until Streamlit has run the script and drawn what it sent (no status, nothing stale)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !(document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText || '').includes('Running')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=timeout,
    )
    page.wait_for_timeout(1000)  # Plotly and the tables draw after the script has finished


@contextlib.contextmanager
def opened(browser, server, path: str, screen: tuple[int, int], sentence: str | None = None):
    """A page in a window of ``screen``'s size (a phone's with touch), with ``sentence`` typed if given."""
    phone = screen == PHONE
    context = browser.new_context(viewport=dict(zip(("width", "height"), screen)), has_touch=phone, is_mobile=phone)
    try:
        page = context.new_page()
        page.goto(f"{server}/{path}?lang=en")
        page.wait_for_selector("h1", timeout=60_000)
        wait_idle(page)
        if sentence:
            box = page.get_by_role("textbox", name="Your sentence")
            box.fill(sentence)
            box.press("Enter")
            page.wait_for_function(
                f"() => [...document.querySelectorAll('.js-plotly-plot .ytick text')].some(t => t.textContent === "
                f"{sentence.split()[-1]!r})",
                timeout=30_000,
            )
            wait_idle(page)
        yield page
    finally:
        context.close()


def figures(page) -> list[dict]:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p.offsetParent)", timeout=30_000
    )
    return page.evaluate(FIGURES_JS)


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def bundled_tokens(sentence: str) -> list[str]:
    from model.checkpoint import ASSETS_CHECKPOINT, load

    return load(ASSETS_CHECKPOINT).tokenizer.encode(sentence, 64).tokens


def test_the_toolbar_never_covers_a_title(browser, server):
    """Plotly's toolbar (always shown on a touch screen) stood over the heads' titles, the bars'
    labels and the top axis's title and labels: on a projector and on a phone, on every figure of
    Attention (a layer's heads, one head's lines, [CLS]'s heatmap and bars) and Predict, nothing it covers."""
    covered, seen = [], 0

    def check(page, where):
        nonlocal seen
        for figure in figures(page):
            assert figure["toolbar"], (where, "a figure without its toolbar")
            seen += 1
            hits = [t["text"] for t in figure["titles"] for bar in figure["toolbar"] if overlap(t["box"], bar)]
            covered.extend([(where, hits)] if hits else [])

    for screen in (PROJECTOR, PHONE):
        with opened(browser, server, "attention", screen, LONG_SENTENCE) as page:
            check(page, (screen, "attention"))
            for tab, shown in (("Token to token", ".js-plotly-plot .textpoint"), ("What [CLS] looks at", ".bartext")):
                page.get_by_role("tab", name=tab).click()
                page.wait_for_selector(shown, timeout=30_000)
                wait_idle(page)
                check(page, (screen, tab))
        with opened(browser, server, "predict", screen) as page:
            check(page, (screen, "predict"))
    assert seen >= 12 and not covered, covered


def test_a_phone_shows_one_head_at_a_time_wide_enough_to_read(browser, server):
    """Four heads side by side shared 160 px on a 390-px phone: Attention and Predict show one head
    at a time, picked with a row of buttons, across the phone's width."""
    with opened(browser, server, "attention", PHONE) as page:
        (heads,) = [f for f in figures(page) if "heatmap" in f["traces"]]  # the layer tab's only heatmap figure
        assert heads["traces"] == ["heatmap"] and heads["box"][2] - heads["box"][0] > 300, heads["box"]
        assert heads["plots"][0][2] - heads["plots"][0][0] > 220, heads["plots"]  # the heatmap itself
        before = page.evaluate(SHOWN_HEAD_JS)
        page.get_by_role("radio", name="head 2", exact=True).click()
        wait_idle(page)
        after = page.evaluate(SHOWN_HEAD_JS)
        assert after != before  # another head's weights
    with opened(browser, server, "predict", PHONE) as page:
        page.wait_for_function(HEATMAPS_SHOWN_JS, arg=2, timeout=30_000)  # Plotly draws them one by one
        heads = [f for f in figures(page) if "heatmap" in f["traces"]]
        assert [f["traces"] for f in heads] == [["heatmap"]] * 2  # one head of each sentence
        assert all(f["box"][2] - f["box"][0] > 300 for f in heads), [f["box"] for f in heads]


def test_the_heads_figure_labels_every_key(browser, server):
    """Plotly labelled every other key of the heads: every key is labelled, its label clear of the
    next, on a projector (heads in rows where a sentence is long) and on a phone (one head)."""
    tokens = bundled_tokens(LONG_SENTENCE)
    assert len(tokens) == 16
    for screen in (PROJECTOR, PHONE):
        with opened(browser, server, "attention", screen, LONG_SENTENCE) as page:
            (heads,) = [f for f in figures(page) if "heatmap" in f["traces"]]
            assert len(heads["key_axes"]) == len(heads["traces"]) == (4 if screen == PROJECTOR else 1)
            for axis in heads["key_axes"]:
                assert [label["text"] for label in axis] == tokens, (screen, axis)
                rights = [label["box"][2] for label in axis]
                assert min(b - a for a, b in zip(rights, rights[1:])) >= 12, (screen, rights)


def test_the_predict_table_shows_every_row_and_its_percentages_on_a_phone(browser, server):
    """On a phone the interactive grid cut its columns off (a sentence ended in "…"), and more than ten
    sentences scrolled inside it, inside the scrolling page. A phone now gets a plain table: every row,
    the prediction and both percentages, and each sentence whole, wrapped within the screen's width."""
    with opened(browser, server, "predict", PHONE) as page:
        lines = page.get_by_role("textbox", name="One sentence per line")
        sentences = [f"the film was good and the long evening went by far too quickly {n}" for n in range(12)]
        lines.fill("\n".join(sentences))
        lines.press("Control+Enter")
        page.wait_for_function(
            "() => document.querySelectorAll('[class*=st-key-narrow_predictions] tbody tr').length === 12",
            timeout=30_000,
        )
        wait_idle(page)
        table = page.evaluate("""() => {
            const table = document.querySelector('[class*=st-key-narrow_predictions] table');
            const rows = [...table.querySelectorAll('tbody tr')].map(tr => [...tr.children]);
            return {right: table.getBoundingClientRect().right,
                    wide_shown: !!document.querySelector('[class*=st-key-wide_predictions]').offsetParent,
                    head: [...table.querySelectorAll('thead th')].map(th => th.textContent.trim()),
                    cells: rows.map(cells => cells.map(c => c.textContent.trim())),
                    cut: rows.flat().filter(c => c.scrollWidth > c.clientWidth + 1).length};
        }""")
        assert not table["wide_shown"] and table["right"] <= PHONE[0], table
        assert table["head"] == ["predicted", "negative", "positive", "text"], table["head"]
        assert [row[-1] for row in table["cells"]] == sentences and table["cut"] == 0
        assert all(row[0] in ("negative", "positive") and row[1].endswith("%") for row in table["cells"])


def test_a_page_chosen_in_the_sidebar_on_a_phone_closes_the_sidebar(browser, server):
    """Streamlit left the sidebar open over the page a student had just chosen on a phone."""
    with opened(browser, server, "attention", PHONE) as page:
        page.locator("[data-testid='stExpandSidebarButton']").click()
        sidebar = page.locator("[data-testid='stSidebar']")
        right = "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right"
        page.wait_for_function(f"{right} > 200")
        sidebar.locator("[data-testid='stSidebarNav']").get_by_text("Predict", exact=True).click()
        page.wait_for_selector("h1:has-text('Predict')", timeout=30_000)
        page.wait_for_function(f"{right} <= 1", timeout=10_000)
    with opened(browser, server, "attention", (1400, 900)) as page:  # a projector keeps its sidebar
        page.locator("[data-testid='stSidebarNav']").get_by_text("Predict", exact=True).click()
        page.wait_for_selector("h1:has-text('Predict')", timeout=30_000)
        page.wait_for_timeout(1000)
        assert page.evaluate(right) > 200


def test_home_draws_the_diagrams_text_readable_and_its_table_whole_on_a_phone(browser, server):
    """The architecture diagram's text was 11 px on a projector; the parameter table needed 500 px and
    was cut off on a phone."""
    for screen in (PROJECTOR, PHONE):
        with opened(browser, server, "", screen) as page:
            page.wait_for_selector("[data-testid=stGraphVizChart] svg text", timeout=30_000)
            wait_idle(page)
            measured = page.evaluate("""() => {
                const label = [...document.querySelectorAll('[data-testid=stGraphVizChart] svg text')]
                    .find(t => t.textContent === 'LayerNorm');
                const table = [...document.querySelectorAll('[data-testid=stDataFrame], [data-testid=stTable]')]
                    .find(e => e.offsetParent);
                const inner = table.querySelector('.dvn-scroller') || table.querySelector('table').parentElement;
                return {font_px: parseFloat(getComputedStyle(label).fontSize) * label.getScreenCTM().a,
                        table: [inner.scrollWidth, inner.clientWidth]};
            }""")
            assert measured["font_px"] >= 14, (screen, measured)
            assert measured["table"][0] <= measured["table"][1], (screen, measured)  # every column on screen
