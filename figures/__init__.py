"""Pure figure builders: data in, a Plotly figure, an Altair chart or a Graphviz source out. No streamlit here.

Tests call these on small tensors and check what they draw: the axis labels are the tokens and the
values are the trace's own numbers. By subject:

- ``base``: colours, escaping, and the band at every figure's top kept clear for Plotly's toolbar;
- ``heatmaps``: any matrix of the model with its labels (Step by step's figures);
- ``attention``: a layer's heads, all layers × heads, one head as lines or through training;
- ``predictions``: a sentence's class probabilities;
- ``training``: the data's classes, the training curves and the confusion matrix;
- ``architecture``: the model as a Graphviz diagram;
- ``screens``: the projector's and the phone's widths, and the CSS that shows a part drawn for one of them.
"""

from figures.architecture import ARCHITECTURE_CSS, architecture_dot
from figures.attention import (
    KEY_PX,
    LINE_STEPS,
    attention_grid,
    attention_heads,
    attention_history,
    attention_lines,
    heads_per_row,
    token_bars,
)
from figures.base import ATTENTION_SCALE, FONT, PALETTE, SIGNED_SCALE, TOOLBAR_PX, safe, title_under_toolbar
from figures.heatmaps import heatmap
from figures.predictions import PERCENT_COLUMN_PX, probabilities
from figures.screens import NARROW_PX, PHONE_MAX_PX, SCREENS_CSS, WIDE_PX
from figures.training import SMOOTH_SPAN, confusion_matrix, curve_data, label_balance, training_curves

__all__ = [
    "ARCHITECTURE_CSS",
    "ATTENTION_SCALE",
    "FONT",
    "KEY_PX",
    "LINE_STEPS",
    "NARROW_PX",
    "PALETTE",
    "PERCENT_COLUMN_PX",
    "PHONE_MAX_PX",
    "SCREENS_CSS",
    "SIGNED_SCALE",
    "SMOOTH_SPAN",
    "TOOLBAR_PX",
    "WIDE_PX",
    "architecture_dot",
    "attention_grid",
    "attention_heads",
    "attention_history",
    "attention_lines",
    "confusion_matrix",
    "curve_data",
    "heads_per_row",
    "heatmap",
    "label_balance",
    "probabilities",
    "safe",
    "title_under_toolbar",
    "token_bars",
    "training_curves",
]
