"""The 2023-shortage switches of issue 11, round 8 (own-use GPU buyers, the parents' own
workloads at cost and by fleet share, loads that count spillover, who runs first when
capacity binds; docs/model.md 3.3.12, 3.3.16, 3.3.18, 3.3.19; docs/validation_history.md, H100
rental price), all switched on here. Since round 9 the baseline has every one on but the
own-use buyers (since round 10 the parents' own work runs last); each is also switched
back to its old value alone, to show it is live."""

from __future__ import annotations

import functools
import math

import pytest

from abm import ComputeMarket, load_config
from abm.invariants import violations

ON = {
    "own_use.initial_budget_per_year": 7e9,
    "hyperscalers.own_ai_transfer_price": "user_cost",
    "hyperscalers.own_ai_by_fleet_share": True,
    "hyperscalers.load_counts_spillover": True,
    "hyperscalers.own_workloads_priority": "last",
}
STEPS = 18


@pytest.fixture(scope="module")
def run_on():
    """18 months with every switch on, the invariants checked after every step, and the
    vendors' total orders recorded beside the own-use buyers' each month."""
    model = ComputeMarket(config=load_config(overrides=ON), rng=3)
    broken, orders = [], []
    for _ in range(STEPS):
        model.step()
        broken += [f"step {model.steps}: {v}" for v in violations(model)]
        orders.append((sum(v.orders_h100e for v in model.vendors), model.own_use.orders_h100e))
    return model, model.datacollector.get_model_vars_dataframe(), broken, orders


OFF = {
    "own_use.initial_budget_per_year": 0.0,
    "hyperscalers.own_ai_transfer_price": "posted",
    "hyperscalers.own_ai_by_fleet_share": False,
    "hyperscalers.load_counts_spillover": False,
    "hyperscalers.own_workloads_priority": "first",
}


def test_the_baseline_has_the_adopted_switches_on_and_no_own_use_buyers():
    cfg = load_config()
    assert cfg.own_use.initial_budget_per_year == 0
    hc = cfg.hyperscalers
    assert hc.own_ai_transfer_price == "user_cost"
    assert hc.own_ai_by_fleet_share and hc.load_counts_spillover
    assert hc.own_workloads_priority == "last"
    assert ComputeMarket(rng=1).own_use is None


def test_switched_on_the_run_keeps_its_invariants(run_on):
    _, _, broken, _ = run_on
    assert broken == []


def test_own_use_buyers_receive_gpus_and_pay_for_them(run_on):
    model, df, _, _ = run_on
    got = df["own_use_gpus_h100e"].iloc[1:]
    assert (got > 0).all()
    assert model.own_use.fleet_h100e == pytest.approx(got.sum())
    assert (df["own_use_spend"].iloc[1:] > 0).all()
    # in shipments, not in the clouds' installed base
    assert (df["gpu_shipments_h100e"].iloc[1:] >= got - 1e-6).all()


def test_gpu_orders_count_the_clouds_orders_only(run_on):
    _, df, _, orders = run_on
    clouds = [total - own for total, own in orders]
    assert df["gpu_orders_h100e"].iloc[1:].tolist() == pytest.approx(clouds)


def test_parents_pay_the_user_cost_for_their_own_workloads(run_on):
    model, _, _, _ = run_on
    for h in model.hyperscalers:
        if h.own_used > 0:
            assert h.own_revenue / h.own_used == pytest.approx(h.user_cost)


def test_own_budgets_follow_the_fleet_shares(run_on):
    model, _, _, _ = run_on
    big = [h for h in model.hyperscalers if h.kind == "hyperscaler"]
    assert len({h.own_scale for h in big}) == len(big)  # one scale per cloud's fleet share
    assert math.fsum(h.own_scale for h in big) == pytest.approx(len(big))


@pytest.mark.parametrize("key", sorted(ON))
def test_each_switch_alone_runs_and_changes_the_run(key):
    """Each switch flipped on its own from the baseline's value (the own-use buyers on,
    each adopted rule back off) keeps the invariants and moves the run away from the
    baseline's (it is not a dead switch)."""
    baseline = functools.reduce(getattr, key.split("."), load_config())
    flipped = OFF[key] if baseline == ON[key] else ON[key]
    base = ComputeMarket(rng=3)
    model = ComputeMarket(config=load_config(overrides={key: flipped}), rng=3)
    broken = []
    for _ in range(6):
        base.step()
        model.step()
        broken += [f"step {model.steps}: {v}" for v in violations(model)]
    assert broken == []
    a = base.datacollector.get_model_vars_dataframe()
    b = model.datacollector.get_model_vars_dataframe()
    assert not a["utilization"].equals(b["utilization"])


def test_own_work_last_leaves_the_labs_unrationed_and_the_parents_short():
    """In January 2023 the parents' own work at cost asks more than the big four's fleet.
    With own work last its production inference runs first and its training and
    experiments take what the labs leave: the labs get all they ask in every seed and
    the parents' work is rationed, its deferrable part only; run after the labs'
    serving, before their training, the labs' training is rationed in the seeds that
    start a run in month 1."""
    last_short, after_short = [], []
    for seed in (5, 6, 10):
        last = ComputeMarket(rng=seed)
        after = ComputeMarket(
            config=load_config(overrides={"hyperscalers.own_workloads_priority": "after_serving"}),
            rng=seed,
        )
        last.step()
        after.step()
        last_short.append(last.metrics["compute_shortage"])
        after_short.append(after.metrics["compute_shortage"])
        assert (
            0.1
            < last.metrics["own_ai_shortage"]
            <= 1 - last.cfg.hyperscalers.own_ai_production_share
        )
        for h in last.hyperscalers:
            assert h.sold + h.own_used <= h.fleet_gpu_hours * (1 + 1e-9)
            # the production part ran in full, before the labs
            assert h.own_production_used >= h.own_production * (1 - 1e-9)
    assert max(last_short) < 1e-9
    assert min(after_short) > 0.1  # 16%, 51%, 60% in round 9


@pytest.mark.parametrize("priority", ["first", "after_serving", "last"])
@pytest.mark.parametrize("passive", [False, True], ids=["priced", "passive layer"])
def test_every_priority_keeps_the_invariants(priority, passive):
    """Each order of the parents' own work, on a priced and on a passive cloud layer
    (``fixed_compute_price``: nobody is rationed, the parents' own work neither)."""
    over = {"hyperscalers.own_workloads_priority": priority}
    if passive:
        over["hyperscalers.fixed_compute_price"] = 2.0
    model = ComputeMarket(config=load_config(overrides=over), rng=4)
    broken = []
    for _ in range(12):
        model.step()
        broken += [f"step {model.steps}: {v}" for v in violations(model)]
        if passive:
            assert model.metrics["own_ai_shortage"] < 1e-12
    assert broken == []
