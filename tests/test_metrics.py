"""The metrics registry, and one small step's metrics checked against the agents, the
ledger and the graph directly."""

from __future__ import annotations

import math

import pytest

from abm import ComputeMarket
from abm.metrics import METRICS, compute_metrics


def small_market(**over) -> ComputeMarket:
    return ComputeMarket(rng=3, **{"end_users.simulated_users": 400, **over})


@pytest.fixture(scope="module")
def stepped():
    """A small market after one step, and that step's metrics."""
    m = small_market()
    m.step()
    return m, m.metrics


def edges(m: ComputeMarket, good: str) -> tuple[float, float]:
    """Quantity and $ value traded this step along edges carrying ``good``."""
    data = [d for _, _, d in m.supply.g.edges(data=True) if d["good"] == good]
    return sum(d["quantity"] for d in data), sum(d["value"] for d in data)


def test_every_metric_has_a_unit_and_a_description():
    for name, entry in METRICS.items():
        assert isinstance(entry, tuple) and len(entry) == 2, name
        unit, description = entry
        assert unit.strip() and description.strip(), name


def test_compute_metrics_gives_exactly_the_registered_metrics_all_finite(stepped):
    _, metrics = stepped
    assert sorted(metrics) == sorted(METRICS)
    assert all(math.isfinite(v) for k, v in metrics.items() if k != "date")


def test_metrics_at_step_zero_are_defined_before_anything_traded():
    m = small_market()
    assert sorted(m.metrics) == sorted(METRICS)
    assert m.metrics["date"] == "2022-12"
    assert m.metrics["vc_funding"] == 0.0
    assert m.metrics["gpu_price"] == pytest.approx(sum(v.price for v in m.vendors) / len(m.vendors))


def test_compute_price_is_what_labs_paid_per_gpu_hour_received(stepped):
    m, metrics = stepped
    gpu_hours, paid = edges(m, "compute")
    assert gpu_hours > 0
    assert gpu_hours == pytest.approx(sum(lab.compute_received for lab in m.labs), rel=1e-12)
    assert paid == pytest.approx(m.ledger.step_flows["compute"], rel=1e-12)
    assert metrics["compute_price"] == pytest.approx(paid / gpu_hours, rel=1e-12)
    assert metrics["compute_sold"] == pytest.approx(gpu_hours, rel=1e-12)


def test_gpu_metrics_match_the_gpu_edges_and_the_ledger(stepped):
    m, metrics = stepped
    parts, paid = edges(m, "gpus")
    assert parts > 0
    assert metrics["gpu_shipments"] == pytest.approx(parts, rel=1e-12)
    assert metrics["vendor_revenue"] == pytest.approx(m.ledger.step_flows["gpu_sales"], rel=1e-12)
    assert metrics["gpu_price"] == pytest.approx(paid / parts, rel=1e-12)
    foundry = m.ledger.step_flows["foundry"]
    assert metrics["profit_vendor"] == pytest.approx(paid - foundry, rel=1e-12)


def test_user_spend_is_what_households_paid_for_tokens(stepped):
    m, metrics = stepped
    assert metrics["startup_exits"] == 0  # see the test of a step with an exit below
    assert metrics["user_spend"] == pytest.approx(m.ledger.step_flows["user_spend"], rel=1e-12)
    to_users = sum(
        d["value"]
        for _, v, d in m.supply.g.edges(data=True)
        if m.supply.g.nodes[v]["layer"] == "segment"
    )
    assert metrics["user_spend"] == pytest.approx(to_users, rel=1e-12)


def test_tokens_are_what_users_received(stepped):
    m, metrics = stepped
    tokens = sum(
        d["quantity"]
        for _, v, d in m.supply.g.edges(data=True)
        if m.supply.g.nodes[v]["layer"] == "segment"
    )
    assert metrics["tokens"] == pytest.approx(tokens, rel=1e-12)
    assert metrics["tokens"] <= metrics["token_demand"] * (1 + 1e-12)


def test_vc_funding_is_what_venture_capital_paid_in_this_step(stepped):
    m, metrics = stepped
    flows = m.ledger.step_flows
    assert metrics["vc_funding"] == flows.get("vc_labs", 0.0) + flows.get("vc_startups", 0.0)


def test_margins_are_at_most_one_and_the_vendors_profit_share_a_fraction():
    m = small_market()
    for _ in range(6):
        m.step()
        for layer in ("vendor", "hyperscalers", "model_devs", "startups"):
            assert m.metrics[f"margin_{layer}"] <= 1.0, (m.steps, layer)
        assert 0.0 <= m.metrics["vendor_profit_share"] <= 1.0
        assert m.metrics["ledger_error"] <= 1e-6 * m.metrics["ledger_volume"]


def test_a_layer_with_no_revenue_has_a_margin_of_zero():
    m = small_market(**{"startups.initial_count": 0, "startups.entry_rate_per_month": 0.0})
    m.step()
    assert (m.metrics["revenue_startups"], m.metrics["margin_startups"]) == (0.0, 0.0)


def test_a_non_finite_metric_raises_naming_the_metric(stepped):
    m, _ = stepped
    h = m.hyperscalers[0]
    energized, h.energized_mw = h.energized_mw, math.inf
    try:
        with pytest.raises(FloatingPointError, match=r"metric dc_capacity_mw is not finite"):
            compute_metrics(m)
    finally:
        h.energized_mw = energized


def test_user_spend_is_what_households_paid_in_a_step_where_a_startup_exits():
    m = small_market(**{"vc.hurdle_growth": 100.0})  # no ask clears the hurdle
    m.step()
    for s in m.startups:  # every startup out of cash: each exits at the end of the next month
        m.ledger.transfer(s.unique_id, "households", s.cash, "test")
    m.step()
    assert m.metrics["startup_exits"] > 0 and m.ledger.step_flows["wholesale_tokens"] > 0
    assert m.metrics["user_spend"] == pytest.approx(m.ledger.step_flows["user_spend"], rel=1e-9)


def test_serving_share_and_lab_operating_margin_follow_from_the_labs():
    """serving_share is serving GPU-h over GPU-h sold; the operating margin charges the
    labs' staff and their training spread over a model generation."""
    model = ComputeMarket(rng=5, **{"end_users.simulated_users": 300})
    model.run(6)
    labs, m = model.labs, model.metrics
    serving = sum(lab.serving_gpu_hours for lab in labs)
    sold = sum(h.sold for h in model.hyperscalers)
    assert m["serving_share"] == pytest.approx(serving / sold)
    assert 0.0 < m["serving_share"] < 1.0
    revenue = sum(lab.revenue for lab in labs)
    costs = sum(
        lab.serving_cost + sum(lab.training_spend) / len(lab.training_spend) + lab.staff_paid
        for lab in labs
    )
    assert m["lab_operating_margin"] == pytest.approx((revenue - costs) / revenue)
    assert model.ledger.step_flows["lab_staff"] == pytest.approx(sum(x.staff_paid for x in labs))
    # training is a cost the gross margin leaves out: the operating margin is lower
    assert m["lab_operating_margin"] < m["margin_model_devs"]


def test_gpus_shipped_are_installed_scrapped_or_waiting_even_in_a_release_month():
    """Stock and flow of H100e: each month's shipments are the change in the installed
    fleet, plus what was scrapped, plus the change in GPUs waiting for power. A month whose
    mix of generations changes at its end ships the parts made that month; counting them
    at the next month's performance overstated a release month's shipments by 60% (before
    the ramp, the new generation replaced the old at once)."""
    m = small_market()
    before = (m.metrics["installed_gpus"], m.metrics["gpu_inventory"])
    g = m.cfg.gpu
    established = g.next_release_month + g.generation_ramp_months // 2 + 2  # its first step
    for _ in range(established + 1):
        m.step()
        x = m.metrics
        flow = x["installed_gpus"] - before[0] + x["gpus_scrapped"] + x["gpu_inventory"] - before[1]
        assert x["gpu_shipments_h100e"] == pytest.approx(flow, rel=1e-9, abs=1e-6), m.steps
        before = (x["installed_gpus"], x["gpu_inventory"])
    assert m.vendors[0].generation == 1  # the whole ramp was checked
