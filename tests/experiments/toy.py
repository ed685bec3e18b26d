"""Small run functions for testing the sweep machinery without the model.

They follow the run-function contract (``fn(*, base, overrides, seed, steps)`` ->
one row per step) and are real importable functions, so worker processes and Dask
workers can run them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time

import numpy as np
import pandas as pd

from abm.config import ConfigError

TOY_KEYS = {"x", "y", "sleep", "fail_when_x", "die_when_x", "hold_when_x", "hold_fifo"}


def toy_run(*, base, overrides, seed, steps):
    """A noisy wave: ``level = x sin(t/3) + y t/steps + noise``.

    Raises when ``x == fail_when_x``; kills its worker process when ``x == die_when_x``;
    when ``x == hold_when_x``, writes its worker's pid (a line) to the named pipe
    ``hold_fifo`` and then waits until its process is killed (a sweep that cannot end).
    """
    x = overrides.get("x", 0.0)
    y = overrides.get("y", 1.0)
    if overrides.get("fail_when_x") == x:
        raise RuntimeError(f"toy model refuses x = {x}")
    if overrides.get("die_when_x") == x:
        if multiprocessing.parent_process() is None:  # never take the test runner down
            raise RuntimeError("die_when_x needs a worker process")
        os._exit(3)  # like a segfault or the OOM killer: no exception, no cleanup
    if overrides.get("hold_when_x") == x:
        if multiprocessing.parent_process() is None:  # never block the test runner
            raise RuntimeError("hold_when_x needs a worker process")
        with open(overrides["hold_fifo"], "w") as fifo:  # blocks until the test reads
            fifo.write(f"{os.getpid()}\n")
        threading.Event().wait()  # forever: only a signal ends this run
    time.sleep(overrides.get("sleep", 0.0))
    steps = steps or 10
    rng = np.random.default_rng(seed)
    t = np.arange(steps + 1)
    noise = rng.normal(0.0, 0.1, steps + 1)
    return pd.DataFrame(
        {
            "level": x * np.sin(t / 3) + y * t / steps + noise,
            "noise": noise,
            "date": [f"2023-{(i % 12) + 1:02d}" for i in t],
        },
        index=pd.RangeIndex(steps + 1, name="step"),
    )


def _check_toy(base, fixed, points, source):
    for params in [fixed, *points]:
        unknown = sorted(set(params) - TOY_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown key {unknown[0]!r}")


toy_run.check = _check_toy


def ishigami(x1, x2, x3, a=7.0, b=0.1):
    """The Ishigami function; on [-pi, pi]^3 its first-order Sobol indices are
    0.3139, 0.4424 and 0 (Ishigami & Homma 1990)."""
    return np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)


def ishigami_run(*, base, overrides, seed, steps):
    """The Ishigami value as a constant series (no noise: the seed is ignored)."""
    value = float(ishigami(overrides["x1"], overrides["x2"], overrides["x3"]))
    return pd.DataFrame({"value": [value] * ((steps or 1) + 1)})


PI = math.pi
