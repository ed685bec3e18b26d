"""Scenario files and the H1-H7 experiments built on them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from abm import ComputeMarket, load_config
from abm.config import CONFIG_DIR
from abm.validation.hypotheses import (
    ARMS,
    EXPERIMENTS,
    _change,
    _order_to_install,
    _peaks,
    _run_arm,
    cv_of_changes,
    run_hypotheses,
    write_hypotheses,
)

SCENARIOS = sorted((CONFIG_DIR / "scenarios").glob("*.toml"))
SMOKE_USERS = 3000  # a smoke run needs no million users (configs/scenarios/large.toml)


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_loads_runs_and_gives_finite_metrics(path: Path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    if cfg.end_users.simulated_users > SMOKE_USERS:
        cfg = load_config(path, overrides={"end_users.simulated_users": SMOKE_USERS})
    model = ComputeMarket(config=cfg, rng=1).run(4)
    df = model.datacollector.get_model_vars_dataframe()
    numbers = df.drop(columns="date").astype(float).to_numpy()
    assert len(df) == 5 and np.isfinite(numbers).all()
    assert df["ledger_error"].max() <= 1e-6 * df["ledger_volume"].max()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_extends_the_baseline_and_says_what_it_represents(path: Path):
    text = path.read_text()
    assert text.lstrip().startswith("#"), "a scenario opens with a comment on what it represents"
    assert 'extends = "../baseline.toml"' in text


def _differences(a, b, prefix=""):
    out = set()
    for key in a.keys() | b.keys():
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out |= _differences(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.add(f"{prefix}{key}")
    return out


@pytest.mark.parametrize(
    "name, keys",
    [
        ("demand_elastic", {"end_users.price_elasticity"}),
        ("demand_inelastic", {"end_users.price_elasticity"}),
        ("first_party_apps", {"model_developers.first_party_apps"}),
        (
            "buildout_fast",
            {
                "hyperscalers.regions",
                "datacenters.regions.us.permitting_months",
                "datacenters.regions.us.interconnection_months",
            },
        ),
        ("regions_all_us", {"hyperscalers.regions"}),
        ("regions_all_fast", {"hyperscalers.regions"}),
        ("vc_boom_freeze", {"vc.climate_path"}),
        ("gpu_generations_slow", {"gpu.release_interval_months"}),
        ("gpu_generations_fast", {"gpu.release_interval_months"}),
    ],
)
def test_a_scenario_changes_only_the_levers_it_is_about(name, keys):
    base = load_config().to_dict()
    scenario = load_config(CONFIG_DIR / "scenarios" / f"{name}.toml").to_dict()
    changed = _differences(base, scenario) - {"name", "description"}
    assert changed == keys


def test_scenario_pairs_pull_their_levers_in_opposite_directions():
    get = lambda n: load_config(CONFIG_DIR / "scenarios" / f"{n}.toml")  # noqa: E731
    assert (
        get("demand_elastic").end_users.price_elasticity
        > 1
        > get("demand_inelastic").end_users.price_elasticity
    )
    strong, weak = (
        get("pricing_power_strong").model_developers,
        get("pricing_power_weak").model_developers,
    )
    assert (
        strong.frontier_count < weak.frontier_count
        and strong.open_weight_gap > weak.open_weight_gap
    )
    slow, fast = (
        get("buildout_us_constrained").datacenters.regions["us"],
        get("buildout_fast").datacenters.regions["us"],
    )
    assert slow.permitting_months + slow.interconnection_months > 3 * (
        fast.permitting_months + fast.interconnection_months
    )
    assert (
        get("gpu_generations_slow").gpu.release_interval_months
        > get("gpu_generations_fast").gpu.release_interval_months
    )
    levels = [level for _, level in get("vc_boom_freeze").vc.climate_path]
    assert (
        max(levels) > 2.0 and min(levels[levels.index(max(levels)) :]) < 0.5
    )  # a boom, then a freeze


def test_every_experiment_arm_is_a_scenario_file():
    for arm in ARMS.values():
        assert (CONFIG_DIR / arm.config).is_file(), arm.config
    used = {arm.config for e in EXPERIMENTS for arm in e.arms}
    mine = {f"scenarios/{p.name}" for p in SCENARIOS} - {"scenarios/large.toml"}
    assert mine <= used, f"scenario files no experiment uses: {sorted(mine - used)}"


# ---------------------------------------------------------------- small statistics
def test_volatility_of_a_flow_is_the_std_of_its_changes_over_its_mean():
    assert cv_of_changes(np.full(10, 5.0)) == 0.0
    x = np.array([10.0, 12.0, 10.0, 12.0, 10.0])  # changes +-2 around a mean of 10.8
    assert cv_of_changes(x) == pytest.approx(2.0 / 10.8)


def test_price_peaks_count_the_cycles_of_a_cobweb():
    t = np.arange(60)
    assert _peaks(np.sin(2 * np.pi * t / 20) + 3.0) == 3
    assert _peaks(np.linspace(1.0, 2.0, 30)) == 0


def test_order_to_install_lag_is_backlog_plus_waiting_stock_over_deliveries():
    import pandas as pd

    df = pd.DataFrame(
        {
            "step": [1, 2],
            "vendor_backlog_months": [3.0, 3.0],
            "gpu_inventory": [200.0, 200.0],
            "gpu_shipments_h100e": [100.0, 100.0],
        }
    )
    assert _order_to_install(df, 1, 2) == pytest.approx(5.0)


# ---------------------------------------------------------------- the experiments
LATE = {"H5", "H7"}  # read windows after 2024 (H5) and months 31-72 (H7), beyond a 14-month run


@pytest.fixture(scope="module")
def short_experiments():
    """Every experiment, one seed, capped at 14 months: that the machinery works, not the answers."""
    return run_hypotheses(seeds=1, months=14)


@pytest.mark.slow
def test_every_experiment_gives_finite_numbers_and_a_finding(short_experiments, tmp_path):
    result = short_experiments
    assert set(result.findings) == {e.key for e in EXPERIMENTS}
    for key, finding in result.findings.items():
        assert finding, key
        if key not in LATE:
            assert "nan" not in finding, key
    table = write_hypotheses(result, tmp_path, seeds=1)
    assert set(table["hypothesis"]) == {e.key for e in EXPERIMENTS}
    finite = table["mean"].map(math.isfinite)
    assert finite[~table["hypothesis"].isin(LATE)].all()
    md = (tmp_path / "hypotheses.md").read_text()
    for e in EXPERIMENTS:
        assert f"## {e.key}:" in md


@pytest.mark.slow
def test_jevons_along_a_fixed_demand_curve_spend_rises_iff_elastic():
    """H1's price effect alone, 36 months from January 2024: the textbook sign."""
    for label, rises in (("elastic, demand fixed", True), ("inelastic, demand fixed", False)):
        arm = ARMS[label]
        df = _run_arm(arm.config, arm.overrides, 1, 48)
        assert _change(df, "retail_token_price", 13, 48) < -0.3  # tokens get much cheaper
        spend = _change(df, "user_spend", 13, 48)
        assert (spend > 0) if rises else (spend < 0), (label, spend)
