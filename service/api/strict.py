"""Unknown query parameters are refused, on every ``/v1`` route, in one place (and, on
every route, parameters holding a NUL character).

FastAPI ignores a query parameter that no route declares, so a typo (``comune=``) or a
filter the route does not have (``colour=red``) silently answers the unfiltered data, which
a planner then takes for the filtered one. ``reject_unknown_query_parameters`` is installed
once as an application dependency: it reads the parameters the matched route declares
(its own and those of its dependencies, by alias) and answers 422 naming the first unknown
one, in the same body as every other invalid request (a ``RequestValidationError``, so
the one error handler of the app shapes it).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import AfterValidator

STRICT_PREFIX: Final = "/v1/"


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names (aliases) a route reads, its dependencies' included."""
    cached: frozenset[str] | None = getattr(route, "_deadzone_query_names", None)
    if cached is None:
        # Walked here rather than with FastAPI's flattening helper, whose name and shape
        # change between releases; ``Dependant`` fields are stable.
        names: set[str] = set()
        pending: list[Dependant] = [route.dependant]
        while pending:
            dependant = pending.pop()
            names.update(param.alias for param in dependant.query_params)
            pending.extend(dependant.dependencies)
        cached = frozenset(names)
        route._deadzone_query_names = cached  # type: ignore[attr-defined]
    return cached


def reject_unknown_query_parameters(request: Request) -> None:
    """Refuse (422) a ``/v1`` request that carries a query parameter its route does not
    declare; other paths (pages, maps, geosubmit) are left as they are."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.url.path.startswith(STRICT_PREFIX):
        return
    known = declared_query_parameters(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in known]
    if not unknown:
        return
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
