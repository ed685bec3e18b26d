"""The claim helpers of notebooks/nbtools.py: each turns numbers into words and
refuses what the sample cannot support (issue 13: fast mode printed "nan", "over the
decade" after 48 months and "higher in every seed" with one seed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "notebooks"))
import nbtools  # noqa: E402


def test_mode_line_says_fast_numbers_are_illustrative_and_full_size_does_not():
    fast = nbtools.mode_line(True, "48 months", "1,000 simulated users")
    assert fast.startswith("FAST MODE (48 months, 1,000 simulated users): ")
    assert nbtools.FAST_NOTICE in fast
    full = nbtools.mode_line(False, "120 months")
    assert full == "Full size: 120 months."
    assert nbtools.caveat(True).startswith("FAST MODE: " + nbtools.FAST_NOTICE)
    assert nbtools.caveat(False) == ""


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -np.inf, np.float64("nan")])
def test_num_refuses_non_finite_numbers_unless_told_why(bad):
    with pytest.raises(ValueError, match="refusing to print"):
        nbtools.num(bad)
    assert nbtools.num(bad, missing="not measured") == "not measured"


def test_num_formats_finite_numbers():
    assert nbtools.num(0.12345) == "0.123"
    assert nbtools.num(0.052, "+.0%") == "+5%"
    assert nbtools.num(np.float32(2.5), ".1f") == "2.5"
    with pytest.raises(TypeError, match="not a number"):
        nbtools.num("abc")


def test_horizon_says_decade_only_for_ten_simulated_years():
    assert nbtools.horizon("2023-01", "2032-12") == "the decade 2023-01 to 2032-12"
    assert nbtools.horizon("2023-01", "2026-12") == "4 years (2023-01 to 2026-12)"
    assert nbtools.horizon("2023-01", "2025-06") == "30 months (2023-01 to 2025-06)"
    assert nbtools.horizon("2023-01", "2023-12") == "12 months (2023-01 to 2023-12)"
    assert "decade" not in nbtools.horizon("2023-01", "2033-12")
    with pytest.raises(ValueError):
        nbtools.horizon("2024-01", "2023-12")


def test_sign_sentence_with_one_seed_never_claims_every_seed():
    text = nbtools.sign_sentence(
        "Spend", {0.8: [-0.01], 1.5: [-0.003], 2.5: [0.02]}, group_name="elasticities"
    )
    assert text == (
        "Spend is higher at elasticities 2.5; lower at 0.8 and 1.5 "
        "(one seed each: these signs are not tested against seed noise)."
    )
    assert "every seed" not in text and "all" not in text


def test_sign_sentence_with_several_seeds_separates_consistent_from_mixed():
    text = nbtools.sign_sentence(
        "Spend",
        {0.7: [-0.2, -0.1, -0.3], 1.3: [0.1, -0.1, 0.2], 2.5: [0.3, 0.2, 0.1]},
        group_name="elasticities",
    )
    assert text == (
        "Spend is higher in all 3 seeds at elasticities 2.5; lower in all 3 seeds at 0.7; "
        "higher in some seeds and not in others at 1.3."
    )
    two = nbtools.sign_sentence("x", {"a": [1.0, 2.0]}, group_name="arms")
    assert two == "x is higher in both seeds at arms a."


def test_sign_sentence_counts_changes_within_tolerance_as_none():
    text = nbtools.sign_sentence(
        "Spend", {1: [0.001, -0.002], 2: [0.5, 0.4]}, group_name="arms", tol=0.005
    )
    assert text == (
        "Spend is higher in both seeds at arms 2; within 0.005 of no change in both seeds at 1."
    )
    down = nbtools.sign_sentence("x", {1: [-1.0], 2: [0.0]}, group_name="arms", tol=0.1)
    assert down == (
        "x is lower at arms 1; within 0.1 of no change at 2 "
        "(one seed each: these signs are not tested against seed noise)."
    )


def test_sign_sentence_refuses_nan():
    with pytest.raises(ValueError, match="non-finite"):
        nbtools.sign_sentence("Spend", {1: [np.nan, 0.1]}, group_name="arms")


def test_threshold_sentence_when_nothing_is_measured_gives_the_reason_not_nan():
    s = pd.Series([np.nan] * 4, index=["2026-09", "2026-10", "2026-11", "2026-12"])
    text = nbtools.threshold_sentence(
        "The effective elasticity", s, 1.0, undefined="price gap below 5% in every month"
    )
    assert text == (
        "The effective elasticity is not measured in any month (price gap below 5% in every month)."
    )
    assert "nan" not in text


def test_threshold_sentence_reports_measured_months_and_the_last_value():
    s = pd.Series(
        [np.nan, 1.4, 1.2, 0.8, np.nan],
        index=pd.to_datetime(["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]),
    )
    text = nbtools.threshold_sentence("e", s, 1.0, undefined="-")
    assert text == (
        "e is above 1 in 2 of 3 measured months (2025-02 to 2025-03; "
        "0.80 in 2025-04, the last measured month)."
    )
    below = nbtools.threshold_sentence("e", s.clip(upper=0.9), 1.0, undefined="-")
    assert below.startswith("e is above 1 in none of the 3 measured months (at most 0.90;")


def test_spread_gives_no_range_for_one_run_and_counts_undefined_runs():
    per = pd.DataFrame(
        {
            "arm": ["a", "a", "a", "b", "c", "c"],
            "x": [1.0, 2.0, np.nan, 5.0, np.nan, np.nan],
        }
    )
    sp = nbtools.Spread(per)
    assert sp("a", "x") == "1.5 [1 to 2] (defined in 2 of 3 runs)"
    assert sp("b", "x") == "5 (one run)"
    alike = nbtools.Spread(pd.DataFrame({"arm": ["a"] * 3, "x": [0.321, 0.322, 0.319]}))
    assert alike("a", "x", ".0%") == "32% (all 3 runs)"
    assert sp.mean("a", "x") == 1.5
    assert np.isnan(sp.mean("c", "x"))
    assert sp.n_defined("a", "x") == (2, 3)
    with pytest.raises(ValueError, match="undefined in every run"):
        sp("c", "x")
    assert sp("c", "x", missing="never") == "never"
    with pytest.raises(KeyError):
        sp("zzz", "x")


def test_top_lever_names_no_lever_when_the_estimate_is_imprecise():
    st = pd.Series({"a": 0.98, "b": 0.84})
    text, precise = nbtools.top_lever(st, pd.Series({"a": 22.65, "b": 0.3}))
    assert not precise
    assert text.startswith("no lever can be singled out (largest ST 0.98 for a")
    text, precise = nbtools.top_lever(pd.Series({"a": 1.9}), pd.Series({"a": 0.1}))
    assert not precise


def test_top_lever_names_one_lever_only_when_intervals_separate():
    conf = pd.Series({"a": 0.05, "b": 0.05, "c": 0.05})
    text, precise = nbtools.top_lever(
        pd.Series({"a": 0.7, "b": 0.2, "c": 0.1}), conf, pd.Series({"a": 0.6})
    )
    assert precise
    assert text == "mostly a (ST 0.70 +- 0.05, S1 0.60), then b (ST 0.20 +- 0.05)"
    text, _ = nbtools.top_lever(pd.Series({"a": 0.5, "b": 0.45}), conf)
    assert text == "a (ST 0.50 +- 0.05) and b (ST 0.45 +- 0.05), whose intervals overlap"


def test_show_renders_undefined_cells_as_na_not_nan():
    html = nbtools.show(pd.DataFrame({"x": [1.0, np.nan]})).to_html()
    assert "n/a" in html and "nan" not in html.lower()


def test_legend_below_puts_one_legend_outside_every_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, layout="constrained")
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="same")
    axes[1].plot([0, 1], [1, 0], label="other")
    leg = nbtools.legend_below(fig, axes)
    fig.canvas.draw()
    assert [t.get_text() for t in leg.get_texts()] == ["same", "other"]
    box = leg.get_window_extent()
    for ax in axes:
        assert not box.overlaps(ax.get_window_extent())
    plt.close(fig)


def test_from_to_takes_the_verb_from_the_numbers():
    assert nbtools.from_to(3.7, 2.61, prefix="$") == "falls from $3.7 to $2.61 (1.42x lower)"
    assert nbtools.from_to(0.34, 1.25, ".2f", prefix="$", suffix="B") == (
        "rises from $0.34B to $1.25B (3.68x higher)"
    )
    assert nbtools.from_to(1.0, 5.35) == "rises from 1 to 5.35 (5.35x higher)"
    assert nbtools.from_to(2.0, 2.0001) == "stays at 2"
    assert nbtools.from_to(-1.0, 0.5) == "rises from -1 to 0.5"
    with pytest.raises(ValueError):
        nbtools.from_to(float("nan"), 1.0)


def test_range_text_collapses_equal_ends():
    assert nbtools.range_text(0.62, 0.6201, ".2f") == "0.62"
    assert nbtools.range_text(0.62, 0.94, ".2f") == "0.62 to 0.94"
    with pytest.raises(ValueError):
        nbtools.range_text(0.1, float("nan"))
