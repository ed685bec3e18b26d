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

import math

import numpy as np

MTOK = 1e6  # tokens per million tokens
_RTOL = 4 * float(np.finfo(float).eps)  # relative accuracy of the budget roots


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
    budget=np.inf,
):
    """Million tokens a user buys per month at ``price_mtok`` ($ per million tokens):
    the tasks worth their cost, but never more than ``budget`` ($ per month) buys."""
    cost_per_task = price_mtok * tokens_per_task / MTOK
    share = task_share(cost_per_task, value * quality_factor, elasticity, value_range, floor_ratio)
    return np.minimum(tasks * tokens_per_task / MTOK * share, budget / price_mtok)


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


def share_of_income_for_ai(start_share: float, tasks_unlocked: float) -> float:
    """The most of their income users would spend on AI: ``start_share`` at the start,
    its odds multiplied by ``tasks_unlocked`` (the capability shift), so it rises with
    the work models can do and approaches 1 but never exceeds it."""
    odds = start_share / (1.0 - start_share) * tasks_unlocked if start_share < 1.0 else np.inf
    return float(1.0 if np.isinf(odds) else odds / (1.0 + odds))


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


# -- issue 11, nested choice: capability classes
def nested_choice(util, nest, nest_utility, dissimilarity: float):
    """Nested logit choice probabilities (McFadden 1978; Ben-Akiva 1973): columns
    grouped into nests (capability classes), close substitutes within a nest and poor
    ones across nests.

    ``util[..., j]``: column j's utility (rows: one per buyer group, or a vector);
    ``nest[j]``: its nest (0..K-1); ``nest_utility[k]``: nest k's own utility (the
    class term, the same for all its columns); ``dissimilarity`` lambda in (0, 1]:
    within a nest a column is chosen by a logit on ``util / lambda``, and a nest by a
    logit on ``nest_utility + lambda * IV`` with ``IV = ln sum_j exp(util_j / lambda)``
    its inclusive value. lambda = 1 with equal nest utilities is the plain logit
    (:func:`softmax`); a column of utility -inf is never chosen, an empty nest never.
    Equivalent to a random taste for each nest shared by its columns (Cardell 1997;
    Berry 1994: sigma = 1 - lambda)."""
    util = np.asarray(util, dtype=float)
    nest = np.asarray(nest, dtype=np.intp)
    nest_utility = np.asarray(nest_utility, dtype=float)
    n_nests = nest_utility.size
    member = nest[None, :] == np.arange(n_nests)[:, None]  # nests x columns
    z = util / dissimilarity
    # each nest's largest scaled utility, for stable exponentials (-inf: empty)
    top = np.where(member, z[..., None, :], -np.inf).max(axis=-1)
    top_safe = np.where(np.isfinite(top), top, 0.0)
    w = np.exp(z - top_safe[..., nest])  # within-nest weights, scaled by the nest's top
    sums = w @ member.T.astype(float)  # each nest's sum of weights
    with np.errstate(divide="ignore"):
        inclusive = top_safe + np.log(sums)  # -inf for a nest no one can choose
    nest_prob = softmax(nest_utility + dissimilarity * inclusive)
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(sums[..., nest] > 0, w / sums[..., nest], 0.0)
    return nest_prob[..., nest] * within


def class_utility(quality, nest, n_nests: int, weight: float) -> np.ndarray:
    """Each nest's class term: ``weight`` times the mean quality of its models
    (``quality[j]``, one entry per model; 0 for an empty nest)."""
    quality = np.asarray(quality, dtype=float)
    count = np.bincount(nest, minlength=n_nests).astype(float)
    total = np.bincount(nest, weights=quality, minlength=n_nests)
    return weight * np.divide(total, count, out=np.zeros(n_nests), where=count > 0)


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


# -- issue 11: budgets
def spend_ratio(log_cost_ratio, elasticity, value_range, floor_ratio=1.0):
    """A user's spend over the reference value of their tasks, ``x * share(x)`` with
    ``x = exp(log_cost_ratio)`` the cost per task over the reference value: rises with
    ``x`` while satiated, falls (e > 1) or rises then falls (e < 1) on the Pareto tail,
    and is 0 beyond the top. One peak, at :func:`spend_peak`."""
    y = np.asarray(log_cost_ratio, dtype=float)
    return np.exp(y) * task_share(np.exp(y), 1.0, elasticity, value_range, floor_ratio)


def spend_peak(elasticity: float, value_range: float, floor_ratio: float = 1.0) -> float:
    """The log cost ratio where :func:`spend_ratio` peaks: the value floor when e >= 1,
    else ``max(floor, ln R + ln(1 - e) / e)`` (where ``(1 - e) x**-e = R**-e``)."""
    e = float(elasticity)
    inner = math.log(value_range) + math.log(1.0 - e) / e if e < 1.0 else -math.inf
    return max(-math.log(floor_ratio), inner)


def _budget_root(
    kappa: float, e: float, tail: float, xa: float, xb: float, fa: float, fb: float
) -> float:
    """The log cost ratio in [xa, xb] where a user's spend ratio on the Pareto tail,
    ``e^y (e^(-e y) - tail) / (1 - tail)``, equals the budget ``kappa``; ``fa``, ``fb``:
    that spend less kappa at the ends (of opposite signs). Brent's method (Brent
    1973) with the steps and tolerances SciPy's ``brentq`` takes (xtol 1e-14, rtol
    4 eps), so it returns SciPy's float to the last bit (a test checks it), with the
    function written inline: a Python call per evaluation, and
    ``scipy.optimize.brentq``'s per-call checks, cost more than the root itself."""
    exp, isnan, xtol, rtol = math.exp, math.isnan, 1e-14, _RTOL
    neg_e, spread = -e, 1.0 - tail  # the equation's constants, once: the same floats
    xpre, xcur, fpre, fcur = xa, xb, fa, fb
    xblk = fblk = spre = scur = 0.0
    if math.isnan(fpre) or math.isnan(fcur):
        raise ValueError("brentq: the function is NaN at an end of the bracket")
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    if (fpre < 0.0) == (fcur < 0.0):  # both non-zero and not NaN: the signs agree
        raise ValueError("f(a) and f(b) must have different signs")
    for _ in range(100):
        if fpre != 0.0 and fcur != 0.0 and (fpre < 0.0) != (fcur < 0.0):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        abs_sbis, abs_spre = abs(sbis), abs(spre)  # each read twice below
        if fcur == 0.0 or abs_sbis < delta:
            return xcur
        if abs_spre > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs_spre, 3.0 * abs_sbis - delta):  # good short step
                spre, scur = scur, stry
            else:  # bisect
                spre = scur = sbis
        else:  # bisect
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        if abs(scur) > delta:
            xcur += scur
        else:
            xcur += delta if sbis > 0.0 else -delta
        fcur = exp(xcur) * (exp(neg_e * xcur) - tail) / spread - kappa
        if isnan(fcur):  # as SciPy's wrapper does
            raise ValueError(f"brentq: the function is NaN at {xcur!r}")
    raise RuntimeError("brentq: no convergence in 100 iterations")


def budget_interval(budget_per_value, elasticity, value_range, floor_ratio=1.0):
    """The log cost ratios ``(lo, hi)`` between which a user's budget binds, for a budget
    of ``budget_per_value`` times the reference value of their tasks (array or scalar).

    The budget binds where :func:`spend_ratio` exceeds it: an interval around the peak,
    because the spend ratio has one peak. Where it never binds, ``lo = hi`` = the peak.
    Each edge is a scalar root (:func:`_budget_root`); the spend ratio at the floor, the
    peak and the top does not depend on the budget and is computed once."""
    kappa = np.asarray(budget_per_value, dtype=float)
    e = float(elasticity)
    floor, top = -math.log(floor_ratio), math.log(value_range)
    peak = spend_peak(e, value_range, floor_ratio)
    tail = value_range ** (-e)
    exp, log = math.exp, math.log
    at_peak, at_floor, at_top = (exp(y) * (exp(-e * y) - tail) / (1.0 - tail) for y in (peak, floor, top))  # fmt: skip
    edges = []
    for k in kappa.ravel().tolist():
        if not at_peak - k > 0.0:
            edges.append((peak, peak))
            continue
        if k < (at_floor - k) + k:  # satiated users spend share(floor) * e^y: a closed form
            lo = floor + log(k / ((at_floor - k) + k))
        else:  # the rising part of the tail (e < 1)
            lo = _budget_root(k, e, tail, floor, peak, at_floor - k, at_peak - k)
        hi = _budget_root(k, e, tail, peak, top, at_peak - k, at_top - k)
        edges.append((lo, hi))
    edges = np.array(edges).reshape(*kappa.shape, 2)
    return edges[..., 0], edges[..., 1]


def _prefix_sums(x: np.ndarray) -> np.ndarray:
    """``[0, x0, x0 + x1, ...]``: the running sums, written in place after a 0."""
    out = np.empty(x.size + 1)
    out[0] = 0.0
    x.cumsum(out=out[1:])  # (the method: np.cumsum only dispatches to it)
    return out


def _suffix_sums(x: np.ndarray) -> np.ndarray:
    """``[sum(x[0:]), sum(x[1:]), ..., x[-1], 0]``: running sums from the end, each
    added in the order last to first, written in place before a 0."""
    out = np.empty(x.size + 1)
    out[-1] = 0.0
    x[::-1].cumsum(out=out[-2::-1] if x.size else out[:0])
    return out


def decay_terms(c, e: float, shift: float) -> tuple:
    """``exp(-a (c - shift))`` for a = ``e`` and 1: how each user's Pareto-tail and
    budget-bound demand fall with their log cost ratio ``c`` in :func:`aggregate_curve`,
    relative to ``shift``, the least ``c`` of the group (so at most 1)."""
    above = c - shift
    return tuple(np.exp(-a * above if a != 1.0 else -above) for a in (e, 1.0))


def aggregate_curve(
    log_x_grid,
    tasks,
    tokens_per_task,
    value,
    elasticity,
    value_range,
    weight,
    floor_ratio=1.0,
    budget_per_value=np.inf,
    log_cost_ratio=None,
    decay=None,
):
    """Total demand (mtok per month) of a group of users at each quality-adjusted
    price ``exp(log_x_grid)`` ($ per mtok); ``weight`` is each user's population weight
    (or one for all). ``log_cost_ratio``, if given, is ``log(tokens_per_task / MTOK /
    value)`` of each user, computed once by the caller, and ``decay``, if given,
    :func:`decay_terms` of the users at the least of their log cost ratios: the
    caller's, which change only when that least ratio does.

    The law of :func:`token_demand` with one elasticity for the group, each user's budget
    ``budget_per_value * tasks * value`` (quality-adjusted $ per month), summed exactly
    in O((users + grid) log users): with ``c`` a user's log(cost per task / value) at
    x = 1 and ``y = g + c``, a user is satiated where ``y <= -ln floor_ratio``, buys the
    Pareto tail ``exp(-e y)`` (less the truncation) up to ``y = ln value_range``, nothing
    beyond, and ``budget / price`` where ``y`` lies in :func:`budget_interval`. Each
    term factorises as ``exp(-a g) * exp(-a c)`` (a = 0, e or 1), so sorted prefix sums
    give every grid point at once. ``budget_per_value`` may be an array (one curve per
    budget, rows of the result).
    """
    g = np.asarray(log_x_grid, dtype=float)
    c = np.log(tokens_per_task / MTOK / value) if log_cost_ratio is None else log_cost_ratio
    full = weight * tasks * tokens_per_task / MTOK
    if c.size > 1 and not (c[1:] > c[:-1]).all():  # a sorted panel (no ties) keeps its order
        order = np.argsort(c)
        c, full = c[order], full[order]
        decay = None if decay is None else tuple(d[order] for d in decay)
    e = float(elasticity)
    tail = value_range ** (-e)
    shift = c[0] if c.size else 0.0  # the least (c is sorted): keeps exp(-a c) at most 1
    cum_full = _prefix_sums(full)
    # sums from the top: the terms fall with c, so a window's sum is a large part minus
    # a smaller one and never loses precision to the satiated users below it
    if decay is None:
        decay = decay_terms(c, e, shift)
    from_top = {a: _suffix_sums(full * d) for a, d in zip((e, 1.0), decay, strict=True)}
    kappa = np.asarray(budget_per_value, dtype=float)
    lo, hi = (b[..., None] for b in budget_interval(kappa, e, value_range, floor_ratio))
    at = lambda y: c.searchsorted(y - g, side="right")  # noqa: E731 (users at or below y)
    i_floor, i_top = at(-np.log(floor_ratio)), at(np.log(value_range))
    i_lo, i_hi = at(lo), at(hi)

    top_e, scale_e = from_top[e], np.exp(-e * (g + shift))

    def pareto(i, j):  # users i..j-1 on the tail
        return scale_e * (top_e[i] - top_e[j]) - tail * (cum_full[j] - cum_full[i])

    satiated = cum_full[np.minimum(i_floor, i_lo)] * (floor_ratio**e - tail)
    tail_users = pareto(i_floor, np.maximum(i_floor, np.minimum(i_lo, i_top))) + pareto(
        np.maximum(i_hi, i_floor), i_top
    )
    bound = np.exp(-(g + shift)) * (from_top[1.0][i_lo] - from_top[1.0][i_hi])
    kappa_ = np.where(np.isfinite(kappa), kappa, 0.0)[..., None]
    out = (satiated + tail_users) / (1.0 - tail) + kappa_ * bound
    return out


def _interp_plan(x, grid, rows):
    """For ``np.interp(x[k], grid, values[rows[k]])`` of every row k of ``x`` at once
    (ends held flat), the part that does not depend on ``values``: each point's flat
    index into ``values`` and its weight, to reuse for several ``values`` (:func:`_interp_at`)."""
    i = np.minimum(np.maximum(grid.searchsorted(x), 1), grid.size - 1)  # (np.clip's overhead)
    t = np.minimum(np.maximum((x - grid[i - 1]) / (grid[i] - grid[i - 1]), 0.0), 1.0)
    at = i + grid.size * rows[:, None]  # flat index of each point in its row of values
    return at - 1, at, t


def _interp_at(plan, values):
    """``np.interp(x[k], grid, values[rows[k]])`` for every row k, from a :func:`_interp_plan`."""
    before, at, t = plan
    flat = values.reshape(-1)
    left, right = flat[before], flat[at]
    return left + t * (right - left)


def _log_demand(q):
    """The log of demand, finite where demand is 0 (interpolated in logs)."""
    return np.log(q + 1e-300)


class OwnAndSupplier:
    """The ``membership`` of :func:`expected_sales` when firm k moves column k and a
    column may also be moved by one other firm listed before it (a reseller's column by
    its supplier lab): ``supplier[c]`` is that firm, -1 for none.

    ``membership @ x`` gives what the equivalent 0/1 ``scipy.sparse.csr_matrix`` gives,
    to the last bit: each row summed from 0 in the order of its columns (its own first,
    then the columns it supplies). It saves building a sparse matrix every month."""

    def __init__(self, supplier) -> None:
        supplier = np.asarray(supplier, dtype=np.intp)
        self.shape = (supplier.size, supplier.size)
        self._cols = np.nonzero(supplier >= 0)[0]  # supplied columns, in column order
        self._rows = supplier[self._cols]
        if np.any(self._rows >= self._cols):
            raise ValueError("a column's supplier must come before it")
        self._bins: dict[int, np.ndarray] = {}  # flat output index of each term, by width

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        # one bincount adds each term into its row in input order, from 0: each firm's own
        # column first, then the columns it supplies in column order, as the sparse product
        x = np.asarray(x, dtype=float)
        width = x.shape[1] if x.ndim > 1 else 1
        bins = self._bins.get(width)
        if bins is None:
            own = np.arange(self.shape[0] * width)
            supplied = (self._rows[:, None] * width + np.arange(width)).reshape(-1)
            bins = self._bins[width] = np.concatenate((own, supplied))
        terms = np.concatenate((x.reshape(-1), x[self._cols].reshape(-1)))
        return np.bincount(bins, weights=terms, minlength=x.size).reshape(x.shape)


def expected_sales(
    choice_prob,
    curves,
    log_x_grid,
    col_x,
    membership,
    ratios,
    price_sensitivity,
    curve_of=None,
    nest=None,
    dissimilarity: float = 1.0,
):
    """Quantity each price setter expects to sell at each candidate price ratio.

    ``choice_prob[s, k]``: probability that a user of segment s picks column k
    (a provider) at today's prices; ``curves[s, :]`` or, when demand also depends on
    the column's quality (budgets), ``curves[s, k, :]``: the segment's total demand on
    the log-price grid ``log_x_grid`` if all its users bought at that quality-adjusted
    price (``curve_of``, if given: column k reads ``curves[s, curve_of[k], :]``, one
    curve for the columns that share a quality factor); ``col_x[k]``: column k's
    quality-adjusted price today; ``membership``: a
    (firms x columns) 0/1 matrix (dense or scipy.sparse) saying whose price moves
    which columns (a lab's price moves its own column and its resellers'); ``ratios``:
    candidate price ratios; ``price_sensitivity``: the logit weight on log price.

    Returns ``quantity[f, c]``: the long-run expected sales of firm f if it alone set
    ``ratios[c]`` times its price -- logit shares re-normalised, then each segment's
    demand curve at the moved price.

    With ``nest`` (the nest of each column; firm f's own column is column f, and the
    columns a firm moves are all in its nest) the shares are those of the nested
    logit of :func:`nested_choice` with dissimilarity ``dissimilarity`` (lambda): a
    price ratio r scales the moved columns' within-nest weight by ``d = r**(-price_
    sensitivity / lambda)``, so the firm's nest's weight sum by ``g = 1 - m + m d``
    (m: the moved columns' share of their nest), the nest's logit weight by
    ``g**lambda`` and a moved column's share by ``d g**(lambda - 1) / (1 - P_k + P_k
    g**lambda)`` (P_k: the nest's share). lambda = 1 gives the plain logit's
    re-normalisation; ``nest=None`` computes it as the plain logit always has.
    """
    ratios = np.asarray(ratios, dtype=float)
    log_r = np.log(ratios)
    n_firms = membership.shape[0]
    out = np.zeros((n_firms, ratios.size))
    nested = nest is not None
    # how a price move scales a column's (within-nest) logit weight
    damp = ratios ** (-price_sensitivity / dissimilarity if nested else -price_sensitivity)
    if nested:
        nest = np.asarray(nest, dtype=np.intp)
        member = (nest[None, :] == np.arange(int(nest.max()) + 1)[:, None]).astype(float)
    log_x = np.log(np.maximum(col_x, 1e-300))
    lx = log_x[:, None] + log_r[None, :]
    if curves.ndim == 2:  # one curve for every column
        curves, curve_of = curves[:, None, :], np.zeros(log_x.size, dtype=np.intp)
    elif curve_of is None:
        curve_of = np.arange(log_x.size)
    # the same points on the same grid for every segment
    plan = _interp_plan(lx, log_x_grid, np.asarray(curve_of))
    log_curves = _log_demand(curves)  # interpolated in logs: each point of a curve once
    for s in range(choice_prob.shape[0]):
        p = choice_prob[s]
        # demand of every column at every candidate ratio, from the segment's curves
        q = np.exp(_interp_at(plan, log_curves[s]))
        q[q < 1e-200] = 0.0
        moved_share = membership @ p  # share of the firm's columns today
        num = membership @ (p[:, None] * q)  # firms x candidates
        if nested:
            nest_share = (member @ p)[nest[:n_firms]][:, None]  # each firm's nest's share
            m = np.divide(
                moved_share[:, None], nest_share, out=np.zeros_like(nest_share),
                where=nest_share > 0,
            )  # fmt: skip
            g = 1.0 - m + m * damp[None, :]
            factor = damp[None, :] * g ** (dissimilarity - 1.0)
            out += num * factor / (1.0 - nest_share + nest_share * g**dissimilarity)
            continue
        denom = 1.0 - moved_share[:, None] + moved_share[:, None] * damp[None, :]
        out += num * damp[None, :] / denom
    return out
