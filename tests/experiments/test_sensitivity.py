"""SALib plumbing, checked on the Ishigami function whose Sobol indices are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from abm.experiments import build_design, parse_sweep, run_sweep, sensitivity_indices
from abm.experiments.cli import main

from . import toy
from .conftest import ISHIGAMI_RUN, toy_sweep_text
from .toy import ishigami

# Ishigami & Homma (1990) with a = 7, b = 0.1 on [-pi, pi]^3 (analytic values).
S1 = [0.3139, 0.4424, 0.0]
ST = [0.5576, 0.4424, 0.2437]


def ishigami_spec(design: str, n: int, **extra):
    box = {"low": -math.pi, "high": math.pi}
    return parse_sweep(
        {
            "name": "ishigami",
            "run_function": ISHIGAMI_RUN,
            "seed": 3,
            "steps": 1,
            "design": design,
            "n": n,
            "parameters": {"x1": box, "x2": box, "x3": box},
            "outcomes": [{"metric": "value", "stat": "final", "name": "y"}],
            **extra,
        },
        "ishigami",
    )


def evaluate(design_table: pd.DataFrame) -> np.ndarray:
    points = design_table.drop_duplicates("point_id")
    return ishigami(points["x1"].to_numpy(), points["x2"].to_numpy(), points["x3"].to_numpy())


@pytest.mark.slow
def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values():
    spec = ishigami_spec("sobol", 4096)
    design = build_design(spec)
    table = sensitivity_indices(spec, design.table, evaluate(design.table))
    assert table["parameter"].tolist() == ["x1", "x2", "x3"]
    assert table["S1"].to_numpy() == pytest.approx(S1, abs=0.03)
    assert table["ST"].to_numpy() == pytest.approx(ST, abs=0.03)
    assert (table["S1_conf"] < 0.05).all()


def test_morris_sees_that_x3_acts_only_through_its_interaction_with_x1():
    spec = ishigami_spec("morris", 100)
    design = build_design(spec)
    table = sensitivity_indices(spec, design.table, evaluate(design.table)).set_index("parameter")
    # x3 enters as b x3^4 sin(x1): large |effects| whose sign follows sin(x1), so they cancel.
    assert abs(table.loc["x3", "mu"]) < 0.2 * table.loc["x3", "mu_star"]
    assert table.loc["x3", "sigma"] > table.loc["x3", "mu_star"]
    # x2 enters as 7 sin^2(x2): even in x2, so its signed effects also cancel.
    assert abs(table.loc["x2", "mu"]) < 0.2 * table.loc["x2", "mu_star"]
    assert table.loc["x1", "mu"] > 0.5 * table.loc["x1", "mu_star"]


@pytest.mark.slow
def test_a_sobol_sweep_writes_indices_and_a_chart_per_outcome(tmp_path, capsys):
    spec = ishigami_spec("sobol", 64)
    result = run_sweep(
        spec, workers=1, out_dir=tmp_path / "out", quiet=True, allow_imports=[toy.__name__]
    )
    assert result.n_runs == 64 * 5
    assert result.summary["y"].tolist() == pytest.approx(evaluate(build_design(spec).table))

    csv = pd.read_csv(tmp_path / "out" / "sensitivity_y.csv")
    assert list(csv.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    pd.testing.assert_frame_equal(csv, result.sensitivity["y"], check_exact=False)
    s1 = csv.set_index("parameter")["S1"]
    assert s1["x2"] > s1["x1"] > s1["x3"]  # right order even with only 64 base samples
    png = tmp_path / "out" / "sensitivity_y.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    png.unlink()
    assert main(["sensitivity", str(tmp_path / "out")]) == 0
    assert png.exists()
    assert "S1" in capsys.readouterr().out


def test_sensitivity_of_a_grid_sweep_or_a_missing_directory_exits_2(tmp_path, write_sweep, capsys):
    path = write_sweep(toy_sweep_text(replicates=1))
    run_sweep(path, workers=1, out_dir=tmp_path / "grid", quiet=True, allow_imports=[toy.__name__])
    assert main(["sensitivity", str(tmp_path / "grid")]) == 2
    assert "need a sobol or morris design" in capsys.readouterr().err
    assert main(["sensitivity", str(tmp_path / "nowhere")]) == 2
    assert "not a finished sweep" in capsys.readouterr().err


def test_sensitivity_charts_state_their_units():
    from abm.experiments.sensitivity import indices_figure

    morris = pd.DataFrame(
        {"parameter": ["a", "b"], "mu": [1.0, 2.0], "mu_star": [1.0, 3.0], "sigma": [0.1, 0.2]}
    ).assign(mu_star_conf=[0.1, 0.1])
    ax = indices_figure(morris, "morris", "user_spend_final", "$ per month").axes[0]
    assert ax.get_xlabel() == (
        "Morris mu*, mean |elementary effect| [$ per month per full parameter range]"
    )
    assert ax.get_title() == "Sensitivity of user_spend_final [$ per month]"
    assert [p.get_width() for p in ax.patches] == [1.0, 3.0]

    sobol = pd.DataFrame(
        {"parameter": ["a"], "S1": [0.4], "S1_conf": [0.05], "ST": [0.6], "ST_conf": [0.05]}
    )
    ax = indices_figure(sobol, "sobol", "tokens_final", "million tokens per month").axes[0]
    assert ax.get_xlabel() == "Sobol index [fraction of the outcome's variance]"
    assert ax.get_title() == "Sensitivity of tokens_final [million tokens per month]"
