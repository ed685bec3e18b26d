"""Issue 11b (expect): labs expect the compute price they observe.

Each frontier lab smooths the log of the price it paid for compute with Holt's
linear exponential smoothing (a level and a bounded trend), the GPU roadmap its
prior in month 0 only (:func:`abm.agents.model_developer.holt_update`). The unit
tests check the rule against limit cases worked out by hand; the validation tests
check that expectations track the realised price in the baseline (which the old
fixed 1.3x-a-year trend does not) and that faster GPUs then mean more training,
more tokens and cheaper tokens (H1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm import ComputeMarket
from abm.agents.model_developer import hardware_price_trend, holt_update
from abm.config import DEFAULT_CONFIG, load_config

MC = load_config(DEFAULT_CONFIG).model_developers
ALPHA, BETA = MC.compute_price_level_weight, MC.compute_price_trend_weight
CAP = math.log(MC.max_compute_price_trend_per_year) / 12.0


def small_market(**over) -> ComputeMarket:
    return ComputeMarket(rng=1, **{"end_users.simulated_users": 200, **over})


def smooth(path, level, trend, alpha=ALPHA, beta=BETA, cap=CAP):
    """Run Holt's rule over a path of log prices; the (level, trend) after each month."""
    out = []
    for y in path:
        level, trend = holt_update(level, trend, y, alpha, beta, cap)
        out.append((level, trend))
    return np.array(out)


# ---------------------------------------------------------------- the rule
def test_a_steady_price_is_expected_and_the_prior_trend_dies_out():
    y = math.log(2.0)
    states = smooth([y] * 240, level=math.log(3.0), trend=-0.02)
    assert states[-1, 0] == pytest.approx(y, abs=1e-6)
    assert states[-1, 1] == pytest.approx(0.0, abs=1e-6)


def test_a_price_on_a_steady_trend_is_learned_exactly():
    """A log-linear price path is a fixed point of Holt's rule with no forecast error:
    if the level is today's log price and the trend its slope, next month's forecast
    is next month's price. From a wrong prior it converges there."""
    g = -math.log(1.5) / 12.0  # 1.5x cheaper a year, inside the bound
    path = math.log(3.0) + g * np.arange(1, 301)
    states = smooth(path, level=math.log(3.0), trend=0.0)
    assert states[-1, 1] == pytest.approx(g, rel=1e-4)
    forecast = states[-2, 0] + states[-2, 1]
    assert forecast == pytest.approx(path[-1], abs=1e-5)


def test_a_trend_faster_than_the_bound_is_extrapolated_only_at_the_bound():
    g = -math.log(4.0) / 12.0  # 4x a year: faster than any sustained move seen
    states = smooth(math.log(3.0) + g * np.arange(1, 121), math.log(3.0), 0.0)
    assert states[-1, 1] == pytest.approx(-CAP)
    assert (np.abs(states[:, 1]) <= CAP + 1e-15).all()


def test_a_one_month_spike_cannot_blow_up_plans():
    """A tenfold spike for one month: the level moves alpha of its log, the trend at
    most to its bound, so the price expected a training window ahead is at most
    10**alpha * exp(bound * months) of the steady price, and a year later the
    expectation is back within 10% of it."""
    y = math.log(2.0)
    path = [y] * 24 + [y + math.log(10.0)] + [y] * 12
    states = smooth(path, y, 0.0)
    level, trend = states[24]
    ahead = MC.training_window_months / 2 + 1
    assert trend <= CAP + 1e-15
    assert level + ahead * trend <= y + ALPHA * math.log(10.0) + ahead * CAP + 1e-12
    assert math.exp(states[-1, 0] - y) == pytest.approx(1.0, rel=0.1)


def test_the_month_zero_prior_is_the_gpu_roadmap():
    """Before any price is seen a lab expects January's posted price, falling as
    perf gain / cost growth per generation, once per release interval (1.31x a year
    at the baseline's 2.5 / 1.45 every 24 months, Epoch AI's ~30% a year)."""
    m = small_market()
    gpu, p0 = m.cfg.gpu, m.cfg.hyperscalers.initial_compute_price
    yearly = (gpu.perf_gain_per_generation / gpu.cost_growth_per_generation) ** (
        12 / gpu.release_interval_months
    )
    assert yearly == pytest.approx(1.31, abs=0.01)
    assert hardware_price_trend(gpu) == pytest.approx(-math.log(yearly) / 12)
    lab = next(lab for lab in m.labs if lab.is_frontier)
    assert lab.expected_compute_price(0.0) == pytest.approx(p0)
    assert lab.expected_compute_price(12.0) == pytest.approx(p0 / yearly)
    fast = next(lab for lab in small_market(**{"gpu.perf_gain_per_generation": 4.0}).labs)
    assert fast.expected_compute_price(12.0) < lab.expected_compute_price(12.0)


def test_the_prior_washes_out_once_prices_are_seen():
    """Two labs with different hardware priors who pay the same prices for two years
    end up expecting (nearly) the same price."""
    labs = [
        next(lab for lab in small_market(**{"gpu.perf_gain_per_generation": g}).labs)
        for g in (2.5, 4.0)
    ]
    for month in range(24):
        for lab in labs:
            lab.compute_received, lab.compute_unit_cost = 1e6, 3.0 * 0.98**month
            lab.observe_compute_price(float(month))
    slow, fast = (lab.expected_compute_price(30.0) for lab in labs)
    assert fast == pytest.approx(slow, rel=0.02)
    assert slow == pytest.approx(3.0 * 0.98**30, rel=0.05)


def test_a_month_without_compute_leaves_the_forecast_on_its_trend():
    lab = next(lab for lab in small_market().labs if lab.is_frontier)
    before = [lab.expected_compute_price(t) for t in (3.0, 9.0)]
    lab.compute_received = 0.0
    lab.observe_compute_price(0.0)
    assert [lab.expected_compute_price(t) for t in (3.0, 9.0)] == pytest.approx(before)


def test_training_is_planned_at_the_expected_price_not_a_fixed_trend():
    """The same lab, the same beliefs: expecting compute at half the price, each dollar
    buys twice the GPU-hours and serving leaves a wider margin, so it plans a run of
    more GPU-hours. (Its dollars need not rise: a lab that already wins most of the
    market buys the share it wants more cheaply.) A fixed price trend would leave the
    plan unchanged."""
    lab = next(lab for lab in small_market().labs if lab.is_frontier)
    lab.expected_market *= 50.0  # a market in which a run pays (none does in Jan 2023)
    budget, price = lab.training_plan(0.0), lab.expected_compute_price(0.0)
    assert budget > 0
    lab.price_level -= math.log(2.0)
    assert lab.expected_compute_price(0.0) == pytest.approx(price / 2)
    assert lab.training_plan(0.0) / (price / 2) > 1.2 * budget / price


# ---------------------------------------------------------------- in the baseline
def run_metrics(**overrides):
    import abm.runs

    return abm.runs.run(DEFAULT_CONFIG, seed=1, steps=120, overrides=overrides).metrics


def years(df, first, last):
    year = df["date"].str[:4].astype(int)
    return df[(year >= first) & (year <= last)]


@pytest.mark.slow
def test_labs_expected_compute_price_tracks_the_realised_price():
    """From the second year on, the price labs expected for each month is within a
    factor 1.5 of the price compute sold at that month (seed 1, 2024-2032). The
    fixed hardware trend (1.3x cheaper a year from the January 2023 price) the labs
    used to plan with is not: it strays further as the run goes on."""
    df = years(run_metrics(), 2024, 2032)
    ratio = df["expected_compute_price"] / df["compute_price"]
    assert (ratio.between(1 / 1.5, 1.5)).all(), ratio.describe()
    months = df.index.to_numpy() - 1
    fixed = load_config(DEFAULT_CONFIG).hyperscalers.initial_compute_price / 1.3 ** (months / 12)
    assert not (fixed / df["compute_price"]).between(1 / 1.5, 1.5).all()


@pytest.mark.slow
@pytest.mark.parametrize(
    "fast", [{"gpu.perf_gain_per_generation": 4.0}, {"gpu.release_interval_months": 12}]
)
def test_faster_gpus_mean_more_training_more_tokens_and_cheaper_tokens(fast):
    """H1 with expectations learned from prices: better GPUs per generation (4x vs
    2.5x), or a generation every year (the gpu_generations_fast scenario), lower the
    realised compute price, labs see it, and over 2027-2032 they train more
    GPU-hours, users buy more tokens and pay less per token."""
    base, quick = (years(run_metrics(**o), 2027, 2032) for o in ({}, fast))
    assert quick["compute_price"].mean() < base["compute_price"].mean()
    assert quick["training_gpu_hours"].sum() > base["training_gpu_hours"].sum()
    assert quick["tokens"].sum() > base["tokens"].sum()
    assert quick["token_price"].mean() < base["token_price"].mean()
