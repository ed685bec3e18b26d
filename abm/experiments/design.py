"""Designs: which parameter values each run gets, and its seed.

Sampling designs draw points in the unit hypercube (Latin hypercube from
``scipy.stats.qmc``, Saltelli/Sobol' and Morris trajectories from SALib) and map
each coordinate onto its parameter's range. The unit coordinates are kept (columns
``u:<key>``) because the sensitivity analysis works on them.

Seeds: ``SeedSequence(seed)`` spawns two children, one for the design's own random
draws and one whose children seed the runs, one per run (or one per replicate with
``common_seeds``). Each run stores its entropy, spawn key and the integer seed the
model gets, so any run can be reproduced alone.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from abm.experiments.spec import ParameterSpec, SweepSpec

UNIT_PREFIX = "u:"


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (picklable, plain Python values)."""

    run_id: int
    point_id: int
    replicate: int
    params: dict[str, Any]
    seed: int


@dataclass(frozen=True)
class Design:
    """The runs of a sweep, in run-id order, and the same as a table."""

    tasks: list[RunTask]
    table: pd.DataFrame
    parameter_names: list[str]
    n_points: int


def levels(param: ParameterSpec) -> list[Any]:
    """Grid levels of one parameter."""
    if param.values is not None:
        return list(param.values)
    lo, hi, k = param.low, param.high, param.levels
    if param.distribution == "int":
        return sorted({int(x) for x in np.round(np.linspace(lo, hi, k))})
    if param.distribution == "loguniform":
        return [float(x) for x in np.geomspace(lo, hi, k)]
    return [float(x) for x in np.linspace(lo, hi, k)]


def from_unit(param: ParameterSpec, u: np.ndarray) -> list[Any]:
    """Map unit-interval coordinates onto a parameter's values (plain Python types)."""
    u = np.asarray(u, dtype=float)
    if param.values is not None:
        k = len(param.values)
        return [param.values[i] for i in np.minimum((u * k).astype(int), k - 1)]
    lo, hi = param.low, param.high
    if param.distribution == "int":
        return [int(x) for x in np.minimum(np.floor(lo + u * (hi - lo + 1)), hi)]
    if param.distribution == "loguniform":
        return [float(x) for x in np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))]
    return [float(x) for x in lo + u * (hi - lo)]


def salib_problem(names: list[str]) -> dict[str, Any]:
    """SALib problem on the unit hypercube (parameters are mapped afterwards)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def unit_sample(spec: SweepSpec, rng_seed: int) -> np.ndarray:
    """Points in the unit hypercube for a sampling design, one row per design point."""
    names = list(spec.parameters)
    if spec.design == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(rng_seed)).random(spec.n)
    if spec.design == "sobol":
        from SALib.sample import sobol

        return sobol.sample(
            salib_problem(names), spec.n, calc_second_order=spec.second_order, seed=rng_seed
        )
    if spec.design == "morris":
        from SALib.sample import morris

        return morris.sample(
            salib_problem(names), spec.n, num_levels=spec.morris_levels, seed=rng_seed
        )
    raise ValueError(f"{spec.design!r} is not a sampling design")


def build_design(spec: SweepSpec) -> Design:
    """All runs of a sweep: design points times replicates, each with its own seed."""
    names = list(spec.parameters)
    root = np.random.SeedSequence(spec.seed)
    design_seq, runs_seq = root.spawn(2)

    columns: dict[str, list[Any]] = {}
    if spec.design == "grid":
        combos = list(itertools.product(*(levels(p) for p in spec.parameters.values())))
        points = [dict(zip(names, combo, strict=True)) for combo in combos]
    else:
        unit = unit_sample(spec, int(design_seq.generate_state(1)[0]))
        mapped = {k: from_unit(p, unit[:, j]) for j, (k, p) in enumerate(spec.parameters.items())}
        points = [{k: mapped[k][i] for k in names} for i in range(len(unit))]
        for j, k in enumerate(names):
            columns[UNIT_PREFIX + k] = unit[:, j].tolist()

    n_points, reps = len(points), spec.replicates
    children = runs_seq.spawn(reps if spec.common_seeds else n_points * reps)
    tasks, rows = [], []
    for p, params in enumerate(points):
        for r in range(reps):
            run_id = p * reps + r
            child = children[r if spec.common_seeds else run_id]
            seed = int(child.generate_state(1)[0])
            tasks.append(RunTask(run_id, p, r, params, seed))
            rows.append(
                {
                    "run_id": run_id,
                    "point_id": p,
                    "replicate": r,
                    **params,
                    **{c: v[p] for c, v in columns.items()},
                    "seed_entropy": int(child.entropy),
                    "seed_spawn_key": list(child.spawn_key),
                    "seed": seed,
                }
            )
    table = pd.DataFrame(rows)
    return Design(tasks=tasks, table=table, parameter_names=names, n_points=n_points)


def unit_matrix(design_table: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Unit coordinates of each design point, in point order (sampling designs)."""
    points = design_table.drop_duplicates("point_id").sort_values("point_id")
    return points[[UNIT_PREFIX + k for k in names]].to_numpy(dtype=float)
