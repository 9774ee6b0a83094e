"""Reading and writing scenario files: YAML with the line of every field, one-line errors.

Errors name the file, the line and the field (``x.yaml, line 12, field 'changes[2].close'``);
list positions in field names count from 0, lines from 1. Anchors and aliases are refused before
anything is built, so a small file cannot expand into a huge document (a "billion laughs").
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from geoplan.errors import ScenarioError
from geoplan.fileio import BoundedLoader, construct_yaml
from geoplan.scenarios.schema import (
    BASELINE,
    SCENARIO_DIR,
    Loc,
    Scenario,
    baseline_scenario,
    catalogue_reference,
    format_loc,
    line_of,
)

#: Largest scenario file read (bytes); a scenario is a few kilobytes.
MAX_SCENARIO_BYTES = 1_000_000
#: Most YAML nodes in one scenario file (a scenario with hundreds of changes has a few thousand).
MAX_SCENARIO_NODES = 50_000
#: Key lines in a YAML file (``key:`` or ``- key:``), used to name the field of a syntax error.
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z_][\w-]*)\s*:")


class _BoundedLoader(BoundedLoader):
    """geoplan's bounded YAML loader (no anchors or aliases, node and depth limits), naming scenario files."""

    def __init__(self, text: str, path: Path) -> None:
        super().__init__(text, path=path, error=ScenarioError, max_nodes=MAX_SCENARIO_NODES, what="scenario files")


def _node_lines(node: yaml.Node, path: Path, loc: Loc = (), lines: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Line (1-based) of every mapping key and sequence item under ``node``, keyed by its location."""
    lines = {} if lines is None else lines
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            if (*loc, key) in lines and lines[(*loc, key)] != key_node.start_mark.line + 1:
                msg = f"duplicate key {key!r} (first on line {lines[(*loc, key)]})"
                raise ScenarioError(msg, path=path, line=key_node.start_mark.line + 1, field=format_loc((*loc, key)))
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _node_lines(value_node, path, (*loc, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _node_lines(item, path, (*loc, index), lines)
    return lines


def _field_at(text: str, line: int) -> str:
    """The key path enclosing ``line`` of a YAML text, from indentation (for syntax errors)."""
    stack: list[tuple[int, str]] = []
    items: dict[str, int] = {}
    for raw in text.splitlines()[:line]:
        match = _KEY_LINE.match(raw)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if match["dash"]:
            parent = stack[-1][1] if stack else ""
            items[parent] = items.get(parent, -1) + 1
            stack.append((indent, f"{parent}[{items[parent]}]"))
            indent += len(match["dash"])
        parent = stack[-1][1] if stack else ""
        stack.append((indent, f"{parent}.{match['key']}" if parent else match["key"]))
    return stack[-1][1] if stack else "(document)"


def _clean_loc(loc: Sequence[Any], data: object, missing: bool) -> Loc:
    """Keep the part of a pydantic error location that exists in the file (plus a missing field's name)."""
    parts: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif missing and isinstance(node, dict) and isinstance(part, str):
            parts.append(part)
            break
        else:
            break
        parts.append(part)
    return tuple(parts)


def _syntax_error(exc: yaml.YAMLError, text: str, path: Path) -> ScenarioError:
    context = getattr(exc, "context", None) or ""
    context_mark = getattr(exc, "context_mark", None)
    mark = getattr(exc, "problem_mark", None) or context_mark
    if context_mark is not None and any(word in context for word in ("flow", "quoted")):
        # An unclosed bracket or quote is noticed lines later; name the line where it opened.
        mark = context_mark
    if mark is None and isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
    else:
        line = min(mark.line + 1, max(len(text.splitlines()), 1)) if mark is not None else 1
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or "syntax error"
    msg = f"not valid YAML ({problem})"
    return ScenarioError(msg, path=path, line=line, field=_field_at(text, line))


def parse_scenario(text: str, *, path: Path) -> Scenario:
    """Validate a scenario file's text (schema only); ``path`` is where it is said to come from.

    Relative ``base`` paths resolve against ``path``'s folder.

    Raises
    ------
    ScenarioError
        Bad YAML, anchors or aliases, a duplicate key, or a field that does not validate.
    """
    if len(text) > MAX_SCENARIO_BYTES:
        msg = f"file is larger than {MAX_SCENARIO_BYTES:,} bytes; a scenario file is a few kilobytes"
        raise ScenarioError(msg, path=path)
    try:
        loader = _BoundedLoader(text, path)
    except yaml.YAMLError as exc:  # the reader refuses control characters at once
        raise _syntax_error(exc, text, path) from None
    try:
        root = loader.get_single_node()
        data = construct_yaml(root, path=path, error=ScenarioError) if root is not None else None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    finally:
        loader.dispose()
    if root is None or data is None:
        msg = "file is empty; a scenario needs version, name, title and changes"
        raise ScenarioError(msg, path=path, line=1, field="version")
    if not isinstance(data, dict):
        msg = "a scenario is a mapping of fields (version, name, title, changes, ...)"
        raise ScenarioError(msg, path=path, line=root.start_mark.line + 1, field="(document)")
    lines = _node_lines(root, path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _clean_loc(first["loc"], data, first["type"] == "missing")
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif first["type"] == "missing":
            message = f"missing required field {loc[-1]!r}"
        raise ScenarioError(
            message, path=path, line=line_of(lines, loc), field=format_loc(loc) or "(document)"
        ) from None
    return scenario.located(path, lines)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file (schema only; :func:`~geoplan.scenarios.apply_scenario` checks it against an area).

    Raises
    ------
    ScenarioError
        For a missing, oversized, non-UTF-8 or empty file, bad YAML, anchors or aliases, a
        duplicate key, or a field that does not validate; the message names the file, the line and the field.
    """
    path = Path(path)
    if not path.is_file():
        msg = "scenario file not found"
        raise ScenarioError(msg, path=path)
    if path.stat().st_size > MAX_SCENARIO_BYTES:
        msg = f"file is larger than {MAX_SCENARIO_BYTES:,} bytes; a scenario file is a few kilobytes"
        raise ScenarioError(msg, path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        msg = "not UTF-8 text"
        raise ScenarioError(msg, path=path, line=1) from None
    return parse_scenario(text, path=path)


def resolve_scenario(value: str | Path, *, directory: Path = SCENARIO_DIR) -> Scenario:
    """A scenario given as a file path or as the name of a shipped scenario (or ``baseline``)."""
    if str(value) == BASELINE:
        return baseline_scenario()
    path = Path(value)
    if not path.exists() and path.suffix == "" and (directory / f"{value}.yaml").is_file():
        path = directory / f"{value}.yaml"
    return load_scenario(path)


def list_scenarios(directory: str | Path = SCENARIO_DIR) -> list[Scenario]:
    """Every scenario file (``*.yaml``) in ``directory``, validated, sorted by name."""
    if not Path(directory).is_dir():
        msg = "not a folder of scenario files"
        raise ScenarioError(msg, path=directory)
    return sorted((load_scenario(path) for path in Path(directory).glob("*.yaml")), key=lambda item: item.name)


def _plain(value: object) -> object:
    """YAML-friendly numbers: ``15.0`` is written ``15``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def scenario_yaml(scenario: Scenario) -> str:
    """A scenario as a scenario file (schema version 1) that validates wherever it is saved.

    ``base`` is written as the shipped catalogue's name, or as an absolute path for any other
    catalogue, never relative to a folder the file may not be saved in; a scenario naming no
    study area is written without one (it is for the area it is run on).
    """
    data = {
        "version": scenario.version,
        "name": scenario.name,
        "title": scenario.title,
        "description": scenario.description,
        "base": None if scenario.base is None else catalogue_reference(scenario.base_path()),
        "settings": scenario.settings.model_dump(mode="json"),
        "changes": [
            change.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
            for change in scenario.changes
        ],
    }
    if data["base"] is None:
        del data["base"]
    return yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=100)


def scenario_token(scenario: Scenario) -> str:
    """A scenario as a short URL-safe token (its :func:`scenario_yaml`, compressed), for a page address."""
    packed = zlib.compress(scenario_yaml(scenario).encode("utf-8"), level=9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def token_yaml(token: str) -> str:
    """The scenario file text a :func:`scenario_token` holds (at most a scenario file's largest size).

    Raises
    ------
    ValueError
        The token is damaged: not URL-safe base64 of compressed UTF-8 text.
    """
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return zlib.decompressobj().decompress(packed, MAX_SCENARIO_BYTES).decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError) as exc:
        msg = f"not a scenario token ({exc})"
        raise ValueError(msg) from None
