"""Configs: validated at load, with errors that name the key and the file."""

import pytest

from abm.config import DEFAULT_CONFIG, ConfigError, load_config, parse_override


def test_baseline_loads_with_units_of_the_contract():
    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.name == "baseline"
    assert cfg.simulation.start == "2023-01" and cfg.simulation.steps == 120
    assert len(cfg.end_users.segments) == 4


def test_dotted_overrides_reach_nested_values_and_list_items():
    cfg = load_config(
        DEFAULT_CONFIG,
        overrides={
            "end_users.price_elasticity": 2.5,
            "gpu.vendors.0.initial_price": 30000.0,
            "end_users.segments.3.population": 1e5,
        },
    )
    assert cfg.end_users.price_elasticity == 2.5
    assert cfg.gpu.vendors[0].initial_price == 30000.0
    assert cfg.end_users.segments[3].population == 1e5


def test_a_scenario_extends_its_base_and_overrides_a_few_keys(tmp_path):
    (tmp_path / "s.toml").write_text(
        f'extends = "{DEFAULT_CONFIG}"\nname = "s"\n[end_users]\nprice_elasticity = 0.8\n'
    )
    cfg = load_config(tmp_path / "s.toml")
    assert cfg.name == "s" and cfg.end_users.price_elasticity == 0.8
    assert len(cfg.end_users.segments) == 4  # inherited


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"end_users.price_elasticty": 1.0}, "unknown key 'end_users.price_elasticty'"),
        ({"startups.initial_count": -3}, "bad value for 'startups.initial_count': -3"),
        ({"startups.initial_count": "many"}, "bad value for 'startups.initial_count'"),
        ({"hyperscalers.regions": ["mars"]}, "mars"),
        ({"gpu.vendors.5.initial_price": 1.0}, "'gpu.vendors.5' is not an index"),
        ({"simulation.start": "2023-13"}, "simulation.start"),
    ],
)
def test_bad_values_raise_one_line_naming_key_and_file(overrides, fragment):
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, overrides=overrides)
    msg = str(err.value)
    assert fragment in msg and "baseline.toml" in msg and "\n" not in msg


def test_missing_file_and_bad_toml_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("name = \n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_extends_cycle_is_caught(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.toml")


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("a.b=1.5", "a.b", 1.5),
        ("a=3", "a", 3),
        ("a.c=true", "a.c", True),
        ("x=hello", "x", "hello"),
        ("x=[1, 2]", "x", [1, 2]),
    ],
)
def test_command_line_overrides_parse_as_toml_values(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize("text", ["novalue", "=3", "a..b=1"])
def test_malformed_command_line_overrides_are_errors(text):
    with pytest.raises(ConfigError, match="--set"):
        parse_override(text)
