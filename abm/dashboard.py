"""A one-page picture of a run: prices, volumes, margins, capacity, startups, profit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LAYERS = ("vendor", "hyperscalers", "model_devs", "startups")


def _dates(df: pd.DataFrame):
    return pd.to_datetime(df["date"], format="%Y-%m")


def _limits(values, floor: float, ceiling: float, pad: float = 0.05) -> tuple[float, float]:
    """Axis limits that show every finite value and at least [floor, ceiling]."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo = min(floor, v.min()) if v.size else floor
    hi = max(ceiling, v.max()) if v.size else ceiling
    margin = pad * (hi - lo)
    return lo - margin, hi + margin


def dashboard_figure(df: pd.DataFrame, title: str = ""):
    """The six-panel dashboard of a metrics dataframe, as a matplotlib Figure.

    Each panel sits in its own subfigure with its legend underneath, outside the
    axes, so that no legend covers a line; axis limits come from the data.
    """
    from matplotlib.figure import Figure

    df = df.iloc[1:]  # row 0 is the initial state, with no trade
    x = _dates(df)
    fig = Figure(figsize=(15, 10.5), layout="constrained")
    panels = fig.subfigures(2, 3, wspace=0.02, hspace=0.02)
    axes = np.array([[sf.subplots() for sf in row] for row in panels])

    def legend(sf, *axs, ncols=2):
        handles = [h for a in axs for h in a.get_legend_handles_labels()[0]]
        labels = [h.get_label() for h in handles]
        sf.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=8)

    ax = axes[0, 0]
    ax.plot(x, df["compute_price"], color="tab:blue", label="compute ($/GPU-h)")
    ax.plot(x, df["token_price"], color="tab:orange", label="token, model devs ($/Mtok)")
    ax.plot(x, df["retail_token_price"], color="tab:green", ls="--", label="token, retail ($/Mtok)")
    ax.plot(x, df["price_at_fixed_capability"], color="tab:red", label="fixed capability ($/Mtok)")
    ax.plot(x, df["gpu_price_per_h100e"] / 1e4, color="tab:purple", label="GPU ($10k per H100e)")
    ax.set_yscale("log")
    ax.set_title("Prices")
    ax.set_ylabel("$ per unit (log scale)")
    legend(panels[0, 0], ax)

    ax = axes[0, 1]
    ax.plot(x, df["tokens"] / 1e6, color="tab:blue", label="tokens consumed (left)")
    ax.set_yscale("log")
    ax.set_ylabel("trillion tokens per month (log)")
    ax2 = ax.twinx()
    ax2.plot(x, df["gpu_orders"] / 1e3, color="tab:red", label="GPU orders (right)")
    ax2.plot(x, df["gpu_shipments"] / 1e3, color="tab:green", label="GPU shipments (right)")
    ax2.set_ylabel("thousand GPUs per month")
    ax.set_title("Volumes")
    legend(panels[0, 1], ax, ax2, ncols=3)

    ax = axes[0, 2]
    margins = [f"margin_{layer}" for layer in LAYERS]
    for layer, col in zip(LAYERS, margins, strict=True):
        ax.plot(x, df[col], label=layer.replace("_", " "))
    # a margin can be far below 0 in the first months (costs before revenue): show it all
    ax.set_ylim(*_limits(df[margins].to_numpy(), -0.1, 1.0))
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_title("Gross margin by layer")
    ax.set_ylabel("fraction of revenue")
    legend(panels[0, 2], ax, ncols=4)

    ax = axes[1, 0]
    ax.plot(x, df["dc_capacity_mw"] / 1e3, color="tab:blue", label="energized GW (left)")
    ax.plot(x, df["dc_pipeline_mw"] / 1e3, color="tab:orange", label="pipeline GW (left)")
    ax.set_ylabel("GW of IT load")
    ax2 = ax.twinx()
    ax2.plot(x, df["utilization"], color="tab:purple", label="utilisation (right)")
    ax2.plot(x, df["compute_shortage"], color="tab:red", label="labs' shortage (right)")
    shares = ["utilization", "compute_shortage"]
    if "own_ai_shortage" in df:  # results written before round 10 have no such column
        ax2.plot(x, df["own_ai_shortage"], color="tab:brown", label="own-work shortage (right)")
        shares.append("own_ai_shortage")
    ax2.set_ylim(*_limits(df[shares].to_numpy(), 0.0, 1.0, 0.02))
    ax2.set_ylabel("fraction")
    ax.set_title("Data-centre capacity and shortage")
    legend(panels[1, 0], ax, ax2)

    ax = axes[1, 1]
    ax.plot(x, df["startups_alive"], color="tab:blue", label="alive (left)")
    ax.bar(x, df["startup_entries"], width=25, color="tab:green", label="entries / month (left)")
    ax.bar(
        x, -df["startup_exits"], width=25, color="tab:red", label="exits / month, negative (left)"
    )
    ax.set_ylabel("startups")
    ax2 = ax.twinx()
    ax2.plot(
        x,
        df["vc_funding"].rolling(12, min_periods=1).mean() / 1e9,
        color="black",
        label="VC funding, 12-month mean (right)",
    )
    ax2.set_ylabel("$B per month")
    ax.set_title("Startups and venture capital")
    legend(panels[1, 1], ax, ax2)

    ax = axes[1, 2]
    for layer in LAYERS:
        ax.plot(
            x,
            df[f"profit_{layer}"].rolling(3, min_periods=1).mean() / 1e9,
            label=layer.replace("_", " "),
        )
    ax.plot(
        x, df["capex"].rolling(3, min_periods=1).mean() / 1e9, color="black", ls=":", label="capex"
    )
    ax.set_title("Gross profit by layer, and capex (3-month mean)")
    ax.set_ylabel("$B per month")
    legend(panels[1, 2], ax, ncols=3)

    for a in axes.flat:
        a.tick_params(axis="x", labelrotation=30, labelsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_dashboard(df: pd.DataFrame, path: Path | str, title: str = "") -> Path:
    """Draw the six-panel dashboard of a metrics dataframe to ``path`` (PNG)."""
    path = Path(path)
    dashboard_figure(df, title).savefig(path, dpi=90)
    return path
