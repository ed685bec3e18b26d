"""Rationing: table-driven tests of who gets what when supply is short."""

import numpy as np
import pytest

from abm.market.rationing import allocate_with_spillover, pro_rata, spillover_sales


@pytest.mark.parametrize(
    ("requests", "supply", "expected"),
    [
        ([1.0, 2.0, 3.0], 10.0, [1.0, 2.0, 3.0]),  # enough for all
        ([1.0, 2.0, 3.0], 3.0, [0.5, 1.0, 1.5]),  # half for each
        ([4.0, 0.0], 1.0, [1.0, 0.0]),
        ([0.0, 0.0], 5.0, [0.0, 0.0]),
        ([2.0, 2.0], 0.0, [0.0, 0.0]),
        ([-1.0, 2.0], 1.0, [0.0, 1.0]),  # negative requests count as none
    ],
)
def test_pro_rata(requests, supply, expected):
    np.testing.assert_allclose(pro_rata(np.array(requests), supply), expected)


@pytest.mark.parametrize(
    ("requests", "capacities", "filled", "unmet"),
    [
        # one seller, enough capacity
        ([[1.0], [2.0]], [5.0], [[1.0], [2.0]], [0.0, 0.0]),
        # one seller, short: pro rata
        ([[2.0], [6.0]], [4.0], [[1.0], [3.0]], [1.0, 3.0]),
        # seller 0 short, seller 1 has spare: the shortfall spills over
        ([[4.0, 0.0], [0.0, 1.0]], [2.0, 5.0], [[2.0, 2.0], [0.0, 1.0]], [0.0, 0.0]),
        # both short: each sells out, no spare to spill to
        ([[4.0, 0.0], [0.0, 4.0]], [1.0, 3.0], [[1.0, 0.0], [0.0, 3.0]], [3.0, 1.0]),
        # buyer 0 short at seller 0; seller 1's spare (2) goes to it
        ([[3.0, 1.0], [0.0, 1.0]], [1.0, 4.0], [[1.0, 3.0], [0.0, 1.0]], [0.0, 0.0]),
    ],
)
def test_allocation_with_spillover(requests, capacities, filled, unmet):
    f, u = allocate_with_spillover(np.array(requests), np.array(capacities))
    np.testing.assert_allclose(f, filled, atol=1e-12)
    np.testing.assert_allclose(u, unmet, atol=1e-12)


def test_allocation_never_exceeds_capacity_or_requests_and_conserves():
    rng = np.random.default_rng(0)
    for _ in range(200):
        req = rng.exponential(1.0, size=(5, 3)) * (rng.random((5, 3)) < 0.7)
        cap = rng.exponential(2.0, size=3)
        f, u = allocate_with_spillover(req, cap)
        assert (f >= -1e-12).all() and (u >= -1e-12).all()
        assert (f.sum(axis=0) <= cap + 1e-9).all()
        np.testing.assert_allclose(f.sum(axis=1) + u, req.sum(axis=1), atol=1e-9)
        # sold is the smaller of all demand and all capacity
        assert f.sum() == pytest.approx(min(req.sum(), cap.sum()))


def test_single_buyer_spillover_matches_the_general_clearing():
    rng = np.random.default_rng(1)
    req = rng.exponential(1.0, size=(50, 4))
    cap = rng.exponential(1.0, size=4)
    batch = spillover_sales(req, cap)
    for row, got in zip(req, batch, strict=True):
        filled, _ = allocate_with_spillover(row[None, :], cap)
        np.testing.assert_allclose(got, filled[0], atol=1e-12)
