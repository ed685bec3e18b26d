"""Model-level metrics: one column each, in real-world units.

The names in :data:`METRICS` are a contract: tests, notebooks, sweeps and the
visualisation rely on them. Each entry is ``name: (unit, description)``. Every
value is a finite float (or the date string), including in steps where nothing
traded: a price with no trades is the posted price, a margin with no revenue is 0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from abm.agents.model_developer import DISTILLED, expected_revenue

if TYPE_CHECKING:
    from abm.model import ComputeMarket

METRICS: dict[str, tuple[str, str]] = {
    "date": (
        "YYYY-MM",
        "month simulated by this step (row 0: initial state, the month before the start)",
    ),
    # GPUs
    "gpu_price": (
        "$ per GPU",
        "average price paid per GPU shipped (posted price when none shipped)",
    ),
    "gpu_price_per_h100e": ("$ per H100e", "average price paid per H100-equivalent of performance"),
    "vendor_revenue": ("$ per month", "GPU vendors' revenue"),
    "vendor_gross_margin": ("fraction", "GPU vendors' (revenue - cost of goods) / revenue"),
    "vendor_backlog_months": ("months", "vendors' order backlog over monthly output"),
    "gpu_orders": (
        "GPUs per month",
        "GPUs ordered by the clouds (not the own-use buyers), in parts of next month's mix",
    ),
    "gpu_shipments": ("GPUs per month", "GPUs shipped"),
    "gpu_inventory": ("H100e", "GPUs delivered but not installed (waiting for energized MW)"),
    "installed_gpus": ("H100e", "installed fleet, H100-equivalents"),
    # compute
    "compute_price": ("$ per GPU-hour", "volume-weighted price of compute sold (H100e GPU-hour)"),
    "compute_demand": ("GPU-hours per month", "compute asked for by model developers"),
    "compute_sold": ("GPU-hours per month", "compute delivered"),
    "utilization": ("fraction", "compute used (sold, plus own workloads) over compute capacity"),
    "compute_shortage": ("fraction", "unmet share of compute demand"),
    "capex": ("$ per month", "hyperscalers' spending on GPUs and buildings"),
    "dc_capacity_mw": ("MW", "energized data-centre capacity (IT load)"),
    "dc_pipeline_mw": ("MW", "data-centre capacity under way (all build stages)"),
    "dc_permitting_mw": ("MW", "projects in land approval and permitting"),
    "dc_interconnection_mw": ("MW", "projects waiting for a power hook-up"),
    "dc_construction_mw": ("MW", "projects under construction"),
    "dc_projects_started": ("projects per month", "data-centre projects started"),
    "hyperscaler_debt": ("$", "hyperscalers' outstanding debt"),
    # tokens
    "token_price": (
        "$ per million tokens",
        "volume-weighted price of model developers' token sales (direct and wholesale)",
    ),
    "retail_token_price": ("$ per million tokens", "what end users pay per token, all channels"),
    "price_at_fixed_capability": (
        "$ per million tokens",
        "cheapest model at least as capable as the best model at step 0",
    ),
    "frontier_quality": ("log10 effective H100-hours", "quality of the best model"),
    "tokens": ("million tokens per month", "tokens consumed by end users"),
    "token_demand": ("million tokens per month", "tokens end users wanted at posted prices"),
    "token_shortage": ("fraction", "unmet share of end users' token demand"),
    "user_spend": ("$ per month", "end users' spending on tokens, all channels"),
    "adoption": ("fraction", "population-weighted share of end users who have adopted"),
    # -- issue 11: demand
    "tokens_per_task_index": ("ratio", "tokens per task relative to the start (demand shift)"),
    "tasks_index": ("ratio", "tasks per user unlocked by better models, relative to the start"),
    "demand_elasticity": (
        "elasticity",
        "mean over buying users (population-weighted) of -dln(own token demand)/dln(price)",
    ),
    "satiated_share": (
        "fraction",
        "share of buying users (population-weighted) below their value floor: every task done",
    ),
    "budget_bound_share": (
        "fraction",
        "share of buying users (population-weighted) spending their whole AI budget",
    ),
    "lab_markup": ("ratio", "model developers' token price over serving cost, volume-weighted"),
    "lab_revenue": ("$ per month", "model developers' token revenue"),
    "lab_operating_margin": (
        "fraction",
        "(token revenue - serving compute - training amortised over a model's life - staff)"
        " / token revenue, model developers together",
    ),
    "serving_share": ("fraction", "compute used to serve tokens / compute sold"),
    # startups and money
    "startups_alive": ("count", "wrapper startups alive"),
    "startup_entries": ("count per month", "startups founded"),
    "startup_exits": ("count per month", "startups that left: shut down or acquired"),
    "startup_share": ("fraction", "share of end-user tokens sold through startups"),
    "vc_funding": ("$ per month", "venture capital paid into labs and startups"),
    # -- issue 11: venture
    "vc_pool": ("$", "venture capital waiting in the AI venture pool (dry powder)"),
    "vc_supply": ("$ per month", "new commitments limited partners paid into the pool"),
    "vc_labs": ("$ per month", "venture rounds raised by model developers"),
    "vc_startups": ("$ per month", "venture rounds raised by startups, seeds included"),
    # -- issue 11b: vcdeploy
    "payouts": ("$ per month", "cash above their reserve labs and startups paid to their owners"),
    "vc_expected_return": (
        "log growth per year",
        "investors' extrapolated return (revenue growth of funded firms plus net exits)",
    ),
    "training_spend": ("$ per month", "frontier labs' spending on training compute"),
    "startup_acquisitions": ("count per month", "startups bought by outside acquirers"),
    # layers
    "margin_vendor": ("fraction", "gross margin: (revenue - cost of goods) / revenue"),
    "margin_hyperscalers": (
        "fraction",
        "(revenue - power and operations - depreciation) / revenue",
    ),
    "margin_model_devs": ("fraction", "(token revenue - serving compute) / token revenue"),
    "margin_startups": ("fraction", "(revenue - token cost) / revenue"),
    "profit_vendor": ("$ per month", "gross profit"),
    "profit_hyperscalers": ("$ per month", "gross profit after depreciation"),
    "profit_model_devs": ("$ per month", "gross profit (before training and staff)"),
    "profit_startups": ("$ per month", "gross profit (before burn)"),
    "vendor_profit_share": ("fraction", "vendor's share of the chain's positive gross profit"),
    "revenue_vendor": ("$ per month", "GPU vendors' revenue (layer revenue)"),
    "revenue_hyperscalers": ("$ per month", "hyperscalers' compute revenue"),
    "revenue_model_devs": ("$ per month", "model developers' token revenue, direct and wholesale"),
    "revenue_startups": ("$ per month", "startups' revenue from end users"),
    # the dominant vendor and the frontier (calibration targets)
    "lead_vendor_revenue": (
        "$ per month",
        "revenue of the dominant vendor (first [[gpu.vendors]])",
    ),
    "lead_vendor_gross_profit": ("$ per month", "the dominant vendor's revenue less cost of goods"),
    "lead_vendor_shipments": ("GPUs per month", "parts the dominant vendor shipped"),
    "lead_vendor_shipments_established": (
        "GPUs per month",
        "of them, parts of its established generation (not of the next, while it ramps up)",
    ),
    "gpu_orders_h100e": (
        "H100e per month",
        "GPUs ordered by the clouds (not the own-use buyers), all vendors",
    ),
    "gpu_shipments_h100e": ("H100e per month", "GPUs shipped, all vendors"),
    "frontier_list_price": ("$ per million tokens", "posted price of the best model"),
    # -- issue 11: integration
    "own_ai_gpu_hours": (
        "GPU-hours per month",
        "compute the big four's parents used for their own products (ranking, search, "
        "assistants); not in compute_sold",
    ),
    "own_ai_spend": ("$ per month", "what the parents paid their clouds for it"),
    "own_ai_shortage": (
        "fraction",
        "unmet share of the compute the parents' own workloads asked of their clouds",
    ),
    # -- 2023 shortage: own-use buyers
    "own_use_gpus_h100e": (
        "H100e per month",
        "GPUs shipped to own-use buyers outside the modelled market (in gpu_shipments, "
        "not in installed_gpus)",
    ),
    "own_use_spend": ("$ per month", "what the own-use buyers paid the vendors"),
    # -- issue 11: cloud
    "user_cost": (
        "$ per GPU-hour",
        "the big four's user cost of capital of a new H100e at target utilisation "
        "(Hall-Jorgenson), weighted by fleet",
    ),
    "capex_neocloud": ("$ per month", "neoclouds' spending on GPUs and buildings"),
    "installed_neocloud": ("H100e", "neoclouds' installed fleet (included in installed_gpus)"),
    "compute_price_neocloud": ("$ per GPU-hour", "neoclouds' mean posted compute price"),
    "building_depreciation": ("$ per month", "all clouds' depreciation of data-centre buildings"),
    "gpus_scrapped": ("H100e per month", "GPUs retired by all clouds (Salter's rule)"),
    "colo_leased_mw": (
        "MW",
        "energized MW the clouds lease from the colocation market (0 unless datacenters.colocation.enabled)",
    ),
    "colo_lease_cost": ("$ per month", "rent the clouds paid for leased shells"),
    "colo_delivered_mw": (
        "MW per month",
        "shells the colocation market delivered (0 unless datacenters.colocation.enabled)",
    ),
    "colo_requested_mw": ("MW per month", "shells the clouds asked the colocation market for"),
    "colo_vacant_mw": ("MW", "delivered shells no cloud has leased"),
    "dc_projects_cancelled": ("projects per month", "projects cancelled in permitting"),
    # -- issue 11: credit
    "defaults": ("count per month", "firms that defaulted (could not pay, borrow or raise)"),
    "debt_written_off": ("$ per month", "debt lenders wrote off: their losses on defaults"),
    "debt_total": ("$", "outstanding debt of all firms"),
    "leverage_clouds": (
        "years of EBITDA",
        "hyperscalers' debt / their trailing 12-month EBITDA (0 when EBITDA is not positive)",
    ),
    # -- issue 11: serving
    "frontier_tokens_per_gpu_second": (
        "tokens/s per H100e",
        "served decode throughput of the best model this month",
    ),
    "frontier_serving_bound": (
        "tokens/s per H100e",
        "hardware bound on the best model's decode throughput (memory bandwidth and compute)",
    ),
    "frontier_active_params": ("billion parameters", "active parameters of the best model"),
    "tier_tokens_per_gpu_second": (
        "tokens/s per H100e",
        "served throughput of the best lab's smallest distilled tier (0 without tiers)",
    ),
    "max_bound_ratio": (
        "ratio",
        "largest served throughput over hardware bound across models (never above 1)",
    ),
    "fixed_capability_active_params": (
        "billion parameters",
        "active parameters of the cheapest model at least as capable as the best at step 0",
    ),
    "fixed_capability_serving_cost": (
        "$ per million tokens",
        "that model's serving cost at this month's compute price",
    ),
    "tier_token_share": ("fraction", "share of model developers' tokens sold by distilled tiers"),
    # -- issue 11b: expect
    "training_gpu_hours": ("GPU-hours per month", "training compute frontier labs received"),
    "expected_compute_price": (
        "$ per GPU-hour",
        "frontier labs' mean expected compute price for this month, when they planned it",
    ),
    # bookkeeping
    "ledger_error": ("$", "absolute conservation residual of all accounts"),
    "ledger_volume": ("$ per month", "total of all transfers this step"),
}


def _mean(values: list[float]) -> float:
    """``float(np.mean(values))`` (the same pairwise sum, divided by the count), without
    np.mean's dispatch: a few small lists every month."""
    return float(np.add.reduce(np.array(values, dtype=float))) / len(values)


def _ratio(num: float, den: float, default: float = 0.0) -> float:
    return num / den if den > 0 else default


# -- issue 11: serving
def _serving_metrics(m: ComputeMarket, labs: list, compute_price: float, lab_tokens: float):
    """Throughput against the hardware bound, and what serves the fixed capability."""
    best = max(labs, key=lambda lab: lab.quality)
    tiers = [lab for lab in labs if lab.kind == DISTILLED and lab.parent is best]
    capable = [lab for lab in labs if lab.quality >= m.quality_bar - 1e-9] or labs
    cheapest = min(capable, key=lambda lab: lab.price)
    return {
        "frontier_tokens_per_gpu_second": best.served_tokens_per_second,
        "frontier_serving_bound": best.bound_tokens_per_second,
        "frontier_active_params": best.active / 1e9,
        "tier_tokens_per_gpu_second": max((t.served_tokens_per_second for t in tiers), default=0.0),
        "max_bound_ratio": max(
            lab.served_tokens_per_second / lab.bound_tokens_per_second for lab in labs
        ),
        "fixed_capability_active_params": cheapest.active / 1e9,
        "fixed_capability_serving_cost": compute_price
        * 1e6
        / (3600.0 * cheapest.served_tokens_per_second),
        "tier_token_share": _ratio(
            sum(lab.tokens_sold for lab in labs if lab.kind == DISTILLED), lab_tokens
        ),
    }


# -- issue 11: demand
def demand_shift_metrics(segments) -> dict[str, float]:
    """The demand shifts users apply (the same in every segment) and how users sit on
    their demand curves: mean own-price elasticity, the satiated share and the share
    spending their whole budget."""
    buyers = sum(seg.buyers * seg.weight for seg in segments)
    return {
        "tokens_per_task_index": segments[0].tokens_per_task_multiplier,
        "tasks_index": segments[0].task_multiplier,
        "demand_elasticity": _ratio(sum(s.elasticity_sum * s.weight for s in segments), buyers),
        "satiated_share": _ratio(sum(s.satiated * s.weight for s in segments), buyers),
        "budget_bound_share": _ratio(sum(s.budget_bound * s.weight for s in segments), buyers),
    }


def _expected_token_price(m: ComputeMarket) -> float:
    """Before anything has traded (row 0): the price users would pay on average at the
    posted prices, weighting each lab by what its market research says it will sell
    (so the first month's volume-weighted price does not jump from a plain mean)."""
    revenue = expected_revenue(m)
    price = np.array([lab.price for lab in m.labs])
    return _ratio(float(revenue.sum()), float((revenue / price).sum()), float(price.mean()))


def compute_metrics(m: ComputeMarket) -> dict[str, float | str]:
    vendors, clouds, labs, startups, segments = (
        m.vendors,
        m.hyperscalers,
        m.labs,
        m.startups,
        m.segments,
    )
    # this month's sales include those of startups that closed at its end
    traded = [*startups, *m.exited]
    # their totals in one pass: each the running sum sum() would take (from 0, in order)
    startup_rev = startup_cost = startup_tokens = startup_profit = 0
    for s in traded:
        startup_rev += s.revenue
        startup_cost += s.token_cost
        startup_tokens += s.tokens_sold
        startup_profit += s.revenue - s.token_cost
    out: dict[str, float | str] = {"date": m.date}

    # GPUs
    units = sum(v.shipped_units for v in vendors)
    h100e = sum(v.shipped_h100e for v in vendors)
    v_rev = sum(v.revenue for v in vendors)
    v_cogs = sum(v.cogs for v in vendors)
    posted = _mean([v.price for v in vendors])
    out["gpu_price"] = _ratio(v_rev, units, posted)
    out["gpu_price_per_h100e"] = _ratio(v_rev, h100e, _mean([v.price_per_h100e for v in vendors]))
    out["vendor_revenue"] = v_rev
    posted_margin = _mean([1 - v.unit_cost / v.price for v in vendors])
    out["vendor_gross_margin"] = _ratio(v_rev - v_cogs, v_rev, posted_margin)
    out["vendor_backlog_months"] = _ratio(
        sum(v.backlog_h100e for v in vendors), sum(v.capacity_h100e for v in vendors)
    )
    perf_now = _mean([v.perf for v in vendors])
    # the clouds' orders: the own-use buyers' are theirs (own_use_gpus_h100e ships them)
    own_orders = m.own_use.orders_h100e if m.own_use is not None else 0.0
    clouds_orders = sum(v.orders_h100e for v in vendors) - own_orders
    out["gpu_orders"] = clouds_orders / perf_now
    out["gpu_shipments"] = units
    out["gpu_inventory"] = sum(h.inventory_h100e for h in clouds)
    out["installed_gpus"] = sum(h.installed_h100e for h in clouds)
    own_use = m.own_use
    out["own_use_gpus_h100e"] = own_use.received_h100e if own_use is not None else 0.0
    out["own_use_spend"] = own_use.spend if own_use is not None else 0.0

    # compute
    c_rev = sum(h.revenue for h in clouds)
    sold = sum(h.sold for h in clouds)
    demand = sum(h.demand for h in clouds)
    # capacity when compute was sold (GPUs installed, scrapped or sold off later in the
    # month are counted as the clearing saw them)
    capacity = sum(h.fleet_gpu_hours for h in clouds)
    own = sum(h.own_used for h in clouds)  # GPU-h of the big four's own workloads
    own_rev = sum(h.own_revenue for h in clouds)
    out["compute_price"] = _ratio(c_rev - own_rev, sold, _mean([h.price for h in clouds]))
    out["compute_demand"] = demand
    out["compute_sold"] = sold
    out["utilization"] = _ratio(sold + own, capacity)
    out["own_ai_gpu_hours"] = own
    out["own_ai_spend"] = own_rev
    out["compute_shortage"] = max(0.0, _ratio(demand - sold, demand))
    own_demand = sum(h.own_demand for h in clouds)
    out["own_ai_shortage"] = max(0.0, _ratio(own_demand - own, own_demand))
    # the big four only: the calibration target is big-4 capex (neoclouds separately below)
    out["capex"] = sum(h.gpu_capex + h.building_capex for h in clouds if h.kind == "hyperscaler")
    out["dc_capacity_mw"] = sum(h.energized_mw for h in clouds)
    out["dc_pipeline_mw"] = sum(h.pipeline_mw for h in clouds)
    stages = [h.stage_counts() for h in clouds]
    for name, key in (
        ("dc_permitting_mw", "land_and_permitting"),
        ("dc_interconnection_mw", "power_interconnection"),
        ("dc_construction_mw", "construction"),
    ):
        out[name] = sum(s[key] for s in stages)
    out["dc_projects_started"] = float(sum(h.projects_started for h in clouds))
    out["hyperscaler_debt"] = sum(h.debt for h in clouds)

    # tokens
    lab_rev = sum(lab.revenue for lab in labs)
    lab_tokens = sum(lab.tokens_sold for lab in labs)
    posted_lab = _expected_token_price(m) if m.steps == 0 else _mean([lab.price for lab in labs])
    out["token_price"] = _ratio(lab_rev, lab_tokens, posted_lab)
    tokens = sum(seg.tokens_bought() for seg in segments)
    wanted = sum(float(seg.demand.sum() * seg.weight) for seg in segments)
    spend = lab_rev - startup_cost + startup_rev
    out["tokens"] = tokens
    out["token_demand"] = wanted
    out["token_shortage"] = max(0.0, _ratio(wanted - tokens, wanted))
    out["user_spend"] = spend
    out["retail_token_price"] = _ratio(spend, tokens, posted_lab)
    capable = [lab.price for lab in labs if lab.quality >= m.quality_bar - 1e-9]
    out["price_at_fixed_capability"] = min(capable) if capable else posted_lab
    out["frontier_quality"] = max(lab.quality for lab in labs)
    pop = sum(seg.cfg.population for seg in segments)
    out["adoption"] = sum(seg.population_adopted for seg in segments) / pop
    out.update(demand_shift_metrics(segments))
    serving = sum(lab.serving_cost for lab in labs)
    out["lab_markup"] = _ratio(lab_rev, serving, 0.0)
    operating = lab_rev - serving - sum(lab.amortised_training + lab.staff_paid for lab in labs)
    out["lab_operating_margin"] = _ratio(operating, lab_rev)
    out["serving_share"] = _ratio(sum(lab.serving_gpu_hours for lab in labs), sold)
    out["lab_revenue"] = lab_rev

    # startups and money
    flows = m.ledger.step_flows if m.steps > 0 else {}  # row 0: no month has run
    out["startups_alive"] = float(len(startups))
    out["startup_entries"] = float(m.counters["entries"])
    out["startup_exits"] = float(m.counters["exits"])
    out["startup_share"] = _ratio(startup_tokens, tokens)
    vc_labs = flows.get("vc_labs", 0.0)
    vc_startups = flows.get("vc_startups", 0.0)
    out["vc_funding"] = vc_labs + vc_startups

    # -- issue 11: venture
    out["vc_pool"] = m.venture.balance
    out["vc_supply"] = m.venture.supply
    out["vc_labs"] = vc_labs
    out["vc_startups"] = vc_startups
    out["vc_expected_return"] = m.venture.expected_return
    # -- issue 11b: vcdeploy
    out["payouts"] = flows.get("payout", 0.0)
    out["training_spend"] = sum(lab.training_cost for lab in labs)
    out["startup_acquisitions"] = float(m.counters.get("acquisitions", 0))

    # layers
    profit = {
        "vendor": v_rev - v_cogs,
        "hyperscalers": c_rev - sum(h.energy_cost + h.depreciation + h.lease_cost for h in clouds),
        "model_devs": lab_rev - serving,
        "startups": startup_profit,
    }
    revenue = {
        "vendor": v_rev,
        "hyperscalers": c_rev,
        "model_devs": lab_rev,
        "startups": startup_rev,
    }
    for layer, p in profit.items():
        out[f"profit_{layer}"] = p
        out[f"margin_{layer}"] = _ratio(p, revenue[layer])
    for layer, r in revenue.items():
        out[f"revenue_{layer}"] = r
    positive = sum(max(p, 0.0) for p in profit.values())
    out["vendor_profit_share"] = _ratio(max(profit["vendor"], 0.0), positive)

    # the first [[gpu.vendors]] of the config, wherever it stands in the list
    lead = next(v for v in vendors if v.cfg is m.cfg.gpu.vendors[0])
    out["lead_vendor_revenue"] = lead.revenue
    out["lead_vendor_gross_profit"] = lead.revenue - lead.cogs
    out["lead_vendor_shipments"] = lead.shipped_units
    out["lead_vendor_shipments_established"] = lead.shipped_established_units
    out["gpu_orders_h100e"] = clouds_orders
    out["gpu_shipments_h100e"] = h100e
    out["frontier_list_price"] = max(labs, key=lambda lab: lab.quality).price

    # -- issue 11: cloud
    big = [h for h in clouds if h.kind == "hyperscaler"]
    neo = [h for h in clouds if h.kind == "neocloud"]
    fleet = np.array([h.installed_h100e for h in big])
    uc = np.array([h.user_cost for h in big])
    out["user_cost"] = _ratio(
        float(fleet @ uc), float(fleet.sum()), float(uc.mean()) if big else 0.0
    )
    out["capex_neocloud"] = sum(h.gpu_capex + h.building_capex for h in neo)
    out["installed_neocloud"] = sum(h.installed_h100e for h in neo)
    out["compute_price_neocloud"] = _mean([h.price for h in neo]) if neo else 0.0
    out["building_depreciation"] = sum(h.building_depreciation for h in clouds)
    out["colo_leased_mw"] = sum(float(h.l_mw.sum()) for h in clouds)
    out["colo_lease_cost"] = sum(h.lease_cost for h in clouds)
    colo = m.colocation
    out["colo_delivered_mw"] = colo.delivered_mw if colo is not None else 0.0
    out["colo_requested_mw"] = colo.requested_mw if colo is not None else 0.0
    out["colo_vacant_mw"] = colo.vacant_mw if colo is not None else 0.0
    out["gpus_scrapped"] = sum(h.scrapped_h100e for h in clouds)
    out["dc_projects_cancelled"] = float(sum(h.projects_cancelled for h in clouds))
    # -- issue 11: credit
    out["defaults"] = float(m.counters.get("defaults", 0))
    out["debt_written_off"] = flows.get("write_off", 0.0)
    firms = (*vendors, *clouds, *labs, *startups)
    out["debt_total"] = sum(f.debt for f in firms)
    out["leverage_clouds"] = _ratio(
        sum(h.debt for h in clouds), sum(h.trailing_ebitda for h in clouds)
    )
    out.update(_serving_metrics(m, labs, float(out["compute_price"]), lab_tokens))
    # -- issue 11b: expect
    frontier = [lab for lab in labs if lab.is_frontier]
    out["training_gpu_hours"] = sum(lab.training_gpu_hours for lab in frontier)
    out["expected_compute_price"] = (
        _mean([lab.planned_compute_price for lab in frontier]) if frontier else 0.0
    )

    out["ledger_error"] = m.ledger.error()
    out["ledger_volume"] = m.ledger.step_volume
    for k, v in out.items():
        if k != "date" and not math.isfinite(v):
            raise FloatingPointError(f"metric {k} is not finite at step {m.steps}: {v}")
    return out
