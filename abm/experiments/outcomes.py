"""Scalar outcomes of a run, computed from its stored per-step table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abm.experiments.spec import OutcomeSpec
from abm.metrics import METRICS

_STEP_STATS = ("time_of_peak", "time_of_min")


def outcome_value(steps: pd.DataFrame, outcome: OutcomeSpec) -> float:
    """One outcome of one run. ``steps`` has a ``step`` column and one column per metric.

    Time statistics (``time_of_peak``, ``time_of_min``) are step numbers; NaNs are
    skipped, and a window or series with no finite value gives NaN.
    """
    if outcome.metric not in steps.columns:
        raise KeyError(f"outcome {outcome.label!r}: the run has no metric {outcome.metric!r}")
    step = steps["step"].to_numpy()
    try:
        values = pd.to_numeric(steps[outcome.metric]).to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"outcome {outcome.label!r}: metric {outcome.metric!r} is not numeric"
        ) from None
    if outcome.window is not None:
        inside = (step >= outcome.window[0]) & (step <= outcome.window[1])
        step, values = step[inside], values[inside]
    finite = np.isfinite(values)
    if outcome.stat == "final":
        return float(values[-1]) if len(values) else float("nan")
    if not finite.any():
        return float("nan")
    step, values = step[finite], values[finite]
    match outcome.stat:
        case "mean":
            return float(values.mean())
        case "sum":
            return float(values.sum())
        case "peak":
            return float(values.max())
        case "min":
            return float(values.min())
        case "time_of_peak":
            return float(step[np.argmax(values)])
        case "time_of_min":
            return float(step[np.argmin(values)])
    raise ValueError(f"unknown statistic {outcome.stat!r}")


def summarise(steps: pd.DataFrame, outcomes: list[OutcomeSpec]) -> dict[str, float]:
    """All outcomes of one run, by label."""
    steps = steps.sort_values("step")
    return {o.label: outcome_value(steps, o) for o in outcomes}


def metric_unit(metric: str) -> str:
    """Unit of a per-step metric, or '' if the metric is not one of the model's."""
    return METRICS.get(metric, ("",))[0]


def outcome_unit(outcome: OutcomeSpec) -> str:
    """Unit of an outcome: its metric's, a step for times, summed over months for sums."""
    if outcome.stat in _STEP_STATS:
        return "step (month)" if outcome.metric in METRICS else "step"
    unit = metric_unit(outcome.metric)
    if outcome.stat == "sum" and unit:
        # A sum over monthly steps of a per-month flow is a stock; of anything else, a
        # quantity times months.
        return (
            unit.removesuffix(" per month") if unit.endswith(" per month") else f"{unit} x months"
        )
    return unit
