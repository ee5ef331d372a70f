"""The planning model calibrated on what phones measured around the known sites.

Hata's rural formulas (``domain.propagation``) assume open, quasi-smooth land; the
highlands, plantations and village trees of Dak Lak lose more. Where the operator's sites
are known (``deadzone import-sites``) and phones measured LTE power around them, the bias
is measured instead of guessed:

* for every working cell the operator's LTE decision has a mean power for
  (``cell_status.signal_dbm_mean``, radio ``lte``, a decided status), the planner's own
  model predicts the best server's RSRP from the known LTE sites of that operator within
  ``MAX_FIT_RANGE_KM``: ``EIRP per RE - L_hata(f, hb, hm, d)`` with the planner's mast
  height, EIRP and bandwidth (``DEADZONE_PLAN_*``) and each site's band;
* a site's band comes from the EARFCN of the readings served by its cell identity
  (3GPP TS 36.101 table 5.7.3-1, ``domain.radio.lte_band_of_earfcn``), else the planning
  band;
* the residual ``predicted - measured`` (dB, positive: the land loses more than Hata) is
  grouped by operator and by the band of the predicted best server; the fit of a group is
  the mean residual (``offset_db``, what the planner adds to the path loss) and the RMSE
  around it (``rmse_db``: the spread a fade margin must cover), with the number of cells.
  Groups of all bands (band 0) and of all operators ('any') are fitted too.

Each measured cell's residual is kept (``calibration_cells``): a plan judges a target by the
mean residual of the measured cells within ``LOCAL_RADIUS_KM`` of it (``local_offsets``),
since the loss of the highlands is regional and the province's mean would promise too much
there.

It is a one-parameter least-squares fit (the mean minimises the squared error of a
constant offset): with a few hundred cells it is stable, where fitting Hata's slope as well
would chase the sampling of distances. Known bias: cells phones report from are those where
a phone had some signal (no-service readings carry no power), so the offset is if anything
an underestimate of the loss at the coverage edge.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import shapely
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.propagation import hata_terms_db, lte_rsrp_eirp_dbm
from domain.radio import lte_band_of_earfcn
from domain.vocabulary import BEST_OF_ALL
from service.engine.new_sites import ALL_BANDS
from service.settings import Settings
from service.store.hexagons import add_hexagons
from service.store.models import CalibrationCell, CellStatus, ModelFit, ReadingRow, Site

MAX_FIT_RANGE_KM: Final = 20.0  # Hata is fitted for 1-20 km (Hata 1980)
MIN_FIT_CELLS: Final = 20  # fewer measured cells: no fit for the group
EARTH_RADIUS_KM: Final = 6371.0088  # IUGG mean radius
CELL_CHUNK: Final = 2000  # cells per block of the distance matrix (2000 x sites floats)
# The local bias: measured cells within this distance of a planned target, and how many are
# needed to trust their mean over the group's fit. 3 km: about the correlation length of
# the highland terrain in the small simulated province, a few coverage radii of a cell.
LOCAL_RADIUS_KM: Final = 3.0
LOCAL_MIN_CELLS: Final = 5


@dataclass(frozen=True)
class Fit:
    """One group's calibration: operator ('any'), band (MHz, 0 all), offset and RMSE (dB)."""

    operator: str
    band_mhz: int
    offset_db: float
    rmse_db: float
    cells: int
    sites: int


def fit_model(session: Session, settings: Settings, *, now: datetime) -> list[Fit]:
    """Fit the planning model on the stored decisions and known sites (module doc) and
    replace the stored fits with the result. Does not commit."""
    bands = _site_bands(session)
    sites_of: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for operator, mcc, mnc, cell, lat, lon in session.execute(
        select(Site.operator, Site.mcc, Site.mnc, Site.cell, Site.lat, Site.lon).where(
            Site.radio == "lte"
        )
    ):
        band = bands.get((int(mcc), int(mnc), int(cell)), int(settings.plan_band_mhz))
        sites_of[operator].append((float(lat), float(lon), band))
    residuals: dict[tuple[str, int], list[float]] = defaultdict(list)
    serving: dict[tuple[str, int], set[tuple[str, int]]] = defaultdict(set)
    local: dict[tuple[str, int], tuple[float, float, float]] = {}
    pooled: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    c = CellStatus
    for operator, sites in sorted(sites_of.items()):
        rows = session.execute(
            select(c.lat, c.lon, c.signal_dbm_mean, c.h3_cell).where(
                c.operator == operator,
                c.radio == "lte",
                c.resolution == settings.h3_resolution,
                c.status != "unknown",
                c.signal_dbm_mean.is_not(None),
            )
        ).all()
        if not rows:
            continue
        cells = np.array(rows, dtype=np.float64)
        predicted, server = best_predicted_rsrp(settings, np.array(sites), cells[:, 0], cells[:, 1])
        reach = np.isfinite(predicted)
        residual = predicted[reach] - cells[reach, 2]
        ids = [int(row[3]) for row, kept in zip(rows, reach.tolist(), strict=True) if kept]
        for cell, lat, lon, value in zip(
            ids, cells[reach, 0].tolist(), cells[reach, 1].tolist(), residual.tolist(),
            strict=True,
        ):  # fmt: skip
            local[(operator, cell)] = (lat, lon, value)
            pooled[cell].append((lat, lon, value))
        site_band = np.array([b for _, _, b in sites])[server[reach]]
        for value, band, site in zip(
            residual.tolist(), site_band.tolist(), server[reach].tolist(), strict=True
        ):
            for key in ((operator, band), (operator, ALL_BANDS), (BEST_OF_ALL, band),
                        (BEST_OF_ALL, ALL_BANDS)):  # fmt: skip
                residuals[key].append(value)
                serving[key].add((operator, site))
    fits = []
    for (operator, band), values in sorted(residuals.items()):
        if len(values) < MIN_FIT_CELLS:
            continue
        array = np.asarray(values)
        offset = float(array.mean())
        rmse = float(math.sqrt(float(np.mean((array - offset) ** 2))))
        fits.append(Fit(operator, band, round(offset, 2), round(rmse, 2), len(values),
                        len(serving[(operator, band)])))  # fmt: skip
    for cell, measured in pooled.items():
        lat, lon = measured[0][0], measured[0][1]
        local[(BEST_OF_ALL, cell)] = (lat, lon, float(np.mean([v for _, _, v in measured])))
    session.execute(delete(ModelFit))
    session.execute(delete(CalibrationCell))
    session.add_all(
        CalibrationCell(operator=operator, h3_cell=cell, lat=lat, lon=lon,
                        residual_db=round(value, 2))
        for (operator, cell), (lat, lon, value) in sorted(local.items())
    )  # fmt: skip
    add_hexagons(session.connection(), (cell for _, cell in local))
    session.add_all(
        ModelFit(operator=f.operator, band_mhz=f.band_mhz, offset_db=f.offset_db,
                 rmse_db=f.rmse_db, cells=f.cells, sites=f.sites, fitted_at=now)
        for f in fits
    )  # fmt: skip
    return fits


def best_predicted_rsrp(
    settings: Settings, sites: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The planner's model's best-server RSRP (dBm) at each point from ``sites`` (rows of
    lat, lon, band MHz) within ``MAX_FIT_RANGE_KM``, and the row of that site; -inf and 0
    where none reaches. Distances under 1 km hold the 1 km loss (``domain.propagation``)."""
    rsrp_eirp = lte_rsrp_eirp_dbm(settings.plan_eirp_dbm, 0.0, settings.plan_bandwidth_mhz)
    terms = [
        hata_terms_db(float(band), settings.plan_mast_height_m, settings.plan_handset_height_m)
        for band in sites[:, 2]
    ]
    base = rsrp_eirp - np.array([t[0] for t in terms])
    slope = np.array([t[1] for t in terms])
    lat0 = math.radians(float(np.mean(lat)))
    sx = np.radians(sites[:, 1]) * math.cos(lat0) * EARTH_RADIUS_KM
    sy = np.radians(sites[:, 0]) * EARTH_RADIUS_KM
    px = np.radians(lon) * math.cos(lat0) * EARTH_RADIUS_KM
    py = np.radians(lat) * EARTH_RADIUS_KM
    best = np.full(lat.size, -np.inf)
    server = np.zeros(lat.size, dtype=np.int64)
    for start in range(0, lat.size, CELL_CHUNK):
        part = slice(start, start + CELL_CHUNK)
        d2 = (px[part, None] - sx[None, :]) ** 2 + (py[part, None] - sy[None, :]) ** 2
        power = base[None, :] - slope[None, :] * 0.5 * np.log10(np.maximum(d2, 1.0))
        power[d2 > MAX_FIT_RANGE_KM**2] = -np.inf
        j = np.argmax(power, axis=1)
        best[part] = power[np.arange(j.size), j]
        server[part] = j
    return best, server


def _site_bands(session: Session) -> dict[tuple[int, int, int], int]:
    """(mcc, mnc, cell identity) -> LTE band (MHz), from the EARFCN readings carry."""
    r = ReadingRow
    rows = session.execute(
        select(r.mcc, r.mnc, r.cell_id, r.arfcn)
        .where(r.radio == "lte", r.cell_id.is_not(None), r.arfcn.is_not(None))
        .distinct()
    )
    bands: dict[tuple[int, int, int], int] = {}
    for mcc, mnc, cell, arfcn in rows:
        band = None if arfcn is None else lte_band_of_earfcn(int(arfcn))
        if band is not None and cell is not None:
            bands[(int(mcc), int(mnc), int(cell))] = band
    return bands


def local_offsets(
    session: Session, *, operator: str, lat: np.ndarray, lon: np.ndarray, fallback_db: float
) -> tuple[np.ndarray, int]:
    """The model's bias near each point (dB): the mean residual of the calibrated cells
    within ``LOCAL_RADIUS_KM`` when at least ``LOCAL_MIN_CELLS`` lie there, else
    ``fallback_db`` (the group's fit). Highland loss is regional, so a site planned in the
    hills is judged by what phones measured in those hills, not by the province's mean.
    Uses the operator's cells if it has any, else every operator's ('any'). Returns the
    offsets and how many points got a local one."""
    offsets = np.full(lat.size, fallback_db, dtype=np.float64)
    for scope in dict.fromkeys((operator, BEST_OF_ALL)):
        rows = session.execute(
            select(CalibrationCell.lat, CalibrationCell.lon, CalibrationCell.residual_db).where(
                CalibrationCell.operator == scope
            )
        ).all()
        if rows:
            break
    else:
        return offsets, 0
    known = np.array(rows, dtype=np.float64)
    lat0 = math.radians(float(np.mean(known[:, 0])))
    tree = shapely.STRtree(np.asarray(shapely.points(*_km(known[:, 0], known[:, 1], lat0))))
    points = shapely.points(*_km(lat, lon, lat0))
    point_index, cell_index = tree.query(points, predicate="dwithin", distance=LOCAL_RADIUS_KM)
    sums = np.bincount(point_index, weights=known[cell_index, 2], minlength=lat.size)
    counts = np.bincount(point_index, minlength=lat.size)
    enough = counts >= LOCAL_MIN_CELLS
    offsets[enough] = sums[enough] / counts[enough]
    return offsets, int(enough.sum())


def _km(lat: np.ndarray, lon: np.ndarray, lat0: float) -> tuple[np.ndarray, np.ndarray]:
    # Equirectangular about the data's latitude: under 1 % error across a province.
    return (np.radians(lon) * math.cos(lat0) * EARTH_RADIUS_KM,
            np.radians(lat) * EARTH_RADIUS_KM)  # fmt: skip
