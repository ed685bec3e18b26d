"""Pool workers never outlive the sweep driver: real processes, killed for real."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from abm.experiments.executors import Backend, Terminated

from .conftest import ALLOW_TOY, toy_sweep_text

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

# seconds; only a guard against a hang: every wait below returns as soon as what it waits
# for happens (an event, never a poll against a deadline), so a loaded machine is slower,
# not failing
PATIENCE = 300.0


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


def wait_for_exit(processes: dict[int, int]) -> None:
    """Block until every one of ``processes`` (pid -> start time) has exited.

    A pidfd becomes readable when its process exits, whoever its parent is: no polling.
    """
    opened = []  # (pid, pidfd) of the processes not gone yet
    try:
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                opened.append((pid, os.pidfd_open(pid)))
        # a pid reused after the scan is another process: its fd stands for no one of ours
        fds_left = {fd for pid, fd in opened if pid in still_running({pid: processes[pid]})}
        poller = select.poll()
        for fd in fds_left:
            poller.register(fd, select.POLLIN)
        while fds_left:
            ready = poller.poll(PATIENCE * 1000)
            assert ready, f"processes {still_running(processes)} still running"
            for fd, _ in ready:
                poller.unregister(fd)
                fds_left.discard(fd)
    finally:
        for _, fd in opened:
            os.close(fd)


def read_pids(fifo: int, proc: subprocess.Popen, count: int) -> list[int]:
    """Block until ``count`` pids (one a line) have arrived on the pipe ``fifo``; fail
    at once if ``proc`` exits first."""
    pidfd = os.pidfd_open(proc.pid)
    poller = select.poll()
    poller.register(fifo, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    text = ""
    try:
        while text.count("\n") < count:
            ready = dict(poller.poll(PATIENCE * 1000))
            assert ready, f"no worker held a run in {PATIENCE:.0f} s"
            if fifo in ready:
                text += os.read(fifo, 4096).decode()
            elif pidfd in ready:
                raise AssertionError(f"the sweep ended early: {proc.stderr.read()}")
    finally:
        os.close(pidfd)
    return [int(line) for line in text.split()]


@pytest.fixture(params=[["--workers", "2"], ["--dask-local", "2"]], ids=["pool", "dask"])
def running_sweep(request, tmp_path, write_sweep, subprocess_env):
    """A 2-worker sweep in a child process, running; yields (process, its workers, out dir).

    Its 96 runs: the 24 with x = 0 finish at once, every later one holds its worker until
    killed, after telling us its pid through a named pipe. So when both workers have
    told us, the sweep is running, on two workers, with at least 20 runs stored (at most
    4 are in flight), and it cannot end by itself however fast or slow the machine is.
    """
    fifo_path = tmp_path / "holding"
    os.mkfifo(fifo_path)
    fifo = os.open(fifo_path, os.O_RDONLY | os.O_NONBLOCK)
    keep_open = os.open(fifo_path, os.O_WRONLY)  # so the reader never sees end-of-file
    text = toy_sweep_text("orphans", replicates=8, hold_when_x=1.0, hold_fifo=str(fifo_path))
    path = write_sweep(text)
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
        holding = read_pids(fifo, proc, 2)
        workers = descendants(proc.pid)
        assert len(set(holding)) == 2 and set(holding) <= set(workers)  # two workers, ours
        yield proc, workers, out
    finally:
        # Only if the test failed would anything be left: clear all of it.
        for pid in [proc.pid, *descendants(proc.pid), *still_running(workers)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        os.close(fifo)
        os.close(keep_open)


def test_pool_workers_exit_when_the_sweep_driver_is_killed_with_sigkill(running_sweep):
    proc, workers, _ = running_sweep
    os.kill(proc.pid, signal.SIGKILL)  # the driver alone; nothing can run in it now
    assert proc.wait(timeout=PATIENCE) == -signal.SIGKILL
    wait_for_exit(workers)


def test_sigterm_stops_the_sweep_its_workers_and_records_the_interruption(running_sweep):
    proc, workers, out = running_sweep
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=PATIENCE) == 128 + signal.SIGTERM
    assert "terminated" in proc.stderr.read()
    wait_for_exit(workers)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    stored = sum(p.suffix == ".parquet" for p in (out / "runs").iterdir())
    assert 20 <= stored <= 24  # the runs with x = 0 (ids 0-23) and none that held


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
        wait_for_exit(everything)
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


def test_sigterm_while_waiting_raises_terminated_from_the_wait_and_a_second_one_is_fatal():
    # The handler only sets a flag; Backend.wait raises, outside any library's locks.
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        backend = Backend(workers=1)
        with backend:
            never = Future()  # nothing will ever complete it
            sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM))
            sender.start()
            with pytest.raises(Terminated):
                backend.wait([never])
            sender.join()
            # the stop was asked for: a second SIGTERM would end the process at once
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_backend_wait_returns_like_concurrent_futures_wait():
    with Backend(workers=1) as executor:
        backend_futures = [executor.submit(pow, 2, k) for k in range(3)]
    backend = Backend(workers=1)
    done, pending = backend.wait(backend_futures)
    assert done == set(backend_futures) and not pending
    waiting = Future()
    done, pending = backend.wait([backend_futures[0], waiting])
    assert done == {backend_futures[0]} and pending == {waiting}
