"""Cross-references between scenario sections, checked on plain data.

The checks read mappings (the YAML as loaded, or a validated scenario dumped
back to data), so they can run even when some fields are invalid, and every
problem of a file is reported at once.
"""

from __future__ import annotations

from typing import Any

SHARE_TOLERANCE = 1e-6


def reference_problems(data: Any) -> list[str]:
    """One line per broken reference or share total; [] when all is well."""
    if not isinstance(data, dict):
        return []
    models, backends, tools = (_names(data, key) for key in ("models", "backends",
                                                             "tools"))
    problems = []
    for name, backend in _items(data, "backends"):
        model = backend.get("model")
        if isinstance(model, str) and models is not None and model not in models:
            problems.append(_missing(f"backends.{name}.model", model, models))
    shares = []
    for name, task_type in _items(data, "task_types"):
        problems += _route_problems(name, task_type.get("route"), backends)
        for where, tool in _tools_used(task_type.get("workflow"), "workflow"):
            if tools is not None and tool not in tools:
                problems.append(_missing(f"task_types.{name}.{where}.tool", tool,
                                         tools))
        shares.append(task_type.get("share"))
    if shares and all(_is_number(s) for s in shares):
        total = sum(shares)
        if abs(total - 1) > SHARE_TOLERANCE:
            problems.append(f"task_types.*.share: found shares summing to {total:g}; "
                            "they must sum to 1")
    arrivals = data.get("arrivals")
    traced = arrivals.get("task_type") if isinstance(arrivals, dict) else None
    if isinstance(traced, str) and _names(data, "task_types") is not None \
            and traced not in _names(data, "task_types"):
        problems.append(_missing("arrivals.task_type", traced,
                                 _names(data, "task_types")))
    baseline, task_types = data.get("baseline_task_type"), _names(data, "task_types")
    if isinstance(baseline, str) and task_types is not None \
            and baseline not in task_types:
        problems.append(_missing("baseline_task_type", baseline, task_types))
    return problems


def _route_problems(name: str, route: Any, backends: set[str] | None) -> list[str]:
    if not isinstance(route, dict) or backends is None:
        return []
    found = []
    for key in ("default", "routine", "first", "prefer"):
        value = route.get(key)
        if isinstance(value, str) and value not in backends:
            found.append(_missing(f"task_types.{name}.route.{key}", value, backends))
    candidates = route.get("candidates")
    for index, value in enumerate(candidates if isinstance(candidates, list) else ()):
        if isinstance(value, str) and value not in backends:
            found.append(_missing(f"task_types.{name}.route.candidates[{index}]",
                                  value, backends))
    by_kind = route.get("by_step_kind")
    for kind, backend in (by_kind.items() if isinstance(by_kind, dict) else ()):
        if isinstance(backend, str) and backend not in backends:
            found.append(_missing(f"task_types.{name}.route.by_step_kind.{kind}",
                                  backend, backends))
    return found


def _tools_used(nodes: Any, path: str) -> list[tuple[str, str]]:
    """(step path, tool name) of every step naming a tool."""
    found: list[tuple[str, str]] = []
    for index, node in enumerate(nodes if isinstance(nodes, list) else ()):
        if not isinstance(node, dict):
            continue
        loop = node.get("loop")
        if isinstance(loop, dict):
            found += _tools_used(loop.get("steps"), f"{path}[{index}].loop.steps")
        elif isinstance(node.get("tool"), str):
            found.append((f"{path}[{index}]", node["tool"]))
    return found


def _names(data: dict, key: str) -> set[str] | None:
    section = data.get(key, {} if key == "tools" else None)
    return set(section) if isinstance(section, dict) else None


def _items(data: dict, key: str) -> list[tuple[str, dict]]:
    section = data.get(key)
    if not isinstance(section, dict):
        return []
    return [(name, value) for name, value in section.items()
            if isinstance(value, dict)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _missing(path: str, value: str, allowed: set[str]) -> str:
    names = ", ".join(sorted(allowed)) or "none defined"
    return f"{path}: found {value!r}, which is not defined; allowed: {names}"
