"""Batch experiments: parameter sweeps and sensitivity analysis.

Model-agnostic: a sweep calls a run function named by dotted path (default
:func:`abm.experiments.runner.run_model`) with a base config, dotted overrides, a
seed and a number of steps, and stores the per-step table it returns.

    from abm.experiments import run_sweep
    result = run_sweep("configs/sweeps/smoke.toml", workers=2)
    result.summary            # one row per run: parameters, seed, outcomes
    load_runs(result.out_dir) # one row per run and step, with parameters and seed

The names below are imported on first use, so that ``abm sweep`` can start its
worker processes before it imports pandas and the rest (and ``abm --help`` stays
quick).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "Design": "design",
    "RunTask": "design",
    "build_design": "design",
    "analyze_sweep": "sensitivity",
    "sensitivity_indices": "sensitivity",
    "SweepSpec": "spec",
    "load_sweep": "spec",
    "parse_sweep": "spec",
    "export_csv": "storage",
    "load_runs": "storage",
    "SweepResult": "sweep",
    "load_summary": "sweep",
    "run_sweep": "sweep",
}

__all__ = [
    "Design",
    "RunTask",
    "SweepResult",
    "SweepSpec",
    "analyze_sweep",
    "build_design",
    "export_csv",
    "load_runs",
    "load_summary",
    "load_sweep",
    "parse_sweep",
    "run_sweep",
    "sensitivity_indices",
]

if TYPE_CHECKING:
    from abm.experiments.design import Design, RunTask, build_design
    from abm.experiments.sensitivity import analyze_sweep, sensitivity_indices
    from abm.experiments.spec import SweepSpec, load_sweep, parse_sweep
    from abm.experiments.storage import export_csv, load_runs
    from abm.experiments.sweep import SweepResult, load_summary, run_sweep


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"abm.experiments.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'abm.experiments' has no attribute {name!r}")
