"""Price setting as plain functions: table-driven, no model."""

import numpy as np
import pytest

from abm.market.pricing import (
    adjust_to_excess_demand,
    best_ratio,
    best_response,
    candidate_ratios,
    monopoly_price,
)


@pytest.mark.parametrize(
    ("price", "excess", "speed", "cap", "floor", "expected"),
    [
        (10.0, 0.0, 0.5, 0.1, 0.0, 10.0),  # balanced: no change
        (10.0, 0.1, 0.5, 0.1, 0.0, 10.0 * np.exp(0.05)),  # small excess: exp(speed * excess)
        (10.0, 5.0, 0.5, 0.1, 0.0, 11.0),  # large excess: capped at +10%
        (10.0, -5.0, 0.5, 0.1, 0.0, 10.0 / 1.1),  # large shortfall: capped at -1/1.1
        (10.0, -5.0, 0.5, 0.1, 9.5, 9.5),  # never below the floor
    ],
)
def test_tatonnement_moves_price_with_excess_demand_within_caps(
    price, excess, speed, cap, floor, expected
):
    assert float(adjust_to_excess_demand(price, excess, speed, cap, floor)) == pytest.approx(
        expected
    )


def test_candidate_ratios_are_symmetric_in_logs_and_include_today():
    r = candidate_ratios(0.4, 15)
    assert r.size == 15 and r[7] == pytest.approx(1.0)
    assert np.log(r[0]) == pytest.approx(-np.log(r[-1]))


def test_parabolic_refinement_finds_the_exact_peak_of_a_quadratic_in_log_price():
    ratios = candidate_ratios(0.5, 11)
    for peak in (0.83, 1.0, 1.17):
        profit = -((np.log(ratios) - np.log(peak)) ** 2)
        assert best_ratio(ratios, profit[None, :])[0] == pytest.approx(peak, rel=1e-9)


@pytest.mark.parametrize("elasticity", [1.5, 2.0, 3.0])
def test_profit_seeking_against_constant_elasticity_settles_at_the_monopoly_price(elasticity):
    cost, price = 2.0, 20.0
    ratios = candidate_ratios(0.4, 15)
    for _ in range(200):
        quantity = (price * ratios) ** (-elasticity)
        price = float(
            best_response(np.array([price]), np.array([cost]), ratios, quantity[None, :], 0.5)[0]
        )
    assert price == pytest.approx(monopoly_price(cost, elasticity), rel=0.01)


def test_best_response_keeps_the_price_of_a_firm_that_expects_no_sales():
    ratios = candidate_ratios(0.4, 9)
    new = best_response(
        np.array([5.0, 5.0]),
        np.array([1.0, 1.0]),
        ratios,
        np.vstack([np.zeros(9), ratios**-2.0]),
        1.0,
    )
    assert new[0] == 5.0 and new[1] != 5.0


def test_best_response_respects_the_floor():
    ratios = candidate_ratios(0.4, 9)
    new = best_response(
        np.array([5.0]), np.array([0.0]), ratios, (5 * ratios)[None, :] ** -0.5, 1.0, floor=4.0
    )
    assert new[0] >= 4.0


def test_monopoly_price_needs_elastic_demand():
    assert monopoly_price(1.0, 2.0) == 2.0
    with pytest.raises(ValueError):
        monopoly_price(1.0, 0.9)
