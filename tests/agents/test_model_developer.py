"""A lab's own decisions -- serving, training, planning compute, paying staff and raising --
on a small real market (wired to its ledger and graph)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import set_cash

from abm.agents.model_developer import (
    DISTILLED,
    FRONTIER,
    OPEN_WEIGHT,
    ModelDeveloper,
    observe_rivals,
    train_and_plan,
    training_gpu_hours,
)

from .conftest import small_market


def frontier_lab(**over):
    m = small_market(**over)
    return m, next(lab for lab in m.labs if lab.kind == FRONTIER)


# ---------------------------------------------------------------- serving efficiency
@pytest.mark.parametrize(
    ("quality_over_reference", "months", "factor"),
    [
        (0.0, 0.0, 1.0),  # the reference model today serves tokens_per_gpu_hour
        (1.0, 0.0, 10**-0.5),  # 10x the compute: ~3.2x the parameters (Chinchilla), fewer tokens
        (-1.0, 0.0, 10**0.5),
        # a model of the same quality trained a year on is sqrt(3) smaller; software x2.5
        (0.0, 12.0, 2.5 * 3**0.5),
        (0.0, 24.0, 2.5**2 * 3.0),
    ],
)
def test_tokens_per_gpu_hour_fall_with_quality_and_rise_with_time(
    quality_over_reference, months, factor
):
    _, lab = frontier_lab(
        **{
            "model_developers.serving_algo_gain_per_year": 2.5,
            "model_developers.training_algo_gain_per_year": 3.0,
        }
    )
    c = lab.cfg
    lab.quality = c.reference_quality + quality_over_reference
    assert lab.tokens_per_gpu_hour(months) == pytest.approx(c.tokens_per_gpu_hour * factor)
    assert lab.serving_cost_per_mtok(2.0, months) == pytest.approx(
        2.0 * 1e6 / (c.tokens_per_gpu_hour * factor)
    )


# ---------------------------------------------------------------- compute
@pytest.mark.parametrize(
    ("received", "serving", "training", "fill"),
    [
        (150.0, 100.0, 50.0, 1.0),  # enough: serving in full, the rest trains
        (100.0, 100.0, 0.0, 1.0),
        (60.0, 60.0, 0.0, 0.6),  # short: serving first, token orders filled pro rata
        (0.0, 0.0, 0.0, 0.0),
    ],
)
def test_compute_serves_first_then_trains_and_sets_the_fill_rate(received, serving, training, fill):
    _, lab = frontier_lab()
    lab.token_orders, lab.serving_request = 50.0, 100.0
    lab.use_compute(received, 0.0)
    assert (lab.serving_gpu_hours, lab.training_gpu_hours) == (serving, training)
    assert lab.fill == pytest.approx(fill)
    assert lab.tokens_sold == pytest.approx(50.0 * fill)
    assert lab.compute_received == received


def test_a_lab_with_nothing_to_serve_has_a_full_fill_rate():
    _, lab = frontier_lab()
    lab.token_orders = lab.serving_request = 0.0
    lab.use_compute(10.0, 0.0)
    assert (lab.fill, lab.training_gpu_hours) == (1.0, 10.0)


def test_compute_requests_are_what_orders_need_plus_a_price_elastic_training_run():
    _, lab = frontier_lab()
    lab.token_orders = 1000.0  # mtok
    lab.plan_compute(6.0, 1e8, 3.0, 2.0, 1e12)
    assert lab.serving_request == pytest.approx(1000.0 * 1e6 / lab.tokens_per_gpu_hour(6.0))
    eta = lab.cfg.training_price_elasticity
    assert lab.training_request == pytest.approx(1e8 / 2.0 * (2.0 / 3.0) ** eta)
    # never more than its cash buys
    lab.plan_compute(6.0, 1e8, 3.0, 2.0, 3e6)
    assert lab.training_request == pytest.approx(1e6)


def test_dearer_compute_shrinks_training_more_than_proportionally():
    prices = np.array([1.0, 2.0, 4.0])
    hours = training_gpu_hours(1e8, prices, 2.0, np.inf, 1.6)
    spend = hours * prices
    assert (np.diff(hours) < 0).all() and (np.diff(spend) < 0).all()


def test_open_weight_hosts_do_not_train():
    m = small_market()
    host = next(lab for lab in m.labs if lab.kind == OPEN_WEIGHT)
    host.plan_compute(0.0, 1e9, 2.0, 2.0, 1e12)
    assert host.training_request == 0.0
    quality = host.quality
    host.training_gpu_hours = 1e12
    host.train(1.0)
    assert host.quality == quality


def test_compute_paid_is_split_between_serving_and_training():
    _, lab = frontier_lab()
    lab.token_orders, lab.serving_request = 50.0, 100.0
    lab.use_compute(150.0, 0.0)
    lab.paid_for_compute(300.0)
    assert (lab.compute_unit_cost, lab.serving_cost, lab.training_cost) == (2.0, 200.0, 100.0)


# ---------------------------------------------------------------- training
def test_training_never_lowers_quality():
    _, lab = frontier_lab()
    quality = lab.quality
    for _ in range(3):
        lab.training_gpu_hours = 0.0
        lab.train(1.0)
        assert lab.quality == quality


def test_quality_follows_the_effective_compute_of_the_training_window():
    _, lab = frontier_lab()
    quality, window = lab.quality, lab.cfg.training_window_months
    per_month = lab.training_window[0]  # the run under way, which explains today's quality
    assert sum(lab.training_window) * lab.run_share == pytest.approx(10.0**quality)
    lab.training_gpu_hours = 5.0 * per_month
    lab.train(2.0)  # algorithms double its effect: this month counts ten months of the run
    assert len(lab.training_window) == window
    assert lab.quality == pytest.approx(quality + math.log10((window - 1 + 10.0) / window))


def test_open_weight_models_trail_the_frontier_by_the_gap():
    m = small_market()
    host = next(lab for lab in m.labs if lab.kind == OPEN_WEIGHT)
    host.follow_open_frontier(9.0)
    assert host.quality == pytest.approx(9.0 - host.cfg.open_weight_gap)
    host.follow_open_frontier(5.0)  # and never fall back
    assert host.quality == pytest.approx(9.0 - host.cfg.open_weight_gap)


# ---------------------------------------------------------------- funding
def test_staff_are_paid_only_out_of_cash():
    m, lab = frontier_lab()
    staff = lab.cfg.staff_cost_per_month
    set_cash(m, lab, 0.3 * staff)
    m.ledger.start_step()
    lab.pay_staff()
    assert m.ledger.step_flows["lab_staff"] == pytest.approx(0.3 * staff)
    assert lab.cash == 0.0
    assert lab.debt == 0.0  # a discretionary outlay never borrows


def test_debt_is_repaid_out_of_cash_before_the_budget_is_set():
    m, lab = frontier_lab()
    set_cash(m, lab, 40.0)
    lab.debt = 100.0
    lab.budget_training(0.0, credit=0.0)
    assert lab.debt == pytest.approx(60.0)
    assert lab.cash == pytest.approx(0.0)


# ---------------------------------------------------------------- training as investment
def test_a_lab_trains_where_its_next_model_earns_most_over_its_cost():
    """A frontier lab with one rival: the budget maximises the present value of its share
    of the market's margin less the run's cost, found here by brute force over a dense
    grid of budgets from the primitives, with the share it would keep once its rival's
    programme has moved the frontier on, half way through the new model's life."""
    m, lab = frontier_lab(**{"model_developers.frontier_count": 2})
    mc, months = lab.cfg, 0.0
    lab.expected_market, lab.expected_share = 2e9, 0.3
    lab.expected_growth = 0.02
    w, life = mc.training_window_months, mc.model_life_months
    k = 0.02 - math.log(1 + mc.discount_rate_per_year) / 12
    annuity = (math.exp(k * (w + life)) - math.exp(k * w)) / k
    gpu = m.cfg.gpu  # month 0: the price it expects is the hardware roadmap's trend
    per_month = (gpu.perf_gain_per_generation / gpu.cost_growth_per_generation) ** (
        1 / gpu.release_interval_months
    )
    p0 = m.cfg.hyperscalers.initial_compute_price
    price = p0 / per_month ** (w / 2)
    margin = 1 - lab.serving_cost_per_mtok(price, w / 2) / lab.price
    value = annuity * margin * 2e9
    beta = m.cfg.end_users.quality_sensitivity
    # the rival (quality 7.0) spends $50M a month; the model it serves half way through
    # this lab's next model's life comes from a run centred w/2 + life/2 from now
    at = w / 2 + life / 2
    rival_q = math.log10(
        mc.final_run_share
        * w
        * 50e6
        * mc.training_algo_gain_per_year ** (at / 12)
        / (p0 / per_month**at)
    )
    assert rival_q > 7.0
    lab.observe_rivals([(7.0, mc.final_run_share, 50e6)])
    odds = 0.3 / (0.7 * math.exp(beta * (rival_q - 7.0)))
    # the budget whose run only matches today's model, at mid-run algorithms
    algo = mc.training_algo_gain_per_year ** (w / 2 / 12)
    keep_up = price * 10**lab.quality / (mc.final_run_share * w * algo)
    budgets = keep_up * np.exp(np.linspace(0.0, 12.0, 200_001))
    gain = odds * (budgets / keep_up) ** (beta / math.log(10))  # logit odds of the new model
    profit = value * gain / (1 + gain) - w * budgets
    best = budgets[np.argmax(profit)]
    assert profit.max() > value * odds / (1 + odds)  # training pays here
    assert lab.training_plan(months) == pytest.approx(best, rel=1e-3)


def test_a_lab_expects_the_frontier_to_move_as_far_as_its_rivals_programmes_take_it():
    """The frontier's expected move, from the primitives: a rival's model at the horizon
    is what its programme buys then (effective compute = run share x window x budget /
    price x algorithms); the move is the best of those (or of today's models, which never
    get worse) over the best rival today. A rival without a programme stays put."""
    m, lab = frontier_lab()
    mc = lab.cfg
    w, share, at = mc.training_window_months, mc.final_run_share, 9.0
    algo = mc.training_algo_gain_per_year ** (at / 12)
    price = lab.expected_compute_price(at)

    def buys(q):  # $ a month whose run at month ``at`` makes a model of quality q
        return 10**q * price / (share * w * algo)

    lab.observe_rivals([(8.0, share, 0.0), (7.5, share, 0.0)])
    assert lab.frontier_move(at) == 0.0  # nobody trains: nothing moves
    lab.observe_rivals([(8.0, share, 0.0), (7.5, share, buys(7.9))])
    assert lab.frontier_move(at) == 0.0  # the trailing rival's run stays behind the best
    lab.observe_rivals([(8.0, share, 0.0), (7.5, share, buys(8.3))])
    assert lab.frontier_move(at) == pytest.approx(0.3, abs=1e-12)  # it overtakes
    lab.observe_rivals([(8.0, share, buys(8.6)), (7.5, share, buys(8.3))])
    assert lab.frontier_move(at) == pytest.approx(0.6, abs=1e-12)
    lab.observe_rivals([(8.0, share, buys(7.0))])
    assert lab.frontier_move(at) == 0.0  # a small programme cannot make a model worse
    lab.observe_rivals([])
    assert lab.frontier_move(at) == 0.0  # a monopolist fears no rival


def test_each_lab_sees_its_frontier_rivals_and_not_itself():
    """observe_rivals hands every frontier lab the others' (quality, run share,
    programme), all taken before anyone plans, and never its own."""
    m, _ = frontier_lab(**{"model_developers.frontier_count": 3})
    frontier = [lab for lab in m.labs if lab.is_frontier]
    for k, lab in enumerate(frontier):
        lab.training_spend.extend([(k + 1) * 1e8] * lab.training_spend.maxlen)
    observe_rivals(m.labs)
    for lab in frontier:
        others = [(r.quality, r.run_share, r.programme) for r in frontier if r is not lab]
        assert lab.rivals == others
        assert (lab.quality, lab.run_share, lab.programme) not in lab.rivals


def test_rivals_see_a_labs_spending_over_a_training_window_not_one_month():
    """A month of rationed compute (nothing spent on training) moves what rivals read of
    a lab's programme by 1/W, not to zero: a shortage that stalls every lab's runs at
    once is not read as every rival giving up."""
    m, lab = frontier_lab()
    w = lab.cfg.training_window_months
    lab.training_spend.extend([60e6] * lab.training_spend.maxlen)
    assert lab.programme == pytest.approx(60e6)
    lab.training_spend.append(0.0)
    assert lab.programme == pytest.approx(60e6 * (w - 1) / w)
    lab.training_spend.extend([30e6] * w)  # spending older than a window is forgotten
    assert lab.programme == pytest.approx(30e6)


def _profit(value, defended, gamma, window, keep_up, budget):
    """A lab's objective written out: its share of the value once its new model is
    ``budget / keep_up`` times the effective compute of today's, less the run's cost."""
    if budget < keep_up:
        return value * defended
    odds = defended / (1 - defended) * (budget / keep_up) ** gamma
    return value * odds / (1 + odds) - window * budget


def test_with_linear_odds_a_lab_plays_tullocks_best_response():
    """gamma = 1 is Tullock's lottery contest: a share B / (B + R) against rivals whose
    effort is R (here R = keep_up (1 - s) / s). The best response to R is
    B = sqrt(V R / W) - R (Tullock 1980), derived on paper, not from the lab's code."""
    from abm.agents.model_developer import best_training_budget

    value, defended, window, keep_up = 5e10, 0.2, 6.0, 1e8
    rivals = keep_up * (1 - defended) / defended
    theory = math.sqrt(value * rivals / window) - rivals
    assert theory > keep_up
    assert best_training_budget(value, defended, 1.0, window, keep_up) == pytest.approx(
        theory, rel=1e-9
    )


def test_two_symmetric_labs_best_responding_reach_tullocks_equilibrium():
    """Two identical labs with linear odds, each answering the other's last budget,
    converge to the symmetric Nash equilibrium of the lottery contest: each spends a
    quarter of the prize, B = V / (4 W) (Tullock 1980)."""
    from abm.agents.model_developer import best_training_budget

    value, window, keep_up = 5e10, 6.0, 1e6
    budget = 1e8  # the rival's opening budget
    for _ in range(60):  # the defended share is what B = keep_up would win against it
        budget = best_training_budget(value, keep_up / (keep_up + budget), 1.0, window, keep_up)
    assert budget == pytest.approx(value / (4 * window), rel=1e-6)


@pytest.mark.parametrize("defended", [0.005, 0.02, 0.1, 0.4, 0.8])
def test_the_budget_is_the_global_best_not_a_local_condition(defended):
    """gamma = 1.3 > 1: the objective is convex while the share is small, so the local
    condition gamma s (1 - s) V = W B evaluated at the defended share (the rule before
    this one) can sit near a minimum. The lab's budget beats every budget on a dense
    grid, meets the first-order condition at the share it buys, and, for a laggard,
    earns more than the local rule's budget."""
    from abm.agents.model_developer import best_training_budget, bought_share

    value, gamma, window, keep_up = 5e10, 1.3, 6.0, 2e7
    budget = best_training_budget(value, defended, gamma, window, keep_up)
    grid = keep_up * np.exp(np.linspace(-1.0, 12.0, 20_001))
    args = (value, defended, gamma, window, keep_up)
    best_on_grid = max(max(_profit(*args, b) for b in grid), _profit(*args, 0.0))
    assert _profit(*args, budget) >= best_on_grid * (1 - 1e-9)
    assert budget > 0
    s = float(bought_share(defended, gamma, budget / keep_up))
    assert gamma * s * (1 - s) * value == pytest.approx(window * budget, rel=1e-9)
    local = gamma * defended * (1 - defended) * value / window
    if defended <= 0.02:
        assert _profit(*args, budget) > 1.5 * _profit(*args, local)


@pytest.mark.parametrize(
    ("value", "defended", "keep_up"),
    [(0.0, 0.3, 1e8), (1e10, 0.0, 1e8), (1e10, 1.0, 1e8), (1e10, 0.3, 1e10)],
)
def test_a_lab_with_nothing_to_win_does_not_train(value, defended, keep_up):
    """No value, no share to win or lose, or a run that would cost more than any share
    it could buy (keep_up above gamma V / 4 W): no training."""
    from abm.agents.model_developer import best_training_budget

    assert best_training_budget(value, defended, 1.3, 6.0, keep_up) == 0.0


def test_the_first_months_budget_comes_from_the_same_rule():
    """Before the run a lab's past runs are the one it plans in January 2023."""
    m, lab = frontier_lab()
    plans = list(lab.run_plans)
    assert len(plans) == lab.cfg.training_window_months
    assert plans == [pytest.approx(lab.training_plan(0.0))] * len(plans)
    assert lab.desired_budget == pytest.approx(lab.training_plan(0.0))


def test_a_month_starts_one_run_so_the_budget_moves_a_window_at_a_time():
    """Runs last a training window (W = 6 months) and one starts each month: when the
    best scale jumps, the budget moves 1/W of the way each month and has arrived W
    months later; the old rule jumped at once."""
    m, lab = frontier_lab()
    w = lab.cfg.training_window_months
    lab.run_plans.clear()
    lab.run_plans.extend([1e8] * w)
    lab.training_plan = lambda months: 7e8  # the best scale of a new run from now on
    budgets = [lab.plan_training(float(t)) for t in range(1, w + 2)]
    assert budgets == pytest.approx([1e8 + 6e8 * min(k, w) / w for k in range(1, w + 2)])
    assert lab.desired_budget == budgets[-1]


def test_the_budget_is_what_cash_and_credit_can_finance():
    m, lab = frontier_lab()
    lab.desired_budget = 1e12
    set_cash(m, lab, 6e9)
    lab.budget_training(0.0, credit=0.0)
    w = lab.cfg.training_window_months
    afford = 6e9 / w + lab.expected_operating_profit(0.0)
    assert lab.training_budget == pytest.approx(afford)
    lab.budget_training(0.0, credit=6e9)  # a credit line lets it spend more
    assert lab.training_budget == pytest.approx(afford + 6e9 / w)


def test_a_lab_asks_for_a_round_only_when_its_planned_burn_leaves_a_short_runway():
    m, lab = frontier_lab()
    vc = m.cfg.vc
    lab.desired_budget = 1e9
    burn = 1e9 - lab.expected_operating_profit(0.0)
    set_cash(m, lab, 2.0 * burn)
    assert lab.ask_for_round(0.0) == pytest.approx(vc.lab_round_runway_months * burn - 2 * burn)
    set_cash(m, lab, (vc.lab_raise_runway_months + 1) * burn)
    assert lab.ask_for_round(0.0) == 0.0


def test_firm_row_reports_the_labs_state():
    _, lab = frontier_lab()
    row = lab.firm_row()
    assert set(row) == {"id", "layer", "name", "cash", "debt", "price", "quality", "kind"} | {
        "revenue",
        "tokens_sold",
    }
    assert (row["layer"], row["kind"], row["quality"]) == ("model_developer", FRONTIER, lab.quality)


# ---------------------------------------------------------------- issue 11: serving
def tiers_of(m, lab):
    return sorted(
        (t for t in m.labs if t.kind == DISTILLED and t.parent is lab), key=lambda t: t.rank
    )


def test_every_frontier_lab_serves_its_distilled_tiers_and_hosts_serve_none():
    m = small_market(**{"serving.distilled_tiers": 2})
    sc = m.cfg.serving
    frontier = [lab for lab in m.labs if lab.kind == FRONTIER]
    assert sum(lab.kind == DISTILLED for lab in m.labs) == 2 * len(frontier)
    for lab in frontier:
        tiers = tiers_of(m, lab)
        assert [t.rank for t in tiers] == [1, 2]
        for t in tiers:
            assert t.quality == pytest.approx(lab.quality - t.rank * sc.distilled_gap)
            assert t.active_params(0.0) == pytest.approx(
                lab.active_params(0.0) * sc.distilled_param_fraction**t.rank
            )
            assert (t.training_budget, t.cash, t.debt) == (0.0, 0.0, 0.0)
            # it can buy compute from every cloud and sell to every segment
            assert all(m.supply.g.has_edge(h.unique_id, t.unique_id) for h in m.hyperscalers)
            assert all(m.supply.g.has_edge(t.unique_id, s.unique_id) for s in m.segments)
    assert not any(
        lab.kind == DISTILLED for lab in small_market(**{"serving.distilled_tiers": 0}).labs
    )


def test_a_smaller_tier_serves_more_tokens_per_gpu_in_proportion_to_its_size():
    m, lab = frontier_lab()
    for t in tiers_of(m, lab):
        ratio = t.tokens_per_gpu_second(6.0) / lab.tokens_per_gpu_second(6.0)
        assert ratio == pytest.approx(m.cfg.serving.distilled_param_fraction**-t.rank)
        assert t.serving_cost_per_mtok(2.0, 6.0) < lab.serving_cost_per_mtok(2.0, 6.0)


def test_a_tier_follows_its_parents_latest_model_and_never_gets_worse():
    m, lab = frontier_lab()
    tier = tiers_of(m, lab)[0]
    gap = m.cfg.serving.distilled_gap
    lab.quality += 1.0
    tier.follow_open_frontier(99.0)  # the labs' month end: a tier follows its parent, not the best
    assert tier.quality == pytest.approx(lab.quality - gap)
    tier.train(1e6)  # tiers do not train
    assert tier.quality == pytest.approx(lab.quality - gap)
    # its size follows the parent's new model, a fixed fraction of it
    assert tier.active_params(12.0) == pytest.approx(
        lab.active_params(12.0) * m.cfg.serving.distilled_param_fraction
    )
    lab.quality -= 2.0
    tier.follow_parent()
    assert tier.quality == pytest.approx(lab.quality + 2.0 - gap)


def test_a_models_size_is_fixed_when_trained_and_a_new_model_is_sized_at_its_months_algorithms():
    _, lab = frontier_lab()
    size = lab.active_params(0.0)
    assert lab.active_params(60.0) == size  # a frozen model does not shrink
    lab.quality += 1.0  # a new model, ten times the effective compute, trained in month 24
    algo = lab.cfg.training_algo_gain_per_year**2
    assert lab.active_params(24.0) == pytest.approx(size * (10.0 / algo) ** 0.5)


def test_a_tier_sweeps_its_profit_to_its_parent_and_its_parent_covers_its_loss():
    m, lab = frontier_lab()
    tier = tiers_of(m, lab)[0]
    m.ledger.start_step()
    parent_cash = lab.cash
    m.ledger.transfer("households", tier.unique_id, 7e6, "user_spend")  # a month's profit
    tier.pay_staff()  # the labs' month end: a tier sweeps
    assert (tier.cash, tier.profit_swept, m.ledger.step_flows["tier_profit"]) == (0.0, 7e6, 7e6)
    assert lab.cash == pytest.approx(parent_cash + 7e6)
    # a loss: compute bought on credit beyond its revenue
    m.ledger.start_step()
    tier.start_step()
    m.ledger.transfer("lenders", tier.unique_id, 5e6, "borrowing")
    tier.borrow(5e6)
    m.ledger.transfer(tier.unique_id, "households", 8e6, "test")  # compute 8, revenue 3
    m.ledger.transfer("households", tier.unique_id, 3e6, "test")
    tier.sweep_to_parent()
    assert (tier.cash, tier.debt, tier.profit_swept) == (0.0, 0.0, -5e6)
    assert m.ledger.step_flows["tier_loss"] == 5e6
    assert lab.cash == pytest.approx(parent_cash + 7e6 - 5e6)
    assert m.ledger.error() < 1e-3


def test_a_lab_asks_investors_after_its_tiers_have_swept_their_month_to_it(monkeypatch):
    """The labs' month end settles money before anyone plans: when a frontier lab sizes
    its round, its distilled tiers have already paid it their month's profit (or drawn
    their loss from it), whatever the order of ``model.labs`` (the tiers come last)."""
    m, _ = frontier_lab()
    seen = []
    ask = ModelDeveloper.ask_for_round

    def watched(self, months):
        seen.append([t.cash for t in self.tiers])
        return ask(self, months)

    monkeypatch.setattr(ModelDeveloper, "ask_for_round", watched)
    m.run(6)
    tiers_cash = [c for month in seen for c in month]
    assert tiers_cash and max(abs(c) for c in tiers_cash) == 0.0


@pytest.mark.parametrize("tiers_first", [False, True])
def test_a_lab_pays_staff_out_of_its_tiers_month_wherever_they_stand(tiers_first):
    """Staff are paid out of cash; a lab whose own account is empty but whose tier earned
    the month pays them in full, because every tier sweeps to its parent before any lab
    pays staff -- whether the tiers stand after their parents in ``model.labs`` (as
    built) or before them (when the parent paying first found no cash)."""
    m, lab = frontier_lab()
    if tiers_first:
        m.labs.sort(key=lambda x: x.kind != "distilled")
    m.ledger.start_step()
    set_cash(m, lab, 0.0)
    tier = tiers_of(m, lab)[0]
    m.ledger.transfer("households", tier.unique_id, 2.0 * lab.staff_cost, "user_spend")
    train_and_plan(m)
    assert lab.staff_paid == pytest.approx(lab.staff_cost)
    assert tier.cash == 0.0
