"""The baseline model end to end: accounting, reproducibility, the 2023-2024 facts."""

import math

import mesa
import numpy as np
import pandas as pd
import pytest

from abm import ComputeMarket, load_config
from abm.invariants import violations
from abm.metrics import METRICS

STEPS = 120


@pytest.fixture(scope="module")
def baseline():
    """A 120-step baseline run, with the invariants checked after every step."""
    model = ComputeMarket(rng=7, record_flows=True)
    broken = []
    for _ in range(STEPS):
        model.step()
        broken += [f"step {model.steps}: {v}" for v in violations(model)]
    return model, model.datacollector.get_model_vars_dataframe(), broken


@pytest.mark.slow
def test_every_metric_of_the_contract_is_collected_once_per_step(baseline):
    _, df, _ = baseline
    assert list(df.index) == list(range(STEPS + 1))
    assert set(METRICS) <= set(df.columns)
    assert df["date"].iloc[0] == "2022-12" and df["date"].iloc[1] == "2023-01"
    assert df["date"].iloc[-1] == "2032-12"


def test_every_metric_is_finite(baseline):
    _, df, _ = baseline
    numbers = df.drop(columns="date").astype(float)
    assert np.isfinite(numbers.to_numpy()).all()


def test_invariants_hold_at_every_step(baseline):
    *_, broken = baseline
    assert broken == []


def test_ledger_error_is_at_rounding_level_of_each_steps_flows(baseline):
    _, df, _ = baseline
    ratio = df["ledger_error"].iloc[1:] / df["ledger_volume"].iloc[1:]
    assert ratio.max() < 1e-6


def test_shares_and_fractions_stay_in_range(baseline):
    _, df, _ = baseline
    for col in (
        "utilization",
        "compute_shortage",
        "token_shortage",
        "adoption",
        "startup_share",
        "vendor_profit_share",
    ):
        assert df[col].between(0.0, 1.0 + 1e-9).all(), col
    for col in (
        "gpu_price",
        "compute_price",
        "token_price",
        "price_at_fixed_capability",
        "installed_gpus",
        "dc_capacity_mw",
        "dc_pipeline_mw",
        "tokens",
        "user_spend",
        "capex",
        "gpu_shipments",
    ):
        assert (df[col] >= 0).all(), col


def test_money_on_the_graph_matches_the_ledger(baseline):
    model, df, _ = baseline
    flows = pd.DataFrame(model.supply.flow_table())
    last = flows[flows["step"] == STEPS]
    to_users = last[last["buyer"].isin([s.unique_id for s in model.segments])]
    assert to_users["value"].sum() == pytest.approx(df["user_spend"].iloc[-1], rel=1e-9)
    gpus = last[last["good"] == "gpus"]
    assert gpus["value"].sum() == pytest.approx(df["vendor_revenue"].iloc[-1], rel=1e-9)
    assert gpus["quantity"].sum() == pytest.approx(df["gpu_shipments"].iloc[-1], rel=1e-9)


@pytest.mark.slow
def test_same_seed_same_results_and_different_seeds_differ(baseline):
    _, df, _ = baseline
    again = ComputeMarket(rng=7).run(STEPS).datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(df, again)
    other = ComputeMarket(rng=8).run(24).datacollector.get_model_vars_dataframe()
    assert not np.allclose(df["tokens"].iloc[1:25], other["tokens"].iloc[1:25])


def test_seed_given_as_a_string_of_digits_is_the_same_seed():
    a = ComputeMarket(rng="5", **{"end_users.simulated_users": 800}).run(3)
    b = ComputeMarket(rng=5, **{"end_users.simulated_users": 800}).run(3)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )


def test_seed_is_mesas_other_name_for_rng_and_not_both_at_once():
    a = ComputeMarket(seed=5, **{"end_users.simulated_users": 200})
    b = ComputeMarket(rng=5, **{"end_users.simulated_users": 200})
    assert a.seed_value == b.seed_value == 5
    assert a.metrics == b.metrics
    with pytest.raises(ValueError, match=r"not both: got rng=1 and seed=3"):
        ComputeMarket(rng=1, seed=3)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"rng": 1.5}, TypeError, r"rng must be an integer seed .* got rng=1\.5"),
        ({"rng": -1}, ValueError, r"rng must be a non-negative integer seed, got rng=-1"),
        ({"rng": "-1"}, ValueError, r"got rng='-1'"),
        ({"rng": "seven"}, ValueError, r"got rng='seven'"),
        ({"rng": np.int64(-2)}, ValueError, r"got rng=.*-2"),
        ({"rng": [1, -2]}, ValueError, r"rng=\[1, -2\] is not a seed numpy accepts"),
        ({"rng": object()}, TypeError, r"rng=<object .* is not a seed numpy accepts"),
        ({"seed": 2.0}, TypeError, r"seed must be an integer seed .* got seed=2\.0"),
        ({"seed": -3}, ValueError, r"got seed=-3"),
    ],
)
def test_a_seed_that_is_not_one_is_an_error_naming_the_argument(given, error, message):
    with pytest.raises(error, match=message):
        ComputeMarket(**given)


def test_what_numpy_accepts_as_a_seed_still_seeds_the_model():
    users = {"end_users.simulated_users": 200}
    assert ComputeMarket(rng=" 9 ", **users).metrics == ComputeMarket(rng=9, **users).metrics
    # mesa draws its stdlib seed from the generator for these, so each is its own stream
    for seed in (np.int64(9), np.random.SeedSequence(9), [9, 1]):
        assert ComputeMarket(rng=seed, **users).metrics == ComputeMarket(rng=seed, **users).metrics
    assert ComputeMarket(rng=np.random.default_rng(9), **users).seed_value is None


def test_run_takes_a_count_of_months_and_refuses_anything_else():
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 200})
    assert m.run(0).steps == 0 and m.run(np.int64(1)).steps == 1
    with pytest.raises(ValueError, match=r"steps must be 0 or more, got steps=-1"):
        m.run(steps=-1)
    with pytest.raises(TypeError, match=r"got steps=2\.5"):
        m.run(2.5)
    with pytest.raises(TypeError, match=r"got steps='3'"):
        m.run("3")
    assert m.steps == 1


def test_dotted_keyword_overrides_reach_the_config():
    m = ComputeMarket(rng=1, **{"startups.initial_count": 3, "end_users__price_elasticity": 2.2})
    assert len(m.startups) == 3 and m.cfg.end_users.price_elasticity == 2.2


def test_population_weights_give_real_world_units():
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 2000})
    cfg = load_config()
    for seg, spec in zip(m.segments, cfg.end_users.segments, strict=True):
        assert seg.n * seg.weight == pytest.approx(spec.population)


def _year(df, year, col):
    return df.loc[df["date"].str.startswith(str(year)), col]


@pytest.fixture(scope="module")
def early_years():
    """2023-2024, the mean over five seeds: the calibration facts are about the
    expected path, not one draw."""
    runs = [
        ComputeMarket(rng=s).run(24).datacollector.get_model_vars_dataframe() for s in range(1, 6)
    ]
    numeric = [r.drop(columns="date") for r in runs]
    mean = sum(numeric) / len(numeric)
    mean.insert(0, "date", runs[0]["date"])
    return mean


@pytest.mark.slow
def test_rental_price_falls_from_its_2023_peak(early_years):
    df = early_years
    assert df["compute_price"].iloc[-1] < 0.95 * _year(df, 2023, "compute_price").max()


def test_vendor_gross_margin_is_near_the_reported_70_to_80_percent(early_years):
    m = pd.concat(
        [
            _year(early_years, 2023, "vendor_gross_margin"),
            _year(early_years, 2024, "vendor_gross_margin"),
        ]
    )
    assert 0.65 < m.mean() < 0.85


def test_token_volumes_rise_and_price_at_fixed_capability_falls(early_years):
    df = early_years
    assert _year(df, 2024, "tokens").sum() > 1.2 * _year(df, 2023, "tokens").sum()
    assert df["price_at_fixed_capability"].iloc[-1] < 0.5 * df["price_at_fixed_capability"].iloc[1]


def test_capex_rises_from_2023_to_2024(early_years):
    assert _year(early_years, 2024, "capex").sum() > _year(early_years, 2023, "capex").sum()


def test_mesa_batch_run_works_with_dotted_keywords():
    rows = mesa.batch_run(
        ComputeMarket,
        parameters={
            "end_users.price_elasticity": [1.2, 2.0],
            "rng": [1, 2],
            "end_users.simulated_users": 1000,
        },
        max_steps=12,
        number_processes=1,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert len(df) >= 4 and {"tokens", "compute_price"} <= set(df.columns)
    assert df.groupby(["end_users.price_elasticity", "rng"]).size().shape[0] == 4
    assert all(math.isfinite(v) for v in df["tokens"])


def test_tokens_per_task_index_is_the_multiplier_users_apply(baseline):
    model, df, _ = baseline
    seg = model.segments[0]
    assert df["tokens_per_task_index"].iloc[-1] == pytest.approx(
        float(np.mean(seg.tokens_per_task / seg.base_tokens_per_task)), rel=1e-12
    )


@pytest.mark.slow
def test_no_decision_reads_the_end_of_the_run():
    """No agent knows when the simulation ends: the first 60 months of a 72-month run
    are the 60-month run, to the bit (so late-run moves are dynamics, not a horizon)."""
    short = ComputeMarket(rng=3).run(60).datacollector.get_model_vars_dataframe()
    long = ComputeMarket(rng=3).run(72).datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(short, long.iloc[: len(short)], check_exact=True)
