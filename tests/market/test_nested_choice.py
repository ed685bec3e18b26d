"""The nested logit over capability classes (issue 11, round 8; off in the baseline):
the plain logit at lambda = 1, and providers' expected sales equal to users' choice at
the moved prices."""

from __future__ import annotations

import numpy as np
import pytest

from abm.market.demand import (
    OwnAndSupplier,
    class_utility,
    expected_sales,
    nested_choice,
    softmax,
)

NEST = np.array([0, 0, 1, 1, 2, 0, 1, 2, 0])
SUPPLIER = [-1, -1, -1, -1, -1, 0, 2, 4, 1]  # columns 5-8 resell labs 0, 2, 4, 1


def _market(seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(8.0, 0.5, NEST.size)
    price = np.exp(rng.normal(0.0, 1.0, NEST.size))
    app = rng.normal(0.0, 0.5, NEST.size)
    return q, price, app


def test_lambda_one_without_class_term_is_the_plain_logit():
    q, price, app = _market()
    u = 3.0 * q - 2.0 * np.log(price) + app
    np.testing.assert_allclose(nested_choice(u, NEST, np.zeros(3), 1.0), softmax(u), atol=1e-15)


def test_rows_sum_to_one_and_unreachable_columns_and_nests_get_nothing():
    q, price, app = _market(1)
    u = np.vstack([3.0 * q - 2.0 * np.log(price) + a * app for a in (0.2, 1.0)])
    u[:, [4, 7]] = -np.inf  # nest 2 unreachable
    p = nested_choice(u, NEST, class_utility(q[:5], NEST[:5], 3, 5.0), 0.4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p[:, [4, 7]] == 0).all()


@pytest.mark.parametrize("lam", [0.3, 0.7, 1.0])
def test_expected_sales_are_the_nested_shares_at_the_moved_prices(lam):
    q, price, app = _market(2)
    alpha, ratios = 2.0, np.array([0.8, 1.0, 1.25])
    nest_u = class_utility(q[:5], NEST[:5], 3, 5.0)

    def shares(p):
        return nested_choice((3.0 * q - alpha * np.log(p) + app)[None, :], NEST, nest_u, lam)

    flat = np.ones((1, 48))  # flat demand curves: expected sales are shares
    got = expected_sales(
        shares(price), flat, np.linspace(-10, 10, 48), price, OwnAndSupplier(SUPPLIER),
        ratios, alpha, nest=NEST, dissimilarity=lam,
    )  # fmt: skip
    for f in range(NEST.size):
        moved = np.array([c == f or s == f for c, s in enumerate(SUPPLIER)])
        for i, r in enumerate(ratios):
            want = shares(np.where(moved, price * r, price))[0][moved].sum()
            assert got[f, i] == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_founders_pick_suppliers_as_users_choose_models_under_the_nested_switch():
    """With the nested choice on, a founder's chance of building on a lab is the lab's
    share under the users' nested logit over capability classes (worked out here from
    the formula: class share times share within the class), not the plain logit's."""
    from abm import ComputeMarket
    from abm.agents.startup import supplier_probabilities

    lam, b, qs, ps = 0.5, 8.0, 3.0, 2.0
    over = {
        "end_users.simulated_users": 200,
        "end_users.nested_choice": True,
        "end_users.nest_dissimilarity": lam,
        "end_users.class_quality_sensitivity": b,
    }
    m = ComputeMarket(rng=3, **over)
    labs = m.labs
    q = np.array([lab.quality for lab in labs])
    u = qs * q - ps * np.log([lab.price for lab in labs])
    classes = sorted({lab.capability_class for lab in labs})
    cls = np.array([classes.index(lab.capability_class) for lab in labs])
    inclusive = np.array([np.log(np.exp(u[cls == k] / lam).sum()) for k in range(len(classes))])
    class_term = np.array([(b - qs) * q[cls == k].mean() for k in range(len(classes))])
    class_share = np.exp(class_term + lam * inclusive)
    class_share /= class_share.sum()
    within = np.exp(u / lam) / np.exp(inclusive[cls])
    want = class_share[cls] * within
    np.testing.assert_allclose(supplier_probabilities(m), want, rtol=1e-10)
    # and it is not the plain logit the founders used before
    assert not np.allclose(want, softmax(u), rtol=1e-3)
