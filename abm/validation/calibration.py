"""The calibration report: the baseline against every 2023-2024 target.

:func:`run_seeds` runs a config for a few seeds and returns one row per step
and seed: every metric of :data:`abm.metrics.METRICS`, including the firm-level
columns the targets need (the dominant vendor's revenue, the frontier list price).
:func:`evaluate` reduces those rows to one row per
target (model mean and spread over seeds, inside or outside the range), and
:func:`write_report` writes ``calibration.csv``, ``calibration.md``,
``calibration.png``, the per-step runs (``runs.parquet``) and a manifest.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config import Config, load_config
from abm.run_output import staged_report, strict_json, write_text_atomic
from abm.runs import environment
from abm.validation.targets import ORDER_OF_MAGNITUDE, TARGETS, Measure, Target, series_names

DEFAULT_SEEDS = 5
DEFAULT_STEPS = 120  # to 2032-12: 2023-24 in sample, the rest a projection
FIRST_SEED = 1


def run_one(config: Config, seed: int, steps: int) -> pd.DataFrame:
    """One run: every metric (the targets' columns among them), one row per step (row 0 dropped)."""
    from abm.runs import run

    return per_step_rows(run(config, seed=seed, steps=steps).metrics, seed)


def per_step_rows(metrics: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A run's per-step metrics as the report reads them: row 0 (the state before the
    first month) dropped, then ``seed`` and ``step`` (1, 2, ...) as the first columns."""
    df = metrics.iloc[1:].reset_index(drop=True)
    df.insert(0, "step", np.arange(1, len(df) + 1))
    df.insert(0, "seed", seed)
    return df


def run_seeds(config: Config, seeds: Iterable[int], steps: int) -> pd.DataFrame:
    """:func:`run_one` for each seed, stacked."""
    return pd.concat([run_one(config, s, steps) for s in seeds], ignore_index=True)


# ---------------------------------------------------------------- measuring
def _months(df: pd.DataFrame, period: str) -> pd.DataFrame:
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit() and int(period[5:]) <= 12:
        return df[df["date"] == period]
    first, _, last = period.partition("-")
    last = last or first
    year = df["date"].str[:4].astype(int)
    return df[(year >= int(first)) & (year <= int(last))]


def measure(df: pd.DataFrame, m: Measure) -> float:
    """The value of measure ``m`` on one run's per-step table (NaN if the run is too short)."""
    rows = _months(df, m.period)
    if rows.empty:
        return float("nan")
    col = rows[m.column]
    if m.kind == "sum":
        value = col.sum()
    elif m.kind == "mean":
        value = col.mean()
    elif m.kind == "max":
        value = col.max()
    elif m.kind == "at":
        value = col.iloc[-1]
    elif m.kind == "ratio":
        den = rows[m.denominator].sum()
        value = col.sum() / den if den > 0 else float("nan")
    elif m.kind == "annual_fall":
        first, last = col.iloc[0], col.iloc[-1]
        years = (len(col) - 1) / 12.0
        value = (first / last) ** (1.0 / years) if last > 0 and years > 0 else float("nan")
    elif m.kind == "growth":
        years = rows["date"].str[:4]
        totals = col.groupby(years).sum()
        value = (
            totals.iloc[-1] / totals.iloc[0]
            if len(totals) >= 2 and totals.iloc[0] > 0
            else float("nan")
        )
    else:  # pragma: no cover - Measure validates its kind
        raise ValueError(m.kind)
    return float(value) / m.scale


def yearly(df: pd.DataFrame, t: Target) -> pd.Series:
    """The target's statistic for every whole year of one run (for the figures)."""
    m = t.measure
    if m.kind not in ("sum", "mean", "max", "ratio"):
        return pd.Series(dtype=float)
    years = sorted({d[:4] for d in df["date"]})
    out = {}
    for y in years:
        if (df["date"].str[:4] == y).sum() == 12:
            out[int(y)] = measure(df, Measure(m.kind, m.column, y, m.denominator, m.scale))
    return pd.Series(out, dtype=float)


def evaluate(runs: pd.DataFrame, targets: Sequence[Target] = TARGETS) -> pd.DataFrame:
    """One row per target: the range and the model's mean, min and max over seeds."""
    rows = []
    by_seed = [g for _, g in runs.groupby("seed", sort=True)]
    for t in targets:
        values = np.array([measure(g, t.measure) for g in by_seed])
        mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        rows.append(
            {
                "key": t.key,
                "target": t.series,
                "period": t.period,
                "unit": t.unit,
                "observed": t.observed,
                "source": t.source,
                "low": t.low,
                "high": t.high,
                "model_mean": mean,
                "model_min": float(np.nanmin(values))
                if np.isfinite(values).any()
                else float("nan"),
                "model_max": float(np.nanmax(values))
                if np.isfinite(values).any()
                else float("nan"),
                "seeds": int(np.isfinite(values).sum()),
                "inside": bool(np.isfinite(mean) and t.inside(mean)),
                "order_of_magnitude": bool(np.isfinite(mean) and t.order_of_magnitude(mean)),
                "scope": t.scope,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- writing
def _num(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def markdown_table(table: pd.DataFrame) -> str:
    """The table as Markdown: target, source, range, model mean (min-max over seeds), verdict."""
    lines = [
        "| target | period | unit | observed (source) | range | model mean (min-max) | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        verdict = (
            "inside"
            if r.inside
            else (
                "outside, right order of magnitude"
                if r.order_of_magnitude
                else "**outside, wrong order**"
            )
        )
        lines.append(
            f"| {r.target} | {r.period} | {r.unit} | {r.observed} ({r.source}) | "
            f"{_num(r.low)}-{_num(r.high)} | {_num(r.model_mean)} ({_num(r.model_min)}-{_num(r.model_max)}) "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def summary_line(table: pd.DataFrame) -> str:
    n = len(table)
    return (
        f"{int(table['inside'].sum())} of {n} targets inside their range; "
        f"{int(table['order_of_magnitude'].sum())} of {n} within a factor "
        f"{ORDER_OF_MAGNITUDE:.2f} (half a decade) of it"
    )


def plot_report(
    runs: pd.DataFrame, path: Path, targets: Sequence[Target] = TARGETS, last_in_sample: int = 2024
) -> Path:
    """One panel per compared series: the model over all simulated years (mean and
    min-max band over seeds; projection years shaded) and the target ranges."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    names = series_names() if targets is TARGETS else list(dict.fromkeys(t.series for t in targets))
    ncols = 4
    nrows = int(np.ceil(len(names) / ncols))
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    by_seed = [g.reset_index(drop=True) for _, g in runs.groupby("seed", sort=True)]
    for ax, name in zip(axes, names, strict=False):
        group = [t for t in targets if t.series == name]
        t0 = group[0]
        if t0.measure.kind in ("sum", "mean", "max", "ratio"):
            per_year = pd.DataFrame([yearly(g, t0) for g in by_seed])
            x = per_year.columns.to_numpy()
            ax.plot(x, per_year.mean(), color="C0", marker="o", ms=3, label="model (mean)")
            ax.fill_between(
                x, per_year.min(), per_year.max(), color="C0", alpha=0.2, label="min-max over seeds"
            )
            for t in group:
                year = int(t.period[:4])
                ax.errorbar(
                    [year],
                    [(t.low + t.high) / 2],
                    yerr=[[(t.high - t.low) / 2]],
                    color="C3",
                    capsize=5,
                    lw=2,
                    fmt="none",
                    label="target range" if t is group[0] else None,
                )
            if x.size and x.max() > last_in_sample:
                ax.axvspan(last_in_sample + 0.5, x.max() + 0.5, color="0.9", zorder=0)
            ax.set_xlabel("year")
        else:
            col, scale = t0.measure.column, t0.measure.scale
            for g in by_seed:
                dates = pd.to_datetime(g["date"], format="%Y-%m")
                ax.plot(dates, g[col] / scale, color="C0", alpha=0.5, lw=1)
            values = evaluate(runs, group).iloc[0]
            ax.text(
                0.02,
                0.95,
                f"model {_num(values['model_mean'])} {t0.unit}\n"
                f"target {_num(t0.low)}-{_num(t0.high)}",
                transform=ax.transAxes,
                va="top",
                fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0},
            )
            if t0.measure.kind == "at":
                ax.errorbar(
                    [pd.Timestamp(t0.period)],
                    [(t0.low + t0.high) / 2],
                    yerr=[[(t0.high - t0.low) / 2]],
                    color="C3",
                    capsize=5,
                    lw=2,
                    fmt="none",
                )
            ax.axvspan(
                pd.Timestamp(f"{last_in_sample + 1}-01"),
                pd.to_datetime(by_seed[0]["date"].iloc[-1]),
                color="0.9",
                zorder=0,
            )
            ax.set_yscale("log")
            ax.set_ylabel(f"{col}" + (f" / {scale:g}" if scale != 1 else ""), fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_title(t0.unit, fontsize=7, loc="right", color="0.4")
        ax.tick_params(labelsize=7)
        if name == names[0]:
            ax.legend(fontsize=6)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Baseline against the 2023-2024 targets (shaded: projection)", fontsize=11)
    fig.savefig(path, dpi=110)
    return path


# the projection table: (label, metric, unit, how, scale); how: "sum" over the year (a flow,
# per seed), "mean" of the months, "december" (a stock at the year's end) or "ratio" of two
# flows' yearly sums ("numerator/denominator", as the calibration targets read a margin)
PROJECTION_ROWS: tuple[tuple[str, str, str, str, float], ...] = (
    ("user spend", "user_spend", "$B per year", "sum", 1e9),
    ("lab revenue", "lab_revenue", "$B per year", "sum", 1e9),
    ("training spend", "training_spend", "$B per year", "sum", 1e9),
    ("VC funding", "vc_funding", "$B per year", "sum", 1e9),
    ("VC pool (dry powder)", "vc_pool", "$B", "december", 1e9),
    ("payouts to owners", "payouts", "$B per year", "sum", 1e9),
    ("vendor revenue (all vendors)", "vendor_revenue", "$B per year", "sum", 1e9),
    (
        "vendor gross margin (lead)",
        "lead_vendor_gross_profit/lead_vendor_revenue",
        "fraction",
        "ratio",
        1.0,
    ),
    ("capex (big four)", "capex", "$B per year", "sum", 1e9),
    ("GPU shipments", "gpu_shipments_h100e", "M H100e per year", "sum", 1e6),
    ("GPUs scrapped", "gpus_scrapped", "M H100e per year", "sum", 1e6),
    ("installed GPUs", "installed_gpus", "M H100e", "december", 1e6),
    ("energised capacity", "dc_capacity_mw", "GW", "december", 1e3),
    ("utilisation", "utilization", "fraction", "mean", 1.0),
    ("compute shortage (the labs')", "compute_shortage", "fraction", "mean", 1.0),
    ("own-work shortage (the parents')", "own_ai_shortage", "fraction", "mean", 1.0),
    ("parents' own AI spend", "own_ai_spend", "$B per year", "sum", 1e9),
    ("token shortage", "token_shortage", "fraction", "mean", 1.0),
    ("compute price", "compute_price", "$ per GPU-hour", "mean", 1.0),
    ("user cost of capital", "user_cost", "$ per GPU-hour", "mean", 1.0),
    ("price at fixed capability", "price_at_fixed_capability", "$ per M tokens", "mean", 1.0),
    ("mean price paid per token", "retail_token_price", "$ per M tokens", "mean", 1.0),
    ("serving share", "serving_share", "fraction", "mean", 1.0),
    ("lab operating margin", "lab_operating_margin", "fraction", "mean", 1.0),
    ("clouds' gross margin", "margin_hyperscalers", "fraction", "mean", 1.0),
    ("startups alive", "startups_alive", "count", "december", 1.0),
    ("defaults", "defaults", "count per year", "sum", 1.0),
)


def projection(runs: pd.DataFrame) -> pd.DataFrame:
    """Year-by-year values of :data:`PROJECTION_ROWS`, the mean over seeds (flows summed
    over each year per seed first; stocks read in December; ratios of yearly sums per
    seed): one row per quantity, one column per calendar year."""
    df = runs.sort_values(["seed", "step"]).assign(year=runs["date"].str[:4])
    rows = {}
    for label, metric, unit, how, scale in PROJECTION_ROWS:
        if how == "ratio":
            top, bottom = metric.split("/")
            sums = df.groupby(["seed", "year"])[[top, bottom]].sum()
            per_seed = sums[top] / sums[bottom]
        else:
            by = df.groupby(["seed", "year"])[metric]
            per_seed = {"sum": by.sum(), "mean": by.mean(), "december": by.last()}[how]
        rows[(label, unit)] = per_seed.groupby(level="year").mean() / scale
    table = pd.DataFrame(rows).T
    table.index.names = ["quantity", "unit"]
    return table


def projection_markdown(table: pd.DataFrame) -> str:
    years = list(table.columns)
    lines = [
        "| quantity | unit | " + " | ".join(years) + " |",
        "|---|---|" + "---|" * len(years),
    ]
    for (label, unit), row in table.iterrows():
        lines.append(f"| {label} | {unit} | " + " | ".join(_num(x) for x in row) + " |")
    return "\n".join(lines)


def write_report(
    runs: pd.DataFrame,
    out: Path,
    config_source: str = "",
    wall: float = 0.0,
    overrides: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Write the table (CSV and Markdown), the figure, the runs and a manifest to ``out``;
    ``overrides``: the config values the runs changed (recorded in both)."""
    table = evaluate(runs)
    seeds = sorted(int(s) for s in runs["seed"].unique())
    md = [
        "# Calibration: the baseline against 2023-2024 targets\n",
        f"Config `{config_source}`"
        + "".join(f", `{k} = {v!r}`" for k, v in (overrides or {}).items())
        + f", seeds {seeds}, {runs['step'].max()} monthly steps "
        f"({runs['date'].iloc[0]} to {runs['date'].iloc[-1]}).\n",
        summary_line(table) + ".\n",
        markdown_table(table),
        "",
        "Scope notes (where the model's quantity differs from the observed one):\n",
    ]
    md += [f"- **{r.target}, {r.period}**: {r.scope}" for r in table.itertuples() if r.scope]
    md += [
        "",
        "## The projection, year by year (mean over seeds)\n",
        "Flows are summed over each year, stocks read in December, the rest averaged.\n",
        projection_markdown(projection(runs)),
    ]
    manifest: dict[str, Any] = {
        "config_file": config_source,
        "overrides": dict(overrides or {}),
        "seeds": seeds,
        "steps": int(runs["step"].max()),
        "targets": [t.key for t in TARGETS],
        "inside": int(table["inside"].sum()),
        "order_of_magnitude": int(table["order_of_magnitude"].sum()),
        **environment(),
        "wall_time_s": round(wall, 2),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": ["calibration.csv", "calibration.md", "calibration.png", "runs.parquet"],
    }
    with staged_report(Path(out), "calibration.json") as stage:
        table.to_csv(stage / "calibration.csv", index=False)
        (stage / "calibration.md").write_text("\n".join(md) + "\n")
        plot_report(runs, stage / "calibration.png")
        runs.to_parquet(stage / "runs.parquet", index=False)
        write_text_atomic(strict_json(manifest) + "\n", stage / "calibration.json")
    return table


def calibration_report(
    config: str | Path | None = None,
    seeds: int = DEFAULT_SEEDS,
    steps: int = DEFAULT_STEPS,
    out: str | Path = "results/validation",
    overrides: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Run ``config`` (default: the baseline) for ``seeds`` seeds and write the report to ``out``."""
    cfg = load_config(config, overrides=overrides)
    t0 = time.perf_counter()
    runs = run_seeds(cfg, range(FIRST_SEED, FIRST_SEED + seeds), steps)
    return write_report(
        runs,
        Path(out),
        str(config or "configs/baseline.toml"),
        time.perf_counter() - t0,
        overrides,
    )
