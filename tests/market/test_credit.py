"""Credit: the limits as tables, EBITDA from the ledger, and defaults planted in a small market.

Expected numbers are worked out here by hand from the parameters, not by calling the
functions under test."""

from __future__ import annotations

import numpy as np
import pytest
from support import set_cash

from abm import ComputeMarket
from abm.config import load_config
from abm.ledger import Ledger
from abm.market import credit
from abm.market.credit import FleetLot, debt_capacity, fire_sale_shares, lot_value

CFG = load_config().credit  # 0.4%/month, 6x leverage, 2x cover, 60% LTV, 40% discount


def small_market(**over) -> ComputeMarket:
    # no neocloud fringe: the planted cases count the big four's rivals exactly
    base = {"end_users.simulated_users": 200, "neoclouds.count": 0}
    base["hyperscalers.parent_funding_per_year"] = 0.0  # and no parent to rescue a cloud
    return ComputeMarket(rng=1, **{**base, **over})


# ---------------------------------------------------------------- limits
@pytest.mark.parametrize(
    ("ebitda", "collateral", "capacity", "binding"),
    [
        (120.0, None, 720.0, "leverage: 6 x 120"),  # cover allows 120 / (2 x 0.048) = 1250
        (120.0, 1000.0, 600.0, "collateral: 0.6 x 1000"),
        (120.0, 5000.0, 720.0, "leverage again: collateral is ample"),
        (0.0, 1000.0, 0.0, "no cash flow, no loan"),
        (-50.0, 1e9, 0.0, "losses: never a negative capacity"),
        (120.0, 0.0, 0.0, "a cloud with nothing to pledge"),
    ],
)
def test_capacity_is_the_tightest_of_leverage_cover_and_collateral(
    ebitda, collateral, capacity, binding
):
    assert debt_capacity(ebitda, collateral, CFG) == pytest.approx(capacity), binding


def test_interest_cover_binds_when_rates_are_high():
    # at 1.5% a month (18% a year) and 2x cover, D <= E / 0.36 = 2.78 E < 6 E
    dear = CFG.model_copy(update={"interest_rate_per_month": 0.015})
    assert debt_capacity(100.0, None, dear) == pytest.approx(100.0 / (2 * 0.18))
    free = CFG.model_copy(update={"interest_rate_per_month": 0.0})
    assert debt_capacity(100.0, None, free) == pytest.approx(600.0)  # no interest: leverage


# ---------------------------------------------------------------- fire sales
@pytest.mark.parametrize(
    ("weights", "budgets", "price", "shares"),
    [
        ([1.0, 1.0], [1e9, 1e9], 100.0, [0.5, 0.5]),  # rich rivals split by fleet
        ([3.0, 1.0], [1e9, 1e9], 100.0, [0.75, 0.25]),
        ([3.0, 1.0], [30.0, 1e9], 100.0, [0.3, 0.7]),  # the big one can pay for 30%
        ([1.0, 1.0], [20.0, 30.0], 100.0, [0.2, 0.3]),  # together they buy half; half unsold
        ([1.0, 1.0, 2.0], [0.0, 1e9, 1e9], 100.0, [0.0, 1 / 3, 2 / 3]),  # a broke rival
        ([0.0, 0.0], [1e9, 1e9], 100.0, [0.5, 0.5]),  # empty fleets: equal shares
    ],
)
def test_rivals_buy_in_proportion_to_their_fleets_up_to_what_they_can_pay(
    weights, budgets, price, shares
):
    got = fire_sale_shares(np.array(weights), np.array(budgets), price)
    np.testing.assert_allclose(got, shares, atol=1e-12)
    assert got.sum() <= 1.0 + 1e-12


def lot(**over) -> FleetLot:
    arrays = {
        "units": np.array([100.0, 50.0]),
        "perf": np.array([1.0, 2.5]),
        "kw": np.array([1.6, 2.2]),
        "vintage": np.array([-12.0, 0.0]),
        "depreciation_per_month": np.array([10.0, 20.0]),
        "inv_units": np.array([10.0]),
        "inv_perf": np.array([2.5]),
        "inv_kw": np.array([2.2]),
        "inv_value": np.array([40_000.0]),
        "p_mw": np.array([100.0, 100.0]),
        "p_stage": np.array([2, 0]),
        "p_left": np.array([5.0, 3.0]),
        "p_cost": np.array([0.5e9, 1.2e9]),
    }
    base = {"energized_mw": 2.0, "build_cost_per_mw": 12e6, "age_months": np.array([30.0, 6.0])}
    return FleetLot(arrays=arrays, **{**base, **over})


def test_a_lot_is_worth_its_gpus_at_todays_price_less_wear_its_buildings_and_work_done():
    # GPUs: 100 x 1.0 H100e x $20k x (1 - 30/60) + 50 x 2.5 x $20k x (1 - 6/60)
    gpus = 100 * 20_000 * 0.5 + 125 * 20_000 * 0.9
    waiting = 25 * 20_000
    buildings = 2.0 * 12e6
    work_done = 100 * 12e6 - 0.5e9  # the second project has paid nothing (1.2e9 = full cost)
    assert lot_value(lot(), 20_000.0, 60.0) == pytest.approx(gpus + waiting + buildings + work_done)


def test_gpus_past_their_life_are_worth_nothing():
    old = lot(age_months=np.array([80.0, 60.0]))
    assert credit.gpu_values(old, 20_000.0, 60.0).tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- the ledger
def test_ebitda_is_operating_income_less_operating_costs_not_capex_or_financing():
    ledger = Ledger()
    ledger.open("cloud")
    ledger.transfer("lenders", "cloud", 400.0, "borrowing")  # financing
    ledger.transfer("households", "cloud", 100.0, "compute")  # revenue
    ledger.transfer("cloud", "energy_opex", 30.0, "energy_opex")  # operating cost
    ledger.transfer("cloud", "foundry_components", 350.0, "gpu_sales")  # capex for the buyer
    ledger.transfer("cloud", "lenders", 5.0, "interest")  # below EBITDA
    ledger.transfer("cloud", "households", 20.0, "construction_labour")  # capex
    assert ledger.operating(["cloud"]).tolist() == [70.0]
    assert ledger.operating(["foundry_components"]).tolist() == [350.0]  # the seller's revenue
    ledger.transfer_many(["households"] * 2, ["cloud", "cloud"], [5.0, 6.0], "user_spend")
    assert ledger.operating(["cloud"]).tolist() == [81.0]
    ledger.start_step()
    assert ledger.operating(["cloud"]).tolist() == [0.0]  # a month at a time


def test_a_write_off_is_recorded_but_moves_no_cash():
    ledger = Ledger()
    ledger.open("cloud")
    ledger.transfer("lenders", "cloud", 400.0, "borrowing")
    ledger.write_off("cloud", 250.0)
    assert ledger.step_flows["write_off"] == 250.0
    assert ledger.balance("lenders") == -400.0  # the loss: paid in, never paid back
    assert ledger.balance("cloud") == 400.0
    assert ledger.error() == 0.0
    with pytest.raises(ValueError):
        ledger.write_off("cloud", -1.0)
    with pytest.raises(KeyError):
        ledger.write_off("nobody", 1.0)


# ---------------------------------------------------------------- planted defaults
def insolvent(m, firm, debt: float) -> None:
    """Make ``firm`` owe ``debt`` with no cash, after a payment it could not make."""
    set_cash(m, firm, 0.0)
    m.ledger.transfer("lenders", "households", debt, "test")  # the loan's cash is long spent
    firm.debt = debt
    firm.over_limit = 1.0


def test_a_planted_insolvent_cloud_sells_its_fleet_to_rivals_at_the_discount():
    m = small_market()
    m.step()
    cloud, rivals = m.hyperscalers[0], m.hyperscalers[1:]
    insolvent(m, cloud, 1e12)
    before = {h.unique_id: (h.installed_h100e, h.energized_mw, h.cash) for h in rivals}
    units, perf, age = cloud.units.copy(), cloud.perf.copy(), m.steps - cloud.vintage
    cap = np.array([v.capacity_h100e for v in m.vendors])
    new_price = np.array([v.price_per_h100e for v in m.vendors]) @ cap / cap.sum()
    life = m.cfg.hyperscalers.depreciation_months
    value = (units * perf * new_price * np.clip(1 - age / life, 0, 1)).sum()
    value += cloud.inventory_h100e * new_price
    r = cloud.region
    per_mw = m.cfg.datacenters.cost_per_mw * r.cost_multiplier
    per_mw *= 1 + r.labour_share * r.labour_premium
    value += cloud.energized_mw * per_mw + np.maximum(cloud.p_mw * per_mw - cloud.p_cost, 0).sum()
    fleet, mw = cloud.installed_h100e, cloud.energized_mw
    lenders = m.ledger.balance("lenders")
    m.ledger.start_step()

    assert credit.close_month(m) == 1
    price = 0.6 * value  # a 40% fire-sale discount
    assert m.ledger.step_flows["fire_sale"] == pytest.approx(price)
    assert sum(before[h.unique_id][2] - h.cash for h in rivals) == pytest.approx(price, rel=1e-6)
    assert sum(h.installed_h100e - before[h.unique_id][0] for h in rivals) == pytest.approx(fleet)
    assert sum(h.energized_mw - before[h.unique_id][1] for h in rivals) == pytest.approx(mw)
    # lenders get the proceeds and write off the rest of the trillion and its month's
    # interest (which the cloud, with no cash, could only add to its debt)
    assert m.ledger.step_flows["recovery"] == pytest.approx(price)
    assert m.ledger.step_flows["write_off"] == pytest.approx(1e12 * 1.004 - price)
    assert m.ledger.balance("lenders") - lenders == pytest.approx(price)
    assert cloud.debt == 0.0 and cloud.cash == 0.0 and cloud.installed_h100e == 0.0
    assert all(cloud.unique_id not in v.backlog for v in m.vendors)  # orders cancelled
    assert m.ledger.error() < 1e-3
    # it leaves before the next month opens; its customers buy from the rest
    m.step()
    assert cloud not in m.hyperscalers and cloud.unique_id in m.supply.g
    assert m.metrics["compute_sold"] > 0 and m.metrics["ledger_error"] < 1e-2


def test_rivals_book_the_fleet_at_what_they_paid_and_keep_its_vintages():
    m = small_market()
    m.step()
    cloud, rival = m.hyperscalers[0], m.hyperscalers[1]
    vintages = set(cloud.vintage.tolist())
    insolvent(m, cloud, 1e12)
    credit.close_month(m)
    assert vintages <= set(rival.vintage.tolist())
    assert np.all(rival.depreciation_per_month >= 0)


def test_an_insolvent_firm_with_cash_cures_its_breach_and_does_not_default():
    m = small_market()
    m.step()
    cloud = m.hyperscalers[0]
    capacity = cloud.debt_capacity()
    cloud.debt = capacity + 5e8
    cloud.over_limit = 5e8
    set_cash(m, cloud, 2e9)
    assert credit.close_month(m) == 0
    assert cloud.debt <= cloud.debt_capacity() * (1 + 1e-9) and not cloud.defaulted
    assert cloud.cash < 2e9  # it repaid the excess (and the month's interest)


def test_a_defaulted_lab_exits_its_users_rechoose_and_its_resellers_move():
    m = small_market()
    m.step()
    lab = m.labs[0]
    resellers = [s for s in m.startups if s.supplier == lab.unique_id]
    insolvent(m, lab, 1e9)
    m.ledger.start_step()
    assert credit.close_month(m) == 1
    assert m.ledger.step_flows["write_off"] == pytest.approx(1e9 * 1.004)  # with interest
    assert all(s.supplier != lab.unique_id for s in resellers)
    m.step()
    assert lab not in m.labs and lab.unique_id in m.supply.g  # the graph keeps its history
    for seg in m.segments:
        assert not np.any(seg.provider[seg.adopted] == lab.unique_id)
    assert m.metrics["tokens"] > 0 and m.metrics["ledger_error"] < 1e-2


def test_a_defaulted_startup_closes_and_counts_as_an_exit():
    m = small_market()
    m.step()
    s = m.startups[0]
    insolvent(m, s, 1e6)
    m.ledger.start_step()
    assert credit.close_month(m) == 1
    assert s not in m.startups and s in m.exited
    assert m.ledger.step_flows["write_off"] == pytest.approx(1e6 * 1.004)


def test_the_last_cloud_is_reorganised_not_liquidated():
    m = small_market(**{"hyperscalers.count": 1, "hyperscalers.regions": ["us"]})
    m.step()
    cloud = m.hyperscalers[0]
    fleet = cloud.installed_h100e
    insolvent(m, cloud, 1e12)
    assert credit.close_month(m) == 1
    assert cloud.installed_h100e == fleet and not cloud.defaulted
    assert cloud.debt == pytest.approx(cloud.debt_capacity())  # written down to what it carries
    assert all(cloud.unique_id not in v.backlog for v in m.vendors)  # its orders rejected
