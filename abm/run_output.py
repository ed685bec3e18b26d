"""Writing results so that they never destroy, escape or go half-written.

``abm run`` writes ``results/<name>/`` (or ``--out DIR``):

- ``metrics.parquet`` one row per step; ``flows.parquet`` one row per trade per step
  along the supply graph; ``firms.parquet`` per-firm state every step;
  ``dashboard.png``; ``manifest.json`` (config, seed, versions, git commit, timings,
  and ``"output": "abm run"``, which marks the directory as replaceable).

The rules, in :func:`output_dir`:

- **Only an earlier run is replaced.** A path that exists and is anything but an
  empty directory or a directory holding exactly an earlier run's files (its
  manifest says so) is refused with :class:`OutputError`. A run's files are the
  fixed :data:`RUN_FILES`, as regular files, whatever the manifest's ``files`` lists.
- **``force`` replaces an earlier run only.** It also replaces a directory that
  holds an earlier run's outputs (a run manifest) plus files added since, and
  deletes those files (named on stderr before the run), but only if none of them
  is a directory (a run writes none; a subdirectory may hold other results) or
  tracked by git. If git cannot say (not installed, a time-out, a repository of
  another user) inside a repository (a ``.git`` here or above), that is a
  refusal, not "untracked". Anything else is refused even with ``force``: a
  regular file or symlink, a directory without a run manifest (a results tree
  such as ``results/``, a project, a sweep), and the current directory and its
  parents.
- **Nothing that appears during a run is deleted.** After the swap the old
  content is checked again by the same rule: if it now holds anything not
  allowed before the run (a file added while the run wrote, one git tracks
  since), none of it is deleted; it is moved to a visible ``NAME.kept-<time>/``
  next to the results and named on stderr. The run still succeeds (exit 0).
- **One writer per directory.** A lock file ``.NAME.lock`` next to the directory
  (``flock``; the OS releases it if the process dies) makes a second writer fail
  at once with "another run is writing here".
- **Atomic replacement.** Files are written into a hidden sibling
  ``.NAME.abm-new-<hex>/`` and swapped with the old directory in one
  ``renameat2(RENAME_EXCHANGE)`` call, so a reader always finds the old result or
  the new one. Where the kernel or file system cannot exchange (not Linux, or
  an old kernel), two renames are used instead; a kill between them leaves the old
  result in ``.NAME.abm-old-<hex>/``, and the next run to the same place puts it
  back before anything else.
- **No stale partial directories.** The next run to the same place removes the
  hidden siblings a killed run left, but only those provably written by a run
  (their name, and a marker file or a run manifest inside) and never while
  another process holds the lock. Old content swapped out by a run killed
  before it judged it, holding files a run did not write, is kept as above.
- Directories are created with mode 0777 and files 0666, less the umask (so
  0755/0644 with the usual umask 022): colleagues can read results.
- Manifests are strict JSON (:func:`strict_json`): a non-finite number is written as
  ``null`` and listed under ``"non_finite"``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from abm.config import NAME_PATTERN, ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from abm.runs import RunResult

RUN_KIND = "abm run"
RUN_FILES = ("metrics.parquet", "flows.parquet", "firms.parquet", "dashboard.png")
MANIFEST = "manifest.json"
# Light on imports: the CLI imports this module before knowing what it will run.
# Names a run or a sweep may take as a directory: one path component, never hidden.
SAFE_NAME = re.compile(NAME_PATTERN)
_MARKER = ".abm-partial"  # in a directory still being written
_SIBLING = re.compile(r"\.(?P<name>.+)\.abm-(?P<kind>new|old)-[0-9a-f]{12}")


class OutputError(ConfigError):
    """An output location that cannot be used (exit code 2; nothing was written)."""


class WriteError(RuntimeError):
    """Writing results failed part-way (full disk, I/O error); nothing was published."""


# --------------------------------------------------------------------------- strict JSON
def strict_json(record: Mapping[str, Any], indent: int | None = 2) -> str:
    """``record`` as JSON that every parser accepts: no NaN or Infinity.

    A non-finite float becomes ``null`` and its place is listed under
    ``"non_finite"`` (e.g. ``{"params.x": "inf"}``). numpy scalars and arrays,
    paths and dates become their plain JSON forms.
    """
    notes: dict[str, str] = {}
    plain = _plain(dict(record), "", notes)
    if notes:
        plain["non_finite"] = notes
    return json.dumps(plain, indent=indent, allow_nan=False)


def _plain(value: Any, where: str, notes: dict[str, str]) -> Any:
    if type(value).__module__ == "numpy":  # scalars and arrays; numpy is not imported here
        value = value.tolist()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        notes[where or "(value)"] = repr(value)
        return None
    if isinstance(value, Mapping):
        return {
            str(k): _plain(v, f"{where}.{k}" if where else str(k), notes) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, f"{where}.{i}", notes) for i, v in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # paths and anything else printable


# --------------------------------------------------------------------------- atomic files
def temp_sibling(path: Path) -> Path:
    """A hidden temporary name next to ``path``, unique to this process and call."""
    return path.with_name(f".{path.name}.abm-tmp-{os.getpid()}-{secrets.token_hex(4)}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one :func:`temp_sibling` makes."""
    return name.startswith(".") and ".abm-tmp-" in name


def write_bytes_atomic(data: bytes, path: Path) -> None:
    """Write a file so that ``path`` is either its old self or complete."""
    tmp = temp_sibling(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(text: str, path: Path) -> None:
    write_bytes_atomic(text.encode(), path)


@contextlib.contextmanager
def staged_report(out: Path, last: str) -> Iterator[Path]:
    """Write a report's files into a hidden folder inside ``out``, then move them into
    ``out`` one by one (each move atomic; ``last``, the report's manifest, after the
    others), only once every file is written. A failed or interrupted write moves
    nothing, so the previous report stays as it was, and the hidden folder is removed.

    For the ``abm validate`` reports, which share their folder with other files (the
    calibration report and H1-H7 write to one place), so the folder is not swapped
    whole as ``abm run``'s is."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".{Path(last).stem}.abm-new-{secrets.token_hex(6)}"
    try:
        os.mkdir(staging)
        yield staging
        names = sorted(p.name for p in staging.iterdir())
        for name in [n for n in names if n != last] + [n for n in names if n == last]:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- locking
class DirLock:
    """An exclusive ``flock`` on ``.NAME.lock`` next to a directory, for one writer.

    The lock file is removed on release. A process that opened it just before
    that would then hold a lock on a file no longer in the directory, so after
    locking, the open file must still be the one at the path; else try again.
    """

    def __init__(self, target: Path, busy: str = "another run is writing here"):
        self.target = target
        self.path = target.with_name(f".{target.name}.lock")
        self.busy = busy
        self.fd: int | None = None

    def acquire(self) -> DirLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return self
        while self.fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    self.fd, fd = fd, -1
            except BlockingIOError:
                raise OutputError(f"{self.target}: {self.busy}") from None
            except FileNotFoundError:
                pass  # removed by the holder we waited for: take a fresh one
            finally:
                if fd >= 0:
                    os.close(fd)
        return self

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# --------------------------------------------------------------------------- run directories
def results_dir(name: str, root: str | Path = "results") -> Path:
    """``root/name`` for a run name, refusing any name that would leave ``root``."""
    if not SAFE_NAME.fullmatch(name):
        raise OutputError(
            f"run name {name!r} cannot be a directory name under {root}/: use letters, digits, "
            "'_', '.' and '-', starting with a letter or digit"
        )
    return Path(root) / name


def target_path(out: str | Path) -> Path:
    """``out`` made absolute: its parent resolved, its own name kept as given (a
    symlink there is replaced, never followed)."""
    path = Path(os.path.abspath(out))
    return path.parent.resolve() / path.name if path.name else path


def run_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of a directory that holds an earlier ``abm run``'s outputs, or None."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if manifest.get("output") == RUN_KIND:
        return manifest
    # Runs written before the marker existed: the same keys, in the same layout.
    legacy = {"name", "seed", "config", "versions", "files"}
    return manifest if legacy <= manifest.keys() else None


def foreign_entries(path: Path) -> list[str]:
    """What in ``path`` is not an earlier run's output (empty: safe to replace)."""
    if path.is_symlink() or not path.is_dir():
        return [path.name]
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        return []
    manifest = run_manifest(path)
    if manifest is None:
        return entries
    # Only the files a run writes count as its own, whatever the manifest lists (a
    # hand-edited "files" must not make a subdirectory or a notes file replaceable).
    listed = set(map(str, manifest.get("files", [])))
    ours = {MANIFEST} | {
        e for e in listed & set(RUN_FILES) if (path / e).is_file() and not (path / e).is_symlink()
    }
    return [e for e in entries if e not in ours]


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def kept_even_with_force(path: Path, foreign: list[str], git_path: Path | None = None) -> list[str]:
    """Which of ``foreign`` (in an earlier run's directory ``path``) ``force`` must
    not delete: subdirectories and files tracked by git, each with the reason.

    ``git_path`` is where git knows those names (default ``path``; after the swap
    the old content has moved, but git's index still lists it under the output).
    Raises :class:`OutputError` if git cannot say what it tracks there."""
    kept = [
        f"{e}/ (a directory)"
        for e in foreign
        if (path / e).is_dir() and not (path / e).is_symlink()
    ]
    kept += [f"{e} (tracked by git)" for e in git_tracked(git_path or path, foreign)]
    return kept


def git_tracked(path: Path, names: list[str]) -> list[str]:
    """Which of ``names`` in directory ``path`` git tracks.

    None outside a work tree. Fails closed: if git cannot answer (not installed, a
    time-out, "dubious ownership" of a repository owned by another user) while
    ``path`` or a parent holds ``.git``, raises :class:`OutputError` rather than
    guess "untracked". Names are literal paths, never pathspec magic (``:x``, ``*``).
    """
    if not names:
        return []
    try:
        done = subprocess.run(
            ["git", "--literal-pathspecs", "-C", str(path), "ls-files", "-z", "--", *names],
            capture_output=True,
            timeout=30,
            env={**os.environ, "GIT_LITERAL_PATHSPECS": "1"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        reason = "git is not installed" if isinstance(exc, FileNotFoundError) else str(exc)
    else:
        if done.returncode == 0:
            tracked = {Path(os.fsdecode(f)).parts[0] for f in done.stdout.split(b"\0") if f}
            return [n for n in names if n in tracked]
        message = os.fsdecode(done.stderr).strip()
        reason = message.splitlines()[0] if message else f"exit code {done.returncode}"
    # Outside any repository ("not a git repository", or git not installed) nothing is
    # tracked. With a .git here or above, no answer is not "untracked": git may say
    # "not a git repository" there too (a filesystem boundary, a broken .git file).
    if not _inside_git(path):
        return []
    raise OutputError(
        f"{path}: cannot tell which of the files added to it git tracks ({reason}); "
        f"a run deletes no file that may be tracked: move them away yourself ({_shown(names)})"
    )


def _inside_git(path: Path) -> bool:
    """Whether ``path`` or a parent holds ``.git`` (a directory, or a work tree's file)."""
    return any(os.path.lexists(p / ".git") for p in (path, *path.parents))


def _refuse_unsafe(out: Path, force: bool) -> list[str]:
    """Raise :class:`OutputError` unless ``out`` may be replaced; returns the files
    not written by a run that ``force`` will delete (none without ``force``)."""
    if out.name in ("", ".", ".."):
        raise OutputError(f"{out}: not a directory that can be replaced")
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise OutputError(
            f"{out}: is the current directory or one of its parents; "
            "results need a directory of their own (even with --force)"
        )
    if not os.path.lexists(out):
        return []
    foreign = foreign_entries(out)
    if not foreign:
        return []
    if out.is_symlink() or not out.is_dir() or run_manifest(out) is None:
        kind = "a file" if not out.is_dir() or out.is_symlink() else "a directory"
        raise OutputError(
            f"{out}: is {kind} that does not hold an earlier run's outputs "
            f"({_shown(foreign)}); choose another directory (--force replaces only "
            "an earlier run's outputs)"
        )
    kept = kept_even_with_force(out, foreign)
    if kept:
        raise OutputError(
            f"{out}: holds an earlier run's outputs and more that a run never deletes, "
            f"even with --force ({_shown(kept)}); choose another directory"
        )
    if not force:
        raise OutputError(
            f"{out}: holds an earlier run's outputs and other files ({_shown(foreign)}); "
            "choose another directory, or pass --force to replace it and delete them"
        )
    return foreign


def note(message: str) -> None:
    """One line on stderr about what happened to a user's files (not an error)."""
    print(f"abm: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def output_dir(out: str | Path, force: bool = False) -> Iterator[Path]:
    """Hold ``out`` for one run: yields an empty staging directory to write into.

    On normal exit the staging directory replaces ``out`` atomically; on an
    exception it is removed and ``out`` is left as it was. Raises
    :class:`OutputError` (before anything is written) if ``out`` may not be
    replaced, another process is writing it, or it cannot be written at all.
    With ``force``, the files it will delete are named on stderr before the run;
    anything else found in ``out`` after the run is kept (:func:`_dispose_old`).
    """
    out = target_path(out)
    try:
        _refuse_unsafe(out, force)
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = DirLock(out).acquire()
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({os_reason(exc)})") from None
    try:
        staging, doomed = _prepare(out, force)
        try:
            yield staging
            try:
                old = _publish(staging, out)
            except OSError as exc:
                raise WriteError(f"{out}: cannot replace it ({os_reason(exc)})") from None
        except BaseException:
            with contextlib.suppress(OSError):
                _remove_ours(staging)
            raise
        # Published. What ``out`` held is now in ``old`` (outside the clean-up above,
        # which must never delete it: a kill here leaves it for the next run to judge).
        if old is not None:
            _dispose_old(old, out, doomed)
    finally:
        lock.release()


def _prepare(out: Path, force: bool) -> tuple[Path, list[str]]:
    """With the lock held: tidy up after killed runs, check again, make the staging
    dir. Returns it and the files ``force`` will delete (named on stderr)."""
    staging = _sibling(out, "new")
    try:
        recover_stale(out)
        doomed = _refuse_unsafe(out, force)  # again, now that no other run can change it
        os.mkdir(staging, 0o777)
        (staging / _MARKER).touch()
    except BaseException as exc:  # an interrupt too: no empty staging dir left behind
        with contextlib.suppress(OSError):
            if staging.is_dir():  # a fresh random name: ours if it exists
                _remove_ours(staging)
        if isinstance(exc, OSError):
            raise OutputError(f"{out}: cannot write here ({os_reason(exc)})") from None
        raise
    if doomed:
        note(f"--force: replacing {out}; deleting files a run did not write: {', '.join(doomed)}")
    return staging, doomed


def _sibling(out: Path, kind: str) -> Path:
    return out.with_name(f".{out.name}.abm-{kind}-{secrets.token_hex(6)}")


def os_reason(exc: OSError) -> str:
    """Why an output could not be written, in a few words (no errno, no traceback)."""
    if isinstance(exc, FileExistsError | NotADirectoryError) and exc.filename:
        path = Path(exc.filename)
        for p in (path, *path.parents):  # a file where a directory belongs
            if p.exists() and not p.is_dir():
                return f"{p} is not a directory"
    return exc.strerror or str(exc)


def _publish(staging: Path, out: Path) -> Path | None:
    """Put the finished ``staging`` in place of ``out``; returns where the old
    content now is (a hidden sibling), or None if there was none."""
    (staging / _MARKER).unlink()
    if not os.path.lexists(out):
        os.rename(staging, out)
        return None
    if _exchange(staging, out):
        return staging  # now holds what ``out`` held
    # No atomic exchange here: two renames. A kill between them leaves the old
    # result in ``old``, which recover_stale() puts back on the next run.
    old = _sibling(out, "old")
    os.rename(out, old)
    os.rename(staging, out)
    return old


def _dispose_old(old: Path, out: Path, doomed: list[str]) -> None:
    """Delete what ``out`` held before the swap (now ``old``) if it still holds only
    an earlier run's files and those ``--force`` named before the run. Anything
    else (added while the run wrote, or now tracked by git) is not deleted: the
    whole of ``old`` is moved to a visible ``NAME.kept-<time>`` and named on stderr."""
    kept = _not_deletable(old, out, doomed)
    try:
        if kept:
            aside = keep_aside(old, out)
            note(
                f"{out}: the new results are in place, but its earlier content held files "
                f"a run may not delete ({_shown(kept)}); moved, not deleted, to {aside}/"
            )
        elif old.is_dir() and not old.is_symlink():
            _remove_ours(old, force=True)
        else:
            old.unlink()
    except OSError as exc:  # the new result is in place; the next run tidies up
        note(f"{out}: could not tidy up the earlier result in {old.name} ({os_reason(exc)})")


def _not_deletable(old: Path, out: Path, doomed: list[str]) -> list[str]:
    """The entries of ``old`` (``out``'s content before the swap) that may not be
    deleted: the rule checked before the run, applied again to what is there now."""
    if old.is_symlink() or not old.is_dir():
        return [f"{out.name} (not a directory)"]  # refused before the run: came since
    foreign = foreign_entries(old)
    added = [f"{e} (added during the run)" for e in foreign if e not in doomed]
    named = [e for e in foreign if e in doomed]
    try:
        return added + kept_even_with_force(old, named, git_path=out)
    except OutputError:
        return added + [f"{e} (git cannot say whether it is tracked)" for e in named]


def keep_aside(path: Path, out: Path) -> Path:
    """Move ``path`` to a new visible sibling of ``out``, ``NAME.kept-<local time>``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1, 1000):
        aside = out.with_name(f"{out.name}.kept-{stamp}" + (f"-{i}" if i > 1 else ""))
        if not os.path.lexists(aside):
            os.rename(path, aside)
            return aside
    raise FileExistsError(errno.EEXIST, "too many kept directories", str(out))


def recover_stale(out: Path) -> list[Path]:
    """Tidy what killed runs left next to ``out``; call it holding ``out``'s lock.

    If ``out`` is missing but an earlier result was moved aside (a kill between
    the two renames of the fallback swap), that result is put back. Then every
    hidden sibling provably written by a run is removed. Returns what was removed.
    """
    siblings, legacy = [], []
    for p in out.parent.iterdir():
        if not p.is_dir() or p.is_symlink():
            continue
        m = _SIBLING.fullmatch(p.name)
        if m and m["name"] == out.name:
            siblings.append((p, m["kind"]))
        elif _legacy_leftover(p, out.name):
            legacy.append(p)
    if not os.path.lexists(out):
        moved_aside = [p for p, kind in siblings if kind == "old" and run_manifest(p)]
        moved_aside += [p / "previous" for p in legacy if run_manifest(p / "previous")]
        if moved_aside:
            newest = max(moved_aside, key=lambda p: p.stat().st_mtime)
            os.rename(newest, out)
            siblings = [(p, k) for p, k in siblings if p != newest]
    removed = []
    for p, _ in siblings:
        # Old content swapped out by a run killed before it could judge it: files
        # beyond the run's own are kept in a visible directory, never deleted.
        foreign = [] if (p / _MARKER).exists() or not run_manifest(p) else foreign_entries(p)
        if foreign:
            aside = keep_aside(p, out)
            note(
                f"{out}: a killed run left its earlier content, with files a run did not "
                f"write ({_shown(foreign)}); moved, not deleted, to {aside}/"
            )
        elif _remove_ours(p):
            removed.append(p)
    for p in legacy:
        if (p / "previous").is_dir():
            _remove_ours(p / "previous")
        for child in p.iterdir():
            child.unlink()
        p.rmdir()
        removed.append(p)
    return removed


def _legacy_leftover(path: Path, name: str) -> bool:
    """A directory left by a killed run of an earlier version (``tempfile.mkdtemp``
    names: ``.NAME.xxxxxxxx`` being written, ``.NAME.old.xxxxxxxx/previous`` moved
    aside), holding nothing but what that version wrote there."""
    prefix = f".{name}."
    if not path.name.startswith(prefix):
        return False
    rest = path.name[len(prefix) :]
    entries = {p.name for p in path.iterdir()}
    if re.fullmatch(r"[a-z0-9_]{8}", rest):
        return entries <= {MANIFEST, *RUN_FILES} and all((path / e).is_file() for e in entries)
    if re.fullmatch(r"old\.[a-z0-9_]{8}", rest):
        previous = path / "previous"
        return entries <= {"previous"} and (
            not entries or (previous.is_dir() and not foreign_entries(previous))
        )
    return False


def _remove_ours(path: Path, force: bool = False) -> bool:
    """Delete a directory a run wrote (or, with ``force``, one a run replaced).

    The proof that a directory is ours (the marker, or the run manifest) is
    deleted last, so a kill half-way leaves a directory that is still provably
    ours and is removed next time.
    """
    if path.is_symlink() or not path.is_dir():
        return False
    proof = path / _MARKER if (path / _MARKER).exists() else path / MANIFEST
    provably_ours = proof.name == _MARKER or run_manifest(path) or not any(path.iterdir())
    if not (force or provably_ours):
        return False  # leave it alone
    for child in path.iterdir():
        if child == proof:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    proof.unlink(missing_ok=True)
    path.rmdir()
    return True


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing moved)."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


# --------------------------------------------------------------------------- abm run
def write_run(result: RunResult, out: str | Path, force: bool = False) -> Path:
    """Write one run's files to ``out`` by the rules above; returns the directory.

    :class:`OutputError` if ``out`` may not be used, :class:`WriteError` if
    writing failed part-way (the old content of ``out`` is then untouched).
    """
    with output_dir(out, force) as staging:
        write_run_files(result, staging, out)
    return target_path(out)


def write_run_files(result: RunResult, folder: Path, out: str | Path = "") -> None:
    """The files of one run, into ``folder`` (a staging directory for ``out``)."""
    from abm.dashboard import plot_dashboard

    prov = result.provenance
    try:
        result.metrics.to_parquet(folder / "metrics.parquet")
        result.flows.to_parquet(folder / "flows.parquet", index=False)
        result.firms.to_parquet(folder / "firms.parquet", index=False)
        plot_dashboard(
            result.metrics, folder / "dashboard.png", title=f"{prov.config.name} (seed {prov.seed})"
        )
        manifest = {
            "output": RUN_KIND,
            **prov.to_dict(),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": list(RUN_FILES),
        }
        (folder / MANIFEST).write_text(strict_json(manifest) + "\n")
    except OSError as exc:
        raise WriteError(
            f"{out or folder}: cannot write results ({os_reason(exc)}); nothing was changed there"
        ) from None


# --------------------------------------------------------------------------- summary
SUMMARY_COLUMNS = [
    ("gpu_price", "GPU price", "$/GPU", "{:,.0f}"),
    ("vendor_gross_margin", "vendor gross margin", "", "{:.1%}"),
    ("compute_price", "compute price", "$/GPU-h", "{:.2f}"),
    ("utilization", "utilisation", "", "{:.1%}"),
    ("compute_shortage", "compute shortage (labs)", "", "{:.1%}"),
    ("own_ai_shortage", "own-work shortage", "", "{:.1%}"),
    ("token_price", "token price (labs)", "$/Mtok", "{:.2f}"),
    ("price_at_fixed_capability", "price at fixed capability", "$/Mtok", "{:.3f}"),
    ("tokens", "tokens", "T/month", None),
    ("user_spend", "user spend", "$B/month", None),
    ("capex", "hyperscaler capex", "$B/month", None),
    ("installed_gpus", "installed GPUs", "M H100e", None),
    ("dc_capacity_mw", "energized capacity", "GW", None),
    ("startups_alive", "startups alive", "", "{:.0f}"),
    ("margin_model_devs", "lab gross margin", "", "{:.1%}"),
    ("margin_startups", "startup gross margin", "", "{:.1%}"),
]
_SCALE = {
    "tokens": 1e6,
    "user_spend": 1e9,
    "capex": 1e9,
    "installed_gpus": 1e6,
    "dc_capacity_mw": 1e3,
}


def summary_table(df: pd.DataFrame) -> str:
    """A short text table: the key metrics at the end of each year and at the last step."""
    import numpy as np
    import pandas as pd

    rows = df.iloc[1:]
    picks = rows[rows["date"].str.endswith("-12")]
    if rows.index[-1] not in picks.index:
        picks = pd.concat([picks, rows.iloc[[-1]]])
    if len(picks) > 6:  # the calibration years first, then evenly to the end
        keep = [0, 1, *np.linspace(2, len(picks) - 1, 4).round().astype(int)]
        picks = picks.iloc[sorted(set(keep))]
    header = f"{'metric':<28}{'unit':<10}" + "".join(f"{d:>11}" for d in picks["date"])
    lines = [header, "-" * len(header)]
    for col, label, unit, fmt in SUMMARY_COLUMNS:
        cells = []
        for v in picks[col]:
            if fmt is None:
                cells.append(f"{v / _SCALE[col]:>11.3g}")
            else:
                cells.append(f"{fmt.format(v):>11}")
        lines.append(f"{label:<28}{unit:<10}" + "".join(cells))
    lines.append(f"{'max ledger error':<28}{'$':<10}{df['ledger_error'].max():>11.2e}")
    return "\n".join(lines)
