"""``abm viz``: arguments, the address check, and stopping with the server it started.

The process tests run the real command and the real Solara server on ports the
OS hands out, and wait on conditions with bounded polling.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from abm.viz import cli

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 240.0  # seconds for the server to answer, on a busy 2-core machine


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="abm")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["viz", *argv])


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def abm_viz(*args: str, log: Path) -> subprocess.Popen:
    """``python -m abm viz ARGS`` with stdout and stderr in ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "abm", "viz", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            start_new_session=True,  # a signal we send reaches abm viz alone
        )


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def serving(tmp_path):
    """Start ``abm viz`` on a free port; yields (process, port, log, server pid)."""
    started: list[subprocess.Popen] = []

    def start(*args: str, host: str = "127.0.0.1"):
        port = free_port(host)
        log = tmp_path / f"viz-{port}.log"
        proc = abm_viz("--host", host, "--port", str(port), *args, log=log)
        started.append(proc)

        def up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"abm viz exited with {proc.returncode}:\n{log.read_text()}")
            return answers(port)

        wait_until(up, START_TIMEOUT, "the page to answer")
        (server,) = children(proc.pid)
        return proc, port, log, server

    yield start
    for proc in started:  # whatever a failed test left behind
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_defaults_listen_on_localhost_only():
    args = parse()
    assert (args.config, args.host, args.port) == (None, "127.0.0.1", 8765)
    assert args.func is cli.run


def test_a_port_out_of_range_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        parse("--port", "70000")
    assert exit_.value.code == 2
    assert "a port is between 1 and 65535, got 70000" in capsys.readouterr().err


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


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
    ],
)
def test_only_loopback_addresses_count_as_this_machine_only(host, loopback):
    assert cli.is_loopback(host) is loopback


@pytest.mark.slow
def test_a_busy_port_is_refused_before_any_address_is_printed(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "abm", "viz", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
    assert out.returncode == 2
    assert out.stdout == ""  # no URL that leads nowhere
    assert out.stderr.splitlines() == [
        f"abm: error: port {port} on 127.0.0.1 is in use (another abm viz?); choose one with --port"
    ]


@pytest.mark.slow
def test_a_bad_config_stops_before_the_server_starts(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[gpu]\nno_such_key = 1\n")
    port = free_port()
    out = subprocess.run(
        [sys.executable, "-m", "abm", "viz", str(bad), "--port", str(port)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 2
    assert "bad.toml" in out.stderr and out.stdout == ""
    assert cli.bind_error("127.0.0.1", port) is None  # nothing was started on the port


@pytest.mark.slow
def test_sigterm_stops_the_server_it_started(serving):
    proc, port, log, server = serving()
    assert f"at http://127.0.0.1:{port}/" in log.read_text()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not alive(server)
    assert not answers(port)
    assert cli.bind_error("127.0.0.1", port) is None  # the port is free again


@pytest.mark.slow
def test_ctrl_c_on_all_interfaces_warns_then_stops_the_server(serving):
    proc, port, log, server = serving(host="0.0.0.0")
    warning = [line for line in log.read_text().splitlines() if "warning" in line]
    assert warning == [
        "abm viz: warning: listening on 0.0.0.0, so other machines can reach the page: "
        "anyone who can connect can run models on this machine; no login, no TLS"
    ]
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends (here to abm viz alone)
    assert proc.wait(timeout=60) == 0
    assert not alive(server)
    assert cli.bind_error("0.0.0.0", port) is None


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_a_killed_abm_viz_takes_its_server_with_it(serving):
    proc, port, _, server = serving()
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: the kernel tells the server
    proc.wait(timeout=30)
    wait_until(lambda: not alive(server), 60, "the orphaned server to stop")
    wait_until(lambda: not answers(port), 30, "the port to stop answering")


@pytest.mark.slow
def test_cli_and_model_import_neither_solara_nor_mesa_visualization():
    code = (
        "import sys, abm.cli, abm.viz.cli, abm.model; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'solara' "
        "or m.startswith('mesa.visualization')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
