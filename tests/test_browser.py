"""End to end in a real headless Chromium driven by Playwright, against `streamlit run app.py`.

Screenshots of every page go to test-artifacts/ (look at them: a page that renders is not yet a
page that teaches).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PAGES = ["", "data", "train", "attention", "step_by_step", "predict"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (see README)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (proc.stdout.read() if proc.stdout else ""))
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def wait_idle(page, timeout=30_000):
    """Wait until Streamlit has finished running the script (no 'running' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout,
    )
    page.wait_for_timeout(300)


def open_page(page, server, path, lang="en"):
    page.goto(f"{server}/{path}?lang={lang}")
    page.wait_for_selector("h1", timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(1500)  # charts and tables draw after the script has finished


def test_every_page_opens_and_is_screenshotted(page, server):
    for path in PAGES:
        open_page(page, server, path)
        assert page.locator("[data-testid='stException']").count() == 0, path
        page.screenshot(path=str(ARTIFACTS / f"en-{path or 'home'}.png"), full_page=True)
    open_page(page, server, "attention")
    assert page.locator(".js-plotly-plot").count() >= 1


def test_train_tiny_and_watch_the_curves_grow(page, server):
    open_page(page, server, "train")
    page.get_by_role("radio", name="tiny", exact=True).click()
    wait_idle(page)
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("40")
    epochs.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="▶ Start").click()
    progress = page.locator("[data-testid='stProgress']")
    progress.wait_for(timeout=60_000)
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    chart.wait_for(timeout=60_000)
    seen_steps, seen_images = [], []
    for _ in range(30):
        text = progress.inner_text()
        if "Step" in text:
            seen_steps.append(int(text.split("Step")[1].split()[0]))
        try:
            seen_images.append(chart.screenshot())
        except Exception:  # the chart may be redrawn mid-screenshot
            pass
        if len(set(seen_steps)) >= 4 and len(set(seen_images)) >= 3:
            break
        page.wait_for_timeout(700)
    page.screenshot(path=str(ARTIFACTS / "en-train-running.png"), full_page=True)
    assert len(set(seen_steps)) >= 3 and seen_steps == sorted(seen_steps), seen_steps
    assert len(set(seen_images)) >= 3, "the loss chart did not change at least twice while training"
    page.get_by_role("button", name="⏹ Stop").click()
    page.get_by_text("Results").wait_for(timeout=60_000)
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)  # the confusion matrix
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "en-train-done.png"), full_page=True)


def _tick_texts(page) -> list[str]:
    return page.locator(".js-plotly-plot .xtick text").all_text_contents()


def test_typing_a_sentence_changes_the_heatmaps(page, server):
    open_page(page, server, "attention")
    before = _tick_texts(page)
    box = page.get_by_role("textbox", name="Your sentence")
    box.fill("The soup was cold but the bread was wonderful")
    box.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .xtick text')].some(t => t.textContent === 'wonderful')",
        timeout=30_000,
    )
    wait_idle(page)
    after = _tick_texts(page)
    assert after != before and "wonderful" in after and "soup" in after
    page.screenshot(path=str(ARTIFACTS / "en-attention-typed.png"), full_page=True)


def test_switching_to_chinese_changes_the_labels(page, server):
    open_page(page, server, "attention")
    page.get_by_role("radio", name="简体中文").click()
    page.get_by_role("heading", name="注意力").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_role("textbox", name="你的句子").count() == 1
    page.screenshot(path=str(ARTIFACTS / "zh-attention.png"), full_page=True)
    for path in PAGES:
        open_page(page, server, path, lang="zh")
        assert page.locator("[data-testid='stException']").count() == 0, path
        page.screenshot(path=str(ARTIFACTS / f"zh-{path or 'home'}.png"), full_page=True)
