"""The two screens the pages are designed for: a classroom projector (1400 × 900) and a phone (390 × 844).

Streamlit cannot read the viewport's width on the server, so a part of a page laid out differently
on a phone is drawn twice, in ``st.container(key="wide_…")`` and ``st.container(key="narrow_…")``
(Streamlit gives them the classes ``st-key-wide_…`` and ``st-key-narrow_…``), and ``SCREENS_CSS``,
put on the page once, shows one of the two.
"""

PHONE_MAX_PX = 640  # the width under which Streamlit stacks columns, and a page shows its narrow parts
WIDE_PX = 880  # the width of a page's main column on a classroom projector (1400 px wide)
NARROW_PX = 360  # and on a phone (390 px wide)

SCREENS_CSS = f"""<style>
@media (max-width: {PHONE_MAX_PX}px) {{ [class*="st-key-wide_"] {{ display: none; }} }}
@media (min-width: {PHONE_MAX_PX + 1}px) {{ [class*="st-key-narrow_"] {{ display: none; }} }}
</style>"""
