"""A one-page picture of a run: prices, volumes, margins, capacity, startups, profit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _dates(df: pd.DataFrame):
    return pd.to_datetime(df["date"], format="%Y-%m")


def plot_dashboard(df: pd.DataFrame, path: Path | str, title: str = "") -> Path:
    """Draw the six-panel dashboard of a metrics dataframe to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    df = df.iloc[1:]  # row 0 is the initial state, with no trade
    x = _dates(df)
    fig = Figure(figsize=(15, 9), layout="constrained")
    axes = fig.subplots(2, 3)

    ax = axes[0, 0]
    ax.plot(x, df["compute_price"], label="compute ($/GPU-h)")
    ax.plot(x, df["token_price"], label="token, model devs ($/Mtok)")
    ax.plot(x, df["retail_token_price"], label="token, retail ($/Mtok)", ls="--")
    ax.plot(x, df["price_at_fixed_capability"], label="fixed capability ($/Mtok)")
    ax.plot(x, df["gpu_price_per_h100e"] / 1e4, label="GPU ($10k per H100e)")
    ax.set_yscale("log")
    ax.set_title("Prices")
    ax.set_ylabel("$ per unit (log scale)")
    ax.legend(fontsize=7)

    ax = axes[0, 1]
    ax.plot(x, df["tokens"] / 1e6, label="tokens consumed (T tokens/month)")
    ax.set_yscale("log")
    ax.set_ylabel("trillion tokens per month (log)")
    ax2 = ax.twinx()
    ax2.plot(x, df["gpu_orders"] / 1e3, color="tab:red", alpha=0.6, label="GPU orders")
    ax2.plot(x, df["gpu_shipments"] / 1e3, color="tab:green", alpha=0.8, label="GPU shipments")
    ax2.set_ylabel("thousand GPUs per month")
    ax.set_title("Volumes")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], fontsize=7, loc="upper left")

    ax = axes[0, 2]
    for layer in ("vendor", "hyperscalers", "model_devs", "startups"):
        ax.plot(x, df[f"margin_{layer}"], label=layer.replace("_", " "))
    ax.set_ylim(-0.5, 1.05)
    ax.set_title("Gross margin by layer")
    ax.set_ylabel("fraction of revenue")
    ax.legend(fontsize=7)

    ax = axes[1, 0]
    ax.plot(x, df["dc_capacity_mw"] / 1e3, label="energized (GW)")
    ax.plot(x, df["dc_pipeline_mw"] / 1e3, label="pipeline (GW)")
    ax.set_ylabel("GW of IT load")
    ax2 = ax.twinx()
    ax2.plot(x, df["utilization"], color="tab:purple", alpha=0.7, label="utilisation")
    ax2.plot(x, df["compute_shortage"], color="tab:red", alpha=0.7, label="compute shortage")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("fraction")
    ax.set_title("Data-centre capacity and shortage")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], fontsize=7, loc="upper left")

    ax = axes[1, 1]
    ax.plot(x, df["startups_alive"], label="alive")
    ax.bar(x, df["startup_entries"], width=20, alpha=0.4, label="entries / month")
    ax.bar(x, -df["startup_exits"], width=20, alpha=0.4, label="exits / month (negative)")
    ax.set_ylabel("startups")
    ax2 = ax.twinx()
    ax2.plot(
        x,
        df["vc_funding"].rolling(12, min_periods=1).mean() / 1e9,
        color="tab:gray",
        label="VC funding ($B/month, 12-mo mean)",
    )
    ax2.set_ylabel("$B per month")
    ax.set_title("Startups and venture capital")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], fontsize=7, loc="upper left")

    ax = axes[1, 2]
    for layer in ("vendor", "hyperscalers", "model_devs", "startups"):
        ax.plot(
            x,
            df[f"profit_{layer}"].rolling(3, min_periods=1).mean() / 1e9,
            label=layer.replace("_", " "),
        )
    ax.plot(
        x, df["capex"].rolling(3, min_periods=1).mean() / 1e9, color="black", ls=":", label="capex"
    )
    ax.set_title("Gross profit by layer, and capex (3-mo mean)")
    ax.set_ylabel("$B per month")
    ax.legend(fontsize=7)

    for a in axes.flat:
        a.tick_params(axis="x", labelrotation=30, labelsize=8)
    if title:
        fig.suptitle(title)
    path = Path(path)
    fig.savefig(path, dpi=90)
    return path
