"""Shared plumbing for the research notebooks: run sizes, where sweeps write,
scenario arms run through the sweep runner, figure legends, and the phrasing of
computed claims.

Only the public API is used: ``abm.load_config`` and ``abm.experiments.run_sweep`` /
``load_runs``. Each notebook reads ``ABM_FAST`` in its first cell and passes the
sizes it chose here, so that what a notebook runs is visible in the notebook.

The claim helpers (:func:`mode_line`, :func:`num`, :func:`horizon`, :class:`Spread`,
:func:`sign_sentence`, :func:`threshold_sentence`, :func:`top_lever`) turn numbers
into words and refuse what the sample cannot support: a non-finite number raises
instead of printing ``nan``, "the decade" needs 120 simulated months, "in all n
seeds" needs at least two seeds, and a ranking needs intervals that separate.
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
        c
        for c in result.summary.columns
        if (c in ("point_id", "replicate", "seed") or c.count(".")) and c not in runs.columns
    ]  # only what load_runs did not already merge in
    if design_cols:
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


def legend_below(fig, axes, ncols: int | None = None, **kw):
    """One legend for the figure, below the axes, so that it never covers data.

    Collects the labelled artists of ``axes`` (one axes or several), each label once.
    The figure must use ``layout="constrained"``, which makes room for it.
    """
    seen: dict[str, Any] = {}
    for ax in np.atleast_1d(axes).flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    kw.setdefault("fontsize", "small")
    return fig.legend(
        list(seen.values()),
        list(seen),
        loc="outside lower center",
        ncols=ncols or min(len(seen), 5),
        **kw,
    )


# ----------------------------------------------------------------------------- claims
FAST_NOTICE = "every number in this notebook is illustrative"


def mode_line(fast: bool, *sizes: str) -> str:
    """The first line a notebook prints: its run sizes and, in fast mode, that its
    numbers are illustrative. ``sizes`` are phrases such as ``"48 months"``."""
    what = ", ".join(sizes)
    if not fast:
        return f"Full size: {what}."
    return (
        f"FAST MODE ({what}): {FAST_NOTICE}, from short, small runs that check the "
        "notebook works. Run without ABM_FAST=1 for results to read."
    )


def caveat(fast: bool) -> str:
    """The line a conclusion starts with in fast mode ('' at full size)."""
    return f"FAST MODE: {FAST_NOTICE}, not a finding.\n" if fast else ""


def num(x, spec: str = ".3g", *, missing: str | None = None) -> str:
    """``format(x, spec)``; a NaN or infinite ``x`` gives ``missing`` (a phrase saying why
    there is no number), or raises when no such phrase was given."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"num: not a number: {x!r}") from None
    if np.isfinite(value):
        return format(value, spec)
    if missing is None:
        raise ValueError(
            f"num: refusing to print {value} (pass missing= to say why it is undefined)"
        )
    return missing


def months_between(first: str, last: str) -> int:
    """Months from ``first`` to ``last`` inclusive, both 'YYYY-MM'."""
    (y0, m0), (y1, m1) = (map(int, d.split("-")) for d in (first, last))
    return (y1 - y0) * 12 + (m1 - m0) + 1


def horizon(first: str, last: str) -> str:
    """The simulated span in words: 'the decade 2023-01 to 2032-12' only for ten years,
    else '4 years (2023-01 to 2026-12)' or '30 months (...)'."""
    n = months_between(first, last)
    if n <= 0:
        raise ValueError(f"horizon: {last} is before {first}")
    if n == 120:
        return f"the decade {first} to {last}"
    length = f"{n // 12} years" if n % 12 == 0 and n > 12 else f"{n} months"
    return f"{length} ({first} to {last})"


def _seeds(n: int) -> str:
    return "both seeds" if n == 2 else f"all {n} seeds"


def _listing(labels) -> str:
    labels = [str(x) for x in labels]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def sign_sentence(
    subject: str,
    values_by_group: Mapping[Any, Any],
    *,
    group_name: str,
    tol: float = 0.0,
    higher: str = "higher",
    lower: str = "lower",
) -> str:
    """Which groups a per-seed change is positive or negative in, claiming consistency
    across seeds only when there are several.

    ``values_by_group`` maps a group label (e.g. an elasticity) to that group's
    per-seed values; a value within ``tol`` of 0 counts as no change. With one seed
    per group the sentence says that the signs are not tested against seed noise.
    """
    groups = {g: np.asarray(v, dtype=float).ravel() for g, v in values_by_group.items()}
    if not groups or any(v.size == 0 for v in groups.values()):
        raise ValueError(f"sign_sentence: no values for {subject!r}")
    bad = [g for g, v in groups.items() if not np.isfinite(v).all()]
    if bad:
        raise ValueError(f"sign_sentence: non-finite values for {subject!r} at {bad}")
    kinds: dict[str, list] = {"up": [], "down": [], "flat": [], "mixed": []}
    for g, v in groups.items():
        if (v > tol).all():
            kinds["up"].append(g)
        elif (v < -tol).all():
            kinds["down"].append(g)
        elif (np.abs(v) <= tol).all():
            kinds["flat"].append(g)
        else:
            kinds["mixed"].append(g)
    sizes = {v.size for v in groups.values()}
    n = min(sizes)
    within = f"within {tol:g} of no change" if tol > 0 else "unchanged"
    if n == 1:
        seeds, note = "", " (one seed each: these signs are not tested against seed noise)"
    else:
        seeds, note = " in " + (_seeds(n) if len(sizes) == 1 else "every seed"), ""
    parts = [
        (f"{higher}{seeds}", kinds["up"]),
        (f"{lower}{seeds}", kinds["down"]),
        (f"{within}{seeds}", kinds["flat"]),
        (f"{higher} in some seeds and not in others", kinds["mixed"]),
    ]
    phrases = []
    for verb, labels in parts:
        if labels:
            at = f"{group_name} " if not phrases else ""  # the group name once, first
            phrases.append(f"{verb} at {at}{_listing(labels)}")
    return f"{subject} is " + "; ".join(phrases) + note + "."


def threshold_sentence(
    subject: str, series: pd.Series, threshold: float, *, undefined: str, spec: str = ".2f"
) -> str:
    """When a monthly series (index: 'YYYY-MM' or timestamps; NaN = not measured) is
    above ``threshold``, in words. ``undefined`` says why it may not be measured.

    Claims are about measured months only; the last measured value is reported so
    that a reader sees where the series ends, not where it is assumed to go.
    """
    s = pd.Series(series, dtype=float)
    s = s[np.isfinite(s.to_numpy())]
    if s.empty:
        return f"{subject} is not measured in any month ({undefined})."

    def month(t) -> str:
        return t if isinstance(t, str) else pd.Timestamp(t).strftime("%Y-%m")

    above = s[s > threshold]
    last = f"{num(s.iloc[-1], spec)} in {month(s.index[-1])}, the last measured month"
    if above.empty:
        return (
            f"{subject} is above {threshold:g} in none of the {len(s)} measured months "
            f"(at most {num(s.max(), spec)}; {last})."
        )
    return (
        f"{subject} is above {threshold:g} in {len(above)} of {len(s)} measured months "
        f"({month(above.index[0])} to {month(above.index[-1])}; {last})."
    )


class Spread:
    """Per-group mean, min and max of per-run outcomes, phrased without claiming more
    than the runs show: one run gives no range, and undefined runs are counted."""

    def __init__(self, per_run: pd.DataFrame, by: str = "arm"):
        self.per_run = per_run
        self.by = by

    def values(self, group, col: str) -> np.ndarray:
        sel = self.per_run.loc[self.per_run[self.by] == group, col]
        if sel.empty:
            raise KeyError(f"Spread: no runs for {self.by} = {group!r}")
        return sel.to_numpy(dtype=float)

    def mean(self, group, col: str) -> float:
        """Mean over runs where defined; NaN if it is defined in none."""
        v = self.values(group, col)
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    def n_defined(self, group, col: str) -> tuple[int, int]:
        v = self.values(group, col)
        return int(np.isfinite(v).sum()), int(v.size)

    def __call__(self, group, col: str, spec: str = ".3g", *, missing: str | None = None) -> str:
        """'mean [min to max]', 'mean (all n runs)' when they print alike, 'value (one
        run)', or ``missing`` when undefined in all runs; a note is added when some runs
        have no value."""
        v = self.values(group, col)
        finite = v[np.isfinite(v)]
        if finite.size == 0:
            if missing is None:
                raise ValueError(f"Spread: {col} is undefined in every run of {group!r}")
            return missing
        text = num(finite.mean(), spec)
        if finite.size > 1:
            lo, hi = num(finite.min(), spec), num(finite.max(), spec)
            if lo == hi:
                text += " (both runs)" if finite.size == 2 else f" (all {finite.size} runs)"
            else:
                text += f" [{lo} to {hi}]"
        elif v.size == 1:
            text += " (one run)"
        if finite.size < v.size:
            text += f" (defined in {finite.size} of {v.size} runs)"
        return text


def top_lever(
    st: pd.Series,
    st_conf: pd.Series,
    s1: pd.Series | None = None,
    *,
    max_halfwidth: float = 0.25,
) -> tuple[str, bool]:
    """The lever with the largest total Sobol index ST, in words, and whether the
    estimate is precise enough to name it.

    Imprecise (no lever named): the largest ST above 1.05 or with a 95% half-width
    above ``max_halfwidth``. When the top two intervals overlap, both are named.
    """
    st = st[np.isfinite(st.to_numpy(dtype=float))].sort_values(ascending=False)
    if st.empty:
        return "no indices (the outcome did not vary)", False
    top = st.index[0]
    half = float(st_conf.get(top, np.nan))
    if not np.isfinite(half) or half > max_halfwidth or st.iloc[0] > 1.05:
        return (
            f"no lever can be singled out (largest ST {num(st.iloc[0], '.2f')} for {top}, "
            f"95% half-width {num(half, '.2f', missing='unknown')}: too few samples)",
            False,
        )
    head = f"ST {st.iloc[0]:.2f} +- {half:.2f}"
    if s1 is not None and np.isfinite(s1.get(top, np.nan)):
        head += f", S1 {s1[top]:.2f}"
    if len(st) == 1:
        return f"{top} ({head})", True
    second = st.index[1]
    half2 = float(st_conf.get(second, np.nan))
    second_text = f"{second} (ST {st.iloc[1]:.2f} +- {num(half2, '.2f', missing='unknown')})"
    if not np.isfinite(half2) or st.iloc[0] - half <= st.iloc[1] + half2:
        return f"{top} ({head}) and {second_text}, whose intervals overlap", True
    return f"mostly {top} ({head}), then {second_text}", True


def show(table: pd.DataFrame, spec: str | Mapping[str, str] = "{:.3g}"):
    """A table for display with undefined cells shown as 'n/a', never 'nan'."""
    return table.style.format(spec, na_rep="n/a")


def from_to(
    before: float,
    after: float,
    spec: str = ".3g",
    *,
    prefix: str = "",
    suffix: str = "",
    up: str = "rises",
    down: str = "falls",
) -> str:
    """'falls from $3.7 to $2.61 (1.42x lower)' with the verb taken from the numbers;
    ``prefix`` and ``suffix`` go around each number (e.g. '$' and 'B')."""
    a, b = num(before, spec), num(after, spec)
    if a == b:
        return f"stays at {prefix}{a}{suffix}"
    verb = up if after > before else down
    ratio = ""
    if before > 0 and after > 0:
        r = after / before if after > before else before / after
        ratio = f" ({r:.3g}x {'higher' if after > before else 'lower'})"
    return f"{verb} from {prefix}{a}{suffix} to {prefix}{b}{suffix}{ratio}"


def range_text(lo: float, hi: float, spec: str = ".3g") -> str:
    """'lo to hi', or one number when both print the same."""
    a, b = num(lo, spec), num(hi, spec)
    return a if a == b else f"{a} to {b}"
