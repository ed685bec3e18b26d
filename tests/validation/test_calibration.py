"""The calibration report: how targets are measured, that the report covers every
target, and that the baseline reproduces the 2023-2024 directions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from abm import load_config
from abm.cli import main
from abm.metrics import METRICS
from abm.validation.calibration import (
    PROJECTION_ROWS,
    evaluate,
    measure,
    projection,
    run_seeds,
    write_report,
)
from abm.validation.targets import (
    ORDER_OF_MAGNITUDE,
    POINT_TOLERANCE,
    TARGETS,
    Measure,
    around,
    target,
)


def _table(values: dict[str, list[float]], start: str = "2023-01") -> pd.DataFrame:
    n = len(next(iter(values.values())))
    dates = pd.period_range(start, periods=n, freq="M").strftime("%Y-%m")
    return pd.DataFrame({"date": dates, **values})


# ---------------------------------------------------------------- measuring, table-driven
TWO_YEARS = _table(
    {
        "x": [1.0] * 12 + [3.0] * 12,
        "y": [2.0] * 24,
        "p": [100.0 * 0.1 ** (m / 12.0) for m in range(24)],
    }
)


@pytest.mark.parametrize(
    "m, expected",
    [
        (Measure("sum", "x", "2023"), 12.0),
        (Measure("sum", "x", "2024", scale=2.0), 18.0),
        (Measure("mean", "x", "2023-2024"), 2.0),
        (Measure("max", "x", "2023"), 1.0),
        (Measure("at", "x", "2024-04"), 3.0),
        (Measure("ratio", "x", "2024", denominator="y"), 1.5),
        (Measure("growth", "x", "2023-2024"), 3.0),
        (Measure("annual_fall", "p", "2023-2024"), 10.0),  # 10x cheaper every 12 months
    ],
)
def test_each_measure_reads_the_number_it_names(m, expected):
    assert measure(TWO_YEARS, m) == pytest.approx(expected)


def test_a_measure_over_months_the_run_did_not_reach_is_nan():
    assert math.isnan(measure(TWO_YEARS, Measure("sum", "x", "2025")))


def test_a_point_estimate_stands_for_a_range_of_the_stated_tolerance():
    low, high = around(100.0)
    assert low == pytest.approx(100.0 / POINT_TOLERANCE) and high == pytest.approx(
        100.0 * POINT_TOLERANCE
    )
    t = target("vendor_revenue_2023")
    assert t.inside(38.95) and not t.inside(30.0)
    assert t.order_of_magnitude(t.low / ORDER_OF_MAGNITUDE * 1.01) and not t.order_of_magnitude(
        t.low / 4
    )


def test_targets_have_unique_keys_sources_and_ordered_ranges():
    keys = [t.key for t in TARGETS]
    assert len(keys) == len(set(keys))
    for t in TARGETS:
        assert t.source and t.observed and t.unit
        assert 0 < t.low <= t.high


def test_every_target_series_of_calibration_md_is_compared():
    series = {t.series for t in TARGETS}
    for name in (
        "vendor data-centre compute revenue",
        "vendor gross margin",
        "H100 rental price",
        "hyperscaler capex",
        "Hopper shipments",
        "frontier token list price",
        "price at fixed capability",
        "token volume",
        "token volume growth",
        "lab revenue vs hyperscaler capex",
    ):
        assert name in series


# ---------------------------------------------------------------- the baseline, 2023-2024
@pytest.fixture(scope="module")
def baseline_runs():
    """The baseline's 2023-2024 for two seeds: the in-sample years of the report."""
    return run_seeds(load_config(), seeds=(1, 2), steps=24)


@pytest.fixture(scope="module")
def report(baseline_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    table = write_report(baseline_runs, out, "configs/baseline.toml")
    return out, table


def test_a_report_that_fails_while_writing_leaves_the_previous_one_as_it_was(
    baseline_runs, tmp_path, monkeypatch
):
    """The files are written into a hidden folder and moved into place only once all are
    written: a failure in the figure, after the CSV and Markdown, changes nothing."""
    import abm.validation.calibration as calibration

    write_report(baseline_runs, tmp_path, "configs/baseline.toml")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {
        "calibration.csv",
        "calibration.md",
        "calibration.png",
        "runs.parquet",
        "calibration.json",
    }

    def broken_plot(runs, path):
        raise OSError("disk full")

    monkeypatch.setattr(calibration, "plot_report", broken_plot)
    with pytest.raises(OSError, match="disk full"):
        write_report(baseline_runs.iloc[:-1], tmp_path, "another config")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_runs_carry_every_metric_the_targets_read(baseline_runs):
    assert set(METRICS) <= set(baseline_runs.columns)
    measured = {t.measure.column for t in TARGETS}
    measured |= {t.measure.denominator for t in TARGETS if t.measure.denominator}
    assert measured <= set(METRICS)
    assert {"compute_price", "capex", "tokens", "vendor_revenue"} <= set(baseline_runs.columns)
    assert baseline_runs.groupby("seed").size().tolist() == [24, 24]
    assert (
        baseline_runs["date"].iloc[0] == "2023-01" and baseline_runs["date"].iloc[23] == "2024-12"
    )


@pytest.mark.slow
def test_the_projection_sums_flows_averages_rates_and_reads_stocks_in_december():
    months = 24
    one = {m: [1.0] * months for _, metric, *_ in PROJECTION_ROWS for m in metric.split("/")}
    one["user_spend"] = [1e9] * 12 + [2e9] * 12  # a flow, $B: 12 then 24 a year
    one["utilization"] = [0.5] * 12 + [0.9] * 12  # a rate: its mean
    one["installed_gpus"] = [1e6 * (m + 1) for m in range(months)]  # a stock: December's
    # a margin: the ratio of the year's sums (3 of 4, then 1 of 4), not a mean of months
    one["lead_vendor_revenue"] = [1.0] * 11 + [37.0] + [4.0] * 12
    one["lead_vendor_gross_profit"] = [0.0] * 11 + [36.0] + [1.0] * 12
    seeds = [_table(one).assign(seed=s, step=range(1, months + 1)) for s in (1, 2)]
    seeds[1]["user_spend"] *= 3.0  # seed 2 spends three times as much
    table = projection(pd.concat(seeds))
    assert list(table.columns) == ["2023", "2024"]
    assert table.loc[("user spend", "$B per year")].tolist() == [24.0, 48.0]  # mean of 12, 36
    assert table.loc[("utilisation", "fraction")].tolist() == pytest.approx([0.5, 0.9])
    assert table.loc[("installed GPUs", "M H100e")].tolist() == [12.0, 24.0]
    assert table.loc[("vendor gross margin (lead)", "fraction")].tolist() == [0.75, 0.25]


def test_report_is_written_with_every_target_present(report):
    out, table = report
    assert {p.name for p in out.iterdir()} >= {
        "calibration.csv",
        "calibration.md",
        "calibration.png",
        "runs.parquet",
        "calibration.json",
    }
    csv = pd.read_csv(out / "calibration.csv")
    assert csv["key"].tolist() == [t.key for t in TARGETS]
    assert {
        "target",
        "source",
        "low",
        "high",
        "model_mean",
        "model_min",
        "model_max",
        "inside",
    } <= set(csv.columns)
    assert csv["model_mean"].notna().all() and (csv["seeds"] == 2).all()
    assert (csv["model_min"] <= csv["model_mean"] + 1e-12).all()
    assert (csv["model_mean"] <= csv["model_max"] + 1e-12).all()
    md = (out / "calibration.md").read_text()
    for t in TARGETS:
        assert t.series in md and t.source in md
    assert "## The projection, year by year" in md and "| capex (big four) |" in md
    assert (out / "calibration.png").stat().st_size > 10_000


def test_every_target_is_within_half_a_decade(report):
    """All 18 targets within a factor sqrt(10) of their ranges, with the two seeds here."""
    _, table = report
    assert table["order_of_magnitude"].all(), table.loc[
        ~table["order_of_magnitude"], "key"
    ].tolist()


def test_at_least_sixteen_targets_are_inside(report):
    """Issue 11's bar: at least 16 of the 18 targets inside. Round 12: 16 with five seeds
    (abm validate) and with the two seeds here, since the 2024 capex target was restated to
    the four's AI capex from a cited source (docs/calibration.md). The two misses left: the
    vendor's 2024 gross margin (~0.77 against 0.73-0.75: the model has neither NVIDIA's
    write-offs of material before a generation ships nor dearer variants and systems within
    one) and 2023 capex (the model's AI capex, ~$87B, against the four's total capex,
    $140-150B; no AI figure is cited for 2023). The count is held so that a change that
    loses a target shows."""
    _, table = report
    assert table["inside"].sum() >= 16, table.loc[~table["inside"], "key"].tolist()


def _value(table: pd.DataFrame, key: str) -> float:
    return float(table.loc[table["key"] == key, "model_mean"].iloc[0])


def _pair(runs: pd.DataFrame, kind: str, column: str) -> tuple[float, float]:
    """The 2023 and 2024 values of a measure, averaged over seeds."""
    values = [
        [measure(g, Measure(kind, column, y)) for y in ("2023", "2024")]
        for _, g in runs.groupby("seed")
    ]
    a, b = zip(*values, strict=True)
    return sum(a) / len(a), sum(b) / len(b)


def test_rental_price_falls_from_its_2023_peak(baseline_runs):
    peak_2023, _ = _pair(baseline_runs, "max", "compute_price")
    _, mean_2024 = _pair(baseline_runs, "mean", "compute_price")
    assert mean_2024 < 0.8 * peak_2023


def test_vendor_revenue_and_shipments_rise_from_2023_to_2024(baseline_runs):
    for column in ("lead_vendor_revenue", "lead_vendor_shipments"):
        a, b = _pair(baseline_runs, "sum", column)
        assert b > 1.2 * a, column


def test_capex_rises_from_2023_to_2024(baseline_runs):
    a, b = _pair(baseline_runs, "sum", "capex")
    assert b > 1.2 * a


def test_vendor_margin_is_near_nvidias_and_lab_revenue_an_order_below_capex(report):
    _, table = report
    for key in ("vendor_margin_2023", "vendor_margin_2024"):
        assert 0.65 < _value(table, key) < 0.85
    assert _value(table, "lab_revenue_vs_capex") < 0.2


def test_tokens_rise_and_price_at_fixed_capability_and_frontier_price_fall(report, baseline_runs):
    _, table = report
    assert _value(table, "token_growth") > 1.5
    assert _value(table, "fixed_capability_fall") > 2.0  # more than halves every year
    assert _value(table, "frontier_price_2024") < 0.6 * _value(table, "frontier_price_2023")


# ---------------------------------------------------------------- the command
@pytest.mark.slow
def test_abm_validate_writes_the_report(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", "--seeds", "1", "--steps", "24", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "targets inside their range" in printed
    assert (out / "calibration.csv").is_file() and (out / "calibration.png").is_file()
    assert len(pd.read_csv(out / "calibration.csv")) == len(TARGETS)


@pytest.mark.slow
def test_abm_validate_reports_a_switch_turned_on_and_records_it(tmp_path, capsys):
    """``--set`` reruns the report with a config value changed (here the nested choice,
    on in the baseline, switched off), and the report says so; a bad key stops before
    anything runs."""
    import json

    out, plain = tmp_path / "on", tmp_path / "off"
    base = ["validate", "--seeds", "1", "--steps", "24"]
    assert main([*base, "--out", str(plain)]) == 0
    assert main([*base, "--set", "end_users.nested_choice=false", "--out", str(out)]) == 0
    manifest = json.loads((out / "calibration.json").read_text())
    assert manifest["overrides"] == {"end_users.nested_choice": False}
    assert json.loads((plain / "calibration.json").read_text())["overrides"] == {}
    assert "`end_users.nested_choice = False`" in (out / "calibration.md").read_text()
    volume = [
        pd.read_csv(d / "calibration.csv").set_index("key").loc["tokens_spring_2024", "model_mean"]
        for d in (plain, out)
    ]
    assert volume[1] > 2.0 * volume[0]  # the plain logit: users move to the cheapest tiers
    capsys.readouterr()
    bad = tmp_path / "bad"
    assert main([*base, "--set", "end_users.nested_choise=true", "--out", str(bad)]) == 2
    assert "end_users.nested_choise" in capsys.readouterr().err
    assert not bad.exists()
    assert main([*base, "--hypotheses", "--set", "end_users.nested_choice=true"]) == 2
    assert "--set" in capsys.readouterr().err


def test_abm_validate_refuses_runs_too_short_for_the_targets(tmp_path, capsys):
    assert main(["validate", "--steps", "12", "--out", str(tmp_path / "x")]) == 2
    assert "24 months" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_abm_validate_refuses_an_unwritable_out_before_running(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    for extra in ([], ["--hypotheses"]):
        args = ["validate", "--seeds", "1", "--steps", "24", *extra]
        assert main([*args, "--out", str(tmp_path / "notes.txt" / "val")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "notes.txt is not a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_report_manifest_is_strict_json_with_the_environment(report):
    import json

    from abm.runs import environment

    out, _ = report

    def refuse(constant):
        raise ValueError(constant)

    manifest = json.loads((out / "calibration.json").read_text(), parse_constant=refuse)
    assert manifest["versions"] == environment()["versions"]
    assert manifest["git_commit"] == environment()["git_commit"]


def test_evaluate_marks_values_outside_a_range(baseline_runs):
    t = target("capex_2024")
    row = evaluate(baseline_runs, [t]).iloc[0]
    assert row["inside"] == (t.low <= row["model_mean"] <= t.high)
