"""H1-H7 on runs shorter than the experiments read (``abm validate --hypotheses --months N``):
windows are cut at the end of the run, numbers for months not simulated are n/a, and a
finding the run is too short for says so instead of printing NaN or a reversed range."""

from __future__ import annotations

import math
import os
import re
import zlib

import numpy as np
import pandas as pd
import pytest

from abm.config import ConfigError
from abm.metrics import METRICS
from abm.validation import hypotheses
from abm.validation.hypotheses import EXPERIMENTS, hypotheses_report, run_hypotheses

NEEDS = {"H1": 6, "H2": 13, "H3": 13, "H4": 3, "H5": 25, "H6": 1, "H7": 72}


def _fake_run(config, overrides, seed, months) -> pd.DataFrame:
    """A run's metrics as random positive numbers: what the experiments compute, in no time."""
    rng = np.random.default_rng(zlib.crc32(f"{config} {seed}".encode()))  # same in every process
    steps = np.arange(months + 1)
    numeric = [m for m in METRICS if m != "date"]
    df = pd.DataFrame(rng.uniform(0.5, 1.5, (steps.size, len(numeric))), columns=numeric)
    small = [c for c in numeric if c.startswith(("profit_", "margin_"))]
    df[small] *= 0.2  # profits a part of revenue, margins fractions
    return df.assign(step=steps)


@pytest.fixture
def fake_runs(monkeypatch):
    monkeypatch.setattr(hypotheses, "_run_arm", _fake_run)


def _reversed_ranges(text: str) -> list[str]:
    months = re.findall(r"[Mm]onths? (\d+)-(\d+)", text)
    years = re.findall(r"\b(20\d\d)-(20\d\d)\b", text)
    return [f"{a}-{b}" for a, b in months + years if int(a) > int(b)]


def test_every_experiment_says_how_many_months_it_needs():
    assert {e.key: e.min_months for e in EXPERIMENTS} == NEEDS
    for e in EXPERIMENTS:
        assert not e.too_short(e.months)  # the full-length report is never cut
        assert e.min_months == 1 or e.needs


@pytest.mark.parametrize("months", [1, 12, 30, 71])
def test_short_runs_give_no_nan_no_reversed_range_and_say_what_was_not_simulated(
    fake_runs, tmp_path, months
):
    result = run_hypotheses(seeds=1, months=months)
    for e in EXPERIMENTS:
        finding = result.findings[e.key]
        assert "nan" not in finding.lower(), (e.key, finding)
        assert not _reversed_ranges(finding), (e.key, finding)
        m = min(e.months, months)
        if m < e.min_months:
            assert finding == (
                f"Not simulated: {e.key} needs at least {e.min_months} months ({e.needs}); "
                f"this run has {m}."
            )
        else:
            assert not finding.startswith("Not simulated"), (e.key, finding)
    table = hypotheses.write_hypotheses(result, tmp_path, seeds=1)
    assert not [o for o in table["outcome"] if _reversed_ranges(o)]
    md = (tmp_path / "hypotheses.md").read_text()
    assert "nan" not in md.lower()
    assert not _reversed_ranges(md)


def test_numbers_for_months_a_run_does_not_reach_are_nan_not_partial(fake_runs):
    result = run_hypotheses([e for e in EXPERIMENTS if e.key in ("H5", "H7")], seeds=1, months=36)
    table = pd.DataFrame(result.rows).set_index(["hypothesis", "arm", "outcome"])["mean"]
    assert math.isnan(table["H7", "baseline", "VC funding in the freeze (months 31-72)"])
    assert math.isnan(table["H7", "baseline", "startups alive at the end of the freeze (month 72)"])
    assert math.isfinite(table["H7", "baseline", "capex / user spend, 2023-24"])  # within 36
    assert math.isfinite(table["H5", "baseline", "vendor gross margin 2025"])
    assert result.findings["H5"].count("in 2025 ") == 1  # the year after 2023-24, not "2025-2025"
    assert result.findings["H7"] == (
        "Not simulated: H7 needs at least 72 months (the VC freeze runs from month 31 to "
        "month 72); this run has 36."
    )


@pytest.mark.parametrize(
    ("months", "late"),
    [(24, "after 2024"), (30, "months 25-30"), (36, "2025"), (48, "2025-2026"), (120, "2025-2032")],
)
def test_h5_names_its_later_window_by_the_months_it_covers(fake_runs, months, late):
    h5 = [e for e in EXPERIMENTS if e.key == "H5"]
    outcomes = {r["outcome"] for r in run_hypotheses(h5, seeds=1, months=months).rows}
    assert f"vendor gross margin {late}" in outcomes


def test_a_horizon_too_short_for_every_experiment_asked_for_is_refused_before_running(
    fake_runs, tmp_path, monkeypatch
):
    monkeypatch.setattr(hypotheses, "_run_arm", None)  # nothing may run
    with pytest.raises(ConfigError) as err:
        hypotheses_report(seeds=1, out=tmp_path / "out", months=24, only=["H5", "H7"])
    assert str(err.value) == (
        "--months 24: too short for every experiment asked for: H5 needs at least 25 months "
        "(it compares 2023-24 with the months after); H7 needs at least 72 months "
        "(the VC freeze runs from month 31 to month 72)"
    )
    assert not (tmp_path / "out").exists()


def test_the_cli_exits_2_on_a_horizon_too_short_for_the_experiments_asked_for(
    tmp_path, capsys, monkeypatch
):
    from abm.cli import main

    made = []
    real_mkdir = os.mkdir
    monkeypatch.setattr(
        os, "mkdir", lambda path, *a, **k: made.append(path) or real_mkdir(path, *a, **k)
    )
    out = tmp_path / "out"
    argv = ["validate", "--hypotheses", "--only", "H7", "--months", "36", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "H7 needs at least 72 months" in err and err.count("\n") == 1
    assert not out.exists() and made == []  # checked before the folder is made, not after


@pytest.mark.slow
def test_real_runs_of_30_months_give_findings_without_nan():
    result = run_hypotheses(seeds=1, months=30)
    for key, finding in result.findings.items():
        assert "nan" not in finding.lower() and not _reversed_ranges(finding), (key, finding)
    assert result.findings["H7"].startswith("Not simulated: H7 needs at least 72 months")
    assert "months 25-30" in result.findings["H5"]
