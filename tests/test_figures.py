"""The figure builders draw what they are given: the tokens on the axes, the trace's values."""

import json
import math

import altair as alt
import numpy as np
import torch

from figures import (
    ARCHITECTURE_CSS,
    KEY_PX,
    NARROW_PX,
    SCREENS_CSS,
    TOOLBAR_PX,
    WIDE_PX,
    architecture_dot,
    attention_grid,
    attention_heads,
    attention_history,
    attention_lines,
    confusion_matrix,
    curve_data,
    heads_per_row,
    heatmap,
    probabilities,
    safe,
    token_bars,
    training_curves,
)
from figures.base import columns
from model.checkpoint import Checkpoint
from model.config import ModelConfig
from model.inspect import head_steps, inspect_sentence, what_if_weights
from model.transformer import TransformerClassifier
from tests.conftest import new_app, open_page

# The Train page's curve labels, each named after its key (the page passes them translated).
CURVE_LABELS = {
    k: k
    for k in (
        "train_loss",
        "train_loss_smooth",
        "valid_loss",
        "valid_accuracy",
        "loss_title",
        "accuracy_title",
        "step",
        "loss",
        "accuracy",
    )
}


def test_heatmap_axes_are_the_tokens_and_values_are_the_matrix():
    tokens = ["[CLS]", "the", "film", "the"]  # a repeated token keeps its own row
    w = torch.softmax(torch.randn(4, 4), -1)
    fig = heatmap(w, tokens, tokens)
    trace = fig.data[0]
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.ticktext == tuple(tokens)
    assert len(set(trace.x)) == 4 and [x.rstrip("\u200b") for x in trace.x] == tokens  # and its own column
    assert torch.allclose(torch.tensor(trace.z), w)
    assert [y.rstrip("\u200b") for y in trace.y] == tokens and len(set(trace.y)) == 4  # and its own row
    assert trace.hovertemplate.startswith("%{y} → %{x}")  # hover names the cell: query -> key


def test_numbers_are_written_in_the_cells_only_where_they_can_be_read():
    scores = torch.tensor([[0.5, float("-inf")], [-1.25, 2.0]])
    fig = heatmap(scores, ["a", "b"], ["a", "b"], signed=True)
    assert fig.data[0].text.tolist() == [["0.50", "−∞"], ["-1.25", "2.00"]]  # the trace's own values
    assert math.isnan(fig.data[0].z[0][1])  # a masked score is an empty cell
    for rows, cols in ((6, 32), (25, 25), (60, 8)):  # too narrow or too many cells: colours and hover only
        assert (
            heatmap(torch.randn(rows, cols), [str(i) for i in range(cols)], [str(i) for i in range(rows)]).data[0].text
            is None
        )
    assert heatmap(torch.randn(6, 16), [str(i) for i in range(16)], list("abcdef"), annotate=False).data[0].text is None


def test_numbered_columns_get_ticks_that_follow_the_width():
    """A vector's 128 numbers, or 40 tokens: Plotly picks the ticks for the width it draws at (32
    fixed labels collide on a phone), numbers for the numbered columns, the tokens for named ones."""
    tokens = [f"t{i}" for i in range(40)]
    wide = heatmap(torch.randn(3, 128), [str(i) for i in range(128)], tokens[:3])
    assert wide.layout.xaxis.tickvals is None and wide.layout.xaxis.tickmode in (None, "auto")
    assert wide.layout.yaxis.ticktext == tuple(tokens[:3])
    many_tokens = heatmap(torch.randn(40, 40), tokens, tokens)
    assert many_tokens.layout.xaxis.type == "category" and many_tokens.layout.xaxis.tickvals is None
    assert list(many_tokens.data[0].x) == tokens and many_tokens.layout.yaxis.ticktext == tuple(tokens)
    narrow = heatmap(torch.randn(2, 8), [str(i) for i in range(8)], tokens[:2])
    assert narrow.layout.xaxis.ticktext == tuple(str(i) for i in range(8))


def test_html_in_tokens_is_escaped():
    fig = heatmap([[1.0]], ["<img src=x onerror=alert(1)>"], ["<b>"])
    assert list(fig.data[0].x) == ["&lt;img src=x onerror=alert(1)&gt;"] and fig.layout.yaxis.ticktext == ("&lt;b&gt;",)
    assert safe("<script>") == "&lt;script&gt;"


def test_attention_figures_show_the_trace(tokenizer, tiny_model):
    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    result = inspect_sentence(ckpt, "I love this movie!")
    layer = result.trace.layers[1].attention.weights[0]  # (H, T, T)
    fig = attention_heads(layer, result.tokens, [f"h{h}" for h in range(4)])
    assert len(fig.data) == 4
    for h in range(4):
        assert torch.allclose(torch.tensor(fig.data[h].z), layer[h])
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.ticktext == tuple(result.tokens)
    keys = fig.data[0].x  # every key its own column, reading as its token ("this ... this" stays two)
    assert len(set(keys)) == len(keys) and [k.rstrip("\u200b") for k in keys] == result.tokens
    repeated = attention_heads(torch.full((1, 4, 4), 0.25), ["the", "cat", "the", "the"], ["h0"]).data[0].x
    assert len(set(repeated)) == 4 and [k.rstrip("\u200b") for k in repeated] == ["the", "cat", "the", "the"]
    grid = attention_grid(
        torch.stack([lt.attention.weights[0] for lt in result.trace.layers]),
        result.tokens,
        ["L0", "L1"],
        ["h0", "h1", "h2", "h3"],
    )
    assert len(grid.data) == 8
    assert torch.allclose(torch.tensor(grid.data[5].z), result.trace.layers[1].attention.weights[0, 1])


def test_attention_lines_join_each_query_to_each_key_as_opaque_as_its_weight(tokenizer, tiny_model):
    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    result = inspect_sentence(ckpt, "She doesn't like this book.")
    w = result.trace.layers[1].attention.weights[0, 2]  # (T, T)
    T = len(result.tokens)
    fig = attention_lines(w, result.tokens, "query", "key")
    drawn = {}  # (query, key) -> opacity of its line
    for trace in fig.data[:-2]:
        alpha = float(trace.line.color.split(",")[-1].rstrip(")"))
        ends = [(trace.x[k], trace.y[k]) for k in range(len(trace.x)) if trace.x[k] is not None]
        for (x0, query), (x1, key) in zip(ends[::2], ends[1::2]):
            assert x0 < x1  # from the query column (left) to the key column (right)
            drawn[(query, key)] = alpha
    assert set(drawn) == {(i, j) for i in range(T) for j in range(T) if w[i, j] >= 0.025}
    assert all(abs(alpha - float(w[i, j])) <= 0.025 for (i, j), alpha in drawn.items())  # opacity = weight
    left, right = fig.data[-2:]
    assert list(left.text) == list(right.text) == result.tokens and set(left.x) == {0} and set(right.x) == {1}
    best = int(w[3].argmax())  # a query's hover starts with the key it looks at most, with the weight
    assert left.hovertext[3].split("<br>")[1] == f"{result.tokens[best]}  {float(w[3, best]):.3f}"
    assert attention_lines(torch.eye(2), ["<b>", "x"]).data[-2].text == ("&lt;b&gt;", "x")


def test_the_grid_leaves_room_under_each_row_for_the_longest_label():
    """Between two rows of heads: the slanted labels of the row above, then the titles. A Chinese
    character is about twice as wide as a Latin one, so seven of them need more room than eight letters."""
    w = torch.full((2, 1, 3, 3), 1 / 3)
    short = attention_grid(w, ["[CLS]", "good", "x"], ["L0", "L1"], ["h0"])
    latin = attention_grid(w, ["[CLS]", "abcdefgh", "x"], ["L0", "L1"], ["h0"])
    chinese = attention_grid(w, ["[CLS]", "非常好看的电影", "x"], ["L0", "L1"], ["h0"])
    assert short.layout.height < latin.layout.height < chinese.layout.height
    for fig in (short, latin, chinese):  # the row above ends where its labels need it to
        gap = fig.layout.yaxis.domain[0] - fig.layout.yaxis2.domain[1]
        assert gap * (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b) >= fig.layout.margin.b + 36


def test_the_attention_history_animates_every_snapshot_and_opens_on_the_last():
    T = 4
    frames = [(step, torch.softmax(torch.randn(T, T), -1), (f"at step {step}", "a 10%")) for step in (0, 10, 20, 25)]
    labels = {"play": "play", "pause": "pause", "step": "step", "query": "query", "key": "key"}
    fig = attention_history(frames, ["[CLS]", "<b>", "b", "c"], labels)
    assert [f.name for f in fig.frames] == ["0", "10", "20", "25"]
    for frame, (_, weights, caption) in zip(fig.frames, frames):
        assert torch.allclose(torch.tensor(frame.data[0].z), weights)  # each frame is that snapshot's weights
        assert frame.layout.title.text == "<br>".join(caption)  # a line each
        assert frame.data[0].text[0][0] == f"{float(weights[0, 0]):.2f}"
    assert torch.allclose(torch.tensor(fig.data[0].z), frames[-1][1]) and fig.layout.title.text == "at step 25<br>a 10%"
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0, 1)  # one colour scale for every frame
    slider = fig.layout.sliders[0]
    assert slider.active == 3 and [s.label for s in slider.steps] == ["0", "10", "20", "25"]
    assert [list(s.args[0]) for s in slider.steps] == [["0"], ["10"], ["20"], ["25"]]  # each step shows its frame
    play, pause = fig.layout.updatemenus[0].buttons
    assert play.method == "animate" and play.args[0] is None and list(pause.args[0]) == [None]
    assert fig.layout.yaxis.ticktext[1] == "&lt;b&gt;"


def test_step_by_step_numbers_are_the_models(tokenizer, tiny_model):
    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    result = inspect_sentence(ckpt, "She doesn't like this book.")
    for query in (0, 3):
        s = head_steps(result, tiny_model, layer=1, head=2, query=query)
        assert torch.allclose(s.x_norm @ s.W_Q + s.b_Q, s.q, atol=1e-5)
        assert torch.allclose(s.x_norm @ s.W_V + s.b_V, s.v, atol=1e-5)
        assert torch.allclose(s.q @ s.k.T, s.scores, atol=1e-5)
        assert torch.allclose(s.exp / s.row_sum, s.weights[query], atol=1e-6)
        assert torch.allclose(s.weights @ s.v, s.output, atol=1e-5)
        assert torch.allclose(s.concat @ s.W_O + s.b_O, s.attn_out, atol=1e-5)
        assert torch.allclose(s.concat[:, 2 * s.d_k : 3 * s.d_k], s.output)
        assert torch.allclose(s.x + s.attn_out, s.residual, atol=1e-6)
    # the what-if with its defaults reproduces the model; without scaling the softmax is peakier
    assert torch.allclose(what_if_weights(s.scores + s.mask, s.d_k), s.weights, atol=1e-6)
    sharper = what_if_weights(s.scores + s.mask, s.d_k, scale=False)
    assert sharper.max(-1).values.mean() >= s.weights.max(-1).values.mean()
    flatter = what_if_weights(s.scores + s.mask, s.d_k, temperature=5.0)
    assert flatter.max(-1).values.mean() <= s.weights.max(-1).values.mean()


def test_charts_carry_their_data():
    chart = probabilities(["neg", "pos"], [0.25, 0.75])
    assert list(chart.data[0].x) == [0.25, 0.75] and list(chart.data[0].y) == ["neg", "pos"]
    assert chart.layout.xaxis.range == (0, 1) and chart.layout.xaxis.tickvals[-1] == 1  # the axis ends labelled 100%
    sure = probabilities(["neg", "pos"], [1e-6, 1 - 1e-6])  # every class keeps its percentage, even 0.0%
    assert sure.data[0].text == ("0.0%", "100.0%") and sure.data[0].textposition == ("outside", "inside")
    bars = token_bars([0.1, 0.9], ["[CLS]", "<b>"], "t", "weight")
    assert list(bars.data[0].y) == [0.1, 0.9] and bars.layout.xaxis.ticktext == ("[CLS]", "&lt;b&gt;")
    labels = CURVE_LABELS
    loss, accuracy = curve_data([(1, 0.7), (2, 0.6), (3, 0.5)], [(3, 0.55, 0.8)], labels)
    assert list(loss["series"]) == ["train_loss"] * 3 + ["train_loss_smooth"] * 3 + ["valid_loss"]
    assert list(loss["step"]) == [1, 2, 3, 1, 2, 3, 3]
    assert list(loss["loss"].iloc[[0, 1, 2, 6]]) == [0.7, 0.6, 0.5, 0.55]
    assert list(accuracy["valid_accuracy"]) == [0.8] and list(accuracy["series"]) == ["valid_accuracy"]


def test_long_curves_are_thinned_but_keep_the_last_step():
    labels = CURVE_LABELS
    steps = [(i, 1.0 / i) for i in range(1, 1001)]
    loss, _ = curve_data(steps, [], labels, max_points=300)
    raw = loss[loss["series"] == "train_loss"]
    assert 250 <= len(raw) <= 301 and len(loss) == 2 * len(raw)
    assert raw["step"].iloc[0] == 1 and raw["step"].iloc[-1] == 1000 and raw["step"].is_monotonic_increasing
    assert all(raw["loss"] == 1.0 / raw["step"])  # every point kept is a real (step, loss) pair
    assert len(curve_data(steps[:300], [], labels, max_points=300)[0]) == 2 * 300  # short runs keep every step


def test_the_training_loss_is_also_drawn_smoothed():
    """Each batch's loss is noisy; its moving average follows the trend without the noise."""
    rng = np.random.default_rng(0)
    trend = np.linspace(0.7, 0.1, 400)
    steps = [(i + 1, float(v)) for i, v in enumerate(trend + rng.normal(0, 0.1, 400))]
    loss, _ = curve_data(steps, [], CURVE_LABELS, max_points=400)
    raw = loss.loc[loss["series"] == "train_loss", "loss"].to_numpy()
    smooth = loss.loc[loss["series"] == "train_loss_smooth", "loss"].to_numpy()
    assert smooth[0] == raw[0]  # bias corrected: it starts at the first loss, not at 0
    assert np.abs(np.diff(smooth)).sum() < np.abs(np.diff(raw)).sum() / 5  # far less jagged
    assert np.abs(smooth[50:] - trend[50:]).mean() < np.abs(raw[50:] - trend[50:]).mean() / 2  # nearer the trend
    flat, _ = curve_data([(i, 0.3) for i in range(1, 40)], [], CURVE_LABELS)
    assert np.allclose(flat["loss"], 0.3)  # a constant loss stays itself
    thinned, _ = curve_data(steps, [], CURVE_LABELS, max_points=100)  # thinning keeps the average of every step
    kept = thinned.loc[thinned["series"] == "train_loss_smooth"].set_index("step")["loss"]
    assert np.allclose(kept, loss.loc[loss["series"] == "train_loss_smooth"].set_index("step")["loss"].loc[kept.index])


def test_confusion_matrix_counts():
    fig = confusion_matrix(["neg", "pos"], [0, 0, 1, 1, 1], [0, 1, 1, 1, 0], {"predicted": "p", "true": "t"})
    assert [list(row) for row in fig.data[0].z] == [[1, 1], [1, 2]]
    # the axis titles name the two sides; the predicted classes stand on top, under the toolbar's band
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("p", "t") and fig.layout.xaxis.side == "top"
    assert fig.layout.title.pad.t >= TOOLBAR_PX and fig.layout.xaxis.automargin


def test_architecture_uses_the_models_sizes():
    labels = {
        k: k
        for k in (
            "tokens",
            "embedding",
            "position",
            "block",
            "attention",
            "ffn",
            "pooling",
            "classifier",
            "probabilities",
            "residual",
        )
    }
    dot = architecture_dot(3, 64, 8, 256, "cls", 5, labels, vocab_size=50, activation="GELU")
    assert "3 × block" in dot and "8 × softmax" in dot and "64 → 256 → 64" in dot and "64 → 5" in dot
    assert "(50 × 64)" in dot and "ffn (GELU)" in dot
    # the same LayerNorms as the model: two in every block, and the final one between the blocks and the pooling
    model = TransformerClassifier(ModelConfig(vocab_size=50, d_model=64, n_heads=8, n_layers=3, d_ff=256))
    n_norms = sum(isinstance(m, torch.nn.LayerNorm) for m in model.modules())
    assert n_norms == 3 * 2 + 1 and dot.count('[label="LayerNorm"]') == 2 + 1 and "add2 -> ln_f -> pool" in dot


def test_every_altair_chart_is_a_valid_vega_lite_spec():
    """The app sends these unvalidated (ui/widgets.py show_chart, the Train page's curves), so
    they are validated here, the curve specs with the rows the page sends them."""
    labels = CURVE_LABELS
    from figures import label_balance

    balance = label_balance({"a": 3, "b": 4}, "t", "类别", "句子数").to_dict(validate=True)  # raises if invalid
    assert balance["encoding"]["y"]["title"] == "句子数" and balance["encoding"]["tooltip"][0]["title"] == "类别"
    assert balance["encoding"]["x"]["axis"]["labelAngle"] == 0  # two short labels stand upright, not on end
    many = label_balance({f"class {i}": 1 for i in range(10)}).to_dict(validate=True)
    assert many["encoding"]["x"]["axis"]["labelAngle"] == -45
    for evals in ([(2, 0.65, 0.5)], []):
        rows = curve_data([(1, 0.7), (2, 0.6)], evals, labels)
        for spec, data in zip(training_curves(labels), rows):
            assert "data" not in spec and "datasets" not in spec  # the page sends only the rows
            alt.Chart.from_dict({**spec, "data": {"values": data.to_dict("records")}}, validate=True)


def test_curve_specs_are_built_once_and_cannot_be_changed_by_a_caller():
    labels = CURVE_LABELS
    first, _ = training_curves(labels)
    first["title"]["text"] = "changed"
    assert training_curves(labels)[0]["title"]["text"] == "loss_title"
    assert training_curves({**labels, "loss_title": "损失"})[0]["title"]["text"] == "损失"


# ---- the toolbar, and the two screens (tests/test_browser_layout.py measures the same in Chromium) ----


def toolbar_band_problems(fig) -> list[str]:
    """What a figure draws in the band at its top where Plotly's toolbar stands (always, on a touch screen).

    A title stands in the figure's container coordinates under the band and reserves its height
    (automargin), so that a top axis's labels and title stand under it; titles of subplots (the
    annotations above the plots) fit between the band and the plots; anything else starts below the band.
    """
    layout = fig.layout
    problems = []
    title = layout.title
    if title.text:
        if not (title.yref == "container" and title.y == 1 and title.yanchor == "top" and title.automargin):
            problems.append(f"title not reserved at the top: {title}")
        elif (title.pad.t or 0) < TOOLBAR_PX:
            problems.append(f"title {title.text!r} in the toolbar's band: pad.t={title.pad.t}")
    elif any(getattr(layout[name], "side", None) == "top" for name in layout if name.startswith("xaxis")):
        problems.append("a top axis without a title reserving the band above it")
    over_plots = [a for a in layout.annotations or () if a.yref == "paper" and a.y >= 1 and a.yanchor == "bottom"]
    lines = max((a.text.count("<br>") + 1 for a in over_plots), default=0)
    if layout.margin.t is not None and not title.text and layout.margin.t < TOOLBAR_PX + 18 * lines:
        problems.append(f"top margin {layout.margin.t} under the band and {lines} line(s) of subplot titles")
    top, bottom = layout.yaxis.range or (None, None)
    if layout.yaxis.autorange is not True and bottom is not None and top > bottom:  # reversed: the top is `bottom`
        px_per_unit = (layout.height - layout.margin.t - layout.margin.b) / (top - bottom)
        for a in layout.annotations or ():  # a title in data coordinates, 20 px tall, must stay inside the plot
            if a.yref == "y" and a.y - {"bottom": 1, "middle": 0.5, "top": 0}[a.yanchor] * 20 / px_per_unit < bottom:
                problems.append(f"{a.text!r} reaches above the plot, into the margin")
    return problems


def test_no_figure_draws_where_the_toolbar_stands():
    """Plotly's toolbar covered the confusion matrix's axis title, the heads' titles, the what-if
    titles and the top bar of the probabilities: every figure keeps the band at its top clear."""
    tokens = ["[CLS]", "the", "film", "was", "good"]
    w = torch.softmax(torch.randn(2, 4, 5, 5), -1)
    frames = [(step, w[0, 0], (f"step {step}", "a 10%")) for step in (0, 5)]
    history_labels = {"play": "play", "pause": "pause", "step": "step", "query": "query", "key": "key"}
    figures = {
        "confusion_matrix": confusion_matrix(["neg", "pos"], [0, 1], [0, 0], {"predicted": "p", "true": "t"}),
        "heatmap": heatmap(w[0, 0], tokens, tokens),
        "cls_heatmap": heatmap(w[0, :, 0], tokens, ["h0", "h1", "h2", "h3"], x_title="key", y_title="head"),
        "attention_heads": attention_heads(w[0], tokens, ["h0", "h1", "h2", "h3"], "query", "key"),
        "one_head": attention_heads(w[0, :1], tokens, ["h0"], "query", "key", width=NARROW_PX),
        "attention_grid": attention_grid(w, tokens, ["L0", "L1"], ["h0", "h1", "h2", "h3"]),
        "attention_lines": attention_lines(w[0, 0], tokens, "query", "key"),
        "attention_history": attention_history(frames, tokens, history_labels),
        "what_if": token_bars([0.2] * 5, tokens, "the model's row", "weight", y_max=0.5),
        "cls_mean": token_bars([0.2] * 5, tokens, "", "weight"),
        "probabilities": probabilities(["neg", "pos"], [0.3, 0.7]),
    }
    problems = {name: found for name, fig in figures.items() if (found := toolbar_band_problems(fig))}
    assert not problems, problems


def test_the_heads_figure_labels_every_key_and_names_its_axes():
    """Plotly labelled every other key of a layer's heads (it thins a category axis to the width it
    draws at): now every key is labelled, and as many heads stand side by side as leave each key
    ``KEY_PX``; the query and key axes are named."""
    tokens = "[CLS] the acting was good but the ending of this long film was far too slow".split()
    assert len(tokens) == 16
    w = torch.softmax(torch.randn(4, 16, 16), -1)
    fig = attention_heads(w, tokens, ["h0", "h1", "h2", "h3"], "query (asking)", "key (looked at)")
    axes = [fig.layout[f"xaxis{n or ''}"] for n in ["", 2, 3, 4]]
    for axis in axes:
        assert axis.tickmode == "array" and [t.rstrip("\u200b") for t in axis.tickvals] == tokens
        assert list(axis.ticktext) == tokens
    assert fig.layout.yaxis.title.text == "query (asking)" and not fig.layout.yaxis2.title.text
    assert sum(a.text == "key (looked at)" for a in fig.layout.annotations) == 2  # under each row of heads
    # 16 keys of 15 px do not fit four heads in a projector's column: two rows of two
    assert heads_per_row(4, 16, WIDE_PX) == 2 and fig.layout.xaxis.domain[1] > 0.45
    assert heads_per_row(4, 6, WIDE_PX) == 4 and heads_per_row(4, 64, WIDE_PX) == 1
    for n_tokens in (4, 11, 16, 30):
        per_row = heads_per_row(8, n_tokens, WIDE_PX)
        assert 8 % per_row == 0 and (per_row == 1 or per_row * n_tokens * KEY_PX <= WIDE_PX - 150)
    # one head on a phone: the whole width, its colour scale under it
    one = attention_heads(w[:1], tokens, ["h0"], "query", "key", width=NARROW_PX)
    assert len(one.data) == 1 and one.layout.xaxis.domain[1] == 1.0
    assert one.layout.coloraxis.colorbar.orientation == "h"


def drawn_under(at, key: str) -> list:
    """The elements drawn inside ``st.container(key=key)`` of the page AppTest ran."""

    def find(node):
        if getattr(getattr(node, "proto", None), "id", "").endswith(f"-{key}"):
            return node
        for child in getattr(node, "children", {}).values():
            if (found := find(child)) is not None:
                return found
        return None

    def elements(node) -> list:
        children = getattr(node, "children", None)
        return [e for child in children.values() for e in elements(child)] if children is not None else [node]

    block = find(at._tree)
    assert block is not None, f"no container {key!r}"
    return elements(block)


def plotly_traces(elements) -> list[int]:
    """How many traces each Plotly figure among ``elements`` draws."""
    return [len(json.loads(e.proto.spec)["data"]) for e in elements if e.type == "plotly_chart"]


def test_the_pages_draw_a_layout_for_the_projector_and_one_for_the_phone():
    """On a 390-px phone four heads shared 160 px, the Predict table cut its percentages off and Home's
    parameter table its columns. Streamlit cannot see the screen's width, so each page draws those
    parts twice, ``wide_*`` and ``narrow_*``, and its SCREENS_CSS shows one (measured in
    tests/test_browser_layout.py): on a phone one head at a time, with a head picker."""
    at = open_page(new_app(), "pages/attention.py")
    assert any(SCREENS_CSS in h.proto.body for h in at.get("html"))
    assert plotly_traces(drawn_under(at, "wide_heads")) == [4]
    narrow = drawn_under(at, "narrow_heads")
    assert plotly_traces(narrow) == [1] and any(e.type == "button_group" for e in narrow)
    at = open_page(new_app(), "pages/predict.py")
    assert any(SCREENS_CSS in h.proto.body for h in at.get("html"))
    assert any(e.type == "button_group" for e in drawn_under(at, "narrow_compare_head"))
    for side in ("compare_a", "compare_b"):
        assert plotly_traces(drawn_under(at, f"wide_{side}")) == [4]
        assert plotly_traces(drawn_under(at, f"narrow_{side}")) == [1]
    # the prediction and the percentages first: a phone shows them, and the sentences from their start
    assert list(at.dataframe[0].proto.column_order) == ["predicted", "negative", "positive", "text"]
    at = open_page(new_app(), "pages/home.py")
    assert any(SCREENS_CSS in h.proto.body and ARCHITECTURE_CSS in h.proto.body for h in at.get("html"))
    assert [e.type for e in drawn_under(at, "wide_parameters")] == ["dataframe"]
    (table,) = [e for e in drawn_under(at, "narrow_parameters") if e.type == "table"]
    assert list(table.value.columns) == list(at.dataframe[0].value.columns)


def test_the_architecture_diagrams_boxes_hold_their_labels_at_the_size_drawn():
    """Streamlit drew the diagram's text at 10 px, whatever its source said (11 px on a projector):
    the page's CSS draws it at the size Graphviz made the boxes for, and each box is made wide enough
    for its longest line, a Chinese character counting twice (Graphviz measured it as one)."""
    import re

    names = ("tokens", "embedding", "position", "block", "attention", "ffn", "pooling", "classifier", "probabilities")
    labels = {k: k for k in (*names, "residual")}
    labels["tokens"] = "词元（[CLS] 我 很 喜 欢 …）"
    dot = architecture_dot(2, 128, 4, 256, "平均", 2, labels, vocab_size=3040, activation="ReLU")
    size = int(re.search(r"node \[[^]]*fontsize=(\d+)", dot).group(1))
    assert f"svg text {{ font-size: {size}px; }}" in ARCHITECTURE_CSS and size >= 14
    tokens_box = re.search(r'tokens \[label="([^"]*)", width=([\d.]+)', dot)
    assert float(tokens_box.group(2)) * 72 >= columns(labels["tokens"]) * size / 2  # half an em a column


def test_no_string_asks_a_touch_screen_to_hover():
    """A phone has no mouse to hover with: a string that says hover also says tap."""
    from ui.i18n import strings

    touch_words = {"en": (("hover", "mouse"), ("tap",)), "zh": (("悬停", "鼠标"), ("点一下", "轻点"))}
    for lang, (hover, tap) in touch_words.items():
        for key, text in strings(lang).items():
            if any(word in text.lower() for word in hover):
                assert any(word in text.lower() for word in tap), (lang, key, text)


# ---- why the model decided (figures/explain.py) ---------------------------------------------------------------


def test_the_attribution_heatmap_draws_each_method_scaled_to_its_own_largest_value(tokenizer, tiny_model):
    """z is the explanation's values divided by each row's largest magnitude; the hover keeps the raw value;
    the signed methods share a diverging scale, rollout (never negative) has its own."""
    from figures import attribution_heatmap, scaled_rows
    from model.explain import explain

    ckpt = Checkpoint(tiny_model, tokenizer, ["a", "b", "c"])
    e = explain(ckpt, "She doesn't like this book.", ig_steps=8)
    values = [e.gradient_x_input, e.integrated_gradients, e.attention_rollout]
    fig = attribution_heatmap(values, e.tokens, ["gxi", "ig", "rollout"], (True, True, False))
    signed, rollout = fig.data
    expected = [[v / max(abs(x) for x in row) for v in row] for row in values]
    assert np.allclose(signed.z, expected[:2], atol=1e-6) and np.allclose(rollout.z, expected[2:], atol=1e-6)
    assert (signed.zmin, signed.zmax, rollout.zmin, rollout.zmax) == (-1, 1, 0, 1)
    assert list(signed.y) == [0, 1] and list(rollout.y) == [2]  # the rows stand in the methods' order
    assert fig.layout.yaxis.ticktext == ("gxi", "ig", "rollout")
    assert [x.rstrip("\u200b") for x in signed.x] == e.tokens
    raw = [[cell[0] for cell in row] for row in signed.customdata]  # the method's own value, for the hover box
    assert np.allclose(raw, values[:2]) and signed.customdata[1][2][1] == "ig"
    assert signed.text[0][int(np.argmax(np.abs(values[0])))] in ("+1.00", "-1.00")
    # on a phone: tokens down, methods across, the same numbers transposed
    down = attribution_heatmap(values, e.tokens, ["gradient × input", "ig", "rollout"], (True, True, False), True)
    assert np.allclose(np.array(down.data[0].z).T, expected[:2], atol=1e-6) and list(down.data[1].x) == [2]
    assert down.layout.xaxis.ticktext[0] == "gradient ×<br>input"
    assert np.allclose(scaled_rows([[0.0, 0.0], [2.0, -4.0]]), [[0, 0], [0.5, -1]])  # a row of zeros stays zeros


def test_the_readout_importance_and_pruning_figures_carry_the_models_numbers():
    from figures import importance_heatmap, prune_figure, readout_figure

    readout = torch.tensor([[0.5, 0.5], [0.2, 0.8], [0.1, 0.9]])
    fig = readout_figure(readout, ["neg", "<b>"], ["embedding", "after layer 0", "after layer 1"], "p")
    assert [list(trace.y) for trace in fig.data] == [[0.5, 0.2, 0.1], [0.5, 0.8, 0.9]]
    assert fig.data[1].name == "&lt;b&gt;" and fig.layout.xaxis.ticktext[-1] == "after layer 1"
    assert fig.data[1].text[-1] == "90.0%" and fig.data[0].textposition[-1] == "bottom center"
    change = torch.tensor([[0.01, -0.02], [0.0, 0.05]])
    heat = importance_heatmap(change, ["L0", "L1"], ["h0", "h1"], percent=True, title="accuracy lost")
    assert np.allclose(heat.data[0].z, change) and heat.data[0].zmid == 0
    assert math.isclose(heat.data[0].zmax, 0.05, rel_tol=1e-6)  # one scale, as far as the largest change
    assert heat.data[0].texttemplate == "%{z:+.1%}"
    curve = prune_figure(0.84, [0.83, 0.8, 0.5], ["L0 · h1", "L1 · h0", "L0 · h0"], "heads off", "accuracy")
    assert list(curve.data[0].x) == [0, 1, 2, 3] and list(curve.data[0].y) == [0.84, 0.83, 0.8, 0.5]
    assert list(curve.data[0].customdata) == ["—", "L0 · h1", "L1 · h0", "L0 · h0"]


PROJECTION_WORDS = {k: k for k in ("true", "predicted", "wrong", "probe", "typed", "step", "play", "pause")} | {
    "axis": "PC {n} ({share:.0%})"
}


def test_the_projection_has_a_frame_per_snapshot_and_the_typed_sentence_on_each():
    """model.explain.projection_frames of snapshot-like records: one frame each, the probes on every frame,
    the typed sentence on each frame whose snapshot placed it, misclassified points as crosses."""
    from types import SimpleNamespace

    from figures import projection_figure
    from model.explain import projection_frames

    torch.manual_seed(0)
    labels = [0, 1, 0, 1, 1, 0]
    snapshots = [
        SimpleNamespace(
            step=step,
            pooled=torch.randn(6, 8).tolist(),
            predicted=predicted,
            projection_rows=list(range(6)),
            probe_pooled=torch.randn(2, 8).tolist(),
        )
        for step, predicted in ((0, [0] * 6), (10, [0, 1, 1, 1, 0, 0]), (20, labels))
    ]
    typed = [torch.randn(1, 8), None, torch.randn(1, 8)]  # the middle snapshot kept no weights
    frames = projection_frames(snapshots, extra=typed)
    texts = [f"sentence {i} <b>" for i in range(6)]
    fig = projection_figure(frames, labels, ["neg", "pos"], texts, ["probe a", "probe b"], "typed", PROJECTION_WORDS)
    assert [f.name for f in fig.frames] == ["0", "10", "20"] and fig.layout.sliders[0].active == 2
    for frame, projected, snap in zip(fig.frames, frames, snapshots):
        neg, pos, probes, typed_point = frame.data
        assert np.allclose(neg.x, projected.xy[[0, 2, 5], 0]) and np.allclose(pos.y, projected.xy[[1, 3, 4], 1])
        wrong = [p != y for p, y in zip(snap.predicted, labels)]
        assert list(neg.marker.symbol) == ["x" if wrong[i] else "circle" for i in (0, 2, 5)]
        assert len(probes.x) == 2 and np.allclose(probes.x, projected.extra_xy[:2, 0])
        assert len(typed_point.x) == (0 if frame.name == "10" else 1)  # the typed sentence: where it was placed
        assert np.allclose(typed_point.x, projected.extra_xy[2:, 0])
    assert np.allclose(fig.frames[-1].data[3].x, frames[-1].extra_xy[2:, 0])
    assert np.allclose(fig.data[3].x, frames[-1].extra_xy[2:, 0])  # the figure opens on the last frame
    assert fig.data[0].hovertext[0].startswith("sentence 0 &lt;b&gt;<br>true: neg")
    assert fig.frames[0].layout.xaxis.title.text == f"PC 1 ({frames[0].explained[0]:.0%})"
    # a model not trained in this session: one frame, no animation
    one = projection_figure(
        frames[-1:], labels, ["neg", "pos"], texts, ["probe a", "probe b"], "typed", PROJECTION_WORDS
    )
    assert not one.frames and not one.layout.sliders and len(one.data[3].x) == 1
    legend = [trace.name for trace in one.data if trace.showlegend is not False]
    assert legend == ["probe", "typed", "neg", "pos", "wrong"]  # each class with a circle of its own


def test_hover_sentences_are_shortened_wrapped_and_escaped():
    from figures import hover_sentence

    assert hover_sentence("a <b> c") == "a &lt;b&gt; c"
    long = hover_sentence("word " * 60)
    assert long.endswith("…") and all(len(line) <= 40 for line in long.split("<br>"))
    chinese = hover_sentence("这部电影非常好看" * 20)
    assert all(columns(line) <= 40 for line in chinese.split("<br>")) and chinese.endswith("…")


def test_the_why_figures_keep_the_toolbar_band_clear():
    from types import SimpleNamespace

    from figures import attribution_heatmap, importance_heatmap, projection_figure, prune_figure, readout_figure

    tokens = ["[CLS]", "the", "film", "was", "good"]
    values = torch.randn(3, 5).abs()
    frame = SimpleNamespace(
        step=0, xy=torch.randn(4, 2), predicted=[0, 1, 1, 0], explained=(0.5, 0.2), extra_xy=torch.randn(1, 2)
    )
    figures = {
        "attribution": attribution_heatmap(values, tokens, ["a", "b", "c"], (True, True, False)),
        "attribution_down": attribution_heatmap(values, tokens, ["a", "b", "c"], (True, True, False), True),
        "readout": readout_figure(torch.tensor([[0.5, 0.5], [0.1, 0.9]]), ["n", "p"], ["e", "l0"], "p"),
        "importance": importance_heatmap(torch.zeros(2, 4), ["L0", "L1"], list("abcd"), True, "accuracy lost"),
        "prune": prune_figure(0.8, [0.7], ["L0 · h0"], "off", "accuracy"),
        "projection": projection_figure(
            [frame, frame], [0, 1, 0, 1], ["n", "p"], list("wxyz"), [], "t", PROJECTION_WORDS
        ),
    }
    problems = {name: found for name, fig in figures.items() if (found := toolbar_band_problems(fig))}
    assert not problems, problems


def test_every_figure_built_unchecked_is_the_figure_plotly_would_check(monkeypatch):
    """Figures are built without Plotly's property check (figures.base.VALIDATE, for speed). Built checked,
    every figure of every page (bench/pages.py) and the animated ones must give the very same JSON: a
    misspelt property raises there, and a shorthand Plotly would rewrite (an axis title given as a bare
    string, which plotly.js 3 no longer draws; a colour scale by name, which plotly.js colours otherwise)
    shows as a difference."""
    from types import SimpleNamespace

    import plotly.graph_objects as go
    import plotly.io as pio
    import pytest

    import figures.base
    from bench.pages import page_figures
    from figures import attention_history, projection_figure
    from figures.report import curves_figure
    from model.checkpoint import ASSETS_CHECKPOINT, load

    ckpt = load(ASSETS_CHECKPOINT)
    every_page = page_figures(ckpt, "The staff were rude and unhelpful.")
    w = torch.softmax(torch.randn(5, 5), -1)
    history_labels = {"play": "play", "pause": "pause", "step": "step", "query": "query", "key": "key"}
    frame = SimpleNamespace(
        step=0, xy=torch.randn(4, 2), predicted=[0, 1, 1, 0], explained=(0.5, 0.2), extra_xy=torch.randn(1, 2)
    )

    def every_figure() -> list[dict]:
        built = every_page() + [
            attention_history([(0, w, ("step 0",)), (5, w, ("step 5",))], list("abcde"), history_labels),
            projection_figure([frame, frame], [0, 1, 0, 1], ["n", "p"], list("wxyz"), [], "t", PROJECTION_WORDS),
            curves_figure([(1, 0.7), (2, 0.6)], [(2, 0.65, 0.5)], dict.fromkeys(REPORT_LABELS, "x")),
        ]
        return [json.loads(pio.to_json(fig, validate=False)) for fig in built if isinstance(fig, go.Figure)]

    assert not figures.base.VALIDATE
    unchecked = every_figure()
    monkeypatch.setattr(figures.base, "VALIDATE", True)
    checked = every_figure()
    assert len(checked) == len(unchecked) >= 41
    different = [i for i, (a, b) in enumerate(zip(checked, unchecked)) if a != b]
    assert not different, [(checked[i]["layout"].get("title"), i) for i in different]
    with pytest.raises(ValueError):  # checked, a misspelt property does not pass
        figures.base.figure([dict(type="heatmap", zz=[[1]])], {})
    monkeypatch.setattr(figures.base, "VALIDATE", False)
    figures.base.figure([dict(type="heatmap", zz=[[1]])], {})  # unchecked, it would


REPORT_LABELS = ("step", "loss", "accuracy", "train", "valid")


def test_a_run_report_is_one_offline_file_with_its_figures_tables_and_escaped_text():
    import pandas as pd

    from figures.report import curves_figure, run_report

    curves = curves_figure([(1, 0.7), (2, 0.6)], [(2, 0.65, 0.5)], dict(zip(REPORT_LABELS, REPORT_LABELS)))
    assert [trace.y[-1] for trace in curves.data] == [0.6, 0.65, 0.5]  # the run's own numbers
    table = pd.DataFrame({"v": ["<b>"]}, index=["lr"])
    page = run_report("Run <1>", "today", [("Curves", curves), ("Settings", table), ("Note", "a<b")])
    assert "<script src=" not in page and page.count("Plotly.newPlot") == 1  # plotly.js inline, once
    assert "Run &lt;1&gt;" in page and "&lt;b&gt;" in page and "a&lt;b" in page  # typed text stays text
    assert page.count("<h2>") == 3 and "<table" in page


def test_a_vega_lite_chart_becomes_a_png_1920_pixels_wide_and_an_svg_on_the_server():
    import struct

    from figures.training import EXPORT_WIDTH, chart_image, training_curves

    labels = {**CURVE_LABELS, "loss_title": "损失"}
    loss_spec, _ = training_curves(labels)
    rows, _ = curve_data([(i, 1 / i) for i in range(1, 60)], [(30, 0.5, 0.7), (59, 0.4, 0.8)], labels)
    png = chart_image(loss_spec, rows, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24])[0] == EXPORT_WIDTH
    svg = chart_image(loss_spec, rows, "svg").decode()
    assert svg.startswith("<svg") and "损失" in svg  # the chart's own title, in the page's language
    assert loss_spec.get("data") is None  # the page's spec is left as it was


def test_the_compared_runs_are_charts_of_a_readable_height_with_whole_titles_and_a_full_accuracy_axis():
    """Streamlit fits a chart's whole height, legend and title included, into its height unless the spec asks
    for "fit-x": with a few runs in the legend the plots were ~100 px, the titles cut with "…", and the accuracy
    axis ran to 50%."""
    from figures.training import compare_charts, compare_data, title_lines
    from model.history import RunRecord

    labels = {
        "loss_title": "Loss by step (solid: training, 20-step average; dashed: validation)",
        "accuracy_title": "Validation accuracy by step",
        "step": "step",
        "loss": "loss",
        "accuracy": "accuracy",
        "train": "training loss",
        "valid": "validation loss",
    }
    record = RunRecord.from_meta({"history": {"steps": [[1, 0.7], [2, 0.6]], "evals": [[2, 0.65, 0.42]]}}, {})
    records, names = [record] * 4, [f"Run {n} (42.0%)" for n in range(1, 5)]
    for chart in compare_charts(*compare_data(records, names, labels), labels):
        spec = chart.to_dict()
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"} and spec["height"] >= 260
        assert spec["title"]["limit"] == 0 and all(columns(line) <= 40 for line in spec["title"]["text"])
    accuracy = spec["encoding"]["y"]
    assert accuracy["scale"]["domain"] == [0, 1] and accuracy["axis"]["values"][-1] == 1
    lines = title_lines(labels["loss_title"])
    assert len(lines) == 2 and " ".join(lines) == labels["loss_title"]
    assert "".join(title_lines("每一步的损失（实线：训练，20 步平均；虚线：验证）")).replace(" ", "") == (
        "每一步的损失（实线：训练，20步平均；虚线：验证）"
    )


def test_a_heatmaps_row_labels_and_row_title_take_the_room_they_need_outside_streamlit_too():
    """A report's HTML draws the confusion matrix with plotly.js's defaults: no automargin cut its row labels."""
    from figures.training import confusion_matrix

    fig = confusion_matrix(["negative", "positive"], [0, 1, 1], [0, 1, 0], {"predicted": "p", "true": "t"})
    assert fig.layout.yaxis.automargin is True and fig.layout.xaxis.automargin is True
    assert list(fig.layout.yaxis.ticktext) == ["negative", "positive"] and fig.layout.yaxis.title.text == "t"


def test_every_setting_a_checkpoint_records_has_a_name_in_both_languages_and_a_value_for_people():
    import json

    from model.config import ModelConfig, TrainConfig, to_dict
    from ui.i18n import STRINGS_DIR
    from ui.widgets import setting_text

    names = {**to_dict(ModelConfig()), **to_dict(TrainConfig())}
    for lang in ("en", "zh"):
        strings = json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8"))
        assert [n for n in names if f"hp_{n}" not in strings] == [], lang
    shown = {name: setting_text(name, value) for name, value in names.items()}
    assert shown["activation"] == "ReLU" and shown["tokenizer"] == "WordPiece" and shown["warmup"] == "5%"
    assert shown["vocab_size"] == "8,000" and shown["time_budget"] == "none" and shown["lr"] == "0.002"
    assert shown["eval_every"] == "four times an epoch" and setting_text("eval_every", 50) == "50 steps"


def test_a_figures_csv_is_named_by_its_title_and_its_columns_by_the_axes():
    """The numbers behind a slide: the first line names the figure, columns are named by the axes' titles (or
    by the page where an axis has none), a heatmap's corner names its rows and columns; no bare "x,y"."""
    import csv
    import io

    from figures import heatmap, probabilities, prune_figure
    from figures.base import figure_csv

    rows = list(
        csv.reader(io.StringIO(figure_csv(probabilities(["neg", "pos"], [0.25, 0.75]), "Prediction", ("p", "class"))))
    )
    assert rows == [["# Prediction"], ["p", "class"], ["0.25", "neg"], ["0.75", "pos"]]
    fig = heatmap([[1.0, 2.0]], ["a", "b"], ["q"], x_title="key", y_title="query")
    rows = list(csv.reader(io.StringIO(figure_csv(fig, "Weights · “a b”"))))
    assert rows[0] == ["# Weights · “a b”"] and rows[1] == ["query \\ key", "a", "b"] and rows[2] == ["q", "1.0", "2.0"]
    fig = prune_figure(0.9, [0.8, 0.5], ["L0 H1", "L1 H0"], x_title="heads off", y_title="accuracy")
    rows = list(csv.reader(io.StringIO(figure_csv(fig))))
    assert ["heads off", "accuracy"] in [r[:2] for r in rows] and ["x", "y"] not in [r[:2] for r in rows]
