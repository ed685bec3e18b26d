"""Limit 5: bullwhip. Forecast-driven GPU orders with delivery lead times amplify
end-user demand noise, more so with longer leads, less when clouds share
information.

Config: ``configs/validation/bullwhip.toml``: four clouds with live compute prices,
end demand growing 35% a year with persistent noise (AR(1), rho 0.9), a 12-month
GPU delivery lead that the clouds plan across. The ratio is
:func:`abm.validation.limits.bullwhip_ratio`: Var(GPU orders) over Var(the GPUs end
demand calls for each month), both divided by the known demand trend, months 36
onward. Claims: above 1 at a 12-month lead (each seed); rising with the lead time
(1, 6, 12 months; mean over seeds); with ``hyperscalers.information_sharing`` at
least 25% lower (mean over seeds), and unchanged with a single cloud, whose own
order stream is end demand already.
"""

import numpy as np
import pandas as pd
import pytest

from abm.validation.limits import bullwhip_ratio

from .runs import demand_trend, run

SEEDS = (1, 2)
BURN_IN = 36  # months


def ratio(seed: int = 1, lead: int = 12, **overrides) -> float:
    model, df = run(
        "bullwhip",
        seed,
        gpu__delivery_lead_months=lead,
        hyperscalers__planning_horizon_months=float(lead),
        **overrides,
    )
    window = df.iloc[BURN_IN:]
    hc, hours = model.cfg.hyperscalers, model.cfg.simulation.hours_per_month
    gpu_hours_per_mtok = 1e6 / model.cfg.model_developers.tokens_per_gpu_hour
    fleet_needed = window["token_demand"] * gpu_hours_per_mtok / (hours * hc.target_utilization)
    trend = demand_trend(model, window.index.to_numpy())
    return bullwhip_ratio(window["gpu_orders"].iloc[1:], fleet_needed, trend)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_gpu_orders_amplify_end_demand_at_a_twelve_month_lead(seed):
    assert ratio(seed) > 1.0


@pytest.mark.slow
def test_bullwhip_rises_with_the_delivery_lead_time():
    by_lead = [np.mean([ratio(s, lead) for s in SEEDS]) for lead in (1, 6, 12)]
    assert by_lead[0] < by_lead[1] < by_lead[2]
    assert by_lead[0] < 1.0 < by_lead[2]


@pytest.mark.slow
def test_information_sharing_dampens_the_bullwhip():
    own = np.mean([ratio(s) for s in SEEDS])
    shared = np.mean([ratio(s, hyperscalers__information_sharing=True) for s in SEEDS])
    assert shared < 0.75 * own


def test_information_sharing_changes_nothing_for_a_single_cloud():
    _, own = run("bullwhip", 1, hyperscalers__count=1, simulation__steps=48)
    _, shared = run(
        "bullwhip",
        1,
        hyperscalers__count=1,
        simulation__steps=48,
        hyperscalers__information_sharing=True,
    )
    pd.testing.assert_series_equal(own["gpu_orders"], shared["gpu_orders"])
