"""Summary by design point, plots, load_runs and CSV: checked against the stored runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abm.config import ConfigError
from abm.experiments import load_runs, load_summary
from abm.experiments.analysis import (
    envelope_figure,
    outcome_figure,
    parameter_units,
    short_names,
    summary_by_point,
    sweep_report,
)
from abm.experiments.cli import main
from abm.experiments.spec import SweepSpec
from abm.experiments.storage import SweepStore

from .conftest import ALLOW_TOY, toy_sweep_text

ROOT = Path(__file__).resolve().parents[2]
ELASTICITY, LABS = "end_users.price_elasticity", "model_developers.frontier_count"
OUTCOMES = ["tokens_final", "user_spend_sum", "compute_price_time_of_peak"]
PNG = b"\x89PNG\r\n\x1a\n"

SMALL_GRID = f"""
name = "small_grid"
base = "{ROOT / "configs" / "baseline.toml"}"
seed = 11
steps = 6
design = "grid"
replicates = 2

[fixed]
"end_users.simulated_users" = 500

[parameters]
"{ELASTICITY}" = [1.2, 2.0]
"{LABS}" = [2, 4]

[[outcomes]]
metric = "tokens"
stat = "final"

[[outcomes]]
metric = "user_spend"
stat = "sum"

[[outcomes]]
metric = "compute_price"
stat = "time_of_peak"

[metrics]
keep = ["date", "tokens", "user_spend", "compute_price", "token_price"]
"""


@pytest.fixture(scope="module")
def small_grid(tmp_path_factory):
    """A 2 x 2 grid of the real model, 2 seeds, 6 months, run once from the command line."""
    tmp = tmp_path_factory.mktemp("small_grid")
    path = tmp / "small_grid.toml"
    path.write_text(SMALL_GRID)
    out = tmp / "out"
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["sweep", str(path), *ALLOW_TOY, "--workers", "1", "--out", str(out), "--csv"])
    assert code == 0
    return out, printed.getvalue()


def stored_runs_directly(out: Path) -> pd.DataFrame:
    """Every stored run file, read one by one, with its design row: no code under test."""
    design = pd.read_parquet(out / "design.parquet")
    frames = [pd.read_parquet(f) for f in sorted((out / "runs").glob("run_*.parquet"))]
    return pd.concat(frames).merge(design[["run_id", "point_id", ELASTICITY, LABS]], on="run_id")


def test_the_summary_by_point_equals_a_direct_computation_from_the_stored_runs(small_grid):
    out, printed = small_grid
    runs = stored_runs_directly(out)
    per_run = runs.sort_values("step").groupby("run_id")
    direct = pd.DataFrame(
        {
            "point_id": per_run["point_id"].first(),
            "tokens_final": per_run["tokens"].last(),
            "user_spend_sum": per_run["user_spend"].sum(),
            "compute_price_time_of_peak": per_run.apply(
                lambda r: r["step"].to_numpy()[np.argmax(r["compute_price"].to_numpy())]
            ).astype(float),
        }
    )
    expected = direct.groupby("point_id")[OUTCOMES].agg(["mean", "min", "max"])
    table = pd.read_csv(out / "summary_by_point.csv").set_index("point_id")
    assert len(table) == 4
    assert (table["seeds"] == 2).all()
    for label in OUTCOMES:
        for stat in ("mean", "min", "max"):
            np.testing.assert_allclose(
                table[f"{label}_{stat}"], expected[(label, stat)], rtol=1e-12, err_msg=label
            )
    design = pd.read_parquet(out / "design.parquet").groupby("point_id").first()
    assert table[ELASTICITY].tolist() == design[ELASTICITY].tolist() == [1.2, 1.2, 2.0, 2.0]
    assert table[LABS].tolist() == [2, 4, 2, 4]
    # The numbers are the model's, not noise: higher elasticity, lower markups (Lerner), so
    # the labs' token price ends lower at e = 2 than at 1.2 for either number of labs. (The
    # token volume is no check: with the nested choice users buy frontier-class tokens, whose
    # cost per task lies above most tasks' value in 2023, where more elastic demand buys less.)
    final_price = runs.sort_values("step").groupby("run_id").last()
    price = final_price.groupby([ELASTICITY, LABS])["token_price"].mean()
    assert price[(2.0, 2)] < price[(1.2, 2)] and price[(2.0, 4)] < price[(1.2, 4)]

    text = (out / "summary_by_point.txt").read_text()
    assert text.strip() in printed  # printed and saved: the same table
    assert "[$ per month]" not in text and "[$]" in text  # a sum of $ per month is $
    assert "[step (month)]" in text
    mean, lo, hi = (expected[("user_spend_sum", s)].iloc[0] for s in ("mean", "min", "max"))
    assert f"{mean:.3g} [{lo:.3g}, {hi:.3g}]".replace("e+0", "e").replace("e+", "e") in text


def test_the_sweep_writes_plots_that_draw_the_stored_numbers_with_units(small_grid):
    out, printed = small_grid
    for name in ["envelopes.png", *(f"outcome_{label}.png" for label in OUTCOMES)]:
        assert (out / name).read_bytes()[:8] == PNG, name
        assert name in printed
    from matplotlib.image import imread

    pixels = imread(out / "envelopes.png")
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 50  # not blank

    runs = stored_runs_directly(out)
    fig = envelope_figure(load_runs(out), ["tokens", "compute_price"])
    ax = fig.axes[0]
    after_start = runs[runs["step"] > 0]
    np.testing.assert_allclose(
        ax.lines[0].get_ydata(), after_start.groupby("step")["tokens"].median(), rtol=1e-12
    )
    assert ax.get_ylabel() == "million tokens per month"
    assert fig.axes[1].get_ylabel() == "$ per GPU-hour"
    assert ax.get_xlabel() == "year"
    lows = after_start.groupby("step")["tokens"].min().to_numpy()
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # the range: lows, then highs
    assert set(np.round(lows, 3)) <= set(np.round(band, 3))

    spec = SweepSpec.model_validate(SweepStore(out).read_manifest()["spec"])
    points = pd.read_csv(out / "summary_by_point.csv")
    tokens = next(o for o in spec.outcomes if o.label == "tokens_final")
    fig = outcome_figure(points, spec, tokens, {ELASTICITY: "ratio", LABS: "labs"})
    ax = fig.axes[0]  # tokens against elasticity, one line per number of labs
    assert ax.get_xlabel() == f"{ELASTICITY}\n[ratio]"
    assert ax.get_ylabel() == "tokens_final\n[million tokens per month]"
    handles, names = ax.get_legend_handles_labels()
    assert names == ["2", "4"]
    for handle, labs in zip(handles, (2, 4), strict=True):
        rows = points[points[LABS] == labs].sort_values(ELASTICITY)
        np.testing.assert_allclose(handle.lines[0].get_ydata(), rows["tokens_final_mean"])
        np.testing.assert_allclose(handle.lines[0].get_xdata(), [1.2, 2.0])


def test_load_runs_gives_every_step_with_its_run_s_parameters_and_seed(small_grid):
    out, _ = small_grid
    runs = load_runs(out)
    design = pd.read_parquet(out / "design.parquet")
    assert list(runs.columns[:7]) == [
        "run_id",
        "point_id",
        "replicate",
        ELASTICITY,
        LABS,
        "seed",
        "step",
    ]
    assert list(runs.columns[7:]) == [
        "date",
        "tokens",
        "user_spend",
        "compute_price",
        "token_price",
    ]
    assert len(runs) == 8 * 7  # 8 runs of steps 0..6
    for run_id, rows in runs.groupby("run_id"):
        row = design.set_index("run_id").loc[run_id]
        assert (rows[ELASTICITY] == row[ELASTICITY]).all()
        assert (rows["seed"] == row["seed"]).all()
        stored = SweepStore(out).read_run(run_id)
        np.testing.assert_array_equal(rows["tokens"], stored["tokens"])
        assert rows["step"].tolist() == list(range(7))

    some = load_runs(out, run_ids=[5, 2], columns=["tokens"])
    assert some["run_id"].unique().tolist() == [2, 5]
    assert list(some.columns) == ["run_id", "point_id", "replicate", ELASTICITY, LABS, "seed"] + [
        "step",
        "tokens",
    ]
    with pytest.raises(ConfigError, match="run 99 is not stored"):
        load_runs(out, run_ids=[99])


def test_csv_export_reads_back_to_the_same_tables(small_grid, tmp_path, capsys):
    out, _ = small_grid
    csv = out / "csv"  # written by `abm sweep --csv`
    pd.testing.assert_frame_equal(
        pd.read_csv(csv / "runs.csv"), load_runs(out), check_dtype=False, check_exact=True
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(csv / "summary.csv"), load_summary(out), check_dtype=False, check_exact=True
    )
    design = pd.read_csv(csv / "design.csv")
    assert design["seed"].tolist() == pd.read_parquet(out / "design.parquet")["seed"].tolist()

    assert main(["export", str(out), "--out", str(tmp_path / "elsewhere")]) == 0
    assert "runs.csv, summary.csv, design.csv" in capsys.readouterr().out
    assert (tmp_path / "elsewhere" / "runs.csv").read_text() == (csv / "runs.csv").read_text()


@pytest.mark.parametrize("command", ["analyze", "export"])
def test_analyze_or_export_of_a_directory_without_a_sweep_exits_2(tmp_path, capsys, command):
    assert main([command, str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nowhere" in err and "not a finished sweep" in err
    assert err.count("\n") == 1


def test_failed_runs_are_counted_out_of_the_seeds_and_the_rest_still_summarised(
    tmp_path, write_sweep, capsys
):
    path = write_sweep(toy_sweep_text(replicates=2, fail_when_x=2.0))
    out = tmp_path / "out"
    assert main(["sweep", str(path), *ALLOW_TOY, "--workers", "1", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    points = pd.read_csv(out / "summary_by_point.csv")
    failed = points[points["x"] == 2.0]
    assert (failed["seeds"] == 0).all() and failed["level_final_mean"].isna().all()
    assert (points.loc[points["x"] != 2.0, "seeds"] == 2).all()
    assert "0/2" in printed
    summary = load_summary(out)
    ok = summary[summary["status"] == "ok"]
    np.testing.assert_allclose(
        points.loc[points["x"] != 2.0, "level_final_max"],
        ok.groupby("point_id")["level_final"].max(),
    )
    assert (out / "outcome_level_final.png").exists()


def test_an_lhs_report_draws_each_point_mean_with_its_seeds_range(tmp_path, write_sweep):
    text = toy_sweep_text(replicates=3).replace(
        "replicates = 3", 'replicates = 3\ndesign = "lhs"\nn = 14'
    )
    text = text.replace("x = [0.0, 1.0, 2.0, 3.0]", "x = { low = 0.0, high = 3.0 }")
    text = text.replace(
        "y = { low = 0.5, high = 1.5, levels = 3 }", "y = { low = 0.5, high = 1.5 }"
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "sweep",
                str(write_sweep(text)),
                *ALLOW_TOY,
                "--workers",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = sweep_report(out, plots=False)
    summary = load_summary(out)
    assert len(report.points) == 14
    expected = summary.groupby("point_id")["level_mean_5_10"].agg(["mean", "min", "max"])
    np.testing.assert_allclose(report.points["level_mean_5_10_min"], expected["min"])

    spec = SweepSpec.model_validate(SweepStore(out).read_manifest()["spec"])
    fig = outcome_figure(report.points, spec, spec.outcomes[1], {})
    ax = fig.axes[1]  # against y
    points = ax.containers[0]  # the design points with their bars
    np.testing.assert_allclose(points.lines[0].get_xdata(), report.points["y"])
    np.testing.assert_allclose(points.lines[0].get_ydata(), expected["mean"])
    assert ax.get_xlabel() == "y"  # a toy parameter has no unit to show


def test_parameter_units_come_from_the_comment_after_each_key(tmp_path):
    (tmp_path / "parent.toml").write_text(
        "[market]\n"
        "elasticity = 1.5   # ratio; a source (NBER)\n"
        "entry = 4.0        # startups per month (at normal climate)\n"
        "[[vendors]]\nprice = 10.0  # $ per part\n"
        "[[vendors]]\nprice = 20.0  # $ per rival part; assumption\n"
    )
    (tmp_path / "child.toml").write_text(
        'extends = "parent.toml"\n[market]\nelasticity = 2.0\nnew = 1  # months\n'
    )
    keys = ["market.elasticity", "market.entry", "vendors.1.price", "market.new", "nothing.here"]
    assert parameter_units(tmp_path / "child.toml", keys) == {
        "market.elasticity": "ratio",
        "market.entry": "startups per month",
        "vendors.1.price": "$ per rival part",
        "market.new": "months",
        "nothing.here": "",
    }


def test_short_names_keep_enough_of_a_key_to_tell_two_apart():
    keys = ["gpu.vendors.0.price", "gpu.vendors.1.price", "end_users.price_elasticity"]
    assert short_names(keys) == {
        "gpu.vendors.0.price": "0.price",
        "gpu.vendors.1.price": "1.price",
        "end_users.price_elasticity": "price_elasticity",
    }


def test_summary_by_point_of_a_sweep_without_parameters_is_one_row():
    summary = pd.DataFrame(
        {"run_id": [0, 1, 2], "point_id": [0, 0, 0], "status": ["ok", "ok", "failed"]}
    ).assign(v=[1.0, 3.0, np.nan])
    table = summary_by_point(summary, [], ["v"])
    assert table.to_dict("records") == [
        {"point_id": 0, "seeds": 2, "runs": 3, "v_mean": 2.0, "v_min": 1.0, "v_max": 3.0}
    ]


def test_export_to_a_path_that_is_a_file_exits_2_with_one_line(small_grid, tmp_path, capsys):
    out, _ = small_grid
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("mine")
    assert main(["export", str(out), "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and str(blocker) in err and err.count("\n") == 1
    assert blocker.read_text() == "mine"


def test_starting_a_sweep_over_removes_its_plots_and_tables_but_not_a_users_files(tmp_path):
    from abm.experiments.storage import SweepStore

    store = SweepStore(tmp_path)
    (tmp_path / "csv").mkdir()
    made = ["summary_by_point.csv", "summary_by_point.txt", "outcome_level.png", "envelopes.png"]
    for name in [*made, "csv/runs.csv", "my_notes.txt"]:
        (tmp_path / name).write_text("x")
    store.clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_notes.txt"]
