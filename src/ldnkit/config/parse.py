"""Reading a YAML run config: every problem at once, one line, with spelling suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ldnkit.config.run import RunConfig
from ldnkit.errors import ConfigError


def _error_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before") or "[" in str(item):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "config"


def _problem(err: Mapping[str, Any]) -> tuple[str, str, str]:
    """(where, what, fix) of one pydantic error, with a spelling suggestion for an unknown key."""
    loc = tuple(err["loc"])
    where = _error_path(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _keys_at(loc[:-1]), n=1)
        what = f"unknown key (did you mean '{close[0]}'?)" if close else "unknown key"
        return where, what, "check its spelling against docs/config.md"
    if kind == "missing":
        return where, "is required", "add it (see docs/config.md)"
    bad = err.get("input")
    shown = "" if isinstance(bad, dict | list) else f" (got {bad!r})"
    return where, f"{err['msg'].removeprefix('Value error, ')}{shown}", "see docs/config.md"


def _keys_at(loc: tuple) -> list[str]:
    """The keys the config schema allows at ``loc`` (a pydantic error location), for suggestions."""
    schema = RunConfig.model_json_schema()
    defs = schema.get("$defs", {})

    def resolve(node: dict) -> list[dict]:
        if "$ref" in node:
            return resolve(defs[node["$ref"].rsplit("/", 1)[1]])
        options = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
        return [o for opt in options for o in resolve(opt)] if options else [node]

    nodes = resolve(schema)
    for part in loc:
        nxt = []
        for node in nodes:
            if isinstance(part, int) and "items" in node:
                nxt += resolve(node["items"])
            elif part in node.get("properties", {}):
                nxt += resolve(node["properties"][part])
            elif isinstance(node.get("additionalProperties"), dict):
                nxt += resolve(node["additionalProperties"])
        nodes = nxt
    return sorted({k for node in nodes for k in node.get("properties", {})})


def parse_config(data: dict[str, Any], base_dir: Path | str = ".", source: str = "config") -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming the first bad key."""
    if not isinstance(data, dict):
        raise ConfigError(source, "is not a mapping of keys", "see docs/config.md for the layout")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        # a misspelt key is also a missing one: name the misspelling first, with its suggestion
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        problems = [_problem(err) for err in errors]
        where, what, fix = problems[0]
        if len(problems) > 1:  # every problem at once, still on one line
            what = f"{what}; and {len(problems) - 1} more: " + "; ".join(
                f"{w} {m}" for w, m, _ in problems[1:]
            )
        raise ConfigError(f"{source}: {where}", what, fix) from None
    cfg.base_dir = Path(base_dir)
    return cfg


def load_config(path: Path | str) -> RunConfig:
    """Read and validate a YAML run config; relative paths in it are relative to its folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "config file not found", "give the path of a YAML run config")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise ConfigError(str(path), f"is not valid YAML{at}", "fix the syntax") from None
    cfg = parse_config(data, base_dir=path.parent.resolve(), source=str(path))
    cfg.source = path.resolve()
    return cfg
