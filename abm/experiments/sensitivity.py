"""Global sensitivity indices of a finished sobol or morris sweep (SALib).

Indices are computed on the unit hypercube the design was drawn in, so Morris
elementary effects are per full range of each parameter. Replicate seeds of a
design point are averaged first: the indices describe the expected outcome, and
seed noise left in that mean shows up as a small spurious share of variance.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from abm.config import ConfigError
from abm.experiments.design import salib_problem, unit_matrix
from abm.experiments.outcomes import outcome_unit
from abm.experiments.spec import SweepSpec
from abm.experiments.storage import SweepStore, write_text_atomic


def sensitivity_indices(spec: SweepSpec, design_table: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """Sobol (S1, ST) or Morris (mu, mu_star, sigma) indices, one row per parameter.

    ``y`` holds one outcome value per design point, in point order.
    """
    names = list(spec.parameters)
    problem = salib_problem(names)
    # SALib treats seed=0 as "no seed"; keep confidence intervals reproducible.
    seed = spec.seed % (2**32 - 1) + 1
    y = np.asarray(y, dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a constant outcome gives NaN indices
        if spec.design == "sobol":
            from SALib.analyze import sobol

            si = sobol.analyze(
                problem, y, calc_second_order=spec.second_order, seed=seed, print_to_console=False
            )
            keys = ["S1", "S1_conf", "ST", "ST_conf"]
        elif spec.design == "morris":
            from SALib.analyze import morris

            x = unit_matrix(design_table, names)
            si = morris.analyze(problem, x, y, num_levels=spec.morris_levels, seed=seed)
            keys = ["mu", "mu_star", "sigma", "mu_star_conf"]
        else:
            raise ConfigError(
                f"sensitivity indices need a sobol or morris design, not {spec.design!r}"
            )
    table = pd.DataFrame({"parameter": names, **{k: np.asarray(si[k], dtype=float) for k in keys}})
    return table


def point_means(summary: pd.DataFrame, labels: list[str], n_points: int) -> pd.DataFrame:
    """Outcomes averaged over replicates, one row per design point (NaN if any run failed)."""
    ok = summary["status"] == "ok"
    grouped = summary[labels].where(ok).groupby(summary["point_id"]).mean()
    incomplete = (~ok).groupby(summary["point_id"]).any()
    grouped[incomplete.reindex(grouped.index, fill_value=False).to_numpy()] = np.nan
    return grouped.reindex(range(n_points))


def analyze_sweep(
    sweep_dir: str | Path, outcomes: list[str] | None = None, quiet: bool = False
) -> dict[str, pd.DataFrame]:
    """Write ``sensitivity_<outcome>.csv`` and ``.png`` for each outcome of a sweep.

    Outcomes with a missing or non-finite value at some design point are skipped
    with a message; the indices would be meaningless.
    """
    store = SweepStore(sweep_dir)
    if not store.manifest_path.exists() or not store.summary_path.exists():
        raise ConfigError(
            f"{sweep_dir}: not a finished sweep (no manifest.json and summary.parquet)"
        )
    spec = SweepSpec.model_validate(store.read_manifest()["spec"])
    if spec.design not in ("sobol", "morris"):
        raise ConfigError(
            f"{store.manifest_path}: sensitivity indices need a sobol or morris design, not {spec.design!r}"
        )
    by_label = {o.label: o for o in spec.outcomes}
    labels = list(by_label)
    chosen = outcomes or labels
    unknown = [c for c in chosen if c not in labels]
    if unknown:
        raise ConfigError(
            f"{store.manifest_path}: no outcome {unknown[0]!r}; outcomes are {labels}"
        )
    design = store.read_design()
    n_points = int(design["point_id"].max()) + 1
    means = point_means(store.read_summary(), chosen, n_points)

    results: dict[str, pd.DataFrame] = {}
    for label in chosen:
        y = means[label].to_numpy(dtype=float)
        bad = int((~np.isfinite(y)).sum())
        if bad:
            if not quiet:
                print(
                    f"sensitivity of {label!r} skipped: {bad} design points have no value",
                    file=sys.stderr,
                )
            continue
        table = sensitivity_indices(spec, design, y)
        stem = "sensitivity_" + re.sub(r"[^\w.-]", "_", label)
        write_text_atomic(table.to_csv(index=False), store.root / f"{stem}.csv")
        unit = outcome_unit(by_label[label])
        plot_indices(table, spec.design, label, store.root / f"{stem}.png", unit=unit)
        results[label] = table
    return results


def indices_figure(table: pd.DataFrame, design: str, label: str, unit: str = ""):
    """Horizontal bar chart of the indices with their confidence intervals.

    Sobol indices are shares of the outcome's variance (no unit); Morris mu* is in
    the outcome's own unit, per full range of the parameter.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A Figure with an Agg canvas, not pyplot: no global backend, safe in workers.
    fig = Figure(figsize=(7.5, 1.4 + 0.45 * len(table)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pos = np.arange(len(table))
    if design == "sobol":
        h = 0.4
        ax.barh(
            pos - h / 2, table["S1"], h, xerr=table["S1_conf"], label="first order S1", capsize=2
        )
        ax.barh(pos + h / 2, table["ST"], h, xerr=table["ST_conf"], label="total ST", capsize=2)
        ax.set_xlabel("Sobol index [fraction of the outcome's variance]")
        ax.legend(loc="lower right", fontsize="small")
    else:
        ax.barh(pos, table["mu_star"], 0.6, xerr=table["mu_star_conf"], capsize=2)
        per = f"{unit} per full parameter range" if unit else "per full parameter range"
        ax.set_xlabel(f"Morris mu*, mean |elementary effect| [{per}]")
    ax.set_yticks(pos, table["parameter"])
    ax.set_ylabel("parameter")
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_title(f"Sensitivity of {label}" + (f" [{unit}]" if unit else ""))
    return fig


def plot_indices(table: pd.DataFrame, design: str, label: str, path: Path, unit: str = "") -> None:
    """Save :func:`indices_figure` as a PNG, atomically."""
    fig = indices_figure(table, design, label, unit)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    os.replace(tmp, path)
