"""Limit 1: a single lab facing constant-elasticity demand at constant marginal cost
settles at the monopoly price c e / (e - 1), by its own best-response pricing.

Config: ``configs/validation/monopoly.toml`` (e set per case). The lab starts at
$20 per mtok, far from every target, and only its profit seeking
(``ComputeMarket._set_token_prices`` -> ``best_response``) moves it. Tolerance: 3%.
"""

import pytest

from abm.validation.limits import monopoly_price

from .runs import run, settled

COMPUTE_PRICE = 2.0  # $ per GPU-h, fixed by the config
TOKENS_PER_GPU_HOUR = 1.0e6  # at the reference quality
UNIT_COST = COMPUTE_PRICE * 1e6 / TOKENS_PER_GPU_HOUR  # $ per mtok
TOLERANCE = 0.03


@pytest.mark.parametrize("elasticity", [1.5, 2.0, 3.0])
def test_single_lab_settles_at_monopoly_markup(elasticity):
    model, df = run("monopoly", end_users__price_elasticity=elasticity)
    (lab,) = model.labs
    assert df["token_price"].iloc[1] == pytest.approx(20.0)  # it started far away
    assert model.labs[0].unit_cost_basis == pytest.approx(UNIT_COST)  # the cost it prices against
    target = monopoly_price(UNIT_COST, elasticity)
    assert lab.price == pytest.approx(target, rel=TOLERANCE)
    assert settled(df, "token_price") == pytest.approx(target, rel=TOLERANCE)
    # settled, not passing through: the last year stays within the tolerance
    assert (abs(df["token_price"].iloc[-12:] / target - 1.0) < TOLERANCE).all()


def test_monopoly_markup_over_serving_cost_is_the_inverse_elasticity_rule():
    _, df = run("monopoly")  # e = 2
    assert settled(df, "lab_markup") == pytest.approx(2.0, rel=TOLERANCE)
    assert settled(df, "margin_model_devs") == pytest.approx(1.0 / 2.0, rel=TOLERANCE)


# -- issue 11: demand -- a large population read through a small research panel
LARGE = {"end_users__simulated_users": 200_000, "model_developers__demand_sample_users": 500}


@pytest.mark.slow
def test_a_lab_reading_a_small_panel_of_a_large_population_prices_at_the_monopoly_markup():
    """200,000 simulated users, a panel of 500: the lab sees 0.25% of them, yet the
    price it reaches is the closed-form monopoly price (the panel is a random sample,
    so its demand curve has the population's elasticity)."""
    model, df = run("monopoly", **LARGE)
    (lab,) = model.labs
    assert model.segments[0].n == 200_000 and model.segments[0].panel.size == 500
    target = monopoly_price(UNIT_COST, 2.0)
    assert settled(df, "token_price") == pytest.approx(target, rel=TOLERANCE)
    assert (abs(df["token_price"].iloc[-12:] / target - 1.0) < TOLERANCE).all()
