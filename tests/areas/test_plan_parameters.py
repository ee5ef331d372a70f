"""Per-request planning parameters (band, mast, EIRP, co-location) and the explanation
whenever fewer sites come back than were asked for."""

from __future__ import annotations

from datetime import UTC, datetime

import h3
import pytest
from shapely.geometry import Point

from service.api.routes.areas import Plan
from service.areas.planning import SiteDesign, site_model
from service.settings import Settings
from service.store.database import session_scope
from service.store.models import Site
from tests.areas.conftest import CENTRE, LAT, LON, import_areas, open_zone, put_statuses, village
from tests.areas.conftest import write_layer as write


@pytest.fixture
def dark_village(tmp_path, settings, sessions):
    """V1 (800 people) at CENTRE, in a 452-04 dead zone of 7 cells."""
    import_areas(sessions, settings, write(tmp_path / "v.geojson", [village("V1", "A", CENTRE,
                                                                             800)]))  # fmt: skip
    disk = sorted(h3.grid_disk(CENTRE, 1))
    put_statuses(sessions, dict.fromkeys(disk, "dead"), operator="452-04")
    open_zone(sessions, disk, "dz-452-04-0", operator="452-04")


def plan(client, **params) -> Plan:
    response = client.get("/v1/plan", params={"operator": "452-04", **params})
    assert response.status_code == 200, response.text
    return Plan.model_validate(response.json())


def test_band_mast_and_eirp_change_the_radius_per_request(dark_village, client):
    default = plan(client)
    assert default.model["band_mhz"] == 1800 and default.terrain == "flat terrain"
    low = plan(client, band=700)
    assert low.model["name"] == "okumura-hata rural"
    assert float(low.model["radius_km"]) > 1.5 * float(default.model["radius_km"])
    assert float(plan(client, mast_height=60).model["radius_km"]) > float(
        default.model["radius_km"]
    )
    assert float(plan(client, eirp=55).model["radius_km"]) < float(default.model["radius_km"])
    high = plan(client, band=2600)
    assert "extrapolated" in str(high.model["name"])
    assert float(high.model["radius_km"]) < float(default.model["radius_km"])


def test_700_mhz_reaches_about_1_8_times_1800(settings):
    # DESIGN.md: Viettel's 700 MHz block gives about 1.8 times the radius of 1800 MHz.
    ratio = (
        site_model(settings, SiteDesign(band_mhz=700)).radius_km
        / site_model(settings, SiteDesign(band_mhz=1800)).radius_km
    )
    assert 1.6 < ratio < 2.6


@pytest.mark.parametrize(
    ("params", "field"),
    [({"band": 1000}, "band"), ({"mast_height": 20}, "mast_height"), ({"eirp": 100}, "eirp")],
)
def test_parameters_outside_the_model_are_refused_naming_them(dark_village, client, params, field):
    response = client.get("/v1/plan", params={"operator": "452-04", **params})
    assert response.status_code == 422
    body = response.json()
    named = body.get("field") or body["errors"][0]["field"]
    assert named == field


def test_fewer_sites_than_asked_come_with_an_explanation(dark_village, client):
    body = plan(client, sites=5)
    assert len(body.sites) == 1
    assert body.people_reachable == body.people_without_signal == 800
    assert body.explanation is not None and "1 site(s) of 5" in body.explanation
    assert "flat terrain" in body.explanation
    assert plan(client, sites=1).explanation is None


def test_an_operator_without_dead_cells_is_explained(dark_village, client):
    body = plan(client, operator="452-01")
    assert body.sites == [] and body.explanation is not None and "nobody" in body.explanation


def test_colocation_needs_known_sites_and_uses_them(dark_village, client, sessions):
    body = plan(client, colocate=True)
    assert body.sites == [] and "import-sites" in (body.explanation or "")
    # A known (Mobifone) mast 2 km north: co-location puts the site there.
    lat, lon = LAT + 0.018, LON
    with session_scope(sessions) as session:
        session.add(
            Site(
                radio="lte",
                mcc=452,
                mnc=1,
                operator="452-01",
                area=1,
                cell=7,
                unit=None,
                lat=lat,
                lon=lon,
                range_m=None,
                samples=3,
                changeable=True,
                created=None,
                updated=None,
                average_signal=None,
                geom=Point(lon, lat),
                imported_at=datetime(2026, 11, 1, tzinfo=UTC),
            )  # fmt: skip
        )
    body = plan(client, colocate=True)
    assert body.colocate and body.candidates == 1
    [site] = body.sites
    assert site.h3 == h3.latlng_to_cell(lat, lon, 9) and site.people_new == 800


def test_a_bad_server_default_is_a_configuration_error_not_the_callers_fault():
    from service.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        site_model(Settings().model_copy(update={"plan_mast_height_m": 10.0}))
