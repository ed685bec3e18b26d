"""Limit 4 (Jevons): an exogenous fall in the cost of compute raises total user
spend iff demand is elastic (e > 1), while tokens consumed rise in both cases.

Config: ``configs/validation/jevons.toml`` (four symmetric labs, so that the pricing
game has a finite equilibrium even for e < 1), at a fixed compute price of $2 and
then $1 per GPU-h. Markups are constant under constant elasticity, so token prices
halve, tokens scale by 2**e and spend by 2**(e - 1)
(:func:`abm.validation.limits.jevons_ratios`). Tolerance: 3% on each ratio.
"""

import pytest

from abm.validation.limits import jevons_ratios

from .runs import run, settled

TOLERANCE = 0.03


def before_after(elasticity: float):
    out = []
    for compute_price in (2.0, 1.0):
        _, df = run(
            "jevons",
            end_users__price_elasticity=elasticity,
            hyperscalers__fixed_compute_price=compute_price,
        )
        out.append({k: settled(df, k) for k in ("retail_token_price", "tokens", "user_spend")})
    return out


@pytest.mark.slow
@pytest.mark.parametrize("elasticity", [0.5, 2.0])
def test_cheaper_compute_raises_tokens_always_and_spend_iff_demand_is_elastic(elasticity):
    before, after = before_after(elasticity)
    price_ratio = after["retail_token_price"] / before["retail_token_price"]
    assert price_ratio == pytest.approx(0.5, rel=TOLERANCE)  # full pass-through of the cost fall
    tokens_ratio, spend_ratio = jevons_ratios(price_ratio, elasticity)
    assert after["tokens"] / before["tokens"] == pytest.approx(tokens_ratio, rel=TOLERANCE)
    assert after["user_spend"] / before["user_spend"] == pytest.approx(spend_ratio, rel=TOLERANCE)
    assert after["tokens"] > before["tokens"]
    assert (after["user_spend"] > before["user_spend"]) == (elasticity > 1.0)


# -- issue 11: demand -- no hard ceiling in the baseline
@pytest.mark.slow
def test_baseline_demand_stays_elastic_through_2032_and_few_users_are_satiated():
    """In the baseline the effective price elasticity (each buying user's response of
    token demand to a 1% price change, population-weighted) stays above 1 in 2024 and
    above 0.8 in every year to 2032: the value floor is not reached, so cheaper tokens
    keep raising demand and user spend (Jevons) instead of running into satiation."""
    _, df = run_baseline()
    year = df["date"].str[:4]
    by_year = df.iloc[1:].groupby(year.iloc[1:])
    assert (by_year["demand_elasticity"].mean() > 0.8).all()
    assert by_year["demand_elasticity"].mean()["2024"] > 1.0
    assert (by_year["satiated_share"].max() < 0.05).all()
    spend = by_year["user_spend"].sum()
    assert spend["2032"] > spend["2029"]  # no collapse of spend late in the run


def run_baseline():
    import abm.runs
    from abm.config import DEFAULT_CONFIG

    result = abm.runs.run(DEFAULT_CONFIG, seed=1, steps=120, keep_model=True)
    return result.model, result.metrics
