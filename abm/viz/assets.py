"""Fetch Solara's front-end files from the npm registry, for machines without its CDN.

Solara's page loads its Vue app, requirejs, font-awesome and the draggable grid
that SolaraViz uses from a public CDN, through a caching proxy at
``/_solara/cdn/<package>@<version>/<file>`` whose cache is a plain directory
(``SOLARA_ASSETS_PROXY_CACHE_DIR``, by default ``{sys.prefix}/share/solara/cdn``).
Where that CDN is unreachable (CI, air-gapped clusters) the page stays on
"Loading app". The same packages are on the npm registry, so we ``npm pack`` the
exact versions the installed Solara names and unpack them into that cache.

The versions are read from the installed Solara's own template and widget
sources, so upgrading Solara needs no change here. Run::

    python -m abm.viz.assets          # what the SolaraViz page needs
    python -m abm.viz.assets --all    # also katex, mermaid, ... (solara.Markdown)
    python -m abm.viz.assets --list   # print what would be fetched

Packages already unpacked are skipped, so it is cheap to run on every setup.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

# A CDN reference in Solara's sources: ``{{cdn}}/requirejs@2.3.6/require.js`` in the
# Jinja template, ``${this.getCdn()}/@widgetti/vue-grid-layout@2.3.13-alpha.2/...`` in
# Vue widgets. Only exact versions: a range (``vega@5``) cannot be pinned offline.
_CDN_REF = re.compile(
    r"(?:cdn\}\}|getCdn\(\)\}|cdn)/"
    r"(?P<name>(?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)"
    r"@(?P<version>\d+\.\d+\.\d+(?:-[\w.]+)?)/"
)
_PACKAGE_REF = re.compile(
    r"^/?(?P<name>(?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)@(?P<version>\d+\.\d+\.\d+(?:-[\w.]+)?)/"
)

# Files of the installed solara package whose CDN references the SolaraViz page loads:
# the page shell and the draggable grid SolaraViz lays its components out on.
PAGE_SOURCES = (
    "server/templates/solara.html.j2",
    "widgets/vue/gridlayout.vue",
    "widgets/vue/gridlayout_v3.vue",
)
# Loaded only by components this project does not use on its page (Markdown's katex
# and mermaid, echarts, SQL editor, ...); fetched with ``--all``.
EXTRA_GLOBS = ("components/*.py", "components/*.vue", "widgets/vue/*.vue")

# Marker written last into each unpacked package: its presence means "complete".
_MARKER = ".abm-npm-pack.json"


@dataclass(frozen=True, order=True)
class Asset:
    """One npm package version that Solara's page asks its CDN proxy for."""

    name: str
    version: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def solara_dir() -> Path:
    spec = importlib.util.find_spec("solara")
    if spec is None or spec.origin is None:
        raise RuntimeError("solara is not installed: pip install -e '.[viz]'")
    return Path(spec.origin).parent


def cache_dir() -> Path:
    """The directory Solara's CDN proxy serves from (honours SOLARA_ASSETS_PROXY_CACHE_DIR)."""
    from solara.server import settings  # imported late: it is slow and creates ~/.solara

    return Path(settings.assets.proxy_cache_dir)


def uses_vue3() -> bool:
    # the same test solara.server.server applies to choose the page's app bundle
    return importlib.metadata.version("ipyvue").startswith("3")


def references(text: str) -> set[Asset]:
    """Exact-version npm packages referenced through the CDN in one source text."""
    return {Asset(m["name"], m["version"]) for m in _CDN_REF.finditer(text)}


def discover(include_extras: bool = False) -> list[Asset]:
    """The packages the installed Solara asks for, read from its own sources."""
    root = solara_dir()
    paths = [root / p for p in PAGE_SOURCES if (root / p).exists()]
    if include_extras:
        paths += [p for pattern in EXTRA_GLOBS for p in root.glob(pattern)]
    found: set[Asset] = set()
    for path in paths:
        found |= references(path.read_text(encoding="utf-8", errors="replace"))

    from solara.server import settings

    if settings.assets.fontawesome_enabled:
        m = _PACKAGE_REF.match(settings.assets.fontawesome_path)
        if m:
            found.add(Asset(m["name"], m["version"]))

    # the template names both the Vue 2 and the Vue 3 app; only one is ever served
    unused_app = "solara-vuetify-app" if uses_vue3() else "solara-vuetify3-app"
    found = {a for a in found if not a.name.endswith("/" + unused_app)}
    if not any(a.name.endswith("-app") for a in found):
        raise RuntimeError(f"found no Solara app bundle in {root}; has its template moved?")
    return sorted(found)


def is_present(asset: Asset, cache: Path) -> bool:
    return (cache / asset.spec / _MARKER).exists()


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js (apt-get install -y nodejs npm)")
    return npm


def _unpack(tarball: Path, target: Path) -> None:
    """Unpack an npm tarball into ``target``, dropping its top folder (``package/``)."""
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            for member in members:
                parts = Path(member.name).parts
                if len(parts) < 2:
                    continue
                member.name = str(Path(*parts[1:]))
                tar.extract(member, staging, filter="data")
        (staging / _MARKER).write_text(json.dumps({"tarball": tarball.name}) + "\n")
        if target.exists():  # a half-finished earlier attempt
            shutil.rmtree(target)
        staging.rename(target)  # atomic: the proxy never sees a half-unpacked package
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def fetch(asset: Asset, cache: Path) -> Path:
    """``npm pack`` one package version and unpack it as ``cache/<name>@<version>/``."""
    target = cache / asset.spec
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="abm-npm-") as tmp:
        out = subprocess.run(
            [_npm(), "pack", asset.spec, "--json", "--silent", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        filename = json.loads(out.stdout)[0]["filename"]
        # npm < 9 names scoped tarballs "@scope/x-1.0.tgz" in the JSON but writes "scope-x-1.0.tgz"
        tarball = Path(tmp) / filename.lstrip("@").replace("/", "-")
        _unpack(tarball, target)
    return target


def ensure(
    include_extras: bool = False, cache: Path | None = None, verbose: bool = True
) -> list[Path]:
    """Make every asset the page needs present in the cache; fetch only missing ones."""
    cache = cache_dir() if cache is None else cache
    cache.mkdir(parents=True, exist_ok=True)
    done = []
    for asset in discover(include_extras):
        if is_present(asset, cache):
            if verbose:
                print(f"present  {asset.spec}")
        else:
            if verbose:
                print(f"fetching {asset.spec}", flush=True)
            fetch(asset, cache)
        done.append(cache / asset.spec)
    if verbose:
        print(f"Solara assets in {cache}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m abm.viz.assets",
        description="Put the npm packages Solara's page loads into Solara's CDN proxy cache.",
    )
    parser.add_argument("--all", action="store_true", help="also packages of unused components")
    parser.add_argument("--list", action="store_true", help="print the packages, fetch nothing")
    parser.add_argument("--cache-dir", type=Path, help="default: Solara's proxy cache directory")
    args = parser.parse_args(argv)
    if args.list:
        cache = args.cache_dir or cache_dir()
        for asset in discover(args.all):
            state = "present" if is_present(asset, cache) else "missing"
            print(f"{state:8} {asset.spec}")
        return 0
    try:
        ensure(args.all, args.cache_dir)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"error: {exc}\n{detail}".rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
