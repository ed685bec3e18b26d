"""Venture capital: a finite pool of AI venture money that answers to realised returns.

Limited partners commit a yearly supply of AI venture capital: a base level at the
2023 scale, times the scenario's climate (``vc.climate_path``), times an index of the
returns investors have seen (their extrapolative expectation of returns against a
normal level, Greenwood & Shleifer 2014; fundraising follows past performance,
Gompers & Lerner 1998), never above a share of all the world's venture capital.
The money waits in one ledger account (``venture_capital``, the pool), funded from
the ``limited_partners`` sector; each month a share ``1 / dry_powder_months`` of
what is not invested goes back to the limited partners (funds' investment periods
run out). Firms ask for rounds; investors pace out ``1 / deployment_months`` of the
pool a month, and when that money chases fewer deals than it could fund, every
round grows with the ratio (money chasing deals, Gompers & Lerner 2000), up to the
cash a firm accepts to hold (its payout reserve, :mod:`abm.agents.firm`). Investors
fund the rounds in order of expected return, none below the hurdle, each round at
most ``max_round_share`` of the pool and together never more than the pool holds.

Plain functions on numbers and arrays (:func:`allocate_rounds`, :func:`offered_rounds`,
:func:`yearly_supply`,
:func:`return_index`) and one small stateful account keeper (:class:`VenturePool`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from abm.config import VCConfig
    from abm.ledger import Ledger

POOL, LPS = "venture_capital", "limited_partners"
# a guard, not a calibration: a realised return beyond +-300% a year in logs (20x) is noise
MAX_REALISED = 3.0


def yearly_supply(base: float, climate: float, index: float, ceiling: float) -> float:
    """$ per year limited partners commit: base x climate x return index, at most ``ceiling``."""
    return min(base * climate * index, ceiling)


def return_index(expected: float, normal: float, elasticity: float) -> float:
    """How much more (or less) limited partners commit when the returns they expect
    (log revenue growth per year) stand above (below) the normal level."""
    return math.exp(elasticity * (expected - normal))


def allocate_rounds(
    asks: np.ndarray, scores: np.ndarray, available: float, hurdle: float, max_share: float
) -> np.ndarray:
    """Rounds ($) for each ask: investors fund the asks in order of expected return
    (``scores``, best first), none scoring below ``hurdle``, each at most ``max_share``
    of ``available`` and all together at most ``available``. Ties keep the input order."""
    asks = np.maximum(np.asarray(asks, dtype=float), 0.0)
    scores = np.asarray(scores, dtype=float)
    out = np.zeros_like(asks)
    if asks.size == 0 or available <= 0:
        return out
    wanted = np.where(scores >= hurdle, np.minimum(asks, max_share * available), 0.0)
    order = np.argsort(-scores, kind="stable")
    filled = np.cumsum(wanted[order])
    before = np.concatenate(([0.0], filled[:-1]))  # (np.r_ costs more)
    out[order] = np.clip(available - before, 0.0, wanted[order])
    return out


# -- issue 11b: vcdeploy
def offered_rounds(
    asks: np.ndarray, limits: np.ndarray, deploy: float, elasticity: float
) -> np.ndarray:
    """Rounds ($) investors offer for ``asks`` when they aim to place ``deploy`` $ this
    month: each ask times ``(deploy / sum of asks) ** elasticity`` while the money
    exceeds the asks (never less than the ask), at most the firm's ``limits`` (the
    cash it accepts; a limit below the ask does not cut the ask)."""
    asks = np.maximum(np.asarray(asks, dtype=float), 0.0)
    total = float(asks.sum())
    if total <= 0 or deploy <= total:
        return asks
    # in logs, bounded: a firm takes at most its limit, so a factor beyond e^300 is moot;
    # a ratio beyond the float range (asks of a few 1e-309 $) is taken as a difference of
    # logs, so that an elasticity of 0 still leaves the asks as they are (0 x inf is NaN)
    ratio = deploy / total
    log_ratio = math.log(ratio) if math.isfinite(ratio) else math.log(deploy) - math.log(total)
    upsized = asks * math.exp(min(elasticity * log_ratio, 300.0))
    return np.minimum(upsized, np.maximum(np.asarray(limits, dtype=float), asks))


def growth_score(revenue: np.ndarray, previous: np.ndarray, expected: np.ndarray, weight: float):
    """Investors' extrapolated revenue growth of each firm (log per year): an
    exponentially weighted average of its monthly log growth, x 12. A firm without
    revenue last month keeps its old expectation."""
    revenue, previous = np.asarray(revenue, dtype=float), np.asarray(previous, dtype=float)
    ok = (revenue > 0) & (previous > 0)
    g = np.where(ok, 12.0 * np.log(np.where(ok, revenue, 1.0) / np.where(ok, previous, 1.0)), 0.0)
    return np.where(ok, (1.0 - weight) * expected + weight * g, expected)


class VenturePool:
    """The AI venture pool: its inflow, dry powder and the returns investors expect."""

    def __init__(self, ledger: Ledger, cfg: VCConfig) -> None:
        self.ledger, self.cfg = ledger, cfg
        if LPS not in ledger:
            ledger.open(LPS)
        self.expected_return = cfg.normal_return  # log revenue growth per year investors expect
        self.supply = 0.0  # $ per month committed this month
        self.returned = 0.0  # $ per month of dry powder handed back this month
        self._revenue = 0.0  # funded firms' revenue last month, $ per month

    @property
    def balance(self) -> float:
        """$ waiting in the pool."""
        return self.ledger.balance(POOL)

    @property
    def index(self) -> float:
        c = self.cfg
        return return_index(self.expected_return, c.normal_return, c.return_elasticity)

    def supply_per_year(self, climate: float) -> float:
        c = self.cfg
        return yearly_supply(
            c.supply_per_year, climate, self.index, c.max_ai_share * c.global_venture_per_year
        )

    @property
    def deployment(self) -> float:
        """$ investors aim to place this month: the pool over its deployment horizon."""
        return max(self.balance, 0.0) / self.cfg.deployment_months

    def endow(self, climate: float) -> None:
        """Dry powder at the start: the steady state of this supply when investors place
        it at their pace and release lapsed commitments."""
        c = self.cfg
        amount = (
            self.supply_per_year(climate)
            / 12.0
            / (1.0 / c.deployment_months + 1.0 / c.dry_powder_months)
        )
        self.ledger.transfer(LPS, POOL, amount, "vc_commitments")

    def take_in(self, climate: float) -> float:
        """This month's commitments, paid in by the limited partners."""
        self.supply = self.supply_per_year(climate) / 12.0
        return self.ledger.transfer(LPS, POOL, self.supply, "vc_commitments")

    def allocate(self, asks: np.ndarray, scores: np.ndarray, limits: np.ndarray) -> np.ndarray:
        """Rounds for the asks out of what the pool holds now: the asks of firms above
        the hurdle, upsized while this month's deployment chases them
        (:func:`offered_rounds`, up to ``limits``, $), funded by :func:`allocate_rounds`."""
        c = self.cfg
        asks = np.maximum(np.asarray(asks, dtype=float), 0.0)
        scores = np.asarray(scores, dtype=float)
        eligible = scores >= c.hurdle_growth
        asks[eligible] = offered_rounds(
            asks[eligible], limits[eligible], self.deployment, c.round_elasticity
        )
        return allocate_rounds(asks, scores, self.balance, c.hurdle_growth, c.max_round_share)

    def close_month(self, revenue: float, acquired: int, shut: int, alive: int) -> None:
        """Return stale dry powder; update expectations from the funded firms' revenue
        growth and the net rate of exits (acquisitions less shutdowns), both per year."""
        c = self.cfg
        self.returned = self.ledger.transfer(
            POOL, LPS, max(self.balance, 0.0) / c.dry_powder_months, "vc_dry_powder_returned"
        )
        if self._revenue > 0 and revenue > 0:
            growth = 12.0 * math.log(revenue / self._revenue)
            exits = 12.0 * (acquired - shut) / max(alive, 1)
            realised = min(max(growth + exits, -MAX_REALISED), MAX_REALISED)  # (np.clip, faster)
            w = c.expectation_weight
            self.expected_return = (1.0 - w) * self.expected_return + w * realised
        self._revenue = revenue


FUNDING_KIND = {"model_developer": "vc_labs", "startup": "vc_startups"}


def hold_round(
    pool: VenturePool, firms: Sequence, seeds: int, seed_round: float, seed_limit: float = 0.0
) -> np.ndarray:
    """This month's rounds. Investors update the revenue growth they extrapolate for
    each firm, then fund the firms' asks (``firm.ask``) and ``seeds`` founders' seed
    asks of ``seed_round`` each (scored at the sector's expected return) in order of
    expected return out of the pool, upsized while money chases the deals up to the
    cash each firm accepts (its payout reserve less its cash, :meth:`Firm.cash_reserve`;
    a founder: ``seed_limit``). Firms
    are paid (``firm.raised``); returns the founders' seed rounds."""
    w = pool.cfg.expectation_weight
    revenue = np.array([f.revenue for f in firms])
    previous = np.array([f.last_revenue for f in firms])
    views = growth_score(revenue, previous, np.array([f.investor_growth for f in firms]), w)
    # np.concatenate, not np.r_: the same arrays without np.r_'s parsing of its arguments
    asks = np.concatenate(
        (np.array([f.ask for f in firms], dtype=float), np.full(seeds, seed_round))
    )
    scores = np.concatenate((views, np.full(seeds, pool.expected_return)))
    # the cash a firm accepts matters only if it asks (an upsized ask of 0 is 0)
    limits = np.concatenate((np.zeros(len(firms)), np.full(seeds, seed_limit)))
    asking = [i for i, f in enumerate(firms) if f.ask > 0]
    if asking:
        reserve = np.array([firms[i].cash_reserve() for i in asking])
        cash = pool.ledger.balances([firms[i].unique_id for i in asking])
        limits[asking] = np.maximum(reserve - cash, 0.0)
    rounds = pool.allocate(asks, scores, limits)
    paid = rounds[: len(firms)].tolist()
    for f, r, g, rev in zip(firms, paid, views.tolist(), revenue.tolist(), strict=True):
        f.investor_growth, f.last_revenue, f.raised = g, rev, r
    for layer, kind in FUNDING_KIND.items():
        pick = [i for i, f in enumerate(firms) if f.layer == layer and paid[i] > 0]
        if pick:
            ids = [firms[i].unique_id for i in pick]
            pool.ledger.transfer_many(POOL, ids, rounds[pick], kind)
    return rounds[len(firms) :]
