"""The venture pool's rules on plain numbers: rounds never overdraw the pool, go to
the best expected returns first, and supply answers to returns within its ceiling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.config import load_config
from abm.ledger import Ledger
from abm.market.venture import (
    LPS,
    POOL,
    VenturePool,
    allocate_rounds,
    growth_score,
    return_index,
    yearly_supply,
)

money = st.floats(0.0, 1e11, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    asks=st.lists(money, min_size=0, max_size=30),
    available=money,
    max_share=st.floats(0.01, 1.0),
    hurdle=st.floats(-1.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_rounds_never_exceed_the_pool_the_ask_or_the_round_cap(
    asks, available, max_share, hurdle, seed
):
    asks = np.array(asks)
    scores = np.random.default_rng(seed).normal(0.0, 1.0, asks.size)
    rounds = allocate_rounds(asks, scores, available, hurdle, max_share)
    assert rounds.sum() <= available * (1 + 1e-12) + 1e-6
    assert (rounds >= 0).all() and (rounds <= asks + 1e-6).all()
    assert (rounds <= max_share * available * (1 + 1e-12) + 1e-6).all()
    assert (rounds[scores < hurdle] == 0).all()


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # the pool holds 100; asks of 60 each: the best return is filled, the next gets the rest
        ([0.5, 1.5, 1.0], [0.0, 60.0, 40.0]),
        ([1.5, 0.5, 1.0], [60.0, 0.0, 40.0]),
        # below the hurdle (0): refused even with money left
        ([-0.1, 2.0, -3.0], [0.0, 60.0, 0.0]),
    ],
)
def test_rounds_go_to_the_best_expected_returns_first(scores, expected):
    rounds = allocate_rounds(np.full(3, 60.0), np.array(scores), 100.0, 0.0, 1.0)
    assert rounds == pytest.approx(expected)


def test_one_round_takes_at_most_its_share_of_the_pool():
    rounds = allocate_rounds(np.array([80.0, 5.0]), np.array([2.0, 1.0]), 100.0, 0.0, 0.25)
    assert rounds == pytest.approx([25.0, 5.0])


@pytest.mark.parametrize(
    ("expected", "normal", "elasticity", "index"),
    [(0.7, 0.7, 1.0, 1.0), (1.7, 0.7, 1.0, math.e), (0.2, 0.7, 2.0, math.exp(-1.0))],
)
def test_supply_rises_and_falls_with_the_returns_investors_expect(
    expected, normal, elasticity, index
):
    assert return_index(expected, normal, elasticity) == pytest.approx(index)


def test_supply_never_exceeds_its_share_of_global_venture_capital():
    assert yearly_supply(50e9, 2.0, 1.0, 175e9) == pytest.approx(100e9)
    assert yearly_supply(50e9, 3.0, 2.0, 175e9) == pytest.approx(175e9)


def test_investors_extrapolate_revenue_growth_and_keep_their_view_without_revenue():
    views = growth_score(
        np.array([2.0, 1.0, 0.0]), np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5]), 0.1
    )
    assert views == pytest.approx([0.9 * 0.5 + 0.1 * 12 * math.log(2.0), 0.45, 0.5])


def test_dry_powder_goes_back_to_limited_partners_at_its_rate_and_money_is_conserved():
    cfg = load_config().vc
    ledger = Ledger()
    pool = VenturePool(ledger, cfg)
    pool.take_in(1.0)
    assert pool.supply == pytest.approx(min(cfg.supply_per_year, 0.5 * 350e9) / 12.0)
    held = pool.balance
    pool.close_month(revenue=1.0, acquired=0, shut=0, alive=0)
    assert pool.balance == pytest.approx(held * (1.0 - 1.0 / cfg.dry_powder_months))
    assert ledger.balance(LPS) == pytest.approx(-pool.balance)
    assert ledger.total() == pytest.approx(0.0, abs=1e-3)
    assert POOL == "venture_capital"


def test_realised_growth_and_exits_move_investors_expectations():
    cfg = load_config().vc
    pool = VenturePool(Ledger(), cfg)
    pool.close_month(revenue=100.0, acquired=0, shut=0, alive=10)  # first month: no return yet
    assert pool.expected_return == cfg.normal_return
    pool.close_month(revenue=110.0, acquired=1, shut=3, alive=10)
    realised = 12 * math.log(1.1) + 12 * (1 - 3) / 10
    w = cfg.expectation_weight
    assert pool.expected_return == pytest.approx((1 - w) * cfg.normal_return + w * realised)
