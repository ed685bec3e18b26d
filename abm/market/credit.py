"""Credit: how much a firm may borrow, and what happens when it cannot pay.

Limits
------
Lenders lend against cash flow and, where there is one, against a fleet. With
``E`` the trailing 12-month EBITDA ($ a year), ``r`` the monthly interest rate and
``V`` the resale value of a cloud's GPUs and buildings, a firm's debt capacity is
the tightest of

* leverage: ``D <= k E`` (``credit.max_leverage``);
* interest cover: ``E >= c x 12 r D``, i.e. ``D <= E / (12 c r)`` (``min_interest_cover``);
* collateral, for a firm with a fleet: ``D <= LTV x V`` (``loan_to_value``).

An asset-light firm (a lab, a startup, the vendor) has no collateral test: it
borrows on its cash flow alone, as software firms do. A firm with no positive
EBITDA cannot borrow at all. :func:`debt_capacity` is the rule.

Insolvency and default
----------------------
An obligation is paid in full (``settlement.pay``): a shortfall draws first on the
headroom ``capacity - debt``; what it cannot cover is still paid in -- the supplier
delivered -- but is recorded as ``Firm.over_limit``: the firm could not pay. At the
month end (:func:`close_month`) every firm pays interest, books its EBITDA, and a
firm that went over its limit this month tries to cure: it repays the debt above its
capacity out of its cash, then asks its investors for a rescue round
(``Firm.rescue_round``). If debt still exceeds capacity, it defaults:

* a cloud's GPUs (each vintage with its age), waiting GPUs, energized MW and
  projects under way are sold to rival clouds at a fire-sale discount (Shleifer &
  Vishny 1992), each rival buying in proportion to its fleet up to what its cash and
  credit allow (:func:`fire_sale_shares`); its orders at the vendors are cancelled;
  the labs' compute demand goes to the clouds that remain;
* a lab's or startup's users re-choose among the sellers that remain; a lab's
  resellers move to the lab users value most;
* lenders receive the firm's cash (kind ``recovery``) and write off the rest
  (``Ledger.write_off``); the firm leaves the model; its node stays on the supply
  graph with its history.

A firm whose layer would be left empty (the last cloud or lab, or the GPU vendor,
whose lines no one in the model can buy) is reorganised instead: lenders write its
debt down to its capacity and it carries on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from abm.market.demand import choice_utility
from abm.market.settlement import pay, repay_debt

if TYPE_CHECKING:
    from abm.config import CreditConfig

EBITDA_MONTHS = 12  # trailing window lenders read EBITDA over
TOLERANCE = 1e-9  # relative: debt this close to capacity is within it


# ------------------------------------------------------------------ limits
def debt_capacity(ebitda_12m: float, collateral: float | None, cfg: CreditConfig) -> float:
    """$ a firm may owe: the tightest of leverage, interest cover and (for a firm with a
    fleet, ``collateral`` in $) loan-to-value; never below zero."""
    limit = cfg.max_leverage * ebitda_12m
    annual_rate = 12.0 * cfg.interest_rate_per_month
    if annual_rate > 0:
        limit = min(limit, ebitda_12m / (cfg.min_interest_cover * annual_rate))
    if collateral is not None:
        limit = min(limit, cfg.loan_to_value * collateral)
    return max(limit, 0.0)


# ------------------------------------------------------------------ a cloud's assets
@dataclass
class FleetLot:
    """A cloud's physical assets as they change hands: per-vintage arrays of installed
    GPUs, waiting GPUs and projects (by attribute name), energized MW, and what a MW of
    its region costs to build, labour included ($)."""

    arrays: dict[str, np.ndarray]
    energized_mw: float
    build_cost_per_mw: float
    age_months: np.ndarray = field(default_factory=lambda: np.zeros(0))  # installed vintages


def gpu_values(lot: FleetLot, new_price_per_h100e: float, life_months: float) -> np.ndarray:
    """Resale value ($) of each installed vintage: its H100e at today's new-GPU price,
    less straight-line wear over the GPU life (obsolescence is in the falling new price)."""
    a = lot.arrays
    return _worn_values(a["units"], a["perf"], lot.age_months, new_price_per_h100e, life_months)


def _worn_values(units, perf, age_months, new_price_per_h100e: float, life_months: float):
    """:func:`gpu_values` of the arrays themselves."""
    left = np.minimum(np.maximum(1.0 - age_months / life_months, 0.0), 1.0)  # np.clip, faster
    return units * perf * new_price_per_h100e * left


def lot_value(lot: FleetLot, new_price_per_h100e: float, life_months: float) -> float:
    """Resale value ($) of a lot: installed GPUs, waiting GPUs at the new price,
    energized MW at what a MW costs to build, and projects under way at the work
    already paid for (a buyer takes over their remaining bills)."""
    a = lot.arrays
    return assets_value(
        a["units"], a["perf"], lot.age_months, a["inv_units"], a["inv_perf"],
        lot.energized_mw, a["p_mw"], a["p_cost"], lot.build_cost_per_mw,
        new_price_per_h100e, life_months,
    )  # fmt: skip


def assets_value(
    units: np.ndarray,
    perf: np.ndarray,
    age_months: np.ndarray,
    inv_units: np.ndarray,
    inv_perf: np.ndarray,
    energized_mw: float,
    p_mw: np.ndarray,
    p_cost: np.ndarray,
    build_cost_per_mw: float,
    new_price_per_h100e: float,
    life_months: float,
) -> float:
    """:func:`lot_value` of the arrays themselves, without a :class:`FleetLot` around
    them: a cloud's collateral is valued on its own arrays a few times a month."""
    waiting = float(inv_units @ inv_perf) * new_price_per_h100e
    buildings = energized_mw * build_cost_per_mw
    work_done = float(np.maximum(p_mw * build_cost_per_mw - p_cost, 0.0).sum())
    gpus = float(_worn_values(units, perf, age_months, new_price_per_h100e, life_months).sum())
    return gpus + waiting + buildings + work_done


def new_gpu_price(vendors) -> float:
    """$ per H100e of a new GPU today: the vendors' posted prices, weighted by output."""
    cap = [v.capacity_h100e for v in vendors]
    price = [v.price_per_h100e for v in vendors]
    # a pure function of these numbers, asked each time a cloud's collateral is valued
    # (a few times a month each) while they change at most twice a month: remembered
    key = (*cap, *price)
    if key != _new_gpu_price_memo[0]:
        cap, price = np.array(cap), np.array(price)
        value = float(price @ cap / cap.sum()) if cap.sum() > 0 else float(price.mean())
        _new_gpu_price_memo[:] = [key, value]
    return _new_gpu_price_memo[1]


_new_gpu_price_memo: list = [None, 0.0]  # [(capacities, prices), new_gpu_price of them]


def fire_sale_shares(weights: np.ndarray, budgets: np.ndarray, price: float) -> np.ndarray:
    """Shares of a lot each rival buys at ``price`` ($ for all of it): in proportion to
    ``weights`` (their fleets), each at most what its ``budget`` ($) pays for, what one
    cannot take going to the others. The shares sum to at most 1; the rest is unsold."""
    n = weights.size
    cap = np.minimum(np.maximum(budgets, 0.0) / price, 1.0) if price > 0 else np.ones(n)
    w = np.where(weights > 0, weights, 0.0) if weights.sum() > 0 else np.ones(n)
    share = np.zeros(n)
    open_ = cap > 0
    for _ in range(n):  # water-filling: each pass fills at least one buyer or ends
        left = 1.0 - share.sum()
        if left <= 1e-12 or not open_.any():
            break
        offer = left * np.where(open_, w, 0.0) / np.where(open_, w, 0.0).sum()
        take = np.minimum(offer, cap - share)
        share += take
        open_ &= cap - share > 1e-12
    return share


def repriced(lot: FleetLot, values: np.ndarray, discount: float, life_months: float) -> FleetLot:
    """The lot as a buyer books it: each installed vintage at the price paid for it,
    depreciated over the life it has left; waiting GPUs at the discounted price."""
    a = dict(lot.arrays)
    months_left = np.maximum(life_months - lot.age_months, 1.0)
    a["depreciation_per_month"] = (1.0 - discount) * values / months_left
    a["inv_value"] = (1.0 - discount) * a["inv_value"]
    return replace(lot, arrays=a)


# ------------------------------------------------------------------ the month end
def close_month(model) -> int:
    """Every firm pays interest on its debt and books the month's EBITDA; a firm that
    could not pay this month cures or defaults. Returns the number of defaults."""
    firms = [*model.vendors, *model.hyperscalers, *model.labs, *model.startups]
    for f in firms:
        if f.debt > 0:
            f.pay_interest()
    ebitda = model.ledger.operating([f.unique_id for f in firms])
    for f, e in zip(firms, ebitda.tolist(), strict=True):
        f.close_books(e)
    defaults = 0
    for f in [f for f in firms if f.over_limit > 0]:
        f.over_limit = 0.0
        if cure(model.ledger, f) > 0:
            default(model, f)
            defaults += 1
    return defaults


def cure(ledger, firm) -> float:
    """A firm over its limit repays the debt above its capacity out of cash, then out of
    a rescue round. Returns the excess it could not cure ($, 0 when cured)."""
    excess = firm.debt - firm.debt_capacity()
    if excess <= TOLERANCE * max(firm.debt, 1.0):
        return 0.0
    firm.repaid(repay_debt(ledger, firm, excess, reserve=0.0, share=1.0))
    excess = firm.debt - firm.debt_capacity()
    if excess > TOLERANCE * max(firm.debt, 1.0) and firm.rescue_round(excess) > 0:
        firm.repaid(repay_debt(ledger, firm, excess, reserve=0.0, share=1.0))
        excess = firm.debt - firm.debt_capacity()
    return max(excess, 0.0) if excess > TOLERANCE * max(firm.debt, 1.0) else 0.0


def default(model, firm) -> None:
    """A firm that cannot pay: its assets are sold, lenders recover and write off, it
    leaves the model (or, as the last of its layer or the vendor, is reorganised)."""
    layer = {"hyperscaler": model.hyperscalers, "model_developer": model.labs}.get(firm.layer)
    rivals = [f for f in layer if f is not firm and not f.defaulted] if layer else []
    if firm.layer == "vendor" or (layer is not None and not rivals):
        reorganise(model, firm)
        return
    if firm.layer == "hyperscaler":
        sell_cloud_assets(model, firm, rivals)
    recover_and_write_off(model.ledger, firm)
    firm.defaulted = True
    if firm.layer == "startup":  # the startups' own exit: cash to investors, off the graph
        model.startups.remove(firm)
        model.exited.append(firm)
        firm.close()
        return
    if firm.cash > 0:  # what is left after the lenders is the owners'
        owners = "households" if firm.layer == "hyperscaler" else "venture_capital"
        model.ledger.transfer(firm.unique_id, owners, firm.cash, "liquidation")
    if firm.layer == "model_developer":
        move_resellers(model, firm, rivals)


def remove_defaulted(model) -> None:
    """Clouds and labs that defaulted last month leave the market before it opens (they
    stay in its lists until then, so the month's metrics count what they sold)."""
    for firms in (model.hyperscalers, model.labs):
        for f in [f for f in firms if f.defaulted]:
            firms.remove(f)
            f.remove()


def reorganise(model, firm) -> None:
    """Lenders write the debt down to what the firm can carry and its open GPU orders
    are rejected (as in a Chapter 11 reorganisation); it keeps operating."""
    cancel_orders(model.vendors, firm.unique_id)
    excess = max(firm.debt - firm.debt_capacity(), 0.0)
    model.ledger.write_off(firm.unique_id, excess)
    firm.repaid(excess)


def cancel_orders(vendors, buyer: int) -> None:
    """The vendors drop ``buyer``'s orders from their books."""
    for v in vendors:
        v.backlog.pop(buyer, None)
        for month in v.booked:
            month.pop(buyer, None)


def recover_and_write_off(ledger, firm) -> float:
    """Lenders take the firm's cash up to its debt and write off the rest. Returns the
    $ written off."""
    recovered = ledger.transfer(
        firm.unique_id, "lenders", min(max(firm.cash, 0.0), firm.debt), "recovery"
    )
    firm.repaid(recovered)
    lost = firm.debt
    ledger.write_off(firm.unique_id, lost)
    firm.repaid(lost)
    return lost


def sell_cloud_assets(model, cloud, rivals: list) -> None:
    """A defaulted cloud's lot sold to its rivals at the fire-sale discount; its orders
    at the vendors are cancelled. What no rival can pay for is scrapped."""
    cfg, life = model.cfg.credit, model.cfg.hyperscalers.depreciation_months
    cancel_orders(model.vendors, cloud.unique_id)
    lot = cloud.sell_fleet()
    new_price = new_gpu_price(model.vendors)
    price = (1.0 - cfg.fire_sale_discount) * lot_value(lot, new_price, life)
    budgets = np.array([(r.cash + r.credit_headroom()) * (1.0 - 1e-9) for r in rivals])
    weights = np.array([r.installed_h100e for r in rivals])
    shares = fire_sale_shares(weights, budgets, price)
    booked = repriced(lot, gpu_values(lot, new_price, life), cfg.fire_sale_discount, life)
    for r, s in zip(rivals, shares.tolist(), strict=True):
        if s > 0:
            pay(model.ledger, r, cloud.unique_id, s * price, "fire_sale")
            r.buy_fleet(booked, s)


def move_resellers(model, lab, labs: list) -> None:
    """Startups that resold a lab's tokens move to the lab (of ``labs``) users value most."""
    uc = model.cfg.end_users
    value = choice_utility(
        [x.quality for x in labs], [x.price for x in labs],
        uc.quality_sensitivity, uc.price_sensitivity,
    )  # fmt: skip
    best = labs[int(np.argmax(value))]
    for s in model.startups:
        if s.supplier == lab.unique_id:
            s.switch_supplier(best)
