"""The one run path: the same model and numbers whoever runs it, provenance recorded once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mesa
import pandas as pd
import pytest

from abm import ComputeMarket, load_config
from abm.runs import build_model, environment, git_commit, release, run

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"end_users.simulated_users": 800}


def test_a_run_gives_exactly_the_metrics_of_the_model_stepped_by_hand():
    result = run(seed=7, steps=4, overrides=SMALL)
    by_hand = ComputeMarket(rng=7, **SMALL).run(4).datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(result.metrics, by_hand, check_names=False)
    assert result.metrics.index.name == "step"
    assert result.model is None and result.flows is None and result.observed is None


def test_a_config_path_a_config_object_and_overrides_give_the_same_run():
    cfg = load_config(overrides=SMALL)
    a = run(cfg, seed=3, steps=3).metrics
    b = run(ROOT / "configs" / "baseline.toml", seed=3, steps=3, overrides=SMALL).metrics
    c = run(seed=3, steps=3, overrides=SMALL).metrics
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_steps_default_to_the_configs():
    cfg = load_config(overrides={**SMALL, "simulation.steps": 2})
    assert len(run(cfg, seed=1).metrics) == 3  # row 0 is the initial state


def test_observe_records_its_columns_after_every_step():
    result = run(seed=2, steps=3, overrides=SMALL, observe=lambda m: {"step": m.steps})
    assert result.observed.index.tolist() == [1, 2, 3]
    assert result.observed["step"].tolist() == [1, 2, 3]


def test_recorded_flows_and_firms_come_with_the_run():
    result = run(seed=2, steps=2, overrides=SMALL, record_flows=True)
    assert set(result.flows["good"]) == {"gpus", "compute", "tokens"}
    assert sorted(result.firms["step"].unique()) == [1, 2]


def test_a_run_lets_mesa_forget_its_model_unless_asked_to_keep_it():
    before = len(mesa.Agent._ids)
    run(seed=1, steps=1, overrides=SMALL)
    assert len(mesa.Agent._ids) == before  # Mesa 3.3.1 would keep every model alive
    kept = run(seed=1, steps=1, overrides=SMALL, keep_model=True)
    assert kept.model in mesa.Agent._ids  # it may still step and build agents
    kept.model.step()
    release(kept.model)
    assert len(mesa.Agent._ids) == before


def test_build_model_gives_a_fresh_model_with_the_overrides():
    model = build_model(seed=5, overrides={**SMALL, "end_users.price_elasticity": 2.2})
    try:
        assert model.steps == 0
        assert model.cfg.end_users.price_elasticity == 2.2
        assert model.cfg.end_users.simulated_users == 800
        model.step()
        assert model.steps == 1
    finally:
        release(model)


def test_provenance_says_what_went_in_and_the_environment():
    result = run(seed=4, steps=2, overrides=SMALL, source="configs/baseline.toml")
    prov = result.provenance.to_dict()
    assert (prov["seed"], prov["steps"], prov["config_file"]) == (4, 2, "configs/baseline.toml")
    assert prov["config"]["end_users"]["simulated_users"] == 800
    assert prov["versions"]["mesa"] == "3.3.1"
    assert prov["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert prov["wall_time_s"] > 0 and prov["platform"]
    json.dumps(prov, allow_nan=False)  # plain JSON values only


def test_the_recorded_config_holds_the_steps_run_and_the_overrides_are_listed():
    """``steps`` shorter than the config's: the recorded config says so, and running
    from it alone gives the same run."""
    result = run(seed=4, steps=3, overrides=SMALL)
    prov = result.provenance
    assert prov.config.simulation.steps == 3 and prov.to_dict()["overrides"] == SMALL
    again = run(prov.config, seed=4)
    pd.testing.assert_frame_equal(again.metrics, result.metrics)
    assert again.provenance.to_dict()["overrides"] == {}
    assert run(seed=4, steps=1).provenance.config.simulation.steps == 1


def test_the_environment_is_computed_once_per_process():
    assert environment() is environment()


def frozen_copy(dest: Path) -> str:
    """The package and its configs copied into a git repository of their own, committed;
    returns the commit. Nothing else writes there, so every process that imports the copy
    reads the same commit (the project's work tree may gain commits or edits while a long
    test session runs, and ``environment()`` is cached per process)."""
    import shutil

    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("abm", "configs"):
        shutil.copytree(ROOT / name, dest / name, ignore=junk)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "frozen copy")
    return git("rev-parse", "HEAD")


@pytest.mark.slow
def test_run_and_sweep_manifests_record_the_same_provenance(tmp_path):
    """Once there were two copies, and they disagreed (a missing package was
    'not installed' in one and null in the other; the git commit sat in different
    places; the package lists differed).

    Both run from a frozen copy of the package: compared with the live work tree, the
    test once failed whenever the tree changed between this process's first
    ``environment()`` call and the ``abm run`` subprocess."""
    code = tmp_path / "code"
    sha = frozen_copy(code)
    env = {**os.environ, "PYTHONPATH": str(code)}

    def python(*args: str) -> str:
        r = subprocess.run(
            [sys.executable, *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    python("-m", "abm", "run", "--steps", "1", "--set", "end_users.simulated_users=500",
           "--out", str(tmp_path / "run"))  # fmt: skip
    spec = {"name": "one", "seed": 1, "steps": 1, "fixed": {"end_users.simulated_users": 500}}
    sweep = f"""
import json
from abm.experiments import run_sweep
from abm.runs import environment
run_sweep({spec!r}, workers=1, out_dir={str(tmp_path / "sweep")!r}, quiet=True)
print(json.dumps(environment()))
"""
    expected = json.loads(python("-c", sweep))
    run_manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    sweep_manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    for key in ("versions", "git_commit", "platform"):
        assert run_manifest[key] == sweep_manifest[key] == expected[key], key
    assert expected["git_commit"] == sha  # the copy's own commit, clean
    assert expected["versions"] == environment()["versions"]
    assert expected["platform"] == environment()["platform"]


def test_the_git_commit_is_only_read_from_the_packages_own_work_tree(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    sha = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert git_commit(tmp_path) == sha
    (tmp_path / "f.txt").write_text("b")
    assert git_commit(tmp_path) == sha + "-dirty"
    (tmp_path / "site-packages").mkdir()  # an installed copy inside someone's repository
    assert git_commit(tmp_path / "site-packages") is None
    assert git_commit(Path("/")) is None


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_hypothesis_arms_run_through_the_sweep_executors_with_the_same_numbers(workers):
    from abm.validation.calibration import run_one
    from abm.validation.hypotheses import Arm, Experiment, run_hypotheses

    def outcomes(runs, months):
        rows = [
            {
                "arm": arm,
                "outcome": "tokens",
                "mean": float(sum(df["tokens"].iloc[-1] for df in dfs)),
            }
            for arm, dfs in runs.items()
        ]
        return rows, "ok"

    arm = Arm("small", overrides=(("end_users.simulated_users", 500),))
    exp = Experiment("HX", "test", (arm,), 3, outcomes)
    result = run_hypotheses([exp], seeds=2, workers=workers)
    cfg = load_config(overrides={"end_users.simulated_users": 500})
    expected = sum(run_one(cfg, s, 3)["tokens"].iloc[-1] for s in (1, 2))
    assert result.rows[0]["mean"] == expected
