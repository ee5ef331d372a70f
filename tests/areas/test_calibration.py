"""Calibration of the planning model on measurements: a known offset is recovered, per
operator and band (the band read from the readings' EARFCN), and the plan uses it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import h3
import numpy as np
import pytest
from shapely.geometry import Point
from sqlalchemy import text

from service.areas.calibration import best_predicted_rsrp, fit_model
from service.areas.planning import SiteDesign, site_model
from service.engine.new_sites import find_fit
from service.store.database import session_scope
from service.store.models import CellStatus, Site
from tests.areas.conftest import LAT, LON
from tests.coverage_helpers import ingest, reading_in

NOW = datetime(2026, 11, 20, tzinfo=UTC)
SITES = [(LAT, LON, 11), (LAT + 0.09, LON + 0.05, 12), (LAT - 0.06, LON + 0.1, 13)]
OFFSET_DB, NOISE_DB = 12.0, 3.0


def add_site(session, lat: float, lon: float, cell: int, *, mnc: int = 4) -> None:
    session.add(
        Site(radio="lte", mcc=452, mnc=mnc, operator=f"452-0{mnc}", area=1, cell=cell,
             unit=None, lat=lat, lon=lon, range_m=None, samples=10, changeable=False,
             created=None, updated=None, average_signal=None, geom=Point(lon, lat),
             imported_at=NOW)
    )  # fmt: skip


def measured_cells(settings, sites: np.ndarray, *, offset_db: float) -> dict[str, float]:
    """Cells within 15 km of the first site, each with the planner's prediction less the
    offset, plus Gaussian noise (seeded)."""
    rng = np.random.default_rng(7)
    cells = sorted(h3.grid_disk(h3.latlng_to_cell(LAT, LON, 9), 60))[::25]
    latlng = np.array([h3.cell_to_latlng(c) for c in cells])
    predicted, _ = best_predicted_rsrp(settings, sites, latlng[:, 0], latlng[:, 1])
    noise = rng.normal(0.0, NOISE_DB, len(cells))
    return {
        c: float(p - offset_db + n)
        for c, p, n in zip(cells, predicted, noise, strict=True)
        if np.isfinite(p)  # beyond 20 km of every site: not measured around a known site
    }


def put_measured(session, measured: dict[str, float], *, operator: str = "452-04") -> None:
    for cell, dbm in measured.items():
        lat, lon = h3.cell_to_latlng(cell)
        session.add(
            CellStatus(h3_cell=h3.str_to_int(cell), operator=operator, radio="lte",
                       resolution=9, lat=lat, lon=lon, status="covered", confidence=0.9,
                       readings=10, devices=3, days=2, no_service_share=0.0, dead_share=0.0,
                       signal_dbm_mean=dbm, first_seen=NOW - timedelta(days=9),
                       last_seen=NOW, evidence_from=date(2026, 11, 1))
        )  # fmt: skip


def test_calibration_recovers_a_known_offset(settings, sessions):
    sites = np.array([(lat, lon, 1800) for lat, lon, _ in SITES], dtype=np.float64)
    measured = measured_cells(settings, sites, offset_db=OFFSET_DB)
    with session_scope(sessions) as session:
        for lat, lon, cell in SITES:
            add_site(session, lat, lon, cell)
        put_measured(session, measured)
    with session_scope(sessions) as session:
        fits = {(f.operator, f.band_mhz): f for f in fit_model(session, settings, now=NOW)}
    fit = fits[("452-04", 1800)]
    assert fit.cells == len(measured) > 100
    # The mean of n noisy residuals: standard error NOISE / sqrt(n), well under 0.5 dB.
    assert fit.offset_db == pytest.approx(OFFSET_DB, abs=0.5)
    assert fit.rmse_db == pytest.approx(NOISE_DB, abs=0.5)
    assert fits[("452-04", 0)].offset_db == fit.offset_db
    assert fits[("any", 0)].cells == fit.cells and fit.sites <= 3
    with session_scope(sessions, write=False) as session:
        if session.get_bind().dialect.name == "postgresql":
            # QGIS's view of the residuals draws each calibrated cell as its hexagon.
            rows = session.execute(
                text("SELECT ST_GeometryType(geom), count(*) FROM qgis_calibration_cells "
                     "WHERE operator = '452-04' GROUP BY 1")
            ).all()  # fmt: skip
            assert rows == [("ST_Polygon", fit.cells)]

    with session_scope(sessions, write=False) as session:
        stored = find_fit(session, operator="452-04", band_mhz=1800)
        assert stored is not None and stored.offset_db == fit.offset_db
        # A band without its own fit falls back to the operator's fit over all bands.
        assert find_fit(session, operator="452-04", band_mhz=700).band_mhz == 0


def test_the_plan_uses_and_reports_the_fit(settings, sessions, client):
    sites = np.array([(lat, lon, 1800) for lat, lon, _ in SITES], dtype=np.float64)
    with session_scope(sessions) as session:
        for lat, lon, cell in SITES:
            add_site(session, lat, lon, cell)
        put_measured(session, measured_cells(settings, sites, offset_db=OFFSET_DB))
        fit_model(session, settings, now=NOW)
    body = client.get("/v1/plan", params={"operator": "452-04"}).json()
    calibration = body["calibration"]
    assert calibration["operator"] == "452-04" and calibration["band_mhz"] == 1800
    assert calibration["cells"] > 100 and calibration["rmse_db"] == pytest.approx(3, abs=0.5)
    # 12 dB more loss: the radius shrinks by 10^(12 / 35.2), about 2.2 times.
    flat = site_model(settings, SiteDesign())
    assert body["model"]["calibration_db"] == pytest.approx(calibration["offset_db"], abs=0.01)
    assert body["model"]["radius_km"] == pytest.approx(
        flat.radius_km / 10 ** (calibration["offset_db"] / 35.225), rel=0.01
    )


def test_the_band_of_a_site_comes_from_the_earfcn_of_its_readings(settings, sessions):
    # Readings served by cell 11 on EARFCN 3550 (band 8): that site is a 900 MHz site.
    served = reading_in(h3.latlng_to_cell(LAT, LON, 9), device="p1", dbm=-90.0)
    served.update(cell_id=11, area_code=1, arfcn=3550)
    ingest(sessions, settings, [served])
    sites = np.array([(LAT, LON, 900)], dtype=np.float64)
    with session_scope(sessions) as session:
        add_site(session, LAT, LON, 11)
        put_measured(session, measured_cells(settings, sites, offset_db=5.0))
    with session_scope(sessions) as session:
        fits = {(f.operator, f.band_mhz): f for f in fit_model(session, settings, now=NOW)}
    assert fits[("452-04", 900)].offset_db == pytest.approx(5.0, abs=0.6)
    assert ("452-04", 1800) not in fits


def test_without_sites_there_is_no_fit_and_the_plan_says_so(settings, sessions, client):
    with session_scope(sessions) as session:
        assert fit_model(session, settings, now=NOW) == []
    assert client.get("/v1/plan").json()["calibration"] is None


def test_targets_are_judged_by_the_bias_measured_near_them(settings, sessions):
    # West of the first site phones lose 6 dB more than Hata, east 18 dB (the hills).
    from service.areas.calibration import local_offsets

    sites = np.array([(lat, lon, 1800) for lat, lon, _ in SITES], dtype=np.float64)
    measured = measured_cells(settings, sites, offset_db=0.0)
    hills = {c: dbm - (18.0 if h3.cell_to_latlng(c)[1] > LON else 6.0) for c, dbm in
             measured.items()}  # fmt: skip
    with session_scope(sessions) as session:
        for lat, lon, cell in SITES:
            add_site(session, lat, lon, cell)
        put_measured(session, hills)
        fit = {(f.operator, f.band_mhz): f for f in fit_model(session, settings, now=NOW)}
    overall = fit[("452-04", 1800)].offset_db
    assert 6.0 < overall < 18.0
    with session_scope(sessions, write=False) as session:
        points = np.array([[LAT, LON - 0.1], [LAT, LON + 0.1], [LAT + 5.0, LON]])
        offsets, local = local_offsets(
            session, operator="452-04", lat=points[:, 0], lon=points[:, 1], fallback_db=overall
        )
    assert local == 2  # the third point is 500 km away: the group's fit
    # A mean of at least 5 cells with 3 dB noise: within 2.5 dB (about 2 standard errors).
    assert offsets[0] == pytest.approx(6.0, abs=2.5)
    assert offsets[1] == pytest.approx(18.0, abs=2.5)
    assert offsets[2] == overall
