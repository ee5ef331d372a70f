"""Who may read one operator's data: API keys with a role (DESIGN.md "Privacy and trust").

What needs no key: everything decided for the best of all operators (``operator=any``):
coverage, dead zones, progress, village statuses and site suggestions for 'any'. That is the
public-interest picture the province publishes, and it names no operator.

What needs a key: data of one operator (``operator=452-04``: its cells, zones, maps, village
statuses, site plans), since a network's weak spots are that operator's business
information. Roles:

* ``planner``: an operator's planner reads the operators listed on the key (usually its own
  network; ``*`` for all).
* ``authority``: the provincial Department, which regulates every operator, reads them all.

Keys are configured as ``DEADZONE_API_KEYS``, a JSON list of entries
``{"name": "viettel-daklak", "role": "planner", "operators": ["452-04"], "sha256": "..."}``;
the server keeps only the SHA-256 of each key, so a leaked configuration does not leak the
keys. ``deadzone api-key`` makes a key and prints its entry. A key is sent as the header
``X-Deadzone-Key`` or, for download links and map pages opened in a browser, the query
parameter ``api_key``.

With no key configured, development servers (the demo, tests) are open; a production server
answers 403 to per-operator requests until keys are configured: closed by default.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Annotated, Final

from fastapi import Depends, Header, Query

from domain.vocabulary import BEST_OF_ALL
from service.areas.audit import Actor
from service.errors import AccessDenied, AuthenticationRequired
from service.keys import ALL_OPERATORS, ApiKey, find_key
from service.publish.disclosure import Disclosure

if TYPE_CHECKING:
    from service.settings import Settings

KEY_HEADER: Final = "X-Deadzone-Key"
KEY_QUERY: Final = "api_key"


def check_operators(
    keys: Collection[ApiKey], *, development: bool, key: str | None, operators: Collection[str]
) -> None:
    """Refuse unless ``key`` may read every operator in ``operators`` (module doc).
    Raises ``AuthenticationRequired`` (no key or an unknown key) or ``AccessDenied`` (not
    allowed)."""
    private = sorted(set(operators) - {BEST_OF_ALL})
    if not private:
        return
    if not keys:
        if development:
            return
        raise AccessDenied(
            "per-operator data needs an API key and this server has none configured "
            "(DEADZONE_API_KEYS; `deadzone api-key` makes one)",
            field="operator",
        )
    if not key:
        raise AuthenticationRequired(
            f"per-operator data ({', '.join(private)}) needs an API key: send the "
            f"{KEY_HEADER} header or ?{KEY_QUERY}=; operator=any needs none",
            field=KEY_QUERY,
        )
    entry = find_key(keys, key)
    if entry is None:
        raise AuthenticationRequired("unknown API key", field=KEY_QUERY)
    refused = [op for op in private if not entry.may_read(op)]
    if refused:
        raise AccessDenied(
            f"the key of {entry.name!r} ({entry.role}) may not read {', '.join(refused)}",
            field="operator",
        )


def require_operators(settings: Settings, key: str | None, operators: Collection[str]) -> None:
    """``check_operators`` with the server's keys and mode: what a route calls."""
    check_operators(
        settings.api_keys,
        development=settings.environment == "development",
        key=key,
        operators=operators,
    )


def readable_operators(settings: Settings, key: str | None, operators: Collection[str]) -> set[str]:
    """Those of ``operators`` that ``key`` may read: for answers that list every operator
    (``/v1/summary``) and leave out, rather than refuse, what the caller may not see. A
    key that was sent but is unknown is still refused (``AuthenticationRequired``): a typo must not
    look like "no data"."""
    wanted = set(operators)
    public = wanted & {BEST_OF_ALL}
    if wanted == public:
        return public
    if not settings.api_keys:
        return wanted if settings.environment == "development" else public
    if not key:
        return public
    entry = find_key(settings.api_keys, key)
    if entry is None:
        raise AuthenticationRequired("unknown API key", field=KEY_QUERY)
    return public | {op for op in wanted if entry.may_read(op)}


def disclosure_for(settings: Settings, key: str | None) -> Disclosure:
    """How much of thin cells a caller sees (``service.publish.disclosure``): every figure
    with a key of a role, or on a development server without keys; else k-anonymous. An
    unknown key is refused, not served the public answer: a typo must not look like
    missing data."""
    if not settings.api_keys:
        exact = settings.environment == "development"
    elif not key:
        exact = False
    elif find_key(settings.api_keys, key) is None:
        raise AuthenticationRequired("unknown API key", field=KEY_QUERY)
    else:
        exact = True
    return Disclosure(min_devices=settings.publish_min_devices, exact=exact)


def request_actor(settings: Settings, key: str | None) -> Actor:
    """Who sends ``key``, for requests that change things (commitments): the authority
    may assign and change every operator's; a planner acts for the operators of its key.
    No key, or an unknown one: ``Unauthorized``. A development server without keys acts
    as the authority (the demo); a production server without keys refuses (``Forbidden``)."""
    if not settings.api_keys:
        if settings.environment == "development":
            return Actor(name="development (no API keys)", may_assign=True, operators=None)
        raise AccessDenied(
            "this needs an API key and this server has none configured "
            "(DEADZONE_API_KEYS; `deadzone api-key` makes one)",
            field=KEY_QUERY,
        )
    if not key:
        raise AuthenticationRequired(
            f"this needs an API key: send the {KEY_HEADER} header or ?{KEY_QUERY}=",
            field=KEY_QUERY,
        )
    entry = find_key(settings.api_keys, key)
    if entry is None:
        raise AuthenticationRequired("unknown API key", field=KEY_QUERY)
    if entry.role == "authority" or ALL_OPERATORS in entry.operators:
        return Actor(name=entry.name, may_assign=entry.role == "authority", operators=None)
    return Actor(name=entry.name, may_assign=False, operators=frozenset(entry.operators))


# Secrets that may travel in a query string: API keys here, device tokens of geosubmit apps.
_SECRET_IN_QUERY: Final = re.compile(r"([?&](?:api_key|key)=)[^&\s]*")


class QuerySecretFilter(logging.Filter):
    """Masks ``api_key=`` and ``key=`` values in uvicorn's access log lines, which print the
    whole request path: only the keys' digests are configured, and the log must not undo
    that. Record args of ``uvicorn.access``: (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            masked = _SECRET_IN_QUERY.sub(r"\1***", args[2])
            record.args = (*args[:2], masked, *args[3:])
        return True


def mask_query_secrets_in_access_log() -> None:
    """Install ``QuerySecretFilter`` on uvicorn's access logger, once per process."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuerySecretFilter) for f in logger.filters):
        logger.addFilter(QuerySecretFilter())


def request_key(
    header: Annotated[str | None, Header(alias=KEY_HEADER, include_in_schema=False)] = None,
    query: Annotated[
        str | None,
        Query(
            alias=KEY_QUERY,
            description=f"API key (or the {KEY_HEADER} header); "
            "needed for one operator's data, not for operator=any.",
        ),
    ] = None,  # fmt: skip
) -> str | None:
    """The API key of a request: the header, else the query parameter."""
    return header or query


ApiKeyDep = Annotated[str | None, Depends(request_key)]
