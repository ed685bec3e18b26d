"""What ``abm run`` may replace, and that results are never lost, mixed or half-written.

Each test runs real processes. Kills happen at chosen points (a child process ends
itself with ``os._exit`` right after the step in question), never after a sleep.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import ENV, ROOT, run_abm

from abm.run_output import (
    MANIFEST,
    RUN_FILES,
    RUN_KIND,
    DirLock,
    OutputError,
    output_dir,
    recover_stale,
    strict_json,
)

SMALL = ["--steps", "2", "--set", "end_users.simulated_users=500"]

abm = run_abm


def one_error_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` with its content (hidden ones too)."""
    return {
        str(p.relative_to(path)): p.read_text() if p.is_file() else "<dir>"
        for p in sorted(path.rglob("*"))
    }


def manifest_seed(path: Path) -> int:
    return json.loads((path / MANIFEST).read_text())["seed"]


# --------------------------------------------------------------------------- what may be replaced
@pytest.mark.slow
def test_a_directory_holding_someone_elses_files_is_refused(tmp_path):
    (tmp_path / "scratch" / "sub").mkdir(parents=True)
    (tmp_path / "scratch" / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    r = abm("run", *SMALL, "--out", "scratch", cwd=tmp_path)
    assert r.returncode == 2
    line = one_error_line(r)
    assert "does not hold an earlier run's outputs (notes.txt, sub)" in line
    assert "--force replaces only an earlier run's outputs" in line
    assert tree(tmp_path) == before
    r = abm("run", *SMALL, "--out", "scratch", "--force", cwd=tmp_path)
    assert r.returncode == 2 and "does not hold an earlier run's outputs" in one_error_line(r)
    assert tree(tmp_path) == before


@pytest.mark.slow
def test_the_current_directory_is_refused_even_with_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    for extra in ([], ["--force"]):
        r = abm("run", *SMALL, "--out", ".", *extra, cwd=tmp_path)
        assert r.returncode == 2
        assert "current directory" in one_error_line(r)
    sub = tmp_path / "deeper"
    sub.mkdir()
    r = abm("run", *SMALL, "--out", "..", "--force", cwd=sub)
    assert r.returncode == 2 and "current directory or one of its parents" in r.stderr
    assert tree(tmp_path) == {**before, "deeper": "<dir>"}


@pytest.mark.slow
def test_a_regular_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for extra in ([], ["--force"]):
        r = abm("run", *SMALL, "--out", "notes.txt", *extra, cwd=tmp_path)
        assert r.returncode == 2
        assert "is a file" in one_error_line(r)
        assert tree(tmp_path) == {"notes.txt": "mine"}


@pytest.mark.slow
def test_an_earlier_run_or_an_empty_directory_is_replaced(tmp_path):
    (tmp_path / "empty").mkdir()
    assert abm("run", *SMALL, "--out", "empty", cwd=tmp_path).returncode == 0
    r1 = abm("run", *SMALL, "--seed", "1", "--out", "res", cwd=tmp_path)
    r2 = abm("run", *SMALL, "--seed", "2", "--out", "res", cwd=tmp_path)
    assert (r1.returncode, r2.returncode) == (0, 0), r2.stderr
    assert manifest_seed(tmp_path / "res") == 2
    manifest = json.loads((tmp_path / "res" / MANIFEST).read_text())
    assert manifest["output"] == RUN_KIND
    assert sorted(os.listdir(tmp_path)) == ["empty", "res"]  # no lock, no hidden leftovers


@pytest.mark.slow
def test_an_earlier_run_with_a_file_added_is_refused_and_force_replaces_it(tmp_path):
    assert abm("run", *SMALL, "--seed", "1", "--out", "res", cwd=tmp_path).returncode == 0
    (tmp_path / "res" / "my_analysis.py").write_text("print('mine')")
    r = abm("run", *SMALL, "--seed", "2", "--out", "res", cwd=tmp_path)
    assert r.returncode == 2 and "(my_analysis.py)" in one_error_line(r)
    assert manifest_seed(tmp_path / "res") == 1
    r = abm("run", *SMALL, "--seed", "2", "--out", "res", "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert manifest_seed(tmp_path / "res") == 2
    assert not (tmp_path / "res" / "my_analysis.py").exists()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@needs_git
@pytest.mark.slow
def test_force_never_replaces_a_results_tree(tmp_path):
    """The reported accident: ``abm run --out results --force`` deleted the whole tree
    (a tracked README, every run, sweep and report). Without a run's manifest in it,
    a directory is not an earlier run's output, so --force refuses it."""
    git(tmp_path, "init", "-q")
    results = tmp_path / "results"
    (results / "baseline").mkdir(parents=True)
    fake_run(results / "baseline", 1)
    (results / "README.md").write_text("what lives here")
    git(tmp_path, "add", "results/README.md")
    before = tree(results)
    r = abm("run", *SMALL, "--out", "results", "--force", cwd=tmp_path)
    assert r.returncode == 2
    line = one_error_line(r)
    assert "results: is a directory that does not hold an earlier run's outputs" in line
    assert "(README.md, baseline)" in line
    assert tree(results) == before
    assert sorted(os.listdir(tmp_path)) == [".git", "results"]  # no lock, no staging


@needs_git
@pytest.mark.parametrize("addition", ["subdirectory", "tracked", "tracked, named like magic"])
def test_force_keeps_an_earlier_runs_directory_holding_more_than_stray_files(tmp_path, addition):
    """--force deletes files added to an earlier run's directory, but never a
    subdirectory (a run writes none; it may hold other results) nor a file git tracks,
    even one whose name git would read as pathspec magic (``:x``)."""
    git(tmp_path, "init", "-q")
    out = tmp_path / "res"
    publish(out, 1)
    if addition == "subdirectory":
        (out / "variant").mkdir()
        fake_run(out / "variant", 2)
        reason = "variant/ (a directory)"
    else:
        name = "analysis.py" if addition == "tracked" else ":x"
        (out / name).write_text("print('mine')")
        git(tmp_path, "--literal-pathspecs", "add", f"res/{name}")
        reason = f"{name} (tracked by git)"
    before = tree(out)
    for force in (False, True):
        with pytest.raises(OutputError) as caught, output_dir(out, force=force):
            raise AssertionError("not refused")
        message = str(caught.value)
        assert "even with --force" in message and f"({reason})" in message
    assert tree(out) == before
    assert hidden(tmp_path) == [".git"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["", ".", "..", "../docs", "../x", "a/../../x", "/tmp/abm-abs"])
def test_a_config_name_never_leads_outside_results(tmp_path, name):
    config = tmp_path / "cfg.toml"
    config.write_text(f'extends = "{ROOT / "configs" / "baseline.toml"}"\nname = "{name}"\n')
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.txt").write_text("mine")
    (tmp_path / "docs").mkdir()
    before = tree(tmp_path)
    r = abm("run", str(config), *SMALL, cwd=tmp_path)
    assert r.returncode == 2
    assert "name" in one_error_line(r)
    assert tree(tmp_path) == before
    assert not Path("/tmp/abm-abs").exists()


# --------------------------------------------------------------------------- one writer at a time
HOLD_LOCK = """
import sys
from abm.run_output import DirLock
with DirLock(__import__("pathlib").Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@pytest.mark.slow
def test_a_second_writer_is_refused_while_another_process_writes(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "res")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        r = abm("run", *SMALL, "--out", "res", cwd=tmp_path)
        assert r.returncode == 2
        assert "res: another run is writing here" in one_error_line(r)
        assert not (tmp_path / "res").exists()
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    r = abm("run", *SMALL, "--out", "res", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["res"]


def test_a_lock_left_by_a_killed_writer_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "res")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert holder.stdout.readline() == "locked\n"
    holder.kill()
    holder.wait()
    assert (tmp_path / ".res.lock").exists()  # the file stays; the OS dropped the lock
    with DirLock(tmp_path / "res"):
        pass
    assert not (tmp_path / ".res.lock").exists()


# --------------------------------------------------------------------------- kills at each step
def fake_run(folder: Path, seed: int) -> None:
    """The files of a run, small: a manifest that marks it, and one of a run's files
    (not real Parquet; the child processes below write the same)."""
    (folder / "metrics.parquet").write_text(f"seed {seed}")
    manifest = {"output": RUN_KIND, "seed": seed, "files": ["metrics.parquet"]}
    (folder / MANIFEST).write_text(strict_json(manifest))


def publish_and_die(out: Path, seed: int, after: str) -> subprocess.CompletedProcess:
    """Publish a fake run from a child process that ends itself at ``after``."""
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        import abm.run_output as ro

        after = {after!r}
        real_exchange, real_rename = ro._exchange, os.rename
        renames = []

        def exchange(a, b):
            if after == "rename":  # a file system without RENAME_EXCHANGE
                return False
            real_exchange(a, b)
            os._exit(9)

        def rename(a, b):
            renames.append(a)
            if after == "rename" and len(renames) == 2:
                os._exit(9)
            real_rename(a, b)

        ro._exchange = exchange
        os.rename = rename
        with ro.output_dir(Path({str(out)!r})) as staging:
            (staging / "metrics.parquet").write_text("seed {seed}")
            manifest = {{"output": ro.RUN_KIND, "seed": {seed}, "files": ["metrics.parquet"]}}
            (staging / ro.MANIFEST).write_text(ro.strict_json(manifest))
            if after == "write":
                os._exit(9)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=ENV, capture_output=True, text=True
    )


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def publish(out: Path, seed: int) -> None:
    with output_dir(out) as staging:
        fake_run(staging, seed)


def test_a_kill_while_writing_leaves_the_old_result_and_the_next_run_tidies_up(tmp_path):
    out = tmp_path / "res"
    publish(out, 1)
    assert publish_and_die(out, 2, after="write").returncode == 9
    assert manifest_seed(out) == 1
    partial, lock = hidden(tmp_path)  # the half-written one, and the dead writer's lock file
    assert partial.startswith(".res.abm-new-") and lock == ".res.lock"
    foreign = tmp_path / ".res.abm-new-0123456789ab"  # same pattern, but not provably a run's
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("mine")
    publish(out, 3)
    assert manifest_seed(out) == 3
    assert hidden(tmp_path) == [foreign.name]
    assert (foreign / "thesis.tex").read_text() == "mine"


def test_a_kill_right_after_the_swap_leaves_the_new_result_in_place(tmp_path):
    out = tmp_path / "res"
    publish(out, 1)
    assert publish_and_die(out, 2, after="exchange").returncode == 9
    assert manifest_seed(out) == 2  # the swap is one system call: old or new, never neither
    old, lock = hidden(tmp_path)
    assert manifest_seed(tmp_path / old) == 1 and lock == ".res.lock"  # not yet deleted
    publish(out, 3)
    assert manifest_seed(out) == 3
    assert hidden(tmp_path) == []


def test_without_an_atomic_swap_a_kill_between_the_renames_is_undone_next_time(tmp_path):
    out = tmp_path / "res"
    publish(out, 1)
    assert publish_and_die(out, 2, after="rename").returncode == 9
    assert not out.exists()  # the window of the two-rename fallback
    with DirLock(out):
        recover_stale(out)
    assert manifest_seed(out) == 1  # the earlier result is back
    assert hidden(tmp_path) == []  # and the finished-but-unpublished one is gone
    publish(out, 3)
    assert manifest_seed(out) == 3


def test_leftovers_of_the_earlier_version_are_removed_or_put_back(tmp_path):
    """Killed runs of the version before this one left ``tempfile.mkdtemp`` folders."""
    out = tmp_path / "res"
    publish(out, 1)
    partial = tmp_path / ".res.k2_9xq0a"  # killed while writing
    partial.mkdir()
    (partial / "metrics.parquet").write_bytes(b"PAR1")
    aside = tmp_path / ".res.old.abcd_123"  # killed between its two renames
    (aside / "previous").mkdir(parents=True)
    fake_run(aside / "previous", 0)
    lookalike = tmp_path / ".res.zzzzzzzz"  # same naming, but someone else's file
    lookalike.mkdir()
    (lookalike / "thesis.tex").write_text("mine")
    publish(out, 2)
    assert manifest_seed(out) == 2
    assert hidden(tmp_path) == [lookalike.name]

    out.rename(tmp_path / "elsewhere")  # as if the kill left no visible result
    (aside / "previous").mkdir(parents=True)
    fake_run(aside / "previous", 0)
    with DirLock(out):
        recover_stale(out)
    assert manifest_seed(out) == 0  # the earlier version's result is back
    assert hidden(tmp_path) == [lookalike.name]


# --------------------------------------------------------------------------- what --force deletes
def with_added_files(tmp_path: Path, *names: str) -> Path:
    out = tmp_path / "res"
    publish(out, 1)
    for name in names:
        (out / name).write_text("mine")
    return out


def test_force_names_the_files_it_deletes_before_the_run(tmp_path, capsys):
    out = with_added_files(tmp_path, "b.txt", "a.txt")
    with output_dir(out, force=True) as staging:
        err = capsys.readouterr().err  # before the run has written anything
        assert err == (
            f"abm: --force: replacing {out}; deleting files a run did not write: a.txt, b.txt\n"
        )
        fake_run(staging, 2)
    assert sorted(os.listdir(out)) == [MANIFEST, "metrics.parquet"]
    assert capsys.readouterr().err == ""
    assert sorted(os.listdir(tmp_path)) == ["res"]


@pytest.mark.parametrize(
    "listed",
    [
        ["metrics.parquet", "notes.txt"],  # a file no run writes
        ["metrics.parquet", "variant"],  # a subdirectory
        ["metrics.parquet", "flows.parquet"],  # a run's file name, but a directory
    ],
)
def test_a_hand_edited_manifest_makes_nothing_but_a_runs_files_replaceable(tmp_path, listed):
    out = tmp_path / "res"
    publish(out, 1)
    extra = listed[1]
    if extra == "notes.txt":
        (out / extra).write_text("mine")
    else:
        (out / extra).mkdir()
        (out / extra / "thesis.tex").write_text("mine")
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(strict_json({**manifest, "files": listed}))
    before = tree(out)
    for force in (False, True) if extra != "notes.txt" else (False,):
        with pytest.raises(OutputError) as caught, output_dir(out, force=force):
            raise AssertionError("not refused")
        if extra == "notes.txt":
            assert f"other files ({extra}); choose another directory, or pass --force" in str(
                caught.value
            )
        else:  # a directory: not even with --force
            assert f"even with --force ({extra}/ (a directory))" in str(caught.value)
    assert tree(out) == before
    assert sorted(os.listdir(tmp_path)) == ["res"]


def fake_git(tmp_path: Path, how: str) -> str:
    """A PATH on which ``git`` is missing, or fails as it does for a repository
    owned by another user."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if how == "fails":
        script = bin_dir / "git"
        script.write_text(
            "#!/bin/sh\necho \"fatal: detected dubious ownership in repository at '$PWD'\" >&2\n"
            "exit 128\n"
        )
        script.chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize("how", ["missing", "fails"])
def test_force_refuses_when_git_cannot_say_what_it_tracks_in_a_repository(
    tmp_path, monkeypatch, how
):
    """No answer from git is not "untracked": inside a repository (a .git here or
    above), --force then deletes nothing. Outside one, nothing can be tracked."""
    (tmp_path / "project" / ".git").mkdir(parents=True)  # git is never asked to read it
    out = with_added_files(tmp_path / "project", "analysis.py")
    monkeypatch.setenv("PATH", fake_git(tmp_path, how))
    before = tree(out)
    with pytest.raises(OutputError) as caught, output_dir(out, force=True):
        raise AssertionError("not refused")
    message = str(caught.value)
    assert "cannot tell which of the files added to it git tracks" in message
    assert "(analysis.py)" in message
    assert tree(out) == before
    assert sorted(os.listdir(tmp_path / "project")) == [".git", "res"]

    elsewhere = with_added_files(tmp_path / "plain", "analysis.py")  # no .git anywhere
    with output_dir(elsewhere, force=True) as staging:
        fake_run(staging, 2)
    assert sorted(os.listdir(elsewhere)) == [MANIFEST, "metrics.parquet"]


# --------------------------------------------------------------------------- added during a run
def kept_dirs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if ".kept-" in p.name)


@pytest.mark.parametrize("swap", ["exchange", "two renames"])
@pytest.mark.parametrize("force", [False, True])
def test_files_added_while_a_run_writes_are_kept_not_deleted(
    tmp_path, capsys, monkeypatch, swap, force
):
    """The check before the run cannot see files that appear during it. The old content
    is checked again after the swap: what the check did not allow is not deleted; the
    old content is moved, whole, to a visible RES.kept-<time>/ and named on stderr."""
    import abm.run_output as ro

    if swap == "two renames":
        monkeypatch.setattr(ro, "_exchange", lambda a, b: False)
    out = with_added_files(tmp_path, *(["named.txt"] if force else []))
    with output_dir(out, force=force) as staging:
        fake_run(staging, 2)
        (out / "late.txt").write_text("mine")  # while the run writes
        capsys.readouterr()
    assert manifest_seed(out) == 2
    assert sorted(os.listdir(out)) == [MANIFEST, "metrics.parquet"]
    (kept,) = kept_dirs(tmp_path)
    assert kept.name.startswith("res.kept-")
    assert (kept / "late.txt").read_text() == "mine"
    assert manifest_seed(kept) == 1
    if force:  # named for deletion before the run; kept with the rest all the same
        assert (kept / "named.txt").read_text() == "mine"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "late.txt (added during the run)" in err
    assert f"moved, not deleted, to {kept}/" in err
    assert sorted(os.listdir(tmp_path)) == sorted(["res", kept.name])


def test_a_kill_after_the_swap_never_deletes_files_the_old_content_gained(tmp_path, capsys):
    """A run killed between the swap and its check leaves the old content hidden; the
    next run keeps it aside rather than deleting it, when it holds files no run wrote."""
    out = tmp_path / "res"
    publish(out, 2)
    swapped_out = tmp_path / ".res.abm-new-0123456789ab"
    swapped_out.mkdir()
    fake_run(swapped_out, 1)
    (swapped_out / "late.txt").write_text("mine")
    publish(out, 3)
    assert manifest_seed(out) == 3
    (kept,) = kept_dirs(tmp_path)
    assert (kept / "late.txt").read_text() == "mine" and manifest_seed(kept) == 1
    assert "(late.txt); moved, not deleted" in capsys.readouterr().err
    assert hidden(tmp_path) == []


@pytest.mark.slow
def test_a_file_added_during_a_real_run_survives_it(tmp_path, capsys, monkeypatch):
    """``abm run`` end to end, in this process: the file appears in the old output
    directory while the model runs (a hook in the run, not a race)."""
    import abm.runs
    from abm.cli import main

    out = tmp_path / "res"
    publish(out, 1)
    real_run = abm.runs.run

    def run_and_meanwhile(*args, **kwargs):
        (out / "notes.txt").write_text("mine")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(abm.runs, "run", run_and_meanwhile)
    assert main(["run", *SMALL, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.txt (added during the run)" in err
    assert json.loads((out / MANIFEST).read_text())["seed"] == 42
    assert sorted(os.listdir(out)) == sorted([MANIFEST, *RUN_FILES])
    (kept,) = kept_dirs(tmp_path)
    assert (kept / "notes.txt").read_text() == "mine" and manifest_seed(kept) == 1


# --------------------------------------------------------------------------- interrupts
def test_an_interrupt_before_the_staging_directory_is_marked_leaves_nothing(tmp_path, monkeypatch):
    """Between creating the staging directory and marking it as a run's."""

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "touch", interrupted)
    with pytest.raises(KeyboardInterrupt), output_dir(tmp_path / "res"):
        raise AssertionError("not interrupted")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- modes and I/O errors
@pytest.mark.slow
@pytest.mark.parametrize(("umask", "dirs", "files"), [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_result_modes_follow_the_umask(tmp_path, umask, dirs, files):
    r = abm("run", *SMALL, "--out", "res", cwd=tmp_path, preexec_fn=lambda: os.umask(umask))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "res").stat().st_mode) == dirs
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "res").iterdir()}
    assert modes == {files}


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        ("notes.txt/res", "notes.txt is not a directory"),  # a path under a regular file
        ("/proc/abm-results", "No such file or directory"),  # even root cannot write there
    ],
)
@pytest.mark.slow
def test_an_unwritable_output_is_one_line_and_exit_2_before_running(tmp_path, out, reason):
    (tmp_path / "notes.txt").write_text("mine")
    r = abm("run", *SMALL, "--out", out, cwd=tmp_path)
    assert r.returncode == 2
    line = one_error_line(r)
    assert "cannot write here" in line and reason in line
    assert "monthly steps" not in r.stdout  # refused before the run
    assert tree(tmp_path) == {"notes.txt": "mine"}


@pytest.mark.slow
def test_a_full_disk_while_writing_is_one_line_exit_1_and_the_old_result_survives(tmp_path):
    assert abm("run", *SMALL, "--seed", "1", "--out", "res", cwd=tmp_path).returncode == 0
    before = sorted(os.listdir(tmp_path / "res"))

    def small_files():  # writes past 20 kB fail as on a full disk (EFBIG instead of ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    r = abm("run", *SMALL, "--seed", "2", "--out", "res", cwd=tmp_path, preexec_fn=small_files)
    assert r.returncode == 1
    line = one_error_line(r)
    assert "res: cannot write results (" in line and "File too large" in line
    assert line.endswith("; nothing was changed there")
    assert sorted(os.listdir(tmp_path / "res")) == before
    assert manifest_seed(tmp_path / "res") == 1
    assert sorted(os.listdir(tmp_path)) == ["res"]


# --------------------------------------------------------------------------- strict JSON
def test_strict_json_writes_non_finite_numbers_as_null_with_a_note():
    import numpy as np

    record = {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": np.float64(-np.inf)}, "e": 2}

    def refuse(constant):
        raise ValueError(constant)

    parsed = json.loads(strict_json(record), parse_constant=refuse)
    assert parsed == {
        "a": None,
        "b": [1.0, None],
        "c": {"d": None},
        "e": 2,
        "non_finite": {"a": "nan", "b.1": "inf", "c.d": "-inf"},
    }
    assert "non_finite" not in json.loads(strict_json({"x": 1.5}))


def test_output_errors_are_config_errors_for_the_exit_code():
    from abm.config import ConfigError

    assert issubclass(OutputError, ConfigError)
