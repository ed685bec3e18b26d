"""``abm params``: every parameter with its value, unit, range and source, as a user runs it."""

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from support import run_abm

from abm.config import DEFAULT_CONFIG, load_config
from abm.params import parameters, range_text, select

ROOT = Path(__file__).resolve().parent.parent


def abm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run_abm("params", *args, cwd=cwd, timeout=120)


def baseline_keys() -> list[str]:
    """The dotted keys baseline.toml sets, read from the TOML itself, plus the one optional
    lever it leaves unset."""

    def flatten(data, prefix=""):
        for key, value in data.items():
            if isinstance(value, dict):
                yield from flatten(value, f"{prefix}{key}.")
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    yield from flatten(item, f"{prefix}{key}.{i}.")
            else:
                yield f"{prefix}{key}"

    keys = list(flatten(tomllib.loads(DEFAULT_CONFIG.read_text())))
    return [*keys, "hyperscalers.fixed_compute_price"]


def baseline_elasticity() -> float:
    """The within-model price elasticity baseline.toml sets (recalibrated in issue 11)."""
    return tomllib.loads(DEFAULT_CONFIG.read_text())["end_users"]["price_elasticity"]


@pytest.mark.slow
def test_json_lists_every_key_the_baseline_sets_with_its_value():
    r = abm("--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert sorted(row["key"] for row in rows) == sorted(baseline_keys())
    by_key = {row["key"]: row for row in rows}
    assert by_key["end_users.price_elasticity"]["value"] == baseline_elasticity() == 1.1
    assert by_key["gpu.vendors.1.name"]["value"] == "custom-silicon"
    assert by_key["vc.climate_path"]["value"] == [[0.0, 0.8], [12.0, 1.6], [24.0, 2.4]]
    assert by_key["hyperscalers.fixed_compute_price"]["value"] is None
    row = by_key["datacenters.cost_per_mw"]
    assert row["unit"] == "$ per MW" and row["range"] == "(0, 1e+09]"
    assert "Cushman & Wakefield 2025" in row["source"] and row["kind"] == "calibrated"


def test_every_calibrated_parameter_has_a_unit_a_range_and_a_source():
    rows = parameters(load_config())
    calibrated = [r for r in rows if r.kind == "calibrated"]
    assert len(calibrated) > 180
    for r in calibrated:
        assert r.unit and r.range and r.source and r.description, r.key
    assert {r.kind for r in rows} == {"calibrated", "switch", "label"}


@pytest.mark.slow
def test_the_table_lists_every_key_on_its_own_line():
    r = abm()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{len(baseline_keys())} parameters of ")
    assert lines[1].split() == ["key", "value", "unit", "range", "source"]
    listed = [line.split()[0] for line in lines[3:]]
    assert listed == [p.key for p in parameters(load_config())]
    line = next(x for x in lines if x.startswith("end_users.price_elasticity "))
    assert (
        line.split()[1:3] == [str(baseline_elasticity()), "elasticity"]
        and "(0, 10]" in line
        and "NBER" in line
    )


@pytest.mark.slow
def test_a_prefix_keeps_only_the_keys_under_it():
    r = abm("end_users.segments.1")
    assert r.returncode == 0, r.stderr
    keys = [line.split()[0] for line in r.stdout.splitlines()[3:]]
    assert len(keys) == 15 and all(k.startswith("end_users.segments.1.") for k in keys)
    one = abm("gpu.first_generation", "--json")
    assert [row["key"] for row in json.loads(one.stdout)] == ["gpu.first_generation"]


@pytest.mark.slow
def test_values_come_from_the_config_given():
    r = abm("end_users.price_elasticity", "--json", "--config", "scenarios/demand_elastic.toml")
    assert r.returncode == 0, r.stderr
    assert [row["value"] for row in json.loads(r.stdout)] == [2.5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["end_user"],
            "params: no parameter is or starts with 'end_user'; did you mean 'end_users'?",
        ),
        (
            ["price_elasticity"],
            "params: no parameter is or starts with 'price_elasticity'; "
            "did you mean 'end_users.price_elasticity'?",
        ),
        (["--config", "no/such.toml"], "config file not found: no/such.toml"),
    ],
)
@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    r = abm(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"abm: error: {message}"]
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("end_users.switching_rate", "[0, 1]"),
        ("end_users.demand_noise_persistence", "[0, 1)"),
        ("end_users.simulated_users", "(0, inf) integer"),
        ("hyperscalers.pricing", "profit | utilization"),
        ("hyperscalers.fixed_compute_price", "unset or (0, 1000]"),
        ("end_users.bass", "true | false"),
        ("vc.climate_path", "list of 0 or more"),
        ("simulation.start", r"text matching ^\d{4}-(0[1-9]|1[0-2])$"),
    ],
)
def test_ranges_read_as_intervals(key, text):
    (row,) = select(parameters(load_config()), key)
    assert row.range == text
    from abm.config import section_at

    *parent, last = key.split(".")
    assert range_text(section_at(parent).model_fields[last]) == text
