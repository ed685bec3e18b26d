"""Sweeps of the toy model: backends agree, crashes resume, failures are recorded."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from support import run_abm

from abm.config import ConfigError
from abm.experiments import load_summary, load_sweep, run_sweep
from abm.experiments.cli import main
from abm.experiments.storage import SweepStore

from . import toy
from .conftest import ALLOW_TOY, TOY_RUN, toy_sweep_text

# The toy run functions live outside abm: the tests trust their module explicitly.
run_toy = functools.partial(run_sweep, allow_imports=[toy.__name__])


def run_files(out) -> list[str]:
    return sorted(p.name for p in (out / "runs").iterdir())


@pytest.mark.slow
def test_summary_is_identical_for_one_worker_two_workers_and_a_dask_local_cluster(
    tmp_path, write_sweep
):
    path = write_sweep(toy_sweep_text(replicates=2))
    results = {
        "serial": run_toy(path, workers=1, out_dir=tmp_path / "serial", quiet=True),
        "pool": run_toy(path, workers=2, out_dir=tmp_path / "pool", quiet=True),
        "dask": run_toy(path, dask_local=2, out_dir=tmp_path / "dask", quiet=True),
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


def gated_run(*, base, overrides, seed, steps):
    """The toy model, except that runs with x >= 2 wait until the file ``gate`` exists.

    This holds a sweep half-way for as long as a test needs, whatever the load.
    """
    overrides = dict(overrides)
    gate = Path(overrides.pop("gate"))
    deadline = time.monotonic() + 300
    while overrides["x"] >= 2.0 and not gate.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{gate} never appeared")
        time.sleep(0.01)
    return toy.toy_run(base=base, overrides=overrides, seed=seed, steps=steps)


@pytest.mark.slow
def test_killed_sweep_resumes_to_exactly_the_summary_of_an_uninterrupted_one(
    tmp_path, write_sweep, subprocess_env
):
    # 12 points x 4 replicates. Runs 0-23 (x = 0, 1) finish; runs 24-47 wait for the
    # gate, so the sweep is killed with exactly 24 runs stored, however loaded the machine.
    gate = tmp_path / "gate"
    text = toy_sweep_text("killed", replicates=4, gate=str(gate))
    path = write_sweep(text.replace(TOY_RUN, f"{__name__}:gated_run"))
    out = tmp_path / "killed"
    trust = ["--allow-import", __name__]
    cmd = [sys.executable, "-m", "abm.experiments", "sweep", str(path), *trust, "--workers", "2"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--quiet"], env=subprocess_env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not set(range(24)) <= SweepStore(out).completed_ids():  # not the files in runs/
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the first 24 runs never finished"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
        proc.wait()
    assert SweepStore(out).completed_ids() == set(range(24))

    gate.touch()
    resumed = run_sweep(path, workers=2, out_dir=out, quiet=True, allow_imports=[__name__])
    reference = run_sweep(
        path, workers=1, out_dir=tmp_path / "reference", quiet=True, allow_imports=[__name__]
    )

    assert (resumed.n_resumed, resumed.n_run_now) == (24, 24)
    assert run_files(out) == [f"run_{i:06d}.parquet" for i in range(48)]  # one each, no temp files
    pd.testing.assert_frame_equal(load_summary(out), load_summary(tmp_path / "reference"))
    pd.testing.assert_frame_equal(resumed.summary, reference.summary)
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert [s["status"] for s in sessions] == [
        "running",
        "complete",
    ]  # the killed one never finished


def test_temporary_files_are_never_counted_as_finished_runs(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    out = tmp_path / "out"
    run_toy(path, workers=1, out_dir=out, quiet=True)
    store = SweepStore(out)
    (out / "runs" / "run_000003.parquet").unlink()
    # what a writer killed between writing and renaming leaves behind, in both namings
    (out / "runs" / ".run_000003.parquet.abm-tmp-999-0a1b2c3d").write_bytes(b"half")
    (out / "runs" / ".run_000003.parquet.999.tmp").write_bytes(b"half")
    (out / ".notes.tmp").write_text("mine")  # a user's file that only looks temporary
    assert store.completed_ids() == set(range(12)) - {3}

    again = run_toy(path, workers=1, out_dir=out, quiet=True)
    assert (again.n_resumed, again.n_run_now) == (11, 1)
    assert run_files(out) == [f"run_{i:06d}.parquet" for i in range(12)]
    assert (out / ".notes.tmp").read_text() == "mine"


@pytest.mark.slow
def test_failing_runs_are_recorded_while_the_others_finish_and_exit_code_is_1(
    tmp_path, write_sweep, capsys
):
    path = write_sweep(toy_sweep_text(replicates=1, fail_when_x=2.0))
    out = tmp_path / "out"
    assert (
        main(["sweep", *ALLOW_TOY, str(path), "--workers", "2", "--out", str(out), "--quiet"]) == 1
    )
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


@pytest.mark.slow
def test_a_run_that_kills_its_worker_process_is_recorded_and_the_sweep_goes_on(
    tmp_path, write_sweep
):
    text = toy_sweep_text(replicates=1, die_when_x=3.0).replace(
        "y = { low = 0.5, high = 1.5, levels = 3 }", "y = [1.0]"
    )
    result = run_toy(write_sweep(text), workers=2, out_dir=tmp_path / "out", quiet=True)
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
        (lambda t: t.replace("[[outcomes]]", "[[outcome]]", 1), "did you mean 'outcomes'?"),
        (
            lambda t: t.replace(TOY_RUN, TOY_RUN + "_typo"),
            f"run_function '{TOY_RUN}_typo': cannot import it (module",
        ),
        (
            lambda t: t.replace(TOY_RUN, TOY_RUN.replace(":", ".nowhere:")),
            f"run_function '{TOY_RUN.replace(':', '.nowhere:')}': cannot import it (No module",
        ),
    ],
)
def test_bad_sweep_file_exits_2_with_one_line_and_writes_nothing(
    tmp_path, write_sweep, capsys, edit, expected
):
    path = write_sweep(edit(toy_sweep_text(replicates=1)), name="bad")
    out = tmp_path / "out"
    assert main(["sweep", *ALLOW_TOY, str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(path) in err
    assert expected in err
    assert not out.exists()


def test_resume_skips_stored_runs_and_no_resume_starts_over(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    out = tmp_path / "out"
    first = run_toy(path, workers=1, out_dir=out, quiet=True)
    mtime = (out / "runs" / "run_000005.parquet").stat().st_mtime_ns

    again = run_toy(path, workers=1, out_dir=out, quiet=True)
    assert (again.n_resumed, again.n_run_now) == (12, 0)
    assert (out / "runs" / "run_000005.parquet").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(again.summary, first.summary)

    (out / "runs" / "run_000005.parquet").write_bytes(b"truncated")  # not readable: run again
    repaired = run_toy(path, workers=1, out_dir=out, quiet=True)
    assert (repaired.n_resumed, repaired.n_run_now) == (11, 1)
    pd.testing.assert_frame_equal(repaired.summary, first.summary)

    fresh = run_toy(path, workers=1, out_dir=out, quiet=True, resume=False)
    assert (fresh.n_resumed, fresh.n_run_now) == (0, 12)
    assert len(json.loads((out / "manifest.json").read_text())["sessions"]) == 1


def test_a_new_outcome_on_stored_metrics_needs_no_rerun(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    run_toy(path, workers=1, out_dir=tmp_path / "out", quiet=True)
    path.write_text(path.read_text() + '\n[[outcomes]]\nmetric = "level"\nstat = "min"\n')
    result = run_toy(path, workers=1, out_dir=tmp_path / "out", quiet=True)
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
    run_toy(path, workers=1, out_dir=out, quiet=True)
    path.write_text(edit(path.read_text()))
    with pytest.raises(ConfigError, match=expected) as err:
        run_toy(path, workers=1, out_dir=out, quiet=True)
    assert "--no-resume" in str(err.value)


def test_stored_files_hold_design_runs_and_manifest(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=2))
    out = tmp_path / "out"
    run_toy(path, workers=1, out_dir=out, quiet=True)

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
        run_toy(path, scheduler="tcp://127.0.0.1:1", dask_local=2, out_dir=tmp_path / "o")
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", *ALLOW_TOY, str(path), "--workers", "2", "--dask-local", "2"])
    assert exit_.value.code == 2
    assert not (tmp_path / "o").exists()


def test_a_second_sweep_into_a_directory_in_use_is_refused(tmp_path, write_sweep):
    path = write_sweep(toy_sweep_text(replicates=1))
    out = tmp_path / "out"
    with SweepStore(out).locked(), pytest.raises(ConfigError, match="another sweep is writing"):
        run_toy(path, workers=1, out_dir=out, quiet=True)
    assert run_toy(path, workers=1, out_dir=out, quiet=True).n_run_now == 12


@pytest.mark.slow
def test_at_most_two_runs_per_worker_are_in_flight(tmp_path, write_sweep, monkeypatch):
    from abm.experiments.executors import Backend

    sizes = []
    real_wait = Backend.wait

    def recording_wait(self, fs, **kwargs):
        fs = list(fs)
        sizes.append(len(fs))
        return real_wait(self, fs, **kwargs)

    monkeypatch.setattr(Backend, "wait", recording_wait)
    path = write_sweep(toy_sweep_text(replicates=4))
    run_toy(path, workers=2, out_dir=tmp_path / "out", quiet=True)
    assert max(sizes) == 4  # 48 runs, never more than 2 x 2 workers submitted at once


# --------------------------------------------------------------------------- what a sweep file may run
EVIL = """
from pathlib import Path

Path("MARKER").write_text("evil.py ran")  # on import


def run(*, base, overrides, seed, steps):
    import pandas as pd

    return pd.DataFrame({"level": [1.0] * ((steps or 1) + 1)})
"""


abm_cli = run_abm


def evil_sweep(tmp_path, run_function="evil:run"):
    (tmp_path / "evil.py").write_text(EVIL)
    path = tmp_path / "colleague.toml"
    path.write_text(f'name = "c"\nrun_function = "{run_function}"\nseed = 1\nsteps = 2\n')
    return path


@pytest.mark.slow
def test_a_sweep_file_cannot_run_code_from_the_working_directory(tmp_path, subprocess_env):
    path = evil_sweep(tmp_path)
    r = abm_cli(
        "sweep", str(path), "--out", "out", "--workers", "1", cwd=tmp_path, env=subprocess_env
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "outside the abm package" in r.stderr and "--allow-import evil" in r.stderr
    assert not (tmp_path / "MARKER").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_allow_import_trusts_the_named_module(tmp_path, subprocess_env):
    path = evil_sweep(tmp_path)
    args = ("sweep", str(path), "--out", "out", "--workers", "1", "--quiet")
    r = abm_cli(*args, "--allow-import", "evil", cwd=tmp_path, env=subprocess_env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "MARKER").read_text() == "evil.py ran"
    assert len(load_summary(tmp_path / "out")) == 1


@pytest.mark.parametrize(
    ("run_function", "expected"),
    [
        ("evil:run", "outside the abm package"),
        ("evilpkg.abm:run", "outside the abm package"),
        ("abmx:run", "outside the abm package"),  # a prefix is not the package
        ("abm.experiments.runner:importlib.import_module", "is a module"),
        ("abm.experiments.storage:shutil.rmtree", "is a module"),
        ("abm.experiments.runner:pd.read_pickle", "is a module"),
        ("abm.experiments.runner:_per_step_table", "private"),
        ("abm.config:ConfigError", "not a function"),
        ("abm.experiments.runner:Path", "not a function defined in package"),
    ],
)
def test_a_run_function_must_be_a_function_of_the_abm_package(
    tmp_path, capsys, run_function, expected
):
    path = evil_sweep(tmp_path, run_function)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    assert not (tmp_path / "MARKER").exists()
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- fail fast
def test_a_design_too_large_for_memory_is_refused_before_anything_is_allocated(tmp_path):
    import tracemalloc

    from abm.config import available_memory_bytes
    from abm.experiments.sweep import design_memory

    text = toy_sweep_text(replicates=1).replace(
        "seed = 7", 'seed = 7\ndesign = "lhs"\nn = 10000000'
    )
    text = text.replace(
        "y = { low = 0.5, high = 1.5, levels = 3 }", "y = { low = 0.5, high = 1.5 }"
    )
    text = text.replace("x = [0.0, 1.0, 2.0, 3.0]", "x = { low = 0.0, high = 3.0 }")
    path = tmp_path / "huge.toml"
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as err:
            run_toy(path, workers=1, out_dir=tmp_path / "out", quiet=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert "10,000,000 runs" in message and "GB of memory" in message
    assert design_memory(load_sweep(path)) > available_memory_bytes() // 2
    assert peak < 20e6  # bytes: nothing of the design was built
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_memory_estimate_is_above_what_building_a_design_takes():
    import tracemalloc

    from abm.experiments import build_design
    from abm.experiments.spec import parse_sweep
    from abm.experiments.sweep import design_memory

    build_design(
        parse_sweep(
            {
                "name": "w",
                "seed": 1,
                "design": "lhs",
                "n": 2,
                "parameters": {"p.x": {"low": 0, "high": 1}},
            },
            "s",
        )
    )  # imports
    for d in (1, 4, 12):
        spec = parse_sweep(
            {
                "name": "m",
                "seed": 1,
                "design": "lhs",
                "n": 5000,
                "replicates": 2,
                "parameters": {f"p.x{i}": {"low": 0, "high": 1} for i in range(d)},
                "outcomes": [{"metric": "a", "stat": "final"}],
            },
            "s",
        )
        tracemalloc.start()
        try:
            design = build_design(spec)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(design.tasks) == 10_000
        assert peak < design_memory(spec) < 3 * peak, (d, peak)


def test_an_output_directory_holding_other_files_is_refused(tmp_path, write_sweep, capsys):
    out = tmp_path / "mine"
    (out / "runs").mkdir(parents=True)
    (out / "runs" / "thesis.tex").write_text("years of work")
    (out / "notes.txt").write_text("mine")
    path = write_sweep(toy_sweep_text(replicates=1))
    for resume in ([], ["--no-resume"]):
        assert main(["sweep", *ALLOW_TOY, str(path), "--out", str(out), *resume]) == 2
        assert "not a sweep's (notes.txt, runs)" in capsys.readouterr().err
    assert sorted(p.name for p in out.rglob("*")) == ["notes.txt", "runs", "thesis.tex"]
    file_out = tmp_path / "file"
    file_out.write_text("mine")
    assert main(["sweep", *ALLOW_TOY, str(path), "--out", str(file_out)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["sweep", *ALLOW_TOY, str(path), "--out", str(file_out / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write here ({file_out} is not a directory)" in err
    assert file_out.read_text() == "mine"


def test_manifest_and_failures_are_strict_json_when_values_are_not_finite(tmp_path, write_sweep):
    text = toy_sweep_text(replicates=1, fail_when_x=float("inf")).replace(
        "x = [0.0, 1.0, 2.0, 3.0]", "x = [0.0, inf]"
    )
    result = run_toy(write_sweep(text), workers=1, out_dir=tmp_path / "out", quiet=True)
    assert result.n_failed == 3

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    lines = (tmp_path / "out" / "failures.jsonl").read_text().splitlines()
    records = [json.loads(line, parse_constant=refuse) for line in lines]
    assert [r["params"]["x"] for r in records] == [None, None, None]
    assert records[0]["non_finite"] == {"params.x": "inf"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(), parse_constant=refuse)
    assert manifest["spec"]["parameters"]["x"]["values"] == [0.0, None]
    assert manifest["non_finite"]["spec.parameters.x.values.1"] == "inf"


def test_sweep_results_are_readable_by_colleagues(tmp_path, write_sweep):
    import stat

    path = write_sweep(toy_sweep_text(replicates=1))
    old = os.umask(0o022)
    try:
        run_toy(path, workers=1, out_dir=tmp_path / "a" / "out", quiet=True)
    finally:
        os.umask(old)
    out = tmp_path / "a" / "out"
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*")}
    assert {m for name, m in modes.items() if (out / name).is_dir()} == {0o755}
    assert {m for name, m in modes.items() if (out / name).is_file()} == {0o644}
    assert (
        stat.S_IMODE(out.stat().st_mode) == stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o755
    )
