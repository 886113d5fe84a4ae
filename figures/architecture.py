"""The model's architecture as a Graphviz diagram, with the model's own sizes."""

from __future__ import annotations

from figures.base import columns

FONT_PT = 14  # every label's size, in the diagram's own units (points), as Graphviz sizes the boxes for it
# Streamlit draws a Graphviz chart's text at 10 px whatever its source says (11 px on a projector, in
# boxes Graphviz made for 14 pt): this rule gives the text of the diagram drawn in
# st.container(key="architecture") the size its boxes were made for, about 16 px on a projector and a phone.
ARCHITECTURE_CSS = f"<style>.st-key-architecture svg text {{ font-size: {FONT_PT}px; }}</style>"


def architecture_dot(
    n_layers: int,
    d_model: int,
    n_heads: int,
    d_ff: int,
    pooling: str,
    n_classes: int,
    labels: dict[str, str],
    *,
    vocab_size: int,
    activation: str,
) -> str:
    """Graphviz source for the real architecture with the model's own sizes, in the order of its forward.

    `pooling` and `activation` are the names to show (the pooling already translated)."""
    L = labels

    def text(*lines: str) -> str:
        """A Graphviz label: the lines quoted, joined by Graphviz's line break."""
        return '"' + "\\n".join(str(line).replace('"', "'") for line in lines) + '"'

    def box(*lines: str) -> str:
        """A node's label and a width that holds its longest line. Graphviz measures text with
        Helvetica's widths, which take a Chinese character for a Latin one: this gives half an em
        a column (a Chinese character has two) and a margin, in inches."""
        inches = (max(columns(str(line)) for line in lines) * FONT_PT / 2 + 2 * FONT_PT) / 72
        return f"label={text(*lines)}, width={inches:.2f}"

    embedding = box(L["embedding"], f"({vocab_size} × {d_model}) + " + L["position"])
    attention = box(L["attention"], f"{n_heads} × softmax(QKᵀ/√d_k)·V")
    ffn = box(L["ffn"] + f" ({activation})", f"{d_model} → {d_ff} → {d_model}")
    pool = box(L["pooling"] + f": {pooling}")
    head = box(L["classifier"], f"{d_model} → {n_classes}")
    return f"""digraph {{
  rankdir=TB; fontsize={FONT_PT}; edge [fontsize={FONT_PT}];
  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", fontname="Helvetica", fontsize={FONT_PT}];
  tokens [{box(L["tokens"])}, fillcolor="#ffffff"];
  emb [{embedding}];
  subgraph cluster_block {{
    label={text(f"{n_layers} × " + L["block"])}; style="rounded,dashed"; fontname="Helvetica";
    ln1 [label="LayerNorm"]; mha [{attention}, fillcolor="#dbeafe"];
    add1 [label="+", shape=circle]; ln2 [label="LayerNorm"];
    ffn [{ffn}, fillcolor="#fde68a"]; add2 [label="+", shape=circle];
    ln1 -> mha -> add1 -> ln2 -> ffn -> add2;
  }}
  ln_f [label="LayerNorm"]; pool [{pool}]; head [{head}];
  out [{box(L["probabilities"])}, fillcolor="#ffffff"];
  tokens -> emb -> ln1; emb -> add1 [style=dashed, label={text(L["residual"])}]; add1 -> add2 [style=dashed];
  add2 -> ln_f -> pool -> head -> out;
}}"""
