"""Configs: one schema, a baseline that sets all of it, strict values, errors that help."""

import os
import subprocess
import sys
import tomllib
import tracemalloc
import typing
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from abm.config import (
    BYTES_PER_STARTUP,
    BYTES_PER_USER,
    CONFIG_DIR,
    DEFAULT_CONFIG,
    Config,
    ConfigError,
    available_memory_bytes,
    config_with_overrides,
    load_config,
    parse_override,
    population_memory_bytes,
    section_at,
)

ROOT = Path(__file__).resolve().parent.parent
BASELINE = tomllib.loads(DEFAULT_CONFIG.read_text())


def sections(model: type[BaseModel] = Config):
    """Every section class of the schema, the top level first."""
    yield model
    for info in model.model_fields.values():
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from sections(arg)


def field_of(key: str):
    """The schema field a concrete dotted key (``gpu.vendors.1.name``) belongs to."""
    *parent, last = key.split(".")
    return section_at(parent).model_fields[last]


def is_switch(info) -> bool:
    return info.json_schema_extra.get("source") in ("switch", "label")


def flatten(data, prefix=""):
    """Dotted keys of raw TOML data, list items of tables by index."""
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{dotted}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                yield from flatten(item, f"{dotted}.{i}.")
        else:
            yield dotted


def baseline_comments():
    """(dotted key, inline comment) for every key line of baseline.toml, in file order."""
    table, counts = "", {}
    for line in DEFAULT_CONFIG.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("[["):
            name = text.strip("[] ")
            counts[name] = counts.get(name, -1) + 1
            table = f"{name}.{counts[name]}."
        elif text.startswith("["):
            table = text.strip("[] ") + "."
        else:
            key, _, rest = text.partition("=")
            _, _, comment = rest.partition("#")  # baseline.toml has no '#' inside strings
            yield f"{table}{key.strip()}", comment.strip()


# --------------------------------------------------------------------------- one source of truth
def test_baseline_loads_with_units_of_the_contract():
    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.name == "baseline"
    assert cfg.simulation.start == "2023-01" and cfg.simulation.steps == 120
    assert len(cfg.end_users.segments) == 4


def test_python_defaults_exist_only_for_switches():
    for section in sections():
        for name, info in section.model_fields.items():
            if info.is_required():
                continue
            assert is_switch(info) or name == "description", f"{section.__name__}.{name}"
            assert (
                info.annotation is bool
                or info.default in (None, "")
                or (typing.get_origin(info.annotation) is typing.Literal)
            ), f"{section.__name__}.{name} has a default but is not a switch"


def test_every_calibrated_field_has_a_unit_a_source_and_a_meaning():
    for section in sections():
        for name, info in section.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                continue  # a section, not a parameter
            extra = info.json_schema_extra
            assert extra["unit"] and extra["source"] and info.description, (
                f"{section.__name__}.{name}"
            )


def test_every_number_has_a_lower_and_an_upper_bound():
    # simulated_users alone is bounded by the machine: the memory guard
    unbounded = []
    for section in sections():
        for name, info in section.model_fields.items():
            numeric = info.annotation in (int, float) or float in typing.get_args(info.annotation)
            if not numeric:
                continue
            kinds = {
                k
                for m in info.metadata
                for k in ("gt", "ge", "lt", "le")
                if getattr(m, k, None) is not None
            }
            if not (kinds & {"gt", "ge"} and kinds & {"lt", "le"}):
                unbounded.append(f"{section.__name__}.{name}")
    assert unbounded == ["EndUserConfig.simulated_users"]


def test_baseline_sets_every_field_of_the_schema_including_list_and_table_items():
    def walk(model, data, prefix):
        for name, info in model.model_fields.items():
            key = f"{prefix}{name}"
            if name not in data:
                if info.default is None:  # an optional lever, shown commented out
                    assert f"# {name} = " in DEFAULT_CONFIG.read_text(), key
                    continue
                missing.append(key)
                continue
            inner = [
                a
                for a in (info.annotation, *typing.get_args(info.annotation))
                if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if not inner:
                continue
            value = data[name]
            if isinstance(value, list):
                for i, item in enumerate(value):
                    walk(inner[0], item, f"{key}.{i}.")
            elif typing.get_origin(info.annotation) is dict:
                for entry, item in value.items():
                    walk(inner[0], item, f"{key}.{entry}.")
            else:
                walk(inner[0], value, f"{key}.")

    missing: list[str] = []
    walk(Config, BASELINE, "")
    assert missing == []


def test_baseline_comments_start_with_the_schema_unit_and_give_a_source():
    lines = list(baseline_comments())
    assert [k for k, _ in lines] == list(flatten(BASELINE))  # the line parser reads every key
    first_seen = set()
    for key, comment in lines:
        info = field_of(key)
        unit = info.json_schema_extra["unit"]
        assert comment == unit or comment.startswith(f"{unit}; "), (key, comment, unit)
        generic = (id(section_at(key.split(".")[:-1])), key.rsplit(".", 1)[-1])
        if generic not in first_seen and not is_switch(info):
            assert comment.startswith(f"{unit}; ") and len(comment) > len(unit) + 3, key
        first_seen.add(generic)


CONFIG_FILES = sorted(
    p for sub in ("scenarios", "validation") for p in (CONFIG_DIR / sub).glob("*.toml")
)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_config_in_configs_loads(path):
    assert load_config(path).name == path.stem


@pytest.mark.parametrize(
    "path", sorted((CONFIG_DIR / "sweeps").glob("*.toml")), ids=lambda p: p.stem
)
def test_every_sweep_base_config_loads_with_its_fixed_overrides(path):
    from abm.experiments.spec import load_sweep

    spec = load_sweep(path)
    load_config(spec.base, overrides=spec.fixed)


# --------------------------------------------------------------------------- overrides and files
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


def test_numpy_scalars_are_taken_as_the_python_values_they_hold():
    cfg = load_config(
        DEFAULT_CONFIG,
        overrides={
            "model_developers.frontier_count": np.int64(3),
            "end_users.price_elasticity": np.float64(1.7),
        },
    )
    assert cfg.model_developers.frontier_count == 3
    assert type(cfg.model_developers.frontier_count) is int
    assert cfg.end_users.price_elasticity == 1.7


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
    with pytest.raises(ConfigError, match=r"b\.toml: 'extends' forms a cycle back to .*a\.toml"):
        load_config(tmp_path / "a.toml")


def test_an_extends_to_a_missing_file_names_the_file_that_refers_to_it(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "middle.toml").write_text('extends = "../gone.toml"\n')
    (tmp_path / "top.toml").write_text('extends = "sub/middle.toml"\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "top.toml")
    assert str(err.value) == (
        f"{tmp_path / 'sub' / 'middle.toml'}: 'extends' names '../gone.toml', "
        f"which is not a file ({tmp_path / 'gone.toml'})"
    )


def test_a_config_without_extends_names_every_missing_key(tmp_path):
    (tmp_path / "alone.toml").write_text('[simulation]\nstart = "2023-01"\n')
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "alone.toml")
    msg = str(err.value)
    expected = ["simulation.steps", "simulation.hours_per_month", "gpu", "datacenters"]
    expected += [
        "hyperscalers",
        "neoclouds",
        "own_use",
        "model_developers",
        "startups",
        "vc",
        "end_users",
        "credit",
        "serving",
    ]
    head = f"{tmp_path / 'alone.toml'}: missing keys "
    assert msg.startswith(head) and "\n" not in msg
    listed, _, hint = msg.removeprefix(head).partition(" (")
    assert listed.split(", ") == [f"'{key}'" for key in expected]
    assert hint.startswith("a config without 'extends' must set every key")
    # the suggested extends path, read from the config's folder, is the shipped baseline
    # (relative or absolute depending on where the repository and tmp sit)
    suggested = hint.split('extends = "', 1)[1].split('"', 1)[0]
    assert (tmp_path / suggested).resolve() == DEFAULT_CONFIG.resolve()


def test_a_bad_value_in_a_scenario_names_the_scenario_not_its_base(tmp_path):
    (tmp_path / "s.toml").write_text(
        f'extends = "{DEFAULT_CONFIG}"\n[gpu]\nperf_gain_per_generaton = 2.0\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "s.toml")
    assert str(err.value) == (
        f"{tmp_path / 's.toml'}: unknown key 'gpu.perf_gain_per_generaton'; "
        "did you mean 'gpu.perf_gain_per_generation'?"
    )


def test_a_missing_key_in_a_replaced_list_names_the_file_that_replaced_it(tmp_path):
    (tmp_path / "s.toml").write_text(
        f'extends = "{DEFAULT_CONFIG}"\n[[gpu.vendors]]\nname = "solo"\ninitial_price = 1.0\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "s.toml")
    msg = str(err.value)
    assert msg.startswith(f"{tmp_path / 's.toml'}: missing keys 'gpu.vendors.0.capacity_units")
    assert "baseline.toml" not in msg


# --------------------------------------------------------------------------- helpful messages
def test_a_misspelled_set_key_names_set_and_suggests_the_right_key():
    key, value = parse_override("end_users.price_elastcity=2.0")
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, overrides={key: value})
    assert str(err.value) == (
        "--set end_users.price_elastcity=2.0: unknown key 'end_users.price_elastcity'; "
        "did you mean 'end_users.price_elasticity'?"
    )


def test_a_key_without_its_section_points_to_the_section_that_has_it():
    key, value = parse_override("price_elasticity=2")
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, overrides={key: value})
    assert str(err.value).endswith(
        "unknown key 'price_elasticity'; did you mean 'end_users.price_elasticity'?"
    )


def test_a_python_override_is_named_as_an_override_of_its_config():
    with pytest.raises(ConfigError) as err:
        config_with_overrides(load_config(), {"vc.climat": 1.0}, source="batch point 3")
    assert str(err.value) == (
        "batch point 3: override 'vc.climat': unknown key 'vc.climat'; did you mean 'vc.climate'?"
    )


def test_a_cross_field_error_is_one_short_line_not_the_config():
    key, value = parse_override('hyperscalers.regions=["mars"]')
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, overrides={key: value})
    assert str(err.value) == (
        "--set hyperscalers.regions=[\"mars\"]: hyperscalers.regions names 'mars', "
        "which is not in datacenters.regions (colo, eu, fast, us)"
    )


# --------------------------------------------------------------------------- strict values
@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("model_developers.initial_quality", float("inf"), "finite number"),
        ("datacenters.cost_per_mw", 1e308, "less than or equal to 1000000000"),
        ("end_users.price_elasticity", float("inf"), "finite number"),
        ("end_users.segments.0.app_affinity", float("nan"), "finite number"),
        ("end_users.segments.0.tokens_per_task", 1e300, "less than or equal to 10000000"),
        ("end_users.price_elasticity", "2.5", "valid number"),
        ("end_users.price_elasticity", True, "valid number"),
        ("startups.initial_count", 2.0, "valid integer"),
        ("vc.climate_path", [[0.0, float("nan")]], "finite number"),
    ],
)
def test_reported_bad_numbers_are_refused_in_one_line_naming_the_key(key, value, problem):
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, overrides={key: value})
    msg = str(err.value)
    assert f"bad value for '{key}" in msg and problem in msg and "\n" not in msg


def test_no_number_anywhere_in_the_config_may_be_nan_or_infinite():
    from abm.params import parameters

    cfg = load_config()
    numbers = [p.key for p in parameters(cfg) if type(p.value) in (int, float)]
    assert len(numbers) > 150
    for key in numbers:
        for bad in (float("nan"), float("inf"), -float("inf")):
            with pytest.raises(ConfigError, match=f"bad value for '{key}'"):
                config_with_overrides(cfg, {key: bad})


def test_nan_and_inf_written_in_a_toml_file_are_refused(tmp_path):
    (tmp_path / "s.toml").write_text(f'extends = "{DEFAULT_CONFIG}"\n[vc]\nclimate = nan\n')
    with pytest.raises(ConfigError, match="s.toml: bad value for 'vc.climate': nan"):
        load_config(tmp_path / "s.toml")


def test_an_int_is_accepted_where_a_float_belongs():
    cfg = load_config(DEFAULT_CONFIG, overrides={"end_users.price_elasticity": 2})
    assert cfg.end_users.price_elasticity == 2.0 and type(cfg.end_users.price_elasticity) is float


@pytest.mark.parametrize("name", ["", ".", "..", "../docs", "../x", "/tmp/x", "a/b", ".hidden"])
def test_names_that_would_escape_results_are_refused(name):
    with pytest.raises(ConfigError, match="bad value for 'name'.*directory under results"):
        load_config(DEFAULT_CONFIG, overrides={"name": name})


def test_a_file_name_that_is_not_a_valid_run_name_gives_a_valid_default_name(tmp_path):
    path = tmp_path / "my scenario (v2).toml"
    path.write_text(f'extends = "{DEFAULT_CONFIG}"\n')
    assert load_config(path).name == "my_scenario__v2_"


# --------------------------------------------------------------------------- memory guard
def test_the_memory_estimate_counts_users_per_segment_and_the_startup_cap():
    cfg = load_config()
    assert population_memory_bytes(cfg) == 10_000 * BYTES_PER_USER + 400 * BYTES_PER_STARTUP
    # each segment gets at least one user, as the model builds it
    tiny = config_with_overrides(cfg, {"end_users.simulated_users": 2})
    assert population_memory_bytes(tiny) == 4 * BYTES_PER_USER + 400 * BYTES_PER_STARTUP


def test_a_population_this_machine_cannot_hold_is_refused_with_the_estimate():
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT_CONFIG, overrides={"end_users.simulated_users": 10**9})
    msg = str(err.value)
    assert "end_users.simulated_users = 1,000,000,000" in msg
    assert "needs about 128.0 GB" in msg and "available" in msg
    assert available_memory_bytes() < 128e9  # the premise of this test


@pytest.mark.slow
def test_the_cli_refuses_a_huge_population_at_once_with_exit_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "abm", "run", "--set", "end_users.simulated_users=1000000000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert r.returncode == 2
    assert "needs about 128.0 GB" in r.stderr and len(r.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_bytes_per_user_covers_what_the_model_allocates_per_user():
    """The guard's constant against tracemalloc's peak while building and stepping a model:
    a new per-user array in the model must raise BYTES_PER_USER."""
    from abm import ComputeMarket

    def peak(users: int) -> int:
        tracemalloc.start()
        try:
            ComputeMarket(rng=1, **{"end_users.simulated_users": users}).step()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    per_user = (peak(80_000) - peak(20_000)) / 60_000
    assert 0.6 * BYTES_PER_USER < per_user <= BYTES_PER_USER


# --------------------------------------------------------------------------- the command line
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
