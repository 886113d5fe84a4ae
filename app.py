"""Transformer Classroom: train a small Transformer live and open its attention up.

    streamlit run app.py

This file only sets the page up, the sidebar (language, class code, the run in progress) and the navigation;
every page is a thin script in pages/, and what they share is in ui/.
"""

import streamlit as st

from ui import nav
from ui.i18n import t

nav.entered_from_app()
st.set_page_config(page_title="Transformer Classroom", page_icon="🔍", layout="wide")
nav.sidebar()
# On a phone a display formula is drawn a little smaller, so that it fits the column instead of
# scrolling sideways (tests/test_browser.py measures every formula at 390 px).
st.html("<style>@media (max-width: 480px) { .katex-display { font-size: 0.75em; } }</style>")

pages = [
    st.Page("pages/home.py", title=t("nav_home"), icon="🏠", default=True),
    st.Page("pages/data.py", title=t("nav_data"), icon="📚"),
    st.Page("pages/train.py", title=t("nav_train"), icon="🏋️"),
    st.Page("pages/attention.py", title=t("nav_attention"), icon="🔍"),
    st.Page("pages/step_by_step.py", title=t("nav_steps"), icon="🧮"),
    st.Page("pages/why.py", title=t("nav_why"), icon="💡"),
    st.Page("pages/predict.py", title=t("nav_predict"), icon="🎯"),
]
page = st.navigation(pages)
nav.run_status(page)
page.run()
