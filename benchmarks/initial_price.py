"""The January 2023 compute price the clouds' own pricing rule posts back (issue 11, item 9).

The baseline starts every cloud at ``hyperscalers.initial_compute_price``. A start is
consistent when the price the clouds post after the first month, from the load they
saw in it, equals the price they started at: otherwise the first months show a jump
or a rationing the start created, not the market. This script finds that fixed point
by bisection on the first month's mean posted price (volume-weighted, as the
``compute_price`` metric of month 2), over seeds 1-20, and prints it beside the
configured value. Usage: ``python benchmarks/initial_price.py [config.toml]``.
"""

from __future__ import annotations

import sys

import numpy as np

from abm import ComputeMarket, load_config
from abm.config import config_with_overrides

SEEDS = tuple(range(1, 21))


def first_months(cfg, price: float, seeds=SEEDS) -> list[dict[str, float]]:
    """Per seed, when every cloud starts at ``price``: month 1's compute shortage (of the
    labs' demand, ``shortage``, and of the parents' own workloads, ``own``), the frontier
    list price after month 1 over its start, and the price paid in month 2 (posted after
    month 1)."""
    cfg = config_with_overrides(cfg, {"hyperscalers.initial_compute_price": price})
    rows = []
    for seed in seeds:
        m = ComputeMarket(cfg, rng=seed)
        list0 = m.metrics["frontier_list_price"]
        m.step()
        row = {"shortage": m.metrics["compute_shortage"], "own": m.metrics["own_ai_shortage"]}
        row["list_moved"] = m.metrics["frontier_list_price"] / list0
        m.step()
        row["posted"] = m.metrics["compute_price"]
        rows.append(row)
    return rows


def first_month_means(cfg, price: float, seeds=SEEDS) -> dict[str, float]:
    """:func:`first_months`, each quantity's mean over seeds."""
    rows = first_months(cfg, price, seeds)
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def posted_after_first_month(cfg, price: float, seeds=SEEDS) -> float:
    """Mean over seeds of the price paid in month 2 (posted after month 1), when every
    cloud starts at ``price``."""
    return first_month_means(cfg, price, seeds)["posted"]


def fixed_point(
    cfg, low: float = 2.0, high: float = 10.0, tol: float = 0.005, seeds=SEEDS
) -> float:
    """Bisection on ``posted(p) - p``, which is positive at ``low`` and negative at ``high``."""
    for bound, sign in ((low, 1.0), (high, -1.0)):
        gap = posted_after_first_month(cfg, bound, seeds) - bound
        if sign * gap <= 0:
            raise SystemExit(f"no fixed point in [{low}, {high}]: at {bound} the gap is {gap:+.3f}")
    while high - low > tol:
        mid = 0.5 * (low + high)
        if posted_after_first_month(cfg, mid, seeds) > mid:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def main(argv: list[str]) -> None:
    cfg = load_config(argv[0] if argv else None)
    configured = cfg.hyperscalers.initial_compute_price
    p = fixed_point(cfg)
    print("| start ($/GPU-h) | posted after month 1 | labs' shortage in month 1 | own work's |")
    print("|---|---|---|---|")
    for start in sorted({round(p, 2), configured}):
        x = first_month_means(cfg, start)
        print(f"| {start:.2f} | {x['posted']:.3f} | {x['shortage']:.3f} | {x['own']:.3f} |")
    print(f"fixed point: {p:.2f} $/GPU-h (configured {configured:.2f})")


if __name__ == "__main__":
    main(sys.argv[1:])
