"""End-user demand: plain functions on arrays, no Mesa.

Two channels, kept apart (H1):

* **Moves along the curve.** Each user has ``tasks`` tasks a month worth at least
  a reference value ``value`` ($ per task). Task values follow a Pareto law with
  tail index equal to the user's price elasticity: it reaches ``value_range`` times
  above the reference and ``floor_ratio`` times below it (the least valuable task a
  model could ever be handed). A task is done when its value covers its cost (price
  per token times tokens per task), so between the floor and the top a user's demand
  has constant price elasticity; below the floor the user is satiated, above the top
  they buy nothing. A better model makes every task more valuable: values scale with
  ``exp(value_per_quality * (quality - reference_quality))``.
* **Shifts of the curve.** New users (Bass), more tasks as better models unlock new
  uses (:func:`capability_shift`) and larger tasks (tokens per task, whose value
  grows with their size: :func:`saturating_growth`). Each multiplies a user's
  demand at every price and leaves the price response unchanged.
"""

from __future__ import annotations

import numpy as np

MTOK = 1e6  # tokens per million tokens


def task_share(cost_per_task, value, elasticity, value_range, floor_ratio=1.0):
    """Tasks worth doing at ``cost_per_task`` ($ per task), per task worth at least the
    reference value ``value``: the Pareto tail ``(cost / value)**-e`` less the truncation
    at ``value_range``; ``floor_ratio**e`` (all tasks, satiation) below the floor
    ``value / floor_ratio``; 0 above the top."""
    e = np.asarray(elasticity, dtype=float)
    x = np.maximum(np.asarray(cost_per_task, dtype=float) / value, 1.0 / floor_ratio)
    tail = value_range ** (-e)
    return np.maximum((x ** (-e) - tail) / (1.0 - tail), 0.0)


def token_demand(
    price_mtok,
    quality_factor,
    tasks,
    tokens_per_task,
    value,
    elasticity,
    value_range,
    floor_ratio=1.0,
):
    """Million tokens a user buys per month at ``price_mtok`` ($ per million tokens)."""
    cost_per_task = price_mtok * tokens_per_task / MTOK
    share = task_share(cost_per_task, value * quality_factor, elasticity, value_range, floor_ratio)
    return tasks * tokens_per_task / MTOK * share


def demand_elasticity(cost_per_task, value, elasticity, value_range, floor_ratio=1.0):
    """A user's own-price elasticity of token demand, ``-dln(demand) / dln(price)``:
    0 when satiated (cost below the floor), ``e x**-e / (x**-e - value_range**-e)``
    (at least e, rising toward the choke price) between floor and top, NaN beyond
    the top (no demand to respond)."""
    e = np.asarray(elasticity, dtype=float)
    x = np.asarray(cost_per_task, dtype=float) / value
    tail_e, top = value_range ** (-e), x ** (-e)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = e * top / (top - tail_e)
    return np.where(x * floor_ratio <= 1.0, 0.0, np.where(x < value_range, inside, np.nan))


def capability_shift(quality, start_quality: float, tasks_per_quality: float):
    """How many more tasks users hand to models once capability reaches ``quality``:
    ``exp(tasks_per_quality * (quality - start_quality))`` (1 at the start)."""
    return np.exp(tasks_per_quality * (np.asarray(quality, dtype=float) - start_quality))


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


def aggregate_curve(
    log_x_grid, tasks, tokens_per_task, value, elasticity, value_range, weight, floor_ratio=1.0
):
    """Total demand (mtok per month) of a group of users at each quality-adjusted
    price ``exp(log_x_grid)`` ($ per mtok); ``weight`` is each user's population weight.

    The law of :func:`token_demand` with one elasticity for the group, summed exactly
    in O((users + grid) log users): with ``c`` a user's log(cost per task / value) at
    x = 1, a user is satiated where ``g + c <= -ln floor_ratio``, buys the Pareto tail
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
    top, bottom = np.log(value_range), -np.log(floor_ratio)
    shift = c.min() if c.size else 0.0  # keeps exp(-e c) at most 1
    tail_weight = full * np.exp(-e * (c - shift))
    cum_full = np.r_[0.0, np.cumsum(full)]
    # sums from the top: the terms fall with c, so a window's sum is a large part minus
    # a smaller one and never loses precision to the satiated users below it
    from_top = np.r_[np.cumsum(tail_weight[::-1])[::-1], 0.0]
    lo = np.searchsorted(c, bottom - g, side="right")  # users with c <= floor - g are satiated
    hi = np.searchsorted(c, top - g, side="right")  # users with c > top - g buy nothing
    satiated = cum_full[lo] * floor_ratio**e
    pareto = np.exp(-e * (g + shift)) * (from_top[lo] - from_top[hi])
    return (satiated + pareto - tail * cum_full[hi]) / (1.0 - tail)


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
