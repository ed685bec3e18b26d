"""Model configuration: TOML files validated once, at the boundary.

A config file is TOML. It may name another file with ``extends = "other.toml"``
(resolved relative to itself) and then override only a few keys. Overrides can
also be given as dotted keys (``{"end_users.price_elasticity": 1.5}``), from
Python or from the command line (``--set end_users.price_elasticity=1.5``). List
items are addressed by index (``gpu.vendors.0.initial_price``).

The schema below is the one source of truth for what a parameter means: its unit,
its allowed range and the source of its calibrated value (``abm params`` lists
them). Every calibrated parameter is required: ``configs/baseline.toml`` sets each
one, and a scenario extends it. Python defaults exist only for switches (on/off
flags, mode selectors, optional scenario levers).

Values are strict: a number must be a number (a string ``"2.5"`` or ``true`` is
refused; an integer is accepted where a float belongs), nothing may be NaN or
infinite, and every quantity must lie in its range. Every problem -- a missing
file, an unknown key, a value of the wrong type or out of range, a population too
large for this machine, a malformed override -- raises :class:`ConfigError` with
one line that names the key and where it came from (the file or the override),
with a suggestion for a misspelled key. The model never reads raw dictionaries: it
gets a validated :class:`Config`.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

_HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = _HERE.parent
# An installed wheel carries the configs inside the package (abm/configs, mapped from the
# repository's top-level configs/ by pyproject.toml); a source checkout has them beside it.
CONFIG_DIR = _HERE / "configs" if (_HERE / "configs").is_dir() else PACKAGE_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "baseline.toml"

# Names of configs and sweeps become directory names under results/: one path component,
# no leading dot (so not "", ".", ".." or hidden), no separators.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Memory guard. Measured with tracemalloc (baseline, 1e5 against 4e5 simulated users):
# 118 bytes per user at the peak -- eleven per-user arrays (value, tasks, tokens per task
# twice, the two demand-law constants, adoption, provider, demand, purchases, market
# column: 81 bytes) plus one step's temporaries -- and 2.7-3.8 KB per startup (a Mesa
# agent, a ledger account, a graph node, a column of the retail market).
BYTES_PER_USER = 128
BYTES_PER_STARTUP = 4096


class ConfigError(ValueError):
    """A configuration problem, described in one line naming the key and where it came from."""


# --------------------------------------------------------------------------- fields
def _p(unit: str, source: str, doc: str, **constraints: Any) -> Any:
    """A calibrated parameter: required, with its unit, source and meaning."""
    return Field(description=doc, json_schema_extra={"unit": unit, "source": source}, **constraints)


def _switch(default: Any, doc: str, unit: str = "switch", **constraints: Any) -> Any:
    """A switch: a flag, mode or optional lever whose default is "off" or the usual mode."""
    return Field(
        default,
        description=doc,
        json_schema_extra={"unit": unit, "source": "switch"},
        **constraints,
    )


# Upper bounds are "absurd" levels, far beyond anything observed, that keep every
# derived quantity finite; each is stated once here or next to its field.
MAX_DOLLARS = 1e13  # $10 trillion: above any firm's balance sheet
MAX_PART_PRICE = 1e6  # $ per GPU: 25x a B200
MAX_LOGIT = 20.0  # a logit utility of 20 is odds of e^20 ~ 5e8 to 1: beyond any preference
MAX_MONTHS = 1200  # a century of months; validation configs use it for "never"
MAX_QUALITY = 12.0  # log10 H100-hours: 1e12 H100-hours is ~1e5 times GPT-4's training compute


class _Section(BaseModel):
    # strict: no silent coercion of "2.5" or true into numbers (ints are accepted as floats);
    # allow_inf_nan=False: NaN and infinity are refused everywhere
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- simulation
class SimulationConfig(_Section):
    start: str = _p(
        "YYYY-MM",
        "2023-01: the first month of the 2023-2024 calibration targets",
        "first simulated month",
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
    )
    steps: int = _p(
        "months",
        "2023-01 .. 2032-12: the decade under study",
        "months simulated",
        gt=0,
        le=MAX_MONTHS,
    )
    hours_per_month: float = _p("hours", "8760 / 12", "hours in a month", ge=28 * 24, le=31 * 24)


# --------------------------------------------------------------------------- GPUs
class VendorConfig(_Section):
    name: str = _p("name", "label", "the vendor's name", min_length=1, max_length=100)
    initial_price: float = _p(
        "$ per part",
        "H100 street price $25-40k in 2023-24 (press estimates); fringe: MI300X ~$15k (press)",
        "price of its current part in January 2023",
        gt=0,
        le=MAX_PART_PRICE,
    )
    capacity_units_per_month: float = _p(
        "parts per month",
        "~1.3M H100 shipped in 2023 (Omdia 1.2-1.5M); fringe ~10-15% of volume (assumption)",
        "output in January 2023",
        gt=0,
        le=1e9,  # 1e9 stands for "never short" in the validation configs
    )
    capacity_growth_per_month: float = _p(
        "fraction per month",
        "CoWoS packaging capacity roughly doubled in 2024 (TrendForce)",
        "maximum growth of capacity when the backlog is at its target",
        ge=0,
        le=1,
    )
    capacity_cost_per_unit_month: float = _p(
        "$ per part/month",
        "assumption: the foundry pays for packaging capacity",
        "what the vendor pays for each part/month of added capacity",
        ge=0,
        le=MAX_PART_PRICE,
    )
    perf_multiplier: float = _p(
        "ratio",
        "assumption (1 for the roadmap's parts)",
        "performance of its parts against the roadmap",
        gt=0,
        le=10,
    )
    cost_multiplier: float = _p(
        "ratio",
        "assumption (1 for the roadmap's parts)",
        "unit cost of its parts against the roadmap",
        gt=0,
        le=10,
    )
    initial_backlog_months: float = _p(
        "months of output",
        "packaging >20% short of demand in 2023 (TrendForce)",
        "orders on the books in January 2023",
        ge=0,
        le=MAX_MONTHS,
    )
    opex_share_of_revenue: float = _p(
        "fraction of revenue",
        "NVIDIA opex ~10-15% of revenue in FY2025 (NVIDIA results)",
        "R&D and SG&A, paid as wages",
        ge=0,
        le=1,
    )
    ecosystem_bonus: float = _p(
        "logit utility",
        "calibrated: ~85-90% share at equal price per H100e, as NVIDIA's data-centre share",
        "what buyers attach to its software ecosystem (CUDA)",
        ge=-MAX_LOGIT,
        le=MAX_LOGIT,
    )
    profit_seeking: bool = _switch(
        True, "price on the clouds' derived demand; false: follow the backlog (tatonnement)"
    )
    floor_markup: float = _p(
        "ratio",
        "0 for the leader; fringe: ~50% gross margin (AMD data-centre GPUs, press)",
        "price floor = mature unit cost x (1 + floor_markup)",
        ge=0,
        le=100,
    )


class GPUConfig(_Section):
    first_generation: str = _p(
        "name", "H100, NVIDIA's 2023 volume part", "the part sold in January 2023", min_length=1
    )
    first_generation_perf: float = _p(
        "H100e per part",
        "1 by definition: the H100 is the unit of compute",
        "performance of a first-generation part",
        gt=0,
        le=100,
    )
    first_generation_unit_cost: float = _p(
        "$ per part",
        "calibrated to NVIDIA's 72.7% FY2024 gross margin (NVIDIA results); BOM ~$3.3k "
        "(Raymond James) plus packaging, memory, boards and systems",
        "cost of goods of a first-generation part",
        gt=0,
        le=MAX_PART_PRICE,
    )
    first_generation_power_kw: float = _p(
        "kW per part",
        "H100 1.4-1.8 kW all-in (DGX specs x PUE 1.1-1.4)",
        "power per part at the facility",
        gt=0,
        le=100,  # a whole 72-GPU rack draws ~120 kW
    )
    perf_gain_per_generation: float = _p(
        "x per generation",
        "A100->H100 2.6-2.9x, H100->B200 2.5-4x tokens/s (MLPerf Inference v4.1/v5.0)",
        "inference throughput gain of each new generation",
        ge=1,
        le=100,
    )
    cost_growth_per_generation: float = _p(
        "x per generation",
        "B200 ~$40k vs H100 ~$27.5k (street estimates); ~+30%/yr perf per $ (Epoch AI)",
        "unit cost and price of each new generation",
        gt=0,
        le=10,
    )
    power_growth_per_generation: float = _p(
        "x per generation",
        "Blackwell 2.0-2.5 kW vs H100 1.6 kW all-in (DGX specs x PUE)",
        "power per part of each new generation",
        gt=0,
        le=10,
    )
    release_interval_months: int = _p(
        "months",
        "H100 (2023) -> B200 (2025) (vendor roadmap)",
        "months between generations",
        gt=0,
        le=MAX_MONTHS,
    )
    next_release_month: int = _p(
        "months",
        "B200 in volume early 2025 (vendor roadmap)",
        "month at whose end the next generation's share of output passes one half (its ramp "
        "begins generation_ramp_months / 2 months earlier)",
        ge=0,
        le=100 * MAX_MONTHS,  # validation configs use 100000 for "never within the run"
    )
    generation_ramp_months: int = _p(
        "months",
        "Blackwell ~34% of NVIDIA's Data Center compute revenue in Nov 2024-Jan 2025 ($11.0B "
        "of $32.6B) and nearly 70% in Feb-Apr 2025 (NVIDIA results): a linear ramp of ~8 "
        "months centred on the release month",
        "months over which a new generation's share of output rises from 0 to 1, centred "
        "on the release month; even (0: the new generation replaces the old at once)",
        ge=0,
        le=MAX_MONTHS,
    )
    launch_cost_premium: float = _p(
        "fraction",
        "NVIDIA's gross margin fell from ~78% (Hopper, Feb-Apr 2024) to ~71% in Feb-Apr 2025 "
        "with Blackwell ~70% of output, and recovered toward the mid-70s as 'Blackwell costs "
        "normalize' (NVIDIA results and guidance)",
        "unit cost of a new generation's first parts above its mature cost; it decays with "
        "launch_cost_decay_months (learning by doing)",
        ge=0,
        le=10,
    )
    launch_cost_decay_months: float = _p(
        "months",
        "as launch_cost_premium",
        "e-folding time of the launch cost premium, from the start of the ramp",
        gt=0,
        le=MAX_MONTHS,
    )
    legacy_perf: float = _p(
        "H100e per part",
        "H100 ~2.6-2.9x an A100 (MLPerf)",
        "performance of a part of the pre-2023 (A100-class) installed base",
        gt=0,
        le=100,
    )
    legacy_power_kw: float = _p(
        "kW per part",
        "assumption: 400 W TDP x PUE ~1.5",
        "power per part of the pre-2023 installed base",
        gt=0,
        le=100,
    )
    price_adjustment_speed: float = _p(
        "log change per unit of excess backlog",
        "calibrated to the 2023-24 vendor margins",
        "backlog-driven price change per month (tatonnement)",
        ge=0,
        le=10,
    )
    max_price_change: float = _p(
        "fraction per month",
        "calibrated: NVIDIA allocated output in the 2023 shortage rather than re-pricing, "
        "its gross margin rising from 65% to 76% over FY2024 (NVIDIA results)",
        "largest monthly price change",
        ge=0,
        le=1,
    )
    price_adjustment: float = _p(
        "fraction per month",
        "calibrated: list prices are revised a few times a year",
        "share of the way to the profit-maximising price moved each month",
        ge=0,
        le=1,
    )
    target_backlog_months: float = _p(
        "months of output",
        "calibrated: 36-52 week server lead times at the 2023 peak were a shortage (Omdia)",
        "backlog the vendor is content with",
        gt=0,
        le=MAX_MONTHS,
    )
    delivery_lead_months: int = _p(
        "months",
        "0 in the baseline; the bullwhip validation sets 12",
        "months from booking an order to its earliest shipment",
        ge=0,
        le=MAX_MONTHS,
    )
    vendors: list[VendorConfig] = _p(
        "table list", "see each key", "the dominant vendor first, then rivals", min_length=1
    )


# --------------------------------------------------------------------------- data centres
class RegionConfig(_Section):
    permitting_months: float = _p(
        "months",
        "US: site 3-6, control 6-12, permits 12-36 months (build.inc); others: assumption",
        "mean duration of site selection and permitting",
        ge=0,
        le=240,  # 20 years; the slowest observed queues (N. Virginia) are 4-7 years
    )
    interconnection_months: float = _p(
        "months",
        "US: 24-48 months, partly parallel to permits (LBNL 'Queued Up'; Bloomberg on "
        "Dominion, 2024); transformers ~128 weeks (industry surveys)",
        "mean wait for a grid hook-up beyond permitting",
        ge=0,
        le=240,
    )
    construction_months: float = _p(
        "months",
        "US: 12-36 months (build.inc)",
        "mean duration of construction, racks and cooling",
        ge=0,
        le=240,
    )
    duration_cv: float = _p(
        "ratio",
        "assumption",
        "coefficient of variation of each stage's (gamma) duration",
        ge=0,
        le=5,
    )
    cost_multiplier: float = _p(
        "ratio",
        "cost per watt: Silicon Valley $13.3, Frankfurt $11.6, Mumbai $6.64 (Turner & Townsend "
        "2025)",
        "building cost against the US average",
        gt=0,
        le=10,
    )
    labour_share: float = _p(
        "fraction", "assumption", "share of building cost that is labour", ge=0, le=1
    )
    labour_premium: float = _p(
        "ratio",
        "US: data-centre trades ~32% wage premium (Bridgit; Bisnow); others: assumption",
        "wage premium on that labour",
        ge=0,
        le=10,
    )


class ColocationConfig(_Section):
    """The wholesale colocation market: developers deliver powered shells that every
    cloud can lease for its projects, with the lease region's shorter durations, at an
    asking rent; deliveries are finite (what the market builds), allocated pro rata to
    the clouds' requests, and what no cloud leases stays vacant for later months.
    Off unless ``enabled`` (then the neoclouds build in ``neocloud_regions``)."""

    enabled: bool = _switch(
        False,
        "the finite colocation market that every cloud may lease powered shells from; "
        "false: none, and the neoclouds build in [neoclouds] regions",
    )

    supply_path: list[Annotated[list[float], Field(min_length=2, max_length=2)]] = _p(
        "[month, MW per year] pairs",
        "primary North American markets (CBRE North America Data Center Trends): supply "
        "+26% to 5,174.1 MW in 2023 (~1,070 MW delivered), +34% to 6,922.6 MW in 2024 "
        "(~1,750 MW); 6,350 MW under construction at end-2024 (3,077.8 a year earlier), "
        "delivered over ~2 years (~3,175 MW a year)",
        "new powered shells the market delivers, linear between points",
        min_length=1,
    )
    growth_per_year: float = _p(
        "fraction per year",
        "LBNL 2024 United States Data Center Energy Usage Report: US data-centre use "
        "176 TWh (2023) to 325-580 TWh (2028), 13-27% a year; the middle",
        "growth of deliveries after the last point of the path",
        ge=0,
        le=10,
    )
    rent_per_kw_month: float = _p(
        "$ per kW-month",
        "CBRE H2 2024: primary-market asking rent ~$184 (250-500 kW, N+1/Tier III); "
        "$163.44 in H2 2023",
        "asking rent of a leased shell, power not included",
        ge=0,
        le=1e4,
    )
    lease_months: float = _p(
        "months",
        "assumption: wholesale leases of 10-15 years (CBRE; Digital Realty, Equinix 10-K)",
        "term a lease commits the tenant to (its premium over owning is paid that long)",
        gt=0,
        le=600,
    )
    region: str = _p(
        "region name",
        "colo: a shell already powered, fit-out in months (CoreWeave S-1 2025)",
        "region whose stage durations a leased project goes through",
    )
    neocloud_regions: list[str] = _p(
        "region names",
        "assumption: what a neocloud cannot lease it builds greenfield (Crusoe Abilene, "
        "CoreWeave Lancaster)",
        "where the neoclouds build their own halls when the market is enabled (instead "
        "of [neoclouds] regions, whose colo region stands for unlimited leased shells)",
        min_length=1,
    )


class DataCentreConfig(_Section):
    cost_per_mw: float = _p(
        "$ per MW",
        "US average $11.7M per MW of IT load, range $9.3-15M (Cushman & Wakefield 2025)",
        "building cost per MW of IT load",
        gt=0,
        le=1e9,  # ~85x the US average
    )
    project_size_mw: float = _p(
        "MW",
        "the 100 MW+ campuses of the lead-time data (build.inc)",
        "IT load of one project",
        gt=0,
        le=10_000,  # the largest announced campuses are a few GW
    )
    lead_time_multiplier: float = _p(
        "ratio",
        "1: stage durations as given per region (a lever)",
        "scales every stage duration",
        gt=0,
        le=100,
    )
    power_headroom: float = _p(
        "ratio",
        "assumption: clouds plan power for the growth they expect over a 3-5 year build",
        "MW planned beyond the fleet installed, waiting and on order, as a share of it",
        ge=0,
        le=1e4,  # the Little's-law validation uses 1e4 for "always wants more"
    )
    max_starts_per_month: int = _p(
        "projects per month",
        "assumption: sites and crews (~81k electricians short a year, BLS)",
        "projects one cloud can start in a month",
        gt=0,
        le=1000,
    )
    regions: dict[str, RegionConfig] = _p(
        "table per region", "see each key", "build regions by name", min_length=1
    )
    colocation: ColocationConfig | None = _switch(
        None,
        "the wholesale colocation market clouds lease powered shells from (unset, or "
        "not enabled: none)",
    )


# --------------------------------------------------------------------------- hyperscalers
class HyperscalerConfig(_Section):
    count: int = _p("clouds", "the big four clouds", "number of hyperscalers", gt=0, le=1000)
    regions: list[str] = _p(
        "region names",
        "three US clouds and one in the EU (assumption)",
        "region of each cloud, cycled",
        min_length=1,
    )
    initial_installed_h100e: float = _p(
        "H100e",
        "assumption: ~1M A100-class parts shipped 2020-22, part of them in other uses",
        "AI fleet installed in January 2023",
        ge=0,
        le=1e9,
    )
    initial_power_headroom: float = _p(
        "ratio", "assumption", "spare energized MW in January 2023", ge=0, le=100
    )
    initial_pipeline_mw: float = _p(
        "MW",
        "calibrated: the ~2 GW of H100s shipped in 2023 (1.3M x 1.6 kW) are mostly installed "
        "within a year",
        "data-centre capacity under way in January 2023, all clouds",
        ge=0,
        le=1e6,  # 1 TW: most of the US grid
    )
    initial_cash: float = _p(
        "$ per cloud",
        "assumption: cash set aside for AI build-out (the big four hold >$300B)",
        "cash at the start",
        ge=0,
        le=MAX_DOLLARS,
    )
    # -- issue 11: integration
    parent_funding_per_year: float = _p(
        "$ per cloud per year",
        "big-4 operating cash flow 2023 ~$345B (Microsoft $88B FY2023, Alphabet $102B, "
        "Amazon $85B, Meta $71B; 10-K filings) less shareholder payouts and non-AI capex; "
        "assumption: about half is free for AI build-out",
        "internal funding the parent company can put into the cloud's AI build-out",
        ge=0,
        le=MAX_DOLLARS,
    )
    own_ai_spend_initial: float = _p(
        "$ per cloud per year",
        "assumption anchored on the big four's own AI fleets: Meta alone planned ~600k H100e "
        "by end-2024 (Zuckerberg, Jan 2024); ~0.5M H100e of own workloads across the four in "
        "2023 at ~$2.5 per GPU-hour",
        "the parent's own AI workloads (ads and feed ranking, search, assistants) in Jan 2023, "
        "as a compute budget",
        ge=0,
        le=MAX_DOLLARS,
    )
    own_ai_spend_growth_per_year: float = _p(
        "x per year",
        "assumption: own AI fleets grew ~2-3x in 2024 (Meta 600k H100e by end-2024 against "
        "~150k H100 bought in 2023; Omdia shipment estimates)",
        "early growth of the own-workload budget (logistic toward the ceiling)",
        ge=1.0,
        le=100.0,
    )
    own_ai_spend_ceiling: float = _p(
        "$ per cloud per year",
        "assumption: ~10% of a parent's ~$300B revenue (big-4 revenue 2024 ~$1.37T, 10-K "
        "filings), below their R&D intensity of 13-15%",
        "where the own-workload budget levels off",
        ge=0,
        le=MAX_DOLLARS,
    )
    own_ai_production_share: float = _p(
        "fraction",
        "Patterson et al. (2022), IEEE Computer: ~3/5 of Google's ML energy in 2019-2021 "
        "was inference, ~2/5 training",
        "share of the parents' own AI compute that is production inference (ranking, search, "
        "assistants, under latency commitments like the labs' serving); with "
        "own_workloads_priority 'last' it runs before the labs, the rest (training and "
        "experiments) after the labs' training",
        ge=0,
        le=1,
    )
    initial_compute_price: float = _p(
        "$ per GPU-hour",
        "H100 ~$4.7 per hour at launch in 2023 (Latent Space)",
        "compute price in January 2023",
        gt=0,
        le=1000,
    )
    target_utilization: float = _p(
        "fraction", "assumption", "utilisation clouds plan their fleets for", gt=0, le=1
    )
    pricing: Literal["profit", "utilization"] = _switch(
        "utilization",
        "compute pricing: 'utilization' (tatonnement on utilisation) or 'profit' "
        "(capacity-constrained Bertrand best response)",
        unit="mode",
    )
    price_adjustment: float = _p(
        "fraction per month",
        "assumption",
        "share of the way to the target (or best-response) price moved each month",
        ge=0,
        le=1,
    )
    max_price_change: float = _p(
        "fraction per month", "assumption", "largest monthly price change", ge=0, le=1
    )
    energy_price_per_kwh: float = _p(
        "$ per kWh",
        "US industrial power; with 1.6 kW gives ~$0.13/h (power ~$0.12 per H100-hour, derived)",
        "price of power",
        ge=0,
        le=10,
    )
    opex_per_gpu_hour: float = _p(
        "$ per GPU-hour", "assumption", "operations and maintenance", ge=0, le=100
    )
    depreciation_months: int = _p(
        "months",
        "5-6 years (MSFT, GOOGL 6; META 5.5; AMZN 5; company filings)",
        "book depreciation life of GPUs, from delivery (retirement is economic: Salter)",
        gt=0,
        le=MAX_MONTHS,
    )
    salter_over_time: bool = _switch(
        False,
        "Salter's rule over time where power binds: a vintage is replaced or displaced "
        "only if the new GPUs' rent per MW over the months until a hall under way powers "
        "them beats the vintage's over the book life it has left (docs/model.md 3.3.15); "
        "false: the static rule, rent per MW now against rent per MW now",
    )
    forecast_smoothing: float = _p(
        "weight", "assumption", "weight of the latest demand in the forecast level", ge=0, le=1
    )
    trend_smoothing: float = _p(
        "weight", "assumption", "weight of the latest growth in the trend", ge=0, le=1
    )
    initial_demand_growth: float = _p(
        "fraction per month",
        "assumption: ~60%/yr growth of AI compute demand expected in 2023",
        "the clouds' belief about demand growth at the start",
        ge=-0.5,
        le=1,
    )
    planning_horizon_months: float = _p(
        "months",
        "server lead times 36-52 weeks at the 2023 peak (Omdia)",
        "months ahead the fleet is sized for",
        gt=0,
        le=MAX_MONTHS,
    )
    max_overbuild: float = _p(
        "ratio",
        "assumption",
        "capacity beyond the forecast when GPUs pay back fast",
        ge=0,
        le=10,
    )
    buyer_price_sensitivity: float = _p(
        "logit weight on log price",
        "assumption",
        "how labs split compute across clouds and clouds split orders across vendors",
        ge=0,
        le=100,
    )
    lead_time_aversion: float = _p(
        "logit utility per month",
        "assumption",
        "utility a cloud loses per month of a vendor's order backlog",
        ge=0,
        le=MAX_LOGIT,
    )
    fixed_compute_price: float | None = _switch(
        None,
        "set: a passive compute layer that posts this price and never rations (validation)",
        unit="$ per GPU-hour",
        gt=0,
        le=1000,
    )
    information_sharing: bool = _switch(
        False,
        "clouds forecast from the labs' total compute needs, not their own order stream",
    )
    # -- 2023 shortage: spillover in the load
    load_counts_spillover: bool = _switch(
        False,
        "a cloud's load (utilisation pricing) counts the labs' compute it sold, demand "
        "spilled over from full rivals included, when that is more than the labs asked of it",
    )
    # -- 2023 shortage: who runs first when capacity binds
    own_workloads_priority: Literal["first", "after_serving", "last"] = _switch(
        "first",
        "when the parents' own workloads run on their cloud's fleet: 'first' (before the "
        "labs); 'after_serving' (after the labs' contracted, latency-bound serving, before "
        "their training); 'last' (its production inference, own_ai_production_share, "
        "first; its training and experiments, planned at cost, run after the labs' serving "
        "and training, which the labs buy at the posted price, on what they leave; its "
        "whole demand still counts in the load that sets the price)",
        unit="mode",
    )
    # -- 2023 shortage: the parents' own budgets by fleet
    own_ai_by_fleet_share: bool = _switch(
        False,
        "each parent's own AI budget in proportion to its cloud's share of the January 2023 "
        "fleet (as its cash is), instead of the same for every parent",
    )
    # -- 2023 shortage: the parents' transfer price
    own_ai_transfer_price: Literal["posted", "user_cost"] = _switch(
        "posted",
        "the price at which a parent's own workloads are planned and charged: the cloud's "
        "posted price, or the user cost of capital of a new GPU (capacity bought for the "
        "parent's own products, priced at cost)",
        unit="mode",
    )
    # -- issue 11: cloud
    cost_of_capital: float = _p(
        "fraction per year",
        "big-tech weighted average cost of capital ~8-9% (analyst WACC estimates for MSFT, "
        "GOOGL, AMZN, 2024)",
        "r in the user cost of capital",
        ge=0,
        le=1,
    )
    physical_wear_per_year: float = _p(
        "fraction per year",
        "assumption: a few %/yr; Meta's Llama 3 run saw 148 faulty GPUs of 16,384 in 54 days "
        "(~6%/yr, most repairable; Llama 3 paper, 2024)",
        "delta in the user cost of capital: failures and degradation",
        ge=0,
        le=1,
    )
    scarcity_rent: float = _p(
        "log price per unit of excess utilisation",
        "calibrated: H100 ~$4.7/h at launch and >$8 spot in the 2023 shortage against a user "
        "cost of ~$2.6 (Latent Space; SemiAnalysis)",
        "how far above the user cost the price tends while utilisation exceeds its target",
        ge=0,
        le=20,
    )
    investment_q_elasticity: float = _p(
        "elasticity",
        "assumption (Tobin's q investment, Hayashi 1982)",
        "how the fleet aimed for responds to q = (price - running cost) / (UC - running cost)",
        ge=0,
        le=20,
    )
    building_life_months: int = _p(
        "months",
        "data-centre shell and M&E plant 15-20 years (Equinix 10-K: buildings 10-40 years, "
        "improvements and equipment 5-20 years)",
        "book depreciation life of data-centre buildings",
        gt=0,
        le=MAX_MONTHS,
    )


# -- issue 11: cloud
class NeocloudConfig(_Section):
    """The competitive fringe of GPU clouds (CoreWeave, Lambda-like). They follow the
    clouds' rules (``[hyperscalers]``) except for these."""

    count: int = _p(
        "firms", "CoreWeave, Lambda, Crusoe-like (assumption)", "neoclouds", ge=0, le=1000
    )
    regions: list[str] = _p(
        "region names",
        "leased colocation shells (assumption)",
        "region of each neocloud, cycled",
        min_length=1,
    )
    initial_installed_h100e: float = _p(
        "H100e",
        "assumption: CoreWeave and Lambda ran a few tens of thousands of GPUs in early 2023 "
        "(CoreWeave >250k by end-2024, S-1 2025)",
        "neoclouds' fleet in January 2023",
        ge=0,
        le=1e9,
    )
    initial_pipeline_mw: float = _p(
        "MW", "assumption", "neoclouds' capacity under way in January 2023", ge=0, le=1e6
    )
    initial_cash: float = _p(
        "$ per neocloud",
        "assumption: CoreWeave raised $2.3B of debt in Aug 2023 (press)",
        "cash at the start",
        ge=0,
        le=MAX_DOLLARS,
    )
    cost_of_capital: float = _p(
        "fraction per year",
        "CoreWeave's GPU-backed loans at ~11-15% (S-1, 2025)",
        "r in a neocloud's user cost of capital",
        ge=0,
        le=1,
    )
    hurdle: float = _p(
        "ratio",
        "assumption",
        "a neocloud adds capacity while price > user cost x (1 + hurdle)",
        ge=0,
        le=10,
    )
    max_fleet_growth_per_month: float = _p(
        "fraction per month",
        "CoreWeave: ~50k GPUs early 2023 to >250k end-2024 (~8%/month; S-1 2025, press)",
        "fastest growth of a neocloud's fleet",
        ge=0,
        le=1,
    )


# -- 2023 shortage: own-use buyers
class OwnUseConfig(_Section):
    """Buyers of the vendors' GPUs outside the modelled compute market: owner-operators
    whose fleets serve their own products, not the modelled labs and users (Chinese
    platforms under US export controls, Tesla and xAI, enterprises and governments
    buying through server makers). ``initial_budget_per_year = 0``: none."""

    initial_budget_per_year: float = _p(
        "$ per year",
        "0 in the baseline (off until adopted); when on, 7e9 is calibrated: about a fifth "
        "of 2023 H100 shipments, the own-use buyers' share of Omdia's named 2023 buyers "
        "(Tencent 50k, Baidu 30k, Alibaba 25k, ByteDance 20k, Tesla 15k of ~650k named: "
        "Meta, Microsoft 150k; Google, Amazon, Oracle 50k; CoreWeave 40k; Lambda 20k)",
        "their GPU budget in January 2023 (0: no own-use buyers)",
        ge=0,
        le=MAX_DOLLARS,
    )
    budget_growth_per_year: float = _p(
        "x per year",
        "assumption, as the big four's parents' own AI budgets; Omdia 2024: ByteDance and "
        "Tencent ~230k Hopper each, Tesla and xAI ~200k, against ~140k in 2023",
        "early growth of their budget (logistic toward the ceiling)",
        ge=1.0,
        le=100.0,
    )
    budget_ceiling_per_year: float = _p(
        "$ per year",
        "assumption: about one big-four parent's own AI ceiling",
        "where their budget levels off",
        ge=0,
        le=MAX_DOLLARS,
    )


# --------------------------------------------------------------------------- model developers
class ModelDeveloperConfig(_Section):
    frontier_count: int = _p(
        "labs",
        "OpenAI, Anthropic, Google DeepMind, Meta",
        "frontier labs (train and serve their own models)",
        ge=0,
        le=1000,
    )
    open_weight_hosts: int = _p(
        "hosts",
        "assumption: Together, Fireworks-like hosts",
        "hosts serving open-weight models near cost",
        ge=0,
        le=1000,
    )
    initial_quality: float = _p(
        "log10 H100-hours",
        "GPT-4: ~2e25 FLOP ~ 1.6e7 H100-hours at 40% utilisation (Epoch AI)",
        "effective training compute of the best model in January 2023",
        ge=0,
        le=MAX_QUALITY,
    )
    quality_spread: float = _p(
        "log10 H100-hours",
        "assumption",
        "gap of the weakest frontier lab to the best",
        ge=0,
        le=MAX_QUALITY,
    )
    open_weight_gap: float = _p(
        "log10 H100-hours",
        "assumption: open models ~a year and a half behind",
        "gap of open-weight models to the best",
        ge=0,
        le=MAX_QUALITY,
    )
    tokens_per_gpu_hour: float = _p(
        "tokens per GPU-hour",
        "frontier models 30-100 tok/s per GPU under latency limits (serving benchmarks); "
        "70B offline peak ~2.8M/h (MLPerf)",
        "practical (latency-limited) serving throughput of a reference-quality model on an "
        "H100e in January 2023; it scales with 1/active parameters and never exceeds the "
        "hardware bound (serving section)",
        gt=0,
        le=1e9,  # ~280k tokens/s per GPU, 100x the offline peak of a 70B model
    )
    reference_quality: float = _p(
        "log10 H100-hours",
        "the quality at which tokens_per_gpu_hour applies",
        "reference model size for serving throughput",
        ge=0,
        le=MAX_QUALITY,
    )
    serving_algo_gain_per_year: float = _p(
        "x per year",
        "assumption: quantisation, batching, speculative decoding, MoE; with hardware and "
        "training gains the cost at fixed capability falls ~5-6x/yr, short of the ~10x/yr "
        "price fall (a16z)",
        "practical tokens per GPU-hour gained from serving software, until the hardware bound",
        ge=1,
        le=100,
    )
    training_algo_gain_per_year: float = _p(
        "x per year",
        "about 3x/yr less compute for the same capability (Epoch AI 2024)",
        "effective compute per GPU-hour gained from algorithms",
        ge=1,
        le=100,
    )
    initial_cash_frontier: float = _p(
        "$ per lab",
        "assumption: cash before the 2023 rounds (Anthropic had raised ~$0.7B by end-2022, "
        "press); the 2023 rounds (OpenAI $10B, Anthropic ~$1.5B+) come from the venture pool",
        "mean cash of a frontier lab at the start",
        ge=0,
        le=MAX_DOLLARS,
    )
    initial_cash_open: float = _p(
        "$ per host", "assumption", "cash of an open-weight host at the start", ge=0, le=MAX_DOLLARS
    )
    training_window_months: int = _p(
        "months",
        "assumption",
        "months of training compute that make up a model generation",
        gt=0,
        le=MAX_MONTHS,
    )
    training_price_elasticity: float = _p(
        "elasticity",
        "assumption: above 1, dearer compute means less training spend",
        "training GPU-hours against the compute price relative to its trend",
        ge=0,
        le=10,
    )
    initial_price_frontier: float = _p(
        "$ per million tokens",
        "GPT-4 $30/$60 in/out, blended 3:1 (OpenAI price lists)",
        "frontier labs' token price in January 2023",
        gt=0,
        le=10_000,
    )
    initial_price_open: float = _p(
        "$ per million tokens",
        "GPT-3.5-turbo $2 (OpenAI, Mar 2023); open 70B hosting ~$0.9 later in 2023 (price lists)",
        "open-weight hosts' token price in January 2023",
        gt=0,
        le=10_000,
    )
    price_adjustment: float = _p(
        "fraction per month",
        "assumption",
        "share of the way to the profit-maximising price moved each month",
        ge=0,
        le=1,
    )
    price_search_width: float = _p(
        "log price",
        "assumption",
        "candidate prices run from exp(-width) to exp(width) times today's",
        gt=0,
        le=5,
    )
    price_candidates: int = _p(
        "prices", "assumption", "candidate prices each price setter weighs", ge=3, le=101
    )
    demand_sample_users: int = _p(
        "users per segment",
        "assumption",
        "size of each provider's market-research panel",
        gt=0,
        le=100_000,  # the panel's demand curves are panel x 48 grid points per segment
    )
    staff_cost_per_month: float = _p(
        "$ per month",
        "assumption (open-weight hosts pay a fifth)",
        "staff cost of a frontier lab",
        ge=0,
        le=1e11,
    )
    # -- issue 11: venture
    final_run_share: float = _p(
        "fraction",
        "Epoch AI: final training runs are a minority of labs' R&D compute (OpenAI 2024: "
        "~$5B R&D compute, final runs of released models a small part of it)",
        "share of a lab's training compute that goes into the model it releases",
        gt=0,
        le=1,
    )
    model_life_months: float = _p(
        "months",
        "a frontier model earns for 12-24 months before it is superseded (ECONOMICS 4; "
        "release cadence of GPT-4, Claude 3, Gemini); 0 switches training off",
        "months a model's quality gain earns revenue",
        ge=0,
        le=MAX_MONTHS,
    )
    discount_rate_per_year: float = _p(
        "fraction per year",
        "assumption: venture-backed cost of capital, VC target returns ~25-35%/yr",
        "rate labs discount a model's future revenue at",
        ge=0,
        le=10,
    )
    expected_growth_prior_per_year: float = _p(
        "x per year",
        "assumption: AI model revenue roughly doubled a year in 2023-24 (press)",
        "market revenue growth labs expect before they have seen any",
        gt=0,
        le=100,
    )
    max_expected_growth_per_year: float = _p(
        "x per year",
        "assumption: no lab plans on its market more than tripling a year",
        "cap on the market growth labs extrapolate",
        gt=0,
        le=100,
    )
    expectation_weight: float = _p(
        "weight per month",
        "assumption: adaptive expectations over about a year",
        "weight of the latest month in labs' revenue and growth expectations",
        gt=0,
        le=1,
    )
    first_party_apps: bool = _switch(False, "labs' own apps compete with wrapper startups")
    first_party_app_bonus: float = _p(
        "logit utility",
        "assumption: as a typical wrapper's app_bonus",
        "utility of a lab's own app for app-loving users (when first_party_apps)",
        ge=-MAX_LOGIT,
        le=MAX_LOGIT,
    )
    direct_sales: bool = _switch(
        True, "labs sell to users directly; false: only wholesale, through startups"
    )
    # -- issue 11b: expect
    compute_price_level_weight: float = _p(
        "weight per month",
        "assumption: Holt (1957) smoothing constants of 0.1-0.3 are usual for monthly "
        "series (Gardner 1985)",
        "weight of the latest compute price paid in the level labs expect",
        gt=0,
        le=1,
    )
    compute_price_trend_weight: float = _p(
        "weight per month",
        "assumption: trend constants 0.05-0.2 (Gardner 1985); about a year of memory",
        "weight of the latest change of that level in the trend labs expect",
        gt=0,
        le=1,
    )
    max_compute_price_trend_per_year: float = _p(
        "x per year",
        "H100 rental fell from ~$8 to ~$2 per GPU-h over 2023-2025 (press, SemiAnalysis), "
        "about 2x a year, the fastest sustained move on record",
        "bound on the compute price trend labs extrapolate, up or down",
        ge=1,
        le=10,
    )


# --------------------------------------------------------------------------- startups
class StartupConfig(_Section):
    # each startup is an agent and a column of the retail market; 1e5 keeps a step in minutes
    initial_count: int = _p(
        "startups", "assumption", "wrapper and AI-SaaS startups at the start", ge=0, le=100_000
    )
    max_count: int = _p("startups", "assumption", "most startups alive at once", ge=0, le=100_000)
    entry_rate_per_month: float = _p(
        "startups per month",
        "assumption",
        "new startups per month at a normal VC climate and margins",
        ge=0,
        le=10_000,
    )
    seed_round: float = _p(
        "$", "assumption: typical AI seed rounds $3-15M", "seed round", gt=0, le=1e10
    )
    burn_per_month_median: float = _p("$ per month", "assumption", "median base burn", ge=0, le=1e9)
    burn_sigma: float = _p(
        "log-sd", "assumption", "spread of base burn across startups", ge=0, le=5
    )
    initial_markup: float = _p(
        "ratio",
        "AI app gross margins 25-60% (Bessemer 2025)",
        "retail price over token cost, minus 1",
        ge=0,
        le=100,
    )
    markup_adjustment: float = _p(
        "fraction per month",
        "assumption",
        "share of the way to the profit-maximising markup moved each month",
        ge=0,
        le=1,
    )
    app_bonus: float = _p(
        "logit utility",
        "assumption",
        "mean utility an app adds for app-loving users",
        ge=-MAX_LOGIT,
        le=MAX_LOGIT,
    )
    app_bonus_sigma: float = _p(
        "logit utility", "assumption", "spread of app_bonus across startups", ge=0, le=MAX_LOGIT
    )
    supplier_switch_probability: float = _p(
        "probability per month",
        "assumption",
        "chance that a startup reviews its supplier",
        ge=0,
        le=1,
    )
    crowding_reference: float = _p(
        "apps",
        "assumption",
        "apps share attention: their joint appeal is that of this many apps",
        gt=0,
        le=1e6,
    )
    raise_runway_months: float = _p(
        "months", "assumption", "raise when runway falls below this", gt=0, le=MAX_MONTHS
    )
    round_runway_months: float = _p(
        "months", "assumption", "months of burn a round buys", gt=0, le=MAX_MONTHS
    )

    # -- issue 11: venture
    growth_spend_share: float = _p(
        "ratio",
        "assumption: growth-stage software firms reinvest most gross profit in hiring "
        "and sales; below 1 a startup can become self-funding",
        "headcount plan: burn = max(base burn, this x gross profit)",
        ge=0,
        le=10,
    )
    acquisition_probability: float = _p(
        "probability per month",
        "assumption: most venture exits are acquisitions (PitchBook-NVCA Venture Monitor)",
        "chance a self-funding startup is bought",
        ge=0,
        le=1,
    )


# --------------------------------------------------------------------------- venture capital
ClimatePoint = Annotated[list[float], Field(min_length=2, max_length=2)]


class VCConfig(_Section):
    climate: float = _p(
        "index",
        "1 = normal; VC funding to AI 2023 ~$42-55B, 2024 ~$100-110B (Crunchbase, CB Insights, "
        "PitchBook)",
        "venture-capital climate, multiplies the path",
        ge=0,
        le=100,
    )
    climate_path: list[ClimatePoint] = _p(
        "[month, index] pairs",
        "calibrated: 2024 about double 2023 ($42-55B -> $100-110B; Crunchbase, PitchBook)",
        "climate over time, linear between points, held after the last; [] = constant",
    )
    lab_round_runway_months: float = _p(
        "months", "assumption", "months of burn a lab's round buys", gt=0, le=MAX_MONTHS
    )
    lab_raise_runway_months: float = _p(
        "months", "assumption", "labs raise when runway falls below this", gt=0, le=MAX_MONTHS
    )
    # -- issue 11: venture
    supply_per_year: float = _p(
        "$ per year",
        "calibrated: VC funding to AI 2023 ~$42-55B, 2024 ~$100-110B (Crunchbase, CB Insights, "
        "PitchBook), with the climate path",
        "AI venture capital limited partners commit a year at climate 1 and normal returns",
        ge=0,
        le=MAX_DOLLARS,
    )
    global_venture_per_year: float = _p(
        "$ per year",
        "global venture funding ~$285B (2023), ~$314B (2024), peak ~$640B (2021) (Crunchbase)",
        "all the world's venture capital, the AI pool's outer bound",
        ge=0,
        le=MAX_DOLLARS,
    )
    max_ai_share: float = _p(
        "fraction",
        "AI took about a third of global venture funding in 2024 (Crunchbase); assumption: "
        "never more than half",
        "most of global venture capital the AI pool can draw",
        ge=0,
        le=1,
    )
    dry_powder_months: float = _p(
        "months",
        "a venture fund's investment period is typically 5 years (Metrick & Yasuda 2010, "
        "RFS 23); commitments not called in it lapse",
        "mean months uninvested money waits before it goes back to limited partners",
        gt=0,
        le=MAX_MONTHS,
    )
    max_round_share: float = _p(
        "fraction",
        "assumption: OpenAI's $6.6B round (2024) was ~6% of that year's AI venture funding",
        "largest share of the pool one round may take",
        gt=0,
        le=1,
    )
    hurdle_growth: float = _p(
        "log growth per year",
        "assumption: venture investors back growth; a firm expected to shrink gets no round",
        "expected revenue growth below which an ask is refused",
        ge=-10,
        le=100,
    )
    normal_return: float = _p(
        "log growth per year",
        "calibrated: AI model revenue roughly doubled a year in 2023-24 (press), ln 2",
        "realised return (revenue growth plus net exits) at which supply is on its path",
        ge=-10,
        le=10,
    )
    return_elasticity: float = _p(
        "elasticity",
        "assumption: commitments follow past returns (Gompers & Lerner 1998)",
        "log supply per unit of expected return above normal",
        ge=0,
        le=10,
    )
    expectation_weight: float = _p(
        "weight per month",
        "assumption: extrapolative expectations over about a year (Greenwood & Shleifer 2014)",
        "weight of the latest month's realised return in investors' expectation",
        gt=0,
        le=1,
    )
    exit_revenue_multiple: float = _p(
        "years of revenue",
        "assumption: software acquisitions at ~5-10x annual revenue (press)",
        "what an acquirer pays for a startup",
        ge=0,
        le=100,
    )
    # -- issue 11b: vcdeploy
    deployment_months: float = _p(
        "months",
        "PitchBook-NVCA Venture Monitor: US VC dry powder ~$300B against ~$170B invested in "
        "2023, about 2 years of deployment",
        "investors aim to place the pool over this many months (1/this of it a month)",
        gt=0,
        le=MAX_MONTHS,
    )
    round_elasticity: float = _p(
        "elasticity",
        "assumption: fund inflows raise round sizes and valuations (money chasing deals, "
        "Gompers & Lerner 2000, JFE 55); 1 = rounds absorb the money paced out, up to what "
        "firms accept",
        "round size per unit of log(money paced out / asks) while the money exceeds the asks",
        ge=0,
        le=10,
    )
    payout_reserve_months: float = _p(
        "months",
        "assumption: venture-backed firms raise ~18-36 months of runway (2-3 years in the hot "
        "2023-24 AI rounds); cash beyond need is free cash flow paid to owners (Jensen 1986, "
        "AER 76)",
        "months of planned net burn (runway) a lab or startup keeps in cash; it accepts "
        "rounds up to its reserve and pays out cash above it",
        gt=0,
        le=MAX_MONTHS,
    )
    reserve_memory_months: int = _p(
        "months",
        "assumption: a year of plans; firms with volatile cash flows hold more cash (Opler, "
        "Pinkowitz, Stulz & Williamson 1999, JFE 52)",
        "the runway in a firm's reserve covers the highest net burn it planned this long",
        ge=1,
        le=120,
    )
    liquidity_months: float = _p(
        "months",
        "assumption: a precautionary cash buffer of a quarter's spending (firms with risky "
        "cash flows hold more cash, Opler, Pinkowitz, Stulz & Williamson 1999, JFE 52)",
        "months of planned gross spending a lab or startup keeps on top of its runway",
        ge=0,
        le=MAX_MONTHS,
    )

    @field_validator("climate_path")
    @classmethod
    def _points_in_range(cls, path: list[list[float]]) -> list[list[float]]:
        months = [m for m, _ in path]
        if len(set(months)) != len(months):
            raise ValueError("each month may appear once")
        if any(not 0 <= m <= 100 * MAX_MONTHS for m in months):
            raise ValueError(f"months must lie in [0, {100 * MAX_MONTHS}]")
        if any(not 0 <= level <= 100 for _, level in path):
            raise ValueError("climate levels must lie in [0, 100], as vc.climate")
        return path


# -- issue 11: credit
class CreditConfig(_Section):
    """Credit lines: limits, interest and what lenders recover when a firm defaults."""

    interest_rate_per_month: float = _p(
        "fraction per month",
        "assumption: ~5% a year, near US investment-grade corporate yields in 2023-24",
        "interest on every firm's debt",
        ge=0,
        le=0.1,  # 10% a month is 214% a year
    )
    max_leverage: float = _p(
        "years of EBITDA",
        "6x total debt / EBITDA raises concern (US Interagency Guidance on Leveraged Lending, "
        "2013)",
        "debt limit: at most this many times trailing 12-month EBITDA",
        ge=0,
        le=100,
    )
    min_interest_cover: float = _p(
        "ratio",
        "assumption: a typical maintenance covenant, EBITDA / interest of 2-3x, at its low end",
        "debt limit: trailing EBITDA at least this many times a year's interest",
        gt=0,
        le=100,
    )
    loan_to_value: float = _p(
        "fraction",
        "assumption: equipment loans advance ~50-80% of resale value; GPU-backed facilities "
        "(CoreWeave 2023-24) do not publish theirs",
        "debt limit of a firm with a fleet: this share of its fleet's and buildings' resale value",
        ge=0,
        le=1,
    )
    fire_sale_discount: float = _p(
        "fraction",
        "assumption within 30-50%: distressed sellers sell to constrained industry buyers below "
        "value (Shleifer & Vishny 1992)",
        "discount on the resale value at which a defaulted cloud's assets sell to rivals",
        ge=0,
        lt=1,
    )


# --------------------------------------------------------------------------- end users
class SegmentConfig(_Section):
    name: str = _p("name", "label", "the segment's name", min_length=1, max_length=100)
    population: float = _p(
        "people or firms",
        "programmers: 27-30M professional developers (SlashData, Evans Data); others: assumption",
        "real users the segment stands for",
        gt=0,
        le=1e10,  # more than the world's population
    )
    initial_adoption: float = _p(
        "fraction", "assumption", "share who have adopted in January 2023", ge=0, le=1
    )
    bass_p: float = _p(
        "per year",
        "typical p ~0.03 (Bass 1969; meta-analyses)",
        "Bass coefficient of innovation",
        ge=0,
        le=10,
    )
    bass_q: float = _p(
        "per year",
        "typical q ~0.38 (Bass 1969; meta-analyses); developers faster (assumption)",
        "Bass coefficient of imitation",
        ge=0,
        le=10,
    )
    value_per_task_median: float = _p(
        "$ per task",
        "calibrated: ~$10-20 a month per adopted user (Copilot $10, ChatGPT Plus $20)",
        "median reference task value: tasks_per_month of a user's tasks are worth more",
        gt=0,
        le=1e6,
    )
    value_sigma: float = _p("log-sd", "assumption", "spread of that value across users", ge=0, le=5)
    tasks_per_month: float = _p(
        "tasks per month",
        "assumption",
        "median tasks a month worth at least the user's reference value (January 2023)",
        gt=0,
        le=1e9,
    )
    tasks_sigma: float = _p("log-sd", "assumption", "spread of tasks across users", ge=0, le=5)
    tokens_per_task: float = _p(
        "tokens per task",
        "assumption",
        "median tokens per task, context included, in January 2023",
        gt=0,
        le=1e7,  # 10M tokens: ten times the longest context windows
    )
    tokens_sigma: float = _p(
        "log-sd", "assumption", "spread of tokens per task across users", ge=0, le=5
    )
    elasticity_scale: float = _p(
        "ratio",
        "enterprise compute is inelastic (Jiang, Lee & Zomaya); others 1",
        "multiplies end_users.price_elasticity",
        gt=0,
        le=10,
    )
    app_affinity: float = _p(
        "weight",
        "assumption: developers use IDE apps, product tools embed AI",
        "how much the segment values an app's bonus",
        ge=-10,
        le=10,
    )
    simulated_share: float = _p(
        "weight",
        "1: simulated users split evenly across segments",
        "share of the simulated users given to this segment, relative to the others",
        gt=0,
        le=1e6,
    )
    # -- issue 11: demand
    income_per_month: float = _p(
        "$ per month",
        "people: BLS OEWS May 2023 US medians (software developers ~$132k, project management "
        "specialists ~$99k, all occupations ~$48k a year) times 1/3 for the world (assumption); "
        "firms: Gartner 2024 software + IT services ~$2.7T a year (assumption: half in these firms)",
        "median monthly pay of a user (firms: software and IT-services budget) that AI work can "
        "stand in for; users' budgets for AI are a share of it",
        gt=0,
        le=MAX_DOLLARS,
    )


class EndUserConfig(_Section):
    # no upper bound of its own: the memory guard below refuses what this machine cannot hold
    simulated_users: int = _p(
        "users",
        "resolution, not calibration: aggregates are in real units at any size",
        "simulated individuals over all segments, each with a population weight",
        gt=0,
    )
    price_elasticity: float = _p(
        "elasticity",
        "1.1 within model (NBER working paper, 2025); the 1.5-2.5 measured with new uses is "
        "modelled as separate demand shifts",
        "within-user price elasticity of tasks done",
        gt=0,
        le=10,
    )
    price_sensitivity: float = _p(
        "logit weight on log price",
        "calibrated to lab gross margins ~40-60% (press)",
        "weight on log price when choosing a provider",
        ge=0,
        le=100,
    )
    quality_sensitivity: float = _p(
        "logit weight per quality unit",
        "assumption",
        "weight on model quality when choosing a provider",
        ge=0,
        le=100,
    )
    # -- issue 11, nested choice: capability classes
    nested_choice: bool = _switch(
        False,
        "nested logit over capability classes (frontier, each distilled tier, open "
        "weights); false: the plain logit (class_quality_sensitivity and "
        "nest_dissimilarity unused)",
    )
    class_quality_sensitivity: float = _p(
        "logit weight per quality unit",
        "assumption: users whose work needs a frontier-class model do not drop to a small "
        "one for a 20x discount (OpenRouter/a16z 2025: proprietary models ~70% of tokens, "
        "low price elasticity; Fradkin 2025: vertical differentiation)",
        "weight on a capability class's mean quality when choosing a class (nested "
        "logit); quality_sensitivity stays the weight on quality within a class",
        ge=0,
        le=100,
    )
    nest_dissimilarity: float = _p(
        "lambda, 0-1",
        "assumption: models of one class are close substitutes (frontier labs cut prices "
        "after each other in 2024); no estimate for LLMs (Fradkin 2025 is descriptive: "
        "substitution, market expansion and multihoming on OpenRouter)",
        "nested-logit dissimilarity within a class: 1 is the plain logit, smaller makes "
        "models of one class closer substitutes",
        gt=0,
        le=1,
    )
    value_per_quality: float = _p(
        "log value per quality unit",
        "assumption: a 10x-compute model makes tasks ~1.35x as valuable",
        "how much more a task is worth on a better model",
        ge=0,
        le=10,
    )
    switching_rate: float = _p(
        "fraction per month",
        "assumption",
        "share of users who reconsider their provider each month",
        ge=0,
        le=1,
    )
    tokens_per_task_growth_per_year: float = _p(
        "x per year",
        "reasoning and agents multiply tokens per task 5-30x (industry reports)",
        "initial growth of tokens per task",
        gt=0,
        le=100,
    )
    tokens_per_task_max_multiplier: float = _p(
        "ratio",
        "assumption: agent runs of ~1M tokens against 2023's ~1-3k-token chat turns; "
        "far above the 5-30x of reasoning and agents so far (industry reports)",
        "where that growth levels off (a ceiling no run reaches within 2023-2032)",
        ge=1,
        le=1e12,  # the bullwhip validation uses 1e12 for "never levels off"
    )
    value_range: float = _p(
        "ratio",
        "assumption",
        "a user's most valuable task over their reference value",
        gt=1,
        le=1e15,  # the textbook limits use 1e12 for "no truncation in reach"
    )
    bass: bool = _switch(True, "Bass diffusion of adoption; false: adoption stays put")
    demand_noise_sigma: float = _p(
        "log-sd",
        "0 in the baseline; the bullwhip validation sets 0.03",
        "segment-wide AR(1) shock to tasks per month",
        ge=0,
        le=5,
    )
    demand_noise_persistence: float = _p(
        "AR(1) coefficient",
        "0 in the baseline; the bullwhip validation sets 0.9",
        "persistence of that shock",
        ge=0,
        lt=1,
    )
    segments: list[SegmentConfig] = _p(
        "table list", "see each key", "end-user segments", min_length=1
    )
    # -- issue 11: demand
    value_floor_ratio: float = _p(
        "ratio",
        "assumption: demand for computing stayed elastic through a ~1e10-fold fall in its "
        "cost (Nordhaus 2007); so deep that few users reach it by 2032",
        "a user's reference value over their least valuable task (where satiation starts)",
        ge=1,
        le=1e12,
    )
    tasks_per_quality: float = _p(
        "log tasks per quality unit",
        "calibrated: 2024 token volume growth (Microsoft, Google); below METR's ~3x a year "
        "growth of the task length models complete (Kwa et al. 2025)",
        "how many more tasks users hand to models as the frontier improves",
        ge=0,
        le=10,
    )
    ai_budget_share_start: float = _p(
        "fraction",
        "Eloundou et al. 2023 (Science 2024): an LLM alone could at least halve the time of "
        "~15% of US workers' tasks, so AI could stand in for ~0.15 x 0.5 of their work in 2023",
        "the most of their income (firms: IT budget) users would spend on AI in January 2023; "
        "its odds grow with the tasks better models unlock, so it rises toward 1, never above",
        gt=0,
        le=1,
    )


# --------------------------------------------------------------------------- serving
# -- issue 11: serving
class ServingConfig(_Section):
    """The hardware bound on decode throughput, model size from training compute, and
    the distilled tiers each frontier lab serves (see abm/market/serving.py)."""

    hbm_bandwidth: float = _p(
        "bytes per second",
        "H100 SXM: 3.35 TB/s HBM3 (NVIDIA H100 datasheet)",
        "memory bandwidth of one H100e",
        gt=0,
        le=1e15,
    )
    serving_peak_flops: float = _p(
        "FLOP per second",
        "H100 SXM: 1,979 TFLOP/s dense FP8 (NVIDIA H100 datasheet)",
        "peak dense compute of one H100e at the serving precision",
        gt=0,
        le=1e18,
    )
    compute_efficiency: float = _p(
        "fraction",
        "assumption: upper end of the 0.3-0.5 of peak reached by large-batch decode "
        "(Pope et al. 2022, Efficiently Scaling Transformer Inference)",
        "achieved share of peak FLOP/s in the compute-bound regime",
        gt=0,
        le=1,
    )
    bytes_per_param: float = _p(
        "bytes per parameter",
        "FP8 weights, the usual H100 serving precision from 2024 (vLLM, TensorRT-LLM docs)",
        "bytes read per active parameter per decode step",
        gt=0,
        le=8,
    )
    max_batch: float = _p(
        "sequences per GPU",
        "vLLM's default max_num_seqs = 256 (vLLM engine arguments)",
        "largest decode batch the bound allows",
        gt=0,
        le=1e6,
    )
    kv_bytes_ratio: float = _p(
        "ratio",
        "Llama 3 70B (GQA, 8 KV heads, 80 layers): ~160 kB of FP8 KV per context token "
        "against 70 GB of weights (Meta 2024) x ~2,000 tokens of mean context (assumption)",
        "KV-cache bytes one sequence reads per decode step over the active weight bytes",
        ge=0,
        le=10,
    )
    training_peak_flops: float = _p(
        "FLOP per second",
        "H100 SXM: 989 TFLOP/s dense BF16 (NVIDIA H100 datasheet)",
        "peak compute of one H100e in training",
        gt=0,
        le=1e18,
    )
    training_mfu: float = _p(
        "fraction",
        "GPT-4: ~2e25 FLOP ~ 1.6e7 H100-hours at ~40% utilisation (Epoch AI)",
        "model FLOP utilisation of training runs",
        gt=0,
        le=1,
    )
    tokens_per_param: float = _p(
        "tokens per parameter",
        "compute-optimal D = 20 P (Hoffmann et al. 2022, Chinchilla)",
        "training tokens per parameter: with C = 6 P D, P = sqrt(C / (6 x this))",
        gt=0,
        le=1e5,
    )
    active_param_fraction: float = _p(
        "fraction",
        "calibrated: GPT-4 reportedly ~280B active parameters (SemiAnalysis 2023) against "
        "the ~430B Chinchilla-dense size of its compute; mixture-of-experts models are "
        "trained on more tokens per active parameter",
        "active parameters over the Chinchilla-optimal dense size",
        gt=0,
        le=1,
    )
    distilled_tiers: int = _p(
        "tiers per frontier lab",
        "assumption: GPT-4o mini, Claude Haiku, Gemini Flash and Flash-8B (price lists)",
        "cheaper distilled models each frontier lab serves besides its frontier model",
        ge=0,
        le=5,
    )
    distilled_gap: float = _p(
        "log10 H100-hours per tier",
        "assumption: below the 0.8 raw-compute gap of Llama 3.1 70B to 405B (Meta 2024), "
        "a distilled, over-trained model being worth more than its compute",
        "quality gap of each tier to the one above it",
        gt=0,
        le=MAX_QUALITY,
    )
    distilled_param_fraction: float = _p(
        "fraction per tier",
        "Llama 3.1: 70B / 405B = 0.17, 8B / 70B = 0.11 (Meta 2024)",
        "active parameters of each tier over those of the model above it",
        gt=0,
        lt=1,
    )
    # -- issue 11b: expect
    release_quality_gain: float = _p(
        "log10 H100-hours",
        "assumption: frontier labs release a new model about every 6 months (GPT-4, 4 "
        "Turbo, 4o, o1 in 2023-24; Claude 3, 3.5, 3.5 new, 3.7, 4 in 2024-25), while "
        "frontier effective compute grows ~1 log10 a year (Epoch AI)",
        "quality gain of a lab's model since its tiers were last distilled that makes a "
        "release, at which its tiers are distilled anew",
        gt=0,
        le=MAX_QUALITY,
    )
    fixed_size_tiers: int = _p(
        "tiers per frontier lab",
        "assumption: the smallest models keep their price point across generations "
        "(Llama 3 8B -> 3.1 8B; Gemini Flash-8B; GPT-4o mini), each generation putting "
        "better algorithms into the same size",
        "how many of a lab's lowest tiers keep the size of their first distillation: at "
        "each release such a tier is distilled from the new model, ``rank`` gaps below "
        "it, but no better than a model of its size can be (``max_overtraining``)",
        ge=0,
        le=5,
    )
    max_overtraining: float = _p(
        "ratio",
        "Meta (2024), The Llama 3 Herd of Models: Llama 3 8B was trained on ~15T tokens, "
        "~1,900 per parameter, ~94x Chinchilla's 20",
        "training tokens per parameter of the most over-trained small models, over the "
        "compute-optimal ``tokens_per_param``: what a model of fixed size can hold is "
        "the quality of that much compute",
        ge=1,
        le=1e4,
    )


# --------------------------------------------------------------------------- top level
class _CrossFieldError(ValueError):
    """A rule that ties several keys together; ``keys`` says which, for the error's origin."""

    def __init__(self, message: str, keys: tuple[str, ...]) -> None:
        super().__init__(message)
        self.keys = keys


class Config(_Section):
    name: str = Field(
        description="run name: the directory under results/ (defaults to the file's name)",
        json_schema_extra={
            "unit": "name",
            "source": "label",
            "range": "letters, digits, _ . - (not first), at most 100",
        },
    )
    description: str = Field(
        "",
        description="one line on what the config represents",
        json_schema_extra={"unit": "text", "source": "label"},
    )
    simulation: SimulationConfig
    gpu: GPUConfig
    datacenters: DataCentreConfig
    hyperscalers: HyperscalerConfig
    neoclouds: NeocloudConfig  # -- issue 11: cloud
    own_use: OwnUseConfig  # -- 2023 shortage: own-use buyers
    model_developers: ModelDeveloperConfig
    startups: StartupConfig
    vc: VCConfig
    end_users: EndUserConfig
    credit: CreditConfig  # -- issue 11: credit
    # -- issue 11: serving
    serving: ServingConfig

    @field_validator("name")
    @classmethod
    def _one_path_component(cls, name: str) -> str:
        if not re.fullmatch(NAME_PATTERN, name) or len(name) > 100:
            raise ValueError(
                "a name becomes a directory under results/: up to 100 letters, digits, "
                "'_', '.' or '-', starting with a letter or digit"
            )
        return name

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        unknown = [
            r
            for r in [*self.hyperscalers.regions, *self.neoclouds.regions]
            if r not in self.datacenters.regions
        ]
        if unknown:
            raise _CrossFieldError(
                f"hyperscalers.regions names {unknown[0]!r}, which is not in datacenters.regions "
                f"({', '.join(sorted(self.datacenters.regions))})",
                ("hyperscalers.regions", "datacenters.regions"),
            )
        ramp = self.gpu.generation_ramp_months
        if ramp % 2:
            raise _CrossFieldError(
                f"gpu.generation_ramp_months ({ramp}) must be even: the ramp is centred on the "
                "end of the release month, so it mixes the generations in an even number of "
                "months (an odd value would mix them in one month fewer than it says)",
                ("gpu.generation_ramp_months",),
            )
        if 2 * self.gpu.next_release_month < ramp:
            raise _CrossFieldError(
                f"gpu.next_release_month ({self.gpu.next_release_month}) is less than half of "
                f"gpu.generation_ramp_months ({ramp}): the first ramp would have begun before "
                "the run starts",
                ("gpu.next_release_month", "gpu.generation_ramp_months"),
            )
        if ramp > self.gpu.release_interval_months:
            raise _CrossFieldError(
                f"gpu.generation_ramp_months ({ramp}) exceeds "
                f"gpu.release_interval_months ({self.gpu.release_interval_months}): at most two "
                "generations are made at once, so a ramp must end before the next begins",
                ("gpu.generation_ramp_months", "gpu.release_interval_months"),
            )
        if self.model_developers.frontier_count + self.model_developers.open_weight_hosts == 0:
            raise _CrossFieldError(
                "model_developers: at least one frontier lab or open-weight host",
                ("model_developers.frontier_count", "model_developers.open_weight_hosts"),
            )
        need, have = population_memory_bytes(self), available_memory_bytes()
        if need > have:
            raise _CrossFieldError(
                f"end_users.simulated_users = {self.end_users.simulated_users:,} with up to "
                f"{max(self.startups.max_count, self.startups.initial_count):,} startups needs "
                f"about {_gb(need)} ({BYTES_PER_USER} bytes a user, {BYTES_PER_STARTUP // 1024} "
                f"KB a startup); this machine has {_gb(have)} available",
                ("end_users.simulated_users", "startups.max_count", "startups.initial_count"),
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --------------------------------------------------------------------------- memory guard
def simulated_users_by_segment(cfg: Config) -> list[int]:
    """How the model splits ``end_users.simulated_users`` across segments (at least one each)."""
    weights = [s.simulated_share for s in cfg.end_users.segments]
    total = sum(weights)
    return [max(math.floor(cfg.end_users.simulated_users * w / total), 1) for w in weights]


def population_memory_bytes(cfg: Config) -> int:
    """Bytes the simulated population needs at its peak: users plus the startup cap."""
    startups = max(cfg.startups.max_count, cfg.startups.initial_count)
    return sum(simulated_users_by_segment(cfg)) * BYTES_PER_USER + startups * BYTES_PER_STARTUP


def available_memory_bytes() -> int:
    """Memory this process may still allocate: the system's available memory, or less
    under a cgroup (container) limit."""
    have = _meminfo_available()
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit.isdigit():
            have = min(have, int(limit) - used)
    except (OSError, ValueError):
        pass
    return have


def _meminfo_available() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024**3  # no way to ask: assume a modest machine


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


# --------------------------------------------------------------------------- schema walking
def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config sections inside a field's type: ``X``, ``list[X]``, ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _container(annotation: Any) -> str | None:
    origin = typing.get_origin(annotation)
    if origin is list:
        return "<i>"
    if origin is dict:
        return "<name>"
    return None


def schema_keys(model: type[BaseModel] | None = None, prefix: str = "") -> list[str]:
    """Every leaf key of the schema, list items as ``<i>`` and table entries as ``<name>``."""
    model = model or Config
    keys = []
    for name, info in model.model_fields.items():
        inner = _models_in(info.annotation)
        if inner:
            item = _container(info.annotation)
            sub = f"{prefix}{name}." + (f"{item}." if item else "")
            keys += schema_keys(inner[0], sub)
        else:
            keys.append(f"{prefix}{name}")
    return keys


def section_at(path: list[str | int]) -> type[BaseModel] | None:
    """The section a (partial) key path lands in, or None if it names no section."""
    model: type[BaseModel] = Config
    expect_item = False
    for part in path:
        if expect_item:
            expect_item = False
            continue
        info = model.model_fields.get(str(part))
        inner = _models_in(info.annotation) if info else []
        if not inner:
            return None
        model = inner[0]
        expect_item = _container(info.annotation) is not None
    return None if expect_item else model


def suggest_keys(path: list[str | int]) -> list[str]:
    """Likely intended keys for an unknown one: a close name in the same section, else keys
    of that name (or a close one) anywhere in the schema."""
    *parent, last = [str(p) for p in path]
    section = section_at(parent)
    if section is not None:
        close = difflib.get_close_matches(last, list(section.model_fields), n=1, cutoff=0.75)
        if close:
            return [".".join([*parent, close[0]])]
    leaves = schema_keys()
    same = [k for k in leaves if k.rsplit(".", 1)[-1] == last]
    if same:
        return same
    by_name: dict[str, list[str]] = {}
    for k in leaves:
        by_name.setdefault(k.rsplit(".", 1)[-1], []).append(k)
    close = difflib.get_close_matches(last, list(by_name), n=1, cutoff=0.8)
    return by_name[close[0]] if close else []


# --------------------------------------------------------------------------- loading
class _SetKey(str):
    """A dotted key that came from ``--set`` on the command line (for error messages)."""

    text: str = ""


_Layer = tuple[Path, dict[str, Any]]  # one file of an 'extends' chain and what it sets


def _read_toml(
    path: Path, seen: tuple[Path, ...] = (), shown: Path | None = None
) -> tuple[dict[str, Any], list[_Layer]]:
    """The merged data of a file and its ``extends`` chain, and the chain, base first.

    ``path`` is resolved; ``shown`` is how messages name it (the caller's spelling)."""
    shown = shown or path
    if path in seen:
        raise ConfigError(f"{seen[-1]}: 'extends' forms a cycle back to {path}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {shown}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({exc})") from None
    parent = data.pop("extends", None)
    if parent is None:
        return data, [(shown, data)]
    if not isinstance(parent, str):
        raise ConfigError(f"{shown}: 'extends' must be a file name, got {parent!r}")
    base_path = (path.parent / parent).resolve()
    if not base_path.is_file() and base_path not in seen:
        raise ConfigError(f"{shown}: 'extends' names {parent!r}, which is not a file ({base_path})")
    base, layers = _read_toml(base_path, (*seen, path))
    return deep_merge(base, data), [*layers, (shown, data)]


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (lists included) replaces the base."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _plain(value: Any) -> Any:
    """A NumPy scalar (from a design table or ``mesa.batch_run``) as the Python value it holds,
    so that strict validation sees an int as an int (without importing NumPy here)."""
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return value.item()
    return value


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """Set dotted keys (``a.b.0.c``) in a nested dict; the path must exist."""
    out = copy.deepcopy(data)
    for dotted, raw in overrides.items():
        value = _plain(raw)
        label = _override_label(dotted, source)
        parts = dotted.split(".")
        if not dotted or any(not p for p in parts):
            raise ConfigError(f"{label}: malformed key {dotted!r}")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(
                        f"{label}: {where!r} is not an index of a {len(node)}-item list"
                    )
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                elif part not in node or not isinstance(node[part], dict | list):
                    # A missing table is created so that validation, which knows the schema,
                    # names the unknown key and suggests the right one.
                    node = node.setdefault(part, {})
                    if not isinstance(node, dict | list):
                        raise ConfigError(f"{label}: {where!r} is a value, not a table")
                else:
                    node = node[part]
            else:
                raise ConfigError(f"{label}: {where!r} is a value, not a table")
    return out


def _override_label(key: str, source: str) -> str:
    if isinstance(key, _SetKey):
        return f"--set {key.text}"
    return f"override {key!r}" if source == "overrides" else f"{source}: override {key!r}"


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _touches(key: str, other: str) -> bool:
    """Whether two dotted keys overlap (equal, or one inside the other)."""
    return key == other or key.startswith(other + ".") or other.startswith(key + ".")


def _set_in(data: Any, path: list[str]) -> bool:
    """Whether a raw TOML table sets this key path (a list set as a whole counts)."""
    for part in path:
        if isinstance(data, list):
            return True
        if not (isinstance(data, dict) and part in data):
            return False
        data = data[part]
    return True


class _Origins:
    """Where each key of a config came from: an override, or a file of the extends chain."""

    def __init__(self, source: str, layers: list[_Layer], overrides: dict[str, Any]) -> None:
        self.source = source
        self.layers = layers
        self.overrides = overrides

    def of(self, keys: tuple[str, ...]) -> str:
        for key in keys:
            for over in self.overrides:
                if _touches(key, over):
                    return _override_label(over, self.source)
        for key in keys:
            for path, data in reversed(self.layers):
                if key and _set_in(data, key.split(".")):
                    return str(path)
        return self.source


def _describe(err: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """(kind, text, keys) of one pydantic error."""
    key = _dotted(err["loc"])
    if err["type"] == "extra_forbidden":
        hints = suggest_keys(list(err["loc"]))
        tail = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
        return "unknown", f"unknown key {key!r}{tail}", (key,)
    if err["type"] == "missing":
        return "missing", key, (key,)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, _CrossFieldError):
        return "rule", str(cause), cause.keys
    msg = err["msg"].removeprefix("Value error, ")
    if not key:
        return "rule", msg, ()
    shown = repr(err.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return "bad", f"bad value for {key!r}: {shown} ({msg})", (key,)


def _missing_hint(origin: str, layers: list[_Layer]) -> str:
    """For a file with no ``extends``: how to start from the baseline instead."""
    if len(layers) != 1 or origin != str(layers[0][0]):
        return ""
    path = Path(origin).resolve()
    if path == DEFAULT_CONFIG.resolve():
        return ""
    base = DEFAULT_CONFIG.resolve()
    if os.path.commonpath([base, path]) != base.anchor:  # a relative path, unless it climbs to /
        base = Path(os.path.relpath(base, path.parent))
    return (
        f" (a config without 'extends' must set every key; start from the baseline with "
        f'extends = "{base.as_posix()}", or list them with `abm params`)'
    )


def validate(
    data: dict[str, Any],
    source: str,
    *,
    layers: list[_Layer] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """A validated :class:`Config`, or one :class:`ConfigError` line naming every problem."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        origins = _Origins(source, layers or [], overrides or {})
        groups: dict[str, dict[str, list[str]]] = {}
        for err in exc.errors():
            kind, text, keys = _describe(err)
            by_kind = groups.setdefault(origins.of(keys), {})
            by_kind.setdefault(kind, []).append(text)
        parts = []
        for origin, by_kind in groups.items():
            texts = []
            missing = by_kind.pop("missing", [])
            if missing:
                noun = "key" if len(missing) == 1 else "keys"
                texts.append(
                    f"missing {noun} {', '.join(repr(k) for k in missing)}"
                    + _missing_hint(origin, layers or [])
                )
            texts += [t for kind_texts in by_kind.values() for t in kind_texts]
            parts.append(f"{origin}: {'; '.join(texts)}")
        raise ConfigError("; ".join(parts)) from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a TOML config (following ``extends``), apply dotted overrides, validate."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    data, layers = _read_toml(path.resolve(), shown=path)
    if "name" not in layers[-1][1]:  # not the name of the file it extends: results/ would clash
        data["name"] = _name_from_file(path)
    if overrides:
        data = apply_overrides(data, overrides, str(path))
    return validate(data, str(path), layers=layers, overrides=overrides)


def _name_from_file(path: Path) -> str:
    stem = "".join(c if c.isalnum() or c in "_.-" else "_" for c in path.stem)
    return stem if stem[:1].isalnum() else f"config{stem}"


def config_with_overrides(
    config: Config, overrides: dict[str, Any], source: str = "overrides"
) -> Config:
    """A new validated config: ``config`` with dotted ``overrides`` applied."""
    if not overrides:
        return config
    return validate(
        apply_overrides(config.to_dict(), overrides, source), source, overrides=overrides
    )


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``key=value`` from the command line; the value is read as TOML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not p for p in key.split(".")):
        raise ConfigError(
            f"--set {text!r}: expected key=value, e.g. end_users.price_elasticity=1.5"
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is taken as a string
    tagged = _SetKey(key)
    tagged.text = text.strip()
    return tagged, value
