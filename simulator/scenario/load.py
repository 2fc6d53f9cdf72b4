"""Load a scenario file, apply command-line overrides, and explain every problem.

All problems of a file are reported at once, one line each: the field path,
the value found and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import functools
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.errors import ScenarioError
from simulator.scenario.references import reference_problems
from simulator.scenario.schema import Scenario
from simulator.scenario.yamlio import dump_yaml, parse_scalar, read_yaml

_TAGS = {"step", "loop", "constant", "uniform", "exponential", "lognormal",
         "empirical", "api", "cloud_gpu", "on_prem", "poisson", "population",
         "trace", "batched", "service_time", "preset"}
MAX_SHOWN_CHARS = 80
_CONTAINERS = {"models", "backends", "tools", "task_types", "by_step_kind"}


def load_scenario(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None, trace: str | Path | None = None,
) -> Scenario:
    """Read, override and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: `dotted.path=value` strings, values parsed as YAML.
        seed: replaces the scenario's seed when given.
        trace: replaces the trace file of a trace-replay scenario.

    Raises:
        ScenarioError: the file cannot be read or is not a valid scenario.
    """
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        raise ScenarioError(f"{path}: the file is empty; a scenario is a mapping of "
                            "fields (see scenarios/ for examples)")
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping of fields, found a "
                            f"{type(data).__name__}")
    data = apply_overrides(data, overrides)
    if seed is not None:
        data["seed"] = seed
    arrivals = data.get("arrivals")
    if trace is not None:
        if not isinstance(arrivals, dict) or arrivals.get("kind") != "trace":
            raise ScenarioError(f"--trace: {path} does not replay a trace (its "
                                "arrivals.kind is not trace)")
        arrivals["path"] = str(Path(trace).resolve())
    if isinstance(arrivals, dict) and arrivals.get("kind") == "trace":
        arrivals.setdefault("base_dir", str(path.resolve().parent))
    return scenario_from_dict(data, source=str(path))


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a mapping into a Scenario, or raise one line per problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = describe_errors(exc)
        lines += [line for line in reference_problems(data) if line not in lines]
        raise ScenarioError([f"{source}: {line}" for line in lines]) from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]
                    ) -> dict[str, Any]:
    """A copy of `data` with each `dotted.path=value` set."""
    data = copy.deepcopy(data)
    for item in overrides:
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise ScenarioError(f"--set {item!r}: not valid text (a lone "
                                "surrogate); type the value again") from None
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ScenarioError(f"--set {item!r}: expected path=value, e.g. "
                                "seed=3 or arrivals.rate_per_s=0.5")
        value = parse_scalar(text, source=f"--set {item!r}")
        _set_path(data, path.strip().split("."), value, item)
    return data


def describe_errors(exc: ValidationError) -> list[str]:
    """One readable line per validation error."""
    lines = []
    for error in exc.errors(include_url=False):
        path = _path(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        message = message.replace("Input should be", "must be").replace(
            "List should have", "must have").replace(
            "Dictionary should have", "must have").replace(" after validation", "")
        message = _plainer(error["type"], path, message)
        value = error.get("input")
        if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
            value = value[:MAX_SHOWN_CHARS] + "..."
        if error["type"] == "union_tag_not_found":
            key = str(error.get("ctx", {}).get("discriminator", "kind")).strip("'")
            lines.append(f"{path}: missing `{key}:`; name which kind this is "
                         "(`flipsim schema` lists them)")
        elif error["type"] == "missing":
            lines.append(f"{path}: missing; this field is required")
        elif error["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown field{_suggestion(str(error['loc'][-1]))}; "
                         "`flipsim schema` lists the fields allowed")
        elif not error["loc"]:
            lines += message.splitlines()
        elif isinstance(value, list) and len(repr(value)) <= MAX_SHOWN_CHARS:
            lines.append(f"{path}: found {value!r}; {message}")
        elif isinstance(value, (dict, list)) or error["type"] == "value_error":
            lines.append(f"{path}: {message}")
        else:
            lines.append(f"{path}: found {value!r}; {message}")
    return lines


PLAIN_MESSAGES = {
    ("int_parsing_size", None): "a whole number far past this field's limit "
                                "(`flipsim schema` gives each field's range)",
    ("string_pattern_mismatch", "billing.month"): "must be `average` or a "
                                                  "calendar month YYYY-MM (01 to 12)",
}
"""Messages for pydantic errors whose own words name no allowed value, by
error type and field (None: any field)."""


def _plainer(kind: str, path: str, message: str) -> str:
    """Our words for a pydantic message that does not say what is allowed."""
    return PLAIN_MESSAGES.get((kind, path), PLAIN_MESSAGES.get((kind, None), message))


def dump_resolved(scenario: Scenario, version: str) -> str:
    """The scenario as run, defaults filled in, as YAML text."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    header = (f"# Scenario as resolved by flipsim {version}: every default filled "
              f"in, seed {scenario.seed}.\n")
    return header + dump_yaml(data)


def _suggestion(name: str) -> str:
    if name in _field_names():
        return " (a field of another section)"
    close = difflib.get_close_matches(name, _field_names(), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@functools.cache
def _field_names() -> tuple[str, ...]:
    definitions = Scenario.model_json_schema(by_alias=True).get("$defs", {})
    names = set(Scenario.model_fields)
    for definition in definitions.values():
        names.update(definition.get("properties", {}))
    return tuple(sorted(names))


def _path(loc: tuple) -> str:
    """A dotted field path, without the union tags pydantic adds to `loc`."""
    parts: list[str] = []
    previous, dropped = None, False
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            dropped = False
        elif (item in _TAGS and previous not in _CONTAINERS and not dropped) or (
                item == "[key]" or item.startswith(("function-", "tagged-union["))):
            dropped = True
        else:
            parts.append(("." if parts else "") + item)
            dropped = False
        previous = item
    text = "".join(parts) or "(top level)"
    return text.removesuffix(".value") if loc[-2:] == ("constant", "value") else text


NAMED_SECTIONS = ("models", "backends", "tools", "task_types")
"""Top-level mappings whose keys are names the scenario defines."""


def _set_path(data: dict, keys: list[str], value: Any, item: str) -> None:
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not (key.isascii() and key.isdigit()) or int(key) >= len(node):
                raise ScenarioError(f"--set {item!r}: {key!r} is not an index of a "
                                    f"list of {len(node)}")
            key = int(key)
        elif not isinstance(node, dict):
            raise ScenarioError(f"--set {item!r}: {'.'.join(keys[:depth])} is a "
                                "value, not a mapping")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                if depth == 1 and keys[0] in NAMED_SECTIONS:
                    names = ", ".join(map(str, node)) or "none"
                    raise ScenarioError(
                        f"--set {item!r}: {keys[0]} has no {key!r} (it has: "
                        f"{names}); to add one, give it whole: --set "
                        f"{keys[0]}.{key}={{...}}")
                node[key] = {}
            node = node[key]
