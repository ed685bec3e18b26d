"""A new GPU generation ramps up over months (docs/model.md 3.3.19): what that changes.

With no ramp (``gpu.generation_ramp_months = 0``) the new generation replaces the old in
one month; the vendor keeps its margin on cost, so the price of an H100-equivalent falls
by the roadmap's ratio (cost x1.45 for performance x2.5: -42%) at once, and everything
priced on it jumps: the user cost of a new GPU, and the parents' own work planned at that
cost. With the 8-month ramp NVIDIA's Blackwell figures give, the same fall is spread over
the ramp. The launch premium is a cost the vendor bears while it learns; it prices on the
mature cost (Spence 1981), so the premium moves its books and nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest

from abm import ComputeMarket

MONTHS = 36  # the first release (end of January 2025) and its ramp
SMALL = {"end_users.simulated_users": 500}


def run(**over):
    model = ComputeMarket(rng=1, **SMALL, **over)
    own = []
    for _ in range(MONTHS):
        model.step()
        own.append(sum(h.own_demand for h in model.hyperscalers))
    return model.datacollector.get_model_vars_dataframe(), np.array(own)


@pytest.fixture(scope="module")
def step():
    return run(**{"gpu.generation_ramp_months": 0})


@pytest.fixture(scope="module")
def ramp():
    return run()


def largest_monthly_fall(series) -> float:
    return float((1.0 - series / series.shift()).max())


def test_without_a_ramp_an_h100e_gets_42_percent_cheaper_in_one_month(step):
    df, _ = step
    g = ComputeMarket(rng=1, **SMALL).cfg.gpu
    roadmap = 1.0 - g.cost_growth_per_generation / g.perf_gain_per_generation  # 0.42
    # the release's fall, give or take the month's own price move (at most 2%)
    assert largest_monthly_fall(df["gpu_price_per_h100e"]) == pytest.approx(roadmap, abs=0.02)


def test_with_the_ramp_no_month_takes_even_half_of_that_fall(step, ramp):
    g = ComputeMarket(rng=1, **SMALL).cfg.gpu
    roadmap = 1.0 - g.cost_growth_per_generation / g.perf_gain_per_generation
    assert largest_monthly_fall(ramp[0]["gpu_price_per_h100e"]) < 0.5 * roadmap
    # and the whole fall still happens: two years in, an H100e costs about the same
    ratio = ramp[0]["gpu_price_per_h100e"].iloc[-1] / step[0]["gpu_price_per_h100e"].iloc[-1]
    assert ratio == pytest.approx(1.0, abs=0.15)


def test_own_work_planned_at_the_user_cost_no_longer_jumps_at_the_release(step, ramp):
    jump = {name: float((own[1:] / own[:-1]).max()) for name, (_, own) in
            {"step": step, "ramp": ramp}.items()}  # fmt: skip
    assert jump["step"] > 1.6  # the user cost of a new GPU falls ~40% in one month
    assert jump["ramp"] < 1.25


def test_the_launch_premium_moves_the_vendors_books_and_nothing_else(ramp):
    plain, _ = run(**{"gpu.launch_cost_premium": 0.0})
    df, _ = ramp
    differ = {c for c in df.columns if not df[c].equals(plain[c])}
    books = {"vendor_gross_margin", "margin_vendor", "profit_vendor", "vendor_profit_share",
             "lead_vendor_gross_profit", "ledger_error", "ledger_volume"}  # fmt: skip
    assert differ <= books, differ - books
    # its margin dips while the new parts are dear, and less than the premium's size
    dip = plain["vendor_gross_margin"] - df["vendor_gross_margin"]
    assert dip.max() > 0.02
    assert (dip >= -1e-12).all()
    assert dip.iloc[-1] < dip.max() / 3  # learning: a year after the ramp, most is gone
