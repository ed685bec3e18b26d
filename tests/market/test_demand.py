"""End-user demand laws, Bass diffusion and the firms' market research, without a model."""

import numpy as np
import pytest
from scipy import sparse

from abm.market.demand import (
    aggregate_curve,
    bass_curve,
    bass_hazard,
    budget_interval,
    capability_shift,
    decay_terms,
    demand_elasticity,
    expected_sales,
    saturating_growth,
    share_of_income_for_ai,
    softmax,
    spend_peak,
    spend_ratio,
    task_share,
    token_demand,
)


@pytest.mark.parametrize(
    ("cost", "value", "e", "expected"),
    [
        (0.5, 1.0, 1.5, 1.0),  # below the least valuable task: every task is done
        (1.0, 1.0, 1.5, 1.0),
        (4.0, 1.0, 1.5, 4.0**-1.5),  # Pareto tail (range ~infinite)
        (4.0, 1.0, 0.5, 0.5),
    ],
)
def test_task_share_is_one_below_the_kink_and_a_pareto_tail_above(cost, value, e, expected):
    assert float(task_share(cost, value, e, 1e30)) == pytest.approx(expected, rel=1e-9)


def test_demand_has_constant_price_elasticity_above_the_kink():
    for e in (0.5, 1.5, 3.0):
        p = np.array([10.0, 11.0])
        q = token_demand(p, 1.0, 100.0, 1000.0, 1e-4, e, 1e40)
        assert np.log(q[1] / q[0]) / np.log(p[1] / p[0]) == pytest.approx(-e, rel=1e-9)


def test_truncation_gives_a_choke_price():
    assert float(task_share(1001.0, 1.0, 0.8, 1000.0)) == 0.0


def test_aggregate_curve_matches_the_sum_of_individual_demands():
    rng = np.random.default_rng(1)
    n = 50
    tasks, tokens, value = (
        rng.uniform(10, 100, n),
        rng.uniform(500, 5000, n),
        rng.uniform(1e-3, 1e-1, n),
    )
    w = rng.uniform(1, 3, n)
    grid = np.log(np.array([0.1, 1.0, 10.0, 100.0]))
    curve = aggregate_curve(grid, tasks, tokens, value, 1.4, 1000.0, w)
    direct = [
        np.sum(w * token_demand(np.exp(g), 1.0, tasks, tokens, value, 1.4, 1000.0)) for g in grid
    ]
    np.testing.assert_allclose(curve, direct, rtol=1e-12)


def test_discrete_bass_adoption_tracks_the_closed_form():
    p, q, share = 0.03, 0.38, 0.0
    path = []
    for _ in range(120):
        share += (1 - share) * float(bass_hazard(p, q, share, 1 / 12))
        path.append(share)
    closed = bass_curve(p, q, np.arange(1, 121) / 12)
    assert np.max(np.abs(np.array(path) - closed)) < 0.02


def test_bass_curve_starts_from_its_initial_share():
    assert float(bass_curve(0.03, 0.38, 0.0, initial_share=0.2)) == pytest.approx(0.2)


def test_saturating_growth_starts_at_the_given_rate_and_levels_off():
    assert saturating_growth(0, 1.6, 20.0) == 1.0
    assert saturating_growth(1, 1.6, 20.0) == pytest.approx(1.6 ** (1 / 12), rel=0.01)
    assert saturating_growth(1200, 1.6, 20.0) == pytest.approx(20.0, rel=1e-3)


def test_single_seller_research_reads_the_segment_curve_at_each_candidate():
    grid = np.linspace(np.log(0.1), np.log(100), 200)
    curve = np.exp(-1.5 * grid)  # constant elasticity 1.5
    ratios = np.array([0.8, 1.0, 1.25])
    q = expected_sales(
        np.array([[1.0]]), curve[None, :], grid, np.array([5.0]), np.eye(1), ratios, 2.0
    )
    np.testing.assert_allclose(q[0], (5.0 * ratios) ** -1.5, rtol=1e-3)


def test_research_of_a_lab_includes_its_resellers_and_shares_follow_logit():
    # columns: lab A, lab B, reseller of A. Lab A moves its own and its reseller's price.
    util = np.array([0.0, 0.0, 0.0])
    prob = softmax(util)[None, :]
    grid = np.linspace(np.log(0.01), np.log(1000), 400)
    curve = np.ones_like(grid)[None, :]  # perfectly inelastic users: only shares move
    membership = sparse.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=float))
    theta, r = 2.0, np.array([2.0])
    q = expected_sales(prob, curve, grid, np.array([1.0, 1.0, 1.5]), membership, r, theta)
    moved = 2 * np.exp(-theta * np.log(2.0))
    np.testing.assert_allclose(q[0, 0], moved / (1 + moved), rtol=1e-9)  # A and its reseller
    np.testing.assert_allclose(
        q[1, 0], np.exp(-theta * np.log(2.0)) / (2 + np.exp(-theta * np.log(2.0))), rtol=1e-9
    )


def _users(seed: int, n: int = 300):
    """A random population: tasks, tokens per task, reference values and weights."""
    rng = np.random.default_rng(seed)
    tasks, tokens = rng.uniform(1, 10, n), rng.uniform(100, 1e4, n)
    return tasks, tokens, np.exp(rng.normal(-5, 2, n)), rng.uniform(0.5, 2, n)


@pytest.mark.parametrize(("e", "value_range"), [(0.3, 5.0), (1.5, 50.0), (4.0, 1e6)])
def test_aggregate_curve_is_exact_across_satiated_tail_and_choke_regions(e, value_range):
    tasks, tokens, value, w = _users(2)
    grid = np.linspace(np.log(1e-4), np.log(1e5), 60)
    direct = [
        np.sum(w * token_demand(np.exp(g), 1.0, tasks, tokens, value, e, value_range)) for g in grid
    ]
    np.testing.assert_allclose(
        aggregate_curve(grid, tasks, tokens, value, e, value_range, w),
        direct,
        rtol=1e-9,
        atol=1e-12 * max(direct),
    )


# -- issue 11: demand without a hard ceiling
def test_below_the_reference_value_the_pareto_tail_continues_down_to_the_floor():
    # cost a hundredth of the reference value: (1/100)**-1.5 = 1000 tasks per reference task
    assert float(task_share(0.01, 1.0, 1.5, 1e30, 1e4)) == pytest.approx(1000.0, rel=1e-9)
    # below the floor (value / 1e4) the user is satiated: floor_ratio**e tasks per reference task
    assert float(task_share(1e-6, 1.0, 1.5, 1e30, 1e4)) == pytest.approx(1e6, rel=1e-9)
    # floor_ratio = 1 is the old law: satiated at the reference value
    assert float(task_share(0.01, 1.0, 1.5, 1e30, 1.0)) == 1.0


def test_a_deep_floor_keeps_elasticity_constant_through_a_thousandfold_price_fall():
    """The demand ceiling of the old law: with the floor at the reference value, a
    1000x price fall drives the elasticity to 0; with a floor 1e4 below, it stays e."""
    p = np.array([1.0, 1.01]) * 1e-3  # a thousand times below the start ($1 per mtok)
    cost = lambda price: price * 1000.0 / 1e6  # noqa: E731 (1000 tokens per task)
    deep = token_demand(p, 1.0, 100.0, 1000.0, 1e-4, 1.5, 1e3, 1e4)
    assert -np.log(deep[1] / deep[0]) / np.log(1.01) == pytest.approx(1.5, rel=1e-6)
    shallow = token_demand(p, 1.0, 100.0, 1000.0, 1e-4, 1.5, 1e3, 1.0)
    assert shallow[1] == shallow[0]  # satiated: no response at all
    assert float(demand_elasticity(cost(p[0]), 1e-4, 1.5, 1e3, 1.0)) == 0.0


def test_analytic_elasticity_matches_a_one_percent_price_change_on_every_branch():
    value, e, top, floor = 1.0, 1.5, 100.0, 1e3
    for cost in (1e-4, 0.5, 3.0, 90.0):  # satiated, tail below and above the reference, near choke
        q0 = float(task_share(cost, value, e, top, floor))
        q1 = float(task_share(cost * 1.0001, value, e, top, floor))
        measured = -np.log(q1 / q0) / np.log(1.0001)
        assert float(demand_elasticity(cost, value, e, top, floor)) == pytest.approx(
            measured, rel=1e-3, abs=1e-9
        )
    assert np.isnan(demand_elasticity(200.0, value, e, top, floor))  # beyond the choke price


@pytest.mark.parametrize(("e", "floor"), [(0.6, 10.0), (1.5, 1e4), (3.0, 1e3)])
def test_aggregate_curve_is_exact_with_a_value_floor(e, floor):
    tasks, tokens, value, w = _users(3)
    grid = np.linspace(np.log(1e-6), np.log(1e5), 80)
    direct = [
        np.sum(w * token_demand(np.exp(g), 1.0, tasks, tokens, value, e, 50.0, floor)) for g in grid
    ]
    np.testing.assert_allclose(
        aggregate_curve(grid, tasks, tokens, value, e, 50.0, w, floor),
        direct,
        rtol=1e-9,
        atol=1e-12 * max(direct),
    )


def test_capability_shift_is_one_at_the_start_and_grows_exponentially_in_quality():
    assert float(capability_shift(7.0, 7.0, 0.25)) == 1.0
    assert float(capability_shift(9.0, 7.0, 0.25)) == pytest.approx(np.exp(0.5))


# -- issue 11: budgets
@pytest.mark.parametrize(
    ("e", "value_range", "floor"),
    [(0.6, 50.0, 10.0), (0.9, 1e3, 1e4), (1.0, 100.0, 100.0), (1.5, 1e3, 1e4), (3.0, 1e3, 1e3)],
)
@pytest.mark.parametrize("budget", [1e-3, 0.1, 3.0, 100.0])
def test_aggregate_curve_is_exact_with_budgets(e, value_range, floor, budget):
    """Brute force: every user's min(law, budget / price), budget = budget * tasks * value."""
    tasks, tokens, value, w = _users(4)
    grid = np.linspace(np.log(1e-6), np.log(1e5), 80)
    direct = np.array(
        [
            np.sum(
                w
                * token_demand(
                    np.exp(g),
                    1.0,
                    tasks,
                    tokens,
                    value,
                    e,
                    value_range,
                    floor,
                    budget * tasks * value,
                )
            )
            for g in grid
        ]
    )
    unbounded = aggregate_curve(grid, tasks, tokens, value, e, value_range, w, floor)
    curve = aggregate_curve(grid, tasks, tokens, value, e, value_range, w, floor, budget)
    np.testing.assert_allclose(curve, direct, rtol=1e-9, atol=1e-12 * max(direct))
    assert (curve <= unbounded * (1 + 1e-12)).all()
    if budget < 1.0:  # the premise: a budget this small binds somewhere on the grid
        assert (curve < 0.99 * unbounded).any()


def test_one_curve_per_budget_is_each_budget_alone():
    tasks, tokens, value, w = _users(5)
    grid = np.linspace(np.log(1e-4), np.log(1e3), 30)
    budgets = np.array([0.1, np.inf, 3.0, 0.1])
    rows = aggregate_curve(grid, tasks, tokens, value, 1.5, 1e3, w, 1e4, budgets)
    assert rows.shape == (4, 30)
    for row, b in zip(rows, budgets, strict=True):
        np.testing.assert_array_equal(
            row, aggregate_curve(grid, tasks, tokens, value, 1.5, 1e3, w, 1e4, b)
        )
    np.testing.assert_array_equal(
        rows[1], aggregate_curve(grid, tasks, tokens, value, 1.5, 1e3, w, 1e4)
    )


@pytest.mark.parametrize(("e", "value_range", "floor"), [(0.6, 50.0, 10.0), (1.5, 1e3, 1e4)])
def test_the_budget_binds_on_one_interval_around_the_spend_peak(e, value_range, floor):
    """Independent of the root finder: on a fine grid, the spend ratio exceeds the
    budget exactly between the interval's ends (and peaks inside it)."""
    y = np.linspace(-np.log(floor) - 5, np.log(value_range) + 1, 200_001)
    ratio = spend_ratio(y, e, value_range, floor)
    budget = 0.3 * ratio.max()
    lo, hi = budget_interval(budget, e, value_range, floor)
    above = y[ratio > budget]
    step = y[1] - y[0]
    assert above.min() == pytest.approx(float(lo), abs=step)
    assert above.max() == pytest.approx(float(hi), abs=step)
    assert lo < spend_peak(e, value_range, floor) < hi
    assert y[np.argmax(ratio)] == pytest.approx(spend_peak(e, value_range, floor), abs=step)
    never = budget_interval(2.0 * ratio.max(), e, value_range, floor)
    assert never[0] == never[1]  # a budget above the peak never binds


def test_own_and_supplier_membership_gives_the_sparse_products_to_the_last_bit():
    """Labs move their own column and their resellers': the same sums as the 0/1 sparse
    matrix (same order of additions), so expected sales do not change in the last bit."""
    from abm.market.demand import OwnAndSupplier

    rng = np.random.default_rng(3)
    n_labs, supplier_of = 5, rng.integers(0, 5, size=40)
    n = n_labs + supplier_of.size
    rows = list(range(n)) + supplier_of.tolist()
    cols = list(range(n)) + list(range(n_labs, n))
    dense = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    fast = OwnAndSupplier([-1] * n_labs + supplier_of.tolist())
    p = rng.dirichlet(np.ones(n))
    q = rng.lognormal(size=(n, 7))
    assert np.array_equal(fast @ p, dense @ p)
    assert np.array_equal(fast @ (p[:, None] * q), dense @ (p[:, None] * q))
    curves = rng.lognormal(size=(2, 30))
    prob, grid, r = (
        rng.dirichlet(np.ones(n), size=2),
        np.linspace(-3, 3, 30),
        np.array([0.9, 1, 1.1]),
    )
    col_x = np.exp(rng.uniform(-1, 1, n))
    assert np.array_equal(
        expected_sales(prob, curves, grid, col_x, fast, r, 1.3),
        expected_sales(prob, curves, grid, col_x, dense, r, 1.3),
    )
    with pytest.raises(ValueError):
        OwnAndSupplier([-1, 2, -1])  # a supplier listed after its column


def test_the_budget_root_finder_returns_scipys_brentq_to_the_last_bit():
    """``_budget_root`` is a port of SciPy's C brentq with the budget equation inline
    (kept for speed): same roots, same bits, over a spread of users and budgets."""
    import math

    from scipy import optimize

    from abm.market.demand import _RTOL, _budget_root

    rng = np.random.default_rng(0)
    compared = 0
    for _ in range(2000):
        e, value_range = rng.uniform(0.3, 2.5), np.exp(rng.uniform(0.5, 8.0))
        floor, kappa = np.exp(rng.uniform(0.0, 5.0)), np.exp(rng.uniform(-8.0, 2.0))
        tail = value_range ** (-e)

        def f(y, e=e, tail=tail, kappa=kappa):
            return math.exp(y) * (math.exp(-e * y) - tail) / (1.0 - tail) - kappa

        peak = spend_peak(e, value_range, floor)
        for a, b in ((-math.log(floor), peak), (peak, math.log(value_range))):
            if f(a) * f(b) < 0:
                compared += 1
                expected = optimize.brentq(f, a, b, xtol=1e-14, rtol=_RTOL)
                assert _budget_root(kappa, e, tail, a, b, f(a), f(b)) == expected
    assert compared > 1000
    with pytest.raises(ValueError, match="different signs"):
        _budget_root(0.5, 1.5, 0.01, -1.0, 1.0, 1.0, 2.0)


@pytest.mark.parametrize("e", [0.6, 1.5, 3.0])
def test_where_the_budget_binds_demand_has_unit_elasticity_and_spend_equals_the_budget(e):
    """A bound user's demand is budget / price: a 1% price change moves it 1%, whatever e."""
    p = np.array([1.0, 1.01]) * 1e-2
    law = token_demand(p, 1.0, 100.0, 1000.0, 1e-4, e, 1e3, 1e4)
    budget = 0.5 * float(law[0] * p[0])  # half what the user would spend unconstrained
    q = token_demand(p, 1.0, 100.0, 1000.0, 1e-4, e, 1e3, 1e4, budget)
    assert -np.log(q[1] / q[0]) / np.log(1.01) == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(q * p, budget, rtol=1e-12)
    loose = token_demand(p, 1.0, 100.0, 1000.0, 1e-4, e, 1e3, 1e4, 10.0 * float(law[0] * p[0]))
    np.testing.assert_array_equal(loose, law)  # a budget that does not bind changes nothing


def test_the_share_of_income_for_ai_starts_at_its_value_and_rises_toward_one():
    assert share_of_income_for_ai(0.075, 1.0) == pytest.approx(0.075)
    shares = [share_of_income_for_ai(0.075, m) for m in (1.0, 2.0, 10.0, 1e3, 1e9)]
    assert all(b > a for a, b in zip(shares, shares[1:], strict=False))
    assert shares[-1] < 1.0 and shares[-1] > 0.999
    # the odds, not the share, scale with the tasks unlocked
    odds = lambda s: s / (1 - s)  # noqa: E731
    assert odds(share_of_income_for_ai(0.075, 4.0)) == pytest.approx(4.0 * odds(0.075))
    assert share_of_income_for_ai(1.0, 3.0) == 1.0


def test_research_with_one_curve_per_column_reads_each_columns_curve():
    grid = np.linspace(np.log(0.1), np.log(100), 200)
    curves = np.stack([np.exp(-1.5 * grid), 2.0 * np.exp(-1.5 * grid)])[None]  # 1 segment, 2 cols
    ratios = np.array([0.8, 1.0, 1.25])
    prob = np.array([[0.5, 0.5]])
    q = expected_sales(prob, curves, grid, np.array([5.0, 5.0]), np.eye(2), ratios, 0.0)
    np.testing.assert_allclose(q[1], 2.0 * q[0], rtol=1e-12)  # column 1 reads the doubled curve
    same = expected_sales(prob, curves[:, 0], grid, np.array([5.0, 5.0]), np.eye(2), ratios, 0.0)
    np.testing.assert_allclose(same[0], q[0], rtol=1e-12)  # a 2-D curve serves every column


def test_precomputed_log_cost_ratios_and_a_scalar_weight_give_the_same_curve_bit_for_bit():
    """aggregate_curve's fast inputs (the caller's log cost ratios, one weight for all,
    an already sorted panel) change nothing: the same floats as the plain call."""
    rng = np.random.default_rng(5)
    n = 400
    tasks, tokens = np.exp(rng.normal(3, 1, n)), np.exp(rng.normal(8, 1, n))
    value = np.exp(rng.normal(0, 1, n))
    order = np.argsort(np.log(tokens / 1e6 / value), kind="stable")
    tasks, tokens, value = tasks[order], tokens[order], value[order]
    grid, budgets = np.linspace(-6, 6, 48), np.array([0.05, 0.3, 2.0])
    plain = aggregate_curve(grid, tasks, tokens, value, 0.7, 1e3, np.full(n, 2.5), 1e4, budgets)
    fast = aggregate_curve(
        grid, tasks, tokens, value, 0.7, 1e3, 2.5, 1e4, budgets,
        log_cost_ratio=np.log(tokens / 1e6 / value),
    )  # fmt: skip
    assert np.array_equal(plain, fast)
    shuffled = rng.permutation(n)  # an unsorted panel is sorted inside: same sums
    again = aggregate_curve(
        grid, tasks[shuffled], tokens[shuffled], value[shuffled], 0.7, 1e3, 2.5, 1e4, budgets
    )
    assert np.array_equal(plain, again)
    # decay terms the caller computed for a larger group, at this group's least ratio,
    # then masked to the group (what a segment does with its panel), shuffled or not
    c = np.log(tokens / 1e6 / value)
    wider = np.concatenate(([c[0] - 1.0], c))
    decay = tuple(d[1:] for d in decay_terms(wider, 0.7, c[0]))
    cached = aggregate_curve(
        grid, tasks, tokens, value, 0.7, 1e3, 2.5, 1e4, budgets, log_cost_ratio=c, decay=decay
    )
    assert np.array_equal(plain, cached)
    again = aggregate_curve(
        grid, tasks[shuffled], tokens[shuffled], value[shuffled], 0.7, 1e3, 2.5, 1e4, budgets,
        log_cost_ratio=c[shuffled], decay=tuple(d[shuffled] for d in decay),
    )  # fmt: skip
    assert np.array_equal(plain, again)


def test_in_place_running_sums_equal_cumsum_and_concatenate_to_the_last_bit():
    """The curve's prefix and suffix sums: the same floats as np.cumsum, whatever the size."""
    from abm.market.demand import _prefix_sums, _suffix_sums

    rng = np.random.default_rng(2)
    for n in (0, 1, 2, 7, 1500):
        x = rng.random(n) * np.exp(rng.normal(0, 5, n))
        assert np.array_equal(_prefix_sums(x), np.concatenate(([0.0], np.cumsum(x))))
        assert np.array_equal(_suffix_sums(x), np.concatenate((np.cumsum(x[::-1])[::-1], [0.0])))
