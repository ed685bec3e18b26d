"""Sweep files: TOML describing a batch of runs, validated once, at the boundary.

A sweep file names a base config, fixed overrides, the parameters to vary (a list of
values, or a range), a design (``grid``, ``lhs``, ``sobol``, ``morris``), the number
of replicate seeds per design point, the outcomes to summarise and the per-step
metrics to keep. Parameter and override keys are the model's dotted config keys;
written unquoted, TOML nests them into tables, so both ``"a.b" = 1`` and ``a.b = 1``
work. Every problem raises :class:`abm.config.ConfigError` with one line naming the
key and the file.
"""

from __future__ import annotations

import difflib
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from abm.config import NAME_PATTERN, ConfigError

DEFAULT_RUN_FUNCTION = "abm.experiments.runner:run_model"
DESIGNS = ("grid", "lhs", "sobol", "morris")
STATS = ("final", "mean", "peak", "time_of_peak", "min", "time_of_min", "sum")

# Keys that make a table a parameter description rather than a level of dotted nesting.
_PARAMETER_KEYS = {"values", "low", "high", "distribution", "levels"}

Scalar = bool | int | float | str
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSpec(_Strict):
    """One varied parameter: explicit ``values``, or a ``low``..``high`` range.

    A range is sampled as ``uniform``, ``loguniform`` or ``int`` (inclusive) by the
    sampling designs; a grid needs ``levels`` points along it. Explicit values are
    a grid's levels, and the sampling designs pick among them with equal weight.
    """

    values: list[Scalar] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    distribution: Literal["uniform", "loguniform", "int"] = "uniform"
    levels: PosInt | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        if self.values is not None:
            given = [k for k in ("low", "high", "levels") if getattr(self, k) is not None]
            given += ["distribution"] if self.distribution != "uniform" else []
            if given:
                raise ValueError(
                    f"give either 'values' or a range, not both (also has {sorted(given)})"
                )
            return self
        if self.low is None or self.high is None:
            raise ValueError("needs 'values' = [...] or both 'low' and 'high'")
        if not self.low < self.high:
            raise ValueError(f"'low' ({self.low}) must be below 'high' ({self.high})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform range needs 'low' > 0")
        if self.distribution == "int" and not (self.low.is_integer() and self.high.is_integer()):
            raise ValueError("an int range needs whole-number 'low' and 'high'")
        return self


class OutcomeSpec(_Strict):
    """A scalar summary of one per-step metric: its final value, mean, peak, ...

    ``window = [a, b]`` restricts the statistic to steps a..b (inclusive); ``final``
    is then the value at step b.
    """

    metric: str = Field(min_length=1)
    stat: Literal["final", "mean", "peak", "time_of_peak", "min", "time_of_min", "sum"]
    window: tuple[NonNegInt, NonNegInt] | None = None
    name: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _ordered_window(self) -> OutcomeSpec:
        if self.window is not None and self.window[0] > self.window[1]:
            raise ValueError(f"window {list(self.window)} must be [first_step, last_step]")
        return self

    @property
    def label(self) -> str:
        """Column name in the summary, e.g. ``compute_price_mean_12_36``."""
        if self.name:
            return self.name
        suffix = f"_{self.window[0]}_{self.window[1]}" if self.window else ""
        return f"{self.metric}_{self.stat}{suffix}"


class MetricsSpec(_Strict):
    """Per-step columns stored for every run (all columns when ``keep`` is omitted)."""

    keep: list[str] | None = None


class SweepSpec(_Strict):
    """A validated sweep file. ``base`` is an absolute path once loaded from a file.

    A grid with no parameters is one design point: replicates of the base config.
    """

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    base: str | None = None
    run_function: str = Field(DEFAULT_RUN_FUNCTION, pattern=r"^[\w.]+:[\w.]+$")
    seed: int = Field(ge=0, lt=2**63)
    steps: PosInt | None = None
    design: Literal["grid", "lhs", "sobol", "morris"] = "grid"
    n: PosInt | None = None
    replicates: PosInt = 1
    common_seeds: bool = False
    second_order: bool = False
    morris_levels: int = Field(4, ge=2)
    fixed: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    outcomes: list[OutcomeSpec] = Field(default_factory=list)
    metrics: MetricsSpec = MetricsSpec()

    @model_validator(mode="before")
    @classmethod
    def _flatten_dotted_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("parameters"), dict):
            data["parameters"] = _flatten(data["parameters"], is_leaf=_is_parameter_leaf)
        if isinstance(data.get("fixed"), dict):
            data["fixed"] = _flatten(data["fixed"], is_leaf=lambda v: not isinstance(v, dict))
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> SweepSpec:
        sampled = self.design != "grid"
        if sampled and not self.parameters:
            raise ValueError(f"design {self.design!r} needs at least one parameter")
        if sampled and self.n is None:
            raise ValueError(f"design {self.design!r} needs 'n' (number of samples)")
        if not sampled and self.n is not None:
            raise ValueError(
                "'n' is for lhs/sobol/morris designs; a grid's size comes from its levels"
            )
        if self.design == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"'n' must be a power of 2 for a sobol design (got {self.n})")
        if self.second_order and self.design != "sobol":
            raise ValueError("'second_order' applies to sobol designs only")
        if self.morris_levels != 4 and self.design != "morris":
            raise ValueError("'morris_levels' applies to morris designs only")
        for key, param in self.parameters.items():
            if key in self.fixed:
                raise ValueError(f"'{key}' is both a parameter and a fixed override")
            if not sampled and param.values is None and param.levels is None:
                raise ValueError(
                    f"parameter '{key}': a grid needs 'values' or 'levels' for a range"
                )
            if sampled and param.levels is not None:
                raise ValueError(f"parameter '{key}': 'levels' is for grid designs only")
        labels = [o.label for o in self.outcomes]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"outcome name {dupes[0]!r} appears twice; give one a 'name'")
        if self.steps is not None:
            for o in self.outcomes:
                if o.window is not None and o.window[1] > self.steps:
                    raise ValueError(f"outcome {o.label!r}: window ends after step {self.steps}")
        return self

    @property
    def stored_columns(self) -> list[str] | None:
        """Per-step columns to store: ``metrics.keep`` plus every outcome's metric."""
        if self.metrics.keep is None:
            return None
        cols = list(dict.fromkeys(self.metrics.keep))
        cols += [m for m in dict.fromkeys(o.metric for o in self.outcomes) if m not in cols]
        return cols


def _is_parameter_leaf(value: Any) -> bool:
    return not isinstance(value, dict) or bool(_PARAMETER_KEYS & value.keys())


def _flatten(table: dict[str, Any], is_leaf, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if is_leaf(value):
            out[dotted] = (
                {"values": value}
                if isinstance(value, list) and is_leaf is _is_parameter_leaf
                else value
            )
        else:
            out.update(_flatten(value, is_leaf, f"{dotted}."))
    return out


def _section(loc: tuple[Any, ...]) -> type[BaseModel]:
    """The part of a sweep file (the spec, an outcome, a parameter, ...) that ``loc`` is in."""
    model: type[BaseModel] = SweepSpec
    for part in loc:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        if info is None:  # a list index or a parameter's name: same part
            continue
        # a field's own part: MetricsSpec, list[OutcomeSpec], dict[str, ParameterSpec]
        for t in typing.get_args(info.annotation) or (info.annotation,):
            if isinstance(t, type) and issubclass(t, BaseModel):
                model = t
    return model


def _format_error(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        *where, last = err["loc"]
        known = list(_section(tuple(where)).model_fields)
        close = difflib.get_close_matches(str(last), known, n=1, cutoff=0.6)
        hint = f"; did you mean {'.'.join(map(str, [*where, close[0]]))!r}?" if close else ""
        return f"unknown key {key!r}{hint}"
    if err["type"] == "missing":
        return f"missing key {key!r}"
    msg = err["msg"].removeprefix("Value error, ")
    if not key:
        return msg
    return f"bad value for {key!r}: {err.get('input')!r} ({msg})"


def parse_sweep(data: dict[str, Any], source: str, base_dir: Path | None = None) -> SweepSpec:
    """Validate a sweep given as a dict; a relative ``base`` is taken from ``base_dir``."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_format_error(errors[0])}{more}") from None
    if spec.base is not None:
        base = (Path(base_dir or Path.cwd()) / spec.base).resolve()
        if not base.is_file():
            raise ConfigError(f"{source}: 'base' names {spec.base!r}, which is not a file ({base})")
        spec = spec.model_copy(update={"base": str(base)})
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; ``base`` is resolved relative to the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file not found: {path}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_sweep(data, str(path), path.resolve().parent)
