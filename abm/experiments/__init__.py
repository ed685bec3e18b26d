"""Batch experiments: parameter sweeps and sensitivity analysis.

Model-agnostic: a sweep calls a run function named by dotted path (default
:func:`abm.experiments.runner.run_model`) with a base config, dotted overrides, a
seed and a number of steps, and stores the per-step table it returns.

    from abm.experiments import run_sweep
    result = run_sweep("configs/sweeps/smoke.toml", workers=2)
    result.summary            # one row per run: parameters, seed, outcomes
    load_runs(result.out_dir) # one row per run and step, with parameters and seed
"""

from abm.experiments.design import Design, RunTask, build_design
from abm.experiments.sensitivity import analyze_sweep, sensitivity_indices
from abm.experiments.spec import SweepSpec, load_sweep, parse_sweep
from abm.experiments.storage import export_csv, load_runs
from abm.experiments.sweep import SweepResult, load_summary, run_sweep

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
