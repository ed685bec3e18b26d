"""The typed retail market: columns, who sells what, and users' choice probabilities.

Sellers are hand-built stand-ins carrying only what the market reads; the config
sections are the shipped baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from abm.config import load_config
from abm.market.demand import choice_utility
from abm.market.retail import observe_retail_market

CFG = load_config()
UC, MC, SC = CFG.end_users, CFG.model_developers, CFG.startups


@dataclass
class Lab:
    unique_id: int
    quality: float
    price: float


@dataclass
class App:
    unique_id: int
    supplier: int
    price: float
    app_bonus: float = 0.5


LABS = [Lab(3, 7.2, 30.0), Lab(5, 6.4, 2.0)]


def observe(labs=LABS, apps=(), affinity=(0.0, 1.0), mc=MC, sc=SC):
    return observe_retail_market(list(labs), list(apps), list(affinity), UC, mc, sc)


def test_columns_are_the_labs_direct_channel_then_the_apps():
    apps = [App(9, supplier=5, price=4.0), App(7, supplier=3, price=50.0)]
    m = observe(apps=apps)
    assert m.col_ids.tolist() == [3, 5, 9, 7]
    assert (m.n_labs, m.n_cols) == (2, 4)
    assert m.price.tolist() == [30.0, 2.0, 4.0, 50.0]
    # an app sells its supplier's tokens: it carries that lab's index and quality
    assert m.source.tolist() == [0, 1, 1, 0]
    assert m.quality.tolist() == [7.2, 6.4, 6.4, 7.2]
    np.testing.assert_allclose(
        m.quality_factor, np.exp(UC.value_per_quality * (m.quality - MC.reference_quality))
    )


def test_col_of_maps_each_sellers_id_to_its_column_and_others_to_minus_one():
    m = observe(apps=[App(9, 5, 4.0), App(7, 3, 50.0)])
    assert m.col_of.size == 10  # indexable by every id up to the largest
    assert [int(m.col_of[i]) for i in (3, 5, 9, 7)] == [0, 1, 2, 3]
    assert all(m.col_of[i] == -1 for i in (0, 1, 2, 4, 6, 8))


@pytest.mark.parametrize("n_apps", [0, 1, 6])
def test_every_segments_choice_row_sums_to_one(n_apps):
    apps = [App(10 + i, supplier=3 + 2 * (i % 2), price=5.0 + i) for i in range(n_apps)]
    m = observe(apps=apps, affinity=(0.0, 0.7, 2.0))
    assert m.choice.shape == (3, 2 + n_apps)
    np.testing.assert_allclose(m.choice.sum(axis=1), 1.0, rtol=1e-12)
    assert (m.choice > 0).all()


def test_app_loving_segments_choose_apps_more():
    m = observe(apps=[App(9, 3, 40.0, app_bonus=1.0)], affinity=(0.0, 1.0, 3.0))
    assert m.choice[0, 2] < m.choice[1, 2] < m.choice[2, 2]


def test_without_direct_sales_users_reach_labs_only_through_apps():
    wholesale_only = MC.model_copy(update={"direct_sales": False})
    m = observe(apps=[App(9, 3, 40.0), App(8, 5, 3.0)], mc=wholesale_only)
    np.testing.assert_array_equal(m.choice[:, :2], 0.0)
    np.testing.assert_allclose(m.choice.sum(axis=1), 1.0)
    # with no apps at all there is no one else to buy from: the labs keep their users
    alone = observe(mc=wholesale_only)
    assert (alone.choice > 0).all()


def test_crowding_lowers_each_apps_share_but_not_the_apps_joint_appeal():
    shares, joint = [], []
    for n in (1, 5, 20, 80):
        apps = [App(10 + i, supplier=3, price=40.0) for i in range(n)]
        m = observe(apps=apps, affinity=(1.0,))
        shares.append(m.choice[0, 2])
        joint.append(m.choice[0, 2:].sum())
    assert shares == sorted(shares, reverse=True) and len(set(shares)) == 4
    # apps split the same attention: n apps together pull like crowding_reference apps
    np.testing.assert_allclose(joint, joint[0], rtol=1e-12)


def test_first_party_apps_add_the_bonus_to_the_labs_columns_for_app_lovers():
    with_apps = MC.model_copy(update={"first_party_apps": True})
    plain, first = observe(affinity=(0.0, 1.0)), observe(affinity=(0.0, 1.0), mc=with_apps)
    # both labs get the same bonus: shares do not move between them
    np.testing.assert_allclose(plain.choice, first.choice)
    apps = [App(9, 5, 4.0)]
    assert observe(apps=apps, mc=with_apps).choice[1, 2] < observe(apps=apps).choice[1, 2]


def test_an_empty_market_has_no_columns():
    m = observe(labs=[], apps=[], affinity=(0.0, 1.0))
    assert m.n_cols == 0 and m.choice.shape == (2, 0)
    assert m.col_of.tolist() == [-1]


@pytest.mark.parametrize(
    ("q", "p"),
    [(6.0, 10.0), (7.0, 10.0), (7.0, 1.0), (8.0, 100.0)],
)
def test_choice_utility_rises_with_quality_and_falls_with_price(q, p):
    base = choice_utility(q, p, UC.quality_sensitivity, UC.price_sensitivity)
    assert choice_utility(q + 0.1, p, UC.quality_sensitivity, UC.price_sensitivity) > base
    assert choice_utility(q, p * 1.1, UC.quality_sensitivity, UC.price_sensitivity) < base
    assert base == pytest.approx(UC.quality_sensitivity * q - UC.price_sensitivity * np.log(p))
