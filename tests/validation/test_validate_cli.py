"""``abm validate`` when stopped: no folder left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from support import ENV


@pytest.mark.slow
def test_sigterm_while_validating_exits_143_and_leaves_no_folder(tmp_path):
    """The report is written only after every seed has run: stopped before that, the
    folder this command created is removed again. The signal is sent once the folder
    exists (polled), whenever that is."""
    out = tmp_path / "results" / "validation"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "abm",
            "validate",
            "--seeds",
            "100",
            "--steps",
            "24",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert out.exists(), "the command never created its output folder"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip() == "abm: terminated"
    assert list(tmp_path.iterdir()) == []
