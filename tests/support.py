"""Helpers several test modules share: the command line as a user runs it, and a
firm's cash set by a ledger transfer (so the books still balance)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def terminate_once(
    *args: str, cwd: Path, started: Callable[[], bool], timeout: float = 300
) -> tuple[int, str]:
    """Start ``python -m abm *args`` in ``cwd``, wait (polling, no fixed sleep) until
    ``started()`` says it has begun writing, send it SIGTERM and return its exit code
    and stderr. Fails if it ends before that; kills it if it outlives ``timeout``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "abm", *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and not started() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, f"ended before it was signalled: {proc.stderr.read()}"
        assert started(), "it never began writing"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def run_abm(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300, **kwargs
) -> subprocess.CompletedProcess:
    """``python -m abm *args`` in ``cwd``, output captured as text; the repository on
    the child's path unless ``env`` says otherwise."""
    return subprocess.run(
        [sys.executable, "-m", "abm", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV if env is None else env,
        **kwargs,
    )


def set_cash(m, firm, amount: float) -> None:
    """Give ``firm`` exactly ``amount`` of cash, the difference paid by households."""
    diff = amount - firm.cash
    if diff > 0:
        m.ledger.transfer("households", firm.unique_id, diff, "test")
    elif diff < 0:
        m.ledger.transfer(firm.unique_id, "households", -diff, "test")
