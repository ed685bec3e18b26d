"""Sweeps of the toy model: backends agree, crashes resume, failures are recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from abm.config import ConfigError
from abm.experiments import load_summary, run_sweep
from abm.experiments.cli import main
from abm.experiments.storage import SweepStore

from .conftest import toy_sweep_text


def run_files(out) -> list[str]:
    return sorted(p.name for p in (out / "runs").iterdir())


def test_summary_is_identical_for_one_worker_two_workers_and_a_dask_local_cluster(
    tmp_path, write_sweep
):
    path = write_sweep(toy_sweep_text(replicates=2))
    results = {
        "serial": run_sweep(path, workers=1, out_dir=tmp_path / "serial", quiet=True),
        "pool": run_sweep(path, workers=2, out_dir=tmp_path / "pool", quiet=True),
        "dask": run_sweep(path, dask_local=2, out_dir=tmp_path / "dask", quiet=True),
    }
    reference = load_summary(tmp_path / "serial")
    assert len(reference) == 24
    assert reference["run_id"].tolist() == list(range(24))
    assert (reference["status"] == "ok").all()
    assert reference["level_final"].nunique() == 24  # every run has its own seed
    for name, result in results.items():
        assert result.n_failed == 0
        pd.testing.assert_frame_equal(load_summary(tmp_path / name), reference)
        pd.testing.assert_frame_equal(result.summary, reference)
        for run in (0, 23):
            pd.testing.assert_frame_equal(
                SweepStore(tmp_path / name).read_run(run),
                SweepStore(tmp_path / "serial").read_run(run),
            )


def test_killed_sweep_resumes_to_exactly_the_summary_of_an_uninterrupted_one(
    tmp_path, write_sweep, subprocess_env
):
    # 12 points x 4 replicates, 40 ms each: long enough to kill it half-way.
    path = write_sweep(toy_sweep_text("killed", replicates=4, sleep=0.04))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "abm.experiments", "sweep", str(path), "--workers", "2"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--quiet"], env=subprocess_env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / "runs").is_dir() or len(run_files(out)) < 8:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
        proc.wait()
    stored = [f for f in run_files(out) if f.endswith(".parquet")]
    assert 8 <= len(stored) < 48

    resumed = run_sweep(path, workers=2, out_dir=out, quiet=True)
    reference = run_sweep(path, workers=1, out_dir=tmp_path / "reference", quiet=True)

    assert resumed.n_resumed == len(stored)
    assert resumed.n_run_now == 48 - len(stored)
    assert run_files(out) == [f"run_{i:06d}.parquet" for i in range(48)]  # one each, no temp files
    pd.testing.assert_frame_equal(load_summary(out), load_summary(tmp_path / "reference"))
    pd.testing.assert_frame_equal(resumed.summary, reference.summary)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["status"] for s in sessions] == [
        "running",
        "complete",
    ]  # the killed one never finished


def test_failing_runs_are_recorded_while_the_others_finish_and_exit_code_is_1(
    tmp_path, write_sweep, capsys
):
    path = write_sweep(toy_sweep_text(replicates=1, fail_when_x=2.0))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--workers", "2", "--out", str(out), "--quiet"]) == 1
    assert "3 of 12 runs failed" in capsys.readouterr().err

    summary = load_summary(out)
    failed = summary[summary["x"] == 2.0]
    assert (failed["status"] == "failed").all()
    assert failed["level_final"].isna().all()
    assert (summary.loc[summary["x"] != 2.0, "status"] == "ok").all()
    records = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [r["run_id"] for r in records] == failed["run_id"].tolist()
    assert all("RuntimeError: toy model refuses x = 2.0" in r["traceback"] for r in records)
    assert records[0]["params"] == {"x": 2.0, "y": 0.5}
    assert len(run_files(out)) == 9
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {
        "runs": 12,
        "design_points": 12,
        "replicates": 1,
        "completed": 9,
        "failed": 3,
    }


def test_a_run_that_kills_its_worker_process_is_recorded_and_the_sweep_goes_on(
    tmp_path, write_sweep
):
    text = toy_sweep_text(replicates=1, die_when_x=3.0).replace(
        "y = { low = 0.5, high = 1.5, levels = 3 }", "y = [1.0]"
    )
    result = run_sweep(write_sweep(text), workers=2, out_dir=tmp_path / "out", quiet=True)
    assert result.n_failed == 1
    assert result.summary["status"].tolist() == ["ok", "ok", "ok", "failed"]
    failure = json.loads((tmp_path / "out" / "failures.jsonl").read_text())
    assert "worker process died" in failure["traceback"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("replicates = 1", "replicats = 1"), "unknown key 'replicats'"),
        (lambda t: t.replace('stat = "final"', 'stat = "last"'), "outcomes.0.stat"),
        (lambda t: t.replace("x = [", "z = ["), "unknown key 'z'"),  # the run function's check
        (lambda t: t + '\n[[outcomes]]\nmetric = "level"\nstat = "final"\n', "appears twice"),
    ],
)
def test_bad_sweep_file_exits_2_with_one_line_and_writes_nothing(
    tmp_path, write_sweep, capsys, edit, expected
):
    path = write_sweep(edit(toy_sweep_text(replicates=1)), name="bad")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(path) in err
    assert expected in err
    assert not out.exists()


def test_resume_skips_stored_runs_and_no_resume_starts_over(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    out = tmp_path / "out"
    first = run_sweep(path, workers=1, out_dir=out, quiet=True)
    mtime = (out / "runs" / "run_000005.parquet").stat().st_mtime_ns

    again = run_sweep(path, workers=1, out_dir=out, quiet=True)
    assert (again.n_resumed, again.n_run_now) == (12, 0)
    assert (out / "runs" / "run_000005.parquet").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(again.summary, first.summary)

    (out / "runs" / "run_000005.parquet").write_bytes(b"truncated")  # not readable: run again
    repaired = run_sweep(path, workers=1, out_dir=out, quiet=True)
    assert (repaired.n_resumed, repaired.n_run_now) == (11, 1)
    pd.testing.assert_frame_equal(repaired.summary, first.summary)

    fresh = run_sweep(path, workers=1, out_dir=out, quiet=True, resume=False)
    assert (fresh.n_resumed, fresh.n_run_now) == (0, 12)
    assert len(json.loads((out / "manifest.json").read_text())["sessions"]) == 1


def test_a_new_outcome_on_stored_metrics_needs_no_rerun(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    run_sweep(path, workers=1, out_dir=tmp_path / "out", quiet=True)
    path.write_text(path.read_text() + '\n[[outcomes]]\nmetric = "level"\nstat = "min"\n')
    result = run_sweep(path, workers=1, out_dir=tmp_path / "out", quiet=True)
    assert result.n_run_now == 0
    assert result.summary["level_min"].notna().all()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("replicates = 1", "replicates = 2"), "'replicates' differs"),
        (lambda t: t.replace("seed = 7", "seed = 8"), "'seed' differs"),
        (lambda t: t.replace("x = [0.0,", "x = [0.5,"), "'parameters' differs"),
        (lambda t: t.replace('keep = ["level"]', 'keep = ["level", "noise"]'), "metrics.keep"),
        (
            lambda t: t.replace('keep = ["level"]', "").replace(
                'metric = "level"\nstat = "final"', 'metric = "noise"\nstat = "final"'
            ),
            "'noise' is not stored",
        ),
    ],
)
def test_an_incompatibly_changed_sweep_refuses_to_resume(tmp_path, write_sweep, edit, expected):
    path = write_sweep(toy_sweep_text(replicates=1))
    out = tmp_path / "out"
    run_sweep(path, workers=1, out_dir=out, quiet=True)
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=expected) as err:
        run_sweep(path, workers=1, out_dir=out, quiet=True)
    assert "--no-resume" in str(err.value)


def test_stored_files_hold_design_runs_and_manifest(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=2))
    out = tmp_path / "out"
    run_sweep(path, workers=1, out_dir=out, quiet=True)

    design = pd.read_parquet(out / "design.parquet")
    assert list(design.columns) == [
        "run_id",
        "point_id",
        "replicate",
        "x",
        "y",
        "seed_entropy",
        "seed_spawn_key",
        "seed",
    ]
    assert design["seed_spawn_key"].map(list).tolist()[:2] == [[1, 0], [1, 1]]
    run = pd.read_parquet(out / "runs" / "run_000003.parquet")
    assert list(run.columns) == ["run_id", "step", "level"]  # keep = ["level"]
    assert run["step"].tolist() == list(range(21))
    assert (run["run_id"] == 3).all()
    summary = load_summary(out)
    assert list(summary.columns) == [
        "run_id",
        "point_id",
        "replicate",
        "x",
        "y",
        "seed",
        "status",
        "level_final",
        "level_mean_5_10",
        "level_time_of_peak",
    ]
    assert summary["level_final"].tolist() == pytest.approx(
        [SweepStore(out).read_run(i)["level"].iloc[-1] for i in range(24)]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["spec"]["replicates"] == 2
    assert manifest["versions"]["numpy"]
    assert manifest["sessions"][0]["runs_done"] == 24
    assert not (out / "failures.jsonl").exists()


def test_dask_and_workers_options_conflict(write_sweep, tmp_path, capsys):
    path = write_sweep(toy_sweep_text())
    with pytest.raises(ConfigError, match="not both"):
        run_sweep(path, scheduler="tcp://127.0.0.1:1", dask_local=2, out_dir=tmp_path / "o")
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", str(path), "--workers", "2", "--dask-local", "2"])
    assert exit_.value.code == 2
    assert not (tmp_path / "o").exists()


def test_a_second_sweep_into_a_directory_in_use_is_refused(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    out = tmp_path / "out"
    with SweepStore(out).locked(), pytest.raises(ConfigError, match="another sweep is writing"):
        run_sweep(path, workers=1, out_dir=out, quiet=True)
    assert run_sweep(path, workers=1, out_dir=out, quiet=True).n_run_now == 12


def test_at_most_two_runs_per_worker_are_in_flight(tmp_path, write_sweep, monkeypatch):
    import abm.experiments.sweep as sweep_module

    sizes = []
    real_wait = sweep_module.wait

    def recording_wait(fs, **kwargs):
        sizes.append(len(fs))
        return real_wait(fs, **kwargs)

    monkeypatch.setattr(sweep_module, "wait", recording_wait)
    path = write_sweep(toy_sweep_text(replicates=4))
    run_sweep(path, workers=2, out_dir=tmp_path / "out", quiet=True)
    assert max(sizes) == 4  # 48 runs, never more than 2 x 2 workers submitted at once
