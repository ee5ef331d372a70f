"""Unknown query parameters are refused, on every ``/v1`` and ``/maps`` route, in one place,
and so is a scalar parameter given twice (and, on every route, parameters holding a NUL
character).

FastAPI ignores a query parameter that no route declares, so a typo (``comune=``) or a
filter the route does not have (``colour=red``) silently answers the unfiltered data, which
a planner then takes for the filtered one. ``reject_unknown_query_parameters`` is installed
once as an application dependency: it reads the parameters the matched route declares
(its own and those of its dependencies, by alias) and answers 422 naming the first unknown
one, in the same body as every other invalid request (a ``RequestValidationError``, so
the one error handler of the app shapes it).

A parameter given twice (``operator=452-01&operator=452-04``) is the same trap: FastAPI reads
the last value of a scalar parameter, so a planner asking for two operators silently gets
one. Every ``/v1`` query parameter is a single value (a parameter typed as a list would be
let through), so a repeat is refused by name.

The served maps are held to the same rule: a planner who added ``band=700`` to a dead-zone
map's address by hand got the default plan drawn, without a word.
"""

from __future__ import annotations

import types
import typing
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Final

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import AfterValidator

STRICT_PREFIXES: Final = ("/v1/", "/maps/")


def _query_parameters(route: APIRoute) -> dict[str, bool]:
    """The query parameters (by alias) a route reads, its dependencies' included, each
    with whether it takes several values; kept on the route after the first request."""
    cached: dict[str, bool] | None = getattr(route, "_deadzone_query_parameters", None)
    if cached is None:
        # Walked here rather than with FastAPI's flattening helper, whose name and shape
        # change between releases; ``Dependant`` fields are stable.
        cached = {}
        pending: list[Dependant] = [route.dependant]
        while pending:
            dependant = pending.pop()
            for param in dependant.query_params:
                cached[param.alias] = _takes_many(param.field_info.annotation)
            pending.extend(dependant.dependencies)
        route._deadzone_query_parameters = cached  # type: ignore[attr-defined]
    return cached


def _takes_many(annotation: object) -> bool:
    """Whether a parameter's type is a sequence (``list[str]``, ``list[str] | None``), the
    only kind FastAPI fills from repeated values."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_takes_many(arg) for arg in typing.get_args(annotation))
    if origin is Annotated:
        return _takes_many(typing.get_args(annotation)[0])
    return isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str


def reject_unknown_query_parameters(request: Request) -> None:
    """Refuse (422) a ``/v1`` or ``/maps`` request that carries a query parameter its route
    does not declare, or a single-valued one more than once; other paths (pages, geosubmit)
    are left as they are."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.url.path.startswith(STRICT_PREFIXES):
        return
    known = _query_parameters(route)
    times = Counter(name for name, _ in request.query_params.multi_items())
    unknown = [name for name in times if name not in known]
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": f"unknown query parameter {name!r}; this route accepts: {accepted}",
                    "input": request.query_params.get(name),
                }
                for name in unknown
            ]
        )
    repeated = [name for name, n in times.items() if n > 1 and not known[name]]
    if repeated:
        raise RequestValidationError(
            [
                {
                    "type": "too_long",
                    "loc": ("query", name),
                    "msg": f"query parameter {name!r} given {times[name]} times; it takes"
                    " one value (ask once per value)",
                    "input": request.query_params.getlist(name),
                }
                for name in repeated
            ]
        )


def reject_nul_in_query_parameters(request: Request) -> None:
    """Refuse (422) a request whose query or path parameters hold a NUL character, on every
    route: no name, code or key contains one, and PostgreSQL refuses it in text, so a
    filter such as ``village=`` with a NUL was a storage error (503, found by fuzzing)."""
    where = [("query", name) for name, value in request.query_params.multi_items()
             if "\x00" in name or "\x00" in value]  # fmt: skip
    where += [("path", name) for name, value in request.path_params.items()
              if isinstance(value, str) and "\x00" in value]  # fmt: skip
    if where:
        raise RequestValidationError(
            [
                {
                    "type": "string_pattern_mismatch",
                    "loc": loc,
                    "input": None,
                    "msg": "a NUL character is not allowed here",
                }
                for loc in where
            ]  # fmt: skip
        )


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a NUL character is not allowed here")
    return value


Text = Annotated[str, AfterValidator(_without_nul)]
"""A text field of a request body: refused (422, naming it) when it holds a NUL character,
which PostgreSQL refuses in text (a 503 otherwise; found by fuzzing)."""
