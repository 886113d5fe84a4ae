"""The teacher's path in a real Chromium: start a run, look at another page, come back, let it finish.

Before the app layer was rebuilt, the rerun that shows the results handed every setting back its
widget's first option (1 layer, d_model 16, lr 1e-4, 1 epoch: streamlit#11266), and the next Start
trained a useless model. Here the settings, the address and the run's status must all hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.serve import CHROMIUM, CHROMIUM_ARGS, serving
from tests.test_browser import ARTIFACTS, wait_idle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (see README)"),
]


def test_a_run_left_for_another_page_keeps_every_setting_and_shows_everywhere():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with serving() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/train?preset=tiny&epochs=2&lr=0.01&dataset=colour")
        page.wait_for_selector("h1", timeout=60_000)
        wait_idle(page)
        page.get_by_role("button", name="▶ Start").click()
        page.wait_for_function("() => /Step \\d+ of/.test(document.body.innerText)", timeout=60_000)
        page.get_by_role("link", name="Attention", exact=True).first.click()
        page.wait_for_selector("h1:has-text('Attention')", timeout=60_000)
        wait_idle(page)
        sidebar = page.locator("[data-testid='stSidebar']")
        assert "Training:" in sidebar.inner_text() or "Trained:" in sidebar.inner_text()  # the run, seen from here
        page.get_by_role("link", name="Train", exact=True).first.click()
        page.wait_for_selector("h1:has-text('Train')", timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('Results')", timeout=180_000)
        wait_idle(page)
        page.wait_for_timeout(2000)  # the run's end reruns the page: let it settle
        page.screenshot(path=str(ARTIFACTS / "en-train-after-leaving.png"), full_page=True)
        assert "preset=tiny" in page.url and "epochs=2" in page.url and "lr=0.01" in page.url, page.url
        text = page.locator("[data-testid='stExpander']").first.inner_text()
        assert "0.01" in text and "32" in text, text  # lr and tiny's d_model still on the sliders
        # Train shows the run whole (its results); its sidebar does not poll a second view of it
        assert "Trained:" not in sidebar.inner_text() and "Training:" not in sidebar.inner_text()
        page.get_by_role("link", name="Predict", exact=True).first.click()
        page.wait_for_selector("h1:has-text('Predict')", timeout=60_000)
        wait_idle(page)
        assert "Trained:" in sidebar.inner_text()  # every other page says which model it now shows
        browser.close()
    assert not errors, errors
