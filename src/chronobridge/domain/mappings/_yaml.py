"""YAML with line numbers: every mapping remembers where it and each of its keys were written.

PyYAML forgets positions once a document is constructed and silently keeps the last of two
equal keys; a mapping file needs both, so that every error can say "line 12: ...".

Keys are kept as written (`yes`, `1`, `""` stay the strings "yes", "1" and ""), because code
maps are keyed by DrChrono's values, which are text. Values follow YAML (`null`, numbers).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

__all__ = ["Located", "YamlProblem", "load"]


class YamlProblem(Exception):
    """The text is not YAML, or has a duplicate key; `line` is 1-based (0 when unknown)."""

    def __init__(self, reason: str, *, line: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class Located(dict[str, Any]):
    """A YAML mapping that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # noqa: FBT001, FBT002 - PyYAML's signature
        result = Located()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem("keys must be plain values", line=_line(key_node))
            name = str(key_node.value)
            if name in result:
                raise YamlProblem(f"duplicate key {name!r}", line=_line(key_node))
            result[name] = self.construct_object(value_node, deep=True)
            result.key_lines[name] = _line(key_node)
        return result


def _construct_located(loader: _Loader, node: MappingNode) -> Located:
    located = loader.construct_mapping(node, deep=True)
    assert isinstance(located, Located)
    return located


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_located)


def load(text: str) -> Any:
    """One YAML document; every mapping in it is a `Located` with string keys."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlProblem(f"not valid YAML: {error.problem or error.context}", line=line) from None
    except yaml.YAMLError as error:
        raise YamlProblem(f"not valid YAML: {error}", line=0) from None


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1
