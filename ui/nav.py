"""How every run starts: through app.py's st.navigation, whatever address a visitor opened."""

from __future__ import annotations

import threading

import streamlit as st

from ui import state

_run = threading.local()  # per script run (Streamlit runs each in its own thread)


def entered_from_app() -> None:
    """Called first thing by app.py: this run goes through st.navigation."""
    _run.via_app = True


def leave_legacy_pages_mode() -> bool:
    """Make sure app.py's st.navigation runs, even when a deep link is a fresh server's first request.

    With a folder named pages/ beside app.py, Streamlit starts in its legacy mode (every file in
    pages/ becomes a page run without app.py) until some session calls st.navigation
    (streamlit/runtime/pages_manager.py, commands/navigation.py). A first visitor arriving at
    /attention would otherwise get no language switch and no run status. Switch the legacy mode
    off, and rerun through app.py on the session's first run (there is no click yet to lose then).

    Returns whether the legacy mode was on. Once switched off the mode stays off in a server
    (AppTest switches it on for every run).
    """
    from streamlit.runtime.pages_manager import PagesManager

    first_run = not st.session_state.get("_session_started")
    st.session_state["_session_started"] = True
    if not PagesManager.uses_pages_directory:
        return False
    PagesManager.uses_pages_directory = False
    if first_run:
        st.rerun()
    return True


# On a phone the sidebar covers most of the screen, and Streamlit leaves it open after a page is
# chosen from it: the student sees the menu, not the page. Close it once a page is chosen there.
PHONE_NAV_SCRIPT = """<script>
if (!window.classroomPhoneNav) {
  window.classroomPhoneNav = true;
  document.addEventListener("click", (event) => {
    if (window.innerWidth > PHONE_MAX_PX || !event.target.closest("[data-testid='stSidebarNav'] a")) return;
    setTimeout(() => document.querySelector("[data-testid='stSidebarCollapseButton'] button")?.click(), 150);
  });
}
</script>"""


def sidebar() -> None:
    """What every page has beside it: the language switch and the class code (the run in progress
    comes after the navigation, ``run_status``)."""
    from figures.screens import PHONE_MAX_PX
    from ui.widgets import class_code_ui, language_ui

    state.start_session()
    st.sidebar.html(PHONE_NAV_SCRIPT.replace("PHONE_MAX_PX", str(PHONE_MAX_PX)), unsafe_allow_javascript=True)
    language_ui()
    class_code_ui()


def run_status(page) -> None:
    """The run in progress, beside every page but Train (which shows it whole: a second view of it
    there would only poll the run twice)."""
    from ui.widgets import run_status_ui

    if getattr(page, "url_path", "") != "train":
        run_status_ui()


def begin_page(view: str | None = None) -> None:
    """The first call of every page (from the page's run, not at import: an st.rerun() raised while
    several sessions import a module at once would break their imports). ``view``: the page whose
    view a link may carry (ui/link.py VIEWS), read from the address when the link is opened and
    mirrored into it after."""
    if not getattr(_run, "via_app", False):  # run without app.py (legacy pages mode): draw its sidebar here
        leave_legacy_pages_mode()
        sidebar()
        run_status(None)
    from ui.widgets import link_notes_ui, presenter_ui, share_notes_ui

    st.session_state["_figures_this_run"] = 0  # show_figure numbers the page's unnamed figures from here
    state.start_session()
    state.adopt_finished_run()
    state.open_view_from_address(view)
    state.mirror_in_address(view)
    presenter_ui()
    share_notes_ui()
    link_notes_ui(state.view_notes())
