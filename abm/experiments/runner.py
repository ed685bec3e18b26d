"""Running one point of a sweep, in whatever process the executor chose.

A *run function* is a function ``fn(*, base, overrides, seed, steps) -> pandas.DataFrame``
returning one row per step (index = step, or a ``step`` column). The sweep machinery
names it by dotted path (``module:function``) so that worker processes, local or on
a Dask cluster, can import it. It may carry three attributes that let a sweep fail
before the first run: ``check(base, fixed, points, source)``, which raises
:class:`abm.config.ConfigError` for bad input and is called on every design point,
``metrics``, the names of the columns it returns, against which a sweep's
outcomes and kept metrics are checked, and ``non_numeric``, those of its columns
that are not numbers (an outcome cannot summarise them).

A sweep file is data, not code: it may name only a function inside the ``abm``
package, unless the user allows a module explicitly (``--allow-import MODULE``);
see :func:`check_run_function`.

:func:`run_model` is the default run function, for :class:`abm.ComputeMarket`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from abm.config import ConfigError, config_with_overrides, load_config, section_at
from abm.metrics import METRICS

TRUSTED_PACKAGE = "abm"
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def run_model(
    *, base: str | Path | None, overrides: dict[str, Any], seed: int, steps: int | None
) -> pd.DataFrame:
    """Build :class:`abm.ComputeMarket` from a config plus overrides, run it, return its metrics."""
    from abm.runs import run

    return run(base, seed=int(seed), steps=steps, overrides=overrides).metrics


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
            try:
                config_with_overrides(config, params, source=f"{source} (design point {i})")
            except ConfigError as exc:
                raise ConfigError(f"{exc}{_whole_number_hint(params, str(exc))}") from None


def _whole_number_hint(params: dict[str, Any], message: str) -> str:
    """A hint for the usual cause of a fraction refused by a whole-number parameter: a
    range sampled as floats."""
    for key, value in params.items():
        *parent, name = key.split(".")
        section = section_at(parent)
        field = section.model_fields.get(name) if section is not None else None
        if (
            isinstance(value, float)
            and f"'{key}'" in message
            and field is not None
            and field.annotation is int
        ):
            return f"; '{key}' takes whole numbers (a range: add distribution = \"int\")"
    return ""


run_model.check = check_model_config
run_model.metrics = tuple(METRICS)
run_model.non_numeric = ("date",)  # abm.metrics: every metric is a float but the date string


def _within(module: str, allowed: str) -> bool:
    return module == allowed or module.startswith(allowed + ".")


def check_run_function(dotted: str, allow_imports: Iterable[str] = (), source: str = "") -> None:
    """Refuse a run function outside ``abm`` and the modules in ``allow_imports``.

    Checked on the name, before anything is imported: importing a module runs its
    code, so a sweep file sent by someone else must not be able to name one.
    """
    module, _, attr = dotted.partition(":")
    where = f"{source}: " if source else ""
    if not (_DOTTED.fullmatch(module) and _DOTTED.fullmatch(attr)):
        raise ConfigError(f"{where}run_function {dotted!r} is not of the form 'module:function'")
    allowed = [TRUSTED_PACKAGE, *allow_imports]
    if not any(_within(module, a) for a in allowed):
        raise ConfigError(
            f"{where}run_function {dotted!r} is outside the abm package; a sweep file may name "
            f"only abm's functions unless you trust module {module!r} and pass "
            f"--allow-import {module}"
        )
    if any(part.startswith("_") for part in attr.split(".")):
        raise ConfigError(f"{where}run_function {dotted!r}: private names are not run functions")


@functools.cache
def import_object(dotted: str) -> Any:
    """Import ``package.module:function`` (a function defined in that module's package).

    The attribute path may not lead out of the module (``abm.x:os.system``): every
    step must stay an object of the same package.
    """
    module_name, _, attr = dotted.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
            if isinstance(obj, ModuleType):
                raise AttributeError(f"{part!r} is a module, not a function")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"run_function {dotted!r}: cannot import it ({exc})") from None
    top = module_name.partition(".")[0]
    if not inspect.isfunction(obj) or not _within(getattr(obj, "__module__", ""), top):
        raise ConfigError(f"run_function {dotted!r} is not a function defined in package {top!r}")
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
