"""Does the baseline depend on the order of the model's agent lists?

Runs a config for a few seeds twice -- agents in their usual order, and with one
list permuted within its role -- and compares the yearly table (training, venture
capital, vendor revenue, compute price, compute shortage) and the calibration.

A permutation can move a result in two ways. An *economic* order dependence: an
agent acts on state an earlier agent in the list changed this month (a queue read
after rivals ordered, a pool drawn down in turn, a tie broken by position). A
*random-number* one: draws taken from a shared stream in list order, or a uniform
draw mapped to a seller through a cumulative sum over the columns in list order,
land on different agents. ``--canonical`` separates the two: in both arms it gives
every cloud and every segment its own stream per month (keyed by its unique id),
maps users' and founders' draws to sellers in the order of their unique ids, and
hands startups their exit and supplier-review draws in the order of their ids,
so that a permutation can change a result only through the economics. (Those
patches change the draws themselves, so a canonical run is compared only with
another canonical run.)

Usage (from the repo root)::

    PYTHONPATH=$PWD python benchmarks/order_dependence.py --roles frontier clouds --seeds 1 2 3
    PYTHONPATH=$PWD python benchmarks/order_dependence.py --canonical --roles frontier

Roles: ``frontier`` (the frontier labs reversed in their places in ``model.labs``),
``labs`` (frontier labs, open-weight hosts and distilled tiers each reversed in
place), ``tiers_first`` (distilled tiers, then open-weight hosts, then frontier
labs), ``clouds`` (the big four and the neoclouds each reversed in place),
``vendors``, ``segments``, ``startups`` (newest first, re-sorted each month), and
``ulp``: no permutation, the first cloud's opening price one unit in the last place
up -- how far a difference of rounding alone grows over the run, the floor against
which a permutation's effect is read (a permutation changes the order of sums).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from abm.config import load_config
from abm.validation.calibration import evaluate, per_step_rows

REPO = Path(__file__).resolve().parents[1]
YEARLY = {  # column: (how a year is formed, scale)
    "training_spend": ("sum", 1e9),
    "vc_funding": ("sum", 1e9),
    "vendor_revenue": ("sum", 1e9),
    "compute_price": ("mean", 1.0),
    "compute_shortage": ("mean", 1.0),
}


# ---------------------------------------------------------------- permutations
def _reverse_in_place(items: list, members) -> None:
    """Reverse the items for which ``members`` is true, each keeping the others' places."""
    where = [i for i, x in enumerate(items) if members(x)]
    picked = [items[i] for i in where][::-1]
    for i, x in zip(where, picked, strict=True):
        items[i] = x


def permute(model, role: str) -> None:
    """Permute one of the model's agent lists within its role (in place)."""
    if role == "frontier":
        _reverse_in_place(model.labs, lambda lab: lab.is_frontier)
    elif role == "labs":
        for kind in ("frontier", "open_weight", "distilled"):
            _reverse_in_place(model.labs, lambda lab, k=kind: lab.kind == k)
    elif role == "tiers_first":  # the roles' order turned round: tiers, hosts, frontier
        order = {"distilled": 0, "open_weight": 1, "frontier": 2}
        model.labs.sort(key=lambda lab: order[lab.kind])
    elif role == "clouds":
        for kind in ("hyperscaler", "neocloud"):
            _reverse_in_place(model.hyperscalers, lambda h, k=kind: h.kind == k)
    elif role == "vendors":
        model.vendors.reverse()
    elif role == "segments":
        model.segments.reverse()
    elif role == "startups":
        pass  # re-sorted at the start of every month (see run_one)
    elif role == "ulp":  # no permutation: the first cloud's price one ulp up (noise floor)
        h = model.hyperscalers[0]
        h.price = float(np.nextafter(h.price, np.inf))
    else:
        raise ValueError(f"unknown role {role!r}")


# ---------------------------------------------------------------- canonical draws
@contextlib.contextmanager
def canonical_draws():
    """Draws that follow agents, not list positions (see the module docstring)."""
    from abm import model as model_mod
    from abm.agents import end_users, startup

    original_stream = model_mod.ComputeMarket.stream
    original_choose = end_users.EndUserSegment.choose_providers
    original_pick = startup.pick_supplier

    def stream(self, purpose):
        caller = sys._getframe(1).f_locals.get("self")
        uid = getattr(caller, "unique_id", None)
        if uid is None or purpose not in ("projects", "users", "shocks"):
            return original_stream(self, purpose)
        key = (self.steps, purpose, uid)
        own = self.__dict__.setdefault("_own_streams", {})
        gen = own.get(key)
        if gen is None:
            if len(own) > 4096:
                own.clear()
            index = model_mod.STREAMS.index(purpose)
            gen = np.random.default_rng([self._stream_key, self.steps, index, int(uid) + 1000])
            own[key] = gen
        return gen

    def choose_providers(self, col_ids, choice_prob, col_of, switching_rate):
        order = np.argsort(col_ids, kind="stable")  # columns by seller id, not list place
        rng = self.model.stream("users")
        col = end_users.column_of(col_of, self.provider)
        choosers = np.nonzero(self.adopted & ((col < 0) | (rng.random(self.n) < switching_rate)))[0]
        if choosers.size and col_ids.size:
            u = end_users.stratified_uniform(rng, choosers.size)
            k = np.minimum(np.searchsorted(np.cumsum(choice_prob[order]), u), col_ids.size - 1)
            picks = order[k]
            self.provider[choosers] = col_ids[picks]
            col[choosers] = picks
        elif not col_ids.size:
            self.provider[:] = end_users.NO_PROVIDER
            col[:] = -1
        self._col = np.where(self.adopted, col, -1)

    def pick_supplier(model, probabilities=None):
        if probabilities is None:
            probabilities = startup.supplier_probabilities(model)
        order = np.argsort([lab.unique_id for lab in model.labs], kind="stable")
        cdf = np.cumsum(probabilities[order])
        cdf /= cdf[-1]
        u = model.stream("startups").random()
        return model.labs[int(order[int(cdf.searchsorted(u, side="right"))])]

    original_exit = startup.exit_or_carry_on
    original_review = startup.review_suppliers

    def by_id(startups):
        return sorted(startups, key=lambda s: s.unique_id)

    def exit_or_carry_on(model, startups):  # each startup's draw by id, not by place
        survivors, exited, acquired = original_exit(model, by_id(startups))
        kept = {id(s) for s in survivors}
        return [s for s in startups if id(s) in kept], exited, acquired

    def review_suppliers(model, startups):
        original_review(model, by_id(startups))

    model_mod.ComputeMarket.stream = stream
    startup.exit_or_carry_on = exit_or_carry_on
    startup.review_suppliers = review_suppliers
    end_users.EndUserSegment.choose_providers = choose_providers
    startup.pick_supplier = pick_supplier
    try:
        yield
    finally:
        model_mod.ComputeMarket.stream = original_stream
        end_users.EndUserSegment.choose_providers = original_choose
        startup.pick_supplier = original_pick
        startup.exit_or_carry_on = original_exit
        startup.review_suppliers = original_review


# ---------------------------------------------------------------- runs
def run_one(config, seed: int, steps: int, role: str | None) -> pd.DataFrame:
    """One run's metrics (rows 1..steps), with ``role`` permuted after set-up."""
    from abm import ComputeMarket

    model = ComputeMarket(config=config, rng=seed)
    if role is not None:
        permute(model, role)
    for _ in range(steps):
        if role == "startups":
            model.startups.sort(key=lambda s: -s.unique_id)
        model.step()
    return per_step_rows(model.datacollector.get_model_vars_dataframe(), seed)


def yearly_table(runs: pd.DataFrame) -> pd.DataFrame:
    """[seed, year] x column: the yearly sums ($B) or means of :data:`YEARLY`."""
    runs = runs.assign(year=runs["date"].str[:4].astype(int))
    out = {}
    for col, (how, scale) in YEARLY.items():
        g = runs.groupby(["seed", "year"])[col]
        out[col] = (g.sum() if how == "sum" else g.mean()) / scale
    return pd.DataFrame(out)


def compare(base: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Per column: the largest and the mean |relative difference| over seeds and years
    between two arms, beside the seed-to-seed spread of the base arm (per year, the
    standard deviation over seeds over the mean, then averaged over years)."""
    a, b = yearly_table(base), yearly_table(other)
    rows = []
    for col in YEARLY:
        x, y = a[col], b[col]
        scale = np.maximum(np.abs(x), 1e-12)
        rel = (y - x).abs() / scale
        gap = (y - x).abs()
        by_year = x.groupby(level="year")
        spread = (by_year.std() / by_year.mean().abs()).mean()
        rows.append(
            {
                "column": col,
                "max_rel_diff": float(rel.max()),
                "mean_rel_diff": float(rel.mean()),
                "where_max": "seed {}, {}".format(*rel.idxmax()),
                "max_abs_diff": float(gap.max()),
                "seed_spread": float(spread),
            }
        )
    return pd.DataFrame(rows)


def calibration_diff(base: pd.DataFrame, other: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """The calibration of both arms: targets inside in each, and the rows that differ."""
    ea, eb = evaluate(base), evaluate(other)
    rel = (eb["model_mean"] - ea["model_mean"]).abs() / ea["model_mean"].abs().clip(lower=1e-12)
    table = pd.DataFrame(
        {
            "key": ea["key"],
            "base": ea["model_mean"],
            "permuted": eb["model_mean"],
            "rel_diff": rel,
            "inside_base": ea["inside"],
            "inside_permuted": eb["inside"],
        }
    )
    line = f"inside {int(ea['inside'].sum())}/{len(ea)} -> {int(eb['inside'].sum())}/{len(eb)}"
    return line, table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(REPO / "configs" / "baseline.toml"))
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--roles", nargs="+", default=["frontier", "clouds"])
    p.add_argument("--canonical", action="store_true", help="draws that follow agents")
    p.add_argument("--out", default=None, help="folder for the per-step runs (parquet)")
    args = p.parse_args(argv)
    config = load_config(args.config)
    pd.set_option("display.width", 160)
    ctx = canonical_draws() if args.canonical else contextlib.nullcontext()
    with ctx:
        base = pd.concat([run_one(config, s, args.steps, None) for s in args.seeds])
        print(f"# base ({'canonical draws' if args.canonical else 'model draws'})")
        print(yearly_table(base).groupby(level="year").mean().round(3).to_string())
        for role in args.roles:
            other = pd.concat([run_one(config, s, args.steps, role) for s in args.seeds])
            print(f"\n# {role} permuted vs base, seeds {args.seeds}")
            print(compare(base, other).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
            line, table = calibration_diff(base, other)
            print(f"calibration: {line}; largest target changes:")
            top = table.sort_values("rel_diff", ascending=False).head(5)
            print(top.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            if args.out:
                out = Path(args.out)
                out.mkdir(parents=True, exist_ok=True)
                other.to_parquet(out / f"{role}{'_canonical' if args.canonical else ''}.parquet")
        if args.out:
            base.to_parquet(
                Path(args.out) / f"base{'_canonical' if args.canonical else ''}.parquet"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
