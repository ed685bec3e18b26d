"""Limit 2: with N symmetric labs the markup falls as N grows, to the Nash
equilibrium of price competition with logit product differentiation.

Users pick a provider by logit in log price with weight theta
(``end_users.price_sensitivity``), then buy along a constant-elasticity curve, so a
lab's own-price elasticity is e + theta (1 - s) and the symmetric Nash Lerner index
is L = 1 / (e + theta (1 - 1/N)) (:func:`abm.validation.limits.logit_lerner_index`;
derived and checked against a direct Nash computation in ``test_limits.py``). As
theta grows, prices fall to cost (Bertrand). Config: ``configs/validation/monopoly.toml``
with ``model_developers.frontier_count = N``. Tolerances: price within 1% of the
Nash price, Lerner index within 3% at theta = 2.
"""

import numpy as np
import pytest

from abm.validation.limits import logit_lerner_index, logit_nash_price

from .runs import run

UNIT_COST = 2.0  # $ per mtok
E = 2.0


def lab_prices(n: int, theta: float) -> np.ndarray:
    model, _ = run(
        "monopoly", model_developers__frontier_count=n, end_users__price_sensitivity=theta
    )
    return np.array([lab.price for lab in model.labs])


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_symmetric_labs_settle_at_the_logit_nash_lerner_index(n):
    prices = lab_prices(n, 2.0)
    assert prices.size == n
    assert np.ptp(prices) < 1e-9 * prices.mean()  # symmetric firms, symmetric equilibrium
    lerner = (prices.mean() - UNIT_COST) / prices.mean()
    assert lerner == pytest.approx(logit_lerner_index(E, 2.0, n), rel=0.03)
    assert prices.mean() == pytest.approx(logit_nash_price(UNIT_COST, E, 2.0, n), rel=0.01)


def test_markup_falls_as_rivals_enter():
    markups = [lab_prices(n, 2.0).mean() / UNIT_COST for n in (1, 2, 4, 8)]
    assert all(a > b for a, b in zip(markups, markups[1:], strict=False))
    assert markups[0] == pytest.approx(2.0, rel=0.01)  # one lab: the monopoly markup e / (e - 1)


@pytest.mark.parametrize("theta", [2.0, 8.0, 32.0])
def test_price_tends_to_cost_as_products_become_substitutes(theta):
    """Bertrand: with four labs, stronger price sensitivity drives the price to cost."""
    price = lab_prices(4, theta).mean()
    assert price == pytest.approx(logit_nash_price(UNIT_COST, E, theta, 4), rel=0.01)
    if theta == 32.0:
        assert price / UNIT_COST - 1.0 < 0.05  # within 5% of cost
    else:
        assert price > lab_prices(4, 4.0 * theta).mean()


# -- issue 11: demand -- a large population read through a small research panel
@pytest.mark.slow
@pytest.mark.parametrize("n", [2, 4])
def test_labs_reading_a_small_panel_of_a_large_population_settle_at_the_logit_nash_price(n):
    model, _ = run(
        "monopoly",
        model_developers__frontier_count=n,
        end_users__price_sensitivity=2.0,
        end_users__simulated_users=200_000,
        model_developers__demand_sample_users=500,
    )
    prices = np.array([lab.price for lab in model.labs])
    assert model.segments[0].panel.size == 500
    assert prices.mean() == pytest.approx(logit_nash_price(UNIT_COST, E, 2.0, n), rel=0.02)
