"""Pure figure builders: data in, a Plotly figure, an Altair chart or a Graphviz source out. No streamlit here.

Tests call these on small tensors and check what they draw: the axis labels are the tokens and the
values are the trace's own numbers. By subject:

- ``base``: colours, escaping, and the band at every figure's top kept clear for Plotly's toolbar;
- ``heatmaps``: any matrix of the model with its labels (Step by step's figures);
- ``attention``: a layer's heads, all layers × heads, one head as lines or through training;
- ``predictions``: a sentence's class probabilities;
- ``explain``: why the model decided: attributions, the layer readout, head importance, the projection;
- ``training``: the data's classes, the training curves, the confusion matrix, the learning rate, each
  part's gradient norm and update size, the loss per epoch and the positional encoding table;
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
from figures.explain import (
    attribution_heatmap,
    hover_sentence,
    importance_heatmap,
    projection_figure,
    prune_figure,
    readout_figure,
    scaled_rows,
)
from figures.heatmaps import heatmap
from figures.predictions import PERCENT_COLUMN_PX, probabilities
from figures.screens import NARROW_PX, PHONE_MAX_PX, SCREENS_CSS, WIDE_PX
from figures.training import (
    SMOOTH_SPAN,
    UPDATE_RATIO_REFERENCE,
    compare_charts,
    compare_data,
    confusion_matrix,
    curve_data,
    epoch_table,
    label_balance,
    part_chart,
    part_data,
    positional_heatmap,
    schedule_chart,
    schedule_data,
    training_curves,
)

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
    "UPDATE_RATIO_REFERENCE",
    "WIDE_PX",
    "architecture_dot",
    "attention_grid",
    "attention_heads",
    "attention_history",
    "attention_lines",
    "attribution_heatmap",
    "compare_charts",
    "compare_data",
    "confusion_matrix",
    "curve_data",
    "epoch_table",
    "heads_per_row",
    "heatmap",
    "hover_sentence",
    "importance_heatmap",
    "label_balance",
    "part_chart",
    "part_data",
    "positional_heatmap",
    "probabilities",
    "projection_figure",
    "prune_figure",
    "readout_figure",
    "safe",
    "scaled_rows",
    "schedule_chart",
    "schedule_data",
    "title_under_toolbar",
    "token_bars",
    "training_curves",
]
