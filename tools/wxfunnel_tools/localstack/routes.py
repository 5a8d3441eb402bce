"""API Gateway REST route matching of the template's routes: literals win over {params}, {p+} is greedy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from wxfunnel_tools.template import FunctionSpec, Route


@dataclass(frozen=True, slots=True)
class Match:
    """The resource a request resolved to, and the function serving its method."""

    function: FunctionSpec
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class NoRoute:
    """No resource, or no such method on it: API Gateway answers both 403 Missing Authentication Token."""

    reason: str


def _segments(path: str) -> list[str]:
    return [segment for segment in path.strip("/").split("/") if segment] if path.strip("/") else []


def _param(segment: str) -> tuple[str, bool] | None:
    """(name, greedy) for a `{name}` or `{name+}` template segment, None for a literal one."""
    if segment.startswith("{") and segment.endswith("}"):
        name = segment[1:-1]
        return (name[:-1], True) if name.endswith("+") else (name, False)
    return None


def _bind(template: Sequence[str], actual: Sequence[str]) -> dict[str, str] | None:
    """Path parameters when `actual` (already split, still URL-encoded) fits the resource `template`."""
    params: dict[str, str] = {}
    for index, segment in enumerate(template):
        param = _param(segment)
        if param is not None and param[1]:
            rest = actual[index:]
            if not rest:
                return None
            params[param[0]] = unquote("/".join(rest))
            return params
        if index >= len(actual):
            return None
        if param is None:
            if unquote(actual[index]) != segment:
                return None
        else:
            params[param[0]] = unquote(actual[index])
    return params if len(template) == len(actual) else None


def _specificity(template: Sequence[str]) -> tuple[int, ...]:
    """Sort key: at the first place two resources differ, a literal beats {param}, which beats {greedy+}."""
    rank = []
    for segment in template:
        param = _param(segment)
        rank.append(0 if param is None else 2 if param[1] else 1)
    return (*rank, -len(template))


class RouteTable:
    """Every Api event of the template's functions, resolved the way API Gateway resolves resources."""

    def __init__(self, functions: Iterable[FunctionSpec]) -> None:
        by_resource: dict[str, dict[str, tuple[FunctionSpec, Route]]] = {}
        for spec in functions:
            for route in spec.routes:
                methods = by_resource.setdefault(route.path, {})
                if route.method in methods:
                    other = methods[route.method][0].logical_id
                    raise ValueError(
                        f"{route.method} {route.path} is served by both {other} and {spec.logical_id}"
                    )
                methods[route.method] = (spec, route)
        self._resources = sorted(
            ((_segments(path), methods) for path, methods in by_resource.items()),
            key=lambda item: _specificity(item[0]),
        )

    def match(self, method: str, path: str) -> Match | NoRoute:
        """Resolve `path` (without the stage, URL-encoded as received) and `method`."""
        actual = _segments(path)
        for template, methods in self._resources:
            params = _bind(template, actual)
            if params is None:
                continue
            found = methods.get(method.upper()) or methods.get("ANY")
            if found is None:
                return NoRoute(f"{method.upper()} is not a method of /{'/'.join(template)}")
            spec, route = found
            return Match(spec, route, params)
        return NoRoute(f"no resource matches {path}")
