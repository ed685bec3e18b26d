"""The package ships its configs: an installed wheel runs the default configuration anywhere."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import abm.config

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_the_build_requires_a_setuptools_that_reads_the_license_as_written():
    """``license = "MIT"`` is PEP 639's SPDX string, which setuptools reads from 77 on;
    an older one, which the build-system floor would otherwise allow, fails on it."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (floor,) = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert isinstance(meta["project"]["license"], str)
    assert floor.replace(" ", "") == "setuptools>=77"


def test_the_package_list_covers_every_package_in_the_source_tree():
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "abm").rglob("__init__.py")
    }
    assert set(PYPROJECT["packages"]) == found | {"abm.configs"}
    assert PYPROJECT["package-dir"] == {"abm.configs": "configs"}


def test_a_source_checkout_reads_the_configs_beside_the_package():
    assert abm.config.CONFIG_DIR == ROOT / "configs"
    assert abm.config.DEFAULT_CONFIG == ROOT / "configs" / "baseline.toml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel, built from a copy of the sources and installed into a bare directory."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("abm", "configs"):
        shutil.copytree(ROOT / part, src / part, ignore=ignore)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, src / part)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    build = subprocess.run(
        [*pip, "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp / "dist").glob("abm-*.whl")
    target = tmp / "site"
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return wheel, target


def _python(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # only the installed copy on the path: not the repository, not the editable install
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"},
    )


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_every_config(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "abm").rglob("*.py")}
    configs = {"abm/" + p.relative_to(ROOT).as_posix() for p in (ROOT / "configs").rglob("*.toml")}
    assert modules - names == set() and configs - names == set()
    assert len(configs) >= 20 and "abm/configs/baseline.toml" in names


@pytest.mark.slow
def test_an_installed_wheel_runs_the_default_config_from_any_directory(installed, tmp_path):
    _, target = installed
    code = (
        "import abm, abm.config as c\n"
        "from abm import ComputeMarket\n"
        "m = ComputeMarket()\n"
        "m.run(steps=2)\n"
        "print(abm.__file__, c.DEFAULT_CONFIG, m.cfg.name, m.steps, m.metrics['tokens'] > 0)\n"
    )
    r = _python(target, tmp_path, "-c", code)
    assert r.returncode == 0, r.stderr
    module, config, name, steps, tokens = r.stdout.split()
    assert Path(module).is_relative_to(target) and Path(config).is_relative_to(target)
    assert (name, steps, tokens) == ("baseline", "2", "True")


@pytest.mark.slow
def test_an_installed_wheel_runs_abm_run_from_any_directory(installed, tmp_path):
    _, target = installed
    out = tmp_path / "out"
    r = _python(target, tmp_path, "-m", "abm", "run", "--steps", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "baseline: 2 monthly steps" in r.stdout
    assert (out / "metrics.parquet").is_file() and (out / "manifest.json").is_file()
    scenario = _python(
        target,
        tmp_path,
        "-m",
        "abm",
        "params",
        "end_users.price_elasticity",
        "--config",
        "scenarios/demand_elastic.toml",
    )
    assert scenario.returncode == 0, scenario.stderr
    assert "2.5" in scenario.stdout
