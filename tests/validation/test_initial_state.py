"""A consistent first month (issue 11, item 9): the clouds' posted compute price in
January 2023 is the one their own pricing rule posts back, so month 1 shows the market, not
the start. ``benchmarks/initial_price.py`` finds the crossing (4.83 $/GPU-h on seeds
1-5, 4.84 on seeds 1-10 or 1-20); the baseline starts at 4.85. At the crossing the
price is consistent on average, but whether a lab starts a run in month 1 is a discrete
choice, and what the parents' own work leaves of the January 2023 fleet is too small
for a run: month 1 rations 19% of the labs' compute demand on average over seeds 1-10
(0-60% by seed), against 50% from the old start of $4.50. Item 9 is met only on
average; the per-seed check is a strict expected failure."""

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


def first_month(price: float | None = None, seeds=(1, 2, 3)) -> tuple[float, float, float]:
    """Mean over seeds of month 1's compute shortage, the price posted after it over
    the start, and the frontier list price's change in month 1."""
    rows = [r for seed in seeds for r in _per_seed(price, (seed,))]
    return tuple(float(np.mean([r[k] for r in rows])) for k in ("shortage", "moved", "list_moved"))


SEEDS = tuple(range(1, 11))


def test_the_start_halves_the_first_months_rationing_and_nothing_jumps():
    short, moved, token = first_month(seeds=SEEDS)
    assert short < 0.25  # 0.19 (seeds 1-10); 0.50 from the old start of 4.50
    assert 0.9 < moved < 1.02  # the rule eases the price as the fleet grows; no jump
    assert 0.85 < token <= 1.0  # no collapse of token prices at step 1
    old, _, _ = first_month(4.50, seeds=SEEDS)
    assert old > 2 * short


@pytest.mark.xfail(
    strict=True,
    reason="issue 11, item 9 open: at the start the rule posts back, month 1 still rations the "
    "labs' first runs in some seeds (seeds 1-10: 0, 0, 0, 0, 16, 51, 28, 0, 35, 60%; seed 42 "
    "58%): the parents' own work at cost takes ~90% of the January 2023 fleet",
)
def test_no_seed_rations_the_labs_in_the_first_month():
    for seed in SEEDS:
        assert first_month(seeds=(seed,))[0] < 0.05, seed


def test_a_start_below_the_crossing_rations_the_labs():
    """The check can fail: 15 cents below the start the labs' runs are rationed."""
    short, moved, _ = first_month(4.70)
    assert short > 0.15 and moved > 1.0  # rationed, and the rule raises the price


@pytest.mark.slow
def test_the_configured_start_is_the_rules_crossing():
    cfg = load_config()
    p = fixed_point(cfg)
    assert abs(cfg.hyperscalers.initial_compute_price - p) < 0.05
    posted, _ = posted_after_first_month(cfg, p + 0.05)
    assert posted < p + 0.05  # above the crossing the rule lowers the price
