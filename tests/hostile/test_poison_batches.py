"""Hostile input on both databases: no reading, file or body can turn a batch into a 500;
the good readings are stored, the bad ones named and counted."""

from __future__ import annotations

import gzip
import resource
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select

from service.ingest.counters import IngestStats
from service.store.models import ReadingRow
from tests.conftest import make_reading
from tests.hostile.inputs import geojson_nested


def post(client: Any, readings: list[Any]) -> Any:
    return client.post("/v1/readings", json={"readings": readings})


def stored(sessions: Any) -> dict[str, ReadingRow]:
    with sessions() as s:
        return {row.reading_id: row for row in s.scalars(select(ReadingRow))}


def test_huge_cell_id_and_nul_id_store_the_good_readings_and_name_both(client, sessions):
    batch = [
        make_reading(id="good-1"),
        make_reading(id="huge-cell", cell_id=2**63 + 1),
        make_reading(id="nul\x00id"),
        make_reading(id="huge-area", area_code=2**64 - 1),
        make_reading(id="nul-source", source="app\x00"),
        make_reading(id="good-2", cell_id=2**63 - 1, area_code=0),
    ]
    response = post(client, batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejected_readings"]) == (2, 4)
    assert [(r["index"], r["field"], r["code"]) for r in answer["rejected"]] == [
        (1, "cell_id", "out_of_range"),
        (2, "id", "invalid_character"),
        (3, "area_code", "out_of_range"),
        (4, "source", "invalid_character"),
    ]
    assert set(stored(sessions)) == {"good-1", "good-2"}
    assert stored(sessions)["good-2"].cell_id == 2**63 - 1
    stats = IngestStats.model_validate(client.get("/v1/stats").json())
    assert (stats.accepted, stats.rejected) == (2, 4)


def test_integers_wider_than_their_column_are_refused_never_wrapped(client, sessions):
    batch = [
        make_reading(id="pci", pci=2**31),
        make_reading(id="arfcn", arfcn=2**40),
        make_reading(id="widest", pci=2**31 - 2, arfcn=2**31 - 2),
    ]
    answer = post(client, batch).json()
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(0, "pci"), (1, "arfcn")]
    row = stored(sessions)["widest"]
    assert (row.pci, row.arfcn) == (2**31 - 2, 2**31 - 2)  # the same on both databases


def test_unknown_key_with_nul_is_counted_not_a_storage_error(client, sessions):
    odd = make_reading(id="odd")
    odd["\x00" + "k" * 10_000] = 1
    response = post(client, [odd, make_reading(id="fine")])
    assert response.status_code == 200
    (rejection,) = response.json()["rejected"]
    assert rejection["field"].startswith("\\x00kkk") and len(rejection["field"]) <= 64
    assert set(stored(sessions)) == {"fine"}


def test_value_nested_within_the_limit_is_one_refused_reading(client, sessions):
    nested: Any = -95.0
    for _ in range(20):
        nested = [nested]
    answer = post(client, [make_reading(id="nested", signal_dbm=nested), make_reading()]).json()
    assert answer["accepted"] == 1
    assert answer["rejected"][0]["field"] == "signal_dbm"
    assert len(answer["rejected"][0]["reason"]) < 200


def test_body_nested_past_the_limit_is_refused_before_parsing(client, sessions):
    for depth in (40, 1_000, 1_022, 100_000):
        body = b'{"readings": [{"id": "x", "signal_dbm": ' + b"[" * depth + b"]" * depth + b"}]}"
        response = client.post(
            "/v1/readings", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (depth, response.text)
        assert "deeper than 32 levels" in response.json()["message"]
    assert stored(sessions) == {}


def test_huge_unknown_top_level_key_is_not_echoed(client):
    body = orjson.dumps({"readings": [], "x" * 10_000_000: 1})
    response = client.post(
        "/v1/readings", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert len(response.content) < 1_000


def test_geojson_nested_100000_deep_is_refused_without_eating_memory(client, sessions):
    content = geojson_nested(100_000)
    assert 190_000 < len(content) < 210_000  # the 200 KB file of the report
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = client.post(
        "/v1/imports", files={"file": ("deep.geojson", content)}, data={"device": "p"}
    )
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert response.status_code == 422, response.text
    assert "deeper than 32 levels" in response.json()["message"]
    assert grown_kib < 100 * 1024  # ijson alone took 20 GB+ before the check
    assert stored(sessions) == {}


def test_imports_refuse_integers_wider_than_the_columns(client, sessions):
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [108.05, 12.66]},
        "properties": {"id": "g", "observed_at": when, "mcc": 452, "mnc": 4, "radio": "lte",
                       "signal_dbm": -100.0},
    }  # fmt: skip
    wide = {**feature, "properties": {**feature["properties"], "id": "w", "cell_id": 2**63 + 1}}
    content = orjson.dumps({"type": "FeatureCollection", "features": [feature, wide]})
    response = client.post(
        "/v1/imports", files={"file": ("r.geojson", content)}, data={"device": "p"}
    )
    # ijson's C parser (yajl) cannot hold an integer past 2^63 at all: the file is refused
    # as a whole with the place named, a 4xx, never a 500.
    assert response.status_code == 422, response.text
    assert "integer overflow" in response.json()["message"]

    csv = (
        "observed_at,lat,lon,mcc,mnc,radio,signal_dbm,cell_id,id\r\n"
        f"{when},12.66,108.05,452,4,lte,-99,{2**64 - 1},c1\r\n"
        f"{when},12.66,108.05,452,4,lte,-99,7,c2\r\n"
    )
    answer = client.post(
        "/v1/imports",
        files={"file": ("r.csv.gz", gzip.compress(csv.encode()))},
        data={"device": "p", "format": "canonical-csv"},
    ).json()
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["rejected_rows"][0]["field"] == "cell_id"
    assert set(stored(sessions)) == {"c2"}


def geosubmit_report(**cell: Any) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(minutes=5)
    tower = {"radioType": "lte", "mobileCountryCode": 452, "mobileNetworkCode": 4,
             "locationAreaCode": 12101, "cellId": 26200321, "signalStrength": -101}  # fmt: skip
    tower.update(cell)
    return {
        "timestamp": int(when.timestamp() * 1000),
        "position": {"latitude": 12.6667, "longitude": 108.05, "accuracy": 8.0},
        "cellTowers": [tower],
    }


def test_geosubmit_wide_cell_id_is_one_refused_report(client, sessions):
    body = {"items": [geosubmit_report(cellId=2**64 - 1), geosubmit_report(cellId=5)]}
    response = client.post("/v2/geosubmit?key=phone-9", json=body)
    assert (response.status_code, response.json()) == (200, {})
    assert [row.cell_id for row in stored(sessions).values()] == [5]
    stats = IngestStats.model_validate(client.get("/v1/stats").json())
    assert (stats.accepted, stats.rejected) == (1, 1)


def test_geosubmit_nested_body_is_mls_parse_error(client, sessions):
    body = b'{"items": [' + b"[" * 5_000 + b"]" * 5_000 + b"]}"
    response = client.post(
        "/v2/geosubmit?key=phone-9", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == "parseError"
