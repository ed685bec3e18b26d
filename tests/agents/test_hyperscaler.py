"""A cloud's own decisions -- installing, retiring, building, ordering, servicing debt --
on a small real market (wired to its ledger and graph)."""

from __future__ import annotations

import numpy as np
import pytest
from support import set_cash

from abm.agents.hyperscaler import CONSTRUCTION, INTERCONNECTION, PERMITTING

from .conftest import small_market


def set_projects(h, mw, stage, left, cost) -> None:
    h.p_mw = np.array(mw, dtype=float)
    h.p_stage = np.array(stage, dtype=np.int64)
    h.p_left = np.array(left, dtype=float)
    h.p_cost = np.array(cost, dtype=float)
    h.p_leased = np.zeros(h.p_mw.size, dtype=bool)  # its own halls, none leased


# ---------------------------------------------------------------- installing and retiring
def test_gpus_are_installed_oldest_first_and_only_into_energized_mw():
    h = small_market().hyperscalers[0]
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = np.zeros(0)
    h.energized_mw = h.used_mw + 1.0  # 1000 kW free
    fleet, cohorts = h.installed_h100e, h.units.size
    h.receive_gpus(400.0, 1.0, 1.6, 100.0)  # older: fits in full (640 kW)
    h.model.steps = 1  # delivered a month later
    h.receive_gpus(400.0, 2.5, 2.24, 200.0)  # newer: 360 kW left for it
    second = 360.0 / 2.24
    installed = h.install_gpus()
    assert installed == pytest.approx(400.0 + 2.5 * second)
    assert h.installed_h100e == pytest.approx(fleet + installed)
    assert h.used_mw == pytest.approx(h.energized_mw)
    np.testing.assert_allclose(h.inv_units, [400.0 - second])
    np.testing.assert_allclose(h.inv_perf, [2.5])
    # each installation is a cohort of its delivery month, depreciated from its purchase value
    assert h.units.size == cohorts + 2
    np.testing.assert_allclose(h.vintage[-2:], [0.0, 1.0])
    life = h.cfg.depreciation_months
    np.testing.assert_allclose(
        h.depreciation_per_month[-2:], [400.0 * 100.0 / life, second * 200.0 / life]
    )


@pytest.mark.parametrize("first", ["lean", "hungry"])
def test_gpus_delivered_the_same_month_go_in_by_compute_per_mw_whichever_came_first(first):
    """Two vendors' deliveries of one month (0.9 and 1.6 kW per H100e) compete for 1000 kW:
    the cloud installs the GPUs that do most per MW first, whatever order the vendors
    shipped in (the vendors' list order used to decide)."""
    h = small_market().hyperscalers[0]
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = h.inv_vintage = np.zeros(0)
    h.energized_mw = h.used_mw + 1.0
    fleet = h.installed_h100e
    lean, hungry = (400.0, 2.5, 2.24, 200.0), (400.0, 1.0, 1.6, 100.0)
    for cohort in (lean, hungry) if first == "lean" else (hungry, lean):
        h.receive_gpus(*cohort)
    h.install_gpus()
    # all 400 lean parts (896 kW), then 104 kW of the hungry ones
    assert h.installed_h100e - fleet == pytest.approx(400.0 * 2.5 + 104.0 / 1.6)
    np.testing.assert_allclose(h.inv_units, [400.0 - 104.0 / 1.6])
    np.testing.assert_allclose(h.inv_perf, [1.0])


def test_a_fleet_at_its_aim_orders_nothing_not_its_rounding_residue():
    """The fleet aimed for less the fleet, when they are the same to the last bits, is
    rounding residue whose sign follows the order sums were taken in: no order."""
    h = small_market().hyperscalers[0]
    h.energized_mw = h.used_mw + 10_000.0  # power does not bind
    fleet = h.installed_h100e + h.inventory_h100e
    price = h.new_gpu_price
    assert h.gpus_wanted(0.0, price, fleet * (1.0 + 1e-13)) == 0.0
    assert h.gpus_wanted(0.0, price, fleet * (1.0 + 1e-6)) == pytest.approx(fleet * 1e-6)


def test_nothing_is_installed_without_free_energized_mw():
    h = small_market().hyperscalers[0]
    h.energized_mw = h.used_mw
    h.receive_gpus(10.0, 1.0, 1.6, 100.0)
    waiting = h.inventory_h100e
    assert h.install_gpus() == 0.0
    assert h.inventory_h100e == waiting


def test_waiting_gpus_age_and_depreciate_from_delivery():
    m = small_market()
    h = m.hyperscalers[0]
    h.energized_mw = h.used_mw  # no free power: the delivery waits
    h.receive_gpus(100.0, 1.0, 1.6, 30_000.0)  # delivered at step 0
    life = h.cfg.depreciation_months
    m.steps = 5
    h.book_depreciation()
    installed = h.depreciation_per_month[m.steps - h.vintage < life].sum()
    assert h.gpu_depreciation == pytest.approx(installed + 100.0 * 30_000.0 / life)
    h.energized_mw += 1.0  # power arrives five months later
    h.install_gpus()
    assert h.vintage[-1] == 0.0  # the cohort keeps its delivery month: it is 5 months old


def test_book_depreciation_ends_at_book_life_but_gpus_stay_while_they_cover_running_cost():
    # at step 0 the fleet's cohorts are 1..36 months old; a 30-month book life has
    # written seven of them off, yet they keep running: the price covers their power
    h = small_market(**{"hyperscalers.depreciation_months": 30}).hyperscalers[0]
    old = h.model.steps - h.vintage >= 30
    assert old.sum() == 7
    units = h.units.copy()
    assert h.retire() == 0.0
    np.testing.assert_array_equal(h.units, units)
    h.book_depreciation()
    assert h.gpu_depreciation == pytest.approx(h.depreciation_per_month[~old].sum())


def test_a_vintage_whose_revenue_no_longer_covers_its_running_cost_is_scrapped():
    h = small_market().hyperscalers[0]
    legacy = h.running_cost(h.kw[0] / h.perf[0])  # A100-class: 1.71 kW per H100e
    new = h.running_cost(h.kw[-1] / h.perf[-1])  # H100: 1.6 kW per H100e
    assert new < legacy
    h.price = 0.5 * (new + legacy)
    book = h.depreciation_per_month[:36] * (h.cfg.depreciation_months - (0 - h.vintage[:36]))
    written_off = h.retire()
    assert (h.perf == 1.0).all() and h.units.size == 6  # only the H100 cohorts are left
    assert written_off == pytest.approx(book.sum())


# ---------------------------------------------------------------- building
DETERMINISTIC = {"datacenters.regions.us.duration_cv": 0.0}


def test_projects_move_through_stages_and_energize_their_mw_on_completion():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    r = h.region
    set_projects(
        h,
        mw=[100.0, 100.0, 100.0],
        stage=[CONSTRUCTION, CONSTRUCTION, PERMITTING],
        left=[1.0, 3.0, 1.0],
        cost=[50e6, 90e6, 1e9],
    )
    energized = h.energized_mw
    labour, materials = h.build()
    assert h.energized_mw == energized + 100.0  # the first one is finished
    assert h.projects_completed == 1
    # paid: the rest of the finished project, a third of the one with three months left
    assert labour + materials == pytest.approx(50e6 + 30e6)
    share = r.labour_share * (1 + r.labour_premium) / (1 + r.labour_share * r.labour_premium)
    assert labour == pytest.approx(80e6 * share)
    np.testing.assert_array_equal(h.p_stage, [CONSTRUCTION, INTERCONNECTION])
    np.testing.assert_allclose(h.p_left, [2.0, r.interconnection_months])
    np.testing.assert_allclose(h.p_cost, [60e6, 1e9])
    assert h.pipeline_mw == 200.0
    assert h.stage_counts() == {
        "land_and_permitting": 0.0,
        "power_interconnection": 100.0,
        "construction": 100.0,
    }


def test_a_project_passes_a_zero_length_stage_in_the_same_month():
    m = small_market(**DETERMINISTIC, **{"datacenters.regions.us.interconnection_months": 0.0})
    h = m.hyperscalers[0]
    set_projects(h, mw=[100.0], stage=[PERMITTING], left=[1.0], cost=[1e9])
    assert h.build() == (0.0, 0.0)  # construction starts: nothing paid yet
    np.testing.assert_array_equal(h.p_stage, [CONSTRUCTION])
    np.testing.assert_allclose(h.p_left, [h.region.construction_months])


def test_a_project_is_paid_in_full_over_its_construction():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    set_projects(h, mw=[100.0], stage=[CONSTRUCTION], left=[4.0], cost=[1e9])
    paid = [sum(h.build()) for _ in range(4)]
    assert paid == pytest.approx([0.25e9] * 4)
    assert h.p_mw.size == 0


# ---------------------------------------------------------------- ordering GPUs
def test_gpus_wanted_fall_with_the_gpu_price():
    h = small_market().hyperscalers[0]
    h.energized_mw = 1e6  # power is no limit here
    h.price = 3.0 * h.marginal_cost + 1.0
    h.forecast = 10 * h.gpu_hours  # far more demand than the fleet serves
    prices = np.geomspace(1e3, 1e6, 40)
    wanted = h.gpus_wanted(0.0, prices)
    assert (np.diff(wanted) <= 0).all()
    assert wanted[0] > wanted[-1]
    assert h.gpus_wanted(0.0, prices[5]) == pytest.approx(wanted[5])  # a number or candidates
    # orders are the aim less what is installed, waiting and on order
    assert h.gpus_wanted(1e5, prices[0]) == pytest.approx(wanted[0] - 1e5)


@pytest.mark.parametrize("gpu_price", [1e3, np.array([1e3, 3e4])])
def test_no_gpus_are_wanted_when_renting_them_out_loses_money(gpu_price):
    h = small_market().hyperscalers[0]
    h.forecast = 10 * h.gpu_hours
    h.energized_mw = 1e6
    h.price = 0.9 * h.running_cost(h.new_kw_per_h100e)
    assert np.all(h.gpus_wanted(0.0, gpu_price) == 0.0)
    assert np.shape(h.gpus_wanted(0.0, gpu_price)) == np.shape(gpu_price)


def test_orders_fit_the_power_energized_by_the_time_they_arrive():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    h.price = 3.0 * h.user_cost  # q far above 1: it wants far more than power allows
    h.forecast = 10 * h.gpu_hours
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = h.inv_vintage = np.zeros(0)
    h.energized_mw = h.used_mw + 10.0
    h.delivery_lead_months = 4.0
    # one project is powered in 3 months (counts), one in 10 (does not)
    set_projects(h, [100.0, 100.0], [CONSTRUCTION, CONSTRUCTION], [3.0, 10.0], [1e9, 1e9])
    kw = h.new_kw_per_h100e
    assert h.gpus_wanted(0.0, 20_000.0) == pytest.approx(110.0 * 1000.0 / kw)
    # what is already on order takes its share of that power
    assert h.gpus_wanted(1000.0, 20_000.0) == pytest.approx(110.0 * 1000.0 / kw - 1000.0)


def test_a_cloud_plans_halls_only_for_the_gpus_it_can_also_pay_for():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    h.price = 3.0 * h.user_cost  # q far above 1: it aims for a much larger fleet
    h.forecast = 10 * h.gpu_hours
    set_projects(h, [100.0], [CONSTRUCTION], [3.0], [2e8])  # $0.2B of construction to pay
    h.debt = h.debt_capacity()  # no credit left
    h.parent_available = 0.0
    kw, price = h.new_kw_per_h100e, h.new_gpu_price
    fleet = h.installed_h100e + h.inventory_h100e
    aim = float(h.fleet_aimed_for(h.cfg.planning_horizon_months, price))
    per_h100e = price + h._project_cost(kw / 1000.0)  # a GPU and its share of a hall
    base_mw = h.used_mw + h.inventory_mw  # what it runs and what waits for power

    # rich: it plans power for the whole fleet it aims for
    set_cash(m, h, 2e8 + 10.0 * aim * per_h100e)
    assert h.power_needed_mw(0.0) - base_mw == pytest.approx((aim - fleet) * kw / 1000.0)

    # $1B left after the construction it owes: the growth it plans costs, GPUs and halls
    # together, what it has, a fraction of what it aims for
    set_cash(m, h, 2e8 + 1e9)
    growth_h100e = (h.power_needed_mw(0.0) - base_mw) * 1000.0 / kw
    assert growth_h100e * per_h100e == pytest.approx(1e9)
    assert growth_h100e < 0.5 * (aim - fleet)
    # GPUs already on order are paid first: $0.5B of them leave $0.5B for new fleet
    on_order = 0.5e9 / price
    growth_h100e = (h.power_needed_mw(on_order) - base_mw) * 1000.0 / kw - on_order
    assert growth_h100e * per_h100e == pytest.approx(0.5e9)

    # nothing left once the construction is paid: no new halls beyond what is on order
    set_cash(m, h, 2e8)
    assert h.power_needed_mw(0.0) == pytest.approx(base_mw)


def test_projects_in_permitting_are_cancelled_when_planned_power_falls_far_below_them():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    h.price = 0.5 * h.user_cost  # low q: it aims for little
    h.forecast = 0.1 * h.gpu_hours
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = h.inv_vintage = np.zeros(0)
    set_projects(
        h,
        [100.0] * 4,
        [PERMITTING, PERMITTING, PERMITTING, CONSTRUCTION],
        [2.0, 9.0, 5.0, 3.0],
        [1e9] * 4,
    )
    need = h.power_needed_mw(0.0)
    h.energized_mw = need * (1 + 2 * h.dc.power_headroom) + 50.0  # power far beyond plans
    excess = h.energized_mw + h.pipeline_mw - need * (1 + 2 * h.dc.power_headroom)
    assert excess > 300.0  # all three permitting projects are surplus
    h.plan_data_centres(0.0)
    assert h.projects_started == 0 and h.projects_cancelled == 3
    np.testing.assert_array_equal(h.p_stage, [CONSTRUCTION])  # construction goes on
    # with 150 MW surplus only the youngest project (most permitting left) goes
    set_projects(h, [100.0, 100.0], [PERMITTING, PERMITTING], [2.0, 9.0], [1e9, 1e9])
    h.cancel_projects(150.0)
    np.testing.assert_allclose(h.p_left, [2.0])


def test_buildings_depreciate_over_their_life_from_completion():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    before = h.building_depreciation
    set_projects(h, mw=[100.0], stage=[CONSTRUCTION], left=[1.0], cost=[5e8])
    h.build()
    h.book_depreciation()
    added = h._project_cost(100.0) / h.cfg.building_life_months
    assert h.building_depreciation == pytest.approx(before + added)
    assert h.depreciation == pytest.approx(h.gpu_depreciation + h.building_depreciation)


# ---------------------------------------------------------------- pricing
def test_the_price_tends_to_the_user_cost_with_a_rent_only_while_capacity_binds():
    h = small_market().hyperscalers[0]
    u, uc, s = h.cfg.target_utilization, h.user_cost, h.cfg.scarcity_rent
    assert h.price_target(u) == pytest.approx(uc)
    assert h.price_target(u + 0.1) == pytest.approx(uc * np.exp(s * 0.1))
    dearest = h.running_cost(h.kw / h.perf).max()
    assert h.price_target(0.0) == pytest.approx(dearest)  # idle: toward running cost
    assert h.price_target(u / 2) == pytest.approx(0.5 * (dearest + uc))
    # partial adjustment: price_adjustment of the way, within the monthly cap
    h.price = uc
    h.demand = h.gpu_hours * u
    h.set_price()
    assert h.price == pytest.approx(uc)
    h.demand = 0.0
    h.set_price()
    assert h.price == pytest.approx(uc / (1 + h.cfg.max_price_change))


# ---------------------------------------------------------------- debt
def test_debt_service_repays_a_fifth_of_cash_beyond_the_reserve():
    m = small_market()
    h = m.hyperscalers[0]
    set_projects(h, [], [], [], [])  # nothing to build this month
    h.gpu_capex = 1e9
    h.debt = 10e9
    set_cash(m, h, 8e9)
    lenders = m.ledger.balance("lenders")
    h.build_retire_and_service_debt()
    interest = 0.0  # paid at the month end with every firm's (abm.market.credit.close_month)
    repaid = 0.2 * (8e9 - interest - 3.0 * 1e9)
    assert h.debt == pytest.approx(10e9 - repaid)
    assert h.cash == pytest.approx(8e9 - interest - repaid)
    assert m.ledger.balance("lenders") - lenders == pytest.approx(interest + repaid)
    assert h.building_capex == 0.0


def test_interest_a_cloud_cannot_pay_from_cash_is_borrowed():
    m = small_market()
    h = m.hyperscalers[0]
    set_projects(h, [], [], [], [])
    h.debt = 10e9
    set_cash(m, h, 0.0)
    h.pay_interest()
    assert h.debt == pytest.approx(10e9 * (1 + m.cfg.credit.interest_rate_per_month))
    assert h.cash == pytest.approx(0.0)


def test_construction_is_paid_to_labour_and_materials():
    m = small_market(**DETERMINISTIC)
    h = m.hyperscalers[0]
    set_projects(h, mw=[100.0], stage=[CONSTRUCTION], left=[1.0], cost=[2e8])
    set_cash(m, h, 1e10)
    m.ledger.start_step()
    h.build_retire_and_service_debt()
    flows = m.ledger.step_flows
    assert flows["construction_labour"] + flows["construction_materials"] == pytest.approx(2e8)
    assert h.building_capex == pytest.approx(2e8)


def test_firm_row_reports_the_clouds_state():
    h = small_market().hyperscalers[0]
    row = h.firm_row()
    assert set(row) == {"id", "layer", "name", "cash", "debt", "price", "installed_h100e"} | {
        "kind",
        "user_cost",
        "energized_mw",
        "pipeline_mw",
        "revenue",
        "region",
    }
    assert (row["layer"], row["region"]) == ("hyperscaler", "us")


@pytest.mark.slow
def test_gpus_do_not_pile_up_waiting_for_power_in_the_baseline():
    # before orders looked at the power energised on arrival, 1.5x the installed fleet
    # waited in warehouses; now orders fit the power expected when they ship
    m = small_market()
    m.run(120)
    df = m.datacollector.get_model_vars_dataframe().iloc[1:]
    assert (df["gpu_inventory"] / df["installed_gpus"]).max() < 0.5
