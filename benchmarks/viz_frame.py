"""Time one frame of the interactive page: a model step plus the redraw of the first
tab (supply graph and charts, rendered to SVG as the page does). Prints a table.

    .venv/bin/python benchmarks/viz_frame.py [--frames 7]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=7)
    args = parser.parse_args()
    from abm.viz import app, plots

    model = app.VizMarket()
    for _ in range(24):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    first_tab = {c.name for c in plots.CHARTS} & {"Prices", "Capacity", "Startups"}
    charts = [plots.ChartFigure(c, df, app.CHART_SIZE) for c in plots.CHARTS if c.name in first_tab]
    memory: dict = {}
    parts = {"step": [], "supply graph": [], "charts": [], "frame": []}

    def frame() -> None:
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        graph = app.supply_graph_figure(model, memory)
        graph.savefig(io.BytesIO(), format="svg")
        t2 = time.perf_counter()
        frame_df = model.datacollector.get_model_vars_dataframe()
        for c in charts:
            c.update(frame_df).savefig(io.BytesIO(), format="svg")
        t3 = time.perf_counter()
        for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
            parts[k].append(v)

    frame()  # warm caches (fonts, text metrics)
    for v in parts.values():
        v.clear()
    for _ in range(args.frames):
        frame()
    print(f"{'part of a frame':<16}{'median ms':>10}")
    for k, v in parts.items():
        print(f"{k:<16}{statistics.median(v) * 1000:>10.0f}")


if __name__ == "__main__":
    main()
