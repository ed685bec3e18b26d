"""The venture pool in a running model: never overdrawn, its money accounted for at
every step, and the yearly VC of 2023 and 2024 against the calibration ranges."""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket
from abm.market import venture
from abm.market.venture import LPS, POOL
from abm.validation.targets import target

# VC funding to generative AI, the modelled layers (abm/validation/targets.py)
VC_RANGES = {
    year: (target(f"vc_funding_{year}").low * 1e9, target(f"vc_funding_{year}").high * 1e9)
    for year in ("2023", "2024")
}


def test_the_pool_is_never_overdrawn_and_every_dollar_is_accounted_for_at_every_step(
    monkeypatch,
):
    """Each month the rounds paid never exceed what the pool held when it paid them,
    the pool's balance equals commitments less rounds, dry powder returned and plus
    liquidations, and a boom-and-freeze climate does not change that. Limited partners
    fund the pool and receive dry powder, acquisitions and firms' payouts."""
    held: list[float] = []
    allocate = venture.VenturePool.allocate

    def watched(self, asks, scores, limits=None):
        held.append(self.balance)
        return allocate(self, asks, scores, limits)

    monkeypatch.setattr(venture.VenturePool, "allocate", watched)
    m = ComputeMarket(
        rng=2,
        **{
            "end_users.simulated_users": 400,
            "vc.climate_path": [[0.0, 1.0], [12.0, 3.0], [18.0, 0.05], [30.0, 1.0]],
        },
    )
    lps = m.ledger.balance(LPS)
    for _ in range(48):
        before = m.ledger.balance(POOL)
        m.step()
        f = m.ledger.step_flows
        lps += f.get("acquisition", 0.0) + f.get("vc_dry_powder_returned", 0.0)
        lps += f.get("payout", 0.0)  # free cash flow paid to owners (issue 11b)
        lps -= f.get("vc_commitments", 0.0)
        rounds = f.get("vc_labs", 0.0) + f.get("vc_startups", 0.0)
        assert rounds <= held[-1] * (1 + 1e-12) + 1e-3
        assert m.ledger.balance(POOL) >= -1e-3
        inflow = f.get("vc_commitments", 0.0) + f.get("liquidation", 0.0)
        outflow = rounds + f.get("vc_dry_powder_returned", 0.0)
        assert m.ledger.balance(POOL) == pytest.approx(before + inflow - outflow, abs=1.0)
        assert m.metrics["vc_pool"] == pytest.approx(m.ledger.balance(POOL))
        assert m.metrics["vc_funding"] == pytest.approx(rounds)
    assert m.ledger.error() < 1e-6 * max(m.ledger.step_volume, 1.0)
    # limited partners fund the pool and receive dry powder back and the acquisitions
    assert m.ledger.balance(LPS) == pytest.approx(lps, rel=1e-9)


def test_a_frozen_pool_funds_nothing():
    m = ComputeMarket(rng=3, **{"end_users.simulated_users": 300, "vc.climate": 0.0})
    m.run(24)
    df = m.datacollector.get_model_vars_dataframe()
    assert df["vc_supply"].iloc[1:].max() == 0.0
    assert df["vc_pool"].iloc[1:].max() == 0.0
    assert df["vc_funding"].iloc[1:].sum() == 0.0
    assert df["startup_entries"].iloc[1:].sum() == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("year", ["2023", "2024"])
def test_baseline_yearly_vc_falls_in_the_calibration_range(year):
    totals = []
    for seed in (1, 2, 3):
        df = ComputeMarket(rng=seed).run(24).datacollector.get_model_vars_dataframe().iloc[1:]
        totals.append(df.loc[df["date"].str[:4] == year, "vc_funding"].sum())
    lo, hi = VC_RANGES[year]
    assert lo <= float(np.mean(totals)) <= hi, f"{year}: ${np.mean(totals) / 1e9:.1f}B"
