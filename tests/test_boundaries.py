"""model/ stays a pure engine: no streamlit, importable without a browser."""

import subprocess
import sys

from tests.conftest import ROOT


def test_model_package_never_imports_streamlit():
    code = (
        "import sys, model, model.cli, model.trainer, model.checkpoint, model.inspect, model.corpus;"
        "print('streamlit' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"
    import re

    for path in (ROOT / "model").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+streamlit", source, re.M), path
