"""A consistent first month (issue 11, item 9): the clouds' posted compute price in
January 2023 is the one their own pricing rule posts back, so month 1 shows the market, not
the start. ``benchmarks/initial_price.py`` finds the crossing (4.79 $/GPU-h on seeds
1-20); the baseline starts at 4.80.

A price above the user cost (~$2.6) is a scarcity rent, and the rule posts one only when
the load is above the target utilisation: a consistent 2023 price rations somebody. In
January 2023 the parents' own workloads, planned at cost, ask more than the big four's
whole fleet; since round 10 they run after the labs (``own_workloads_priority = "last"``),
so they, not the labs, are rationed: no seed rations the labs in month 1 (round 9, own
work before training: 0-60% by seed, 19% on average over seeds 1-10)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from abm import load_config

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from initial_price import first_months, fixed_point, posted_after_first_month  # noqa: E402


@functools.cache
def _per_seed(price: float | None, seeds: tuple[int, ...]) -> tuple[dict, ...]:
    cfg = load_config()
    start = cfg.hyperscalers.initial_compute_price if price is None else price
    rows = first_months(cfg, start, seeds)
    return tuple({**r, "moved": r["posted"] / start} for r in rows)


def first_month(price: float | None = None, seeds=(1, 2, 3)) -> dict[str, float]:
    """Mean over seeds of month 1's compute shortage (the labs'), the parents' own-work
    shortage, the price posted after month 1 over the start, and the frontier list
    price's change in month 1."""
    rows = [r for seed in seeds for r in _per_seed(price, (seed,))]
    return {
        k: float(np.mean([r[k] for r in rows])) for k in ("shortage", "own", "moved", "list_moved")
    }


SEEDS = tuple(range(1, 11))


def test_no_seed_rations_the_labs_in_the_first_month_and_nothing_jumps():
    for seed in SEEDS:
        m = first_month(seeds=(seed,))
        assert m["shortage"] < 0.01, seed  # 0 in every seed (round 9: up to 60%)
        assert 0.9 < m["moved"] < 1.12, seed  # 0.96-1.09 by seed: the load, no jump
        assert 0.85 < m["list_moved"] <= 1.0, seed  # no collapse of token prices at step 1
    mean = first_month(seeds=SEEDS)
    assert 0.97 < mean["moved"] < 1.03  # at the crossing the price stays on average


def test_the_parents_own_work_carries_the_january_2023_shortage():
    """Their demand at cost exceeds the fleet: a start at the scarcity price rations them."""
    m = first_month(seeds=SEEDS)
    assert m["own"] > 0.15  # ~25-35% of their GPU-h


def test_the_consistent_start_needs_the_production_inference_to_fit_the_fleet():
    """docs/model.md 3.3.18: the parents' production inference runs before the labs; at a
    share of 0.8 of their own work it alone asks more than the big four's January 2023
    fleet, and the labs' first runs are rationed again (49% over seeds 1-10)."""
    cfg = load_config(overrides={"hyperscalers.own_ai_production_share": 0.8})
    rows = first_months(cfg, cfg.hyperscalers.initial_compute_price, SEEDS)
    assert np.mean([r["shortage"] for r in rows]) > 0.3


def test_a_start_below_the_crossing_is_raised_by_the_rule():
    """The check can fail: 30 cents below the start the rule raises the price (the load,
    own work's unmet demand included, is above what that price stands for)."""
    m = first_month(4.50, seeds=SEEDS)
    assert m["moved"] > 1.02


@pytest.mark.slow
def test_the_configured_start_is_the_rules_crossing():
    cfg = load_config()
    p = fixed_point(cfg)
    assert abs(cfg.hyperscalers.initial_compute_price - p) < 0.05
    posted = posted_after_first_month(cfg, p + 0.1)
    assert posted < p + 0.1  # above the crossing the rule lowers the price
