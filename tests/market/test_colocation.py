"""The colocation market (``datacenters.colocation.enabled``, off in the baseline): a
finite supply of powered shells, allocated pro rata to the clouds' requests, what is
left vacant kept for later months; with the switch off there is no market and the
neoclouds build in their own (colo) region, as in the baseline."""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket
from abm.config import ColocationConfig
from abm.market.colocation import ColocationMarket

SMALL = {"end_users.simulated_users": 200}
ON = {"datacenters.colocation.enabled": True}


def _market(**update) -> ColocationMarket:
    cfg = ComputeMarket(rng=1, **SMALL).cfg.datacenters.colocation
    return ColocationMarket(ColocationConfig(**{**cfg.model_dump(), **update}))


def test_deliveries_follow_the_path_then_grow():
    m = _market(supply_path=[[0.0, 1200.0], [12.0, 2400.0]], growth_per_year=0.2)
    assert m.deliveries_mw_per_year(0) == pytest.approx(1200.0)
    assert m.deliveries_mw_per_year(6) == pytest.approx(1800.0)  # linear between points
    assert m.deliveries_mw_per_year(36) == pytest.approx(2400.0 * 1.2**2)


def test_shells_are_rationed_pro_rata_and_what_is_left_stays_vacant():
    m = _market(supply_path=[[0.0, 1200.0]], growth_per_year=0.0)  # 100 MW a month
    np.testing.assert_allclose(m.allocate(0, [150.0, 50.0]), [75.0, 25.0])  # half of each
    assert m.vacant_mw == 0.0
    np.testing.assert_allclose(m.allocate(1, [30.0, 10.0]), [30.0, 10.0])  # all of it
    assert m.vacant_mw == pytest.approx(60.0)
    np.testing.assert_allclose(m.allocate(2, [0.0, 200.0]), [0.0, 160.0])  # vacant + new
    assert m.vacant_mw == 0.0


def test_off_in_the_baseline_no_market_and_neoclouds_in_their_own_region():
    m = ComputeMarket(rng=1, **SMALL)
    assert m.colocation is None
    assert all(h.colo is None for h in m.hyperscalers)
    neo = [h for h in m.hyperscalers if h.kind == "neocloud"]
    assert neo and all(h.region is m.cfg.datacenters.regions["colo"] for h in neo)


def test_on_the_clouds_lease_shells_and_pay_the_rent():
    m = ComputeMarket(rng=1, **SMALL, **ON)
    neo = [h for h in m.hyperscalers if h.kind == "neocloud"]
    assert all(h.region is m.cfg.datacenters.regions["us"] for h in neo)
    m.run(18)
    leased = sum(float(h.l_mw.sum()) for h in m.hyperscalers)
    rent = m.cfg.datacenters.colocation.rent_per_kw_month
    assert leased > 0  # 11 months from signing to power: leases energised by month 18
    assert sum(h.lease_cost for h in m.hyperscalers) == pytest.approx(leased * 1000.0 * rent)
    assert m.colocation.delivered_mw > 0
