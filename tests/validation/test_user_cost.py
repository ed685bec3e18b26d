"""Hall-Jorgenson: in a competitive, unconstrained market the compute rental price
converges to the user cost of capital. Many clouds, power never binding (a fast
region, stages scaled to days), GPU prices held constant, demand growing; the user
cost is computed here from the parameters, not by the model's functions."""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket

COMPETITIVE = {
    "end_users.simulated_users": 2000,
    "hyperscalers.count": 8,
    "hyperscalers.regions": ["fast"],
    "neoclouds.count": 0,
    "datacenters.lead_time_multiplier": 0.02,  # projects are powered within the month
    "datacenters.max_starts_per_month": 100,
    "hyperscalers.planning_horizon_months": 1.0,  # = the delivery lead: orders ship at once
    # two identical vendors at a constant price: the cost of a GPU is a parameter
    "gpu.price_adjustment_speed": 0.0,
    "gpu.next_release_month": 100_000,
    "gpu.vendors.0.profit_seeking": False,
    "gpu.vendors.0.capacity_units_per_month": 1e8,
    "gpu.vendors.0.initial_backlog_months": 0.0,
    "gpu.vendors.1.initial_backlog_months": 0.0,
    "gpu.vendors.1.initial_price": 27_500.0,
    "gpu.vendors.1.perf_multiplier": 1.0,
    "gpu.vendors.1.capacity_units_per_month": 1e8,
}


def user_cost_from_parameters(cfg) -> float:
    hc, g, dc = cfg.hyperscalers, cfg.gpu, cfg.datacenters
    region = dc.regions["fast"]
    kw = g.first_generation_power_kw / g.first_generation_perf  # per H100e
    building = (
        kw
        / 1000.0
        * dc.cost_per_mw
        * region.cost_multiplier
        * (1 + region.labour_share * region.labour_premium)
    )
    installed = 27_500.0 / g.first_generation_perf + building
    omega = 1.0 - (g.cost_growth_per_generation / g.perf_gain_per_generation) ** (
        12.0 / g.release_interval_months
    )
    charge = hc.cost_of_capital + hc.physical_wear_per_year + omega
    running = kw * hc.energy_price_per_kwh + hc.opex_per_gpu_hour
    return installed * charge / (8760.0 * hc.target_utilization) + running


def test_user_cost_of_an_h100_in_2024_is_about_three_dollars_an_hour():
    # the ECONOMICS check: ~$50k installed, r + delta + omega ~ 0.4, u* 0.8 -> ~$3/h
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 200})
    uc = user_cost_from_parameters(m.cfg)
    assert 2.0 < uc < 3.2
    assert m.hyperscalers[0].user_cost == pytest.approx(m.metrics["user_cost"], rel=0.1)


@pytest.mark.slow
def test_competitive_rental_price_converges_to_the_user_cost_of_capital():
    m = ComputeMarket(rng=3, **COMPETITIVE)
    m.run(96)
    df = m.datacollector.get_model_vars_dataframe()
    uc = user_cost_from_parameters(m.cfg)
    np.testing.assert_allclose(df["user_cost"].iloc[1:], uc, rtol=1e-6)  # the clouds see it too
    late = df.iloc[37:]  # after a three-year burn-in from the 2023 shortage
    assert late["compute_price"].mean() == pytest.approx(uc, rel=0.05)
    assert late["compute_shortage"].mean() < 0.02
    assert np.abs(late["utilization"].mean() - m.cfg.hyperscalers.target_utilization) < 0.1
