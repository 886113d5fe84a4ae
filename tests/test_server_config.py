"""The server settings the app relies on, in .streamlit/config.toml, spelled as Streamlit spells them.

Streamlit ignores an unknown key with only a log line, so a misspelled setting would silently
bring back what it turned off (bench/RESULTS.md: the post-run gc and the file watcher cost an
open Train page about a quarter of the run's speed and a full class most of the server).
"""

import streamlit.config
import tomllib

from model.data import MAX_FILE_BYTES
from tests.conftest import ROOT

SETTINGS = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_every_setting_is_one_streamlit_knows():
    known = set(streamlit.config.get_config_options())
    for section, values in SETTINGS.items():
        for key in values:
            assert f"{section}.{key}" in known, f"{section}.{key} is not a Streamlit option"


def test_the_settings_the_app_depends_on():
    assert SETTINGS["runner"]["postScriptGC"] is False  # ~110 ms holding the GIL after every run
    assert SETTINGS["server"]["fileWatcherType"] == "none"  # walks sys.modules after every run
    assert SETTINGS["client"]["showErrorDetails"] == "none"  # messages, never tracebacks
    assert SETTINGS["server"]["maxUploadSize"] * 1024 * 1024 == MAX_FILE_BYTES  # one limit for uploads
