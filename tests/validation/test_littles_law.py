"""Limit 7: Little's law for the data-centre pipeline: in steady state, MW under
way = MW started per month x mean months a project spends in the pipeline.

Config: ``configs/validation/littles_law.toml``: every cloud starts its maximum
number of projects each month (a constant arrival rate) through the US stages,
whose gamma-distributed durations have means 12 + 14 + 14 = 40 months. Measured
over months 100-180, after the empty initial pipeline has filled. Tolerance: 5%.
(The pipeline is read at month ends, after that month's progress, so a project is
seen for about its duration minus half a month: expect L ~ lambda (W - 0.5), 1.25%
below lambda W.)
"""

import pytest

from abm.validation.limits import littles_law_pipeline

from .runs import run

STEADY_FROM = 100  # months


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_data_centre_pipeline_obeys_littles_law(seed):
    model, df = run("littles_law", seed)
    window = df.iloc[STEADY_FROM:]
    dc = model.cfg.datacenters
    region = dc.regions[model.cfg.hyperscalers.regions[0]]
    mean_months = dc.lead_time_multiplier * (
        region.permitting_months + region.interconnection_months + region.construction_months
    )
    start_rate = float((window["dc_projects_started"] * dc.project_size_mw).mean())  # MW per month
    assert start_rate > 0 and window["dc_projects_started"].std() == 0  # steady arrivals
    expected = littles_law_pipeline(start_rate, mean_months)
    assert float(window["dc_pipeline_mw"].mean()) == pytest.approx(expected, rel=0.05)
