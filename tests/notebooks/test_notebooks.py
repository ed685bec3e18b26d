"""The research notebooks: each runs top to bottom in fast mode, and each is
committed clean (no outputs, no execution counts) with the shape the project asks
for (``ABM_FAST`` read in the first code cell, a closing "What the model says").

Every notebook runs in a fresh ``python3`` kernel of the interpreter running the
tests (jupyter_client starts a kernelspec whose command is ``python`` with
``sys.executable``), with ``notebooks/`` as its working directory and
``ABM_FAST=1`` in its environment. A failing cell raises ``CellExecutionError``,
which fails the test with the cell's traceback. The executed notebook's output text
(printed lines, tables, HTML tables) must then say that its numbers are
illustrative and must not state what a fast run cannot show: no ``nan`` or ``inf``,
no "decade" (fast runs are shorter), no "every seed", and no warnings.
"""

from __future__ import annotations

import html
import re
import sys
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
sys.path.insert(0, str(NOTEBOOK_DIR))
from nbtools import FAST_NOTICE  # noqa: E402

# words a fast run must never print: undefined numbers, a horizon it did not simulate,
# consistency across seeds it may not have (the claim helpers say "all n seeds")
FORBIDDEN = re.compile(r"\b(nan|inf|-inf|infinity|decade|every seed)\b", re.IGNORECASE)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def output_text(output: nbformat.NotebookNode) -> str:
    """The text a reader sees of one cell output: printed lines, plain-text results and
    HTML tables without their markup (an image's text is only its repr)."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join(output.get("traceback", []))
    data = output.get("data", {})
    parts = []
    if "text/html" in data:
        page = re.sub(r"<style.*?</style>", " ", data["text/html"], flags=re.DOTALL)
        parts.append(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    if "text/plain" in data and "image/png" not in data:
        parts.append(data["text/plain"])
    return "\n".join(parts)


def cell_text(cell: nbformat.NotebookNode) -> str:
    return "\n".join(output_text(o) for o in cell.get("outputs", []))


def test_output_text_reads_streams_tables_and_html_without_markup():
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a line\n"),
        nbformat.v4.new_output(
            "execute_result",
            data={
                "text/html": "<style>td {color: red}</style><table><td>1.5</td><td>nan</td>",
                "text/plain": "<pandas Styler>",
            },
        ),
        nbformat.v4.new_output(
            "display_data", data={"image/png": "iVBOR", "text/plain": "<Figure size 10x10>"}
        ),
    ]
    text = cell_text(cell)
    assert "a line" in text and "1.5" in text and "<pandas Styler>" in text
    assert "color" not in text and "<td>" not in text and "Figure" not in text
    assert FORBIDDEN.findall(text) == ["nan"]
    for ok in ("financial", "Infinite loops aside", "nano", "information"):
        assert not FORBIDDEN.search(ok), ok
    for bad in ("at most nan", "NaN", "-inf", "over the decade", "higher in every seed", "inf"):
        assert FORBIDDEN.search(bad), bad


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

    code = [c for c in nb.cells if c.cell_type == "code"]
    # the reader is told at the top and again at the conclusion
    assert FAST_NOTICE in cell_text(code[0]), f"{path.name}: first cell lacks the fast-mode notice"
    assert FAST_NOTICE in printed, f"{path.name}: the conclusion lacks the fast-mode notice"
    for i, cell in enumerate(nb.cells):
        text = cell_text(cell)
        bad = sorted({m.lower() for m in FORBIDDEN.findall(text)})
        assert not bad, f"{path.name}, cell {i}: prints {bad}:\n{text[:2000]}"
        warned = [
            o.get("text", "")
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"
        ]
        assert not warned, f"{path.name}, cell {i} writes to stderr:\n{''.join(warned)[:2000]}"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_all_writes_executed_notebook_html_and_an_index(tmp_path):
    """What `make notebooks` runs, on one notebook: the executed copy, a self-contained
    HTML page that says it is a fast run, and an index linking it."""
    import subprocess

    done = subprocess.run(
        [sys.executable, str(NOTEBOOK_DIR / "run_all.py"), "--fast", "01", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Kernel is running over TCP" not in done.stderr
    assert "Parent appears to have exited" not in done.stderr  # each kernel was shut down
    assert f"read them without Jupyter: {tmp_path / 'index.html'}" in done.stdout
    executed = read(tmp_path / "01_quickstart.ipynb")
    assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code")
    page = (tmp_path / "01_quickstart.html").read_text(encoding="utf-8")
    assert FAST_NOTICE in page
    assert page.count("data:image/png;base64,") >= 4  # figures embedded, no side files
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert '<a href="01_quickstart.html">01 · Quickstart' in index
    assert "(fast mode: illustrative numbers; run " in index
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "01_quickstart.html",
        "01_quickstart.ipynb",
        "index.html",
    ]


def test_run_all_names_no_notebook_with_exit_code_2(tmp_path):
    import subprocess

    done = subprocess.run(
        [sys.executable, str(NOTEBOOK_DIR / "run_all.py"), "99", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "no notebooks match ['99']"
    assert not any(tmp_path.iterdir())
