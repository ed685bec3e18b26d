"""The 2023-2024 calibration targets, as data: one place, read by the report and its tests.

Each :class:`Target` says what was observed (range, unit, public source) and how the same
quantity is measured on a model run (:class:`Measure`: which per-step column,
which months, which statistic). The figures and their public sources are
described in ``docs/calibration.md``. Nothing here runs the model.

Two conventions, stated once:

* A published point estimate ("about $47.5B") becomes the range
  ``point / POINT_TOLERANCE .. point * POINT_TOLERANCE``. Company figures are
  reported or estimated, not audited, so we read them as orders of magnitude
  and directions.
* A model value is *inside* when the mean over seeds lies in the range, and of
  the *right order of magnitude* when it lies within a factor
  ``ORDER_OF_MAGNITUDE`` (sqrt 10, half a decade) of the range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

POINT_TOLERANCE = 1.25
ORDER_OF_MAGNITUDE = math.sqrt(10.0)

# how a measure reduces per-step columns to one number
KINDS = ("sum", "mean", "max", "ratio", "annual_fall", "growth", "at")


@dataclass(frozen=True)
class Measure:
    """How to read a target's quantity off one run's per-step table.

    ``kind``: ``sum`` / ``mean`` / ``max`` of ``column`` over the months of
    ``period``; ``ratio``: sum of ``column`` over sum of ``denominator``;
    ``annual_fall``: (first / last value of ``column``) per year over the period;
    ``growth``: sum over the second year of ``period`` over the sum over its first;
    ``at``: the value in month ``period`` (``YYYY-MM``).
    ``period`` is a year (``"2023"``), a span of years (``"2023-2024"``) or a month.
    ``scale`` divides the model value into the target's unit.
    """

    kind: str
    column: str
    period: str
    denominator: str | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown measure kind {self.kind!r}")
        if self.kind == "ratio" and self.denominator is None:
            raise ValueError("a ratio needs a denominator column")


@dataclass(frozen=True)
class Target:
    """One observed fact of 2023-2024 and how the model is compared with it."""

    key: str
    series: str  # what is compared; the 2023 and 2024 rows of one series share it
    period: str
    low: float
    high: float
    unit: str
    measure: Measure
    source: str
    observed: str  # the published figure, as reported
    scope: str = ""  # how the model's quantity differs from the observed one, if it does
    direction: str = ""  # for growth-type targets: the sign that must hold
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"{self.key}: low {self.low} above high {self.high}")

    @property
    def range_text(self) -> str:
        return f"{_fmt(self.low)}-{_fmt(self.high)}"

    def inside(self, value: float) -> bool:
        return self.low <= value <= self.high

    def order_of_magnitude(self, value: float) -> bool:
        return self.low / ORDER_OF_MAGNITUDE <= value <= self.high * ORDER_OF_MAGNITUDE


def around(point: float) -> tuple[float, float]:
    """The range stood for by a published point estimate."""
    return point / POINT_TOLERANCE, point * POINT_TOLERANCE


def _trackers(lowest: float, highest: float) -> tuple[float, float]:
    """The range stood for by several trackers' point estimates of one quantity: from the
    lowest divided by 1.25 to the highest times 1.25."""
    return around(lowest)[0], around(highest)[1]


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return f"{x:.3g}"


# NVIDIA reports its Data Center revenue in two parts, compute (GPUs, CPUs, systems and their
# software) and networking (NVLink, InfiniBand, Ethernet); the model's vendor sells only
# accelerators, so its revenue is compared with the compute part.
_NVIDIA_SCOPE = (
    "Model: accelerator sales of the dominant vendor (the first [[gpu.vendors]]) to the four "
    "modelled clouds, which stand for all AI-compute buyers. Target: NVIDIA's Data Center "
    "compute revenue (networking, $8.6B in FY2024 and $13.0B in FY2025, left out as the model "
    "has no networking); it still includes full systems, software and sales to buyers outside "
    "the model (China, H20), and runs February to January."
)
_CAPEX_SCOPE = (
    "Model: AI capex of the big four only (accelerators and AI data-centre construction, for "
    "the labs' compute and their parents' own AI workloads); the neocloud fringe is counted "
    "apart (capex_neocloud). Big-4 capex also funds non-AI servers, networking, land and, for "
    "Amazon, logistics, and leaves out other AI buyers (Oracle, xAI, sovereign and Chinese "
    "buyers)."
)

# Round 12 restated the 2024 capex target to AI capex, the model's scope, from the first
# source found that splits it out (New Street Research via J.P. Morgan). None was found for
# 2023, so its target stays the four's total capex and stays a miss of scope.
_CAPEX_AI_SCOPE = (
    "Model: AI capex of the big four only, as for 2023. Target: the four's AI capex (GPUs and "
    "other data-centre chips, $53B; other AI spend, $55B), the model's scope, read as the "
    "year's amount (Quartz lists it as what each spent in 2024) and as a point estimate. The chart labels "
    "it January-August 2024, but that cannot hold for every company: Meta's $23B exceeds "
    "Meta's own capex for those months (~$21.3B: $6.72B, $8.47B and two thirds of $9.20B by "
    "quarter), and Microsoft's $40B its capex without finance leases (~$34.8B; ~$46.3B with "
    "them). On the label as printed the model would be outside: its own January-August 2024 capex is ~$76B."
)

# Round 10 restated the shipment targets: the old 2024 range ("1.5-2M, Omdia") traces to an
# August 2023 production plan for the H100 alone (FT), not to a count of 2024 shipments.
_SHIPMENTS_SCOPE = (
    "Model: parts of the dominant vendor's established generation (Hopper until May 2025; "
    "not the next generation's parts made during its ramp from October 2024), whatever "
    "the buyer. Target: the Hopper family (H100, H200, H800, H20), from buyer counts (a "
    "floor: Oracle, neoclouds, sovereign and enterprise buyers are missing from them) to "
    "the highest estimate of the total (2023: Omdia's pace read as a point, x 1.25, as the "
    "second half of 2023 shipped faster than the second quarter; 2024: as published)."
)

# Venture rounds in the model go to labs and wrapper startups: the generative-AI layers.
# All-AI totals (Crunchbase ~$42-55B in 2023, ~$100-110B in 2024; the pool's supply is
# calibrated on them) also count self-driving, robotics, defence, chips and biotech.
_VC_SCOPE = (
    "Model: venture rounds into labs and wrapper startups. Target: PitchBook's generative-AI "
    "deal value (companies building or applying generative models, corporate rounds into labs "
    "included: Microsoft into OpenAI, Amazon and Google into Anthropic); all-AI totals "
    "(~$42-55B in 2023, ~$100-110B in 2024; Crunchbase) also count AI outside the modelled "
    "layers. The trackers draw the generative-AI layer differently; the range runs from the "
    "lowest tracker's figure / 1.25 to the highest's x 1.25."
)


TARGETS: tuple[Target, ...] = (
    # --- the GPU vendor
    Target(
        "vendor_revenue_2023",
        "vendor data-centre compute revenue",
        "2023",
        *around(38.95),
        "$B per year",
        Measure("sum", "lead_vendor_revenue", "2023", scale=1e9),
        "NVIDIA Form 10-K, FY2024 (Feb 2023-Jan 2024), revenue by market",
        "~$39.0B compute (of $47.5B Data Center)",
        _NVIDIA_SCOPE,
    ),
    Target(
        "vendor_revenue_2024",
        "vendor data-centre compute revenue",
        "2024",
        *around(102.2),
        "$B per year",
        Measure("sum", "lead_vendor_revenue", "2024", scale=1e9),
        "NVIDIA Form 10-K, FY2025 (Feb 2024-Jan 2025), revenue by market",
        "~$102.2B compute (of $115.2B Data Center)",
        _NVIDIA_SCOPE,
    ),
    Target(
        "vendor_margin_2023",
        "vendor gross margin",
        "2023",
        0.72,
        0.76,
        "fraction",
        Measure("ratio", "lead_vendor_gross_profit", "2023", denominator="lead_vendor_revenue"),
        "NVIDIA results (FY2024 72.7%)",
        "72-76%",
    ),
    Target(
        "vendor_margin_2024",
        "vendor gross margin",
        "2024",
        0.73,
        0.75,
        "fraction",
        Measure("ratio", "lead_vendor_gross_profit", "2024", denominator="lead_vendor_revenue"),
        "NVIDIA results (FY2025 ~75%)",
        "~73-75%",
    ),
    Target(
        "gpu_shipments_2023",
        "Hopper shipments",
        "2023",
        0.65,
        around(1.2)[1],
        "M GPUs per year",
        Measure("sum", "lead_vendor_shipments_established", "2023", scale=1e6),
        "Omdia: 2023 H100 purchases of the twelve largest buyers (~0.65M, a floor) and "
        "the Q2 2023 pace (>300k a quarter, ~1.2M a year) read as a point",
        "~0.65M (named buyers) to ~1.2M (annualised pace)",
        _SHIPMENTS_SCOPE,
    ),
    Target(
        "gpu_shipments_2024",
        "Hopper shipments",
        "2024",
        1.7,
        3.2,
        "M GPUs per year",
        Measure("sum", "lead_vendor_shipments_established", "2024", scale=1e6),
        "Omdia via the Financial Times (Dec 2024): 2024 Hopper purchases of the named "
        "buyers (~1.7M, a floor); NVIDIA GTC (Mar 2025): ~1.3M Hopper to the top four US "
        "clouds in 2024, ~40% of units by UBS's reading (~3.2M; not widened: NVIDIA put "
        "the whole generation at ~4M parts, Oct 2025)",
        "~1.7M (named buyers) to ~3.2M",
        _SHIPMENTS_SCOPE,
    ),
    # --- compute
    Target(
        "compute_price_2023",
        "H100 rental price",
        "2023",
        4.7,
        8.0,
        "$ per GPU-hour",
        Measure("max", "compute_price", "2023"),
        "Latent Space; SemiAnalysis",
        "~$4.7 at launch, spot >$8",
        "Model: the 2023 peak of the volume-weighted price per H100-equivalent GPU-hour; the "
        "range runs from the launch price to the spot peak.",
    ),
    Target(
        "compute_price_2024",
        "H100 rental price",
        "2024",
        *around(2.925),
        "$ per GPU-hour",
        Measure("mean", "compute_price", "2024"),
        "Latent Space; SemiAnalysis",
        "~$2.85 early 2024 -> ~$3.0 (Oct)",
        "Model: 2024 average of the volume-weighted price per H100-equivalent GPU-hour.",
    ),
    Target(
        "capex_2023",
        "hyperscaler capex",
        "2023",
        140.0,
        150.0,
        "$B per year",
        Measure("sum", "capex", "2023", scale=1e9),
        "company filings (Microsoft, Alphabet, Amazon, Meta)",
        "~$140-150B",
        _CAPEX_SCOPE,
    ),
    Target(
        "capex_2024",
        "hyperscaler capex",
        "2024",
        *around(108.0),
        "$B per year",
        Measure("sum", "capex", "2024", scale=1e9),
        "New Street Research via J.P. Morgan (Visual Capitalist, 24 Dec 2024; Quartz, 30 Dec "
        "2024): AI capex of Microsoft $40B, Alphabet $29B, Meta $23B, Amazon $16B, labelled "
        "January-August 2024",
        "AI capex ~$108B (total capex ~$226-230B, company filings)",
        _CAPEX_AI_SCOPE,
    ),
    # --- tokens
    Target(
        "frontier_price_2023",
        "frontier token list price",
        "2023",
        15.0,
        45.0,
        "$ per M tokens",
        Measure("mean", "frontier_list_price", "2023"),
        "OpenAI price lists",
        "GPT-4 $30/$60 in/out; GPT-4 Turbo (Nov 2023) $10/$30",
        "Model: posted price of the best model, one price per token. Range: GPT-4 Turbo blended "
        "3:1 input:output ($15) to GPT-4 blended 1:1 ($45).",
    ),
    Target(
        "frontier_price_2024",
        "frontier token list price",
        "2024",
        4.4,
        10.0,
        "$ per M tokens",
        Measure("mean", "frontier_list_price", "2024"),
        "OpenAI price lists",
        "GPT-4o $5/$15 -> $2.5/$10",
        "Model: posted price of the best model. Range: GPT-4o after the cut blended 3:1 "
        "($4.4) to GPT-4o at launch blended 1:1 ($10).",
    ),
    Target(
        "fixed_capability_fall",
        "price at fixed capability",
        "2023-2024",
        9.0,
        900.0,
        "x cheaper per year",
        Measure("annual_fall", "price_at_fixed_capability", "2023-2024"),
        "a16z 'LLMflation' (2024); Epoch AI (2025)",
        "~10x/yr (a16z); 9-900x/yr by benchmark (Epoch, median ~50x)",
        "Model: cheapest model at least as good as the best model of January 2023.",
        direction="falls",
    ),
    Target(
        "tokens_spring_2024",
        "token volume",
        "2024-04",
        9.7,
        97.0,
        "T tokens per month",
        Measure("at", "tokens", "2024-04", scale=1e6),
        "Google I/O 2024/2025 (Google alone ~9.7T/month in spring 2024)",
        "Google ~9.7T/month",
        "Model: all end users' tokens. The low end is Google alone; the high end assumes Google "
        "served at least a tenth of all tokens (assumption).",
    ),
    Target(
        "token_growth",
        "token volume growth",
        "2023-2024",
        2.0,
        50.0,
        "x per year",
        Measure("growth", "tokens", "2023-2024"),
        "Microsoft FY25 Q3 call (100T tokens in Jan-Mar 2025, 5x a year earlier); "
        "Google I/O 2025 (480T/month, 50x a year earlier)",
        "5-50x a year (2024-25)",
        "Model: 2024 total over 2023 total. The published growth rates are for 2024-25; "
        "using them for 2023-24 is an assumption, so the range starts at 2x.",
        direction="rises",
    ),
    # --- money up the chain
    Target(
        "lab_revenue_vs_capex",
        "lab revenue vs hyperscaler capex",
        "2024",
        0.018,
        0.2,
        "ratio",
        Measure("ratio", "lab_revenue", "2024", denominator="capex"),
        "derived: OpenAI 2024 revenue ~$3.7B, Anthropic ~$0.38B (press) vs big-4 capex ~$228B",
        "an order of magnitude below",
        "Model: all model developers' token revenue over the clouds' AI capex (smaller than "
        "big-4 capex, so the model's ratio reads high). The low end is OpenAI plus Anthropic "
        "over all big-4 capex; the high end is 'an order of magnitude below' (a fifth at most).",
    ),
    Target(
        "vc_funding_2023",
        "VC funding to generative AI",
        "2023",
        *_trackers(21.8, 29.1),
        "$B per year",
        Measure("sum", "vc_funding", "2023", scale=1e9),
        "Crunchbase via TechCrunch (Jul 2024), $21.8B; Stanford AI Index 2024 (Quid), "
        "$25.2B; PitchBook via TechCrunch (3 Jan 2025), $29.1B in 691 deals",
        "~$21.8-29.1B by tracker",
        _VC_SCOPE,
    ),
    Target(
        "vc_funding_2024",
        "VC funding to generative AI",
        "2024",
        *_trackers(33.9, 56.0),
        "$B per year",
        Measure("sum", "vc_funding", "2024", scale=1e9),
        "Stanford AI Index 2025 (Quid), $33.9B; PitchBook via TechCrunch (3 Jan 2025), "
        "$56B in 885 deals",
        "~$33.9-56B by tracker",
        _VC_SCOPE,
    ),
)


def target(key: str) -> Target:
    for t in TARGETS:
        if t.key == key:
            return t
    raise KeyError(key)


def series_names() -> list[str]:
    """The compared series, in table order."""
    return list(dict.fromkeys(t.series for t in TARGETS))
