"""YAML loading that remembers where every value came from.

PyYAML's `safe_load` forgets line numbers and silently keeps the last of two
duplicate keys. We compose the node tree instead, convert it to plain Python
values ourselves, and record the location of each value under its key path
(`("annotations", 2, "quote")`), so later stages can point at the exact line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from site_gen.diagnostics import DiagnosticError, SourceLocation, error

KeyPath = tuple[str | int, ...]


@dataclass
class LocatedYaml:
    """Plain values (dicts, lists, scalars) plus the location of every node by key path."""

    value: Any
    locations: dict[KeyPath, SourceLocation] = field(default_factory=dict)
    key_locations: dict[KeyPath, SourceLocation] = field(default_factory=dict)
    """Where each mapping key itself is written (for "unknown key" errors)."""

    def where(self, *path: str | int) -> SourceLocation:
        """The location of the value at `path`, or of its nearest located ancestor."""
        while path not in self.locations and path:
            path = path[:-1]
        return self.locations[path]


def load_yaml(text: str, path: str, line_offset: int = 0) -> LocatedYaml:
    """Parse one YAML document; raise DiagnosticError with file lines on any problem.

    `line_offset` is the number of file lines before `text` (the front-matter
    fence), so errors point at the line in the user's file, not in the snippet.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LocatedYaml(None, {(): SourceLocation(path, line_offset + 1, 1)})
        located = LocatedYaml(None)
        located.value = _convert(loader, node, (), located, path, line_offset)
        return located
    except yaml.MarkedYAMLError as exc:
        raise DiagnosticError([_yaml_error(exc, path, line_offset)]) from None
    except yaml.YAMLError as exc:  # errors without a mark (rare): still say where
        raise DiagnosticError([error(SourceLocation(path, line_offset + 1, 1), f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def _location(node: yaml.Node, path: str, line_offset: int) -> SourceLocation:
    mark = node.start_mark
    return SourceLocation(path, mark.line + 1 + line_offset, mark.column + 1)


def _convert(loader: yaml.SafeLoader, node: yaml.Node, key_path: KeyPath,
             located: LocatedYaml, path: str, line_offset: int) -> Any:
    located.locations[key_path] = _location(node, path, line_offset)
    if isinstance(node, yaml.MappingNode):
        return _convert_mapping(loader, node, key_path, located, path, line_offset)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, key_path + (i,), located, path, line_offset)
                for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _convert_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, key_path: KeyPath,
                     located: LocatedYaml, path: str, line_offset: int) -> dict[str, Any]:
    loader.flatten_mapping(node)  # resolves `<<` merge keys the way safe_load does
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        where = _location(key_node, path, line_offset)
        if not isinstance(key_node, yaml.ScalarNode):
            raise DiagnosticError([error(where, "a mapping key must be a plain value, not a list or mapping")])
        key = str(loader.construct_object(key_node))
        if key in result:
            first = located.locations[key_path + (key,)]
            raise DiagnosticError([error(where, f"duplicate key '{key}' (first given on line {first.line})",
                                         "remove one of the two; YAML would silently keep only the last")])
        located.key_locations[key_path + (key,)] = where
        result[key] = _convert(loader, value_node, key_path + (key,), located, path, line_offset)
    return result


def _yaml_error(exc: yaml.MarkedYAMLError, path: str, line_offset: int) -> Any:
    mark = exc.problem_mark or exc.context_mark
    line = (mark.line + 1 if mark else 1) + line_offset
    col = mark.column + 1 if mark else 1
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    hint = ""
    if "\t" in problem or "'\\t'" in problem:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    elif "mapping values are not allowed" in problem:
        hint = "a value containing ': ' must be quoted, e.g. quote: \"Note: ...\""
    return error(SourceLocation(path, line, col), f"invalid YAML: {problem}", hint)
