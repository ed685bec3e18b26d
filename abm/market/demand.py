"""End-user demand: plain functions on arrays, no Mesa.

Each user has a number of tasks per month whose values follow a Pareto law above
the user's least valuable task ``value`` ($), with tail index equal to the user's
price elasticity and truncated at ``value * value_range``. A task is done when its
value covers its cost (price per token times tokens per task). So, above the kink,
a user's demand has constant price elasticity (the textbook case), below it the
user is satiated, and a choke price exists even for inelastic users.

A better model makes every task more valuable: values scale with
``exp(value_per_quality * (quality - reference_quality))``.
"""

from __future__ import annotations

import numpy as np

MTOK = 1e6  # tokens per million tokens


def task_share(cost_per_task, value, elasticity, value_range):
    """Share of a user's tasks worth doing at ``cost_per_task`` ($ per task)."""
    x = np.maximum(np.asarray(cost_per_task, dtype=float), 1e-300) / value
    tail = value_range ** (-np.asarray(elasticity, dtype=float))
    share = (x ** (-np.asarray(elasticity, dtype=float)) - tail) / (1.0 - tail)
    return np.clip(np.where(x <= 1.0, 1.0, share), 0.0, 1.0)


def token_demand(
    price_mtok, quality_factor, tasks, tokens_per_task, value, elasticity, value_range
):
    """Million tokens a user buys per month at ``price_mtok`` ($ per million tokens)."""
    cost_per_task = price_mtok * tokens_per_task / MTOK
    share = task_share(cost_per_task, value * quality_factor, elasticity, value_range)
    return tasks * tokens_per_task / MTOK * share


def saturating_growth(months: float, growth_per_year: float, ceiling: float) -> float:
    """A multiplier that starts growing at ``growth_per_year`` and levels off at ``ceiling``.

    ``exp(L (1 - exp(-g t / L)))`` with ``L = ln ceiling`` and ``g = ln growth``: its
    log grows at rate g at first and approaches L.
    """
    g = np.log(growth_per_year) / 12.0
    top = np.log(ceiling)
    if top <= 0 or g <= 0:
        return 1.0
    return float(np.exp(top * (1.0 - np.exp(-g * months / top))))


def choice_utility(quality, price, quality_sensitivity: float, price_sensitivity: float):
    """Logit utility of a model to a buyer: ``quality_sensitivity * quality -
    price_sensitivity * ln(price)``. One formula for every choice among models:
    users choosing a provider, founders choosing a supplier, startups reviewing theirs."""
    return quality_sensitivity * np.asarray(quality, dtype=float) - price_sensitivity * np.log(
        np.asarray(price, dtype=float)
    )


def softmax(util: np.ndarray, axis: int = -1) -> np.ndarray:
    """Logit choice probabilities from utilities."""
    z = util - util.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def bass_hazard(p: float, q: float, adopted_share, dt_years: float):
    """Probability that a non-adopter adopts within ``dt_years`` (Bass 1969, p and q per year)."""
    return 1.0 - np.exp(-(p + q * np.asarray(adopted_share, dtype=float)) * dt_years)


def bass_curve(p: float, q: float, t_years, initial_share: float = 0.0):
    """Closed-form Bass adoption share F(t), starting from ``initial_share`` at t=0."""
    t = np.asarray(t_years, dtype=float)
    s = p + q
    if initial_share <= 0:
        return (1 - np.exp(-s * t)) / (1 + (q / p) * np.exp(-s * t))
    # shift time so that F(t0) = initial_share
    f0 = initial_share
    t0 = np.log((1 + (q / p) * f0) / (1 - f0)) / s
    tt = t + t0
    return (1 - np.exp(-s * tt)) / (1 + (q / p) * np.exp(-s * tt))


def aggregate_curve(log_x_grid, tasks, tokens_per_task, value, elasticity, value_range, weight):
    """Total demand (mtok per month) of a group of users at each quality-adjusted
    price ``exp(log_x_grid)`` ($ per mtok); ``weight`` is each user's population weight.

    The law of :func:`token_demand` with one elasticity for the group, summed exactly
    in O((users + grid) log users): with ``c`` a user's log(cost per task / value) at
    x = 1, a user is satiated where ``g + c <= 0``, buys the Pareto tail
    ``exp(-e (g + c))`` (less the truncation) up to ``g + c = ln value_range``, and
    nothing beyond; the tail factorises as ``exp(-e g) * exp(-e c)``, so sorted
    prefix sums give every grid point at once.
    """
    g = np.asarray(log_x_grid, dtype=float)
    c = np.log(tokens_per_task / MTOK / value)
    full = weight * tasks * tokens_per_task / MTOK
    order = np.argsort(c)
    c, full = c[order], full[order]
    e = float(elasticity)
    tail = value_range ** (-e)
    top = np.log(value_range)
    shift = c.min() if c.size else 0.0  # keeps exp(-e c) at most 1
    tail_weight = full * np.exp(-e * (c - shift))
    cum_full = np.r_[0.0, np.cumsum(full)]
    # sums from the top: the terms fall with c, so a window's sum is a large part minus
    # a smaller one and never loses precision to the satiated users below it
    from_top = np.r_[np.cumsum(tail_weight[::-1])[::-1], 0.0]
    lo = np.searchsorted(c, -g, side="right")  # users with c <= -g are satiated
    hi = np.searchsorted(c, top - g, side="right")  # users with c > top - g buy nothing
    satiated = cum_full[lo]
    pareto = np.exp(-e * (g + shift)) * (from_top[lo] - from_top[hi])
    return satiated + (pareto - tail * (cum_full[hi] - cum_full[lo])) / (1.0 - tail)


def expected_sales(choice_prob, curves, log_x_grid, col_x, membership, ratios, price_sensitivity):
    """Quantity each price setter expects to sell at each candidate price ratio.

    ``choice_prob[s, k]``: probability that a user of segment s picks column k
    (a provider) at today's prices; ``curves[s, :]``: the segment's total demand on the
    log-price grid ``log_x_grid`` if all its users bought at that quality-adjusted
    price; ``col_x[k]``: column k's quality-adjusted price today; ``membership``: a
    (firms x columns) 0/1 matrix (dense or scipy.sparse) saying whose price moves
    which columns (a lab's price moves its own column and its resellers'); ``ratios``:
    candidate price ratios; ``price_sensitivity``: the logit weight on log price.

    Returns ``quantity[f, c]``: the long-run expected sales of firm f if it alone set
    ``ratios[c]`` times its price -- logit shares re-normalised, then each segment's
    demand curve at the moved price.
    """
    ratios = np.asarray(ratios, dtype=float)
    log_r = np.log(ratios)
    n_firms = membership.shape[0]
    out = np.zeros((n_firms, ratios.size))
    damp = ratios ** (-price_sensitivity)  # how a price move scales a column's logit weight
    log_x = np.log(np.maximum(col_x, 1e-300))
    for s in range(choice_prob.shape[0]):
        p = choice_prob[s]
        # demand of every column at every candidate ratio, from the segment curve
        lx = log_x[:, None] + log_r[None, :]
        q = np.exp(np.interp(lx, log_x_grid, np.log(curves[s] + 1e-300)))
        q[q < 1e-200] = 0.0
        moved_share = membership @ p  # share of the firm's columns today
        num = membership @ (p[:, None] * q)  # firms x candidates
        denom = 1.0 - moved_share[:, None] + moved_share[:, None] * damp[None, :]
        out += num * damp[None, :] / denom
    return out
