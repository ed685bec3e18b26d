"""Price setting: plain functions, no Mesa.

Two mechanisms, each used by every agent that sets prices that way:

* :func:`adjust_to_excess_demand` -- tatonnement. A posted price moves in
  proportion to excess demand (backlog against capacity for the GPU vendor,
  utilisation against its target for the clouds), capped per step, with a floor.
* :func:`best_response` -- profit seeking. A firm that can estimate how much it
  would sell at other prices (market research on its own customers) evaluates its
  profit on a grid of candidate prices around today's, refines the best one, and
  moves part of the way there. Applied by every price setter at once, this is a
  best-response dynamic whose rest point is the Nash equilibrium of the pricing
  game; markups are not assumed, they come out of the demand each firm faces.
"""

from __future__ import annotations

import numpy as np


def adjust_to_excess_demand(
    price: np.ndarray | float,
    excess: np.ndarray | float,
    speed: float,
    max_change: float,
    floor: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Move a price by ``exp(speed * excess)``, at most ``max_change`` per step, not below ``floor``.

    ``excess`` is dimensionless (0 means balanced, positive means demand exceeds
    its target). The step is multiplicative so the price can never cross zero.
    """
    limit = np.log1p(max_change)
    step = np.minimum(np.maximum(speed * np.asarray(excess, dtype=float), -limit), limit)
    return np.maximum(np.asarray(price, dtype=float) * np.exp(step), floor)


def candidate_ratios(width: float, n: int) -> np.ndarray:
    """Log-spaced price ratios ``exp(-width) .. exp(width)`` around today's price (1 included)."""
    if n % 2 == 0:
        n += 1
    return np.exp(np.linspace(-width, width, n))


def best_ratio(ratios: np.ndarray, profit: np.ndarray) -> np.ndarray:
    """For each firm (row of ``profit``), the profit-maximising price ratio.

    ``profit[g, c]`` is firm g's expected profit at ``ratios[c]`` times its price.
    The best grid point is refined by a parabola through it and its neighbours in
    log-price, so the answer is not tied to the grid spacing.
    """
    profit = np.atleast_2d(profit)
    n_firms, n = profit.shape
    log_r = np.log(ratios)
    best = profit.argmax(axis=1)
    out = log_r[best].copy()
    inner = (best > 0) & (best < n - 1)
    if inner.any():
        rows = inner.nonzero()[0]
        b = best[rows]
        y0, y1, y2 = profit[rows, b - 1], profit[rows, b], profit[rows, b + 1]
        h = log_r[1] - log_r[0]
        curvature = y0 - 2.0 * y1 + y2
        ok = curvature < 0
        shift = np.zeros_like(y1)
        shift[ok] = 0.5 * h * (y0[ok] - y2[ok]) / curvature[ok]
        out[rows] += np.minimum(np.maximum(shift, -h), h)
    return np.exp(out)


def best_response(
    price: np.ndarray,
    unit_cost: np.ndarray,
    ratios: np.ndarray,
    quantity: np.ndarray,
    adjustment: float,
    floor: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Next posted prices of profit-seeking firms.

    ``quantity[g, c]`` is the quantity firm g expects to sell at ``price[g] *
    ratios[c]``; profit is ``(p - unit_cost) * quantity``. Each firm moves a share
    ``adjustment`` of the way (in log price) to its profit-maximising price, never
    below ``floor``. Firms that expect to sell nothing keep their price.
    """
    price = np.asarray(price, dtype=float)
    candidates = price[:, None] * ratios[None, :]
    profit = (candidates - np.asarray(unit_cost, dtype=float)[:, None]) * quantity
    target = price * best_ratio(ratios, profit)
    sells = quantity.max(axis=1) > 0
    new = np.where(sells, price * (target / price) ** adjustment, price)
    return np.maximum(new, floor)


def monopoly_price(unit_cost: float, elasticity: float) -> float:
    """Textbook monopoly price under constant-elasticity demand (for tests and reports)."""
    if elasticity <= 1:
        raise ValueError("a monopoly price exists only for elasticity > 1")
    return unit_cost * elasticity / (elasticity - 1.0)
