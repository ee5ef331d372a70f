"""Planning: people in dead zones and their priority, Hata radii, greedy site choice."""

from __future__ import annotations

import csv
import io
import itertools
import math
import random

import h3
import pytest

from service.areas.planning import greedy_max_cover, priority_score, site_model
from service.settings import Settings
from tests.areas.conftest import (
    CENTRE,
    LAT,
    LON,
    import_areas,
    open_zone,
    put_statuses,
    village,
)
from tests.areas.conftest import write_layer as write
from tests.coverage_helpers import decide, ingest, reading_in


def best_cover(covers, weights, k):
    """The optimum by brute force: every choice of k sets."""
    best = 0.0
    for combo in itertools.combinations(range(len(covers)), min(k, len(covers))):
        covered = set().union(*(covers[i] for i in combo))
        best = max(best, sum(weights[e] for e in covered))
    return best


def test_greedy_is_never_below_1_minus_1_over_e_of_the_optimum_and_usually_equal():
    rng = random.Random(7)
    equal = 0
    trials = 300
    for _ in range(trials):
        elements = rng.randint(1, 12)
        weights = [rng.choice([0, 1, 5, 20, 100]) for _ in range(elements)]
        covers = [rng.sample(range(elements), rng.randint(0, elements)) for _ in range(6)]
        k = rng.randint(1, 4)
        chosen = greedy_max_cover(covers, weights, k)
        got = sum(gain for _, gain in chosen)
        covered = set().union(*(covers[i] for i, _ in chosen)) if chosen else set()
        assert got == pytest.approx(sum(weights[e] for e in covered))  # gains add up
        optimum = best_cover(covers, weights, k)
        assert got >= (1 - 1 / math.e) * optimum - 1e-9
        equal += math.isclose(got, optimum)
    assert equal / trials > 0.8


def test_greedy_can_miss_the_optimum_but_stays_within_the_bound():
    # The textbook trap: one big set in the middle beats either half first, after which
    # the two halves would have been better together.
    weights = [1.0] * 6
    covers = [[0, 1, 2], [3, 4, 5], [1, 2, 3, 4]]
    chosen = greedy_max_cover(covers, weights, 2)
    assert [i for i, _ in chosen] == [2, 0] and sum(g for _, g in chosen) == 5
    assert best_cover(covers, weights, 2) == 6


def test_greedy_stops_when_nothing_more_is_covered():
    assert greedy_max_cover([[0], [0], []], [3.0], 3) == [(0, 3.0)]


def test_hata_radius_by_hand_900_mhz():
    # EIRP per resource element: 61 - 10 log10(12 x 100) = 30.21 dBm; budget to -115 dBm
    # less a 10 dB margin: 135.21 dB. Okumura-Hata rural, f 900, hb 30, hm 1.5:
    # 69.55 + 26.16 x 2.9542 - 13.82 x 1.4771 - 0.0159 - 28.5064 = 97.897 dB at 1 km,
    # slope 44.9 - 6.55 x 1.4771 = 35.225 dB/decade: d = 10^((135.21 - 97.90) / 35.22).
    model = site_model(Settings(plan_band_mhz=900))
    assert model.model == "okumura-hata rural"
    assert model.max_path_loss_db == pytest.approx(135.208, abs=1e-3)
    assert model.radius_km == pytest.approx(11.461, abs=0.01)


def test_hata_radius_by_hand_1800_mhz():
    # COST-231 Hata with Hata's open-area term: 46.3 + 33.9 x 3.2553 - 20.414 - 0.043
    # - 31.924 = 104.273 dB at 1 km, same slope: 10^((135.21 - 104.27) / 35.22) = 7.55 km.
    model = site_model(Settings(plan_band_mhz=1800))
    assert model.model == "cost-231 hata rural"
    assert model.radius_km == pytest.approx(7.555, abs=0.01)
    # A higher mast reaches further; a 3 dB larger margin shortens the radius.
    assert site_model(Settings(plan_band_mhz=1800, plan_mast_height_m=60)).radius_km > 7.6
    assert site_model(Settings(plan_band_mhz=1800, plan_fade_margin_db=13)).radius_km < 7.5


def test_priority_puts_people_first():
    base = dict(facilities=0, cells=1, facility_people=50.0)
    weak = priority_score(people=300, devices=3, distance_m=0, **base)
    strong = priority_score(people=100, devices=50, distance_m=10_000, **base)
    assert weak > strong  # three times the people beat the best evidence and distance
    assert priority_score(people=100, devices=10, distance_m=0, **base) > priority_score(
        people=100, devices=3, distance_m=0, **base
    )
    assert priority_score(people=100, devices=3, distance_m=5000, **base) > priority_score(
        people=100, devices=3, distance_m=100, **base
    )
    school = dict(base, facilities=1)
    assert priority_score(people=100, devices=3, distance_m=0, **school) == pytest.approx(
        priority_score(people=150, devices=3, distance_m=0, **base)
    )


def dead_readings(cell, devices=3):
    """No service on ``devices`` phones, the first twice (four readings of three phones:
    the least evidence of a dead call, Wilson bound 0.51)."""
    items = [reading_in(cell, device=f"d{cell}{i}", no_service=True) for i in range(devices)]
    return [*items, reading_in(cell, device=f"d{cell}0", no_service=True, days_ago=2)]


def test_aggregation_fills_people_villages_and_ranks_zones_by_people(
    tmp_path, settings, sessions, client
):
    small = sorted(h3.grid_disk(CENTRE, 1))  # 7 cells around village V1 (700 people)
    far = h3.grid_ring(CENTRE, 8)[0]
    big = sorted(h3.grid_disk(far, 2))  # 19 empty cells
    items = [r for c in small + big for r in dead_readings(c)]
    ingest(sessions, settings, items)
    import_areas(
        sessions, settings,
        write(tmp_path / "v.geojson", [village("V1", "Buôn A", CENTRE, 700, facilities=1)]),
    )  # fmt: skip
    decide(sessions, settings)
    zones = client.get("/v1/deadzones").json()["zones"]
    assert [z["cell_count"] for z in zones] == [7, 19]  # people first, not size
    first, second = zones
    assert first["population"] == 700 and first["villages"] == ["V1"]
    assert second["population"] == 0 and second["villages"] == []
    assert first["rank"] == 1
    assert first["priority"] == pytest.approx(
        priority_score(
            people=700, facilities=1, devices=21, distance_m=None, cells=7,
            facility_people=settings.facility_people,
        ),
        abs=1e-3,
    )  # fmt: skip


def test_without_population_zones_keep_the_cells_based_score(settings, sessions, client):
    ingest(sessions, settings, [r for c in h3.grid_disk(CENTRE, 1) for r in dead_readings(c)])
    decide(sessions, settings)
    (zone,) = client.get("/v1/deadzones").json()["zones"]
    assert zone["population"] is None and zone["priority"] == pytest.approx(7 + 0.1 * 21)


@pytest.fixture
def two_dark_villages(tmp_path, settings, sessions):
    """V1 (800 people) at CENTRE and V2 (400) some 40 km away, both in 452-04 dead zones;
    a third village V3 (100) lies near V1 but is covered."""
    v2_cell = h3.latlng_to_cell(LAT + 0.36, LON, 9)
    v3_cell = h3.latlng_to_cell(LAT - 0.02, LON, 9)
    villages = [
        village("V1", "Buôn Một", CENTRE, 800),
        village("V2", "<b>Hai</b>", v2_cell, 400),
        village("V3", "Ba", v3_cell, 100),
    ]
    import_areas(sessions, settings, write(tmp_path / "v.geojson", villages))
    for n, cell in enumerate((CENTRE, v2_cell)):
        disk = sorted(h3.grid_disk(cell, 1))
        put_statuses(sessions, dict.fromkeys(disk, "dead"), operator="452-04")
        open_zone(sessions, disk, f"dz-452-04-{n}", operator="452-04")
    put_statuses(sessions, dict.fromkeys(h3.grid_disk(v3_cell, 1), "covered"), operator="452-04")


def test_plan_covers_the_most_people_first(two_dark_villages, client):
    body = client.get("/v1/plan", params={"operator": "452-04", "sites": 5}).json()
    assert body["people_without_signal"] == 1200
    assert body["model"]["radius_km"] == pytest.approx(7.555, abs=0.01)
    first, second = body["sites"]  # a third site would add nobody
    assert (first["people_new"], first["people_cumulative"]) == (800, 800)
    assert first["villages"] == [{"code": "V1", "name": "Buôn Một"}]
    assert (second["people_new"], second["people_cumulative"]) == (400, 1200)
    assert second["villages"] == [{"code": "V2", "name": "<b>Hai</b>"}]
    assert h3.grid_distance(first["h3"], CENTRE) <= 2


def test_plan_as_csv_and_geojson(two_dark_villages, client):
    response = client.get("/v1/plan", params={"operator": "452-04", "sites": 1, "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1 and rows[0]["villages"] == "V1" and float(rows[0]["people_new"]) == 800
    geo = client.get("/v1/plan", params={"operator": "452-04", "sites": 2, "format": "geojson"})
    features = geo.json()["features"]
    assert [f["properties"]["rank"] for f in features] == [1, 2]
    lon, lat = features[0]["geometry"]["coordinates"]
    assert abs(lat - LAT) < 0.01 and abs(lon - LON) < 0.01


def test_plan_for_an_operator_without_dead_zones_suggests_nothing(two_dark_villages, client):
    body = client.get("/v1/plan", params={"operator": "452-01"}).json()
    assert body["sites"] == [] and body["people_without_signal"] == 0
    bad = client.get("/v1/plan", params={"operator": "viettel"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "operator"
