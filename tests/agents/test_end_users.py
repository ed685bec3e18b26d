"""The segment agent's vectorised demand is the demand law of abm.market.demand, and its
two channels stay apart: shifts scale demand at a fixed price, price moves it along."""

import numpy as np
import pytest

from abm import ComputeMarket
from abm.agents.end_users import column_of
from abm.market.demand import demand_elasticity, token_demand


@pytest.fixture(scope="module")
def market_after_a_year():
    m = ComputeMarket(rng=2, **{"end_users.simulated_users": 3000})
    m.run(12)
    return m, m.observe_market()


def reference(seg, market, price_scale=1.0):
    col = seg._col
    ok = col >= 0
    ref = token_demand(
        market.price[col[ok]] * price_scale,
        market.quality_factor[col[ok]],
        seg.tasks[ok],
        seg.base_tokens_per_task[ok],
        seg.value[ok],
        seg.elasticity,
        seg.value_range,
        seg.floor_ratio,
        seg.budgets()[ok] / seg.shift,  # the budget is not shifted: min(shift * law, budget / p)
    )
    return ok, ref * seg.shift


def test_segment_demand_equals_the_reference_law_user_by_user(market_after_a_year):
    m, market = market_after_a_year
    for seg in m.segments:
        seg.choose_providers(market.col_ids, market.choice[0], market.col_of, 0.0)
        totals = seg.order_tokens(market.price, market.quality_factor)
        ok, ref = reference(seg, market)
        np.testing.assert_allclose(seg.demand[ok], ref, rtol=1e-10)
        assert (seg.demand[~ok] == 0).all()
        np.testing.assert_allclose(totals.sum(), ref.sum() * seg.weight, rtol=1e-10)


def test_shifts_move_demand_at_a_fixed_price_and_prices_move_it_at_fixed_shifts(
    market_after_a_year,
):
    """H1 separability where budgets do not bind: a shift multiplies every user's demand
    at today's prices and leaves each user's price response unchanged; a price move
    leaves the shifts alone."""
    m, market = market_after_a_year
    seg = m.segments[1]
    seg.choose_providers(market.col_ids, market.choice[1], market.col_of, 0.0)
    base = seg.order_tokens(market.price, market.quality_factor).sum()
    assert seg.budget_bound == 0  # a year in, nobody spends their whole budget
    eps_base = seg.elasticity_sum / seg.buyers
    saved = seg.tokens_per_task_multiplier, seg.task_multiplier
    try:
        seg.grow_tokens_per_task(saved[0] * 3.0)  # larger tasks
        seg.unlock_tasks(seg.start_quality + 2.0)  # a better frontier
        shifted = seg.order_tokens(market.price, market.quality_factor).sum()
        assert seg.budget_bound == 0
        factor = 3.0 * seg.task_multiplier / saved[1]
        assert factor > 3.0
        assert shifted / base == pytest.approx(factor, rel=1e-12)
        assert seg.elasticity_sum / seg.buyers == pytest.approx(eps_base, rel=1e-12)
        cheaper = seg.order_tokens(market.price * 0.99, market.quality_factor).sum()
        assert cheaper / shifted == pytest.approx(0.99 ** (-eps_base), rel=2e-3)
    finally:
        seg.tokens_per_task_multiplier, seg.task_multiplier = saved


# -- issue 11: budgets
def test_where_every_budget_binds_shifts_stop_moving_demand_and_its_elasticity_is_one(
    market_after_a_year,
):
    """Larger tasks cannot raise what a user spends once the budget binds: demand is
    budget / price (unit elasticity), so a tokens-per-task shift leaves it unchanged and a
    1% price cut raises it by exactly 1/0.99."""
    m, market = market_after_a_year
    seg = m.segments[0]
    seg.choose_providers(market.col_ids, market.choice[0], market.col_of, 0.0)
    saved = seg.tokens_per_task_multiplier, seg.task_multiplier
    try:
        seg.grow_tokens_per_task(1e6)  # tasks so large that every buyer hits the budget
        at_budget = seg.order_tokens(market.price, market.quality_factor).sum()
        assert seg.buyers > 0 and seg.budget_bound == seg.buyers
        assert seg.elasticity_sum / seg.buyers == pytest.approx(1.0, rel=1e-12)
        paid = market.price[seg._col[seg._col >= 0]]
        spend = seg.demand[seg._col >= 0] * paid
        np.testing.assert_allclose(spend, seg.budgets()[seg._col >= 0], rtol=1e-12)
        seg.grow_tokens_per_task(1e7)
        assert seg.order_tokens(market.price, market.quality_factor).sum() == pytest.approx(
            at_budget, rel=1e-12
        )
        cheaper = seg.order_tokens(market.price * 0.99, market.quality_factor).sum()
        assert cheaper / at_budget == pytest.approx(1 / 0.99, rel=1e-12)
    finally:
        seg.tokens_per_task_multiplier, seg.task_multiplier = saved


def test_budgets_are_a_share_of_income_that_rises_with_capability_and_stays_below_it():
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 400})
    seg, uc = m.segments[0], m.cfg.end_users
    income = seg.budgets() / seg.ai_share  # each user's income, spread as tasks * value
    median_user = seg.cfg.tasks_per_month * seg.cfg.value_per_task_median
    assert seg.budget_per_value * median_user == pytest.approx(
        seg.cfg.income_per_month * uc.ai_budget_share_start
    )
    assert np.median(income) == pytest.approx(seg.cfg.income_per_month, rel=0.15)
    shares = []
    for gain in (0.0, 2.0, 8.0, 40.0, 400.0):
        seg.unlock_tasks(seg.start_quality + gain)
        shares.append(seg.ai_share)
    assert shares[0] == pytest.approx(uc.ai_budget_share_start)
    assert all(b > a for a, b in zip(shares, shares[1:], strict=False))
    assert shares[-1] <= 1.0 and shares[-1] > 0.99  # approaches the whole income, never above


def test_recorded_elasticity_is_the_response_of_each_user_to_a_1pc_price_change(
    market_after_a_year,
):
    m, market = market_after_a_year
    for seg in m.segments:
        seg.choose_providers(market.col_ids, market.choice[0], market.col_of, 0.0)
        before = seg.order_tokens(market.price, market.quality_factor)
        recorded = seg.elasticity_sum / seg.buyers
        ok, q0 = reference(seg, market)
        _, q1 = reference(seg, market, 1.01)
        buying = q0 > 0
        measured = -np.log(q1[buying] / q0[buying]) / np.log(1.01)
        assert measured.mean() == pytest.approx(recorded, rel=5e-3)
        col = seg._col[ok][buying]
        cost = market.price[col] * seg.base_tokens_per_task[ok][buying] / 1e6
        value = seg.value[ok][buying] * market.quality_factor[col]
        analytic = demand_elasticity(cost, value, seg.elasticity, seg.value_range, seg.floor_ratio)
        bound = q0[buying] * market.price[col] >= seg.budgets()[ok][buying] * (1 - 1e-12)
        analytic = np.where(bound, 1.0, analytic)  # budget / price: unit elasticity
        assert analytic.mean() == pytest.approx(recorded, rel=1e-9)
        assert before.sum() > 0


def test_unlocked_tasks_stay_unlocked():
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 400})
    seg = m.segments[0]
    seg.unlock_tasks(seg.start_quality + 2.0)
    high = seg.task_multiplier
    assert high == pytest.approx(np.exp(2.0 * m.cfg.end_users.tasks_per_quality))
    seg.unlock_tasks(seg.start_quality)
    assert seg.task_multiplier == high


def test_users_of_a_provider_that_left_have_no_column():
    col_of = np.array([-1, 0, 1, -1])
    np.testing.assert_array_equal(column_of(col_of, np.array([1, 2, 3, 7, -1])), [0, 1, -1, -1, -1])


def test_distinct_quality_factors_match_numpy_unique_exactly():
    """The segment's fast de-duplication of quality factors returns np.unique's arrays."""
    from abm.agents.end_users import _distinct

    rng = np.random.default_rng(3)
    labs = np.exp(rng.normal(size=15))
    for qf in (
        np.concatenate((labs, labs[rng.integers(0, 15, 200)])),
        labs[:1],
        np.array(2.5),
        np.zeros(0),
    ):
        d, w = _distinct(qf)
        d0, w0 = np.unique(qf, return_inverse=True)
        assert np.array_equal(d, d0) and np.array_equal(w.reshape(-1), w0.reshape(-1))
        assert np.array_equal(d[w.reshape(qf.shape)], qf)
