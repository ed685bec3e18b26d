"""The GPU vendor's own decisions, on a small real market (wired to its ledger and graph)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from support import set_cash

from abm.agents.vendor import ship_gpus
from abm.market.pricing import candidate_ratios

from .conftest import small_market


# ---------------------------------------------------------------- shipping
@pytest.mark.parametrize(
    ("backlog", "capacity_h100e", "shipped_h100e"),
    [
        ({10: 300.0, 11: 100.0}, 200.0, {10: 150.0, 11: 50.0}),  # short: pro rata to backlog
        ({10: 30.0, 11: 10.0}, 200.0, {10: 30.0, 11: 10.0}),  # enough: every order in full
        ({10: 30.0, 11: 0.0}, 200.0, {10: 30.0}),  # nothing ships to an empty backlog
        ({}, 200.0, {}),
    ],
)
def test_output_is_shipped_pro_rata_to_backlogs_when_short(backlog, capacity_h100e, shipped_h100e):
    v = small_market().vendors[1]  # perf 0.8 H100e per part: parts and H100e differ
    v.backlog = dict(backlog)
    v.capacity = capacity_h100e / v.perf
    shipped = dict(v.allocate_output())
    assert shipped.keys() == shipped_h100e.keys()
    for b, h100e in shipped_h100e.items():
        assert shipped[b] == pytest.approx(h100e / v.perf)  # parts of its generation
        assert v.backlog[b] == pytest.approx(backlog[b] - h100e)


def test_orders_ship_no_sooner_than_the_delivery_lead():
    v = small_market(**{"gpu.delivery_lead_months": 2}).vendors[0]
    v.backlog, v.booked = {}, deque()
    v.capacity = 1e6 / v.perf  # never short
    shipped = []
    for month, order in enumerate([100.0, 50.0, 0.0, 0.0]):
        v.start_step()
        v.take_order(10, order)
        shipped.append(sum(q for _, q in v.allocate_output()) * v.perf)
        assert v.orders_h100e == order, month
    # booked in month 0, due in month 2; booked in month 1, due in month 3
    assert shipped == pytest.approx([0.0, 0.0, 100.0, 50.0])
    assert v.backlog[10] == 0.0


def test_initial_backlog_is_months_of_output_split_by_shares():
    v = small_market().vendors[0]
    v.backlog = {}
    v.book_initial_backlog([10, 11], np.array([0.25, 0.75]))
    total = v.cfg.initial_backlog_months * v.capacity * v.perf
    assert v.backlog == pytest.approx({10: 0.25 * total, 11: 0.75 * total})
    assert v.backlog_months == pytest.approx(v.cfg.initial_backlog_months)


def test_shipped_parts_reach_the_clouds_inventory():
    m = small_market()
    before = {h: h.inventory_h100e for h in m.hyperscalers}
    deliveries = ship_gpus(m)
    assert deliveries
    for h in m.hyperscalers:
        parts = sum(units * v.perf for v, c, units in deliveries if c is h)
        assert h.inventory_h100e - before[h] == pytest.approx(parts)


# ---------------------------------------------------------------- pricing
RATIOS = candidate_ratios(0.4, 15)


@pytest.mark.parametrize(
    ("vendor", "price_over_floor", "orders"),
    [
        (0, 1.01, RATIOS**-20.0),  # profit seeking, very elastic orders: wants to cut
        (0, 3.0, RATIOS**-20.0),
        (0, 1.01, RATIOS**-0.5),  # inelastic: wants to raise
        (1, 1.01, None),  # tatonnement with no backlog: the price falls
        (1, 0.9, None),  # starting below the floor, it is lifted to the floor
    ],
)
def test_the_gpu_price_is_never_set_below_the_floor(vendor, price_over_floor, orders):
    v = small_market().vendors[vendor]
    floor = v.unit_cost * (1.0 + v.cfg.floor_markup)
    v.backlog = {}
    v.price = floor * price_over_floor
    for _ in range(30):
        v.set_price(RATIOS, None if orders is None else orders * 1e3)
        assert v.price >= floor * (1 - 1e-12)


def test_tatonnement_raises_the_price_by_at_most_max_price_change_when_the_queue_is_long():
    v = small_market().vendors[1]
    v.price = 50_000.0
    v.backlog = {10: 100 * v.capacity_h100e}
    v.set_price()
    assert v.price == pytest.approx(50_000.0 * (1 + v.gpu.max_price_change))


def test_a_profit_seeking_vendor_with_a_long_queue_follows_the_backlog_not_the_orders():
    v = small_market().vendors[0]
    v.price = 30_000.0
    v.backlog = {10: 100 * v.capacity_h100e}  # no room to book more
    v.set_price(RATIOS, RATIOS**-20.0)  # orders that would pull the price down
    assert v.price == pytest.approx(30_000.0 * (1 + v.gpu.max_price_change))


def test_a_vendor_below_its_floor_is_lifted_even_when_no_one_orders():
    v = small_market().vendors[0]
    v.backlog = {}
    v.price = 0.5 * v.unit_cost
    v.set_price(RATIOS, np.zeros(RATIOS.size))
    assert v.price >= v.unit_cost * (1.0 + v.cfg.floor_markup)


# ---------------------------------------------------------------- generations
STEP = {"gpu.generation_ramp_months": 0, "gpu.launch_cost_premium": 0.0}
RAMP = {"gpu.generation_ramp_months": 8, "gpu.launch_cost_premium": 0.0}


def test_without_a_ramp_a_new_generation_replaces_the_old_in_one_month():
    v = small_market(**STEP).vendors[0]
    g = v.gpu
    r = g.next_release_month
    perf, cost, kw, price = v.perf, v.unit_cost, v.power_kw, v.price
    v.set_output_mix(r)  # the release month itself is still made of the old parts
    assert (v.generation, v.perf, v.price) == (0, perf, price)
    v.set_output_mix(r + 1)
    assert (v.generation, v.generation_name) == (1, "gen2")
    assert v.perf == pytest.approx(perf * g.perf_gain_per_generation)
    assert v.unit_cost == v.mature_cost == pytest.approx(cost * g.cost_growth_per_generation)
    assert v.power_kw == pytest.approx(kw * g.power_growth_per_generation)
    assert v.price / v.unit_cost == pytest.approx(price / cost)
    # the price of an H100e falls by the roadmap's ratio in one month: -42% at 1.45 / 2.5
    ratio = g.cost_growth_per_generation / g.perf_gain_per_generation
    assert v.price_per_h100e == pytest.approx(price / perf * ratio)
    v.set_output_mix(r + g.release_interval_months + 1)
    assert v.generation_name == "gen3"


@pytest.mark.parametrize("which", [0, 1])  # the dominant vendor and the fringe (0.8 H100e)
def test_a_ramp_mixes_the_generations_linearly_around_the_release(which):
    v = small_market(**RAMP).vendors[which]
    g = v.gpu
    r, months = g.next_release_month, g.generation_ramp_months
    perf, cost, kw, price = v.perf, v.mature_cost, v.power_kw, v.price
    shares, per_h100e = [], [v.price_per_h100e]
    for month in range(r - months // 2, r + months // 2 + 2):
        v.set_output_mix(month)
        shares.append(v.next_share)
        s = v.next_share
        if v.generation == 0:
            assert v.perf == pytest.approx((1 - s) * perf + s * perf * g.perf_gain_per_generation)
            assert v.power_kw == pytest.approx(
                (1 - s) * kw + s * kw * g.power_growth_per_generation
            )
            mix_cost = (1 - s) * cost + s * cost * g.cost_growth_per_generation
            assert v.mature_cost == v.unit_cost == pytest.approx(mix_cost)
        assert v.price / v.mature_cost == pytest.approx(price / cost)  # the margin carries over
        per_h100e.append(v.price_per_h100e)
    # eight months of mixed output, 1/16, 3/16, ..., 15/16, centred on the end of month r;
    # then the new generation is established
    assert shares == pytest.approx([0.0, *[(2 * k + 1) / 16 for k in range(8)], 0.0])
    assert v.generation == 1 and v.perf == pytest.approx(perf * g.perf_gain_per_generation)
    # an H100e's price falls month by month to the new generation's, never in one step
    steps = np.diff(np.log(per_h100e))
    assert (steps <= 1e-12).all()
    ratio = g.cost_growth_per_generation / g.perf_gain_per_generation
    assert per_h100e[-1] == pytest.approx(per_h100e[0] * ratio)
    assert steps.min() > 0.5 * np.log(ratio)  # no month takes even half of the fall


def test_ramps_as_long_as_the_release_interval_follow_each_other_without_a_gap():
    v = small_market(**{**RAMP, "gpu.release_interval_months": 8}).vendors[0]
    r = v.gpu.next_release_month
    seen = []
    for month in range(r - 3, r + 13):
        v.set_output_mix(month)
        seen.append((v.generation, v.next_share))
    # every month mixes two generations: the next one's share runs 1/16 ... 15/16 and
    # starts again at 1/16 in the month its predecessor is established
    shares = [(2 * k + 1) / 16 for k in range(8)]
    assert [gen for gen, _ in seen] == [0] * 8 + [1] * 8
    assert [share for _, share in seen] == pytest.approx(shares + shares)


def test_the_first_parts_of_a_generation_cost_more_and_the_premium_decays_with_output():
    premium = {**RAMP, "gpu.launch_cost_premium": 0.7, "gpu.launch_cost_decay_months": 6.0}
    v, plain = small_market(**premium).vendors[0], small_market(**RAMP).vendors[0]
    g = v.gpu
    r = g.next_release_month
    start = r + 1 - g.generation_ramp_months / 2  # the ramp's first month
    excess = []
    for month in range(r - 6, r + 20):  # up to the next ramp
        v.set_output_mix(month)
        plain.set_output_mix(month)
        # the price follows the mature cost (Spence 1981): the premium changes no price
        assert v.price == plain.price and v.mature_cost == plain.mature_cost
        excess.append(v.unit_cost / v.mature_cost - 1.0)
        if v.generation == 1:  # established: its premium is the learning curve's
            age = month + 0.5 - start
            assert excess[-1] == pytest.approx(0.7 * np.exp(-age / 6.0))
    excess = np.array(excess)
    assert excess[:2].tolist() == [0.0, 0.0]  # before the ramp, nothing to learn
    peak = int(excess.argmax())
    assert 0.2 < excess[peak] < 0.7  # a share of dear new parts, not all of them
    assert (np.diff(excess[peak:]) < 0).all()  # then it only falls
    assert excess[-1] < 0.07  # a year and a half on, nearly mature


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"gpu.generation_ramp_months": 14, "gpu.release_interval_months": 12}, "exceeds"),
        ({"gpu.generation_ramp_months": 7}, "must be even"),
        ({"gpu.generation_ramp_months": 8, "gpu.next_release_month": 3}, "before the run"),
    ],
)
def test_a_ramp_that_cannot_be_laid_out_is_refused(over, message):
    with pytest.raises(ValueError, match=message):
        small_market(**over)


# ---------------------------------------------------------------- settlement
@pytest.mark.parametrize(("cash", "borrowed_share"), [(1e9, 0.0), (0.0, 1.0)])
def test_a_sale_books_revenue_and_cogs_and_pays_the_foundry(cash, borrowed_share):
    m = small_market()
    v = m.vendors[0]
    set_cash(m, v, cash)
    foundry = m.ledger.balance("foundry_components")
    v.sold_gpus(10.0, 10.0 * v.price)
    cogs = 10.0 * v.unit_cost
    assert (v.shipped_units, v.revenue, v.cogs) == (10.0, 10.0 * v.price, cogs)
    assert m.ledger.balance("foundry_components") - foundry == pytest.approx(cogs)
    # an obligation: paid in full, from a credit line when cash is short
    assert v.debt == pytest.approx(borrowed_share * cogs)
    assert v.cash == pytest.approx(max(cash - cogs, 0.0))


def test_running_costs_spend_only_cash_then_repay_debt():
    m = small_market()
    v = m.vendors[0]
    v.revenue = 1e9
    opex = v.revenue * v.cfg.opex_share_of_revenue
    set_cash(m, v, opex + 30.0)
    v.debt = 50.0
    m.ledger.start_step()
    v.pay_running_costs()
    assert m.ledger.step_flows["vendor_opex"] == pytest.approx(opex)
    assert v.debt == pytest.approx(20.0)  # the 30 left over repaid
    assert v.cash == pytest.approx(0.0)
    # with no cash, opex shrinks to nothing and nothing is borrowed
    v.debt = 0.0
    m.ledger.start_step()
    v.pay_running_costs()
    assert m.ledger.step_flows["vendor_opex"] == 0.0 and v.debt == 0.0


@pytest.mark.parametrize(("backlog_months", "pressure"), [(0.0, 0.0), (2.0, 0.5), (8.0, 1.0)])
def test_capacity_grows_with_backlog_pressure_up_to_the_monthly_limit(backlog_months, pressure):
    v = small_market().vendors[0]
    v.backlog = {10: backlog_months * v.capacity_h100e}
    v.gpu = v.gpu.model_copy(update={"target_backlog_months": 4.0})
    v.cfg = v.cfg.model_copy(update={"capacity_cost_per_unit_month": 10.0})
    capacity = v.capacity
    cost = v.expand_capacity()
    added = capacity * v.cfg.capacity_growth_per_month * pressure
    assert v.capacity == pytest.approx(capacity + added)
    assert cost == pytest.approx(10.0 * added)


def test_firm_row_reports_the_vendors_state():
    v = small_market().vendors[0]
    row = v.firm_row()
    assert set(row) == {"id", "layer", "name", "cash", "debt", "price", "capacity"} | {
        "backlog_h100e",
        "revenue",
    }
    assert (row["layer"], row["name"], row["price"]) == ("vendor", "dominant-vendor", v.price)
