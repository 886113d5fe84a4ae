"""Home: how a Transformer learns, in the article's order, each idea linked to where it comes alive."""

import pandas as pd
import streamlit as st

from figures import ARCHITECTURE_CSS, SCREENS_CSS, architecture_dot
from model.inspect import parameter_parts
from ui.i18n import ACTIVATION_NAMES, activation_tex, t
from ui.nav import begin_page
from ui.state import current_model

begin_page()
st.html(ARCHITECTURE_CSS + SCREENS_CSS)  # the diagram's text at its size; the parameter table fitted to a phone
st.title(t("home_title"))
st.markdown(t("home_intro"))

st.subheader(t("quick_start_title"))
c1, c2, c3 = st.columns(3)
c1.page_link("pages/data.py", label=t("quick_start_1"), icon="1️⃣")
c2.page_link("pages/train.py", label=t("quick_start_2"), icon="2️⃣")
c3.page_link("pages/attention.py", label=t("quick_start_3"), icon="3️⃣")
st.page_link("pages/why.py", label=t("quick_start_why"), icon="💡")

st.subheader(t("architecture_title"))
model = current_model().checkpoint.model
cfg = model.cfg
boxes = ("tokens", "embedding", "position", "block", "attention", "ffn", "pooling", "classifier", "probabilities")
labels = {k: t(f"arch_{k}") for k in (*boxes, "residual")}
diagram, parameters = st.columns([2, 3])
pooling = t(f"pooling_{cfg.pooling}")
sizes = dict(n_layers=cfg.n_layers, d_model=cfg.d_model, n_heads=cfg.n_heads, d_ff=cfg.d_ff, n_classes=cfg.n_classes)
dot = architecture_dot(
    **sizes, pooling=pooling, labels=labels, vocab_size=cfg.vocab_size, activation=ACTIVATION_NAMES[cfg.activation]
)
with diagram.container(key="architecture"):
    st.graphviz_chart(dot)
diagram.caption(t("architecture_caption", n_layers=cfg.n_layers, d_model=cfg.d_model, n_heads=cfg.n_heads))

parts = parameter_parts(model)
total = sum(p.count for p in parts)
parameters.markdown(f"##### {t('params_title')}")
table = pd.DataFrame(
    {
        t("params_part"): [t(f"part_{p.part}") for p in parts],
        t("params_arithmetic"): [p.arithmetic for p in parts],
        t("params_count"): [f"{p.count:,}" for p in parts],
        t("params_share"): [f"{p.count / total:.1%}" for p in parts],
    }
)
# On a phone the grid's four columns need 500 px and were cut off at 356; a plain table wraps its
# cells instead, and shows every column.
parameters.container(key="wide_parameters").dataframe(table, hide_index=True)
parameters.container(key="narrow_parameters").table(table, hide_index=True)
embedding_share = next(p.count for p in parts if p.part == "token_embedding") / total
parameters.caption(t("params_caption", total=f"{total:,}", share=f"{embedding_share:.0%}", vocab=f"{cfg.vocab_size:,}"))

# (key, formula, page); a formula of two parts stands on two lines, to fit a phone. The feed-forward
# network is written with the current model's activation, as the diagram above draws it.
hidden = activation_tex(cfg.activation, "xW_1 + b_1")
IDEAS = [
    ("embedding", r"x_i = E[\mathrm{token}_i]\,\sqrt{d_{model}} + P_i", "pages/data.py"),
    (
        "self_attention",
        r"\begin{gathered} \mathrm{Attention}(Q,K,V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}"
        r"\right)V \\ Q = XW_Q,\; K = XW_K,\; V = XW_V \end{gathered}",
        "pages/step_by_step.py",
    ),
    (
        "multi_head",
        r"\mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_1,\dots,\mathrm{head}_h)\,W_O",
        "pages/attention.py",
    ),
    (
        "ffn",
        r"\begin{aligned} H &= " + hidden + r" \\ \mathrm{FFN}(x) &= HW_2 + b_2 \end{aligned}",
        "pages/step_by_step.py",
    ),
    (
        "training",
        r"\begin{aligned} \mathcal{L} &= -\frac{1}{B}\sum_{b} \log \mathrm{softmax}(z_b)_{y_b} \\ "
        r"\theta &\leftarrow \mathrm{AdamW}(\theta, \nabla_\theta \mathcal{L}) \end{aligned}",
        "pages/train.py",
    ),
    ("evaluation", r"\mathrm{accuracy} = \frac{1}{N}\sum_n [\arg\max_c z_{n,c} = y_n]", "pages/predict.py"),
]
for number, (key, formula, page) in enumerate(IDEAS, start=1):
    with st.container(border=True):
        st.markdown(f"#### {number}. {t(f'idea_{key}_title')}")
        st.markdown(t(f"idea_{key}_text", activation=ACTIVATION_NAMES[cfg.activation]))
        st.latex(formula)
        st.page_link(page, label=t(f"idea_{key}_link"), icon="➡️")

with st.expander(t("article_fixes_title")):
    st.markdown(t("article_fixes_text"))
