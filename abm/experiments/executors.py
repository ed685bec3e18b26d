"""Where runs execute: all behind :class:`concurrent.futures.Executor`.

- in this process, one run after another (``workers=1``; easiest to debug);
- a local pool of worker processes (the default: one per core), forked from a
  forkserver that has imported the model once (spawned where there is none);
- a Dask cluster: an existing scheduler (``scheduler="tcp://host:8786"``) or a
  ``LocalCluster`` of ``dask_local`` single-threaded worker processes.

Results never depend on the choice: each run is a pure function of its
parameters and seed.

Pool workers never outlive the process that started them (the driver): on Linux
each asks the kernel for SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``),
elsewhere a thread in each worker watches the parent's pid; the parent is the
driver or the forkserver, which exits with the driver. Dask's own worker processes
already exit when the process holding their nanny dies.

While a backend is open, SIGTERM to the driver only asks it to stop: the handler sets
a flag, and :meth:`Backend.wait` (which the driver waits in) raises :class:`Terminated`
at once, so the sweep records that it was interrupted and the workers are torn down.
The exception is never raised from inside a library's code: an exception thrown into
``concurrent.futures.wait`` or into Dask's client while it holds a lock can leave the
lock held, and the shutdown then waits on it for ever. A second SIGTERM ends the
driver outright. Closing a Dask cluster is bounded in time: if it has not closed in
``CLOSE_SECONDS``, its worker processes are killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from typing import Any

from abm.cli import Terminated  # SIGTERM unwinds like Ctrl-C: the one class the CLI reports
from abm.config import ConfigError

# Imported by every pool worker before its first run. Mesa and the model take about
# 1.5 s to import; the forkserver imports them once and forks ready workers from
# that state, so each new worker starts in milliseconds instead of re-importing.
PRELOAD = ("numpy", "pandas", "pyarrow", "mesa", "abm.model", "abm.experiments.runner")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_POLL_SECONDS = 0.5
# How often Backend.wait looks at the stop flag while no run finishes; a stop request
# is acted on within this time.
_STOP_POLL_SECONDS = 0.2
# A Dask cluster that takes longer than this to close (its workers busy with runs that
# will never finish, a loaded machine) has its worker processes killed instead.
CLOSE_SECONDS = 30.0


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 -- a Future carries any exception
            future.set_exception(exc)
        return future


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def die_with_parent() -> None:
    """Make this process exit as soon as its parent process is gone."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _let_the_forkserver_exit_with_the_driver() -> None:
    """Close this worker's copy of the pipe by which a forkserver sees its driver go.

    Every process the forkserver forks inherits the pipe's write end (so that it could
    use the forkserver itself); while any worker holds it, the forkserver outlives the
    driver, and the worker, waiting for its parent to die, outlives both.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _init_worker(driver_pid: int, preload: tuple[str, ...]) -> None:
    """First thing in every pool worker."""
    # The parent is the driver (spawn) or the forkserver, which exits with the driver.
    die_with_parent()
    _let_the_forkserver_exit_with_the_driver()
    if not _alive(driver_pid):  # it died before the request above took effect
        os._exit(1)
    # Ctrl-C reaches the whole process group; the driver alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for module in preload:  # already there when forked from a preloaded forkserver
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def prepare_pool() -> None:
    """Start the preloaded forkserver now, so that its imports overlap the caller's own.

    Optional: a pool starts it anyway when it needs its first worker. The forkserver
    exits when this process does.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        forkserver.set_forkserver_preload(list(PRELOAD))
        forkserver.ensure_running()


def _ready() -> int:
    return os.getpid()


class Backend:
    """Opens an executor, says how many runs it can do at once, and can restart it."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        dask_local: int | None = None,
        start_method: str | None = None,
    ):
        if scheduler and dask_local:
            raise ConfigError("give either a Dask scheduler address or --dask-local N, not both")
        if (scheduler or dask_local) and workers:
            raise ConfigError("--workers is for the local process pool; a Dask cluster has its own")
        for name, value in (("workers", workers), ("dask_local", dask_local)):
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1 (got {value})")
        self.workers = workers or (None if scheduler or dask_local else default_workers())
        self.scheduler = scheduler
        self.dask_local = dask_local
        # forkserver where the OS has it: workers start from an already-imported model
        # and never inherit the driver's threads, locks or open files (spawn elsewhere).
        methods = multiprocessing.get_all_start_methods()
        self.start_method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self.executor: Executor | None = None
        self._client: Any = None
        self._cluster: Any = None
        self._previous_sigterm: Any = None
        self._stop_requested = False

    @property
    def description(self) -> str:
        if self.scheduler:
            return f"dask scheduler {self.scheduler}"
        if self.dask_local:
            return f"dask LocalCluster({self.dask_local})"
        return "in-process" if self.workers == 1 else f"local process pool ({self.workers})"

    def open(self) -> Executor:
        self._trap_sigterm()
        try:
            if self.scheduler or self.dask_local:
                self._open_dask()
            elif self.workers == 1:
                self.executor = SerialExecutor()
            else:
                self.executor = self._process_pool()
        except BaseException:
            self.close(cancel=True)
            raise
        return self.executor

    def _process_pool(self) -> Executor:
        context = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            context.set_forkserver_preload(list(PRELOAD))
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(os.getpid(), PRELOAD),
        )
        # Start every worker now, from this thread: PR_SET_PDEATHSIG follows the thread
        # that created a process, and the workers' start-up then overlaps the driver's.
        for _ in range(self.workers):
            pool.submit(_ready)
        return pool

    def _open_dask(self) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                f"Dask is not installed ({exc}); pip install 'dask[distributed]'"
            ) from None
        if self.dask_local:
            self._cluster = LocalCluster(
                n_workers=self.dask_local,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"cannot reach Dask scheduler {self.scheduler}: {exc}") from None
        # pure=False: never let Dask deduplicate or cache runs by key.
        self.executor = self._client.get_executor(pure=False)

    def wait(
        self, futures: Iterable[Future], return_when: str = FIRST_COMPLETED
    ) -> tuple[set[Future], set[Future]]:
        """``concurrent.futures.wait`` that raises :class:`Terminated` as soon as a
        SIGTERM has asked the driver to stop (checked every ``_STOP_POLL_SECONDS``)."""
        futures = list(futures)
        while True:
            self.raise_if_stop_requested()
            done, pending = wait(futures, timeout=_STOP_POLL_SECONDS, return_when=return_when)
            if (return_when == FIRST_COMPLETED and done) or not pending:
                self.raise_if_stop_requested()
                return done, pending

    def raise_if_stop_requested(self) -> None:
        if self._stop_requested:
            raise Terminated(f"signal {int(signal.SIGTERM)}")

    @property
    def slots(self) -> int:
        """Runs that can execute at once."""
        if self._client is not None:
            return max(1, sum(self._client.nthreads().values()))
        return self.workers or 1

    def restart(self) -> Executor:
        """A fresh local pool after a worker process died (Dask replaces its own workers)."""
        if isinstance(self.executor, ProcessPoolExecutor):
            _stop_pool(self.executor)
            self.executor = self._process_pool()
        return self.executor

    def close(self, cancel: bool = False) -> None:
        try:
            if isinstance(self.executor, ProcessPoolExecutor):
                if cancel:
                    _stop_pool(self.executor)
                else:
                    self.executor.shutdown(wait=True)
            elif self.executor is not None:
                self.executor.shutdown(wait=not cancel)
            if self._client is not None:
                with contextlib.suppress(TimeoutError):
                    self._client.close(timeout=CLOSE_SECONDS)
            if self._cluster is not None:
                self._close_cluster()
        finally:
            self.executor = self._client = self._cluster = None
            self._release_sigterm()

    def _close_cluster(self) -> None:
        """Close our LocalCluster; kill its worker processes if that takes too long."""
        workers = [getattr(w, "pid", None) for w in self._cluster.workers.values()]
        try:
            self._cluster.close(timeout=CLOSE_SECONDS)
        except TimeoutError:
            for pid in workers:
                if pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)

    def _trap_sigterm(self) -> None:
        # Only the main thread may set handlers, and someone else's handler stays.
        if threading.current_thread() is not threading.main_thread():
            return
        self._stop_requested = False
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._request_stop)

    def _request_stop(self, signum, frame) -> None:
        # Runs in the main thread between two bytecodes of whatever it was doing: only
        # set the flag (see the module docstring). A second SIGTERM ends the driver.
        self._stop_requested = True
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def _release_sigterm(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def __enter__(self) -> Executor:
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(cancel=exc_type is not None)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued runs and end the workers now, not after their current run."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
