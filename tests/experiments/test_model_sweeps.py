"""Sweeps of the real model (short runs): backends agree, config errors stop early,
the example sweep files run, and ``mesa.batch_run`` works on ``ComputeMarket``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from abm.config import ConfigError
from abm.experiments import load_summary, load_sweep, run_sweep
from abm.experiments.cli import main
from abm.experiments.runner import check_model_config, run_model
from abm.experiments.spec import STATS

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "configs" / "baseline.toml"
SMALL = {"end_users.simulated_users": 2000}


def small_sweep(**over) -> dict:
    spec = {
        "name": "model",
        "base": str(BASELINE),
        "seed": 11,
        "steps": 12,
        "replicates": 2,
        "fixed": SMALL,
        "parameters": {"end_users.price_elasticity": [1.2, 2.0], "startups.initial_count": [20]},
        "outcomes": [
            {"metric": "tokens", "stat": "final"},
            {"metric": "compute_price", "stat": "mean", "window": [6, 12]},
            {"metric": "ledger_error", "stat": "peak"},
        ],
        "metrics": {"keep": ["date", "tokens", "compute_price", "token_price"]},
    }
    spec.update(over)
    return spec


def test_run_model_returns_one_row_per_step_with_the_contract_metrics():
    df = run_model(base=BASELINE, overrides=SMALL, seed=5, steps=6)
    assert df.index.tolist() == list(range(7))
    for col in ("date", "gpu_price", "compute_price", "token_price", "tokens", "ledger_error"):
        assert col in df.columns
    again = run_model(base=BASELINE, overrides=SMALL, seed=5, steps=6)
    pd.testing.assert_frame_equal(df, again)


def test_run_model_lets_mesa_forget_the_model():
    import mesa

    before = len(mesa.Agent._ids)
    run_model(base=BASELINE, overrides=SMALL, seed=5, steps=1)
    assert len(mesa.Agent._ids) == before  # Mesa 3.3.1 would keep every model alive


@pytest.mark.slow
def test_model_sweep_summaries_are_identical_for_one_worker_two_workers_and_dask(tmp_path):
    spec = small_sweep()
    results = {
        "serial": run_sweep(spec, workers=1, out_dir=tmp_path / "serial", quiet=True),
        "pool": run_sweep(spec, workers=2, out_dir=tmp_path / "pool", quiet=True),
        "dask": run_sweep(spec, dask_local=2, out_dir=tmp_path / "dask", quiet=True),
    }
    reference = load_summary(tmp_path / "serial")
    assert len(reference) == 4
    assert (reference["status"] == "ok").all()
    assert reference["tokens_final"].nunique() == 4
    assert (reference["ledger_error_peak"] < 1.0).all()  # $: conservation holds in every run
    for name, result in results.items():
        assert result.n_failed == 0
        pd.testing.assert_frame_equal(load_summary(tmp_path / name), reference)
    run = pd.read_parquet(tmp_path / "pool" / "runs" / "run_000003.parquet")
    assert list(run.columns) == [  # kept metrics, then outcome metrics not already kept
        "run_id",
        "step",
        "date",
        "tokens",
        "compute_price",
        "token_price",
        "ledger_error",
    ]
    assert run["date"].str.fullmatch(r"\d{4}-\d{2}").all()


def test_a_misspelt_config_key_stops_the_sweep_before_anything_is_written(tmp_path, capsys):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(
        f'name = "bad"\nbase = "{BASELINE}"\nseed = 1\nsteps = 3\n'
        '[parameters]\n"end_users.price_elasticty" = [1.2, 2.0]\n'
    )
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "price_elasticty" in err and str(sweep) in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace('metric = "tokens"', 'metric = "tokns"'),
            "outcomes.0.metric: unknown metric 'tokns'; did you mean 'tokens'?",
        ),
        (
            lambda t: t.replace('keep = ["date", "tokens"]', 'keep = ["date", "user_spnd"]'),
            "metrics.keep: unknown metric 'user_spnd'; did you mean 'user_spend'?",
        ),
    ],
)
def test_a_misspelt_metric_stops_the_sweep_before_the_first_run(tmp_path, capsys, edit, expected):
    text = (
        f'name = "typo"\nbase = "{BASELINE}"\nseed = 1\nsteps = 3\n'
        '[fixed]\n"end_users.simulated_users" = 1000\n'
        '[parameters]\n"end_users.price_elasticity" = [1.2, 2.0]\n'
        '[[outcomes]]\nmetric = "tokens"\nstat = "final"\n'
        '[metrics]\nkeep = ["date", "tokens"]\n'
    )
    sweep = tmp_path / "typo.toml"
    sweep.write_text(edit(text))
    assert main(["sweep", str(sweep), "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(sweep) in err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


@pytest.mark.parametrize("stat", STATS)
def test_an_outcome_on_a_non_numeric_metric_stops_the_sweep_before_the_first_run(
    tmp_path, capsys, stat
):
    sweep = tmp_path / "dates.toml"
    sweep.write_text(
        f'name = "dates"\nbase = "{BASELINE}"\nseed = 1\nsteps = 3\n'
        f'[[outcomes]]\nmetric = "date"\nstat = "{stat}"\n'
    )
    assert main(["sweep", str(sweep), "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {sweep}: outcomes.0 ('date_{stat}'): metric 'date' is not numeric, so stat "
        f"'{stat}' cannot apply; an outcome summarises a numeric metric (keep it with "
        "metrics.keep instead)\n"
    )
    assert not (tmp_path / "out").exists()


def test_run_model_says_which_of_its_metrics_are_not_numbers():
    df = run_model(base=BASELINE, overrides=SMALL, seed=5, steps=1)
    text = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    assert text == list(run_model.non_numeric) == ["date"]


def test_a_float_range_on_a_whole_number_parameter_suggests_an_int_distribution(tmp_path):
    spec = small_sweep(
        design="lhs",
        n=2,
        replicates=1,
        parameters={"model_developers.frontier_count": {"low": 2, "high": 6}},
    )
    with pytest.raises(ConfigError) as err:
        run_sweep(spec, workers=1, out_dir=tmp_path / "out", quiet=True)
    assert str(err.value).endswith(
        "(Input should be a valid integer); 'model_developers.frontier_count' takes whole "
        'numbers (a range: add distribution = "int")'
    )
    assert not (tmp_path / "out").exists()


def test_out_of_range_sampled_values_are_caught_before_running(tmp_path):
    spec = small_sweep(parameters={"hyperscalers.target_utilization": [0.8, 1.5]})
    with pytest.raises(ConfigError, match="target_utilization"):
        run_sweep(spec, workers=1, out_dir=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["smoke", "jevons", "sobol"])
def test_example_sweep_keys_and_values_are_valid_model_config(name):
    from abm.experiments import build_design

    spec = load_sweep(ROOT / "configs" / "sweeps" / f"{name}.toml")
    points = [t.params for t in build_design(spec).tasks]
    check_model_config(spec.base, spec.fixed, points, name)


@pytest.mark.slow
def test_the_smoke_sweep_runs_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "smoke"
    assert main(["sweep", str(ROOT / "configs" / "sweeps" / "smoke.toml"), "--out", str(out)]) == 0
    assert "36 runs (0 already stored, 36 run now)" in capsys.readouterr().out
    summary = load_summary(out)
    assert len(summary) == 36
    assert (summary["status"] == "ok").all()
    assert (summary["ledger_error_peak"] < 1.0).all()


def test_mesa_batch_run_works_on_compute_market():
    import mesa

    from abm import ComputeMarket

    rows = mesa.batch_run(
        ComputeMarket,
        parameters={"end_users.price_elasticity": [1.2, 2.0], "rng": [1, 2]},
        max_steps=6,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 4
    assert {(r["end_users.price_elasticity"], r["rng"]) for r in rows} == {
        (1.2, 1),
        (1.2, 2),
        (2.0, 1),
        (2.0, 2),
    }
    assert all(r["tokens"] > 0 for r in rows)
