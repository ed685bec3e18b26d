"""Helpers several test modules share: the command line as a user runs it, and a
firm's cash set by a ledger transfer (so the books still balance)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


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
