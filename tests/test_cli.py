"""The command line, as a user runs it: results on success, one clear line and exit 2 on bad input."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from support import run_abm, terminate_once

ROOT = Path(__file__).resolve().parent.parent

abm = run_abm


@pytest.mark.slow
def test_run_writes_results_and_prints_a_summary(tmp_path):
    out = tmp_path / "res" / "quick"
    r = abm(
        "run",
        str(ROOT / "configs/baseline.toml"),
        "--steps",
        "6",
        "--seed",
        "3",
        "--set",
        "end_users.simulated_users=1000",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "compute price" in r.stdout and "max ledger error" in r.stdout
    assert {p.name for p in out.iterdir()} == {
        "metrics.parquet",
        "flows.parquet",
        "firms.parquet",
        "manifest.json",
        "dashboard.png",
    }
    df = pd.read_parquet(out / "metrics.parquet")
    assert len(df) == 7 and df["date"].iloc[-1] == "2023-06"
    flows = pd.read_parquet(out / "flows.parquet")
    assert set(flows["good"]) == {"gpus", "compute", "tokens"} and (flows["value"] >= 0).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["steps"] == 6
    assert manifest["config"]["end_users"]["simulated_users"] == 1000
    assert manifest["config"]["simulation"]["steps"] == 6  # --steps, in the stored config too
    assert manifest["overrides"] == {"end_users.simulated_users": 1000}
    assert manifest["versions"]["mesa"] == "3.3.1"
    assert not [
        p for p in out.parent.iterdir() if p.name.startswith(".")
    ]  # no temporary folders left


@pytest.mark.slow
def test_same_seed_gives_identical_metrics_files(tmp_path):
    for name in ("a", "b"):
        r = abm(
            "run",
            "--steps",
            "4",
            "--set",
            "end_users.simulated_users=500",
            "--out",
            name,
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a/metrics.parquet"),
        pd.read_parquet(tmp_path / "b/metrics.parquet"),
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "end_users.price_elasticty=1.5"], "unknown key 'end_users.price_elasticty'"),
        (["--set", "startups.initial_count=-4"], "bad value for 'startups.initial_count'"),
        (
            ["--set", "end_users.price_elasticity=cheap"],
            "bad value for 'end_users.price_elasticity'",
        ),
        (["--set", "startups.initial_count"], "expected key=value"),
        (["no/such/config.toml"], "config file not found"),
        (["--steps", "-5"], "must be positive"),
        (["--steps", "1201"], "bad value for 'simulation.steps'"),
        (["--seed", "x"], "expected an integer seed"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, fragment):
    r = abm("run", *args, "--out", "results/x", cwd=tmp_path)
    assert r.returncode == 2
    assert fragment in r.stderr
    assert len([line for line in r.stderr.splitlines() if "error" in line]) == 1
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["run", "--bogus"], "usage: abm run "),
        (["run", "a.toml", "b.toml"], "usage: abm run "),
        (["sweep", "s.toml", "--bogus"], "usage: abm sweep "),
        (["validate", "--bogus"], "usage: abm validate "),
    ],
)
@pytest.mark.slow
def test_an_unknown_argument_shows_its_subcommands_usage(tmp_path, args, usage):
    r = abm(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(usage)
    assert r.stderr.strip().endswith(f"error: unrecognized arguments: {args[-1]}")
    assert list(tmp_path.iterdir()) == []  # nothing ran


@pytest.mark.slow
def test_help_is_quick_to_start_and_lists_run():
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "abm", "run", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "--set" in r.stdout
    imported = r.stderr
    assert "mesa" not in imported.split() and "solara" not in imported


def test_readme_lists_every_metric_with_its_unit():
    from abm.metrics import METRICS

    readme = (ROOT / "README.md").read_text()
    for name, (unit, _) in METRICS.items():
        assert f"| `{name}` | {unit} |" in readme, name


@pytest.mark.slow
def test_output_piped_into_a_reader_that_stops_early_ends_quietly():
    """`abm params | head -1`: the closed pipe is not reported as an error. The
    reader's end is closed before the command starts, so every write fails."""
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "abm", "params"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert proc.stderr == "", proc.stderr


@pytest.mark.slow
def test_a_run_from_its_manifests_config_is_the_same_run(tmp_path):
    """The stored config holds the overrides and the months actually run (``--steps``),
    so it reproduces the run by itself."""
    from abm.config import validate
    from abm.runs import run

    small = ["--set", "end_users.simulated_users=500"]
    r = abm("run", "--steps", "3", *small, "--out", "a", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    config = validate(manifest["config"], "manifest.json")
    again = run(config, seed=manifest["seed"]).metrics
    assert len(again) == 4
    pd.testing.assert_frame_equal(again, pd.read_parquet(tmp_path / "a" / "metrics.parquet"))


@pytest.mark.parametrize(
    "args",
    [["run", "{}"], ["viz", "{}"], ["validate", "--config", "{}"], ["params", "--config", "{}"]],
)
@pytest.mark.slow
def test_a_sweep_file_given_as_a_config_is_named_as_one(tmp_path, args):
    sweep = ROOT / "configs" / "sweeps" / "smoke.toml"
    r = abm(*[a.format(sweep) for a in args], cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == f"abm: error: {sweep} is a sweep file; run it with `abm sweep {sweep}`\n"
    assert list(tmp_path.iterdir()) == []


def test_every_sweep_file_and_no_config_is_taken_for_a_sweep_file():
    from abm.cli import SWEEP_KEYS, refuse_sweep_file
    from abm.config import Config, ConfigError
    from abm.experiments.spec import SweepSpec

    assert set(SWEEP_KEYS) <= set(SweepSpec.model_fields) - set(Config.model_fields)
    sweeps = sorted((ROOT / "configs" / "sweeps").glob("*.toml"))
    assert sweeps
    for path in sweeps:
        with pytest.raises(ConfigError, match="is a sweep file"):
            refuse_sweep_file(path)
    for path in (ROOT / "configs").rglob("*.toml"):
        if path.parent.name != "sweeps":
            refuse_sweep_file(path)  # a model config: not refused


@pytest.mark.slow
def test_sigterm_during_a_run_exits_143_and_leaves_nothing_behind(tmp_path):
    """Like Ctrl-C: the hidden staging directory and the lock go. The signal is sent
    once the staging directory exists and is marked as a run's (polled, no fixed
    sleep); the run is long enough never to have finished by then."""

    def started() -> bool:
        names = os.listdir(tmp_path)
        return ".res.lock" in names and any(
            (tmp_path / n / ".abm-partial").exists() for n in names if n.startswith(".res.abm-new-")
        )

    code, err = terminate_once(
        "run", "--steps", "1200", "--out", "res", cwd=tmp_path, started=started
    )
    assert code == 128 + signal.SIGTERM, err
    assert err.strip() == "abm: terminated"
    assert os.listdir(tmp_path) == []
