"""The real server and the real browser, for the benches and the browser tests alike.

`serving()` runs `streamlit run app.py` on a free loopback port for a block; `CHROMIUM` and
`CHROMIUM_ARGS` are Debian's Chromium and the flags it needs here (headless, no sandbox, no network
beyond loopback). Nothing in here is test- or bench-specific.
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Server:
    """A running `streamlit run app.py`: its URL, its process, and the last lines it printed."""

    def __init__(self, env: dict[str, str] | None = None, start_seconds: float = 60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Read the output as it comes: a full pipe would block the server.
        self.lines: collections.deque[str] = collections.deque(maxlen=10_000)
        threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True).start()
        deadline = time.time() + start_seconds
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not start:\n" + "".join(self.lines))

    @property
    def ws_url(self) -> str:
        """The same address for Streamlit's websocket protocol."""
        return self.url.replace("http", "ws", 1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def serving(env: dict[str, str] | None = None) -> Iterator[Server]:
    """`streamlit run app.py` on a free loopback port for the block."""
    server = Server(env)
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """A process's peak resident memory in MB (Linux's VmHWM); None where /proc is not there."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024
