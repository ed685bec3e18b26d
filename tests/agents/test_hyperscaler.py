"""A cloud's own decisions -- installing, retiring, building, ordering, servicing debt --
on a small real market (wired to its ledger and graph)."""

from __future__ import annotations

import numpy as np
import pytest

from abm.agents.hyperscaler import CONSTRUCTION, INTERCONNECTION, PERMITTING

from .conftest import set_cash, small_market


def set_projects(h, mw, stage, left, cost) -> None:
    h.p_mw = np.array(mw, dtype=float)
    h.p_stage = np.array(stage, dtype=np.int64)
    h.p_left = np.array(left, dtype=float)
    h.p_cost = np.array(cost, dtype=float)


# ---------------------------------------------------------------- installing and retiring
def test_gpus_are_installed_oldest_first_and_only_into_energized_mw():
    h = small_market().hyperscalers[0]
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = np.zeros(0)
    h.energized_mw = h.used_mw + 1.0  # 1000 kW free
    fleet, cohorts = h.installed_h100e, h.units.size
    h.receive_gpus(400.0, 1.0, 1.6, 100.0)  # older: fits in full (640 kW)
    h.receive_gpus(400.0, 2.5, 2.24, 200.0)  # newer: 360 kW left for it
    second = 360.0 / 2.24
    installed = h.install_gpus()
    assert installed == pytest.approx(400.0 + 2.5 * second)
    assert h.installed_h100e == pytest.approx(fleet + installed)
    assert h.used_mw == pytest.approx(h.energized_mw)
    np.testing.assert_allclose(h.inv_units, [400.0 - second])
    np.testing.assert_allclose(h.inv_perf, [2.5])
    # each installation is a cohort of this month, depreciated from its purchase value
    assert h.units.size == cohorts + 2
    np.testing.assert_allclose(h.vintage[-2:], [0.0, 0.0])
    life = h.cfg.depreciation_months
    np.testing.assert_allclose(
        h.depreciation_per_month[-2:], [400.0 * 100.0 / life, second * 200.0 / life]
    )


def test_nothing_is_installed_without_free_energized_mw():
    h = small_market().hyperscalers[0]
    h.energized_mw = h.used_mw
    h.receive_gpus(10.0, 1.0, 1.6, 100.0)
    waiting = h.inventory_h100e
    assert h.install_gpus() == 0.0
    assert h.inventory_h100e == waiting


def test_gpus_retire_at_the_end_of_their_depreciation_life():
    # at step 0 the fleet's cohorts are 1..36 months old; a 30-month life retires seven
    h = small_market(**{"hyperscalers.depreciation_months": 30}).hyperscalers[0]
    age = h.model.steps - h.vintage
    old = age >= 30
    assert old.sum() == 7
    keep_units, used = h.units[~old].copy(), h.used_mw
    h.retire()
    np.testing.assert_array_equal(h.units, keep_units)
    assert (h.model.steps - h.vintage < 30).all()
    assert h.used_mw < used
    assert h.depreciation == pytest.approx(h.depreciation_per_month.sum())


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
    h.price = 0.9 * h.marginal_cost
    assert np.all(h.gpus_wanted(0.0, gpu_price) == 0.0)
    assert np.shape(h.gpus_wanted(0.0, gpu_price)) == np.shape(gpu_price)


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
        "energized_mw",
        "pipeline_mw",
        "revenue",
        "region",
    }
    assert (row["layer"], row["region"]) == ("hyperscaler", "us")
