"""Running the validation configs: one cached run per (config, seed, overrides)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

import abm.runs
from abm import ComputeMarket
from abm.config import CONFIG_DIR
from abm.market.demand import saturating_growth

VALIDATION = CONFIG_DIR / "validation"


def config_path(name: str) -> Path:
    return VALIDATION / f"{name}.toml"


@lru_cache(maxsize=64)
def _run(name: str, seed: int, overrides: tuple) -> tuple[ComputeMarket, pd.DataFrame]:
    result = abm.runs.run(config_path(name), seed=seed, overrides=dict(overrides), keep_model=True)
    return result.model, result.metrics


def run(name: str, seed: int = 1, **overrides) -> tuple[ComputeMarket, pd.DataFrame]:
    """The model after ``simulation.steps`` steps of ``configs/validation/<name>.toml``
    with dotted ``overrides`` (double underscores for dots), and its metrics frame."""
    return _run(name, seed, tuple(sorted((k.replace("__", "."), v) for k, v in overrides.items())))


def settled(df: pd.DataFrame, column: str, months: int = 12) -> float:
    """Mean of a metric over the last ``months`` steps."""
    return float(df[column].iloc[-months:].mean())


def demand_trend(model: ComputeMarket, steps: np.ndarray) -> np.ndarray:
    """The deterministic demand multiplier (tokens per task) at each step's month."""
    uc = model.cfg.end_users
    return np.array(
        [
            saturating_growth(
                max(s - 1, 0), uc.tokens_per_task_growth_per_year, uc.tokens_per_task_max_multiplier
            )
            for s in steps
        ]
    )
