"""Model configuration: TOML files validated once, at the boundary.

A config file is TOML. It may name another file with ``extends = "other.toml"``
(resolved relative to itself) and then override only a few keys. Overrides can
also be given as dotted keys (``{"end_users.price_elasticity": 1.5}``), from
Python or from the command line (``--set end_users.price_elasticity=1.5``). List
items are addressed by index (``gpu.vendors.0.initial_price``).

Every problem -- a missing file, an unknown key, a value of the wrong type or out
of range, a malformed override -- raises :class:`ConfigError` with one line that
names the key and the file. The model never reads raw dictionaries: it gets a
validated :class:`Config`.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PACKAGE_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "baseline.toml"

PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]


class ConfigError(ValueError):
    """A configuration problem, described in one line naming the key and the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


# --------------------------------------------------------------------------- simulation
class SimulationConfig(_Section):
    start: str = Field("2023-01", pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    steps: PosInt = 120
    hours_per_month: PosFloat = 730.0


# --------------------------------------------------------------------------- GPUs
class VendorConfig(_Section):
    name: str
    initial_price: PosFloat  # $ per unit of the current generation
    capacity_units_per_month: PosFloat
    capacity_growth_per_month: NonNegFloat  # max fractional growth of capacity per month
    capacity_cost_per_unit_month: NonNegFloat = 0.0  # $ paid to the foundry per unit/month added
    perf_multiplier: PosFloat = 1.0  # performance of its parts against the roadmap
    cost_multiplier: PosFloat = 1.0  # unit cost against the roadmap
    initial_backlog_months: NonNegFloat = 0.0
    opex_share_of_revenue: Fraction = 0.1
    ecosystem_bonus: float = 0.0  # logit utility buyers attach to its software ecosystem
    profit_seeking: bool = True  # price from clouds' derived demand; False: backlog tatonnement
    floor_markup: NonNegFloat = 0.0  # price floor = unit cost * (1 + floor_markup)


class GPUConfig(_Section):
    first_generation: str = "H100"
    first_generation_perf: PosFloat = 1.0  # H100-equivalents per unit
    first_generation_unit_cost: PosFloat = 7500.0  # $ COGS per unit
    first_generation_power_kw: PosFloat = 1.6  # kW per unit, all-in at the facility
    perf_gain_per_generation: Annotated[float, Field(ge=1.0)] = 2.5
    cost_growth_per_generation: PosFloat = 1.4
    power_growth_per_generation: PosFloat = 1.3
    release_interval_months: PosInt = 24
    next_release_month: NonNegInt = 22
    legacy_perf: PosFloat = 0.35  # installed base before 2023 (A100-class), H100e per unit
    legacy_power_kw: PosFloat = 0.6
    price_adjustment_speed: NonNegFloat = 0.08
    max_price_change: Fraction = 0.1  # per month
    target_backlog_months: PosFloat = 3.0
    delivery_lead_months: NonNegInt = 0  # months from booking an order to its earliest shipment
    price_adjustment: Fraction = 0.3
    vendors: list[VendorConfig] = Field(min_length=1)


# --------------------------------------------------------------------------- data centres
class RegionConfig(_Section):
    permitting_months: NonNegFloat
    interconnection_months: NonNegFloat
    construction_months: NonNegFloat
    duration_cv: NonNegFloat = 0.35  # coefficient of variation of each stage's duration
    cost_multiplier: PosFloat = 1.0
    labour_share: Fraction = 0.35  # share of building cost that is labour
    labour_premium: NonNegFloat = 0.0  # wage premium on that labour


class DataCentreConfig(_Section):
    cost_per_mw: PosFloat = 11.7e6
    project_size_mw: PosFloat = 100.0
    lead_time_multiplier: PosFloat = 1.0
    power_headroom: NonNegFloat = 0.15
    max_starts_per_month: PosInt = 10  # projects one cloud can start a month (sites, crews)
    regions: dict[str, RegionConfig] = Field(min_length=1)


# --------------------------------------------------------------------------- hyperscalers
class HyperscalerConfig(_Section):
    count: PosInt = 4
    regions: list[str] = Field(default_factory=lambda: ["us"], min_length=1)
    initial_installed_h100e: NonNegFloat = 400_000.0
    initial_power_headroom: NonNegFloat = 0.3
    initial_pipeline_mw: NonNegFloat = 1500.0
    initial_cash: NonNegFloat = 20e9
    initial_compute_price: PosFloat = 4.5  # $ per H100e GPU-hour
    target_utilization: Annotated[float, Field(gt=0, le=1)] = 0.85
    pricing: Literal["profit", "utilization"] = "utilization"
    price_adjustment: Fraction = 0.3  # share of the way to the best response, per month ("profit")
    price_adjustment_speed: NonNegFloat = 0.25  # tatonnement speed ("utilization")
    max_price_change: Fraction = 0.12
    energy_price_per_kwh: NonNegFloat = 0.08
    opex_per_gpu_hour: NonNegFloat = 0.12
    depreciation_months: PosInt = 60
    forecast_smoothing: Fraction = 0.3
    trend_smoothing: Fraction = 0.2
    initial_demand_growth: float = (
        0.0  # the clouds' belief about monthly demand growth at the start
    )
    planning_horizon_months: PosFloat = 12.0
    max_payback_months: PosFloat = 30.0
    order_payback_elasticity: NonNegFloat = 2.0
    max_overbuild: NonNegFloat = 0.25
    interest_rate_per_month: NonNegFloat = 0.005
    buyer_price_sensitivity: NonNegFloat = 6.0  # labs' logit sensitivity to compute price
    lead_time_aversion: NonNegFloat = 0.3  # logit utility lost per month of a vendor's backlog
    # a passive compute layer: clouds post this price ($ per GPU-h) and never ration (validation limits)
    fixed_compute_price: PosFloat | None = None
    # forecast from the labs' total compute needs (end demand) times own fleet share, not own order stream
    information_sharing: bool = False


# --------------------------------------------------------------------------- model developers
class ModelDeveloperConfig(_Section):
    frontier_count: NonNegInt = 4
    open_weight_hosts: NonNegInt = 2
    initial_quality: float = 7.2  # log10 effective training compute (H100-hours) of the best model
    quality_spread: NonNegFloat = 0.4
    open_weight_gap: NonNegFloat = 0.7
    tokens_per_gpu_hour: PosFloat = 1.0e6  # mtok... see baseline comment
    reference_quality: float = 7.0
    size_cost_exponent: NonNegFloat = 0.5
    serving_algo_gain_per_year: Annotated[float, Field(ge=1.0)] = 2.5
    training_algo_gain_per_year: Annotated[float, Field(ge=1.0)] = 3.0
    initial_cash_frontier: NonNegFloat = 6e9
    initial_cash_open: NonNegFloat = 0.3e9
    training_spend_rate: Fraction = 0.06
    training_window_months: PosInt = 6
    training_budget_growth_per_month: NonNegFloat = 0.05
    training_price_elasticity: NonNegFloat = 1.6
    compute_price_trend_per_year: PosFloat = (
        1.3  # labs expect compute to get this much cheaper a year
    )
    initial_price_frontier: PosFloat = 20.0  # $ per mtok
    initial_price_open: PosFloat = 2.0
    price_adjustment: Fraction = 0.3
    price_search_width: PosFloat = 0.4
    price_candidates: Annotated[int, Field(ge=3, le=101)] = 15
    demand_sample_users: PosInt = 2000
    staff_cost_per_month: NonNegFloat = 50e6
    first_party_apps: bool = False
    first_party_app_bonus: float = 0.6
    direct_sales: bool = True  # False: labs sell only wholesale, through wrapper startups


# --------------------------------------------------------------------------- startups
class StartupConfig(_Section):
    initial_count: NonNegInt = 40
    max_count: NonNegInt = 400
    entry_rate_per_month: NonNegFloat = 3.0
    seed_round: PosFloat = 8e6
    burn_per_month_median: NonNegFloat = 0.6e6
    burn_sigma: NonNegFloat = 0.5
    reinvest_share: NonNegFloat = 1.1  # burn on top of base: this share of gross profit
    initial_markup: NonNegFloat = 0.8
    markup_adjustment: Fraction = 0.3
    app_bonus: float = 0.8
    app_bonus_sigma: NonNegFloat = 0.4
    supplier_switch_probability: Fraction = 0.08
    crowding_reference: PosFloat = 10.0
    raise_runway_months: PosFloat = 6.0
    round_runway_months: PosFloat = 18.0


# --------------------------------------------------------------------------- venture capital
class VCConfig(_Section):
    climate: NonNegFloat = 1.0
    climate_path: list[tuple[float, float]] = Field(default_factory=list)
    lab_round_probability: Fraction = 0.5
    startup_round_probability: Fraction = 0.35
    lab_round_runway_months: PosFloat = 18.0
    lab_round_base: NonNegFloat = 5e9  # $ a lab can raise on promise alone, at climate 1
    lab_round_revenue_multiple: NonNegFloat = 1.5  # plus this many years of its current revenue
    lab_raise_runway_months: PosFloat = 9.0


# --------------------------------------------------------------------------- end users
class SegmentConfig(_Section):
    name: str
    population: PosFloat
    initial_adoption: Fraction = 0.1
    bass_p: NonNegFloat = 0.03  # per year
    bass_q: NonNegFloat = 0.38  # per year
    value_per_task_median: PosFloat = 0.1  # $ value of the least valuable task
    value_sigma: NonNegFloat = 0.8
    tasks_per_month: PosFloat = 100.0
    tasks_sigma: NonNegFloat = 0.5
    tokens_per_task: PosFloat = 3000.0
    tokens_sigma: NonNegFloat = 0.5
    elasticity_scale: PosFloat = 1.0
    app_affinity: float = 0.0
    simulated_share: PosFloat = 1.0


class EndUserConfig(_Section):
    simulated_users: PosInt = 10_000
    price_elasticity: PosFloat = 1.5
    price_sensitivity: NonNegFloat = 3.0  # logit weight on log price
    quality_sensitivity: NonNegFloat = 2.0  # logit weight per quality unit
    value_per_quality: NonNegFloat = 0.7  # log task value per quality unit
    switching_rate: Fraction = 0.15
    tokens_per_task_growth_per_year: PosFloat = 1.5
    tokens_per_task_max_multiplier: Annotated[float, Field(ge=1)] = 20.0
    value_range: Annotated[float, Field(gt=1)] = 1000.0  # most / least valuable task of a user
    bass: bool = True
    demand_noise_sigma: NonNegFloat = (
        0.0  # log-sd of a segment-wide shock to tasks per month (stationary)
    )
    demand_noise_persistence: Annotated[float, Field(ge=0, lt=1)] = (
        0.0  # AR(1) coefficient of that shock
    )
    segments: list[SegmentConfig] = Field(min_length=1)


# --------------------------------------------------------------------------- top level
class Config(_Section):
    name: str = "baseline"
    description: str = ""
    simulation: SimulationConfig = SimulationConfig()
    gpu: GPUConfig
    datacenters: DataCentreConfig
    hyperscalers: HyperscalerConfig = HyperscalerConfig()
    model_developers: ModelDeveloperConfig = ModelDeveloperConfig()
    startups: StartupConfig = StartupConfig()
    vc: VCConfig = VCConfig()
    end_users: EndUserConfig

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        unknown = [r for r in self.hyperscalers.regions if r not in self.datacenters.regions]
        if unknown:
            raise ValueError(
                f"hyperscalers.regions names {unknown[0]!r}, which is not in datacenters.regions"
            )
        if self.model_developers.frontier_count + self.model_developers.open_weight_hosts == 0:
            raise ValueError("model_developers: at least one frontier lab or open-weight host")
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# --------------------------------------------------------------------------- loading
def _read_toml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path in seen:
        raise ConfigError(f"{path}: 'extends' forms a cycle")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must be a file name, got {parent!r}")
    base = _read_toml((path.parent / parent).resolve(), (*seen, path))
    return deep_merge(base, data)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (lists included) replaces the base."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """Set dotted keys (``a.b.0.c``) in a nested dict; the path must exist."""
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if not dotted or any(not p for p in parts):
            raise ConfigError(f"{source}: malformed key {dotted!r}")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(
                        f"{source}: {where!r} is not an index of a {len(node)}-item list"
                    )
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                elif part not in node or not isinstance(node[part], dict | list):
                    # Let a missing table be created so that defaults can be overridden;
                    # unknown names are caught by validation, which names the key.
                    node = node.setdefault(part, {})
                    if not isinstance(node, dict | list):
                        raise ConfigError(f"{source}: {where!r} is a value, not a table")
                else:
                    node = node[part]
            else:
                raise ConfigError(f"{source}: {where!r} is a value, not a table")
    return out


def _format_error(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"unknown key {key!r}"
    if err["type"] == "missing":
        return f"missing key {key!r}"
    value = err.get("input")
    return f"bad value for {key!r}: {value!r} ({err['msg']})"


def validate(data: dict[str, Any], source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{source}: {_format_error(first)}{tail}") from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a TOML config (following ``extends``), apply dotted overrides, validate."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    resolved = path.resolve()
    data = _read_toml(resolved)
    data.setdefault("name", path.stem)
    if overrides:
        data = apply_overrides(data, overrides, str(path))
    return validate(data, str(path))


def config_with_overrides(
    config: Config, overrides: dict[str, Any], source: str = "overrides"
) -> Config:
    """A new validated config: ``config`` with dotted ``overrides`` applied."""
    if not overrides:
        return config
    return validate(apply_overrides(config.to_dict(), overrides, source), source)


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
    return key, value
