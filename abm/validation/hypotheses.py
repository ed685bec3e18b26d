"""Hypotheses H1-H7 (DESIGN section 1) as scenario experiments, with numbers.

Each :class:`Experiment` names the scenario arms it compares (files in
``configs/scenarios/`` or the baseline, plus dotted overrides), the months it
reads, and a function that turns the runs into outcome rows: one number per arm
and outcome (the mean over seeds, with the min and max), and one *finding* line
per experiment that states the answer in those numbers. :func:`run_hypotheses`
runs every arm once per seed (arms shared by several experiments run once) and
:func:`write_hypotheses` writes ``hypotheses.csv`` and ``hypotheses.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abm.config import CONFIG_DIR, ConfigError, load_config
from abm.run_output import staged_report, strict_json, write_text_atomic
from abm.runs import environment

DEFAULT_SEEDS = 3


@dataclass(frozen=True)
class Arm:
    """One scenario: a config file (relative to ``configs/``) plus dotted overrides."""

    label: str
    config: str = "baseline.toml"
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        return json.dumps([self.config, sorted(self.overrides)], default=str)


@dataclass(frozen=True)
class Experiment:
    """A hypothesis, the arms that test it, the months it reads, and how its
    outcome rows and finding are computed from the runs of each arm."""

    key: str
    hypothesis: str
    arms: tuple[Arm, ...]
    months: int  # months read from each run
    outcomes: Callable[[dict[str, list[pd.DataFrame]], int], tuple[list[dict], str]]
    note: str = ""
    min_months: int = 1  # a shorter run cannot answer it: the finding says so
    needs: str = ""  # why it needs ``min_months``

    def too_short(self, months: int) -> str:
        """Why a ``months``-long run cannot answer this experiment, or "" when it can."""
        if months >= self.min_months:
            return ""
        return f"{self.key} needs at least {self.min_months} months ({self.needs})"


@dataclass
class Result:
    """Outcome rows of all experiments and one finding line per experiment."""

    rows: list[dict] = field(default_factory=list)
    findings: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- small statistics
def _window(df: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Months ``first..last`` (1 = January 2023) of one run."""
    return df[(df["step"] >= first) & (df["step"] <= last)]


def _change(df: pd.DataFrame, col: str, first: int, last: int, span: int = 3) -> float:
    """Relative change of ``col`` from its mean over months ``first..first+span-1`` to its
    mean over the last ``span`` months up to ``last``."""
    if last - span + 1 <= first + span - 1:
        return float("nan")  # the two windows overlap: no change to measure
    a = _window(df, first, first + span - 1)[col].mean()
    b = _window(df, last - span + 1, last)[col].mean()
    return float(b / a - 1.0) if a > 0 else float("nan")


def _share(df: pd.DataFrame, num: str, den: str, first: int, last: int) -> float:
    w = _window(df, first, last)
    d = w[den].sum()
    return float(w[num].sum() / d) if d > 0 else float("nan")


def _mean(df: pd.DataFrame, col: str, first: int, last: int) -> float:
    return float(_window(df, first, last)[col].mean())


def _sum(df: pd.DataFrame, col: str, first: int, last: int) -> float:
    return float(_window(df, first, last)[col].sum())


def _upto(
    months: int, last: int, fn: Callable[[pd.DataFrame], float]
) -> Callable[[pd.DataFrame], float]:
    """``fn``, or NaN ("n/a") when the run stops before month ``last``, the end of the
    fixed window ``fn`` reads: a window the run does not cover is not reported in part."""
    return fn if months >= last else (lambda d: float("nan"))


def _order_to_install(df: pd.DataFrame, first: int, last: int) -> float:
    """Mean months from a GPU order to its installation: the vendor's backlog (months of
    output) plus delivered GPUs waiting for power over monthly deliveries (Little's law)."""
    w = _window(df, first, last)
    waiting = (
        w["gpu_inventory"].mean() / w["gpu_shipments_h100e"].mean()
        if w["gpu_shipments_h100e"].mean() > 0
        else float("nan")
    )
    return float(w["vendor_backlog_months"].mean() + waiting)


def cv_of_changes(x: np.ndarray) -> float:
    """Standard deviation of month-to-month changes over the mean level (volatility of a flow)."""
    x = np.asarray(x, dtype=float)
    m = x.mean()
    return float(np.std(np.diff(x)) / m) if m > 0 and x.size > 2 else float("nan")


def _stat(
    runs: list[pd.DataFrame], fn: Callable[[pd.DataFrame], float]
) -> tuple[float, float, float]:
    values = np.array([fn(df) for df in runs], dtype=float)
    if not np.isfinite(values).any():
        return float("nan"), float("nan"), float("nan")
    return float(np.nanmean(values)), float(np.nanmin(values)), float(np.nanmax(values))


def _row(
    exp: str,
    arm: str,
    outcome: str,
    unit: str,
    runs: list[pd.DataFrame],
    fn: Callable[[pd.DataFrame], float],
) -> dict:
    mean, lo, hi = _stat(runs, fn)
    return {
        "hypothesis": exp,
        "arm": arm,
        "outcome": outcome,
        "unit": unit,
        "mean": mean,
        "min": lo,
        "max": hi,
        "seeds": len(runs),
    }


def _pct(x: float) -> str:
    return f"{x:+.0%}" if np.isfinite(x) else "n/a"


def _value(rows: list[dict], arm: str, outcome: str) -> float:
    for r in rows:
        if r["arm"] == arm and r["outcome"] == outcome:
            return r["mean"]
    raise KeyError((arm, outcome))


# ---------------------------------------------------------------- H1: Jevons
H1_START = 13  # January 2024: after the 2023 transient from the initial prices


def _h1(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    a, b = (H1_START, months) if months >= H1_START + 12 else (1, months)
    months = b - a + 1
    for arm in ("elastic", "inelastic", "elastic, demand fixed", "inelastic, demand fixed"):
        r = runs[arm]
        for name, col in (
            ("retail token price", "retail_token_price"),
            ("tokens", "tokens"),
            ("user spend", "user_spend"),
        ):
            rows.append(
                _row(
                    "H1",
                    arm,
                    f"{name} change",
                    "fraction",
                    r,
                    lambda d, col=col: _change(d, col, a, b),
                )
            )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    along = {a: v(f"{a}, demand fixed", "user spend change") for a in ("elastic", "inelastic")}
    full = {a: v(a, "user spend change") for a in ("elastic", "inelastic")}
    finding = (
        f"Over the {months} months from month {a}, with elasticity 2.5 the retail token price moves "
        f"{_pct(v('elastic', 'retail token price change'))}, tokens {_pct(v('elastic', 'tokens change'))} "
        f"and user spend {_pct(full['elastic'])}; with elasticity 0.8 price "
        f"{_pct(v('inelastic', 'retail token price change'))}, tokens {_pct(v('inelastic', 'tokens change'))}, "
        f"spend {_pct(full['inelastic'])}. Along a fixed demand curve (no adoption, no growth in tokens "
        f"per task, no value gain from better models) spend moves {_pct(along['elastic'])} (elastic) vs {_pct(along['inelastic'])} "
        f"(inelastic): the price effect. The rest is demand shifting outward "
        f"({_pct((1 + full['elastic']) / (1 + along['elastic']) - 1)} and "
        f"{_pct((1 + full['inelastic']) / (1 + along['inelastic']) - 1)} on spend)."
    )
    return rows, finding


# ---------------------------------------------------------------- H2: pricing power
def _h2(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    first = 13  # after the 2023 transient from initial prices
    for arm in ("strong pricing power", "baseline", "weak pricing power"):
        r = runs[arm]
        rows.append(
            _row(
                "H2",
                arm,
                "lab markup (price / serving cost)",
                "ratio",
                r,
                lambda d: _markup(d, first, months),
            )
        )
        for layer in ("vendor", "hyperscalers", "model_devs", "startups"):
            rows.append(
                _row(
                    "H2",
                    arm,
                    f"gross margin: {layer}",
                    "fraction",
                    r,
                    lambda d, layer=layer: _margin(d, layer, first, months),
                )
            )
        rows.append(
            _row(
                "H2",
                arm,
                "model developers' share of chain gross profit",
                "fraction",
                r,
                lambda d: _profit_share(d, "model_devs", first, months),
            )
        )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    finding = (
        f"Months {first}-{months}: labs' markup over serving cost is "
        f"{v('strong pricing power', 'lab markup (price / serving cost)'):.2f}x with two labs and a wide lead, "
        f"{v('baseline', 'lab markup (price / serving cost)'):.2f}x in the baseline and "
        f"{v('weak pricing power', 'lab markup (price / serving cost)'):.2f}x with six close labs and open "
        f"weights close behind (gross margin {v('strong pricing power', 'gross margin: model_devs'):.0%} / "
        f"{v('baseline', 'gross margin: model_devs'):.0%} / {v('weak pricing power', 'gross margin: model_devs'):.0%}). "
        f"Clouds' gross margin after depreciation: {v('strong pricing power', 'gross margin: hyperscalers'):.0%} / "
        f"{v('baseline', 'gross margin: hyperscalers'):.0%} / {v('weak pricing power', 'gross margin: hyperscalers'):.0%}."
    )
    return rows, finding


def _markup(df: pd.DataFrame, first: int, last: int) -> float:
    """Model developers' token revenue over their serving cost, summed over a window."""
    w = _window(df, first, last)
    serving = (w["lab_revenue"] - w["profit_model_devs"]).sum()
    return float(w["lab_revenue"].sum() / serving) if serving > 0 else float("nan")


def _margin(df: pd.DataFrame, layer: str, first: int, last: int) -> float:
    """Gross margin of a layer over a window: summed profit over summed revenue."""
    w = _window(df, first, last)
    profit = w[f"profit_{layer}"].sum()
    margin = w[f"margin_{layer}"].replace(0.0, np.nan)
    revenue = (w[f"profit_{layer}"] / margin).sum()
    return float(profit / revenue) if revenue > 0 else float("nan")


def _profit_share(df: pd.DataFrame, layer: str, first: int, last: int) -> float:
    w = _window(df, first, last)
    layers = ("vendor", "hyperscalers", "model_devs", "startups")
    total = sum(max(w[f"profit_{x}"].sum(), 0.0) for x in layers)
    return float(max(w[f"profit_{layer}"].sum(), 0.0) / total) if total > 0 else float("nan")


# ---------------------------------------------------------------- H3: middlemen
def _h3(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    for arm in ("baseline", "first-party apps", "strong pricing power", "weak pricing power"):
        r = runs[arm]
        rows.append(
            _row(
                "H3",
                arm,
                "startup gross margin",
                "fraction",
                r,
                lambda d: _margin(d, "startups", 13, months),
            )
        )
        rows.append(
            _row(
                "H3",
                arm,
                "startup share of end-user tokens",
                "fraction",
                r,
                lambda d: _mean(d, "startup_share", months - 11, months),
            )
        )
        rows.append(
            _row(
                "H3",
                arm,
                "startups alive at the end",
                "count",
                r,
                lambda d: float(d.loc[d["step"] == months, "startups_alive"].iloc[0]),
            )
        )
        rows.append(
            _row(
                "H3",
                arm,
                "startup exits",
                "count",
                r,
                lambda d: _sum(d, "startup_exits", 1, months),
            )
        )
        rows.append(
            _row(
                "H3",
                arm,
                "startup entries",
                "count",
                r,
                lambda d: _sum(d, "startup_entries", 1, months),
            )
        )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    finding = (
        f"Over {months} months: wrappers' gross margin {v('baseline', 'startup gross margin'):.0%} in the "
        f"baseline, {v('first-party apps', 'startup gross margin'):.0%} when labs ship their own apps; their "
        f"share of tokens in the last year {v('baseline', 'startup share of end-user tokens'):.0%} -> "
        f"{v('first-party apps', 'startup share of end-user tokens'):.0%}; exits "
        f"{v('baseline', 'startup exits'):.0f} -> {v('first-party apps', 'startup exits'):.0f}, alive at the end "
        f"{v('baseline', 'startups alive at the end'):.0f} -> {v('first-party apps', 'startups alive at the end'):.0f}. "
        f"With strong vs weak lab pricing power: margin {v('strong pricing power', 'startup gross margin'):.0%} vs "
        f"{v('weak pricing power', 'startup gross margin'):.0%}, share "
        f"{v('strong pricing power', 'startup share of end-user tokens'):.0%} vs "
        f"{v('weak pricing power', 'startup share of end-user tokens'):.0%}."
    )
    return rows, finding


# ---------------------------------------------------------------- H4: bullwhip
def _h4(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    first = 13 if months >= 36 else 1  # after the 2023 transient, when the run is long enough
    for arm in ("fast build-out", "baseline", "US-constrained build-out", "generations at once"):
        r = runs[arm]
        series = {
            "end-user token demand": "token_demand",
            "compute demand (labs)": "compute_demand",
            "GPU orders (clouds)": "gpu_orders_h100e",
        }
        for name, col in series.items():
            rows.append(
                _row(
                    "H4",
                    arm,
                    f"volatility of {name}",
                    "std of monthly change / mean",
                    r,
                    lambda d, col=col: cv_of_changes(_window(d, first, months)[col].to_numpy()),
                )
            )
        rows.append(
            _row(
                "H4",
                arm,
                "amplification: GPU orders over compute demand",
                "ratio",
                r,
                lambda d: (
                    cv_of_changes(_window(d, first, months)["gpu_orders_h100e"].to_numpy())
                    / cv_of_changes(_window(d, first, months)["compute_demand"].to_numpy())
                ),
            )
        )
        rows.append(
            _row(
                "H4",
                arm,
                "months from GPU order to installation",
                "months",
                r,
                lambda d: _order_to_install(d, first, months),
            )
        )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    amp = "amplification: GPU orders over compute demand"
    finding = (
        f"Months {first}-{months}, volatility (std of monthly change over mean): end users "
        f"{v('baseline', 'volatility of end-user token demand'):.3f}, labs' compute demand "
        f"{v('baseline', 'volatility of compute demand (labs)'):.3f}, clouds' GPU orders "
        f"{v('baseline', 'volatility of GPU orders (clouds)'):.2f} in the baseline: orders are "
        f"{v('baseline', amp):.0f}x as volatile as the demand behind them (fast build-out "
        f"{v('fast build-out', amp):.0f}x, US-constrained {v('US-constrained build-out', amp):.0f}x); "
        f"a GPU ordered reaches the fleet {v('baseline', 'months from GPU order to installation'):.1f} months later "
        f"(vendor backlog plus waiting for power; fast build-out "
        f"{v('fast build-out', 'months from GPU order to installation'):.1f}, US-constrained "
        f"{v('US-constrained build-out', 'months from GPU order to installation'):.1f}). "
        f"With GPU generations replacing the old in one month instead of ramping up: "
        f"{v('generations at once', amp):.0f}x."
    )
    return rows, finding


# ---------------------------------------------------------------- H5: shovel seller
def _h5(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    # the later window runs from 2025 to the end of the run: whole years are named by year
    if months == 36:
        late = "2025"
    elif months > 36 and months % 12 == 0:
        late = f"2025-{2022 + months // 12}"
    elif months >= 25:
        late = f"months 25-{months}"
    else:
        late = "after 2024"  # not simulated: n/a
    windows = {"2023-24": (1, 24), late: (25, months)}
    for arm in ("slow generations (36 months)", "baseline", "fast generations (12 months)"):
        r = runs[arm]
        for wname, (a, b) in windows.items():
            rows.append(
                _row(
                    "H5",
                    arm,
                    f"vendor gross margin {wname}",
                    "fraction",
                    r,
                    _upto(months, b, lambda d, a=a, b=b: _margin(d, "vendor", a, b)),
                )
            )
            rows.append(
                _row(
                    "H5",
                    arm,
                    f"vendor share of chain gross profit {wname}",
                    "fraction",
                    r,
                    _upto(months, b, lambda d, a=a, b=b: _profit_share(d, "vendor", a, b)),
                )
            )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    late = list(windows)[1]
    finding = (
        f"In 2023-24 the vendor's gross margin is {v('baseline', 'vendor gross margin 2023-24'):.0%} and it takes "
        f"{v('baseline', 'vendor share of chain gross profit 2023-24'):.0%} of the chain's gross profit; in "
        f"{late} {v('baseline', f'vendor gross margin {late}'):.0%} and "
        f"{v('baseline', f'vendor share of chain gross profit {late}'):.0%}. With a generation every 36 months: "
        f"{v('slow generations (36 months)', f'vendor share of chain gross profit {late}'):.0%} of profit in "
        f"{late}; every 12 months: {v('fast generations (12 months)', f'vendor share of chain gross profit {late}'):.0%}."
    )
    return rows, finding


# ---------------------------------------------------------------- H6: US shortage
def _h6(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    arms = (
        "fast build-out",
        "US-constrained build-out",
        "all clouds in the fast region",
        "all clouds in the US",
    )
    for arm in arms:
        r = runs[arm]
        rows.append(
            _row(
                "H6",
                arm,
                "compute price",
                "$ per GPU-hour",
                r,
                lambda d: _mean(d, "compute_price", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "compute shortage",
                "fraction",
                r,
                lambda d: _mean(d, "compute_shortage", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "own-work shortage",
                "fraction",
                r,
                lambda d: _mean(d, "own_ai_shortage", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "utilisation",
                "fraction",
                r,
                lambda d: _mean(d, "utilization", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "cloud gross margin",
                "fraction",
                r,
                lambda d: _margin(d, "hyperscalers", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "GPUs waiting for power / installed",
                "ratio",
                r,
                lambda d: _share(d, "gpu_inventory", "installed_gpus", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "vendor backlog",
                "months of output",
                r,
                lambda d: _mean(d, "vendor_backlog_months", 1, months),
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "energized capacity at the end",
                "GW",
                r,
                lambda d: float(d.loc[d["step"] == months, "dc_capacity_mw"].iloc[0]) / 1e3,
            )
        )
        rows.append(
            _row(
                "H6",
                arm,
                "tokens over the period",
                "quadrillion tokens",
                r,
                lambda d: _sum(d, "tokens", 1, months) / 1e9,
            )
        )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    finding = (
        f"Over {months} months, US-constrained vs fast build-out: compute price "
        f"${v('US-constrained build-out', 'compute price'):.2f} vs ${v('fast build-out', 'compute price'):.2f} per "
        f"GPU-hour, labs' compute demand unmet {v('US-constrained build-out', 'compute shortage'):.1%} vs "
        f"{v('fast build-out', 'compute shortage'):.1%}, the parents' own work unmet "
        f"{v('US-constrained build-out', 'own-work shortage'):.0%} vs "
        f"{v('fast build-out', 'own-work shortage'):.0%}, "
        f"GPUs waiting for power {v('US-constrained build-out', 'GPUs waiting for power / installed'):.2f} vs "
        f"{v('fast build-out', 'GPUs waiting for power / installed'):.2f} of the installed fleet, utilisation "
        f"{v('US-constrained build-out', 'utilisation'):.0%} vs {v('fast build-out', 'utilisation'):.0%}, clouds' "
        f"gross margin {v('US-constrained build-out', 'cloud gross margin'):.0%} vs "
        f"{v('fast build-out', 'cloud gross margin'):.0%}, capacity "
        f"{v('US-constrained build-out', 'energized capacity at the end'):.0f} vs "
        f"{v('fast build-out', 'energized capacity at the end'):.0f} GW at the end. All-US vs all-fast-region clouds: "
        f"price ${v('all clouds in the US', 'compute price'):.2f} vs ${v('all clouds in the fast region', 'compute price'):.2f}, "
        f"waiting GPUs {v('all clouds in the US', 'GPUs waiting for power / installed'):.2f} vs "
        f"{v('all clouds in the fast region', 'GPUs waiting for power / installed'):.2f}, capacity "
        f"{v('all clouds in the US', 'energized capacity at the end'):.0f} vs "
        f"{v('all clouds in the fast region', 'energized capacity at the end'):.0f} GW."
    )
    return rows, finding


# ---------------------------------------------------------------- H7: bubble
def _h7(runs: dict[str, list[pd.DataFrame]], months: int) -> tuple[list[dict], str]:
    rows = []
    freeze = (31, 72)
    for arm in ("baseline", "VC boom then freeze"):
        r = runs[arm]
        rows.append(
            _row(
                "H7",
                arm,
                "VC funding in the freeze (months 31-72)",
                "$B",
                r,
                _upto(months, freeze[1], lambda d: _sum(d, "vc_funding", *freeze) / 1e9),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                "startup exits in the freeze",
                "count",
                r,
                _upto(months, freeze[1], lambda d: _sum(d, "startup_exits", *freeze)),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                "startups alive at the end of the freeze (month 72)",
                "count",
                r,
                _upto(
                    months,
                    freeze[1],
                    lambda d: float(d.loc[d["step"] == freeze[1], "startups_alive"].iloc[0]),
                ),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                "capex / user spend, 2023-24",
                "ratio",
                r,
                _upto(months, 24, lambda d: _share(d, "capex", "user_spend", 1, 24)),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                f"capex / user spend, months 1-{months}",
                "ratio",
                r,
                lambda d: _share(d, "capex", "user_spend", 1, months),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                "compute price swing (max / min after 2024)",
                "ratio",
                r,
                _upto(
                    months,
                    25,
                    lambda d: float(
                        _window(d, 25, months)["compute_price"].max()
                        / _window(d, 25, months)["compute_price"].min()
                    ),
                ),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                "compute price peaks after 2024",
                "count",
                r,
                _upto(
                    months,
                    25,
                    lambda d: float(_peaks(_window(d, 25, months)["compute_price"].to_numpy())),
                ),
            )
        )
        rows.append(
            _row(
                "H7",
                arm,
                "frontier quality at the end",
                "log10 H100-hours",
                r,
                lambda d: float(d.loc[d["step"] == months, "frontier_quality"].iloc[0]),
            )
        )
    v = lambda arm, o: _value(rows, arm, o)  # noqa: E731
    cr = f"capex / user spend, months 1-{months}"
    finding = (
        f"Capex runs ahead of revenue: clouds spend {v('baseline', 'capex / user spend, 2023-24'):.0f}x what end "
        f"users spend on tokens in 2023-24 and {v('baseline', cr):.2g}x over {months} months. A freeze "
        f"(VC {v('VC boom then freeze', 'VC funding in the freeze (months 31-72)'):.0f} vs "
        f"{v('baseline', 'VC funding in the freeze (months 31-72)'):.0f} $B in months 31-72) brings "
        f"{v('VC boom then freeze', 'startup exits in the freeze'):.0f} startup exits vs "
        f"{v('baseline', 'startup exits in the freeze'):.0f}, leaving "
        f"{v('VC boom then freeze', 'startups alive at the end of the freeze (month 72)'):.0f} startups alive vs "
        f"{v('baseline', 'startups alive at the end of the freeze (month 72)'):.0f}; frontier quality ends at "
        f"{v('VC boom then freeze', 'frontier quality at the end'):.1f} vs {v('baseline', 'frontier quality at the end'):.1f}. "
        f"Compute prices swing {v('baseline', 'compute price swing (max / min after 2024)'):.1f}x "
        f"(max/min after 2024, {v('baseline', 'compute price peaks after 2024'):.0f} peaks) in the baseline and "
        f"{v('VC boom then freeze', 'compute price swing (max / min after 2024)'):.1f}x with the freeze."
    )
    return rows, finding


def _peaks(x: np.ndarray, prominence: float = 0.1) -> int:
    """Local maxima of a price path that stand ``prominence`` (relative) above the
    lowest point on either side before a higher peak: the cycles of a cobweb."""
    x = np.asarray(x, dtype=float)
    n = 0
    for i in range(1, x.size - 1):
        if x[i] < x[i - 1] or x[i] < x[i + 1]:
            continue
        left = x[:i][::-1]
        right = x[i + 1 :]
        lmin = np.min(left[: np.argmax(left > x[i]) or left.size])
        rmin = np.min(right[: np.argmax(right > x[i]) or right.size])
        if x[i] > (1 + prominence) * max(lmin, rmin):
            n += 1
    return n


BASE = Arm("baseline")
# no adoption, no growth in tokens per task, no value gain or new tasks from better models: the
# demand curve stands still and only the price moves along it
FIXED_DEMAND = (
    ("end_users.bass", False),
    ("end_users.tokens_per_task_growth_per_year", 1.0),
    ("end_users.value_per_quality", 0.0),
    ("end_users.tasks_per_quality", 0.0),
)
ARMS = {
    "elastic": Arm("elastic", "scenarios/demand_elastic.toml"),
    "inelastic": Arm("inelastic", "scenarios/demand_inelastic.toml"),
    "elastic, demand fixed": Arm(
        "elastic, demand fixed", "scenarios/demand_elastic.toml", FIXED_DEMAND
    ),
    "inelastic, demand fixed": Arm(
        "inelastic, demand fixed", "scenarios/demand_inelastic.toml", FIXED_DEMAND
    ),
    "strong pricing power": Arm("strong pricing power", "scenarios/pricing_power_strong.toml"),
    "weak pricing power": Arm("weak pricing power", "scenarios/pricing_power_weak.toml"),
    "first-party apps": Arm("first-party apps", "scenarios/first_party_apps.toml"),
    "US-constrained build-out": Arm(
        "US-constrained build-out", "scenarios/buildout_us_constrained.toml"
    ),
    "fast build-out": Arm("fast build-out", "scenarios/buildout_fast.toml"),
    "all clouds in the US": Arm("all clouds in the US", "scenarios/regions_all_us.toml"),
    "all clouds in the fast region": Arm(
        "all clouds in the fast region", "scenarios/regions_all_fast.toml"
    ),
    "slow generations (36 months)": Arm(
        "slow generations (36 months)", "scenarios/gpu_generations_slow.toml"
    ),
    "fast generations (12 months)": Arm(
        "fast generations (12 months)", "scenarios/gpu_generations_fast.toml"
    ),
    "VC boom then freeze": Arm("VC boom then freeze", "scenarios/vc_boom_freeze.toml"),
    "generations at once": Arm("generations at once", "scenarios/gpu_generations_step.toml"),
    "baseline": BASE,
}


def _arms(*labels: str) -> tuple[Arm, ...]:
    return tuple(ARMS[label] for label in labels)


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        "H1",
        "Stronger chips make tokens cheaper, yet total demand rises (Jevons)",
        _arms("elastic", "inelastic", "elastic, demand fixed", "inelastic, demand fixed"),
        48,
        _h1,
        "Read from January 2024 (after the 2023 transient from initial prices) to the end of the "
        "run when the run reaches 2025, otherwise over the whole run (the finding names the window). "
        "'demand fixed': no Bass adoption, no growth in tokens per task and no value gain from better "
        "models, so only the price moves along the demand curve.",
        min_months=6,
        needs="a change from the first three months to the last three",
    ),
    Experiment(
        "H2",
        "Pricing power sits with model developers, not with the compute retailers",
        _arms("strong pricing power", "baseline", "weak pricing power"),
        60,
        _h2,
        min_months=H1_START,
        needs="it reads from month 13, after the 2023 transient from initial prices",
    ),
    Experiment(
        "H3",
        "Middlemen (API wrappers, AI+ tools) are squeezed",
        _arms("baseline", "first-party apps", "strong pricing power", "weak pricing power"),
        60,
        _h3,
        min_months=H1_START,
        needs="the margin is read from month 13, after the 2023 transient from initial prices",
    ),
    Experiment(
        "H4",
        "Upper-layer demand propagates down to hardware, lagged and amplified (bullwhip)",
        _arms("fast build-out", "baseline", "US-constrained build-out", "generations at once"),
        120,
        _h4,
        min_months=3,
        needs="a volatility needs at least two monthly changes",
    ),
    Experiment(
        "H5",
        "The shovel seller captures the profit",
        _arms("slow generations (36 months)", "baseline", "fast generations (12 months)"),
        120,
        _h5,
        min_months=25,
        needs="it compares 2023-24 with the months after",
    ),
    Experiment(
        "H6",
        "The US compute shortage is systemic (build stages, long variable delays)",
        _arms(
            "fast build-out",
            "US-constrained build-out",
            "all clouds in the fast region",
            "all clouds in the US",
        ),
        120,
        _h6,
    ),
    Experiment(
        "H7",
        "Bubble or not: VC-funded entry and exit, capex ahead of revenue, price cycles",
        _arms("baseline", "VC boom then freeze"),
        120,
        _h7,
        min_months=72,
        needs="the VC freeze runs from month 31 to month 72",
    ),
)


# ---------------------------------------------------------------- running
def _run_arm(
    config: str, overrides: tuple[tuple[str, Any], ...], seed: int, months: int
) -> pd.DataFrame:
    from abm.validation.calibration import run_one

    cfg = load_config(CONFIG_DIR / config, overrides=dict(overrides))
    return run_one(cfg, seed, months)


def run_hypotheses(
    experiments: Sequence[Experiment] = EXPERIMENTS,
    seeds: int = DEFAULT_SEEDS,
    months: int | None = None,
    workers: int = 1,
    first_seed: int = 1,
) -> Result:
    """Run every arm of ``experiments`` for ``seeds`` seeds and compute the outcomes.

    ``months`` caps every experiment's horizon (for quick checks): numbers for a window
    beyond the cap are NaN, and the finding of an experiment the cap is too short for
    says so (:meth:`Experiment.too_short`). Arms shared by
    several experiments run once, for the longest horizon that needs them. Runs go
    through the sweep executors: ``workers=1`` in this process, more in a process pool."""
    from concurrent.futures import ALL_COMPLETED

    from abm.experiments.executors import Backend

    horizon: dict[str, int] = {}
    arms: dict[str, Arm] = {}
    for exp in experiments:
        m = exp.months if months is None else min(exp.months, months)
        for arm in exp.arms:
            arms[arm.key] = arm
            horizon[arm.key] = max(horizon.get(arm.key, 0), m)
    jobs = [(key, seed) for key in arms for seed in range(first_seed, first_seed + seeds)]
    backend = Backend(workers=workers)
    with backend as executor:
        futures = {
            (key, seed): executor.submit(
                _run_arm, arms[key].config, arms[key].overrides, seed, horizon[key]
            )
            for key, seed in jobs
        }
        backend.wait(futures.values(), return_when=ALL_COMPLETED)
        done = {job: future.result() for job, future in futures.items()}
    result = Result()
    for exp in experiments:
        m = exp.months if months is None else min(exp.months, months)
        runs = {
            arm.label: [done[(arm.key, s)] for s in range(first_seed, first_seed + seeds)]
            for arm in exp.arms
        }
        rows, finding = exp.outcomes(runs, m)
        if exp.too_short(m):  # its numbers for months beyond the run are n/a
            finding = f"Not simulated: {exp.too_short(m)}; this run has {m}."
        for r in rows:
            r["months"] = m
        result.rows += rows
        result.findings[exp.key] = finding
    return result


def _fmt(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    if unit == "fraction":
        return f"{x:.1%}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def write_hypotheses(
    result: Result,
    out: Path,
    experiments: Sequence[Experiment] = EXPERIMENTS,
    seeds: int = DEFAULT_SEEDS,
    wall: float = 0.0,
) -> pd.DataFrame:
    """Write ``hypotheses.csv`` (one row per experiment, arm and outcome) and ``hypotheses.md``."""
    table = pd.DataFrame(result.rows)
    lines = [
        "# Hypotheses H1-H7: scenario experiments\n",
        (
            f"Mean over {seeds} seeds (min-max in brackets)"
            if seeds > 1
            else "One seed: single runs, no spread across seeds and no test against seed noise"
        )
        + "; scenario files in `configs/scenarios/`.\n",
    ]
    for exp in experiments:
        if exp.key not in result.findings:
            continue
        sub = table[table["hypothesis"] == exp.key]
        lines += [
            f"## {exp.key}: {exp.hypothesis}\n",
            f"**Finding.** {result.findings[exp.key]}\n",
        ]
        if exp.note:
            lines.append(f"_{exp.note}_\n")
        arms = list(dict.fromkeys(sub["arm"]))
        lines.append("| outcome | unit | " + " | ".join(arms) + " |")
        lines.append("|---|---|" + "---|" * len(arms))
        for outcome in dict.fromkeys(sub["outcome"]):
            cells = []
            unit = sub[sub["outcome"] == outcome]["unit"].iloc[0]
            for arm in arms:
                r = sub[(sub["arm"] == arm) & (sub["outcome"] == outcome)]
                if r.empty:
                    cells.append("")
                    continue
                r = r.iloc[0]
                cells.append(
                    f"{_fmt(r['mean'], unit)} ({_fmt(r['min'], unit)}-{_fmt(r['max'], unit)})"
                )
            lines.append(f"| {outcome} | {unit} | " + " | ".join(cells) + " |")
        lines.append("")
    meta = {
        "seeds": seeds,
        "experiments": [e.key for e in experiments],
        **environment(),
        "wall_time_s": round(wall, 1),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "findings": result.findings,
    }
    with staged_report(Path(out), "hypotheses.json") as stage:
        table.to_csv(stage / "hypotheses.csv", index=False)
        (stage / "hypotheses.md").write_text("\n".join(lines) + "\n")
        write_text_atomic(strict_json(meta) + "\n", stage / "hypotheses.json")
    return table


def experiments_for(months: int | None, only: Sequence[str] | None = None) -> list[Experiment]:
    """The experiments asked for (all, or those in ``only``), after checking that a
    ``months``-long horizon can answer at least one of them (:class:`ConfigError` if
    not). Cheap, so the command line checks it before it creates the output folder."""
    exps = [e for e in EXPERIMENTS if only is None or e.key in only]
    if months is not None and all(e.too_short(months) for e in exps):
        raise ConfigError(
            f"--months {months}: too short for every experiment asked for: "
            + "; ".join(e.too_short(months) for e in exps)
        )
    return exps


def hypotheses_report(
    seeds: int = DEFAULT_SEEDS,
    out: str | Path = "results/validation",
    months: int | None = None,
    workers: int = 1,
    only: Sequence[str] | None = None,
) -> Result:
    """Run the experiments (all, or those in ``only``) and write the report to ``out``."""
    exps = experiments_for(months, only)
    t0 = time.perf_counter()
    result = run_hypotheses(exps, seeds=seeds, months=months, workers=workers)
    write_hypotheses(result, Path(out), exps, seeds, time.perf_counter() - t0)
    return result
