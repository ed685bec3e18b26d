"""Running one point of a sweep, in whatever process the executor chose.

A *run function* is any importable function
``fn(*, base, overrides, seed, steps) -> pandas.DataFrame`` returning one row per
step (index = step, or a ``step`` column). The sweep machinery names it by dotted
path (``module:function``) so that worker processes, local or on a Dask cluster,
can import it. A run function may carry a ``check(base, fixed, points, source)``
attribute that raises :class:`abm.config.ConfigError` for bad input; sweeps call it
on every design point before running anything.

:func:`run_model` is the default run function, for :class:`abm.ComputeMarket`.
"""

from __future__ import annotations

import functools
import importlib
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from abm.config import ConfigError, config_with_overrides, load_config


def run_model(
    *, base: str | Path | None, overrides: dict[str, Any], seed: int, steps: int | None
) -> pd.DataFrame:
    """Build :class:`abm.ComputeMarket` from a config plus overrides, run it, return its metrics."""
    import mesa

    from abm import ComputeMarket

    config = load_config(base, overrides=overrides)
    model = ComputeMarket(config=config, rng=int(seed))
    try:
        model.run(steps=steps if steps is not None else config.simulation.steps)
        return model.datacollector.get_model_vars_dataframe()
    finally:
        # Mesa 3.3.1 keeps every model ever built alive through Agent._ids; a
        # long-lived worker running thousands of models would grow without bound.
        mesa.Agent._ids.pop(model, None)


def check_model_config(
    base: str | Path | None, fixed: dict[str, Any], points: list[dict[str, Any]], source: str
) -> None:
    """Validate the base config with the fixed overrides and every design point's values."""
    try:
        config = load_config(base, overrides=fixed)
    except ConfigError as exc:
        raise ConfigError(f"{source}: fixed overrides: {exc}") from None
    seen: set[tuple] = set()
    for i, params in enumerate(points):
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        if key not in seen:
            seen.add(key)
            config_with_overrides(config, params, source=f"{source} (design point {i})")


run_model.check = check_model_config


@functools.cache
def import_object(dotted: str) -> Any:
    """Import ``package.module:attribute``."""
    module_name, _, attr = dotted.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import run function {dotted!r}: {exc}") from None
    return obj


@dataclass
class RunOutput:
    """What a worker sends back: the stored per-step table, or the traceback."""

    ok: bool
    steps: pd.DataFrame | None
    traceback: str | None
    seconds: float


def _per_step_table(df: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    if "step" not in df.columns:
        df = df.rename_axis("step").reset_index()
    missing = [c for c in columns or [] if c not in df.columns]
    if missing:
        raise KeyError(f"the run returned no column {missing[0]!r}; it has {list(df.columns)}")
    cols = ["step", *columns] if columns is not None else list(df.columns)
    return df[cols].reset_index(drop=True)


def execute_run(
    run_function: str,
    base: str | None,
    overrides: dict[str, Any],
    seed: int,
    steps: int | None,
    columns: list[str] | None,
) -> RunOutput:
    """Worker entry point: one run; exceptions come back as a traceback, not raised."""
    start = time.perf_counter()
    try:
        fn = import_object(run_function)
        df = fn(base=base, overrides=dict(overrides), seed=seed, steps=steps)
        table = _per_step_table(df, columns)
        return RunOutput(True, table, None, time.perf_counter() - start)
    except Exception:
        return RunOutput(False, None, traceback.format_exc(), time.perf_counter() - start)
