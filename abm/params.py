"""The ``abm params`` command: every parameter with its value, unit, range and source.

``abm params [PREFIX] [--json] [--config FILE]`` lists the dotted keys of a config
(the baseline by default), one line each, as ``--set`` and sweep files spell them.
Units, ranges, sources and meanings come from the schema in :mod:`abm.config`, the
one place they are written; values come from the config. A prefix that matches no
key is bad input: one line with a suggestion, exit code 2.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import types
import typing
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from abm.config import Config, ConfigError, load_config


@dataclass(frozen=True)
class Parameter:
    """One dotted key of a config, with what the schema says about it."""

    key: str
    value: Any
    unit: str
    range: str
    source: str
    description: str
    kind: str  # "calibrated" (required, set by the baseline), "switch" or "label"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``params`` subcommand."""
    p = subparsers.add_parser(
        "params",
        help="list every parameter with its value, unit, range and source",
        description="List the config's parameters as dotted keys (as --set and sweep files "
        "spell them) with value, unit, allowed range and source.",
    )
    p.add_argument("prefix", nargs="?", help="only keys under this prefix, e.g. end_users")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument(
        "--config", metavar="FILE", help="read values from this config (default: the baseline)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from abm.cli import resolve_config_path

    path = resolve_config_path(args.config)
    rows = select(parameters(load_config(path)), args.prefix)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1))
    else:
        print(f"{len(rows)} parameters of {path} (units, ranges and sources: abm/config.py)")
        print(table(rows))
    return 0


# --------------------------------------------------------------------------- walking the config
def parameters(config: Config) -> list[Parameter]:
    """Every leaf key of ``config``, list items by index and tables by name, in schema order."""
    return list(_walk(config, ""))


def _walk(section: BaseModel, prefix: str):
    for name, info in type(section).model_fields.items():
        value = getattr(section, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from _walk(value, f"{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            for i, item in enumerate(value):
                yield from _walk(item, f"{key}.{i}.")
        elif (
            isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel)
        ):
            for entry, item in value.items():
                yield from _walk(item, f"{key}.{entry}.")
        else:
            extra = info.json_schema_extra or {}
            assert isinstance(extra, dict)
            yield Parameter(
                key=key,
                value=value,
                unit=str(extra.get("unit", "")),
                range=range_text(info),
                source=str(extra.get("source", "")),
                description=info.description or "",
                kind=_kind(info, extra),
            )


def _kind(info: FieldInfo, extra: dict[str, Any]) -> str:
    if extra.get("source") == "switch":
        return "switch"
    if extra.get("source") == "label":
        return "label"
    return "calibrated" if info.is_required() else "switch"


def range_text(info: FieldInfo) -> str:
    """The allowed values of a field, e.g. ``[0, 1]``, ``(0, 1000]``, ``profit | utilization``."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and "range" in extra:
        return str(extra["range"])
    annotation, args = info.annotation, typing.get_args(info.annotation)
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and (
        type(None) in args
    )
    if optional:
        annotation = next(a for a in args if a is not type(None))
    limits = {
        name: getattr(m, name)
        for m in info.metadata
        for name in ("gt", "ge", "lt", "le", "min_length", "max_length", "pattern")
        if getattr(m, name, None) is not None
    }
    if annotation is bool:
        text = "true | false"
    elif typing.get_origin(annotation) is Literal:
        text = " | ".join(str(a) for a in typing.get_args(annotation))
    elif annotation in (int, float):
        low = (
            f"[{_num(limits['ge'])}" if "ge" in limits else f"({_num(limits.get('gt', -math.inf))}"
        )
        high = (
            f"{_num(limits['le'])}]" if "le" in limits else f"{_num(limits.get('lt', math.inf))})"
        )
        text = f"{low}, {high}" + (" integer" if annotation is int else "")
    elif annotation is str:
        text = f"text matching {limits['pattern']}" if "pattern" in limits else "text"
    elif typing.get_origin(annotation) is list:
        text = f"list of {limits.get('min_length', 0)} or more"
    else:
        text = getattr(annotation, "__name__", str(annotation))
    return f"unset or {text}" if optional else text


def _num(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e6 else f"{x:g}"


def select(rows: list[Parameter], prefix: str | None) -> list[Parameter]:
    """The rows under ``prefix`` (a key or a dotted table); ConfigError with a suggestion if none."""
    if not prefix:
        return rows
    prefix = prefix.rstrip(".")
    chosen = [r for r in rows if r.key == prefix or r.key.startswith(prefix + ".")]
    if chosen:
        return chosen
    known = sorted({".".join(r.key.split(".")[:i]) for r in rows for i in range(1, 10)} - {""})
    close = difflib.get_close_matches(prefix, known, n=1, cutoff=0.6)
    if not close:  # a bare key name: find its section
        tail = [r.key for r in rows if r.key.rsplit(".", 1)[-1] == prefix.rsplit(".", 1)[-1]]
        close = tail[:1]
    hint = f"; did you mean {close[0]!r}?" if close else "; `abm params` lists them all"
    raise ConfigError(f"params: no parameter is or starts with {prefix!r}{hint}")


def table(rows: list[Parameter]) -> str:
    """A plain text table: key, value, unit, range, source."""
    cells = [("key", "value", "unit", "range", "source")]
    cells += [(r.key, _show(r.value), r.unit, r.range, r.source) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = []
    for c in cells:
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(line.rstrip() for line in lines)


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 or not value.is_integer() else f"{value:.4g}"
    return json.dumps(value) if isinstance(value, list | str) else str(value)


__all__ = ["Parameter", "parameters", "range_text", "register", "select", "table"]
