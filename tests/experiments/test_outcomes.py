"""Outcome statistics on a small hand-made series."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from abm.experiments.outcomes import outcome_unit, outcome_value, summarise
from abm.experiments.spec import OutcomeSpec

# step:     0    1    2    3    4    5
SERIES = [1.0, 4.0, 2.0, 9.0, 3.0, 5.0]
STEPS = pd.DataFrame({"step": range(6), "m": SERIES, "date": [f"2023-0{i + 1}" for i in range(6)]})


@pytest.mark.parametrize(
    ("stat", "window", "expected"),
    [
        ("final", None, 5.0),
        ("mean", None, 4.0),
        ("sum", None, 24.0),
        ("peak", None, 9.0),
        ("time_of_peak", None, 3.0),
        ("min", None, 1.0),
        ("time_of_min", None, 0.0),
        ("final", (1, 2), 2.0),
        ("mean", (1, 2), 3.0),
        ("peak", (4, 5), 5.0),
        ("time_of_peak", (4, 5), 5.0),
        ("time_of_min", (1, 4), 2.0),
    ],
)
def test_statistic_of_a_known_series(stat, window, expected):
    assert outcome_value(STEPS, OutcomeSpec(metric="m", stat=stat, window=window)) == expected


def test_nans_are_skipped_and_an_empty_window_gives_nan():
    steps = STEPS.assign(m=[1.0, math.nan, 7.0, math.nan, 2.0, math.nan])
    assert outcome_value(steps, OutcomeSpec(metric="m", stat="mean")) == pytest.approx(10 / 3)
    assert outcome_value(steps, OutcomeSpec(metric="m", stat="time_of_peak")) == 2.0
    assert math.isnan(outcome_value(steps, OutcomeSpec(metric="m", stat="final")))
    assert math.isnan(outcome_value(steps, OutcomeSpec(metric="m", stat="mean", window=(8, 9))))


def test_summary_uses_outcome_labels_and_any_row_order():
    outcomes = [
        OutcomeSpec(metric="m", stat="final"),
        OutcomeSpec(metric="m", stat="mean", window=(0, 1)),
        OutcomeSpec(metric="m", stat="peak", name="highest"),
    ]
    shuffled = STEPS.sample(frac=1.0, random_state=3)
    assert summarise(shuffled, outcomes) == {"m_final": 5.0, "m_mean_0_1": 2.5, "highest": 9.0}


def test_a_missing_or_non_numeric_metric_is_an_error_naming_it():
    with pytest.raises(KeyError, match="no metric 'x'"):
        outcome_value(STEPS, OutcomeSpec(metric="x", stat="final"))
    with pytest.raises(TypeError, match="'date' is not numeric"):
        outcome_value(STEPS, OutcomeSpec(metric="date", stat="final"))


@pytest.mark.parametrize(
    ("metric", "stat", "unit"),
    [
        ("tokens", "final", "million tokens per month"),
        ("compute_price", "mean", "$ per GPU-hour"),
        ("user_spend", "sum", "$"),  # a monthly flow summed over months is a stock
        ("startup_entries", "sum", "count"),
        ("utilization", "sum", "fraction x months"),
        ("gpu_price", "time_of_peak", "step (month)"),
        ("level", "time_of_min", "step"),  # not a model metric: a step, of unknown length
        ("level", "final", ""),
    ],
)
def test_an_outcome_has_its_metric_s_unit_changed_by_its_statistic(metric, stat, unit):
    assert outcome_unit(OutcomeSpec(metric=metric, stat=stat)) == unit
