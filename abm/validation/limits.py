"""Closed forms of the textbook limits the model must reproduce.

One definition each, shared by ``tests/validation`` and ``docs/validation_limits.md``.
Plain functions on numbers; nothing here runs the model. Prices are in $ per
million tokens (mtok) wherever a unit matters; every formula is unit-free.

Demand in the limit cases has constant price elasticity ``e``: each user's tasks
have Pareto-distributed values with tail index ``e`` and every user is above the
kink of their demand curve (:mod:`abm.market.demand`), so the quantity bought at
price ``p`` is ``A p**-e``.
"""

from __future__ import annotations

import numpy as np

from abm.market.demand import bass_curve
from abm.market.pricing import monopoly_price

__all__ = [
    "bass_curve",
    "bullwhip_ratio",
    "chain_profit_ratio",
    "double_marginalisation_price_ratio",
    "jevons_ratios",
    "littles_law_pipeline",
    "logit_lerner_index",
    "logit_nash_price",
    "logit_own_price_elasticity",
    "monopoly_markup",
    "monopoly_price",
    "successive_monopoly_price",
]


def monopoly_markup(elasticity: float) -> float:
    """Price over marginal cost of a monopolist facing constant elasticity ``e > 1``: e / (e - 1)."""
    return monopoly_price(1.0, elasticity)


# ----------------------------------------------------------------------------- competition
def logit_own_price_elasticity(elasticity: float, theta: float, share: float) -> float:
    """Own-price elasticity of a firm's sales when users pick a provider by logit in log price.

    Firm i sells ``D_i = M s_i p_i**-e`` with choice share ``s_i = p_i**-theta / sum_j
    p_j**-theta`` (times quality terms that do not depend on price). Then
    ``d ln s_i / d ln p_i = -theta (1 - s_i)`` and the own-price elasticity is
    ``e + theta (1 - s_i)``: the market's elasticity plus the customers it loses to rivals.
    """
    return elasticity + theta * (1.0 - share)


def logit_lerner_index(elasticity: float, theta: float, n_firms: int) -> float:
    """Nash-equilibrium Lerner index (p - c) / p of ``n_firms`` symmetric price setters.

    Each firm's first-order condition is the inverse-elasticity rule
    ``(p - c) / p = 1 / eps_i`` with the own-price elasticity of
    :func:`logit_own_price_elasticity` at the symmetric share ``s = 1 / N``::

        L = 1 / (e + theta (1 - 1/N))

    ``N = 1`` gives the monopoly ``1 / e``; the index falls as N grows, toward
    ``1 / (e + theta)``; and it falls to zero (Bertrand: price at cost) as the logit
    weight theta grows, for any ``N >= 2``.
    """
    if n_firms < 1:
        raise ValueError("at least one firm")
    return 1.0 / logit_own_price_elasticity(elasticity, theta, 1.0 / n_firms)


def logit_nash_price(unit_cost: float, elasticity: float, theta: float, n_firms: int) -> float:
    """Symmetric Nash price ``c / (1 - L)`` with L from :func:`logit_lerner_index`."""
    lerner = logit_lerner_index(elasticity, theta, n_firms)
    if lerner >= 1.0:
        raise ValueError("no finite equilibrium: own-price elasticity must exceed 1")
    return unit_cost / (1.0 - lerner)


# ----------------------------------------------------------------------------- chains
def successive_monopoly_price(unit_cost: float, elasticity: float, n_layers: int) -> float:
    """Retail price of ``n_layers`` independent monopolists in a chain, each buying
    one unit from the layer above per unit it sells.

    Under constant elasticity a monopolist whose unit cost is ``w`` charges
    ``w e / (e - 1)``, so the demand it passes up has the same elasticity and every
    layer stacks the same markup: ``c (e / (e - 1)) ** n``.
    """
    return unit_cost * monopoly_markup(elasticity) ** n_layers


def double_marginalisation_price_ratio(elasticity: float, n_layers: int) -> float:
    """Retail price of the separated chain over that of the integrated one: ``(e / (e - 1)) ** (n - 1)``."""
    return monopoly_markup(elasticity) ** (n_layers - 1)


def chain_profit_ratio(elasticity: float, n_layers: int) -> float:
    """Total profit of the separated chain over that of the integrated one.

    With ``k = e / (e - 1)``, demand ``A p**-e`` and chain cost c, the separated chain
    earns ``(p_n - c) A p_n**-e`` at ``p_n = c k**n``; the integrated one the same at
    ``p_1 = c k``. The ratio is ``(k**n - 1) k**(-n e) / ((k - 1) k**-e)``, below 1
    for every n > 1: separation lowers the chain's profit as well as its output.
    """
    k = monopoly_markup(elasticity)
    e = elasticity
    return (k**n_layers - 1.0) * k ** (-n_layers * e) / ((k - 1.0) * k**-e)


# ----------------------------------------------------------------------------- Jevons
def jevons_ratios(price_ratio: float, elasticity: float) -> tuple[float, float]:
    """(tokens ratio, spend ratio) when every price is multiplied by ``price_ratio``.

    Along a constant-elasticity curve tokens scale as ``r**-e`` and spend ``p q`` as
    ``r**(1 - e)``: a price fall (r < 1) raises tokens always, and spend iff e > 1.
    With constant markups (constant elasticity) the token price moves in proportion
    to the cost of compute, so r is also the ratio of compute prices.
    """
    return price_ratio ** (-elasticity), price_ratio ** (1.0 - elasticity)


# ----------------------------------------------------------------------------- Little
def littles_law_pipeline(start_rate: float, mean_time: float) -> float:
    """Work in progress ``L = lambda W`` of a stationary queue (MW under way, from
    MW started per month and months in the pipeline)."""
    return start_rate * mean_time


# ----------------------------------------------------------------------------- bullwhip
def bullwhip_ratio(orders, fleet_needed, trend=None) -> float:
    """Var(GPU orders) over Var(the GPUs end demand calls for): two flows of GPUs per month.

    ``fleet_needed[t]``, t = 0..T: the GPUs that would serve end-user demand in month t
    at the clouds' target utilisation. A GPU is durable, so what end demand calls for
    in month t is the change ``fleet_needed[t] - fleet_needed[t-1]`` (what a cloud
    that knew demand and waited for nothing would order); ``orders[t-1]`` are the GPUs
    actually ordered in month t = 1..T. When demand has a known trend ``trend[t]``
    (same length as ``fleet_needed``), both flows are divided by it first, so that
    the ratio compares stationary series. A ratio above 1 is the bullwhip.
    """
    orders = np.asarray(orders, dtype=float)
    called_for = np.diff(np.asarray(fleet_needed, dtype=float))
    if orders.shape != called_for.shape:
        raise ValueError("orders needs one entry fewer than fleet_needed (months 1..T)")
    if trend is not None:
        scale = np.asarray(trend, dtype=float)[1:]
        orders, called_for = orders / scale, called_for / scale
    return float(orders.var() / called_for.var())
