"""Execute the research notebooks and write them, with outputs, to results/notebooks/.

    python notebooks/run_all.py              # full size (what `make notebooks` runs)
    python notebooks/run_all.py --fast       # ABM_FAST=1: small and quick
    python notebooks/run_all.py 02 05        # only notebooks whose name starts with these

The notebooks in notebooks/ stay as committed (no outputs); executed copies go to
``results/notebooks/<name>.ipynb`` and, for readers without Jupyter, to
``results/notebooks/<name>.html`` (self-contained: figures embedded), with an
``index.html`` linking them. Each notebook runs in a fresh ``python3`` kernel of
this interpreter with notebooks/ as its working directory. A notebook that fails is
still written (up to the failing cell, with the traceback) and the script exits
with status 1; a missing nbconvert is exit status 2, before anything runs.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent
ROOT = NOTEBOOK_DIR.parent
OUT_DIR = ROOT / "results" / "notebooks"


def notebooks(prefixes: list[str]) -> list[Path]:
    found = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        found = [p for p in found if any(p.name.startswith(x) for x in prefixes)]
    return found


def execute(path: Path, timeout: int) -> tuple[nbformat.NotebookNode, str | None]:
    """Run one notebook top to bottom; return it with outputs and the error, if any."""
    nb = nbformat.read(path, as_version=4)
    # IPC sockets in a private temporary directory: no TCP port, no plain-text warning
    with tempfile.TemporaryDirectory(prefix="abm_kernel_") as tmp:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(tmp) / "kernel"))
        client = NotebookClient(
            nb, km=km, timeout=timeout, resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
        )
        try:
            client.execute()
        except CellExecutionError as exc:
            return nb, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        finally:
            if km.has_kernel:  # the client leaves a kernel manager it was given running
                km.shutdown_kernel(now=True)
    return nb, None


def write_html(nb: nbformat.NotebookNode, path: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    path.write_text(body, encoding="utf-8")


def write_index(out: Path) -> Path:
    """``index.html``: a link to every executed notebook's HTML in ``out``, with the mode
    it ran in (a fast run's numbers are illustrative) and when."""
    items = []
    for page in sorted(out.glob("[0-9][0-9]_*.html")):
        source = page.with_suffix(".ipynb")
        if not source.is_file():
            continue
        nb = nbformat.read(source, as_version=4)
        title = next(
            (c.source.splitlines()[0].lstrip("# ") for c in nb.cells if c.cell_type == "markdown"),
            page.stem,
        )
        first = next((c for c in nb.cells if c.cell_type == "code"), None)
        said = "".join(o.get("text", "") for o in (first.get("outputs", []) if first else []))
        mode = "fast mode: illustrative numbers" if "FAST MODE" in said else "full size"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(page.stat().st_mtime))
        items.append(
            f'<li><a href="{page.name}">{html.escape(title)}</a> ({mode}; run {when})</li>'
        )
    index = out / "index.html"
    index.write_text(
        '<!doctype html>\n<meta charset="utf-8">\n<title>abm research notebooks</title>\n'
        "<h1>abm research notebooks</h1>\n"
        "<p>Executed by <code>notebooks/run_all.py</code> (<code>make notebooks</code>).</p>\n"
        f"<ul>\n{chr(10).join(items)}\n</ul>\n",
        encoding="utf-8",
    )
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="run only notebooks whose name starts with these")
    parser.add_argument("--fast", action="store_true", help="ABM_FAST=1: small, quick runs")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory ({OUT_DIR})")
    parser.add_argument("--timeout", type=int, default=4 * 3600, help="seconds per cell")
    args = parser.parse_args(argv)

    try:
        import nbconvert  # noqa: F401  (checked before hours of running, not after)
    except ImportError:
        print(
            "nbconvert is not installed, so no HTML can be written: pip install -e '.[test]'",
            file=sys.stderr,
        )
        return 2
    # the kernels inherit this environment
    if args.fast:
        os.environ["ABM_FAST"] = "1"
    else:
        os.environ.pop("ABM_FAST", None)
    paths = notebooks(args.only)
    if not paths:
        print(f"no notebooks match {args.only}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    total = time.perf_counter()
    for path in paths:
        start = time.perf_counter()
        print(f"{path.name} ...", end=" ", flush=True)
        nb, error = execute(path, args.timeout)
        target = args.out / path.name
        nbformat.write(nb, target)
        write_html(nb, target.with_suffix(".html"))
        status = "ok" if error is None else f"FAILED: {error}"
        print(f"{status} ({time.perf_counter() - start:.0f} s) -> {target} and .html", flush=True)
        if error is not None:
            failed.append(path.name)
    mode = "fast mode: illustrative numbers" if args.fast else "full size"
    index = write_index(args.out)
    print(
        f"{len(paths) - len(failed)} of {len(paths)} notebooks ran ({mode}) in "
        f"{time.perf_counter() - total:.0f} s"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + f"\nread them without Jupyter: {index}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
