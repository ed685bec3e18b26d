"""What a finished sweep shows: a summary by design point and plots, from its directory alone.

In the manner of the EMA Workbench: each outcome against each parameter, and
envelopes of the main per-step metrics over time. Written into the sweep directory:

``summary_by_point.csv``
    one row per design point: its parameter values, the number of seeds that ran,
    and the mean, min and max over those seeds of every outcome;
``summary_by_point.txt``
    the same as ``abm sweep`` and ``abm analyze`` print it, with units;
``outcome_<label>.png``
    one panel per parameter: every design point's mean over seeds with a bar for
    the seeds' range, and the mean over the other parameters at each value (a grid
    of two parameters: one line per value of the other instead);
``envelopes.png``
    one panel per metric: the range over all runs (seeds and design points) at each
    step, the middle half of the runs, and their median.

Units come from :data:`abm.metrics.METRICS` for metrics and from the base config's
comments for parameters; a name with no known unit is shown without one.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config import ConfigError
from abm.experiments.outcomes import metric_unit, outcome_unit
from abm.experiments.spec import OutcomeSpec, SweepSpec
from abm.experiments.storage import (
    SweepStore,
    design_parameters,
    load_runs,
    write_text_atomic,
)
from abm.metrics import METRICS

SUMMARY_CSV = "summary_by_point.csv"
SUMMARY_TXT = "summary_by_point.txt"
ENVELOPES_PNG = "envelopes.png"
# Drawn when a sweep stored every metric: the market's prices, volumes, capacity and margins.
MAIN_METRICS = (
    "tokens",
    "token_price",
    "user_spend",
    "compute_price",
    "utilization",
    "gpu_price",
    "installed_gpus",
    "dc_capacity_mw",
    "margin_model_devs",
    "startups_alive",
)
MAX_ENVELOPES = 12
MAX_PRINTED_POINTS = 30
TEXT_WIDTH = 120


@dataclass
class SweepReport:
    """The summary by design point and the files written for one sweep."""

    out_dir: Path
    points: pd.DataFrame
    text: str
    files: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- units
def parameter_units(base: str | Path | None, keys: list[str]) -> dict[str, str]:
    """Unit of each dotted config key, from the comment after it in the base config.

    The comment's first clause is taken (up to ';' or a parenthesis), as in
    ``perf_gain_per_generation = 2.5  # x inference throughput per generation; ...``.
    A key set in neither the base file nor the files it extends gets ''.
    """
    comments: dict[str, str] = {}
    path = Path(base) if base else None
    seen: set[Path] = set()
    while path is not None and path.is_file() and path.resolve() not in seen:
        seen.add(path.resolve())
        for key, text in _key_comments(path).items():
            comments.setdefault(key, text)
        try:
            parent = tomllib.loads(path.read_text()).get("extends")
        except tomllib.TOMLDecodeError:
            parent = None
        path = (path.parent / parent) if isinstance(parent, str) else None
    units = {}
    for key in keys:
        text = re.split(r";| \(", comments.get(key, ""), maxsplit=1)[0].strip()
        units[key] = text if len(text) <= 48 else text[:47].rstrip() + "..."
    return units


_SECTION = re.compile(r"^\s*(\[\[?)\s*([\w.-]+)\s*\]\]?")
_VALUE = re.compile(r"^\s*([\w-]+)\s*=\s*[^#]*#\s*(.+?)\s*$")


def _key_comments(path: Path) -> dict[str, str]:
    """Dotted key -> trailing comment of a TOML file (arrays of tables by index)."""
    out: dict[str, str] = {}
    section, counts = "", {}
    for line in path.read_text().splitlines():
        if m := _SECTION.match(line):
            name = m.group(2)
            if m.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                section = f"{name}.{counts[name]}."
            else:
                section = f"{name}."
        elif m := _VALUE.match(line):
            out[section + m.group(1)] = m.group(2)
    return out


def _with_unit(name: str, unit: str, sep: str = " ") -> str:
    return f"{name}{sep}[{unit}]" if unit else name


def _readable_ticks(ax, axis: str = "y") -> None:
    """Tick labels like 250k, 1.5M, 3B, 2T instead of an offset such as 1e8."""
    from matplotlib.ticker import FuncFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    if target.get_scale() != "linear":
        return

    def fmt(value: float, _pos) -> str:
        for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:.4g}{suffix}"
        return f"{value:.4g}"

    lo, hi = target.get_view_interval()
    if max(abs(lo), abs(hi)) >= 1e4:
        target.set_major_formatter(FuncFormatter(fmt))


# --------------------------------------------------------------------------- summary
def summary_by_point(
    summary: pd.DataFrame, parameters: list[str], labels: list[str]
) -> pd.DataFrame:
    """One row per design point: parameters, ``seeds`` (runs that succeeded), ``runs``,
    and ``<outcome>_mean``, ``_min``, ``_max`` over the successful runs."""
    by_point = summary.groupby("point_id", sort=True)
    table = (
        by_point[parameters].first() if parameters else pd.DataFrame(index=by_point.size().index)
    )
    ok = summary[summary["status"] == "ok"]
    table["seeds"] = ok.groupby("point_id").size().reindex(table.index, fill_value=0)
    table["runs"] = by_point.size()
    if labels:
        stats = ok.groupby("point_id")[labels].agg(["mean", "min", "max"])
        stats.columns = [f"{label}_{stat}" for label, stat in stats.columns]
        table = table.join(stats.reindex(table.index))
    return table.reset_index()


def _fmt(x: Any) -> str:
    if isinstance(x, bool | np.bool_ | str):
        return str(x)
    x = float(x)
    if not math.isfinite(x):
        return "-" if math.isnan(x) else str(x)
    text = f"{x:.3g}"
    return re.sub(
        r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text
    )


def short_names(keys: list[str]) -> dict[str, str]:
    """The last part of each dotted key, or more of it where two would be the same."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[-n:])
            if sum(k.endswith("." + name) or k == name for k in keys) == 1:
                break
        out[key] = name
    return out


def _wrap(text: str, width: int, pattern: str) -> list[str]:
    """Break ``text`` after the separators matched by ``pattern`` into lines of ~width."""
    lines = [""]
    for token in re.split(pattern, text):
        if lines[-1] and len(lines[-1]) + len(token) > width:
            lines.append("")
        lines[-1] += token
    return [line.strip() for line in lines]


def _column(name: str, unit: str, cells: list[str]) -> tuple[list[str], list[str]]:
    """A text column: its header lines (name, then [unit]) and its cells."""
    width = max(14, *(len(c) for c in cells))
    head = _wrap(name, width, r"(?<=[_.])")
    if unit:
        head += _wrap(f"[{unit}]", width, r"(?<= )")
    return head, cells


def format_summary(
    points: pd.DataFrame,
    parameters: list[str],
    outcomes: list[OutcomeSpec],
    max_rows: int = MAX_PRINTED_POINTS,
    width: int = TEXT_WIDTH,
) -> str:
    """The summary by point as text: mean [min, max] over seeds, units under each name."""
    shown = points.head(max_rows)
    short = short_names(parameters)
    runs = shown["runs"].to_numpy()
    seeds = shown["seeds"].to_numpy()
    key_cols = [_column("point", "", [str(p) for p in shown["point_id"]])]
    key_cols += [_column(short[p], "", [_fmt(v) for v in shown[p]]) for p in parameters]
    key_cols.append(
        _column(
            "seeds",
            "",
            [str(s) if s == r else f"{s}/{r}" for s, r in zip(seeds, runs, strict=True)],
        )
    )
    out_cols = []
    for o in outcomes:
        lo, mid, hi = (shown[f"{o.label}_{s}"] for s in ("min", "mean", "max"))
        cells = [
            _fmt(m) if (n <= 1 or a == b) else f"{_fmt(m)} [{_fmt(a)}, {_fmt(b)}]"
            for m, a, b, n in zip(mid, lo, hi, seeds, strict=True)
        ]
        out_cols.append(_column(o.label, outcome_unit(o), cells))

    def widths(cols):
        return [max(len(x) for x in [*head, *cells]) for head, cells in cols]

    def block(cols) -> list[str]:
        ws = widths(cols)
        depth = max(len(head) for head, _ in cols)
        rows = [[""] * (depth - len(head)) + head for head, _ in cols]  # names bottom-aligned
        lines = [
            "  ".join(r[i].rjust(w) for r, w in zip(rows, ws, strict=True)) for i in range(depth)
        ]
        for i in range(len(shown)):
            lines.append("  ".join(c[i].rjust(w) for (_, c), w in zip(cols, ws, strict=True)))
        return lines

    # Wide tables are split into blocks of outcomes, each repeating point and parameters.
    key_width = sum(widths(key_cols)) + 2 * len(key_cols)
    blocks: list[list] = [[]]
    for col in out_cols:
        if blocks[-1] and key_width + sum(w + 2 for w in widths([*blocks[-1], col])) > width:
            blocks.append([])
        blocks[-1].append(col)
    several = int(points["runs"].max()) > 1
    note = "mean [min, max] over seeds" if several else "one seed each"
    lines = [f"Outcomes by design point ({note}):"]
    for cols in blocks:
        lines += ["", *block(key_cols + cols)]
    if len(points) > len(shown):
        lines += ["", f"... and {len(points) - len(shown)} more design points in {SUMMARY_CSV}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A Figure with an Agg canvas, not pyplot: no global backend, safe in any process.
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    os.replace(tmp, path)
    return path


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _log_scale_fits(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return len(finite) > 1 and finite.min() > 0 and finite.max() / finite.min() > 1e3


def outcome_figure(
    points: pd.DataFrame, spec: SweepSpec, outcome: OutcomeSpec, units: dict[str, str]
):
    """One outcome against each parameter: point means with the seeds' range.

    ``points`` is :func:`summary_by_point`; ``units`` gives each parameter's unit.
    """
    params = list(spec.parameters)
    ncols = min(3, len(params))
    nrows = math.ceil(len(params) / ncols)
    fig = _figure(4.6 * ncols, 3.6 * nrows + 0.5)
    unit = outcome_unit(outcome)
    label = outcome.label
    mean, lo, hi = (points[f"{label}_{s}"].to_numpy(float) for s in ("mean", "min", "max"))
    grid_pair = spec.design == "grid" and len(params) == 2
    for i, param in enumerate(params):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        x, ticks = _positions(points[param])
        if grid_pair:
            _lines_by_other(ax, points, param, params[1 - i], label, units)
        else:
            ax.errorbar(
                x,
                mean,
                yerr=[mean - lo, hi - mean],
                fmt="o",
                markersize=4,
                color="#1f5fa8",
                ecolor="#7aa6d8",
                elinewidth=1.2,
                capsize=2,
                label="design point: mean and range over seeds",
            )
            _main_effect(ax, points, param, label, spec)
        if ticks is not None:
            ax.set_xticks(range(len(ticks)), ticks)
        elif pd.api.types.is_integer_dtype(points[param]):
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        elif spec.parameters[param].distribution == "loguniform":
            ax.set_xscale("log")
        if _log_scale_fits(np.concatenate([lo, hi])):
            ax.set_yscale("log")
        ax.set_xlabel(_with_unit(param, units.get(param, ""), "\n"))
        ax.set_ylabel(_with_unit(label, unit, "\n"))
        ax.grid(True, alpha=0.3)
        _readable_ticks(ax, "y")
        _readable_ticks(ax, "x")
    if not grid_pair:  # one legend for all panels, above them: it never hides a point
        handles, names = fig.axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=2, fontsize="small")
    n_seeds = int(points["runs"].max())
    fig.suptitle(
        f"{label} against each parameter ({len(points)} design points x {n_seeds} seeds)",
        fontsize="medium",
    )
    return fig


def _positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """x positions: the values themselves, or category indices for non-numbers."""
    if _is_numeric(values):
        return values.to_numpy(float), None
    cats = list(dict.fromkeys(values.map(str)))
    return values.map(str).map(cats.index).to_numpy(float), cats


def _main_effect(ax, points, param, label, spec) -> None:
    """Mean over the other parameters at each value (grid) or in six bins (sampled)."""
    x, _ = _positions(points[param])
    y = points[f"{label}_mean"].to_numpy(float)
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return
    x, y = x[ok], y[ok]
    levels = np.unique(x)
    if spec.design == "grid" or len(levels) <= 8:
        centres = levels
        means = np.array([y[x == v].mean() for v in levels])
    else:
        edges = np.quantile(x, np.linspace(0, 1, 7))
        bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 5)
        filled = [b for b in range(6) if (bins == b).any()]
        centres = np.array([x[bins == b].mean() for b in filled])
        means = np.array([y[bins == b].mean() for b in filled])
    what = "mean over the other parameters" if len(spec.parameters) > 1 else "mean over seeds"
    ax.plot(
        centres, means, color="black", linewidth=1.8, label=f"{what} (by value; six bins if many)"
    )


def _lines_by_other(ax, points, param, other, label, units) -> None:
    """A grid of two parameters: one line per value of the other, with the seeds' range."""
    from matplotlib import colormaps

    levels = list(dict.fromkeys(points[other]))
    colours = colormaps["viridis"](np.linspace(0.0, 0.8, len(levels)))
    for level, colour in zip(levels, colours, strict=True):
        rows = points[points[other] == level].sort_values(param)
        x, ticks = _positions(rows[param])
        if ticks is not None:  # categories of all points, not just these rows
            x = rows[param].map(str).map(list(dict.fromkeys(points[param].map(str))).index)
        mean = rows[f"{label}_mean"].to_numpy(float)
        ax.errorbar(
            x,
            mean,
            yerr=[mean - rows[f"{label}_min"], rows[f"{label}_max"] - mean],
            color=colour,
            marker="o",
            markersize=3.5,
            linewidth=1.5,
            capsize=2,
            label=_fmt(level),
        )
    ax.legend(
        title=_with_unit(short_names([other])[other], units.get(other, "")),
        fontsize="small",
        title_fontsize="small",
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),  # above the panel, never over a line
        ncols=min(len(levels), 5),
        frameon=False,
    )


def envelope_figure(runs: pd.DataFrame, metrics: list[str]):
    """Each metric over time: range over all runs, middle half, median.

    Step 0 (the state before the first step, where flows are still zero) is left out.
    """
    from matplotlib.ticker import MaxNLocator

    runs = runs[runs["step"] > 0] if runs["step"].max() > 0 else runs
    ncols = min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = _figure(4.6 * ncols, 3.2 * nrows + 0.6)
    when = None
    if "date" in runs.columns:
        when = pd.to_datetime(runs["date"].astype(str), format="%Y-%m", errors="coerce")
    if when is not None and when.notna().all():
        x_of_step = (when.dt.year + (when.dt.month - 1) / 12).groupby(runs["step"]).first()
        xlabel = "year"
    else:
        x_of_step = runs.groupby("step")["step"].first().astype(float)
        xlabel = "step (month)" if any(m in METRICS for m in metrics) else "step"
    n_runs = runs["run_id"].nunique()
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        wide = runs.pivot(index="step", columns="run_id", values=metric).astype(float)
        x = x_of_step.reindex(wide.index).to_numpy(float)
        q = np.nanquantile(wide.to_numpy(), [0.0, 0.25, 0.5, 0.75, 1.0], axis=1)
        ax.fill_between(x, q[0], q[4], color="#a9c8ea", linewidth=0, label="range of all runs")
        ax.fill_between(x, q[1], q[3], color="#5b93cf", linewidth=0, label="middle half")
        ax.plot(x, q[2], color="#0b2e59", linewidth=1.8, label="median")
        if _log_scale_fits(q[[0, 4]].ravel()):
            ax.set_yscale("log")
        ax.set_title(metric, fontsize="medium")
        ax.set_ylabel(metric_unit(metric) or metric)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.grid(True, alpha=0.3)
        _readable_ticks(ax, "y")
    handles, names = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=3, fontsize="small")
    first, last = int(runs["step"].min()), int(runs["step"].max())
    fig.suptitle(
        f"{n_runs} runs (all seeds and design points), steps {first}-{last}", fontsize="medium"
    )
    return fig


def envelope_metrics(runs: pd.DataFrame, spec: SweepSpec) -> list[str]:
    """Metrics worth an envelope: the outcomes' metrics, then kept or main ones."""
    numeric = [
        c
        for c in runs.columns
        if c not in ("run_id", "point_id", "replicate", "seed", "step", *spec.parameters)
        and _is_numeric(runs[c])
    ]
    first = [o.metric for o in spec.outcomes]
    rest = list(spec.metrics.keep) if spec.metrics.keep is not None else list(MAIN_METRICS)
    if not any(m in numeric for m in rest):
        rest = numeric
    chosen = [m for m in dict.fromkeys([*first, *rest]) if m in numeric]
    return chosen[:MAX_ENVELOPES]


# --------------------------------------------------------------------------- the report
def sweep_report(sweep_dir: str | Path, plots: bool = True) -> SweepReport:
    """Write the summary by design point (and, with ``plots``, the PNGs) for a sweep."""
    store = SweepStore(sweep_dir)
    if not store.manifest_path.exists() or not store.summary_path.exists():
        raise ConfigError(
            f"{sweep_dir}: not a finished sweep (no manifest.json and summary.parquet)"
        )
    spec = SweepSpec.model_validate(store.read_manifest()["spec"])
    summary = store.read_summary()
    parameters = [p for p in design_parameters(store.read_design()) if p in summary.columns]
    points = summary_by_point(summary, parameters, [o.label for o in spec.outcomes])
    text = format_summary(points, parameters, spec.outcomes)
    report = SweepReport(out_dir=store.root, points=points, text=text)
    _write_csv(points, store.root / SUMMARY_CSV)
    write_text_atomic(text + "\n", store.root / SUMMARY_TXT)
    report.files += [store.root / SUMMARY_CSV, store.root / SUMMARY_TXT]
    if not plots:
        return report

    for stale in store.root.glob("outcome_*.png"):  # outcomes renamed since the last report
        stale.unlink()
    units = parameter_units(spec.base, parameters)
    if parameters:
        for o in spec.outcomes:
            if points[f"{o.label}_mean"].notna().any():
                name = "outcome_" + re.sub(r"[^\w.-]", "_", o.label) + ".png"
                fig = outcome_figure(points, spec, o, units)
                report.files.append(_save(fig, store.root / name))
    if store.completed_ids():
        runs = load_runs(store.root)
        metrics = envelope_metrics(runs, spec)
        if metrics:
            fig = envelope_figure(runs, metrics)
            report.files.append(_save(fig, store.root / ENVELOPES_PNG))
    return report


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table.to_csv(tmp, index=False)
    os.replace(tmp, path)
