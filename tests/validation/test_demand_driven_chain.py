"""The causal chain runs from end users to hardware (issue 11's acceptance checks).

* Doubling every end-user segment's population (same seed, common random numbers)
  must raise the compute labs buy and, through the clouds' orders, the vendor's
  revenue and the clouds' capex over 2024-2027.
* Serving is a material share of the compute labs buy in 2024 and a larger one by
  2027: labs train as an investment against their market, not on a budget that grows
  on its own.
* The finite venture pool is never overdrawn, and the startup cap is only a memory
  guard (it never binds in the baseline).
"""

from __future__ import annotations

import pandas as pd
import pytest

from abm import ComputeMarket, load_config

pytestmark = pytest.mark.slow


def _years(df: pd.DataFrame, first: str, last: str) -> pd.DataFrame:
    return df[df["date"].str[:4].between(first, last)]


def _run(cfg, steps: int, seed: int = 1) -> pd.DataFrame:
    m = ComputeMarket(cfg, rng=seed)
    m.run(steps)
    return m.datacollector.get_model_vars_dataframe().iloc[1:]


@pytest.fixture(scope="module")
def doubled():
    cfg = load_config(None)
    segments = [
        s.model_copy(update={"population": 2 * s.population}) for s in cfg.end_users.segments
    ]
    users = cfg.end_users.model_copy(update={"segments": segments})
    twice = cfg.model_copy(update={"end_users": users})
    base, more = (_years(_run(c, 60), "2024", "2027") for c in (cfg, twice))
    return {k: more[k].sum() / base[k].sum() for k in ("compute_sold", "vendor_revenue", "capex")}


def test_more_end_users_buy_more_compute_and_more_hardware(doubled):
    # labs' compute follows their users (serving) and their market (training)
    assert doubled["compute_sold"] > 1.2
    # the clouds order for it: vendor revenue and capex rise too (seed 1, round 10:
    # compute x1.34, vendor revenue x1.52, capex x1.39; seeds 1-5 x1.34, x1.43, x1.30; round 9
    # seed 1 x1.39, x1.39, x1.30, seeds 1-5 x1.32, x1.38, x1.27; round 6:
    # compute x1.29, vendor revenue x1.57, capex x1.42; round 5 x1.49, x1.66, x1.51;
    # x1.48, x1.32, x1.22 before the labs' training rule of round 5 sized runs by the
    # market they win), though energised power binds the big four in even years and the
    # parents' own workloads are the same in both runs
    assert doubled["vendor_revenue"] > 1.1
    assert doubled["capex"] > 1.1


@pytest.fixture(scope="module")
def baseline():
    return _run(load_config(None), 60)


def test_serving_is_a_material_and_rising_share_of_compute(baseline):
    share = {y: _years(baseline, y, y)["serving_share"].mean() for y in ("2024", "2027")}
    assert 0.2 <= share["2024"] <= 0.6
    assert share["2027"] > share["2024"]


def test_labs_train_about_what_they_earn_in_2024(baseline):
    """Training is an investment the labs size by its return (docs/model.md 3.3.8): in
    2024 they spend on it about what they earn, as the largest lab did (compute ~$7B
    on $3.7B of revenue, ~70% of it research and training: ~1.3x). The rule that read
    the first-order condition at the share a lab keeps without training gave 0.55x."""
    y = _years(baseline, "2024", "2024")
    ratio = y["training_spend"].sum() / y["lab_revenue"].sum()
    assert 0.8 < ratio < 2.0


def test_the_labs_training_never_collapses_after_their_first_runs(baseline):
    """Labs expect their rivals to keep the training programmes they are seen to run
    (docs/model.md 3.3.8), so their training does not collapse while nothing has changed
    for any of them. With round 5's rule (rivals keep the frontier's past pace) every lab
    started no run for seven months from November 2024 (seed 1), and by May 2025 the
    labs' training had fallen to nothing; now no month of 2023-07..2027-12 is below the
    mean of the year before (seed 1), and over seeds 1-5 and 120 months the lowest month
    is 0.33 of it (a dip in October 2032, seed 4)."""
    spend = baseline.set_index("date")["training_spend"]
    year_before = spend.rolling(12).mean().shift(1)
    assert (spend / year_before)["2023-07":].min() > 0.1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_labs_rarely_all_start_no_run_in_the_same_month(seed):
    """A laggard facing a strong leader may pause, and a leader often starts no run for
    some months after a release, but all frontier labs together start no run in few
    months: 9, 9 and 11 of 120 (seeds 1-3, round 10; 2, 5 and 3 in round 9, when the labs'
    training was rationed after the parents' own work; 16, 10 and 12 before it). Rivals' past
    pace (round 5) gave 42, 34 and 33; reading rivals' last month's spending instead of a
    window's mean, 27-29. (With round 9's rules and the old start of $4.50 they were 17,
    21 and 4: the labs rationed in early 2023 paused together after the 2025 shortage.)"""
    m = ComputeMarket(load_config(None), rng=seed)
    together = 0
    for _ in range(120):
        m.step()
        together += all(lab.run_plans[-1] == 0 for lab in m.labs if lab.is_frontier)
    assert together <= 20


def test_the_venture_pool_is_never_overdrawn_and_the_startup_cap_never_binds(baseline):
    assert (baseline["vc_pool"] >= -1e-6).all()
    cap = load_config(None).startups.max_count
    assert baseline["startups_alive"].max() < cap
