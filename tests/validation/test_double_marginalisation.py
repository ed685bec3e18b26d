"""Limit 3: successive monopolies stack their markups (double marginalisation).

What is tested. A chain of two independent price setters -- a lab that sells only
wholesale (``model_developers.direct_sales = false``) and the wrapper startup that
retails its tokens -- against the same chain integrated (the lab selling directly,
one markup over the chain's marginal cost). With constant elasticity e each layer
marks up by k = e / (e - 1), so the separated retail price is k times the
integrated one (:func:`abm.validation.limits.double_marginalisation_price_ratio`
with n = 2), output is lower, and the chain's total profit is lower by
``chain_profit_ratio(e, 2) = (k + 1) k**-e`` (3/4 at e = 2).

Why only two layers. The other layers of the model are not price setters on the
same end demand: the clouds' profit pricing reads the labs' compute requests at
today's token orders (serving needs do not move with the compute price in their
residual-demand view) and their default prices follow utilisation; the vendor prices
GPUs, a durable good, on the clouds' investment rule. Neither faces the end users'
constant-elasticity curve through proportional pass-through, so the textbook ratio
does not apply to them. Here the compute layer is passive (fixed price = the
chain's marginal cost). Configs: ``chain_separated.toml``, ``chain_integrated.toml``.
Tolerance: 3% on each ratio.
"""

import pytest

from abm.validation.limits import (
    chain_profit_ratio,
    double_marginalisation_price_ratio,
    monopoly_markup,
    successive_monopoly_price,
)

from .runs import run, settled

UNIT_COST = 2.0  # $ per mtok: the chain's marginal cost (compute at the fixed price)
TOLERANCE = 0.03


def chain(elasticity: float, how: str):
    model, df = run(f"chain_{how}", end_users__price_elasticity=elasticity)
    profit = settled(df, "profit_model_devs") + settled(df, "profit_startups")
    return model, settled(df, "retail_token_price"), settled(df, "tokens"), profit


@pytest.mark.slow
@pytest.mark.parametrize("elasticity", [1.5, 2.0, 3.0])
def test_separated_chain_stacks_markups_and_earns_less(elasticity):
    sep_model, sep_price, sep_tokens, sep_profit = chain(elasticity, "separated")
    _, int_price, int_tokens, int_profit = chain(elasticity, "integrated")
    assert len(sep_model.startups) == 1 and sep_model.metrics["startup_share"] == pytest.approx(1.0)
    # each layer marks up by e / (e - 1) over its own cost
    k = monopoly_markup(elasticity)
    (lab,), (wrapper,) = sep_model.labs, sep_model.startups
    assert lab.price == pytest.approx(UNIT_COST * k, rel=TOLERANCE)
    assert wrapper.price / lab.price == pytest.approx(k, rel=TOLERANCE)
    assert sep_price == pytest.approx(
        successive_monopoly_price(UNIT_COST, elasticity, 2), rel=TOLERANCE
    )
    # against the integrated chain: dearer, less sold, less profit in total
    assert sep_price / int_price == pytest.approx(
        double_marginalisation_price_ratio(elasticity, 2), rel=TOLERANCE
    )
    assert sep_tokens < int_tokens
    assert sep_profit / int_profit == pytest.approx(
        chain_profit_ratio(elasticity, 2), rel=TOLERANCE
    )
    assert sep_profit < int_profit
