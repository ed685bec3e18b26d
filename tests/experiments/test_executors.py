"""Pool workers never outlive the sweep driver: real processes, killed for real."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from abm.experiments.executors import Backend

from .conftest import ALLOW_TOY, toy_sweep_text

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

PATIENCE = 60.0  # seconds; generous, the polls end as soon as the condition holds


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every living descendant of ``root``: pid -> start time (to tell a reused pid)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) and st[1] != "Z":
            children.setdefault(st[0], []).append(int(entry.name))
            starts[int(entry.name)] = st[2]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def still_running(processes: dict[int, int]) -> list[int]:
    """Those of ``processes`` that exist and are not zombies (a zombie has exited)."""
    alive = []
    for pid, start in processes.items():
        st = _stat(pid)
        if st is not None and st[1] != "Z" and st[2] == start:
            alive.append(pid)
    return alive


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting {PATIENCE:.0f} s for {what}"
        time.sleep(0.05)


@pytest.fixture(params=[["--workers", "2"], ["--dask-local", "2"]], ids=["pool", "dask"])
def running_sweep(request, tmp_path, write_sweep, subprocess_env):
    """A 2-worker sweep in a child process, running; yields (process, its workers, out dir)."""
    # 96 runs of 0.25 s: far from done when the driver is killed.
    path = write_sweep(toy_sweep_text("orphans", replicates=8, sleep=0.25))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "abm.experiments", "sweep", str(path), *ALLOW_TOY, *request.param]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--quiet"],
        env=subprocess_env,
        start_new_session=True,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers: dict[int, int] = {}
    try:
        runs = out / "runs"
        wait_until(
            lambda: (
                proc.poll() is not None
                or (runs.is_dir() and sum(p.suffix == ".parquet" for p in runs.iterdir()) >= 2)
            ),
            "the first runs",
        )
        assert proc.poll() is None, f"the sweep ended early: {proc.stderr.read()}"
        workers = descendants(proc.pid)
        assert len(workers) >= 2  # two pool workers (and helper processes)
        yield proc, workers, out
    finally:
        # Only if the test failed would anything be left: clear all of it.
        for pid in [proc.pid, *descendants(proc.pid), *still_running(workers)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_pool_workers_exit_when_the_sweep_driver_is_killed_with_sigkill(running_sweep):
    proc, workers, _ = running_sweep
    os.kill(proc.pid, signal.SIGKILL)  # the driver alone; nothing can run in it now
    assert proc.wait(timeout=PATIENCE) == -signal.SIGKILL
    wait_until(lambda: not still_running(workers), f"workers {still_running(workers)} to exit")


def test_sigterm_stops_the_sweep_its_workers_and_records_the_interruption(running_sweep):
    proc, workers, out = running_sweep
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=PATIENCE) == 128 + signal.SIGTERM
    assert "terminated" in proc.stderr.read()
    wait_until(lambda: not still_running(workers), f"workers {still_running(workers)} to exit")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    stored = sum(p.suffix == ".parquet" for p in (out / "runs").iterdir())
    assert 2 <= stored < 96


def test_a_worker_whose_parent_is_gone_exits_by_itself(tmp_path, subprocess_env):
    # A middle process starts a pool and is SIGKILLed: not even its atexit hooks run.
    script = tmp_path / "middle.py"
    script.write_text(
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from abm.experiments.executors import Backend\n"
        "def check_in(folder):\n"
        "    # Blocks until two workers have checked in: so two distinct workers run it.\n"
        "    (Path(folder) / str(os.getpid())).touch()\n"
        "    while len(list(Path(folder).iterdir())) < 2:\n"
        "        time.sleep(0.01)\n"
        "    return os.getpid()\n"
        "if __name__ == '__main__':\n"
        "    pool = Backend(workers=2).open()\n"
        "    pids = [f.result() for f in [pool.submit(check_in, sys.argv[1]) for _ in range(2)]]\n"
        "    print(*pids, flush=True)\n"
        "    time.sleep(600)\n"
    )
    (tmp_path / "in").mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "in")],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    everything: dict[int, int] = {}
    try:
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(set(workers)) == 2
        everything = descendants(proc.pid)
        assert set(workers) <= set(everything)
        proc.kill()
        proc.wait(timeout=PATIENCE)
        wait_until(
            lambda: not still_running(everything),
            f"processes {still_running(everything)} to exit",
        )
    finally:
        for pid in [proc.pid, *still_running(everything)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_closing_a_backend_restores_the_default_sigterm_action():
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with Backend(workers=1):
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
