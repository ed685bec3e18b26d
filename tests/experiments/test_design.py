"""Designs: sizes, value mapping, and seeds that can be reproduced run by run."""

from __future__ import annotations

import numpy as np
import pytest

from abm.experiments.design import UNIT_PREFIX, build_design, from_unit, levels
from abm.experiments.spec import ParameterSpec, parse_sweep


def spec(**over):
    data = {"name": "t", "seed": 42, "parameters": {"a": [1, 2, 3], "b": [0.5, 1.5]}}
    data.update(over)
    return parse_sweep(data, "test")


def test_grid_is_the_cartesian_product_times_replicates_in_run_id_order():
    d = build_design(spec(replicates=2))
    assert d.n_points == 6
    assert len(d.tasks) == 12
    assert [t.run_id for t in d.tasks] == list(range(12))
    assert [(t.point_id, t.replicate) for t in d.tasks[:4]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [t.params for t in d.tasks[::2]] == [
        {"a": a, "b": b} for a in (1, 2, 3) for b in (0.5, 1.5)
    ]
    assert list(d.table.columns) == [
        "run_id",
        "point_id",
        "replicate",
        "a",
        "b",
        "seed_entropy",
        "seed_spawn_key",
        "seed",
    ]


def test_each_seed_is_reproducible_from_its_stored_entropy_and_spawn_key():
    d = build_design(spec(replicates=3))
    for row in d.table.itertuples():
        seq = np.random.SeedSequence(row.seed_entropy, spawn_key=tuple(row.seed_spawn_key))
        assert int(seq.generate_state(1)[0]) == row.seed
    assert d.table["seed"].nunique() == len(d.table)  # independent runs


def test_common_seeds_share_one_seed_per_replicate_across_points():
    d = build_design(spec(replicates=2, common_seeds=True))
    by_rep = d.table.groupby("replicate")["seed"].nunique()
    assert by_rep.tolist() == [1, 1]
    assert (
        d.table.loc[d.table.replicate == 0, "seed"].iloc[0]
        != d.table.loc[d.table.replicate == 1, "seed"].iloc[0]
    )


def test_design_is_the_same_every_time_and_changes_with_the_seed():
    s = spec(design="lhs", n=10, parameters={"a": {"low": 0, "high": 1}})
    assert build_design(s).table.equals(build_design(s).table)
    other = build_design(s.model_copy(update={"seed": 43})).table
    assert not np.allclose(other["a"], build_design(s).table["a"])


def test_latin_hypercube_puts_one_point_in_each_stratum():
    n = 20
    d = build_design(
        spec(
            design="lhs", n=n, parameters={"a": {"low": 0, "high": 10}, "b": {"low": 1, "high": 2}}
        )
    )
    for k in ("a", "b"):
        strata = np.floor(d.table[UNIT_PREFIX + k].to_numpy() * n).astype(int)
        assert sorted(strata) == list(range(n))
    assert d.table["a"].between(0, 10).all()


@pytest.mark.parametrize(
    ("param", "u", "expected"),
    [
        ({"low": 0, "high": 10}, [0.0, 0.25, 1.0], [0.0, 2.5, 10.0]),
        (
            {"low": 1, "high": 100, "distribution": "loguniform"},
            [0.0, 0.5, 1.0],
            [1.0, 10.0, 100.0],
        ),
        (
            {"low": 2, "high": 4, "distribution": "int"},
            [0.0, 0.33, 0.34, 0.99, 1.0],
            [2, 2, 3, 4, 4],
        ),
        ({"values": ["x", "y"]}, [0.0, 0.49, 0.5, 1.0], ["x", "x", "y", "y"]),
    ],
)
def test_unit_coordinates_map_onto_the_parameter_range(param, u, expected):
    assert from_unit(ParameterSpec(**param), np.array(u)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ({"low": 0, "high": 1, "levels": 3}, [0.0, 0.5, 1.0]),
        ({"low": 1, "high": 100, "distribution": "loguniform", "levels": 3}, [1.0, 10.0, 100.0]),
        ({"low": 1, "high": 3, "distribution": "int", "levels": 5}, [1, 2, 3]),
    ],
)
def test_grid_levels_of_a_range(param, expected):
    assert levels(ParameterSpec(**param)) == pytest.approx(expected)


def test_int_parameters_are_python_ints():
    d = build_design(
        spec(design="lhs", n=5, parameters={"k": {"low": 2, "high": 8, "distribution": "int"}})
    )
    assert all(type(t.params["k"]) is int for t in d.tasks)


@pytest.mark.parametrize(
    ("design", "extra", "points"),
    [
        ("sobol", {"n": 8}, 8 * (3 + 2)),
        ("sobol", {"n": 8, "second_order": True}, 8 * (2 * 3 + 2)),
        ("morris", {"n": 5}, 5 * (3 + 1)),
    ],
)
@pytest.mark.slow
def test_salib_design_sizes(design, extra, points):
    params = {k: {"low": 0, "high": 1} for k in "abc"}
    d = build_design(spec(design=design, parameters=params, replicates=2, **extra))
    assert d.n_points == points
    assert len(d.tasks) == 2 * points
