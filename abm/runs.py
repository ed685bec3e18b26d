"""One run of the model: build it from a config, run it, and say how it was made.

Every way of running the model goes through this module: ``abm run``, the sweep
workers (:func:`abm.experiments.runner.run_model`), the calibration report, the
hypothesis experiments and the interactive page (:func:`build_model`). So the
model is built the same way everywhere, provenance is recorded in one place, and
the Mesa 3.3.1 memory workaround (:func:`release`) is written once.

    from abm.runs import run
    result = run("configs/baseline.toml", seed=7, steps=24,
                 overrides={"end_users.price_elasticity": 2.0})
    result.metrics                   # one row per step, index = step
    result.provenance.to_dict()      # config, seed, timings, versions, git commit
"""

from __future__ import annotations

import functools
import platform
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from abm.config import PACKAGE_ROOT, Config, config_with_overrides, load_config

if TYPE_CHECKING:
    from abm.model import ComputeMarket

# Packages whose versions can change a result or the way it is stored.
VERSIONED = (
    "abm",
    "mesa",
    "numpy",
    "pandas",
    "networkx",
    "pyarrow",
    "pydantic",
    "scipy",
    "SALib",
    "dask",
    "distributed",
)


@dataclass(frozen=True)
class Provenance:
    """How one run was made: what went in and how long it took.

    The environment (package versions, git commit, platform) is the same for
    every run of a process; :func:`environment` computes it once, and only when a
    manifest asks for it, so sweep workers do not pay for it on every run.

    ``config`` is the config the model was built from, ``overrides`` applied and
    ``simulation.steps`` set to the months actually run, so it reproduces the run
    by itself; ``overrides`` lists the dotted values that changed the config file's.
    """

    config: Config
    seed: int
    steps: int
    source: str
    started_utc: str
    wall_seconds: float
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The provenance as plain JSON-ready values, environment included."""
        return {
            "name": self.config.name,
            "config_file": self.source,
            "seed": self.seed,
            "steps": self.steps,
            "start": self.config.simulation.start,
            "config": self.config.to_dict(),
            "overrides": dict(self.overrides),
            **environment(),
            "started_utc": self.started_utc,
            "wall_time_s": round(self.wall_seconds, 3),
            "seconds_per_step": round(self.wall_seconds / max(self.steps, 1), 5),
        }


@dataclass(frozen=True)
class RunResult:
    """What a run gives back.

    ``metrics`` has one row per step (index ``step``, row 0 the initial state).
    ``flows`` (one row per trade) and ``firms`` (per-firm state every step) are
    there when the run recorded them; ``observed`` holds the columns of an
    ``observe`` callback, one row per step from step 1; ``model`` is the model
    itself when it was asked for (then call :func:`release` when done with it).
    """

    metrics: pd.DataFrame
    provenance: Provenance
    flows: pd.DataFrame | None = None
    firms: pd.DataFrame | None = None
    observed: pd.DataFrame | None = None
    model: ComputeMarket | None = None


def resolve_config(
    config: Config | str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """A validated config: a :class:`Config`, a TOML path or ``None`` (the baseline),
    with dotted ``overrides`` applied."""
    if isinstance(config, Config):
        return config_with_overrides(config, dict(overrides or {}))
    return load_config(config, overrides=dict(overrides or {}))


def build_model(
    config: Config | str | Path | None = None,
    seed: int = 42,
    overrides: Mapping[str, Any] | None = None,
    record_flows: bool = False,
) -> ComputeMarket:
    """A fresh :class:`~abm.model.ComputeMarket` at step 0, ready to step.

    The caller owns the model; call :func:`release` once it will build no more
    agents (a model that keeps stepping must not be released).
    """
    from abm.model import ComputeMarket

    return ComputeMarket(
        config=resolve_config(config, overrides), rng=int(seed), record_flows=record_flows
    )


def release(model: ComputeMarket) -> None:
    """Let Mesa forget a model that will build no more agents.

    Mesa 3.3.1 keeps every model ever built alive through ``Agent._ids`` (a
    per-model counter of agent ids); a long-lived sweep worker running thousands of
    models would grow without bound. After this the model must not create agents:
    ids would start again from 1.
    """
    import mesa

    mesa.Agent._ids.pop(model, None)


def run(
    config: Config | str | Path | None = None,
    *,
    seed: int,
    steps: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    record_flows: bool = False,
    observe: Callable[[ComputeMarket], Mapping[str, float]] | None = None,
    keep_model: bool = False,
    source: str | None = None,
) -> RunResult:
    """Build the model from ``config`` plus ``overrides`` with ``seed``, run ``steps``
    months (default: the config's) and return its tables and provenance.

    ``observe(model)`` is called after every step and its values become the
    ``observed`` table. ``record_flows`` keeps the trade log and the firm panel.
    The model is released to Mesa unless ``keep_model``.
    """
    cfg = resolve_config(config, overrides)
    n = cfg.simulation.steps if steps is None else int(steps)
    if n != cfg.simulation.steps:
        # The recorded config says how long the run was. The model reads the field only
        # as its default horizon, so nothing else changes; not validated again, as
        # ``steps`` has never been bounded by the config's limit.
        sim = cfg.simulation.model_copy(update={"steps": n})
        cfg = cfg.model_copy(update={"simulation": sim})
    if source is None:
        source = str(config) if isinstance(config, str | Path) else ""
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    model = build_model(cfg, seed=seed, record_flows=record_flows)
    try:
        rows = []
        if observe is None:
            model.run(n)
        else:
            for _ in range(n):
                model.step()
                rows.append(dict(observe(model)))
        wall = time.perf_counter() - t0
        metrics = model.datacollector.get_model_vars_dataframe()
        metrics.index.name = "step"
        flows = firms = None
        if record_flows:
            flows = pd.DataFrame(model.supply.flow_table())
            firms = pd.DataFrame(model.firm_log)
    finally:
        if not keep_model:
            release(model)
    return RunResult(
        metrics=metrics,
        provenance=Provenance(cfg, int(seed), n, source, started, wall, dict(overrides or {})),
        flows=flows,
        firms=firms,
        observed=pd.DataFrame(rows, index=pd.RangeIndex(1, n + 1, name="step"))
        if observe is not None
        else None,
        model=model if keep_model else None,
    )


# --------------------------------------------------------------------------- environment
@functools.cache
def environment() -> dict[str, Any]:
    """Python, platform, versions of the packages that matter, and the git commit.

    Computed once per process. A package that is not installed has version ``None``.
    """
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "versions": versions,
        "git_commit": git_commit(),
        "platform": platform.platform(),
    }


def git_commit(root: Path = PACKAGE_ROOT) -> str | None:
    """The commit of the code that ran (``-dirty`` if tracked files changed), or None.

    Only when ``root`` is itself the top of a git work tree: an installed copy in a
    virtualenv that happens to sit inside some repository must not report that
    repository's commit.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != Path(root).resolve():
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return git("rev-parse", "HEAD") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None
