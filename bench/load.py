"""Load test: a full classroom on the real server.

    python -m bench.load [--sessions 20] [--seconds 60] [--think 0]
    python -m bench.load --watch-training    # what an open Train page costs the training run
    python -m bench.load --trainers 30 --ray # 30 students train the tiny preset at once, on a local Ray cluster

Starts `streamlit run app.py` on a free loopback port, then drives N concurrent sessions over
Streamlit's own websocket protocol (as a browser tab does, without the cost of N browsers on
the same two cores): each opens the Attention page and keeps typing new sentences, timing
how long until the server has sent the attention figure for that sentence, then thinks for a
random 0 to 2 x ``--think`` seconds (0: no pause, the worst case). One more session trains the
default preset on the Train page meanwhile, its tab open and refreshing; its speed under the
load is compared with the same run on the same server before the load. Bounded in sessions and
seconds; talks only to 127.0.0.1. Prints the errors (target: none), the latency percentiles and
the training speed; the last line is one JSON object.

With ``--trainers N`` the students first retype alone (the reference), then again while N more
sessions open ``/train?preset=tiny`` and press Start together, each keeping its tab open until
its run has finished; with ``--ray`` the server sends the runs to a Ray head started on
127.0.0.1 for the test (model/cluster.py), else it trains them itself (at most 4 at once).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import within  # noqa: E402
from bench.serve import free_port, peak_rss_mb, serving  # noqa: E402
from figures import safe  # noqa: E402
from model.checkpoint import ASSETS_CHECKPOINT, load  # noqa: E402

_BUNDLED = load(ASSETS_CHECKPOINT)  # the model every student's Attention page shows before training
TOKENIZER, MAX_LEN = _BUNDLED.tokenizer, _BUNDLED.model.cfg.max_len
WORDS = [
    "good",
    "bad",
    "not",
    "movie",
    "book",
    "soup",
    "great",
    "boring",
    "but",
    "far",
    "too",
    "long",
    "love",
    "hate",
    "the",
    "was",
    "really",
    "这部",
    "电影",
    "好看",
    "😀",
    "<b>",
    "wonderful",
    "terrible",
]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    updates: int = 0
    steps_per_second: float | None = None  # the training session's: the last speed its page showed
    training_finished: bool = False
    runs_finished: int = 0  # --trainers: runs that ended "finished"
    run_seconds: list[float] = field(default_factory=list)  # --trainers: Start to finished, each run


class Session:
    """One browser tab's worth of the protocol: rerun requests out, deltas in."""

    def __init__(self, ws, query: str = "lang=en"):
        self.ws, self.query = ws, query
        self.pages: dict[str, str] = {}  # url path -> page script hash
        # The fragments the page asked to refresh on a timer (st.fragment(run_every=...)): id -> the
        # interval and when it is next due. A browser tab keeps one timer each and reruns the
        # fragment when it fires; a new run of the whole page starts them afresh.
        self.timers: dict[str, float] = {}
        self.due: dict[str, float] = {}

    async def refresh(self, page: str) -> list:
        """What an open tab does next: wait for its first fragment timer to fire and rerun that
        fragment (the elements it drew, or the page's if it reran the whole page). A page that set no
        timer is looked at again after a second."""
        if not self.due:
            await asyncio.sleep(1.0)
            return await self.rerun(page)
        fragment = min(self.due, key=self.due.get)
        await asyncio.sleep(max(0.0, self.due[fragment] - time.monotonic()))
        self.due[fragment] = time.monotonic() + self.timers[fragment]
        return await self.rerun(page, fragment=fragment)

    def _forget_timers(self) -> None:
        self.timers.clear()
        self.due.clear()

    async def rerun(self, page: str = "", widgets: list[WidgetState] = (), fragment: str = "") -> list:
        """One run of ``page`` (or, with ``fragment``, the timed refresh a tab sends for it)."""
        if not fragment:
            self._forget_timers()
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = self.pages.get(page, "")
        msg.rerun_script.widget_states.widgets.extend(widgets)
        if fragment:
            msg.rerun_script.fragment_id = fragment
            msg.rerun_script.is_auto_rerun = True
        await self.ws.send(msg.SerializeToString())
        elements = []
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "auto_rerun":
                self.timers[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
                self.due[fwd.auto_rerun.fragment_id] = time.monotonic() + fwd.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fragment_id in fwd.stop_auto_rerun.fragment_ids:
                    self.timers.pop(fragment_id, None)
                    self.due.pop(fragment_id, None)
            elif kind == "delta":
                if fwd.delta.WhichOneof("type") == "new_element":
                    elements.append(fwd.delta.new_element)
            elif kind == "script_finished":
                if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    elements = []  # the script restarted itself (st.rerun): wait for the run that counts
                    self._forget_timers()  # the whole page runs again and sets its timers again
                    continue
                return elements


def _widget(elements, kind: str, label: str):
    for element in elements:
        if element.WhichOneof("type") == kind and getattr(element, kind).label == label:
            return getattr(element, kind)
    raise LookupError(f"no {kind} labelled {label!r}")


def _problems(elements) -> list[str]:
    out = []
    for element in elements:
        if element.WhichOneof("type") == "exception":
            out.append(f"exception: {element.exception.message[:200]}")
        elif element.WhichOneof("type") == "alert" and element.alert.format == 1:  # ERROR
            out.append(f"error message: {element.alert.body[:200]}")
    return out


async def student(url: str, deadline: float, stats: Stats, seed: int, think: float = 0.0) -> None:
    rng = random.Random(seed)
    async with websockets.connect(f"{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
        session = Session(ws)
        await session.rerun()  # the home page; learns the page hashes
        elements = await session.rerun("attention")
        box = _widget(elements, "text_input", "Your sentence")
        while time.time() < deadline:
            sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12)))
            state = WidgetState(id=box.id, string_value=sentence)
            t0 = time.perf_counter()
            elements = await session.rerun("attention", [state])
            figures = [json.loads(e.plotly_chart.spec) for e in elements if e.WhichOneof("type") == "plotly_chart"]
            stats.errors += _problems(elements)
            # The attention figure is for this sentence when its rows are exactly this sentence's tokens.
            expected = [safe(t) for t in TOKENIZER.encode(sentence, MAX_LEN).tokens]
            axes = [f["layout"].get("yaxis", {}).get("ticktext") for f in figures]  # the query tokens
            if expected not in axes:
                stats.errors.append(f"no updated attention figure for {sentence!r}")
                continue
            stats.latencies.append(time.perf_counter() - t0)
            stats.updates += 1
            if think:  # reading the heatmaps before typing the next sentence
                await asyncio.sleep(min(rng.uniform(0, 2 * think), max(0.0, deadline - time.time())))


async def start_training(session: Session) -> list:
    """Open the Train page and press Start (the default preset): the page's elements; from then on
    ``session.refresh`` keeps the tab refreshing as the page asked (its live view, once a second)."""
    await session.rerun()  # the home page; learns the page hashes
    elements = await session.rerun("train")
    start = _widget(elements, "button", "▶ Start")
    return await session.rerun("train", [WidgetState(id=start.id, trigger_value=True)])


async def trainer(url: str, deadline: float, stats: Stats) -> None:
    """Starts the default preset and keeps its tab refreshing until the run ends or the load does;
    ``stats.steps_per_second`` is the last speed the page showed."""
    async with websockets.connect(f"{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
        session = Session(ws)
        elements = await start_training(session)
        stats.errors += _problems(elements)
        while time.time() < deadline:
            elements = await session.refresh("train")
            stats.errors += _problems(elements)
            speed = _metric(elements, "Steps per second")
            stats.steps_per_second = float(speed) if speed else stats.steps_per_second
            if _metric(elements, "Status") == "finished":
                stats.training_finished = True
                return


async def class_trainer(url: str, stats: Stats, index: int, limit: float) -> None:
    """A student who trains the tiny preset (the link /train?preset=tiny), presses Start with the
    class and keeps the tab open, refreshing as a browser does, until the run has finished."""
    async with websockets.connect(f"{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
        session = Session(ws, query="lang=en&preset=tiny")
        elements = await start_training(session)
        t0 = time.time()
        while not _problems(elements) and time.time() - t0 < limit:
            elements = await session.refresh("train")
            status = _metric(elements, "Status")
            if status == "finished":
                stats.runs_finished += 1
                stats.run_seconds.append(time.time() - t0)
                return
            if status in ("failed", "diverged", "stopped"):
                stats.errors.append(f"trainer {index}: the run ended {status}")
                return
        problems = _problems(elements) or [f"not finished after {limit:.0f} s"]
        stats.errors += [f"trainer {index}: {problem}" for problem in problems]


def _metric(elements, label: str) -> str | None:
    return next((e.metric.body for e in elements if e.WhichOneof("type") == "metric" and e.metric.label == label), None)


async def watched_training(url: str, watch: bool, limit: float = 180) -> float:
    """Steps per second of a default-preset run started on the Train page, read from the page.

    With ``watch`` the tab stays on the page and its live view refreshes on the fragment's timer
    (as an open browser tab asks for it), else the tab waits and looks once at the end.
    """
    async with websockets.connect(f"{url}/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
        session = Session(ws)
        await start_training(session)
        t0 = time.time()
        while time.time() - t0 < limit:
            if watch:
                elements = await session.refresh("train")
            else:
                await asyncio.sleep(1.0)
                elements = await session.rerun("train") if time.time() - t0 > 30 else []
            if _metric(elements, "Status") in ("finished", None) and _metric(elements, "Steps per second"):
                return float(_metric(elements, "Steps per second"))
        raise TimeoutError("the training run did not finish")


def watch_training(pairs: int = 2) -> dict:
    """Training speed with the Train page open and refreshing, over the same with nobody watching."""
    watched, unwatched = [], []
    with serving() as server:
        ws_url = server.ws_url
        asyncio.run(watched_training(ws_url, True))  # warm-up: the first run pays imports and first-call costs
        for i in range(pairs):  # ABBA order, so a drift in the machine's speed favours neither side
            for watch in (True, False) if i % 2 == 0 else (False, True):
                (watched if watch else unwatched).append(asyncio.run(watched_training(ws_url, watch)))
    return {
        "steps_per_second_watched": watched,
        "steps_per_second_unwatched": unwatched,
        "watched_over_unwatched": statistics.median(watched) / statistics.median(unwatched),
    }


async def drive(
    url: str, sessions: int, seconds: float, with_training: bool = True, think: float = 0.0
) -> tuple[Stats, Stats]:
    students, training = Stats(), Stats()
    deadline = time.time() + seconds
    tasks = [trainer(url, deadline, training)] if with_training else []
    tasks += [student(url, deadline, students, seed, think) for seed in range(sessions)]
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=seconds + 120)
    for r in results:
        if isinstance(r, BaseException):
            students.errors.append(f"{type(r).__name__}: {r}")
    return students, training


async def drive_class(
    url: str, sessions: int, trainers: int, seconds: float, think: float, limit: float
) -> tuple[Stats, Stats]:
    """``sessions`` students retype for ``seconds`` while ``trainers`` others press Start together
    and wait for their runs (up to ``limit`` seconds each)."""
    students, training = Stats(), Stats()
    deadline = time.time() + seconds
    tasks = [class_trainer(url, training, i, limit) for i in range(trainers)]
    tasks += [student(url, deadline, students, seed, think) for seed in range(sessions)]
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=max(seconds, limit) + 120)
    for r in results:
        if isinstance(r, BaseException):
            training.errors.append(f"{type(r).__name__}: {r}")
    return students, training


@contextlib.contextmanager
def ray_head(cpus: int) -> Iterator[dict[str, str]]:
    """A Ray head on 127.0.0.1 for the block (``ray start --block``, stopped at the end), with a token of
    its own; yields the environment that lets the app reach it (CLASSROOM_RAY_ADDRESS and the token)."""
    port = free_port()
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block"]
    command += ["--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}"]
    command += ["--include-dashboard=false", "--disable-usage-stats"]
    outside = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "CLASSROOM_RAY_ADDRESS")}
    head = subprocess.Popen(
        command,
        env={**outside, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        env["CLASSROOM_RAY_ADDRESS"] = f"127.0.0.1:{port}"
        for _ in range(120):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if head.poll() is not None:
                raise RuntimeError(f"the Ray head did not start (exit status {head.returncode})")
            time.sleep(0.5)
        else:
            raise RuntimeError(f"the Ray head did not open port {port} within a minute")
        time.sleep(3)  # the head's other services come up after its port opens
        yield env
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # ray start --block stops its processes on SIGTERM
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(60)


def _percentile(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def run_class(
    sessions: int, trainers: int, seconds: float, think: float, ray: bool, limit: float, ray_cpus: int | None = None
) -> dict:
    """The class: first ``sessions`` students retyping alone (the reference), then the same with
    ``trainers`` runs started together; on a local Ray cluster of ``ray_cpus`` CPUs with ``ray``
    (default: all cores but one, which is left to the web server), else in the server."""
    ray_cpus = ray_cpus or max(1, (os.cpu_count() or 1) - 1)
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(ray_head(ray_cpus)) if ray else {}
        server = stack.enter_context(serving(env))
        alone, _ = asyncio.run(drive(server.ws_url, sessions, seconds, with_training=False, think=think))
        students, training = asyncio.run(drive_class(server.ws_url, sessions, trainers, seconds, think, limit))
        peak_mb = peak_rss_mb(server.pid)
    p95_alone, p95_training = _percentile(alone.latencies, 0.95), _percentile(students.latencies, 0.95)
    errors = alone.errors + students.errors + training.errors
    return {
        "sessions": sessions,
        "trainers": trainers,
        "ray": ray,
        "ray_cpus": ray_cpus if ray else None,
        "seconds": seconds,
        "think_seconds": think,
        "runs_finished": training.runs_finished,
        "run_seconds_median": statistics.median(training.run_seconds) if training.run_seconds else None,
        "run_seconds_max": max(training.run_seconds, default=None),
        "updates_alone": alone.updates,
        "updates_with_training": students.updates,
        "latency_p50_alone_s": _percentile(alone.latencies, 0.5),
        "latency_p95_alone_s": p95_alone,
        "latency_p50_with_training_s": _percentile(students.latencies, 0.5),
        "latency_p95_with_training_s": p95_training,
        "p95_ratio": p95_training / p95_alone if p95_alone and p95_training else None,
        "errors": len(errors),
        "first_errors": errors[:5],
        "server_peak_rss_mb": peak_mb,
    }


def run(
    sessions: int = 20, seconds: float = 60, with_training: bool = True, think: float = 0.0, reference: bool = True
) -> dict:
    """The load; with ``reference`` (and training) first the same training run alone, to compare its speed."""
    alone = None
    with serving() as server:
        if with_training and reference:  # the same run, its tab open, on the same server with no class
            alone = asyncio.run(watched_training(server.ws_url, True))
        students, training = asyncio.run(drive(server.ws_url, sessions, seconds, with_training, think))
        peak_mb = peak_rss_mb(server.pid)  # many reruns must not pile up memory
    lat = sorted(students.latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None  # noqa: E731
    return {
        "sessions": sessions,
        "seconds": seconds,
        "think_seconds": think,
        "with_training": with_training,
        "training_steps_per_second_alone": alone,
        "training_steps_per_second_under_load": training.steps_per_second,
        "training_under_load_ratio": training.steps_per_second / alone if alone and training.steps_per_second else None,
        "training_finished_during_load": training.training_finished,
        "updates": students.updates,
        "errors": len(students.errors) + len(training.errors),
        "first_errors": (students.errors + training.errors)[:5],
        "latency_p50_s": p(0.5),
        "latency_p95_s": p(0.95),
        "latency_mean_s": statistics.mean(lat) if lat else None,
        "server_peak_rss_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--sessions", type=within(int, 1, 100), default=20)
    parser.add_argument("--seconds", type=within(float, 1, 600), default=60)
    parser.add_argument(
        "--think",
        type=within(float, 0, 60),
        default=0.0,
        help="mean seconds a student reads before the next sentence (0: none, the worst case)",
    )
    parser.add_argument("--no-training", action="store_true", help="no session trains meanwhile")
    parser.add_argument(
        "--watch-training",
        action="store_true",
        help="instead: training speed with the Train page open, over nobody watching",
    )
    parser.add_argument(
        "--trainers",
        type=within(int, 0, 200),
        default=0,
        help="instead of one trainer: this many students press Start on the tiny preset together, "
        "after the same students have retyped alone as the reference",
    )
    parser.add_argument("--ray", action="store_true", help="with --trainers: runs on a local Ray cluster")
    parser.add_argument(
        "--ray-cpus",
        type=within(int, 1, 1024),
        help="with --ray: CPUs of the local head (default: all cores but one, left to the web server)",
    )
    parser.add_argument(
        "--train-limit", type=within(float, 10, 7200), default=1200, help="seconds a --trainers run may take"
    )
    args = parser.parse_args()
    if args.trainers:
        result = run_class(
            args.sessions, args.trainers, args.seconds, args.think, args.ray, args.train_limit, args.ray_cpus
        )
        where = f"on a local Ray cluster of {result['ray_cpus']} CPUs" if args.ray else "in the server"
        print(
            f"{result['trainers']} runs of the tiny preset {where}: {result['runs_finished']} finished "
            f"(median {result['run_seconds_median'] or float('nan'):.0f} s from Start, "
            f"longest {result['run_seconds_max'] or float('nan'):.0f} s); {result['sessions']} students retyping: "
            f"p95 {result['latency_p95_with_training_s'] or float('nan'):.2f} s against "
            f"{result['latency_p95_alone_s'] or float('nan'):.2f} s with no training "
            f"(ratio {result['p95_ratio'] or float('nan'):.2f}); {result['errors']} errors"
        )
        _errors_and_json(result)
        return
    if args.watch_training:
        print(json.dumps(watch_training()))
        return
    result = run(args.sessions, args.seconds, not args.no_training, args.think)
    p50, p95 = result["latency_p50_s"] or float("nan"), result["latency_p95_s"] or float("nan")
    during = "while one session trains" if result["with_training"] else "with no training"
    print(
        f"{result['sessions']} sessions for {result['seconds']:.0f} s {during}: "
        f"{result['updates']} attention updates, {result['errors']} errors, p50 {p50:.2f} s, p95 {p95:.2f} s, "
        f"server peak RSS {result['server_peak_rss_mb'] or float('nan'):.0f} MB"
    )
    if result["with_training"] and result["training_under_load_ratio"] is not None:
        print(
            f"training: {result['training_steps_per_second_under_load']:.1f} steps/s under the load against "
            f"{result['training_steps_per_second_alone']:.1f} alone ({result['training_under_load_ratio']:.2f}), "
            f"{'finished' if result['training_finished_during_load'] else 'still running'} when the load ended"
        )
    _errors_and_json(result)


def _errors_and_json(result: dict) -> None:
    """The first errors, then the result as the last line."""
    for error in result["first_errors"]:
        print("  error:", error)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
