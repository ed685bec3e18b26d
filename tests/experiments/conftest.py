"""Helpers for the sweep tests: toy sweep files and a subprocess environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from . import toy

TOY_RUN = f"{toy.__name__}:toy_run"
ISHIGAMI_RUN = f"{toy.__name__}:ishigami_run"
# the toy run functions live outside abm: a sweep must be told to trust their module
ALLOW_TOY = ["--allow-import", toy.__name__]


def toy_sweep_text(name: str = "toy", *, replicates: int = 2, extra: str = "", **fixed) -> str:
    """A grid sweep of the toy model: x in 4 values, y in 3 levels."""
    fixed_lines = "\n".join(f"{k} = {v!r}" for k, v in fixed.items())
    return f"""
name = "{name}"
run_function = "{TOY_RUN}"
seed = 7
steps = 20
replicates = {replicates}
{extra}

[fixed]
{fixed_lines}

[parameters]
x = [0.0, 1.0, 2.0, 3.0]
y = {{ low = 0.5, high = 1.5, levels = 3 }}

[[outcomes]]
metric = "level"
stat = "final"

[[outcomes]]
metric = "level"
stat = "mean"
window = [5, 10]

[[outcomes]]
metric = "level"
stat = "time_of_peak"

[metrics]
keep = ["level"]
"""


@pytest.fixture
def write_sweep(tmp_path: Path):
    """Write sweep text to ``tmp_path/<name>.toml`` and return the path."""

    def write(text: str, name: str = "sweep") -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    """Environment in which a child Python can import the toy models like this one."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
