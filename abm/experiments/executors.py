"""Where runs execute: all behind :class:`concurrent.futures.Executor`.

- in this process, one run after another (``workers=1``; easiest to debug);
- a local pool of ``spawn``-ed processes (the default: one per core);
- a Dask cluster: an existing scheduler (``scheduler="tcp://host:8786"``) or a
  ``LocalCluster`` of ``dask_local`` single-threaded worker processes.

Results never depend on the choice: each run is a pure function of its
parameters and seed.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

from abm.config import ConfigError


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


class Backend:
    """Opens an executor, says how many runs it can do at once, and can restart it."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        dask_local: int | None = None,
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
        self.executor: Executor | None = None
        self._client: Any = None
        self._cluster: Any = None

    @property
    def description(self) -> str:
        if self.scheduler:
            return f"dask scheduler {self.scheduler}"
        if self.dask_local:
            return f"dask LocalCluster({self.dask_local})"
        return "in-process" if self.workers == 1 else f"local process pool ({self.workers})"

    def open(self) -> Executor:
        if self.scheduler or self.dask_local:
            self._open_dask()
        elif self.workers == 1:
            self.executor = SerialExecutor()
        else:
            self.executor = self._process_pool()
        return self.executor

    def _process_pool(self) -> Executor:
        # spawn, as `import mesa` would set anyway: no fork-inherited state, same on every OS.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

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

    @property
    def slots(self) -> int:
        """Runs that can execute at once."""
        if self._client is not None:
            return max(1, sum(self._client.nthreads().values()))
        return self.workers or 1

    def restart(self) -> Executor:
        """A fresh local pool after a worker process died (Dask replaces its own workers)."""
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._process_pool()
        return self.executor

    def close(self, cancel: bool = False) -> None:
        if isinstance(self.executor, ProcessPoolExecutor):
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)
        elif self.executor is not None:
            self.executor.shutdown(wait=not cancel)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self.executor = self._client = self._cluster = None

    def __enter__(self) -> Executor:
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(cancel=exc_type is not None)
