"""Load generators and servers for the HTTP benchmarks: gunicorn with the repository's settings, wrk."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def ensure_tools() -> None:
    """wrk from Debian's packages, installed when missing."""
    missing = [tool for tool in ("wrk",) if shutil.which(tool) is None]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(app: str, env: Mapping[str, str], workers: int = 2, *options: str) -> Iterator[str]:
    """``gunicorn -c python:plugin.gunicorn_conf APP`` with ``workers`` workers on a free port; yields its base URL.

    The server's log goes to a file (a pipe nobody reads would fill and stall the workers).
    """
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", "-c", "python:plugin.gunicorn_conf", "-w", str(workers),
               "-b", f"127.0.0.1:{port}", *options, app]
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start: {Path(log.name).read_text()[-2000:]}") from exc
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        _warm(base, workers, deadline + 60)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        errors = [line for line in Path(log.name).read_text().splitlines() if " ERROR " in line or "Traceback" in line]
        if errors:
            print(f"gunicorn {app}: {len(errors)} error lines, first: {errors[0]}", file=sys.stderr)
        os.unlink(log.name)


def _warm(base: str, workers: int, deadline: float) -> None:
    """Wait until every worker has loaded the app: ``workers * 5`` quick answers in a row on new connections
    (the master accepts at once, while a worker may still be importing the app)."""
    quick = 0
    while quick < workers * 5:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base} did not answer quickly within the deadline")
        start = time.monotonic()
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
                answer.read()
        except OSError:
            quick = 0
            time.sleep(0.2)
            continue
        quick = quick + 1 if time.monotonic() - start < 0.1 else 0


@dataclass(frozen=True)
class Load:
    """What a load run measured."""

    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers, socket errors and timeouts
    sent: int = 0  # best: the requests of every run (each was answered and must be recorded); else requests
    rates: list[int] | None = None  # best: the rate of each run

    @property
    def answered(self) -> int:
        """Requests answered well, over every run this load stands for."""
        return (self.sent or self.requests) - self.errors


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match, text
    return float(match.group(1)) * _UNIT[match.group(2)]


ROUNDS = 5  # maximum-rate runs per server; the best one counts (see best)


def best(runs: list[Load]) -> Load:
    """The run with the highest rate, and the errors of all of them.

    gunicorn's workers take wrk's 16 connections as they come: in one run both workers get about half, in the
    next one worker gets most and the other idles, and the rate is halved for a reason that is not the app's.
    The best of ``ROUNDS`` runs, taken alike for our server and the baseline, compares the two at their
    spread; the errors of every run still count.
    """
    top = max(runs, key=lambda run: run.rate)
    return Load(top.requests, top.rate, top.p50_ms, top.p99_ms, sum(run.errors for run in runs),
                sum(run.requests for run in runs), [round(run.rate) for run in runs])


def wrk(url: str, script: Path, env: Mapping[str, str], seconds: int = 5, threads: int = 2,
        connections: int = 16, rate: float | None = None) -> Load:
    """``wrk -t2 -c16 -d5s --latency -s SCRIPT URL``: the maximum rate, or about ``rate`` requests/s when given
    (each connection pauses between requests)."""
    if rate:
        env = {**env, "BENCH_DELAY_MS": str(max(1, round(connections * 1000 / rate)))}
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                          str(script), url], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(n) for n in sock.groups()) if sock else 0)
    return Load(requests, rate, p50, p99, errors, requests)
