"""An unknown query parameter on a /v1 route is a 422 naming it (service/api/strict.py):
a typo must never answer the unfiltered data."""

from __future__ import annotations

import pytest


def test_colour_is_refused_naming_it(client):
    response = client.get("/v1/deadzones", params={"operator": "452-04", "colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "InvalidInput"
    [error] = body["errors"]
    assert error["field"] == "colour"
    assert "colour" in error["reason"] and "operator" in error["reason"]


@pytest.mark.parametrize(
    "path",
    ["/v1/cells", "/v1/deadzones", "/v1/villages", "/v1/plan", "/v1/summary", "/v1/stats",
     "/v1/progress", "/v1/progress/areas", "/v1/sites"],
)  # fmt: skip
def test_every_v1_route_refuses_an_unknown_parameter(client, path):
    response = client.get(path, params={"comune": "C1"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["comune"]


def test_parameters_of_dependencies_and_aliases_are_known(client):
    # api_key (an alias, in the key dependency), from/to (aliases), commune (area dependency)
    assert client.get("/v1/progress", params={"from": "2026-01-01", "to": "2026-12-31"}
                      ).status_code == 200  # fmt: skip
    response = client.get("/v1/villages", params={"api_key": "k", "village": "V9"})
    assert response.status_code == 404 and response.json()["field"] == "village"


def test_known_parameters_and_other_paths_pass(client):
    assert client.get("/v1/deadzones", params={"operator": "any", "api_key": "x"}).status_code in (
        200,
        401,
    )
    assert client.get("/healthz", params={"anything": "1"}).status_code == 200


def test_zone_paging_wider_than_its_column_is_refused_naming_it(client):
    """Found by the fuzzing job: SQLite cannot bind an integer wider than 64 bits (a 500),
    PostgreSQL compares the zone's size as a 32-bit one (a 503)."""
    for name, widest in (("min_cells", 2**31 - 1), ("offset", 2**63 - 1)):
        answer = client.get("/v1/deadzones", params={name: widest})
        assert (answer.status_code, answer.json()["total"]) == (200, 0), answer.text
        wider = client.get("/v1/deadzones", params={name: widest + 1})
        assert wider.status_code == 422, wider.text
        assert [e["field"] for e in wider.json()["errors"]] == [name]


def test_a_nul_character_in_a_parameter_is_refused_naming_it(client):
    """Found by fuzzing on PostgreSQL, which refuses NUL in text: a 503 for a bad filter."""
    answer = client.get("/v1/deadzones", params={"village": "Buôn\x00"})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["village"]
    unknown = client.get("/v1/deadzones", params={"village": "Buôn Đôn"})
    assert (unknown.status_code, unknown.json()["field"]) == (404, "village")


def test_a_nul_character_in_a_body_text_field_is_refused_naming_it(client):
    """Found by fuzzing on PostgreSQL: a plan's commune with a NUL was a 503."""
    plan = client.post("/v1/plans", json={"name": "p1", "commune": "C\x00"})
    commitment = client.post(
        "/v1/commitments", json={"village": "V\x00", "operator": "452-04", "due": "2027-01-01"}
    )
    for answer, field in ((plan, "body.commune"), (commitment, "body.village")):
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field]
        assert "NUL" in answer.json()["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (
            "/v1/cells",
            [("operator", "452-01"), ("bbox", "108.0,12.6,108.1,12.7"), ("operator", "452-04")],
        ),
        ("/v1/deadzones", [("radio", "any"), ("limit", "5"), ("radio", "broadband")]),
        ("/v1/tasks", [("commune", "C1"), ("commune", "C1")]),
    ],
)
def test_a_parameter_given_twice_is_refused_naming_it(client, path, params):
    """FastAPI reads the last of repeated values: two operators asked for silently answered
    one. Every /v1 parameter takes one value, so a repeat is refused by name."""
    answer = client.get(path, params=params)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    name = params[0][0]
    assert error["field"] == name
    assert "2 times" in error["reason"] and "one value" in error["reason"]
    once = client.get(path, params=list(dict(params).items()))
    assert once.status_code != 422, once.text


def test_only_sequence_parameters_take_repeats():
    from typing import Annotated

    from fastapi import Query

    from service.api.strict import _takes_many

    assert _takes_many(list[str]) and _takes_many(list[str] | None)
    assert _takes_many(Annotated[list[int] | None, Query()])
    assert not _takes_many(str) and not _takes_many(str | None) and not _takes_many(int)
