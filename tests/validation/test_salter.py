"""Salter's (1960) vintage rule where power binds, in its two halves, static (the
baseline) and over time (``hyperscalers.salter_over_time``, off in the baseline).

Static: a vintage is worth replacing when a new GPU's quasi-rent per MW, net of its
annualised price, exceeds the vintage's own quasi-rent per MW (the investment decision,
which sizes replacement orders); once new GPUs are delivered their price is sunk and
they displace the vintages earning least per MW (dispatch); nothing is scrapped when
power is slack.

Over time: a vintage is worth replacing when a new GPU's quasi-rent per MW, net of its
annualised price, over the months until a hall under way could host the new GPU
instead exceeds the vintage's own quasi-rent per MW over the life it has left; once
new GPUs are delivered they displace the vintages whose rent over their remaining life
is below the waiting GPUs' rent over the months until the halls under way power them.
Rents are valued with ``H(m) = (1 - e^(-k m / 12)) / (k / 12)`` months at the capital
charge ``k = r + delta + omega``. Nothing is scrapped when power is slack, and nothing
young is displaced when power comes soon; each threshold is the price ``p`` at which
``r_new(p) H(W) = r_old(p) H(L)``.

The thresholds are derived here from the parameters, independently of the model's
functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from abm import ComputeMarket

STATIC = {"hyperscalers.salter_over_time": False}
DYNAMIC = {"hyperscalers.salter_over_time": True}

NEW_PRICE, NEW_KW = 20_000.0, 0.8  # $ and kW per H100e of the newest GPU
OLD_KW, MID_KW = 1.6, 0.896  # kW per H100e of the two vintages in service


def two_vintage_cloud(price: float, power_binds: bool = True):
    """The static rule (``hyperscalers.salter_over_time`` off, the baseline)."""
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 200, **STATIC})
    h = m.hyperscalers[0]
    h.units = np.array([1000.0, 1000.0])
    h.perf = np.array([1.0, 2.5])
    h.kw = np.array([OLD_KW, MID_KW * 2.5])
    h.vintage = np.array([-30.0, -6.0])
    h.depreciation_per_month = np.array([1e5, 2e5])
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = h.inv_vintage = np.zeros(0)
    h.new_gpu_price, h.new_kw_per_h100e = NEW_PRICE, NEW_KW
    h.price = price
    h.energized_mw = h.used_mw if power_binds else 10 * h.used_mw
    h.receive_gpus(5000.0, 1.0, NEW_KW, NEW_PRICE)  # 4 MW waiting: more than the old cohort
    return h


def salter_threshold(cfg, kw_old: float) -> float:
    """The rental price above which a new GPU on a MW earns more, net of its capital
    charge, than a vintage drawing ``kw_old`` kW per H100e earns on it:
    ``(p - c_new) u / k_new - P (r + delta + omega) / (8760 k_new) = (p - c_old) u / k_old``."""
    hc, g = cfg.hyperscalers, cfg.gpu
    omega = 1.0 - (g.cost_growth_per_generation / g.perf_gain_per_generation) ** (
        12.0 / g.release_interval_months
    )
    charge = hc.cost_of_capital + hc.physical_wear_per_year + omega
    u = hc.target_utilization

    def run(k):
        return k * hc.energy_price_per_kwh + hc.opex_per_gpu_hour

    num = (
        u * run(NEW_KW) / NEW_KW + NEW_PRICE * charge / (8760.0 * NEW_KW) - u * run(kw_old) / kw_old
    )
    return num / (u / NEW_KW - u / kw_old)


def test_a_vintage_is_replaceable_exactly_above_its_salter_threshold():
    """The investment half of the rule, which sizes replacement orders: replace a
    vintage when a new GPU's quasi-rent per MW, net of its capital charge, is higher."""
    cfg = two_vintage_cloud(3.0).model.cfg
    p_old, p_mid = salter_threshold(cfg, OLD_KW), salter_threshold(cfg, MID_KW)
    assert 0.5 < p_old < p_mid  # the less efficient vintage goes first
    for price, expected in (
        (0.99 * p_old, [False, False]),  # both still earn more on their MW
        (1.01 * p_old, [True, False]),  # the old cohort is worth replacing, the newer not
        (0.99 * p_mid, [True, False]),
        (1.01 * p_mid, [True, True]),  # above both thresholds both are
    ):
        assert two_vintage_cloud(price).replaceable().tolist() == expected


def test_delivered_gpus_displace_the_vintage_that_earns_least_per_mw():
    """The dispatch half: once new GPUs are delivered their price is sunk, so where
    power binds they displace the vintages earning least per MW, until they fit."""
    cfg = two_vintage_cloud(3.0).model.cfg
    h = two_vintage_cloud(0.99 * salter_threshold(cfg, OLD_KW))  # not worth buying for...
    h.inv_units = np.array([2000.0])  # ...but delivered: 1.6 MW, the old cohort's
    h.retire()
    np.testing.assert_allclose(h.units, [1000.0])  # the old cohort is gone, whole
    np.testing.assert_allclose(h.kw, [MID_KW * 2.5])
    both = two_vintage_cloud(3.0)
    both.inv_units = np.array([20_000.0])  # 16 MW waiting: every vintage earns less per MW
    both.retire()
    assert both.units.size == 0


@pytest.mark.parametrize("factor", [1.01, 3.0])
def test_nothing_is_scrapped_when_power_is_slack(factor):
    cfg = two_vintage_cloud(3.0).model.cfg
    h = two_vintage_cloud(factor * salter_threshold(cfg, MID_KW), power_binds=False)
    assert h.retire() == 0.0
    np.testing.assert_allclose(h.units, [1000.0, 1000.0])


def test_the_static_rule_ignores_when_the_next_hall_comes():
    """Switch off (the baseline): the hall under way does not enter the rule, so with
    one 4 months off the static thresholds still decide (the dynamic rule replaces
    nothing there, see the test below)."""
    cfg = two_vintage_cloud(3.0).model.cfg
    p_mid = salter_threshold(cfg, MID_KW)
    h = two_vintage_cloud(1.01 * p_mid)
    h.p_mw, h.p_stage = np.array([100.0]), np.array([2])
    h.p_left, h.p_cost = np.array([4.0]), np.array([0.0])
    h.p_leased = np.zeros(1, dtype=bool)
    assert h.replaceable().tolist() == [True, True]


# ---------------------------------------------------------------- Salter's rule over time

AGES = (30.0, 6.0)  # months since delivery of the two vintages
LEAD = 1.0  # months from ordering a GPU to its delivery


def dynamic_cloud(price: float, power_binds: bool = True, hall_months: float = 40.0):
    """A cloud with two vintages, 4 MW of new GPUs waiting, and one 100 MW hall under
    construction, energised ``hall_months`` from now; Salter's rule over time on."""
    m = ComputeMarket(rng=1, **{"end_users.simulated_users": 200, **DYNAMIC})
    h = m.hyperscalers[0]
    h.units = np.array([1000.0, 1000.0])
    h.perf = np.array([1.0, 2.5])
    h.kw = np.array([OLD_KW, MID_KW * 2.5])
    h.vintage = m.steps - np.array(AGES)
    h.depreciation_per_month = np.array([1e5, 2e5])
    h.inv_units = h.inv_perf = h.inv_kw = h.inv_value = h.inv_vintage = np.zeros(0)
    h.new_gpu_price, h.new_kw_per_h100e = NEW_PRICE, NEW_KW
    h.delivery_lead_months = LEAD
    h.p_mw, h.p_stage = np.array([100.0]), np.array([2])  # in construction, the last stage
    h.p_left, h.p_cost = np.array([hall_months]), np.array([0.0])
    h.p_leased = np.zeros(1, dtype=bool)
    h.price = price
    h.energized_mw = h.used_mw if power_binds else 10 * h.used_mw
    h.receive_gpus(5000.0, 1.0, NEW_KW, NEW_PRICE)  # 4 MW waiting: more than the old cohort
    return h


def charge(cfg) -> float:
    """r + delta + omega, per year, from the roadmap."""
    hc, g = cfg.hyperscalers, cfg.gpu
    omega = 1.0 - (g.cost_growth_per_generation / g.perf_gain_per_generation) ** (
        12.0 / g.release_interval_months
    )
    return hc.cost_of_capital + hc.physical_wear_per_year + omega


def months_of_rent(cfg, months: float) -> float:
    k = charge(cfg) / 12.0
    return (1.0 - math.exp(-k * months)) / k


def threshold(cfg, kw_old: float, age: float, wait: float, capital: float) -> float:
    """The rental price at which a new GPU (``capital`` $ per H100e annualised at the
    capital charge; 0 once it is delivered) earns on a MW over ``wait`` months what a
    vintage drawing ``kw_old`` kW per H100e, ``age`` months old, earns on it over the
    book life it has left::

        [u (p - c_new) - P k / 8760] / kw_new H(W) = u (p - c_old) / kw_old H(L)
    """
    hc = cfg.hyperscalers
    u = hc.target_utilization

    def run(kw):
        return kw * hc.energy_price_per_kwh + hc.opex_per_gpu_hour

    h_w = months_of_rent(cfg, wait)
    h_l = months_of_rent(cfg, max(hc.depreciation_months - age, 0.0))
    a, c = u * h_w / NEW_KW, u * h_l / kw_old
    b = (u * run(NEW_KW) + capital * charge(cfg) / 8760.0) * h_w / NEW_KW
    d = u * run(kw_old) * h_l / kw_old
    if a <= c:  # a higher price raises the vintage's stream more: never replaced
        return math.inf
    return (b - d) / (a - c)


def test_a_vintage_is_replaceable_exactly_above_its_dynamic_salter_threshold():
    """The investment half: with the next hall 80 months off (79 after delivery), the
    old vintage (36 months of book life left) is replaced above its threshold, the
    young one (60 months left) only above a higher one."""
    cfg = dynamic_cloud(3.0).model.cfg
    wait = 80.0 - LEAD
    p_old = threshold(cfg, OLD_KW, AGES[0], wait, NEW_PRICE)
    p_mid = threshold(cfg, MID_KW, AGES[1], wait, NEW_PRICE)
    assert 0.5 < p_old < p_mid  # the less efficient, older vintage goes first
    for price, expected in (
        (0.99 * p_old, [False, False]),  # both still earn more on their MW
        (1.01 * p_old, [True, False]),  # the old cohort is worth replacing, the newer not
        (0.99 * p_mid, [True, False]),
        (1.01 * p_mid, [True, True]),  # above both thresholds both are
    ):
        assert dynamic_cloud(price, hall_months=80.0).replaceable().tolist() == expected


def test_a_young_vintage_is_never_replaced_for_a_shorter_wait():
    """With the hall 40 months off, the new GPU's 39 months of rent per MW cannot beat
    the young vintage's 60 months at any price; the old vintage still goes above its
    own (40-month) threshold."""
    cfg = dynamic_cloud(3.0).model.cfg
    wait = 40.0 - LEAD
    p_old = threshold(cfg, OLD_KW, AGES[0], wait, NEW_PRICE)
    assert threshold(cfg, MID_KW, AGES[1], wait, NEW_PRICE) == math.inf
    assert dynamic_cloud(0.99 * p_old).replaceable().tolist() == [False, False]
    for factor in (1.01, 10.0):
        assert dynamic_cloud(factor * p_old).replaceable().tolist() == [True, False]


def test_no_young_vintage_is_replaced_when_a_hall_comes_soon():
    """The same prices with the next hall 4 months off: a new GPU gains 3 months of
    rent by replacing, a vintage loses its remaining life; nothing is worth replacing
    at prices at which the static rule (wait = remaining life) would replace both."""
    cfg = dynamic_cloud(3.0).model.cfg
    static_mid = threshold(
        cfg, MID_KW, AGES[1], cfg.hyperscalers.depreciation_months - 6.0, NEW_PRICE
    )
    for price in (1.01 * static_mid, 2.0 * static_mid):
        assert not dynamic_cloud(price, hall_months=4.0).replaceable().any()


def wait_threshold(cfg, kw_old: float, age: float, price: float) -> float:
    """The wait (months until the halls under way power the delivered GPUs) beyond
    which, at ``price``, the delivered GPUs (price sunk) earn more on a MW than a
    vintage drawing ``kw_old`` kW per H100e, ``age`` months old, earns on it over its
    remaining life: ``H(W) = r_old H(L) / r_new``, inverted."""
    hc = cfg.hyperscalers
    u = hc.target_utilization

    def rent_per_mw(kw):
        return u * (price - kw * hc.energy_price_per_kwh - hc.opex_per_gpu_hour) / kw

    need = rent_per_mw(kw_old) * months_of_rent(cfg, hc.depreciation_months - age)
    k = charge(cfg) / 12.0
    return -math.log(1.0 - k * need / rent_per_mw(NEW_KW)) / k


PRICE = 2.0  # $ per GPU-hour: both vintages cover their running cost


def test_delivered_gpus_displace_a_vintage_only_if_they_would_wait_longer():
    """The dispatch half: once new GPUs are delivered their price is sunk, so where
    power binds they displace a vintage only if its rent per MW over the life it has
    left is below theirs until the halls under way power them: the old vintage for a
    wait of about a year, the young one only for a wait of about four years."""
    cfg = dynamic_cloud(PRICE).model.cfg
    w_old = wait_threshold(cfg, OLD_KW, AGES[0], PRICE)
    w_mid = wait_threshold(cfg, MID_KW, AGES[1], PRICE)
    assert 6.0 < w_old < w_mid < 66.0
    for hall, waiting, left in (
        (0.97 * w_old, 20_000.0, [1000.0, 1000.0]),  # both worth keeping: the GPUs wait
        (1.03 * w_old, 2000.0, [1000.0]),  # 1.6 MW waiting: the old cohort goes, whole
        (0.97 * w_mid, 20_000.0, [1000.0]),  # 16 MW waiting: still only the old cohort
        (1.03 * w_mid, 20_000.0, []),  # and beyond the young one's threshold, both
    ):
        h = dynamic_cloud(PRICE, hall_months=hall)
        h.inv_units = np.array([waiting])
        h.retire()
        np.testing.assert_allclose(h.units, left)


@pytest.mark.parametrize("factor", [1.01, 3.0])
def test_over_time_nothing_is_scrapped_when_power_is_slack(factor):
    cfg = dynamic_cloud(3.0).model.cfg
    price = factor * threshold(cfg, MID_KW, AGES[1], 80.0 - LEAD, NEW_PRICE)
    h = dynamic_cloud(price, power_binds=False)
    assert h.retire() == 0.0
    np.testing.assert_allclose(h.units, [1000.0, 1000.0])
