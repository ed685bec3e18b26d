"""``abm viz``: serve the interactive page in a browser.

Kept free of Solara and Mesa imports: ``abm --help`` and ``abm run`` must not pay
for them. The page runs in a ``solara run`` child process; the config reaches it
through the ``ABM_VIZ_CONFIG`` environment variable. ``abm viz`` checks that the
port is free before it prints an address, and stops the child when it is stopped
itself (SIGTERM or Ctrl-C); on Linux the child also dies with it if it is killed.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

CONFIG_ENV = "ABM_VIZ_CONFIG"
APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
STOP_TIMEOUT = 15.0  # seconds the server gets to close its connections before it is killed


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, got {port}")
    return port


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``viz`` command to the main ``abm`` parser."""
    p = subparsers.add_parser(
        "viz",
        help="interactive supply-graph page in the browser (Solara)",
        description="Serve the interactive page: step, play and reset the model, move its "
        "levers, and watch the supply graph and the market series.",
    )
    p.add_argument("config", nargs="?", help="TOML config to start from (default: baseline)")
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}, this machine only)",
    )
    p.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    p.set_defaults(func=run)
    return p


def command(host: str, port: int) -> list[str]:
    """The ``solara run`` command line for the page."""
    return [
        sys.executable, "-m", "solara", "run", str(APP),
        "--host", host, "--port", str(port), "--no-open",
    ]  # fmt: skip


def environment(config: str | Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if config is not None:
        env[CONFIG_ENV] = str(Path(config).resolve())
    # a research page has no business calling home; Solara's telemetry is on by default
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    return env


def is_loopback(host: str) -> bool:
    """True if ``host`` is reachable from this machine only (a host name: all its addresses)."""
    name = host.strip("[]")
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def bind_error(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port``, or None if it can.

    Binds the way uvicorn will (SO_REUSEADDR, IPv6 for an address with a colon),
    so a port held only by connections closing (TIME_WAIT) counts as free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host.strip("[]"), port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is in use (another abm viz?); choose one with --port"
        return f"cannot listen on {host} port {port}: {exc.strerror or exc}"
    return None


def url(host: str, port: int) -> str:
    name = host.strip("[]")
    if name in ("0.0.0.0", "::"):  # every interface: name the machine
        name = socket.gethostname()
    elif ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}/"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when ``abm viz`` dies."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class _Stop(Exception):
    """SIGTERM or SIGINT reached ``abm viz``."""


def serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server until it exits, or until we are told to stop; then stop it too."""

    def stop(signum: int, frame: object) -> None:
        raise _Stop(signum)

    child = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    except _Stop:
        # SIGINT from a terminal has reached the child too; the server exits on either.
        # Asked again while it closes: stop waiting for it.
        for s in previous:
            signal.signal(s, lambda *_: child.kill())
        child.terminate()
        try:
            child.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run(args: argparse.Namespace) -> int:
    """Check the config and the address, fetch the page's front-end files, serve the page."""
    from abm.cli import resolve_config_path
    from abm.config import ConfigError, load_config

    config = resolve_config_path(args.config)  # as ``abm run`` reads it
    try:
        load_config(config)  # fail here, in one line, rather than inside the page
    except ConfigError as exc:
        print(f"abm: error: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(
            f"abm viz: warning: listening on {args.host}, so other machines can reach the page: "
            "anyone who can connect can run models on this machine; no login, no TLS",
            file=sys.stderr,
        )
    problem = bind_error(args.host, args.port)
    if problem:
        print(f"abm: error: {problem}", file=sys.stderr)
        return 2
    try:
        from abm.viz import assets

        assets.ensure(verbose=False)
    except ImportError:
        print("abm: error: the page needs the viz extra: pip install -e '.[viz]'", file=sys.stderr)
        return 2
    except Exception as exc:  # offline front-end is a convenience; a CDN may still work
        print(f"warning: could not fetch Solara's front-end files ({exc})", file=sys.stderr)

    print(f"abm viz: {config.stem} at {url(args.host, args.port)}  (Ctrl-C stops)", flush=True)
    return serve(command(args.host, args.port), environment(config))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m abm.viz.cli [CONFIG]``."""
    parser = argparse.ArgumentParser(prog="abm")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["viz", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
