"""Shared plumbing for the research notebooks: run sizes, where sweeps write,
scenario arms run through the sweep runner, and small summaries with spreads.

Only the public API is used: ``abm.load_config`` and ``abm.experiments.run_sweep`` /
``load_runs``. Each notebook reads ``ABM_FAST`` in its first cell and passes the
sizes it chose here, so that what a notebook runs is visible in the notebook.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.experiments import load_runs, run_sweep

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SCENARIOS = CONFIGS / "scenarios"
BASELINE = CONFIGS / "baseline.toml"
RESULTS = ROOT / "results" / "notebooks" / "sweeps"
HOURS_PER_MONTH = 730.0


def workers(fast: bool) -> int | None:
    """Fast mode runs in the kernel (no process start-up); full size uses every core
    unless ``ABM_WORKERS`` says otherwise."""
    if fast:
        return 1
    env = os.environ.get("ABM_WORKERS")
    return int(env) if env else None


def sweep_dir(name: str, fast: bool) -> Path:
    """Fast runs go to a temporary directory, removed when the kernel exits; full runs
    to ``results/notebooks/sweeps``."""
    if fast:
        path = Path(tempfile.mkdtemp(prefix=f"abm_nb_{name}_"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)  # gone when the kernel exits
        return path
    return RESULTS / name


def scenario(name: str) -> Path | None:
    """``configs/scenarios/<name>.toml``, or None when that file does not exist (yet)."""
    path = SCENARIOS / f"{name}.toml"
    return path if path.is_file() else None


def scenario_arm(name: str, fallback: Mapping[str, Any]) -> tuple[Path, dict[str, Any]]:
    """An arm for :func:`run_arms`: the scenario file if it exists, else the baseline with
    ``fallback`` overrides that stand for it (scenario files are still being added)."""
    path = scenario(name)
    return (path, {}) if path is not None else (BASELINE, dict(fallback))


def sweep(spec: Mapping[str, Any], fast: bool) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """Run a sweep given as a dict; return (summary, per-step runs with design columns, dir).

    Full-size sweeps start afresh (``resume=False``): a notebook re-run after the
    model changed must not reuse runs of the old model.
    """
    spec = dict(spec)
    result = run_sweep(
        spec, workers=workers(fast), quiet=True, resume=False, out_dir=sweep_dir(spec["name"], fast)
    )
    if result.n_failed:
        raise RuntimeError(
            f"{result.n_failed} of {result.n_runs} runs of sweep {spec['name']!r} "
            f"failed; see {result.out_dir / 'failures.jsonl'}"
        )
    runs = load_runs(result.out_dir)
    design_cols = [
        c for c in result.summary.columns if c in ("point_id", "replicate", "seed") or c.count(".")
    ]
    runs = runs.merge(result.summary[["run_id", *design_cols]], on="run_id", how="left")
    runs["time"] = pd.to_datetime(runs["date"], format="%Y-%m")
    return result.summary, runs, result.out_dir


def run_arms(
    arms: Mapping[str, tuple[Path | str, Mapping[str, Any]]],
    *,
    steps: int,
    seeds: int,
    users: int,
    fast: bool,
    seed: int = 2023,
    tag: str = "arms",
) -> pd.DataFrame:
    """Run each arm ``label: (config file, dotted overrides)`` for ``seeds`` replicates.

    Every arm is one sweep with the same root seed and shape, so replicate r of every
    arm gets the same seed (common random numbers). Returns the per-step metrics of
    all runs stacked, with columns ``arm`` and ``replicate``.
    """
    frames = []
    for i, (label, (config, overrides)) in enumerate(arms.items()):
        spec = {
            "name": f"{tag}_{i}",
            "description": label,
            "base": str(Path(config).resolve()),
            "seed": seed,
            "steps": steps,
            "design": "grid",
            "replicates": seeds,
            "fixed": {"end_users.simulated_users": users, **overrides},
        }
        _, runs, _ = sweep(spec, fast)
        runs.insert(0, "arm", label)
        frames.append(runs)
    return pd.concat(frames, ignore_index=True)


def per_run(runs: pd.DataFrame, fn, by: str | list[str] = "arm") -> pd.DataFrame:
    """Apply ``fn(one run's per-step table) -> dict of numbers`` to every run."""
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for keys, df in runs.groupby([*by, "run_id"], sort=False):
        rows.append({**dict(zip([*by, "run_id"], keys, strict=True)), **fn(df.sort_values("step"))})
    return pd.DataFrame(rows)


def spread(values) -> str:
    """'mean (min to max, n runs)' of a sequence of numbers."""
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3g} ({v.min():.3g} to {v.max():.3g}, n={v.size})"


def band(
    ax,
    runs: pd.DataFrame,
    metric: str,
    label: str | None = None,
    scale: float = 1.0,
    color=None,
    **kw,
):
    """Plot the mean over runs of ``metric`` against the month, with the min-max band."""
    table = runs.pivot_table(index="time", columns="run_id", values=metric) * scale
    mean = table.mean(axis=1)
    (line,) = ax.plot(mean.index, mean.to_numpy(), label=label, color=color, **kw)
    if table.shape[1] > 1:
        ax.fill_between(
            mean.index,
            table.min(axis=1).to_numpy(),
            table.max(axis=1).to_numpy(),
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    ax.tick_params(axis="x", labelrotation=30)
    return line
