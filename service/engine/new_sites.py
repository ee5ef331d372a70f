"""Sites known to be new: an operator's dead calls near a site it put on air lately.

A cell export dates each cell (``created``: when OpenCelliD first saw it, or when it went
on air in an operator's own list). A site of an operator whose date falls inside the
decision window may serve places its readings called dead before it: the change test of
``service.engine.decisions`` sees such a change only where phones measured since, and
where nobody did, a year of no service outvotes nothing. So (``decisions`` module doc) a
dead call of that operator within the site's reach that rests on months before the site's
first whole month on air is made again from the months since, unless the readings since
lean to no signal (someone measured there since, and no change showed); covered and weak
calls stand (a new site takes no signal away).

* **First whole month on air**: the month of ``created`` when it is the month's first
  instant (midnight UTC of its first day), else the month after: the month it went on air
  in mixes readings before and after.
* **Reach**: the export's ``range`` (the cell's estimated radius) when given; else the
  planner's radius (``service.areas.planning.site_model``: the planning link budget and
  band, ``DEADZONE_PLAN_*``, with the loss ``deadzone calibrate`` fitted for the operator,
  ``model_fits``) when the operator has a fit; else ``domain.propagation.NEW_SITE_REACH_M``
  (ITU-R M.2412's rural large-cell radius, 3.5 km). A cell is within reach when its centre
  is.

* **Radio**: a site brings the radio of its cells, nothing else. A per-radio call reacts
  to a site of that radio, the broadband call to an LTE or NR site, the call over radios
  (any signal) to any site (``for_scope``): a new 3G site does not make a broadband dead
  call stale.

Several cells of one mast and radio are one site here; a place within reach of several new
sites of one operator reads the months since the newest.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.propagation import NEW_SITE_REACH_M, hata_radius_km, lte_rsrp_eirp_dbm
from domain.radio import BROADBAND_RADIOS
from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL, BROADBAND
from service.settings import Settings
from service.store.models import ModelFit, Site

ALL_BANDS: Final = 0  # a planning fit over all bands (``service.areas.calibration``)
EARTH_RADIUS_M: Final = 6_371_008.8  # IUGG mean radius
_STALE_COLUMNS: Final = ["h3_cell", "operator", "radio", "on_air"]


@dataclass(frozen=True)
class NewSite:
    """A site of ``operator`` dated inside the decision window, of one ``radio``."""

    operator: str
    radio: str
    lat: float
    lon: float
    reach_m: float
    on_air: date  # first whole month on air


def first_whole_month(created: datetime) -> date:
    """The first month a site dated ``created`` was on air the whole of (module doc)."""
    created = created.astimezone(UTC)
    if created.day == 1 and created.time() == datetime.min.time():
        return date(created.year, created.month, 1)
    index = created.year * 12 + created.month  # the month after, 0-based
    return date(index // 12, index % 12 + 1, 1)


def find_fit(session: Session, *, operator: str, band_mhz: float) -> ModelFit | None:
    """The stored planning fit that best matches: the operator's for the band, the
    operator's over all bands, every operator's for the band, every operator's overall."""
    wanted = [(operator, int(band_mhz)), (operator, ALL_BANDS), (BEST_OF_ALL, int(band_mhz)),
              (BEST_OF_ALL, ALL_BANDS)]  # fmt: skip
    for key in wanted:
        fit = session.get(ModelFit, key)
        if fit is not None:
            return fit
    return None


def planned_reach_m(settings: Settings, *, calibration_db: float) -> float:
    """The planner's radius (metres) with ``calibration_db`` of fitted extra loss: where
    the planning link budget meets the rural median path loss (module doc)."""
    rsrp_eirp = lte_rsrp_eirp_dbm(settings.plan_eirp_dbm, 0.0, settings.plan_bandwidth_mhz)
    budget = rsrp_eirp - settings.plan_rsrp_threshold_dbm - settings.plan_fade_margin_db
    return 1000.0 * hata_radius_km(
        budget - calibration_db, settings.plan_band_mhz, settings.plan_mast_height_m,
        settings.plan_handset_height_m,
    )  # fmt: skip


def load_new_sites(
    session: Session, settings: Settings, *, since: date, now: datetime
) -> list[NewSite]:
    """The sites dated from ``since`` (the decision window's first day) up to ``now``, one
    per operator and position, with their reach (module doc)."""
    s = Site
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    rows = session.execute(
        select(s.operator, s.radio, s.lat, s.lon, s.range_m, s.created)
        .where(s.created.is_not(None), s.created >= start, s.created <= now)
        .order_by(s.operator, s.lat, s.lon, s.created)
    ).all()
    fallback: dict[str, float] = {}
    sites: dict[tuple[str, str, float, float], NewSite] = {}
    for operator, radio, lat, lon, range_m, created in rows:
        if range_m:
            reach = float(range_m)
        else:
            if operator not in fallback:
                fit = find_fit(session, operator=operator, band_mhz=settings.plan_band_mhz)
                fallback[operator] = (
                    planned_reach_m(settings, calibration_db=fit.offset_db)
                    if fit is not None
                    else NEW_SITE_REACH_M
                )
            reach = fallback[operator]
        key = (str(operator), str(radio), round(float(lat), 5), round(float(lon), 5))
        on_air = first_whole_month(created) if created is not None else since
        known = sites.get(key)
        if known is not None:
            reach, on_air = max(reach, known.reach_m), max(on_air, known.on_air)
        sites[key] = NewSite(key[0], key[1], float(lat), float(lon), reach, on_air)
    return list(sites.values())


def fingerprint(sites: list[NewSite]) -> int:
    """A 63-bit fingerprint of ``sites`` (reach to the metre): the stored decisions were
    made with these, and another set makes the next run a full one."""
    values = sorted(
        (
            s.operator,
            s.radio,
            round(s.lat, 5),
            round(s.lon, 5),
            round(s.reach_m),
            s.on_air.isoformat(),
        )
        for s in sites
    )
    digest = hashlib.sha256(json.dumps(values).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def cells_in_reach(
    sites: list[NewSite], cells: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> pd.DataFrame:
    """(``h3_cell``, ``operator``, ``radio``, ``on_air``) for each of ``cells`` (centres
    ``lat``, ``lon``, degrees) within reach of a new site of an operator and radio: the
    newest such site's first whole month on air where several reach it."""
    parts = []
    for site in sites:
        near = _metres_between(lat, lon, site.lat, site.lon) <= site.reach_m
        if near.any():
            parts.append(
                pd.DataFrame(
                    {
                        "h3_cell": cells[near],
                        "operator": site.operator,
                        "radio": site.radio,
                        "on_air": pd.Timestamp(site.on_air),
                    }
                )  # fmt: skip
            )
    if not parts:
        return pd.DataFrame({"h3_cell": pd.Series([], dtype=np.int64),
                             "operator": pd.Series([], dtype=object),
                             "radio": pd.Series([], dtype=object),
                             "on_air": pd.Series([], dtype="datetime64[ns]")})  # fmt: skip
    reached = pd.concat(parts, ignore_index=True)
    return _newest(reached, ["h3_cell", "operator", "radio"])[_STALE_COLUMNS]


def for_scope(reached: pd.DataFrame, scope: str) -> pd.DataFrame:
    """The rows of ``cells_in_reach`` that a call of ``scope`` reacts to (module doc): for a
    scope over radios (``any``, ``broadband``) one row per cell and operator, without the
    radio; for the per-radio calls, the rows as they are, each matched on its radio."""
    if scope == ANY_SIGNAL:
        return _newest(reached, ["h3_cell", "operator"]).drop(columns="radio")
    if scope == BROADBAND:
        mine = reached[reached["radio"].isin([r.value for r in BROADBAND_RADIOS])]
        return _newest(mine, ["h3_cell", "operator"]).drop(columns="radio")
    return reached


def _newest(reached: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    newest = reached.sort_values("on_air", kind="stable").drop_duplicates(key, keep="last")
    return newest.reset_index(drop=True)


def _metres_between(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distances (haversine), metres, from (``lat0``, ``lon0``)."""
    p1, p2 = np.radians(lat), math.radians(lat0)
    dlat, dlon = p1 - p2, np.radians(lon - lon0)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * math.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
