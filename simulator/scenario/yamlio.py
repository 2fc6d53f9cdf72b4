"""Read scenario YAML with YAML 1.2 core rules and no duplicate keys.

PyYAML follows YAML 1.1, where `NO` is a boolean, `1e9` is a string and
`2026-01-01` becomes a date object. Scenarios name countries, write large
counts in exponent form and quote prices by date, so this loader resolves
plain scalars as YAML 1.2's core schema does: only true/false are booleans,
numbers with an exponent are floats, dates stay strings. A key written twice
in one mapping is an error naming the key and both lines.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from simulator.errors import ScenarioError

MAX_FILE_BYTES = 10_000_000
MAX_NODES = 1_000_000
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _CoreResolver(yaml.resolver.BaseResolver):
    """Plain-scalar resolution of the YAML 1.2 core schema."""


_CoreResolver.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", _BOOL, "tTfF"),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", _INT, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT, "-+0123456789.")
):
    _CoreResolver.add_implicit_resolver(_tag, _regexp, list(_first))


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe constructor with 1.2 numbers and a duplicate-key check."""

    def construct_yaml_bool(self, node: yaml.Node) -> bool:
        """true or false, in any of the three YAML 1.2 spellings."""
        return self.construct_scalar(node).lower() == "true"

    def construct_yaml_int(self, node: yaml.Node) -> int:
        """Decimal, 0o octal or 0x hexadecimal integers."""
        text = self.construct_scalar(node)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)

    def construct_yaml_float(self, node: yaml.Node) -> float:
        """Floats, exponents without a dot included, and .inf / .nan."""
        text = self.construct_scalar(node).lower()
        if text.endswith("inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text == ".nan":
            return float("nan")
        return float(text)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        """A mapping whose keys are plain values, each written once."""
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise ScenarioError(
                    f"{_source(key_node)}:{line}: a mapping key must be a plain "
                    f"value, found {type(key).__name__}"
                )
            if key in first_line:
                raise ScenarioError(
                    f"{_source(key_node)}: duplicate key {key!r} at line {line} "
                    f"(first at line {first_line[key]}); each key may appear once"
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


_Constructor.add_constructor("tag:yaml.org,2002:bool", _Constructor.construct_yaml_bool)
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor(
    "tag:yaml.org,2002:float", _Constructor.construct_yaml_float
)
_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_yaml_map)


class CoreLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Constructor,
    _CoreResolver,
):
    """A safe loader that resolves scalars by the YAML 1.2 core schema."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        _CoreResolver.__init__(self)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text; errors name the source and line."""
    loader = None
    try:
        loader = CoreLoader(text)
        loader.name = source
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError(f"{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source}: not valid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    _check_size(data, source)
    return data


def _check_size(data: Any, source: str) -> None:
    """Refuse documents that expand (through aliases) past MAX_NODES values."""
    count, stack = 0, [data]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ScenarioError(f"{source}: more than {MAX_NODES:,} values once "
                                "aliases are expanded; a scenario is far smaller")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def read_yaml(path: Path) -> Any:
    """Read and parse a YAML file, raising ScenarioError when it cannot."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(f"{path}: larger than {MAX_FILE_BYTES // 10**6} MB; "
                                "a scenario file is far smaller")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc})") from None
    return parse_yaml(text, source=str(path))


def parse_scalar(text: str, source: str = "--set") -> Any:
    """Parse one value from the command line (`--set path=value`) as YAML."""
    return parse_yaml(text, source=source)


class _CoreDumper(yaml.SafeDumper):
    """Writes YAML that CoreLoader reads back to the same values, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        """Never write anchors: a resolved scenario reads plainly."""
        return True

    def represent_str(self, data: str) -> yaml.Node:
        """Quote text that would read back as a number, boolean or null."""
        plain_is_text = not any(pattern.match(data) for pattern in
                                (_BOOL, _NULL, _INT, _FLOAT))
        style = None if plain_is_text else '"'
        return self.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    def represent_decimal(self, data: Decimal) -> yaml.Node:
        """An exact amount as the shortest number that reads back to it."""
        if data == data.to_integral_value():
            return self.represent_int(int(data))
        return self.represent_float(float(data))


_CoreDumper.add_representer(str, _CoreDumper.represent_str)
_CoreDumper.add_representer(Decimal, _CoreDumper.represent_decimal)
_CoreDumper.add_representer(dt.date, lambda d, v: d.represent_str(v.isoformat()))
_CoreDumper.add_multi_representer(Enum, lambda d, v: d.represent_str(v.value))


def dump_yaml(data: Any) -> str:
    """YAML text of plain data (with Decimals, dates, enums) that reloads exactly."""
    return yaml.dump(data, Dumper=_CoreDumper, sort_keys=False, allow_unicode=True)


def _source(node: yaml.Node) -> str:
    return node.start_mark.name if node.start_mark else "<string>"
