"""Hyperscalers: build data centres in stages, install GPUs into energized MW, rent compute."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from abm.agents.firm import Firm
from abm.agents.model_developer import cloud_shares, training_gpu_hours
from abm.config import DataCentreConfig, HyperscalerConfig, NeocloudConfig, RegionConfig
from abm.market.credit import FleetLot, assets_value, new_gpu_price
from abm.market.demand import softmax
from abm.market.pricing import best_response
from abm.market.rationing import allocate_with_spillover, spillover_sales
from abm.market.settlement import pay, repay_debt

PERMITTING, INTERCONNECTION, CONSTRUCTION = 0, 1, 2
STAGES = ("land_and_permitting", "power_interconnection", "construction")


# the types of a number (isinstance with a tuple made once: a union such as
# ``float | int | np.generic``, written in the call, is built and checked at each call)
_NUMBER = (float, int, np.generic)


def _grow(a: np.ndarray, values) -> np.ndarray:
    """``a`` with ``values`` (a number or an array) appended, in ``a``'s dtype."""
    one = isinstance(values, _NUMBER)  # a number: no array made of it
    if not one:
        values = np.asarray(values, dtype=a.dtype)
        one = values.ndim == 0
    if one:  # one cohort: the common case, twice as fast as concatenate
        out = np.empty(a.size + 1, dtype=a.dtype)
        out[:-1] = a
        out[-1] = values  # (cast to a's dtype as np.asarray would)
        return out
    return np.concatenate((a, values.reshape(-1)))


HOURS_PER_YEAR = 8760.0
# a guard, not a calibration: GPUs wanted below this share of the fleet are rounding residue
RESIDUE = 1e-9


def user_cost(
    installed_price, capital_charge: float, utilization: float, running_cost: float
) -> np.ndarray | float:
    """Hall-Jorgenson (1967) user cost of capital of one H100e, $ per GPU-hour sold.

    ``installed_price`` ($ per H100e: the GPU plus its share of a building, a number or
    candidate prices) times the yearly capital charge ``r + delta + omega`` (cost of
    capital, physical wear, obsolescence), spread over the hours it is rented at the
    target ``utilization``, plus the running cost (power and operations) of an hour::

        UC = p_installed (r + delta + omega) / (8760 u*) + power + opex
    """
    return installed_price * capital_charge / (HOURS_PER_YEAR * utilization) + running_cost


def colocation_on(dc):
    """The colocation market's parameters if it is enabled, else None (no market)."""
    colo = dc.colocation
    return colo if colo is not None and colo.enabled else None


def rent_months(months, charge_per_year: float):
    """What a stream of today's quasi-rent lasting ``months`` is worth, in months of
    it: the rent falls and is discounted at the capital charge ``k = r + delta +
    omega`` (per year; cost of capital, wear and obsolescence), ``(1 - e^(-k m)) / k``
    with k per month (``m`` itself if k is 0). Salter's rule weighs a vintage's rent
    over the life it has left against a new GPU's over the months it would otherwise
    wait for power."""
    m = np.asarray(months, dtype=float)
    k = charge_per_year / 12.0
    return m if k <= 0 else -np.expm1(-k * m) / k


def logistic_budget(
    start: float, top: float, growth_per_year: float, months: float, scale: float = 1.0
) -> float:
    """$ per month of a yearly budget on a logistic path: ``start`` a year at month 0,
    growing at first ``growth_per_year`` (x per year), levelling off at ``top`` a year
    (0 if either is 0), times ``scale``. The parents' own AI budgets (3.3.16) and the
    own-use buyers' follow it."""
    if start <= 0 or top <= 0:
        return 0.0
    g = math.log(growth_per_year) * months / 12.0
    return scale * top / (1.0 + (top / start - 1.0) * math.exp(-g)) / 12.0


def obsolescence_per_year(gpu) -> float:
    """omega: the yearly fall of the price of a unit of compute that the vendors'
    public roadmap implies (price per part grows ``cost_growth_per_generation``,
    performance ``perf_gain_per_generation``, one generation every
    ``release_interval_months``)."""
    per_generation = gpu.cost_growth_per_generation / gpu.perf_gain_per_generation
    return 1.0 - per_generation ** (12.0 / gpu.release_interval_months)


class _FleetSums:
    """A cloud's installed fleet summed: H100e (``units @ perf``), kW drawn (``units @
    kw``) and each vintage's kW per H100e (``kw / perf``), of the arrays it holds."""

    __slots__ = ("units", "perf", "kw", "h100e", "kw_total", "kw_per_h100e")

    def __init__(self, units: np.ndarray, perf: np.ndarray, kw: np.ndarray) -> None:
        self.units, self.perf, self.kw = units, perf, kw
        self.h100e = float(units @ perf)
        self.kw_total = float(units @ kw)
        self.kw_per_h100e = kw / perf


class Hyperscaler(Firm):
    """A cloud. Compute is counted in H100-equivalent GPU-hours (GPU-h) and
    power in MW of IT load; its fleet is held by vintage (one cohort per
    delivery month), its data centres as projects moving through stages.

    ``kind`` is ``"hyperscaler"`` (the big four) or ``"neocloud"`` (the competitive
    fringe of GPU clouds: it adds capacity only while the price beats its user cost
    by ``entry.hurdle``, at most ``entry.max_fleet_growth_per_month``)."""

    layer = "hyperscaler"

    def __init__(
        self,
        model,
        cfg: HyperscalerConfig,
        dc: DataCentreConfig,
        region: str,
        installed_h100e: float,
        legacy_perf: float,
        legacy_kw: float,
        new_perf: float,
        new_kw: float,
        legacy_unit_value: float,
        entry: NeocloudConfig | None = None,
    ) -> None:
        super().__init__(model)
        self.cfg, self.dc = cfg, dc
        # r + delta + omega (see capital_charge): the config's, fixed for the run
        self._capital_charge = (
            cfg.cost_of_capital + cfg.physical_wear_per_year + obsolescence_per_year(model.cfg.gpu)
        )
        self.kind = "hyperscaler" if entry is None else "neocloud"
        self.entry = entry
        self.region_name = region
        self.region: RegionConfig = dc.regions[region]
        self.name = f"{'cloud' if entry is None else 'neocloud'}-{self.unique_id}-{region}"
        self.price = cfg.fixed_compute_price or cfg.initial_compute_price  # $ per GPU-h
        rng = model.stream("setup")
        # fleet: 80% of the installed H100e from legacy parts bought over the past
        # three years, the rest from first-generation parts over the past six months
        legacy = 0.8 * installed_h100e / legacy_perf / 36.0
        recent = 0.2 * installed_h100e / new_perf / 6.0
        life = cfg.depreciation_months
        self.units = np.array([legacy] * 36 + [recent] * 6)
        self.perf = np.array([legacy_perf] * 36 + [new_perf] * 6)
        self.kw = np.array([legacy_kw] * 36 + [new_kw] * 6)
        self.vintage = np.array(list(range(-36, 0)) + list(range(-6, 0)), dtype=float)
        unit_value = np.array([legacy_unit_value] * 36 + [legacy_unit_value * 2.5] * 6)
        self.depreciation_per_month = self.units * unit_value / life
        # GPUs delivered but not yet installed (waiting for energized MW); they age
        # and depreciate from delivery (inv_vintage: the month of delivery)
        self._fleet_cache: _FleetSums | None = None  # see _fleet()
        self.inv_units = np.zeros(0)
        self.inv_perf = np.zeros(0)
        self.inv_kw = np.zeros(0)
        self.inv_value = np.zeros(0)
        self.inv_vintage = np.zeros(0)
        self.energized_mw = self.used_mw * (1.0 + cfg.initial_power_headroom)
        # mean months of each stage, and of the stages after it (fixed by its region)
        self._stage_means = np.array([self._stage_mean(s) for s in range(3)])
        self._months_after_stage = self.dc.lead_time_multiplier * np.array(
            [sum(self._stage_mean(s) for s in range(k + 1, 3)) for k in range(3)]
        )
        # leased colocation shells (round 8 prototype, off by default): the lease region's stage
        # means, the MW energised in leased shells (one entry per month they came in),
        # the month's request to the market and the rent paid
        self.colo = colocation_on(dc)
        lease_region = self.region if self.colo is None else dc.regions[self.colo.region]
        self._lease_cv = lease_region.duration_cv
        self._lease_means = np.array(
            [
                lease_region.permitting_months,
                lease_region.interconnection_months,
                lease_region.construction_months,
            ]
        )
        self._months_after_lease_stage = self.dc.lead_time_multiplier * np.array(
            [self._lease_means[k + 1 :].sum() for k in range(3)]
        )
        self.l_mw = np.zeros(0)
        self.lease_request = self.own_gap = self.lease_cost = 0.0
        self.parent_available = 0.0  # $ of its parent's cash flow free for AI, not yet drawn
        self.own_scale = 1.0  # its parent's own AI budget over the per-cloud mean
        self.unmet = 0.0  # GPU-h: its share of the labs' demand no cloud could serve
        self.own_demand = self.own_used = self.own_revenue = 0.0  # its parent's own workloads
        self.own_production_used = 0.0
        # buildings in service: book depreciation per month and the month each was
        # energized (the January 2023 halls are booked as new)
        self.b_depreciation = np.array([self._project_cost(self.energized_mw) / self.b_life])
        self.b_vintage = np.zeros(1)
        # projects already under way in January 2023, at random points of their build;
        # a hall part-built is part-paid (progress payments, time to build)
        self.p_mw = np.zeros(0)
        self.p_leased = np.zeros(0, dtype=bool)
        self.p_stage = np.zeros(0, dtype=np.int64)
        self.p_left = np.zeros(0)  # months left in the current stage
        self.p_cost = np.zeros(0)  # $ of construction still to pay
        n_initial = int(round(cfg.initial_pipeline_mw / cfg.count / dc.project_size_mw))
        for _ in range(n_initial):
            stage = int(rng.integers(0, 3))
            self._add_projects(stage, dc.project_size_mw)
            done = rng.random()  # the share of its current stage still to go
            self.p_left[-1] *= done
            if stage == CONSTRUCTION:  # the part already built was paid before 2023
                self.p_cost[-1] *= done
        # what it observes of the newest GPUs (set each month when it orders)
        self.new_gpu_price = legacy_unit_value * 2.5 / new_perf  # $ per H100e
        self.new_kw_per_h100e = new_kw / new_perf
        self.delivery_lead_months = 1.0
        self.user_cost = self.user_cost_at(self.new_gpu_price)
        # planning state
        self.forecast = self.gpu_hours * cfg.target_utilization
        self.trend = cfg.initial_demand_growth  # per month
        # this step
        self.demand = 0.0  # GPU-h asked of it
        self.capacity_gpu_hours = self.fleet_gpu_hours = self.gpu_hours
        self.sold = 0.0  # GPU-h delivered
        self.revenue = 0.0
        self.energy_cost = 0.0
        self.gpu_depreciation = float(self.depreciation_per_month.sum())
        self.building_depreciation = float(self.b_depreciation.sum())
        self.depreciation = self.gpu_depreciation + self.building_depreciation
        self.gpu_capex = 0.0
        self.building_capex = 0.0
        self.orders_h100e = 0.0
        self.projects_started = 0
        self.projects_completed = 0
        self.projects_cancelled = 0
        self.scrapped_h100e = 0.0

    # ---------------------------------------------------------------- state
    def _fleet(self) -> _FleetSums:
        """Sums over the installed fleet, read many times a month. Cached: they hold while
        ``units``, ``perf`` and ``kw`` are the same array objects, because the fleet
        arrays are only ever replaced (install, retire, fleet sales), never written in
        place."""
        cache = self._fleet_cache
        if (
            cache is None
            or cache.units is not self.units
            or cache.perf is not self.perf
            or cache.kw is not self.kw
        ):
            cache = self._fleet_cache = _FleetSums(self.units, self.perf, self.kw)
        return cache

    @property
    def installed_h100e(self) -> float:
        """H100e installed."""
        return self._fleet().h100e

    @property
    def gpu_hours(self) -> float:
        """Capacity this month, GPU-h."""
        return self.installed_h100e * self.model.cfg.simulation.hours_per_month

    @property
    def used_mw(self) -> float:
        return self._fleet().kw_total / 1000.0

    @property
    def inventory_h100e(self) -> float:
        return float(self.inv_units @ self.inv_perf)

    @property
    def inventory_mw(self) -> float:
        return float(self.inv_units @ self.inv_kw) / 1000.0

    @property
    def pipeline_mw(self) -> float:
        return float(self.p_mw.sum())

    @property
    def kw_per_h100e(self) -> float:
        fleet = self._fleet()
        return fleet.kw_total / fleet.h100e if fleet.h100e > 0 else 1.0

    @property
    def marginal_cost(self) -> float:
        """$ per GPU-h of running an installed GPU: power plus operations."""
        return self.running_cost(self.kw_per_h100e)

    def running_cost(self, kw_per_h100e):
        """$ per GPU-h of running a GPU that draws ``kw_per_h100e`` kW per H100e."""
        return kw_per_h100e * self.cfg.energy_price_per_kwh + self.cfg.opex_per_gpu_hour

    @property
    def b_life(self) -> float:
        return float(self.cfg.building_life_months)

    @property
    def capital_charge(self) -> float:
        """r + delta + omega, per year: cost of capital, wear and obsolescence (of the
        frozen config: worked out once, when the cloud is set up)."""
        return self._capital_charge

    def user_cost_at(self, gpu_price_per_h100e):
        """User cost ($ per GPU-h) of a new GPU at ``gpu_price_per_h100e`` (a number or
        candidates) with its share of a new building, at the target utilisation."""
        building = self._project_cost(self.new_kw_per_h100e / 1000.0)
        return user_cost(
            np.asarray(gpu_price_per_h100e, dtype=float) + building,
            self.capital_charge,
            self.cfg.target_utilization,
            self.running_cost(self.new_kw_per_h100e),
        )

    def _project_cost(self, mw: float) -> float:
        """$ to build ``mw`` of IT load in its region, labour premium included."""
        r = self.region
        return (
            mw * self.dc.cost_per_mw * r.cost_multiplier * (1.0 + r.labour_share * r.labour_premium)
        )

    def _draw_duration(self, mean: float, n: int | None = None, cv: float | None = None):
        """Gamma-distributed stage durations (months) with the region's mean and CV
        (``cv``: another region's, for a leased shell)."""
        mean = mean * self.dc.lead_time_multiplier
        cv = self.region.duration_cv if cv is None else cv
        size = 1 if n is None else n
        if mean <= 0:
            out = np.zeros(size)
        elif cv <= 0:
            out = np.full(size, mean)
        else:
            shape = 1.0 / cv**2
            out = self.model.stream("projects").gamma(shape, mean / shape, size)
        return float(out[0]) if n is None else out

    def _draw_durations(self, means: np.ndarray, cv: float | None = None) -> np.ndarray:
        """:meth:`_draw_duration` for several projects at once (an array of means):
        element ``k`` is the ``k``-th draw, as if drawn one project at a time (a Gamma
        draw is a standard Gamma of the shape times the scale, element by element, which
        is how they are drawn here: ``gamma`` with an array of scales broadcasts its
        arguments, and that costs several times the draws); projects with no mean draw
        nothing."""
        means = means * self.dc.lead_time_multiplier
        cv = self.region.duration_cv if cv is None else cv
        if cv <= 0:
            return np.where(means > 0, means, 0.0)
        out = np.zeros(means.size)
        drawn = means > 0
        if drawn.any():
            shape = 1.0 / cv**2
            scale = means[drawn] / shape
            out[drawn] = scale * self.model.stream("projects").standard_gamma(shape, scale.size)
        return out

    def _stage_mean(self, stage: int) -> float:
        r = self.region
        return (r.permitting_months, r.interconnection_months, r.construction_months)[stage]

    def months_to_power(self) -> np.ndarray:
        """Expected months until each project is energized: what is left of its stage
        plus the region's mean duration of the stages after it (a leased shell's: the
        lease region's)."""
        after = self._months_after_stage[self.p_stage]
        if self.colo is not None and self.p_leased.any():
            after = np.where(self.p_leased, self._months_after_lease_stage[self.p_stage], after)
        return self.p_left + after

    def _add_projects(self, stage: int, mw: float, n: int = 1, leased: bool = False) -> None:
        """``n`` projects of ``mw`` MW entering ``stage``; ``leased``: shells leased from
        the colocation market (the lease region's durations, nothing to build or pay
        for but the rent once energised)."""
        self.p_mw = _grow(self.p_mw, np.full(n, mw))
        self.p_leased = _grow(self.p_leased, np.full(n, leased))
        self.p_stage = _grow(self.p_stage, np.full(n, stage))
        if leased:
            left = self._draw_duration(self._lease_means[stage], n, self._lease_cv)
        else:
            left = self._draw_duration(self._stage_mean(stage), n)
        self.p_left = _grow(self.p_left, left)
        self.p_cost = _grow(self.p_cost, np.full(n, 0.0 if leased else self._project_cost(mw)))

    def start_step(self) -> None:
        self.demand = self.sold = self.revenue = self.energy_cost = 0.0
        self.own_demand = self.own_used = 0.0  # GPU-h of its parent's own workloads
        self.own_production_used = 0.0  # of own_used, the part that ran before the labs
        self.own_revenue = 0.0  # $ its parent paid for them
        self.capacity_gpu_hours = self.fleet_gpu_hours = self.gpu_hours  # when compute is sold
        self.gpu_capex = self.building_capex = self.orders_h100e = 0.0
        self.projects_started = self.projects_completed = self.projects_cancelled = 0
        self.scrapped_h100e = 0.0

    # ---------------------------------------------------------------- step 2: plan
    def update_forecast(self, observed_demand: float) -> None:
        """Holt's exponential smoothing of the compute asked of it (GPU-h per month)."""
        c = self.cfg
        previous = self.forecast
        self.forecast = c.forecast_smoothing * observed_demand + (1 - c.forecast_smoothing) * (
            previous * (1.0 + self.trend)
        )
        growth = self.forecast / previous - 1.0 if previous > 0 else 0.0
        self.trend = c.trend_smoothing * growth + (1 - c.trend_smoothing) * self.trend

    def observe_new_gpus(
        self, gpu_price_per_h100e: float, kw_per_h100e: float, lead_months: float
    ) -> None:
        """What it sees of the newest GPUs as it orders them: the price per H100e and
        power per H100e of its vendor mix, and how long until an order ships."""
        self.new_gpu_price = gpu_price_per_h100e
        self.new_kw_per_h100e = kw_per_h100e
        self.delivery_lead_months = max(lead_months, 1.0)
        self.user_cost = float(self.user_cost_at(gpu_price_per_h100e))

    def appetite(self, gpu_price_per_h100e):
        """The fleet aimed for, as a multiple of what the demand forecast needs at the
        target utilisation, from the comparison of its price with the user cost.

        A hyperscaler invests on Tobin's q of a new GPU, ``q = (p - c) / (UC - c)``
        (its quasi-rent per hour over the capital charge per hour; c = running
        cost): ``q ** investment_q_elasticity``, at most ``1 + max_overbuild``, so at
        ``p = UC`` it builds for its forecast and below it less. A neocloud enters
        only while ``p > UC (1 + hurdle)``, then aims ``1 + max_overbuild`` high."""
        c = self.cfg
        uc = self.user_cost_at(gpu_price_per_h100e)
        if self.entry is not None:
            return np.where(self.price > uc * (1.0 + self.entry.hurdle), 1.0 + c.max_overbuild, 0.0)
        running = self.running_cost(self.new_kw_per_h100e)
        q = np.maximum(self.price - running, 0.0) / np.maximum(uc - running, 1e-12)
        return np.minimum(1.0 + c.max_overbuild, q**c.investment_q_elasticity)

    def fleet_aimed_for(self, months_ahead: float, gpu_price_per_h100e) -> np.ndarray:
        """H100e that serve the demand forecast ``months_ahead`` at the target
        utilisation, times the appetite; a neocloud's growth is capped."""
        c, hours = self.cfg, self.model.cfg.simulation.hours_per_month
        horizon_demand = self.forecast * (1.0 + max(self.trend, -0.5)) ** months_ahead
        aim = horizon_demand / (c.target_utilization * hours) * self.appetite(gpu_price_per_h100e)
        if self.entry is not None:
            fleet = self.installed_h100e + self.inventory_h100e
            aim = np.minimum(
                aim, fleet * (1.0 + self.entry.max_fleet_growth_per_month) ** months_ahead
            )
        return aim

    def power_at_arrival_mw(self) -> float:
        """MW it expects energized when an order placed now arrives: energized MW plus
        the projects expected to be powered within the delivery lead time."""
        soon = self.p_mw[self.months_to_power() <= self.delivery_lead_months].sum()
        return self.energized_mw + float(soon)

    def gpus_wanted(
        self, on_order_h100e: float, gpu_price_per_h100e, aim=None
    ) -> np.ndarray | float:
        """Orders in H100e (a number, or one per candidate GPU price).

        The fleet aimed for a planning horizon ahead (:meth:`fleet_aimed_for`) less
        what is installed, waiting and on order, but no more than fits the power
        expected when the order arrives (:meth:`power_at_arrival_mw`), so GPUs do not
        pile up waiting for power. Where power binds, vintages that Salter's rule
        would replace count neither in the fleet nor against the power: the cloud
        orders their replacements. ``aim``: that fleet at this price, if the caller
        has it already."""
        price = np.asarray(gpu_price_per_h100e, dtype=float)
        if aim is None:
            aim = self.fleet_aimed_for(self.cfg.planning_horizon_months, price)
        kw_new = self.new_kw_per_h100e
        waiting = self.inventory_h100e + on_order_h100e
        pending_mw = self.inventory_mw + on_order_h100e * kw_new / 1000.0
        free_mw = self.power_at_arrival_mw() - pending_mw
        wanted = np.maximum(aim - self.installed_h100e - waiting, 0.0)  # (np.clip's overhead)
        fits = max(free_mw - self.used_mw, 0.0) * 1000.0 / kw_new
        binds = wanted > fits
        if binds.any():
            keep = ~self.replaceable()
            kept, kept_mw = self.units[keep] @ self.perf[keep], self.units[keep] @ self.kw[keep]
            fits_replacing = max(free_mw - kept_mw / 1000.0, 0.0) * 1000.0 / kw_new
            replacing = np.minimum(np.maximum(aim - kept - waiting, 0.0), fits_replacing)
            wanted = np.where(binds, np.maximum(replacing, fits), wanted)
        else:
            wanted = np.minimum(wanted, fits)
        # a want within a billionth of the fleet is the rounding residue of a fleet at
        # its aim less itself (its size and sign follow the order sums were taken in)
        wanted = np.where(wanted > RESIDUE * (self.installed_h100e + waiting), wanted, 0.0)
        return wanted if price.ndim else float(wanted)

    def order_and_plan(
        self,
        demand: float,
        signal: float,
        vendors: list,
        vendor_split: np.ndarray,
        vendor_prices: np.ndarray,
        kw_per_h100e_new: float,
        queue_months: float,
    ) -> None:
        """This month's plan: the compute asked of it (``demand``, GPU-h) and the demand
        signal it forecasts from; GPU orders split across vendors (``vendor_split``),
        then data-centre projects for the fleet it aims for when they would be built.
        ``queue_months``: the vendors' backlog, in months of output weighted by the
        split, as it stood when the month's orders opened (clouds order at the same
        time: none sees the orders its rivals place this month)."""
        self.demand = demand
        self.update_forecast(signal)
        lead = queue_months
        price = float(vendor_split @ vendor_prices)
        self.observe_new_gpus(
            price, kw_per_h100e_new, lead + self.model.cfg.gpu.delivery_lead_months
        )
        on_order = sum(v.backlog.get(self.unique_id, 0.0) for v in vendors)
        # the fleet it aims for a planning horizon ahead, at this price: its GPU orders
        # and its halls plan for the same one (nothing it reads changes in between)
        aim = float(self.fleet_aimed_for(self.cfg.planning_horizon_months, price))
        want = self.gpus_wanted(on_order, price, aim)
        # never order more than it can finance (cash, credit, the parent's free cash flow)
        self.accrue_parent_funding()
        # its funds do not change while it orders and plans: read once for the GPUs and
        # the halls (valuing its collateral for the credit headroom is not free)
        funds = self.funds()
        affordable = self.financing_available(on_order * price, funds) / price if price > 0 else 0.0
        want = min(want, affordable)
        for v, share in zip(vendors, vendor_split, strict=True):
            v.take_order(self.unique_id, want * share)
        self.orders_h100e = want
        self.plan_data_centres(on_order + want, funds, aim)

    def power_needed_mw(
        self, on_order_h100e: float, funds: float | None = None, aim: float | None = None
    ) -> float:
        """MW for the fleet it aims for a planning horizon ahead, or for what is
        installed, waiting and on order if that is more. The growth beyond what is on
        order is planned only as far as the cloud can finance it, GPUs and building
        together (:meth:`fundable_growth_h100e`; ``funds``: :meth:`funds`, and ``aim``:
        :meth:`fleet_aimed_for` at the planning horizon and the new GPU price, if the
        caller has them already)."""
        fleet = self.installed_h100e + self.inventory_h100e + on_order_h100e
        if aim is None:
            aim = float(self.fleet_aimed_for(self.cfg.planning_horizon_months, self.new_gpu_price))
        grow = min(max(aim - fleet, 0.0), self.fundable_growth_h100e(on_order_h100e, funds))
        on_order_mw = on_order_h100e * self.new_kw_per_h100e / 1000.0
        return (
            self.used_mw + self.inventory_mw + on_order_mw + grow * self.new_kw_per_h100e / 1000.0
        )

    def fundable_growth_h100e(self, on_order_h100e: float, funds: float | None = None) -> float:
        """H100e of new fleet it could pay for, GPU and its share of a building, out of
        what it can still finance once the GPUs on order (valued at today's price) and
        the construction under way are paid for. A hall without GPUs earns nothing, so
        a cloud that cannot pay for both does not start the hall: capital rationing of
        complementary assets (Lorie & Savage 1955; Brealey, Myers & Allen, ch. 5)."""
        kw = self.new_kw_per_h100e
        per_h100e = self.new_gpu_price + self._project_cost(kw / 1000.0)
        available = self.financing_available(on_order_h100e * self.new_gpu_price, funds)
        return available / per_h100e if per_h100e > 0 else 0.0

    def plan_data_centres(
        self, on_order_h100e: float, funds: float | None = None, aim: float | None = None
    ) -> None:
        """Start projects so that energized plus pipeline MW cover the power needed
        with ``power_headroom`` (power is planned for the growth expected over a build); defer (cancel) projects still in permitting, youngest
        first, when energized plus pipeline exceed it by twice the headroom. ``funds``
        and ``aim``: as for :meth:`power_needed_mw`."""
        need = self.power_needed_mw(on_order_h100e, funds, aim)
        have = self.energized_mw + self.pipeline_mw
        headroom = self.dc.power_headroom
        gap = need * (1.0 + headroom) - have
        self.lease_request = self.own_gap = 0.0
        if self.colo is not None and self.lease_pays():
            # ask the colocation market for the MW its own pipeline will not power
            # within a lease's time to power, or for its whole gap if that is more;
            # what the market cannot supply it builds itself (:func:`lease_shells`)
            soon = self.p_mw[self.months_to_power() <= self.lease_months_to_power()].sum()
            short = need - self.energized_mw - float(soon)
            self.lease_request = max(gap, short, 0.0)
            self.own_gap = max(gap, 0.0)
            self.cancel_projects(have - need * (1.0 + 2.0 * headroom))
            return
        self.projects_started = self.start_halls(gap)
        self.cancel_projects(have - need * (1.0 + 2.0 * headroom))

    def start_halls(self, gap_mw: float) -> int:
        """Start its own projects of the standard size for ``gap_mw`` MW, at most
        ``max_starts_per_month`` (sites, crews). Returns how many it started."""
        size = self.dc.project_size_mw
        n = min(math.ceil(gap_mw / size), self.dc.max_starts_per_month) if gap_mw > 0 else 0
        if n:
            self._add_projects(PERMITTING, size, n)
        return n

    def new_project_months_to_power(self) -> float:
        """Mean months from starting one of its own projects until it is energised."""
        return self.dc.lead_time_multiplier * float(self._stage_means.sum())

    def lease_months_to_power(self) -> float:
        """Mean months from signing a lease until the shell is energised for it."""
        return self.dc.lead_time_multiplier * float(self._lease_means.sum())

    def lease_pays(self) -> bool:
        """Whether leasing a shell beats building one: the new GPUs' rent net of their
        capital charge (:meth:`quasi_rent_per_mw`) over the months a lease brings power
        forward, valued as Salter's rule values rents (:func:`rent_months` at the
        capital charge), against the lease's premium over owning the hall (the asking
        rent less the owned hall's user cost, ``r + 1/life`` of its price, over the
        lease term at the cost of capital). A cloud with dear capital may find the
        lease cheaper than owning; then any months saved decide."""
        c, colo = self.cfg, self.colo
        hours = self.model.cfg.simulation.hours_per_month
        net = float(self.quasi_rent_per_mw(self.new_kw_per_h100e, self.new_gpu_price)) * hours
        if net <= 0:
            return False
        own_months = self.new_project_months_to_power()
        k = self.capital_charge
        gain = net * float(
            rent_months(own_months, k) - rent_months(self.lease_months_to_power(), k)
        )
        owned = self._project_cost(1.0) * (c.cost_of_capital + 12.0 / self.b_life) / 12.0
        premium = (colo.rent_per_kw_month * 1000.0 - owned) * float(
            rent_months(colo.lease_months, c.cost_of_capital)
        )
        return gain > premium

    def start_own_projects(self, leased_mw: float) -> None:
        """After the colocation market has allocated: a lease for ``leased_mw`` (one
        project in the lease region), and its own halls for the rest of its gap."""
        if leased_mw > 0:
            self._add_projects(PERMITTING, leased_mw, 1, leased=True)
        self.projects_started = self.start_halls(self.own_gap - leased_mw)

    def cancel_projects(self, excess_mw: float) -> None:
        """Cancel permitting-stage projects, those with most permitting left first,
        as long as their MW fit within ``excess_mw`` (nothing has been paid for them)."""
        if excess_mw <= 0:
            return
        early = np.nonzero((self.p_stage == PERMITTING) & ~self.p_leased)[0]
        order = early[np.argsort(-self.p_left[early], kind="stable")]
        drop = order[np.cumsum(self.p_mw[order]) <= excess_mw]
        if drop.size:
            keep = np.ones(self.p_mw.size, dtype=bool)
            keep[drop] = False
            self.p_mw, self.p_stage = self.p_mw[keep], self.p_stage[keep]
            self.p_left, self.p_cost = self.p_left[keep], self.p_cost[keep]
            self.p_leased = self.p_leased[keep]
            self.projects_cancelled = int(drop.size)

    # ---------------------------------------------------------------- step 3: supply
    def receive_gpus(self, units: float, perf: float, kw: float, unit_value: float) -> None:
        self.inv_units = _grow(self.inv_units, units)
        self.inv_perf = _grow(self.inv_perf, perf)
        self.inv_kw = _grow(self.inv_kw, kw)
        self.inv_value = _grow(self.inv_value, unit_value)
        self.inv_vintage = _grow(self.inv_vintage, self.model.steps)

    def install_gpus(self) -> float:
        """Install waiting GPUs, oldest first, only into energized MW. Returns H100e installed.
        A cohort keeps its delivery month: it has aged and depreciated while it waited.
        Cohorts delivered in the same month (one per vendor) go in by compute per MW,
        the least kW per H100e first: where power binds, the cloud fills its MW with
        the GPUs that earn most on them (Salter's ranking), whichever vendor shipped first."""
        free_kw = max(self.energized_mw - self.used_mw, 0.0) * 1000.0
        installed = 0.0
        cohorts = []  # (units, perf, kw, vintage, depreciation) of each cohort installed
        # oldest first, then least kW per H100e (np.lexsort: the last key is the first)
        order = np.lexsort((self.inv_kw / self.inv_perf, self.inv_vintage)).tolist()
        for i in order:
            if free_kw <= 0:
                break
            n = min(self.inv_units[i], free_kw / self.inv_kw[i])
            if n <= 0:
                continue
            free_kw -= n * self.inv_kw[i]
            self.inv_units[i] -= n
            cohorts.append(
                (
                    n,
                    self.inv_perf[i],
                    self.inv_kw[i],
                    self.inv_vintage[i],
                    n * self.inv_value[i] / self.cfg.depreciation_months,
                )
            )
            installed += n * self.inv_perf[i]
        if cohorts:  # appended to the fleet's arrays at once, in the same order
            units, perf, kw, vintage, depreciation = zip(*cohorts, strict=True)
            self.units = _grow(self.units, units)
            self.perf = _grow(self.perf, perf)
            self.kw = _grow(self.kw, kw)
            self.vintage = _grow(self.vintage, vintage)
            self.depreciation_per_month = _grow(self.depreciation_per_month, depreciation)
        keep = self.inv_units > 1e-9
        self.inv_units, self.inv_perf = self.inv_units[keep], self.inv_perf[keep]
        self.inv_kw, self.inv_value = self.inv_kw[keep], self.inv_value[keep]
        self.inv_vintage = self.inv_vintage[keep]
        return installed

    def sell_compute(self, gpu_hours: float, capacity: float) -> None:
        """What the market cleared at this cloud: GPU-h sold against its capacity (and the
        GPU-h its whole fleet had then, its parent's own work included)."""
        self.sold = gpu_hours
        self.capacity_gpu_hours = capacity
        self.fleet_gpu_hours = self.gpu_hours

    # -- issue 11: integration
    def own_ai_budget(self, months: float) -> float:
        """$ per month its parent spends on compute for its own products (ranking, search,
        assistants): a logistic path from ``own_ai_spend_initial`` toward
        ``own_ai_spend_ceiling``, growing at first ``own_ai_spend_growth_per_year``."""
        c = self.cfg
        return logistic_budget(
            c.own_ai_spend_initial,
            c.own_ai_spend_ceiling,
            c.own_ai_spend_growth_per_year,
            months,
            self.own_scale,
        )

    def plan_own_workloads(self, months: float) -> float:
        """GPU-h its own workloads ask this month: the budget at its own posted price
        (the internal transfer price), so cheaper compute runs more of them."""
        price = self.transfer_price
        self.own_demand = self.own_ai_budget(months) / price if price > 0 else 0.0
        return self.own_demand

    @property
    def transfer_price(self) -> float:
        """$ per GPU-h its parent's own workloads are planned and charged at: the posted
        price, or (``own_ai_transfer_price = "user_cost"``) the user cost of a new GPU:
        capacity the parent buys for its own products, at cost (Hirshleifer 1956: the
        transfer price that keeps an integrated firm's divisions from under-using
        capacity the firm itself plans is its marginal cost)."""
        if self.cfg.own_ai_transfer_price == "user_cost":
            return self.user_cost
        return self.price

    @property
    def own_production(self) -> float:
        """GPU-h of its parent's own workloads that run before the labs' training: all of
        them ('first': before all the labs' work; 'after_serving': after their serving), or
        with own work 'last' only the production inference (``own_ai_production_share``),
        before all the labs' work."""
        if self.cfg.own_workloads_priority == "last":
            return self.own_demand * self.cfg.own_ai_production_share
        return self.own_demand

    def market_capacity(self, capacity: float) -> float:
        """GPU-h of ``capacity`` the labs' training can have: what its parent's own workloads
        that run before it leave (with 'after_serving' the labs' serving can also use the
        rest of the fleet; the 'profit' pricing mode reads this as the labs' capacity)."""
        return max(capacity - self.own_production, 0.0)

    def serve_own_workloads(self, capacity: float) -> float:
        """Its parent's own workloads that run before the labs' training (``own_production``)
        run on ``capacity`` GPU-h. Returns the GPU-h left."""
        self.own_used = self.own_production_used = min(self.own_production, capacity)
        return self.market_capacity(capacity)

    def serve_deferred_own_workloads(self, capacity: float) -> None:
        """With own work last: its training and experiments run on the ``capacity`` GPU-h
        the labs left."""
        self.own_used += min(self.own_demand - self.own_production, capacity)

    def charge_parent(self) -> None:
        """The parent pays for the compute its products used, at the posted price."""
        self.own_revenue = value = self.own_used * self.transfer_price
        if value > 0:
            self.model.ledger.transfer("parent_companies", self.unique_id, value, "own_ai_compute")
            self.revenue += value

    # ---------------------------------------------------------------- step 4: settle
    def earn(self, revenue: float) -> None:
        self.revenue += revenue

    def pay_energy(self) -> None:
        """Power and operations for the GPU-hours it sold (an obligation)."""
        self.energy_cost = (self.sold + self.own_used) * self.marginal_cost
        pay(self.model.ledger, self, "energy_opex", self.energy_cost, "energy_opex")

    def bought_gpus(self, value: float) -> None:
        self.gpu_capex += value

    # ---------------------------------------------------------------- step 5: price
    def price_target(self, load: float) -> float:
        """Where its price tends at this ``load`` (GPU-h asked over capacity): the user
        cost at the target utilisation u*, times a scarcity rent
        ``exp(scarcity_rent (load - u*))`` while capacity binds (load above u*), and
        down toward the running cost of its dearest vintage as capacity idles::

            p* = UC exp(s (load - u*))              if load >= u*
            p* = c_m + (UC - c_m) load / u*         otherwise
        """
        c = self.cfg
        u, uc = c.target_utilization, self.user_cost
        if load >= u:
            return uc * math.exp(c.scarcity_rent * (min(load, 2.0) - u))
        dearest = (
            float(self.running_cost(self._fleet().kw_per_h100e).max()) if self.units.size else uc
        )
        marginal = min(dearest, uc)
        return marginal + (uc - marginal) * load / u

    def set_price(self, ratios: np.ndarray | None = None, demand: np.ndarray | None = None) -> None:
        """Post next month's compute price.

        ``pricing = "utilization"`` (baseline): partial adjustment, ``price_adjustment``
        of the way to :meth:`price_target` at this month's load, at most
        ``max_price_change`` a month, never below the running cost.
        ``pricing = "profit"``: ``demand[c]`` is the GPU-h labs would ask of this cloud
        at ``ratios[c]`` times its price (rivals' prices as they are); it can sell at
        most its capacity, so it best-responds as a capacity-constrained Bertrand
        competitor: near marginal cost when capacity is slack, the market-clearing
        price when it binds. ``fixed_compute_price`` set: a passive layer that keeps
        that price.
        """
        if self.cfg.fixed_compute_price is not None:
            self.price = self.cfg.fixed_compute_price
            return
        capacity = self.gpu_hours
        if self.cfg.pricing == "profit" and demand is not None and capacity > 0:
            # its parent's own workloads run first: the market gets what is left
            sales = np.minimum(demand, self.market_capacity(capacity))
            if sales.max() > 0:
                self.price = float(
                    best_response(
                        np.array([self.price]),
                        np.array([self.marginal_cost]),
                        ratios,
                        sales[None, :],
                        self.cfg.price_adjustment,
                        self.marginal_cost,
                    )[0]
                )
            return
        asked = self.demand
        if self.cfg.load_counts_spillover:
            # -- 2023 shortage: the labs' demand it faced: what it sold (demand spilled over from
            # full rivals included) plus its share of what no cloud could serve
            asked = max(asked, self.sold + self.unmet)
        load = (asked + self.own_demand) / capacity if capacity > 0 else 2.0
        self.price = partial_adjustment(
            self.price,
            self.price_target(load),
            self.cfg.price_adjustment,
            self.cfg.max_price_change,
            self.marginal_cost,
        )

    # ---------------------------------------------------------------- step 6: lifecycle
    def build_retire_and_service_debt(self) -> None:
        """The month's lifecycle: pay for construction, retire GPUs (Salter), book
        depreciation, and repay debt out of cash beyond a reserve of
        three months of capex."""
        ledger = self.model.ledger
        labour, materials = self.build()
        pay(ledger, self, "households", labour, "construction_labour")
        pay(ledger, self, "foundry_components", materials, "construction_materials")
        self.building_capex = labour + materials
        written_off = self.retire()
        self.book_depreciation(written_off)
        if self.colo is not None:  # the rent of the leased shells energised
            self.lease_cost = float(self.l_mw.sum()) * 1000.0 * self.colo.rent_per_kw_month
            pay(ledger, self, "colocation", self.lease_cost, "colo_lease")
        self.draw_on_parent(self.debt)  # the parent pays cash in, up to what it owes
        reserve = 3.0 * (self.gpu_capex + self.building_capex)
        self.repaid(repay_debt(ledger, self, self.debt, reserve, share=0.2))

    # -- issue 11: integration
    def accrue_parent_funding(self) -> None:
        """The parent's cash flow free for AI accrues monthly; what is not drawn within a
        year goes to other uses (buybacks, other capex)."""
        monthly = self.cfg.parent_funding_per_year / 12.0
        self.parent_available = min(self.parent_available + monthly, 12.0 * monthly)

    def draw_on_parent(self, amount: float) -> float:
        """Internal funding from the parent company, at most what it has free ($)."""
        amount = min(max(amount, 0.0), self.parent_available)
        if amount > 0:
            self.model.ledger.transfer("parent_companies", self.unique_id, amount, "parent_funding")
            self.parent_available -= amount
        return amount

    def rescue_round(self, shortfall: float) -> float:
        """A big-four cloud about to default is rescued by its parent, within its budget."""
        return self.draw_on_parent(shortfall)

    def funds(self) -> float:
        """$ it could spend: cash, credit headroom and the parent's free funding."""
        return self.cash + self.credit_headroom() + self.parent_available

    def financing_available(self, on_order_value: float, funds: float | None = None) -> float:
        """$ it can commit to new GPUs: its :meth:`funds` (``funds``, if the caller has
        them already), less what it already owes for GPUs on order and buildings under way."""
        committed = on_order_value + float(self.p_cost.sum())
        if funds is None:
            funds = self.funds()
        return max(funds - committed, 0.0)

    def build(self) -> tuple[float, float]:
        """Advance projects by a month. Returns ($ labour, $ materials) due for construction."""
        if self.p_mw.size == 0:
            return 0.0, 0.0
        building = self.p_stage == CONSTRUCTION
        pay = np.zeros_like(self.p_cost)
        pay[building] = self.p_cost[building] / np.maximum(self.p_left[building], 1.0)
        self.p_left -= 1.0
        # stages end; a project may pass through a zero-length stage in the same month
        for _ in range(3):
            done = self.p_left <= 0
            if not done.any():
                break
            finishing = done & (self.p_stage == CONSTRUCTION)
            pay[finishing] = self.p_cost[finishing]  # settle what is left on completion
            moving = (done & (self.p_stage < CONSTRUCTION)).nonzero()[0]
            if moving.size:
                # one draw per moving project, in index order: the same draws as one by one
                self.p_stage[moving] += 1
                leased = self.colo is not None  # (no shells without the market: skip the masks)
                own = moving[~self.p_leased[moving]] if leased else moving
                if own.size:
                    self.p_left[own] += self._draw_durations(self._stage_means[self.p_stage[own]])
                shells = moving[self.p_leased[moving]] if leased else moving[:0]
                if shells.size:  # leased shells: the lease region's durations
                    self.p_left[shells] += self._draw_durations(
                        self._lease_means[self.p_stage[shells]], self._lease_cv
                    )
            if finishing.any():
                mw = float(self.p_mw[finishing].sum())
                self.energized_mw += mw
                leased_mw = (
                    float(self.p_mw[finishing & self.p_leased].sum())
                    if self.colo is not None
                    else 0.0
                )
                if leased_mw > 0:  # rented, not owned: no building on its books
                    self.l_mw = _grow(self.l_mw, leased_mw)
                self.b_depreciation = _grow(
                    self.b_depreciation, self._project_cost(mw - leased_mw) / self.b_life
                )
                self.b_vintage = _grow(self.b_vintage, self.model.steps)
                self.projects_completed += int(finishing.sum())
                self.p_cost[finishing] = 0.0
                self.p_mw[finishing] = 0.0
                self.p_left[finishing] = np.inf
        self.p_cost = np.maximum(self.p_cost - pay, 0.0)
        keep = self.p_mw > 0
        self.p_mw, self.p_stage = self.p_mw[keep], self.p_stage[keep]
        self.p_left, self.p_cost = self.p_left[keep], self.p_cost[keep]
        self.p_leased = self.p_leased[keep]
        total = float(pay.sum())
        r = self.region
        labour = (
            total
            * r.labour_share
            * (1 + r.labour_premium)
            / (1 + r.labour_share * r.labour_premium)
        )
        return labour, total - labour

    # ---------------------------------------------------------------- vintages (Salter)
    def quasi_rent_per_mw(self, kw_per_h100e, capital_per_h100e=0.0):
        """$ per MW-hour a GPU earns at today's price when rented at the target
        utilisation, over its running cost, less ``capital_per_h100e`` ($ per H100e)
        annualised at the capital charge."""
        c = self.cfg
        per_h100e = c.target_utilization * (self.price - self.running_cost(kw_per_h100e))
        if capital_per_h100e:  # (subtracting 0 changes nothing: skip the capital charge)
            per_h100e = per_h100e - capital_per_h100e * self.capital_charge / HOURS_PER_YEAR
        return per_h100e * 1000.0 / np.asarray(kw_per_h100e, dtype=float)

    def uncovered(self) -> np.ndarray:
        """Vintages whose revenue per GPU-hour does not cover their own running cost."""
        return self.price < self.running_cost(self._fleet().kw_per_h100e)

    def remaining_life(self) -> np.ndarray:
        """Months each installed vintage has left of the useful life the cloud expects of
        it: its book life from delivery (5-6 years in the clouds' filings), 0 past it."""
        return np.maximum(self.cfg.depreciation_months - (self.model.steps - self.vintage), 0.0)

    def months_to_host(self, mw: float, after: float = 0.0) -> float:
        """Expected months, counted from ``after`` months ahead, until the projects under
        way that are not powered by then bring ``mw`` MW more (in the order they are
        expected to be energised); where they hold less, the rest waits for a project
        started now (the region's mean time to power). ``mw`` 0: the next project."""
        t = self.months_to_power()
        later = t > after
        order = t[later].argsort(kind="stable")
        t, cum = t[later][order], self.p_mw[later][order].cumsum()
        i = int(cum.searchsorted(mw, side="left"))  # the first project reaching mw
        if i < cum.size:
            done = float(t[i])
        else:  # the pipeline is short: the rest waits for a project started now
            done = max(self.new_project_months_to_power(), float(t[-1]) if t.size else 0.0)
        return max(done - after, 0.0)

    def keep_value_per_mw(self) -> np.ndarray:
        """What each installed vintage would still earn on its MW if kept: today's
        quasi-rent per MW-hour times :func:`rent_months` of the life it has left."""
        rent = self.quasi_rent_per_mw(self._fleet().kw_per_h100e)
        return rent * rent_months(self.remaining_life(), self.capital_charge)

    def replaceable(self) -> np.ndarray:
        """Salter's rule where power binds, over time: vintages whose rent per MW over the
        life they have left is below what a new GPU ordered now would earn on that MW,
        net of its annualised price, until the next hall under way (or one started now)
        could host it instead (:meth:`months_to_host` after the delivery lead)."""
        new = self.quasi_rent_per_mw(self.new_kw_per_h100e, self.new_gpu_price)
        if not self.cfg.salter_over_time:  # the static rule: rent per MW now
            return self.quasi_rent_per_mw(self._fleet().kw_per_h100e) < new
        wait = self.months_to_host(0.0, after=self.delivery_lead_months)
        return self.keep_value_per_mw() < new * rent_months(wait, self.capital_charge)

    def displaced(self, need_mw: float) -> np.ndarray:
        """Where power binds and GPUs already delivered wait for it: vintages whose rent
        per MW over the life they have left is below what the waiting GPUs would earn
        on that MW until the halls under way power ``need_mw`` MW for them. Their price
        is sunk, so only the quasi-rents count (the dispatch half of Salter's rule; the
        investment half, with the new GPU's capital charge, is :meth:`replaceable`,
        used when ordering)."""
        if self.inv_units.size == 0:
            return np.zeros(self.units.size, dtype=bool)
        kw = self.inv_kw / self.inv_perf
        best = float(self.quasi_rent_per_mw(kw).max())
        if not self.cfg.salter_over_time:  # the static rule: rent per MW now
            return self.quasi_rent_per_mw(self._fleet().kw_per_h100e) < best
        wait = rent_months(self.months_to_host(need_mw), self.capital_charge)
        return self.keep_value_per_mw() < best * wait

    def retire(self) -> float:
        """Scrap vintages by Salter's rule (1960): any whose revenue no longer covers its
        running cost; and, while GPUs wait for power, vintages displaced by them
        (:meth:`displaced`; the least worth keeping per MW first) until the waiting GPUs
        fit. Returns the $ book value written off."""
        scrap = self.uncovered().astype(float)
        need_kw = self.inventory_mw * 1000.0 - max(self.energized_mw - self.used_mw, 0.0) * 1000.0
        if need_kw > 0:
            candidates = np.nonzero(self.displaced(need_kw / 1000.0) & (scrap == 0))[0]
            if self.cfg.salter_over_time:
                value = self.keep_value_per_mw()[candidates]
            else:  # the static rule: lowest quasi-rent per MW first
                value = self.quasi_rent_per_mw(self._fleet().kw_per_h100e[candidates])
            for i in candidates[np.argsort(value, kind="stable")]:
                if need_kw <= 0:
                    break
                cohort_kw = self.units[i] * self.kw[i]
                scrap[i] = min(1.0, need_kw / cohort_kw)
                need_kw -= cohort_kw * scrap[i]
        if not scrap.any():
            return 0.0
        age = self.model.steps - self.vintage
        book = self.depreciation_per_month * np.maximum(self.cfg.depreciation_months - age, 0.0)
        written_off = float(book @ scrap)
        self.scrapped_h100e = float((self.units * self.perf) @ scrap)
        self.units = self.units * (1.0 - scrap)
        self.depreciation_per_month = self.depreciation_per_month * (1.0 - scrap)
        keep = self.units > 1e-9
        self.units, self.perf, self.kw = self.units[keep], self.perf[keep], self.kw[keep]
        self.vintage = self.vintage[keep]
        self.depreciation_per_month = self.depreciation_per_month[keep]
        return written_off

    def book_depreciation(self, written_off: float = 0.0) -> None:
        """This month's depreciation: GPUs installed or waiting, each over its book
        life from delivery, buildings over ``building_life_months``, and the book value
        of GPUs scrapped early."""
        now, life = self.model.steps, self.cfg.depreciation_months
        installed = self.depreciation_per_month[now - self.vintage < life].sum()
        waiting = (self.inv_units * self.inv_value / life)[now - self.inv_vintage < life].sum()
        self.gpu_depreciation = float(installed + waiting) + written_off
        self.building_depreciation = float(
            self.b_depreciation[now - self.b_vintage < self.b_life].sum()
        )
        self.depreciation = self.gpu_depreciation + self.building_depreciation

    def firm_row(self) -> dict[str, Any]:
        return {
            **super().firm_row(),
            "kind": self.kind,
            "price": self.price,
            "user_cost": self.user_cost,
            "installed_h100e": self.installed_h100e,
            "energized_mw": self.energized_mw,
            "pipeline_mw": self.pipeline_mw,
            "revenue": self.revenue,
            "region": self.region_name,
        }

    def stage_counts(self) -> dict[str, float]:
        return {name: float(self.p_mw[self.p_stage == i].sum()) for i, name in enumerate(STAGES)}

    # -- issue 11: credit
    # its physical assets, array by array: a buyer of a share s of them gets s times the
    # SCALED arrays (quantities and money) and the others as they are (per unit, per project)
    ASSETS = (
        "units", "perf", "kw", "vintage", "depreciation_per_month",
        "inv_units", "inv_perf", "inv_kw", "inv_value", "inv_vintage",
        "b_depreciation", "b_vintage",
        "p_mw", "p_stage", "p_left", "p_cost", "p_leased", "l_mw",
    )  # fmt: skip
    SCALED = (
        "units", "depreciation_per_month", "inv_units", "b_depreciation", "p_mw", "p_cost", "l_mw"
    )  # fmt: skip

    @property
    def build_cost_per_mw(self) -> float:
        """$ a MW of its region costs to build, labour included (as a lender values it)."""
        return self._project_cost(1.0)

    def fleet_lot(self) -> FleetLot:
        """Its GPUs by vintage, waiting GPUs, energized MW and projects, as a buyer sees them."""
        return FleetLot(
            arrays={k: getattr(self, k).copy() for k in self.ASSETS},
            energized_mw=self.energized_mw,
            build_cost_per_mw=self.build_cost_per_mw,
            age_months=self.model.steps - self.vintage,
        )

    def collateral_value(self) -> float:
        """$ its lenders secure loans on: the resale value of its fleet and buildings."""
        # lot_value of its own arrays, without building a lot
        # leased shells are the landlord's: only its own halls secure its loans
        if self.colo is None:  # no market, no shells: every project and MW is its own
            p_mw, p_cost, leased_mw = self.p_mw, self.p_cost, 0.0
        else:
            own = ~self.p_leased
            p_mw, p_cost, leased_mw = self.p_mw[own], self.p_cost[own], float(self.l_mw.sum())
        return assets_value(
            self.units, self.perf, self.model.steps - self.vintage,
            self.inv_units, self.inv_perf, self.energized_mw - leased_mw, p_mw, p_cost,
            self.build_cost_per_mw, new_gpu_price(self.model.vendors),
            self.cfg.depreciation_months,
        )  # fmt: skip

    def sell_fleet(self) -> FleetLot:
        """Hand over all its physical assets (a defaulted cloud's fire sale)."""
        lot = self.fleet_lot()
        for k in self.ASSETS:
            setattr(self, k, getattr(self, k)[:0])
        self.energized_mw = 0.0
        return lot

    def buy_fleet(self, lot: FleetLot, share: float) -> None:
        """Take ``share`` of a lot: GPUs keep their vintage, projects their stage."""
        for k in self.ASSETS:
            bought = lot.arrays[k] * share if k in self.SCALED else lot.arrays[k]
            setattr(self, k, _grow(getattr(self, k), bought))
        self.energized_mw += share * lot.energized_mw


def partial_adjustment(
    price: float, target: float, share: float, max_change: float, floor: float
) -> float:
    """Move ``share`` of the way from ``price`` to ``target``, by at most ``max_change``
    (a fraction) either way, never below ``floor``."""
    new = price + share * (target - price)
    new = min(max(new, price / (1.0 + max_change)), price * (1.0 + max_change))
    return max(new, floor)


# ------------------------------------------------------------------ the clouds' market rules
def found_clouds(model, rng: np.random.Generator) -> list[Hyperscaler]:
    """The clouds of January 2023, the big four then the neocloud fringe: each group's
    installed base split among its firms with some spread, each able to buy from
    every vendor, with orders already booked (by the big four)."""
    cfg = model.cfg
    clouds = _found_group(model, rng, cfg.hyperscalers, None)
    if cfg.neoclouds.count:
        clouds += _found_group(model, rng, neocloud_config(cfg), cfg.neoclouds)
    big = clouds[: cfg.hyperscalers.count]
    shares = np.array([h.installed_h100e for h in big])
    for v in model.vendors:
        v.book_initial_backlog([h.unique_id for h in big], shares / shares.sum())
    vendor_prices = np.array([v.price_per_h100e for v in model.vendors])
    split = vendor_split(model.vendors, vendor_prices, cfg.hyperscalers)
    kw = float(np.dot(split, [v.power_kw / v.perf for v in model.vendors]))
    lead = float(split @ [v.backlog_months for v in model.vendors])
    for h in clouds:
        h.observe_new_gpus(float(split @ vendor_prices), kw, lead + cfg.gpu.delivery_lead_months)
    return clouds


def neocloud_config(cfg) -> HyperscalerConfig:
    """The neoclouds' rules: the clouds' own, with the fringe's size, region, cash
    and cost of capital."""
    nc = cfg.neoclouds
    colo = colocation_on(cfg.datacenters)  # with the market, they build what they cannot lease
    return cfg.hyperscalers.model_copy(
        update={
            "count": nc.count,
            "regions": nc.regions if colo is None else colo.neocloud_regions,
            "initial_installed_h100e": nc.initial_installed_h100e,
            "initial_pipeline_mw": nc.initial_pipeline_mw,
            "initial_cash": nc.initial_cash,
            "cost_of_capital": nc.cost_of_capital,
            "parent_funding_per_year": 0.0,  # independent firms: no parent's cash flow
            "own_ai_spend_initial": 0.0,  # and no parent's products to serve
        }
    )


def _found_group(model, rng, hc: HyperscalerConfig, entry) -> list[Hyperscaler]:
    g, first = model.cfg.gpu, model.vendors[0]
    shares = rng.dirichlet(np.full(hc.count, 8.0))
    clouds = []
    for i in range(hc.count):
        region = hc.regions[i % len(hc.regions)]
        h = Hyperscaler(
            model, hc, model.cfg.datacenters, region, hc.initial_installed_h100e * shares[i],
            g.legacy_perf, g.legacy_power_kw, first.perf, first.power_kw,
            legacy_unit_value=0.4 * first.price, entry=entry,
        )  # fmt: skip
        clouds.append(h)
        h.open_account("households", hc.initial_cash * shares[i] * hc.count)
        if hc.own_ai_by_fleet_share:  # -- 2023 shortage: the parent's own workloads, as its cash
            h.own_scale = float(shares[i] * hc.count)
        for v in model.vendors:
            model.supply.connect(v.unique_id, h.unique_id)
    return clouds


def vendor_split(vendors: list, prices_per_h100e: np.ndarray, hc: HyperscalerConfig) -> np.ndarray:
    """How clouds split GPU orders across vendors: logit on price per H100e, each
    vendor's ecosystem (software lock-in) and its queue (months of backlog).
    ``prices_per_h100e`` may carry leading axes of candidate prices (last: vendors)."""
    bonus = np.array(
        [v.cfg.ecosystem_bonus - hc.lead_time_aversion * v.backlog_months for v in vendors]
    )
    return softmax(bonus - hc.buyer_price_sensitivity * np.log(prices_per_h100e), axis=-1)


def post_compute_prices(model, ratios: np.ndarray) -> None:
    """Every cloud posts next month's compute price.

    Under ``pricing = "profit"`` each cloud reads what it would sell at candidate
    prices: labs' split across clouds (logit) and their training runs
    (price-elastic) move, serving needs do not, and demand a full rival cannot
    serve spills over (the market's own clearing rule), so a cloud sees its
    residual demand. Under ``"utilization"`` each adjusts on its own load."""
    clouds, labs = model.hyperscalers, model.labs
    hc = model.cfg.hyperscalers
    if hc.pricing == "utilization":
        for h in clouds:
            h.set_price()
        return
    base = np.array([h.price for h in clouds])
    serving = sum(lab.serving_request for lab in labs)
    frontier = [lab for lab in labs if lab.is_frontier]
    budgets = np.array([lab.training_budget for lab in frontier])
    cash = np.array([lab.cash for lab in frontier])
    expected_price = np.array([lab.expected_compute_price(model.month + 1) for lab in frontier])
    eta = model.cfg.model_developers.training_price_elasticity
    capacities = np.array([h.market_capacity(h.gpu_hours) for h in clouds])
    n = len(clouds)
    # prices[i, c, :]: every cloud's price when cloud i posts ratios[c] times its own
    prices = np.broadcast_to(base, (n, ratios.size, n)).copy()
    idx = np.arange(n)
    prices[idx, :, idx] *= ratios[None, :]
    shares = cloud_shares(prices, hc.buyer_price_sensitivity)
    expected = (shares * prices).sum(axis=-1)
    training = (
        training_gpu_hours(
            budgets[None, None, :], expected[..., None], expected_price, cash[None, None, :], eta
        ).sum(axis=-1)
        if frontier
        else 0.0
    )
    sales = spillover_sales((serving + training)[..., None] * shares, capacities)
    demand = sales[idx, :, idx]
    for h, row in zip(clouds, demand, strict=True):
        h.set_price(ratios, row)


def order_gpus_and_plan(model, shares: np.ndarray) -> None:
    """Clouds see the compute labs ask of them, forecast, order GPUs, plan projects."""
    requests = np.array([lab.compute_request for lab in model.labs])
    asked = requests.sum() * shares if requests.size else np.zeros(len(model.hyperscalers))
    vendor_prices = np.array([v.price_per_h100e for v in model.vendors])
    split = vendor_split(model.vendors, vendor_prices, model.cfg.hyperscalers)
    newest_kw = float(np.dot(split, [v.power_kw / v.perf for v in model.vendors]))
    # the queue every cloud reads, before any of this month's orders: orders are placed
    # together, so a cloud's place in the list does not lengthen the queue it sees
    queue = float(split @ [v.backlog_months for v in model.vendors])
    seen = asked
    if model.cfg.hyperscalers.information_sharing and requests.size:
        # the labs' total needs (end demand) at each cloud's share of the fleet,
        # not its own order stream, which also swings with its price against rivals'
        fleet = np.array([h.installed_h100e + h.inventory_h100e for h in model.hyperscalers])
        seen = requests.sum() * (fleet / fleet.sum() if fleet.sum() > 0 else shares)
    for h, demand, signal in zip(model.hyperscalers, asked, seen, strict=True):
        own = h.plan_own_workloads(model.month)
        h.order_and_plan(
            float(demand),
            float(signal) + own,
            model.vendors,
            split,
            vendor_prices,
            newest_kw,
            queue,
        )
    if model.colocation is not None:
        lease_shells(model)


def lease_shells(model) -> None:
    """The colocation market allocates this month's shells pro rata to the clouds'
    requests (:class:`~abm.market.colocation.ColocationMarket`); each cloud signs for
    what it got and starts its own halls for the rest of its gap."""
    clouds = model.hyperscalers
    leased = model.colocation.allocate(model.month, [h.lease_request for h in clouds])
    for h, mw in zip(clouds, leased.tolist(), strict=True):
        if h.colo is not None and (h.lease_request > 0 or h.own_gap > 0):
            h.start_own_projects(mw)


def clear_compute_market(model, shares: np.ndarray) -> np.ndarray:
    """Serving first, then training: each is cleared by pro-rata rationing at each
    cloud, unmet demand spilling to spare capacity (:func:`allocate_with_spillover`).
    Inference contracts run under latency commitments and are served before training
    runs, which can wait; so when compute is short, training absorbs the shortage and
    labs' token sales (and the revenue their plans read) are rationed only when serving
    alone exceeds capacity. ``shares`` is how labs split their requests across clouds
    (:func:`cloud_shares` at this month's prices). Returns GPU-h filled by [lab, cloud]."""
    serving = np.array([lab.serving_request for lab in model.labs])
    training = np.array([lab.training_request for lab in model.labs])
    priority = model.cfg.hyperscalers.own_workloads_priority
    after_serving, own_last = priority == "after_serving", priority == "last"
    passive = model.cfg.hyperscalers.fixed_compute_price is not None
    # a passive layer never rations, the labs nor the parents' own work
    fleets = [np.inf if passive else h.gpu_hours for h in model.hyperscalers]
    if after_serving:  # -- 2023 shortage: the labs' serving contracts before the parents' own work
        capacities = np.array(fleets)
    else:  # own work first; or, with own work last, its production inference first
        capacities = np.array(
            [h.serve_own_workloads(f) for h, f in zip(model.hyperscalers, fleets, strict=True)]
        )
    served, unserved = allocate_with_spillover(serving[:, None] * shares[None, :], capacities)
    left = np.maximum(capacities - served.sum(axis=0), 0.0)
    if after_serving:
        left = np.array(
            [h.serve_own_workloads(c) for h, c in zip(model.hyperscalers, left, strict=True)]
        )
        capacities = served.sum(axis=0) + left  # what the market had: all but own work
    trained, untrained = allocate_with_spillover(training[:, None] * shares[None, :], left)
    filled = served + trained
    if own_last:  # the parents' training and experiments on what the labs leave
        rest = np.maximum(left - trained.sum(axis=0), 0.0)
        for h, c in zip(model.hyperscalers, rest.tolist(), strict=True):
            h.serve_deferred_own_workloads(c)
    # -- 2023 shortage: demand no cloud could serve, as the labs split their requests
    if model.cfg.hyperscalers.load_counts_spillover:
        unmet = (float(unserved.sum()) + float(untrained.sum())) * shares
        for h, u in zip(model.hyperscalers, unmet.tolist(), strict=True):
            h.unmet = u
    # each lab's row summed in one call (a row's sum, as row.sum() adds it)
    for lab, used, for_training in zip(
        model.labs, filled.sum(axis=1).tolist(), trained.sum(axis=1).tolist(), strict=True
    ):
        lab.use_compute(used, model.month, for_training)
    for h, col, cap in zip(model.hyperscalers, filled.T, capacities, strict=True):
        h.sell_compute(float(col.sum()), float(cap))
    return filled
