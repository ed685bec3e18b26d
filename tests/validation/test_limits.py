"""The closed forms of ``abm.validation.limits``, checked against direct computation
(no model): numeric elasticities, a Nash equilibrium found by iterating best
responses, and a chain of monopolists optimised layer by layer."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from abm.config import load_config
from abm.validation.limits import (
    bullwhip_ratio,
    chain_profit_ratio,
    double_marginalisation_price_ratio,
    jevons_ratios,
    littles_law_pipeline,
    logit_lerner_index,
    logit_nash_price,
    logit_own_price_elasticity,
    monopoly_markup,
    monopoly_price,
    successive_monopoly_price,
)

from .runs import VALIDATION


def logit_sales(prices: np.ndarray, e: float, theta: float) -> np.ndarray:
    """Each firm's sales: logit share in log price times constant-elasticity demand."""
    weights = prices**-theta
    return weights / weights.sum() * prices**-e


@pytest.mark.parametrize(
    ("e", "theta", "n"), [(2.0, 2.0, 1), (1.5, 2.0, 3), (2.0, 8.0, 4), (0.5, 2.0, 4)]
)
def test_logit_own_price_elasticity_matches_a_numeric_derivative(e, theta, n):
    prices = np.full(n, 3.0)
    h = 1e-6
    up = prices.copy()
    up[0] *= np.exp(h)
    numeric = -(np.log(logit_sales(up, e, theta)[0]) - np.log(logit_sales(prices, e, theta)[0])) / h
    assert numeric == pytest.approx(logit_own_price_elasticity(e, theta, 1.0 / n), rel=1e-5)


@pytest.mark.parametrize(
    ("e", "theta", "n"),
    [(2.0, 2.0, 1), (2.0, 2.0, 2), (2.0, 2.0, 8), (0.5, 2.0, 4), (3.0, 32.0, 4)],
)
@pytest.mark.slow
def test_logit_nash_price_is_the_rest_point_of_best_responses(e, theta, n):
    cost = 2.0
    prices = np.full(n, 10.0)
    for _ in range(200):
        for i in range(n):

            def loss(log_p, i=i):
                trial = prices.copy()
                trial[i] = np.exp(log_p)
                return -(trial[i] - cost) * logit_sales(trial, e, theta)[i]

            prices[i] = np.exp(
                minimize_scalar(
                    loss,
                    bounds=(np.log(cost), np.log(100 * cost)),
                    method="bounded",
                    options={"xatol": 1e-10},
                ).x
            )
    assert prices == pytest.approx(logit_nash_price(cost, e, theta, n), rel=1e-4)


def test_lerner_index_limits():
    assert logit_lerner_index(2.0, 5.0, 1) == pytest.approx(1 / 2.0)  # monopoly: 1/e
    assert logit_lerner_index(2.0, 1e9, 4) < 1e-8  # Bertrand: price at cost
    values = [logit_lerner_index(2.0, 2.0, n) for n in (1, 2, 4, 8, 1000)]
    assert values == sorted(values, reverse=True)
    assert values[-1] == pytest.approx(1 / (2.0 + 2.0), rel=1e-2)
    assert monopoly_price(2.0, 3.0) == pytest.approx(logit_nash_price(2.0, 3.0, 7.0, 1))


@pytest.mark.parametrize("e", [1.5, 2.0, 3.0])
def test_chain_of_monopolists_optimised_layer_by_layer(e):
    """Downstream first: the wrapper's best price at each wholesale price, then the
    lab's best wholesale price given that reaction."""
    cost = 2.0

    def retail(w):
        return np.exp(
            minimize_scalar(
                lambda lp: -(np.exp(lp) - w) * np.exp(lp) ** -e,
                bounds=(np.log(w), np.log(w) + 5),
                method="bounded",
                options={"xatol": 1e-12},
            ).x
        )

    w = np.exp(
        minimize_scalar(
            lambda lw: -(np.exp(lw) - cost) * retail(np.exp(lw)) ** -e,
            bounds=(np.log(cost), np.log(cost) + 5),
            method="bounded",
            options={"xatol": 1e-10},
        ).x
    )
    p = retail(w)
    p_int = monopoly_price(cost, e)
    assert p == pytest.approx(successive_monopoly_price(cost, e, 2), rel=1e-5)
    assert p / p_int == pytest.approx(double_marginalisation_price_ratio(e, 2), rel=1e-5)
    profit_sep = (p - cost) * p**-e
    profit_int = (p_int - cost) * p_int**-e
    assert profit_sep / profit_int == pytest.approx(chain_profit_ratio(e, 2), rel=1e-5)
    assert chain_profit_ratio(e, 1) == pytest.approx(1.0)
    assert monopoly_markup(e) == pytest.approx(e / (e - 1))


def test_jevons_ratios_and_littles_law():
    assert jevons_ratios(0.5, 2.0) == pytest.approx((4.0, 2.0))
    assert jevons_ratios(0.5, 0.5) == pytest.approx((2**0.5, 2**-0.5))
    assert jevons_ratios(0.5, 1.0)[1] == pytest.approx(1.0)
    assert littles_law_pipeline(500.0, 40.0) == 20000.0


def test_bullwhip_ratio_of_a_pass_through_and_of_an_amplifier():
    rng = np.random.default_rng(0)
    need = np.cumsum(rng.normal(10.0, 1.0, 501))
    called_for = np.diff(need)
    assert bullwhip_ratio(called_for, need) == pytest.approx(1.0)
    assert bullwhip_ratio(3.0 * called_for, need) == pytest.approx(9.0)
    trend = np.linspace(1.0, 2.0, 501)
    assert bullwhip_ratio(called_for, need, trend) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        bullwhip_ratio(called_for[1:], need)


@pytest.mark.parametrize("path", sorted(VALIDATION.glob("*.toml")), ids=lambda p: p.stem)
def test_every_validation_config_loads_and_extends_the_baseline(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    text = path.read_text()
    assert 'extends = "../baseline.toml"' in text or 'extends = "textbook.toml"' in text
