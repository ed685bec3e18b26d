"""The research notebooks: each runs top to bottom in fast mode, and each is
committed clean (no outputs, no execution counts) with the shape the project asks
for (``ABM_FAST`` read in the first code cell, a closing "What the model says").

Every notebook runs in a fresh ``python3`` kernel of the interpreter running the
tests (jupyter_client starts a kernelspec whose command is ``python`` with
``sys.executable``), with ``notebooks/`` as its working directory and
``ABM_FAST=1`` in its environment. A failing cell raises ``CellExecutionError``,
which fails the test with the cell's traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_jevons.ipynb",
    "03_pricing_power.ipynb",
    "04_datacenter_bottleneck.ipynb",
    "05_bubble_and_bullwhip.ipynb",
    "06_sensitivity.ipynb",
]
# the public API: ComputeMarket and load_config, and the sweep runner
PUBLIC_IMPORT = re.compile(r"from abm(\.experiments)? import (?!.*\b_)[\w, ()]+$")
CELL_TIMEOUT = 600  # seconds; a fast-mode notebook takes well under a minute


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_is_one_notebook_per_topic():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs_and_no_execution_counts(path):
    nb = read(path)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; strip them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_fast_mode_first_and_ends_with_what_the_model_says(path):
    nb = read(path)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "ABM_FAST" in code[0], f"{path.name}: the first code cell must read ABM_FAST"
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert "## What the model says" in headings[-1], (
        f"{path.name}: must end with 'What the model says'"
    )
    assert nb.cells[-1].cell_type == "code", f"{path.name}: the conclusion's numbers come from code"
    for line in (ln.strip() for src in code for ln in src.splitlines()):
        if re.match(r"(from|import)\s+abm\b", line):
            assert PUBLIC_IMPORT.match(line), f"{path.name}: not the public API: {line!r}"
    assert not re.search(r"\babm(\.\w+)*\._", "\n".join(code)), f"{path.name}: private names"


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_in_fast_mode(path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("ABM_FAST", "1")  # the kernel inherits this environment
    nb = read(path)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    printed = "".join(
        o.get("text", "")
        for o in nb.cells[-1].get("outputs", [])
        if o.get("output_type") == "stream"
    )
    assert any(ch.isdigit() for ch in printed), f"{path.name}: the conclusion printed no numbers"
