"""Sweep files: validation and the error messages users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from abm.config import ConfigError
from abm.experiments.spec import load_sweep, parse_sweep

SWEEPS = Path(__file__).resolve().parents[2] / "configs" / "sweeps"


def minimal(**over):
    data = {"name": "t", "seed": 1, "parameters": {"a.b": [1, 2]}}
    data.update(over)
    return data


def test_dotted_keys_may_be_quoted_or_nested():
    quoted = parse_sweep(
        minimal(parameters={"a.b": [1, 2], "a.c": {"low": 0, "high": 1, "levels": 2}}), "s"
    )
    nested = parse_sweep(
        minimal(parameters={"a": {"b": [1, 2], "c": {"low": 0, "high": 1, "levels": 2}}}), "s"
    )
    assert quoted.parameters == nested.parameters
    assert list(nested.parameters) == ["a.b", "a.c"]
    fixed = parse_sweep(minimal(fixed={"end_users": {"simulated_users": 2000}}), "s").fixed
    assert fixed == {"end_users.simulated_users": 2000}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"replicats": 2}, "replicats"),
        ({"design": "factorial"}, "design"),
        ({"parameters": {"a.b": {"low": 2, "high": 1, "levels": 3}}}, "parameters.a.b"),
        ({"parameters": {"a.b": {"low": 0, "high": 1}}}, "a.b"),  # a grid needs levels
        ({"parameters": {"a.b": {"values": [1], "low": 0}}}, "parameters.a.b"),
        (
            {
                "parameters": {
                    "a.b": {"low": 0, "high": 1, "distribution": "loguniform", "levels": 2}
                }
            },
            "a.b",
        ),
        ({"design": "sobol", "n": 100}, "power of 2"),
        ({"design": "lhs"}, "'n'"),
        ({"fixed": {"a.b": 3}}, "a.b"),
        (
            {"outcomes": [{"metric": "m", "stat": "peak"}, {"metric": "m", "stat": "peak"}]},
            "m_peak",
        ),
        ({"outcomes": [{"metric": "m", "stat": "median"}]}, "outcomes.0.stat"),
        ({"steps": 10, "outcomes": [{"metric": "m", "stat": "mean", "window": [5, 20]}]}, "window"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_sweep_is_rejected_naming_the_key_and_the_file(change, key):
    with pytest.raises(ConfigError) as err:
        parse_sweep(minimal(**change), "sweeps/bad.toml")
    message = str(err.value)
    assert message.startswith("sweeps/bad.toml: ")
    assert key in message
    assert "\n" not in message


def test_base_is_resolved_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.toml").write_text("")
    sweep = tmp_path / "configs" / "sweeps" / "s.toml"
    sweep.parent.mkdir()
    sweep.write_text('name = "s"\nbase = "../base.toml"\nseed = 1\n[parameters]\n"a.b" = [1]\n')
    assert load_sweep(sweep).base == str(tmp_path / "configs" / "base.toml")


def test_missing_base_file_is_an_error_naming_it(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "s"\nbase = "nope.toml"\nseed = 1\n[parameters]\n"a.b" = [1]\n')
    with pytest.raises(ConfigError, match=r"s\.toml: 'base' names 'nope\.toml'"):
        load_sweep(sweep)


def test_invalid_toml_names_the_file(tmp_path):
    sweep = tmp_path / "s.toml"
    sweep.write_text("name = \n")
    with pytest.raises(ConfigError, match=r"s\.toml: not valid TOML"):
        load_sweep(sweep)


def test_stored_columns_are_kept_metrics_plus_outcome_metrics():
    spec = parse_sweep(
        minimal(
            metrics={"keep": ["a", "b"]},
            outcomes=[{"metric": "c", "stat": "final"}, {"metric": "a", "stat": "peak"}],
        ),
        "s",
    )
    assert spec.stored_columns == ["a", "b", "c"]
    assert parse_sweep(minimal(), "s").stored_columns is None  # keep everything


@pytest.mark.parametrize("name", ["smoke", "jevons", "sobol"])
def test_example_sweeps_validate(name):
    spec = load_sweep(SWEEPS / f"{name}.toml")
    assert spec.name == name
    assert Path(spec.base).name == "baseline.toml"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": [{"metric": "m", "stat": "final"}]}, "'outcome'; did you mean 'outcomes'?"),
        ({"replicats": 2}, "'replicats'; did you mean 'replicates'?"),
        (
            {"outcomes": [{"metric": "m", "stat": "final", "windw": [1, 2]}]},
            "'outcomes.0.windw'; did you mean 'outcomes.0.window'?",
        ),
        (
            {"parameters": {"a.b": {"low": 0, "hihg": 1, "levels": 2}}},
            "'parameters.a.b.hihg'; did you mean 'parameters.a.b.high'?",
        ),
        ({"metrics": {"kep": ["m"]}}, "'metrics.kep'; did you mean 'metrics.keep'?"),
        ({"colour": "red"}, "'colour'"),  # nothing close: no suggestion
    ],
)
def test_an_unknown_key_gets_the_closest_valid_one_as_a_suggestion(change, message):
    with pytest.raises(ConfigError) as err:
        parse_sweep(minimal(**change), "sweeps/bad.toml")
    assert str(err.value) == f"sweeps/bad.toml: unknown key {message}"
