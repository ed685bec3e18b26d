"""Offline Solara front-end: which npm packages, and how they land in the proxy cache."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from abm.viz import assets
from abm.viz.assets import Asset

TEMPLATE = """
<link href="{{cdn}}/@widgetti/solara-vuetify-app@10.1.1/dist/main{{v}}.css">
<script src="{{cdn}}/requirejs@2.3.6/require.js"></script>
const {GridLayout} = await this.import([`${this.getCdn()}/@widgetti/vue-grid-layout@2.3.13-alpha.2/dist/x.js`]);
'vega': `${this.getCdn()}/vega@5/build/vega.min.js`,
<script src="https://cdn.example.org/npm/other@1.0.0/x.js"></script>
"""


def test_references_are_the_exact_versions_behind_the_cdn_prefix():
    assert assets.references(TEMPLATE) == {
        Asset("@widgetti/solara-vuetify-app", "10.1.1"),
        Asset("requirejs", "2.3.6"),
        Asset("@widgetti/vue-grid-layout", "2.3.13-alpha.2"),
    }  # vega@5 is a range, other@1.0.0 is not behind Solara's cdn


def test_discover_reads_the_installed_solaras_own_template():
    pytest.importorskip("solara")
    template = (assets.solara_dir() / "server/templates/solara.html.j2").read_text()
    found = {a.name: a.version for a in assets.discover()}
    app = "@widgetti/solara-vuetify3-app" if assets.uses_vue3() else "@widgetti/solara-vuetify-app"
    assert f"{app}@{found[app]}/" in template
    assert "requirejs" in found and "font-awesome" in found
    assert "@widgetti/vue-grid-layout" in found  # SolaraViz lays its components out on this grid


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_unpack_drops_the_package_folder_and_marks_completion(tmp_path):
    tgz = _tarball(tmp_path / "x-1.0.0.tgz", {"dist/a.js": b"a", "package.json": b"{}"})
    target = tmp_path / "cache" / "@scope" / "x@1.0.0"
    target.parent.mkdir(parents=True)
    assets._unpack(tgz, target)
    assert (target / "dist/a.js").read_bytes() == b"a"
    assert assets.is_present(Asset("@scope/x", "1.0.0"), tmp_path / "cache")
    # nothing left behind but the package
    assert sorted(p.name for p in target.parent.iterdir()) == ["x@1.0.0"]


def test_ensure_fetches_only_what_is_missing(tmp_path, monkeypatch):
    wanted = [Asset("a", "1.0.0"), Asset("@s/b", "2.0.0")]
    fetched: list[str] = []

    def fake_fetch(asset, cache):
        fetched.append(asset.spec)
        target = cache / asset.spec
        target.mkdir(parents=True)
        (target / assets._MARKER).write_text(json.dumps({}))
        return target

    monkeypatch.setattr(assets, "discover", lambda include_extras=False: wanted)
    monkeypatch.setattr(assets, "fetch", fake_fetch)
    assets.ensure(cache=tmp_path, verbose=False)
    assets.ensure(cache=tmp_path, verbose=False)
    assert fetched == ["a@1.0.0", "@s/b@2.0.0"]


def test_a_half_unpacked_package_is_not_taken_as_present(tmp_path):
    (tmp_path / "a@1.0.0" / "dist").mkdir(parents=True)  # no completion marker
    assert not assets.is_present(Asset("a", "1.0.0"), tmp_path)
