"""``abm viz``: serve the interactive page in a browser.

Kept free of Solara and Mesa imports: ``abm --help`` and ``abm run`` must not pay
for them. The page runs in its own ``solara run`` process; the config reaches it
through the ``ABM_VIZ_CONFIG`` environment variable.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

CONFIG_ENV = "ABM_VIZ_CONFIG"
APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


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
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
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


def run(args: argparse.Namespace) -> int:
    """Check the config, make sure the page's front-end files are here, serve the page."""
    from abm.cli import resolve_config_path
    from abm.config import ConfigError, load_config

    config = resolve_config_path(args.config)  # as ``abm run`` reads it
    try:
        load_config(config)  # fail here, in one line, rather than inside the page
    except ConfigError as exc:
        print(f"abm: error: {exc}", file=sys.stderr)
        return 2
    try:
        from abm.viz import assets

        assets.ensure(verbose=False)
    except ImportError:
        print("abm: error: the page needs the viz extra: pip install -e '.[viz]'", file=sys.stderr)
        return 2
    except Exception as exc:  # offline front-end is a convenience; a CDN may still work
        print(f"warning: could not fetch Solara's front-end files ({exc})", file=sys.stderr)

    url = f"http://{args.host}:{args.port}/"
    print(f"abm viz: {config.stem} at {url}  (Ctrl-C stops)", flush=True)
    try:
        return subprocess.call(command(args.host, args.port), env=environment(config))
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m abm.viz.cli [CONFIG]``."""
    parser = argparse.ArgumentParser(prog="abm")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["viz", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
