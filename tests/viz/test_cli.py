"""``abm viz``: arguments, the solara command, and what it must not import."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from abm.viz import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="abm")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["viz", *argv])


def test_defaults_listen_on_localhost_only():
    args = parse()
    assert (args.config, args.host, args.port) == (None, "127.0.0.1", 8765)
    assert args.func is cli.run


def test_command_serves_the_app_file_without_opening_a_browser():
    cmd = cli.command("0.0.0.0", 9000)
    assert cmd[:4] == [sys.executable, "-m", "solara", "run"]
    assert Path(cmd[4]) == Path(cli.__file__).with_name("app.py")
    assert cmd[5:] == ["--host", "0.0.0.0", "--port", "9000", "--no-open"]


def test_the_config_reaches_the_page_as_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = cli.environment("x.toml")
    assert env[cli.CONFIG_ENV] == str(tmp_path / "x.toml")
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"


def test_a_bad_config_stops_before_the_server_starts(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[gpu]\nno_such_key = 1\n")
    monkeypatch.setattr(cli.subprocess, "call", _refuse)
    assert cli.run(parse(str(bad))) == 2
    assert "bad.toml" in capsys.readouterr().err


def _refuse(*args, **kwargs):
    raise AssertionError("the server was started")


def test_the_viz_command_prints_the_address_and_runs_solara(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd, env: calls.append((cmd, env)) or 0)
    monkeypatch.setattr("abm.viz.assets.ensure", lambda **k: [])
    assert cli.run(parse("--port", "8799")) == 0
    assert "http://127.0.0.1:8799/" in capsys.readouterr().out
    ((cmd, env),) = calls
    assert cmd == cli.command("127.0.0.1", 8799)
    assert env[cli.CONFIG_ENV].endswith("baseline.toml")


def test_cli_and_model_import_neither_solara_nor_mesa_visualization():
    code = (
        "import sys, abm.cli, abm.viz.cli, abm.model; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'solara' "
        "or m.startswith('mesa.visualization')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
