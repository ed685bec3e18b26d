"""Salter's (1960) vintage rule where power binds, in its two halves: a vintage is
worth replacing when a new GPU's quasi-rent per MW, net of its annualised price,
exceeds the vintage's own quasi-rent per MW (the investment decision, which sizes
replacement orders); once new GPUs are delivered their price is sunk and they displace
the vintages earning least per MW (dispatch); nothing is scrapped when power is slack.
The thresholds are derived here from the parameters, independently of the model's
functions."""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket

NEW_PRICE, NEW_KW = 20_000.0, 0.8  # $ and kW per H100e of the newest GPU
OLD_KW, MID_KW = 1.6, 0.896  # kW per H100e of the two vintages in service


def two_vintage_cloud(price: float, power_binds: bool = True):
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 200})
    h = m.hyperscalers[0]
    h.units = np.array([1000.0, 1000.0])
    h.perf = np.array([1.0, 2.5])
    h.kw = np.array([OLD_KW, MID_KW * 2.5])
    h.vintage = np.array([-30.0, -6.0])
    h.depreciation_per_month = np.array([1e5, 2e5])
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = h.inv_vintage = np.zeros(0)
    h.new_gpu_price, h.new_kw_per_h100e = NEW_PRICE, NEW_KW
    h.price = price
    h.energized_mw = h.used_mw if power_binds else 10 * h.used_mw
    h.receive_gpus(5000.0, 1.0, NEW_KW, NEW_PRICE)  # 4 MW waiting: more than the old cohort
    return h


def salter_threshold(cfg, kw_old: float) -> float:
    """The rental price above which a new GPU on a MW earns more, net of its capital
    charge, than a vintage drawing ``kw_old`` kW per H100e earns on it:
    ``(p - c_new) u / k_new - P (r + delta + omega) / (8760 k_new) = (p - c_old) u / k_old``."""
    hc, g = cfg.hyperscalers, cfg.gpu
    omega = 1.0 - (g.cost_growth_per_generation / g.perf_gain_per_generation) ** (
        12.0 / g.release_interval_months
    )
    charge = hc.cost_of_capital + hc.physical_wear_per_year + omega
    u = hc.target_utilization

    def run(k):
        return k * hc.energy_price_per_kwh + hc.opex_per_gpu_hour

    num = (
        u * run(NEW_KW) / NEW_KW + NEW_PRICE * charge / (8760.0 * NEW_KW) - u * run(kw_old) / kw_old
    )
    return num / (u / NEW_KW - u / kw_old)


def test_a_vintage_is_replaceable_exactly_above_its_salter_threshold():
    """The investment half of the rule, which sizes replacement orders: replace a
    vintage when a new GPU's quasi-rent per MW, net of its capital charge, is higher."""
    cfg = two_vintage_cloud(3.0).model.cfg
    p_old, p_mid = salter_threshold(cfg, OLD_KW), salter_threshold(cfg, MID_KW)
    assert 0.5 < p_old < p_mid  # the less efficient vintage goes first
    for price, expected in (
        (0.99 * p_old, [False, False]),  # both still earn more on their MW
        (1.01 * p_old, [True, False]),  # the old cohort is worth replacing, the newer not
        (0.99 * p_mid, [True, False]),
        (1.01 * p_mid, [True, True]),  # above both thresholds both are
    ):
        assert two_vintage_cloud(price).replaceable().tolist() == expected


def test_delivered_gpus_displace_the_vintage_that_earns_least_per_mw():
    """The dispatch half: once new GPUs are delivered their price is sunk, so where
    power binds they displace the vintages earning least per MW, until they fit."""
    cfg = two_vintage_cloud(3.0).model.cfg
    h = two_vintage_cloud(0.99 * salter_threshold(cfg, OLD_KW))  # not worth buying for...
    h.inv_units = np.array([2000.0])  # ...but delivered: 1.6 MW, the old cohort's
    h.retire()
    np.testing.assert_allclose(h.units, [1000.0])  # the old cohort is gone, whole
    np.testing.assert_allclose(h.kw, [MID_KW * 2.5])
    both = two_vintage_cloud(3.0)
    both.inv_units = np.array([20_000.0])  # 16 MW waiting: every vintage earns less per MW
    both.retire()
    assert both.units.size == 0


@pytest.mark.parametrize("factor", [1.01, 3.0])
def test_nothing_is_scrapped_when_power_is_slack(factor):
    cfg = two_vintage_cloud(3.0).model.cfg
    h = two_vintage_cloud(factor * salter_threshold(cfg, MID_KW), power_binds=False)
    assert h.retire() == 0.0
    np.testing.assert_allclose(h.units, [1000.0, 1000.0])
