"""Safe YAML that remembers where things are: each key and list item's line number.

`LineLoader` is a `yaml.SafeLoader` (it builds only plain data, never objects), which also walks
the node tree and records the 1-based line of every path, such as ("actions", 2, "ports") for
the ports of the third action. Aliases are refused, since they can make a tiny file expand into
a huge tree; duplicate keys are reported, not silently overwritten. Nesting deeper than
`MAX_DEPTH` is a problem at the line where it goes too deep, so no recursive step (composing,
constructing, validating) ever sees a tree deep enough to exhaust the stack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

Path = tuple[str | int, ...]
PARAMS = "params"  # the model's name for an action's parameters
_UNQUOTED_COMPARISON = re.compile(r":\s*[<>]")
MAX_DEPTH = 64


class YamlProblem(Exception):
    """Something wrong in the YAML itself, at a 1-based line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class LineMap:
    """Lines by path, and the nearest known line for any path (its longest known prefix)."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {(): 1}
        self.children: dict[Path, tuple[str, ...]] = {}

    def line_of(self, path: Sequence[str | int]) -> int:
        resolved = self.resolve(path)
        for end in range(len(resolved), -1, -1):
            line = self.lines.get(tuple(resolved[:end]))
            if line is not None:
                return line
        return 1

    def resolve(self, path: Sequence[str | int]) -> Path:
        """The YAML path for a model path: an action's `params` are the mapping under its name
        (`- block_ports: {ports: [445]}`)."""
        out: list[str | int] = []
        for part in path:
            here = tuple(out)
            keys = self.children.get(here, ())
            if part == PARAMS and len(keys) == 1 and (*here, part) not in self.lines:
                out.append(keys[0])  # an action's params sit under its name
                continue
            out.append(part)
        return tuple(out)


class LineLoader(yaml.SafeLoader):
    """A SafeLoader that also returns the line of every key and list item."""

    def load_with_lines(self) -> tuple[Any, LineMap, list[YamlProblem]]:
        try:
            node = self.get_single_node()
            if node is None:
                return None, LineMap(), []
            lines = LineMap()
            problems: list[YamlProblem] = []
            self._walk(node, (), lines, problems, set())
            if problems:
                return None, lines, problems
            return self.construct_document(node), lines, []
        finally:
            self.dispose()

    def _walk(
        self,
        node: yaml.Node,
        path: Path,
        lines: LineMap,
        problems: list[YamlProblem],
        seen: set[int],
    ) -> None:
        if id(node) in seen:
            problems.append(YamlProblem(node.start_mark.line + 1, "YAML aliases are not allowed"))
            return
        if len(path) > MAX_DEPTH:
            line = node.start_mark.line + 1
            problems.append(YamlProblem(line, f"nested deeper than {MAX_DEPTH} levels"))
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: list[str] = []
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in first:
                    problems.append(
                        YamlProblem(line, f"duplicate key {key!r} (first at line {first[key]})")
                    )
                    continue
                first[key] = line
                keys.append(key)
                lines.lines[(*path, key)] = line
                self._walk(value_node, (*path, key), lines, problems, seen)
            lines.children[path] = tuple(keys)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines.lines[(*path, index)] = item.start_mark.line + 1
                self._walk(item, (*path, index), lines, problems, seen)


def load_yaml(text: str) -> tuple[Any, LineMap, list[YamlProblem]]:
    """Parse one YAML document: (data, lines, problems). A syntax error is one problem."""
    try:
        return LineLoader(text).load_with_lines()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        detail = " ".join(part for part in (err.context, err.problem) if part)
        source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        if _UNQUOTED_COMPARISON.search(source):
            detail += '; quote a comparison, like severity: ">= high"'
        return None, LineMap(), [YamlProblem(line, f"YAML syntax error: {detail}")]
    except yaml.YAMLError as err:
        return None, LineMap(), [YamlProblem(1, f"YAML error: {err}")]
    except RecursionError:  # composing a tree deeper than the stack, before _walk sees it
        return None, LineMap(), [YamlProblem(1, f"nested deeper than {MAX_DEPTH} levels")]
