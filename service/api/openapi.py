"""Every answer the routes give, in the OpenAPI document.

FastAPI documents what a route declares; the answers that come from the one error map
(``service.api.errors``) and from shared dependencies are added here, by rule, so that no
route can forget one:

* 422 wherever a request has parameters or a body (the framework's and the routes' own
  checks answer in one shape);
* 404 wherever the path, a query parameter or a body field names something (a zone, a
  commitment, a commune or village) that may not exist;
* 401 and 403 wherever an API key is read (``service.api.access``); the key itself is a
  security scheme, header ``X-Deadzone-Key`` or query ``api_key``, optional;
* 503 everywhere: the database did not answer (a generic body, try again later).

Every error answer carries the error body of ``service.api.errors``. Routes still declare
what only they give (413 and 429 on ingest, ``application/geo+json`` and file downloads,
the geosubmit ``key``); ``tests/test_openapi_answers.py`` checks both against what the
routes really answer.
"""

from __future__ import annotations

from typing import Any, Final

from service.api.access import KEY_HEADER, KEY_QUERY

ERROR_SCHEMA: Final = "ErrorAnswer"
_ERROR_BODY: Final[dict[str, Any]] = {
    "title": ERROR_SCHEMA,
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, e.g. InvalidInput."},
        "message": {"type": "string", "description": "For a person: what, where, and why."},
        "field": {"type": "string", "description": "The field, column or parameter at fault."},
        "errors": {
            "type": "array",
            "description": "422 from parameter checks: each field and its reason.",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
}
_DESCRIPTIONS: Final = {
    "400": "The body cannot be read (not JSON, bad gzip, empty)",
    "401": "An API key is needed for this operator's data, or the key is unknown; see "
    "WWW-Authenticate",
    "403": "The key may not read this operator's data, or the server has no keys configured",
    "404": "No such item",
    "413": "The body or the batch is too large",
    "422": "Not the documented shape or value: the body names the field",
    "429": "Over a rate limit; see Retry-After",
    "503": "The database did not answer; nothing was stored, try again later",
}
_METHODS: Final = {"get", "post", "put", "patch", "delete"}
_NAMED_THINGS: Final = {"area", "commune", "village", "zone_id"}
"""Query parameters or body fields that name a stored thing (``AreaDep``, commitments)."""


def geojson_answer(model: str, *others: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route whose 200 is GeoJSON (``application/geo+json``, RFC 7946)
    of the schema ``model``, or one of the ``others`` media types (downloads)."""
    content: dict[str, Any] = {
        "application/geo+json": {"schema": {"$ref": f"#/components/schemas/{model}"}}
    }
    content.update({media: {} for media in others})
    return {200: {"content": content}}


def document_answers(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the answers of the module doc to every operation of ``schema`` (in place)."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})[ERROR_SCHEMA] = _ERROR_BODY
    components.setdefault("securitySchemes", {}).update(
        {
            "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
            "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": KEY_QUERY},
        }
    )
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method in _METHODS:
                _document(operation, components["schemas"])
    return schema


def _body_fields(operation: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The top-level field names of a JSON request body (through its ``$ref``)."""
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        body = schemas.get(ref.rsplit("/", 1)[1], {})
    return set(body.get("properties", {}))


def _document(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    parameters = operation.get("parameters", [])
    answers: set[str] = {"503"}
    if parameters or "requestBody" in operation:
        answers.add("422")
    named = {p.get("name") for p in parameters} | _body_fields(operation, schemas)
    if any(p.get("in") == "path" for p in parameters) or named & _NAMED_THINGS:
        answers.add("404")
    if any(p.get("in") == "query" and p.get("name") == KEY_QUERY for p in parameters):
        answers |= {"401", "403"}
        operation["security"] = [{}, {"ApiKeyHeader": []}, {"ApiKeyQuery": []}]
    responses = operation.setdefault("responses", {})
    for status in answers:
        responses.setdefault(status, {"description": _DESCRIPTIONS[status]})
    for status, response in responses.items():
        if status[0] in "45":
            response.setdefault("description", _DESCRIPTIONS.get(status, "Error"))
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if not schema or schema.get("$ref", "").endswith("/HTTPValidationError"):
                # The error map's body (FastAPI's own 422 shape is not what is answered);
                # a route that answers another shape (MLS errors) declares its schema.
                response["content"] = {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
                }
