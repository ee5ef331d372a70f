"""Decisions: covered, weak, dead or unknown per cell, with the evidence behind them.

The rules (all thresholds in ``Settings``):

* Each reading has a class (``statistics.reading_class``) and an evidence weight: 2 for
  a measured reading with a good GPS fix, 1 for a poor fix or a resident's manual report
  (bars). Shares below are weighted.
* Candidate status: ``dead`` if the dead share is over one half, else ``covered`` if the
  covered share is at least one half, else ``weak``.
* Confidence: the Wilson score 95% lower bound of the candidate's share, with n the
  number of readings; for ``dead``, n counts at most ``dead_readings_per_device``
  readings per distinct device. One phone's readings are not independent witnesses:
  they share its handset, its SIM and its owner's habits (the simulated province has a
  3G-only phone on an LTE-only network that reported "no service" 13 times in one
  covered cell, beside two other phones).
* Evidence needed for any decision: ``min_readings`` readings on ``min_days`` days.
  ``covered``/``weak`` need ``min_devices`` distinct devices; ``dead`` needs
  ``min_devices_dead`` (default 3, so one phone alone can never make a cell dead) and a
  confidence of at least ``min_dead_confidence``. Otherwise the cell is ``unknown``:
  not enough readings, never "covered" and never "dead". ``dead`` claims that most
  readings there show no signal, so the bound must clear one half (default 0.5): four
  "no signal" reports of three residents make a cell dead (n=4, share 1: Wilson bound
  0.51), one report of each does not yet (n=3: 0.44). With 0.4, cells whose phones see
  no signal 40-50 % of the time (the edge of 3G and LTE) were called dead often enough to
  cost the demo a tenth of its dead precision on some seeds (docs/demo-accuracy.md).
* The evidence since the newest change decides, within the window (default 12 months).
  A site built or switched off changes what phones see from one month to the next, and
  a planner expects the map to follow; but one phone's good or bad week is no change. So
  for each key the months are split at every month boundary, newer against older, and
  their dead shares compared by a two-proportion z-test, two-sided at
  ``evidence_change_alpha`` (default 0.05) with a Bonferroni correction over the key's
  ``months - 1`` splits. The witnesses are phones, not readings (a phone's readings share
  its handset, SIM and habits): each phone's month is one observation (n is the number
  of phone-months) and its readings in that month count as at most
  ``dead_readings_per_device`` (the month's weights scaled down evenly). A split counts
  only where the newer months hold a decision's evidence on their own (``min_readings``
  readings, ``min_days`` days, ``min_devices`` phones) and where the side they moved to
  (signal, or no signal) is shown by at least ``min_devices`` phones in one month (that
  month's phones times its share of that side): one phone's blip never moves a cell.
  Where such a change is significant, the months older than it are dropped (the split
  with the largest z; ties: the newest) and the rest decide, all of them, by the rules
  above; without one, the whole window decides. So after a site is built, a few months of
  good readings of several phones turn a dead cell covered however many dead readings came
  before; and where the new months are too few for a call of their own, the cell is
  unknown, not dead on the strength of the year before (the simulated province, seed 15:
  a site on air in October, 78 % of the year's readings dead, 57 % since;
  docs/demo-accuracy.md). Months are those of the readings' own times, never of their
  arrival: a phone's late batch of old readings lands in the months it was taken, before
  the change, where it cannot undo it. Each key's decision reads only its own statistics,
  so the full, the incremental and the columnar paths decide alike. (Until November 2026
  the newest months that sufficed for a decision won whenever their status differed from
  the whole window's, with no test: one phone's six good readings beside two older
  no-service reports outvoted a year of no service.)
* A site known to be new (``service.engine.new_sites``): the change test sees a change
  only where phones measured since it. A site an operator put on air inside the window,
  its date in the cell export (``created``), makes that operator's dead calls within its
  reach (the export's ``range``, else the planner's calibrated radius, else ITU-R
  M.2412's rural large-cell radius) that rest on months before the site's first whole
  month on air be made again from the months since, by the rules above: unknown unless
  readings since decide. A dead call stands where the readings since, even too few for a
  call of their own, lean to no signal (dead share over one half): someone measured there
  since the site, and the change test saw no change (the simulated province, seed 1: of
  the four Viettel calls near its site that this keeps, three are truly dead). Covered
  and weak calls stand: a new site takes no signal away. Seeds 15 and 21: a Viettel call
  1-2 km from the site built on 1 October rested on no-service readings of August and
  September, nobody measured there since, and the truth with the site is covered
  (docs/demo-accuracy.md). The sites read are those of the decision's window and clock,
  so the incremental path decides alike; a new set of them makes the next run a full one
  (``service.engine.incremental``).
* Best of all operators (``operator='any'``): a resident is served if any operator
  serves them, so the cell takes the best decided status among operators
  (covered > weak > dead); it is unknown if no operator has a decision. "Dead for
  everyone" claims that no operator gives a signal there, so it also needs that no
  operator without a decision in the cell shows signal: none whose own readings there,
  too few for a decision, lean to signal (dead share at most one half), and none that
  has signal (covered or weak: one bar is a signal) in a cell within
  ``dead_guard_rings`` rings. Otherwise the cell is unknown: that operator may well
  serve it, and nobody has measured it enough there (the simulated province showed
  "dead for everyone" was otherwise mostly wrong next to another operator's signal,
  often a 3G remnant or the weak edge of an operator with few subscribers around).
* Readings of radio ``unknown`` (a resident's manual report, or a no-service report, that
  does not know its technology; DESIGN.md) are evidence about the operator, not about a
  radio: they count fully for the operator's decision over all radios (``radio='any'``)
  and so for the best of all operators, and for no single radio's decision. Rule chosen
  because bars and "no signal" on a phone's screen are what the operator gives that phone
  there, whichever radio it camped on, while a per-radio decision must rest on readings
  known to be of that radio.
* Mobile broadband (``radio='broadband'``, the province's promise: LTE or NR, 4G or better):
  per operator, the same decision over the operator's evidence as the broadband scope reads
  it, and the best of all operators over those decisions (the same rule and dead guard as
  for any signal). Readings of LTE and NR count as they are. A reading on UMTS or GSM counts
  as *dead* for broadband: an idle phone camps on the newest radio it can use
  (``domain.radio.RADIO_PRIORITY``), so a phone found on 3G is a phone that found no usable
  LTE or NR of its operator there (nearly every handset in Vietnam in 2026 is 4G-capable;
  VoLTE spares voice calls the fall-back to 3G). Its signal does not enter the broadband
  mean. So a cell an operator reaches only on 3G is covered for any signal and dead for
  broadband. A reading of radio ``unknown`` says something about broadband only when it
  says "no signal" (no service, or 0 bars): with no service, or below one bar, the phone
  has no broadband whatever its radio, so it is dead evidence; "has signal, radio unknown"
  may be 3G as well as 4G, so it counts for any signal only. The statistics keep one device
  set per (cell, operator, radio, month), not one per class, so the unknown-radio readings
  of a month count for broadband only when every one of them says no signal; a month where
  residents disagree stays out of broadband (it cannot say which devices stand behind the
  dead reports, and a decision needs its distinct devices).
* Readings of an unknown operator (a resident who chose "Tôi không biết": ``mnc`` null in
  the canonical reading, stored as ``UNKNOWN_MNC``) say nothing about any one operator: a
  Viettel cell must not turn dead because someone, on some SIM, had no signal. They are
  evidence about the place: bars on a phone mean some network serves it there, and "no
  signal" means the resident's network does not. So they are decided like the readings of
  one more operator (``UNKNOWN_OPERATOR``: same weights, same minimum readings, days and
  phones, three phones for dead; in each scope over radios) and that decision takes part in
  the best of all operators only, exactly as a known operator's would: the best status
  wins, so an unknown operator's "dead" never outweighs a known operator's "covered"; its
  "covered" says someone is served; its undecided readings that lean to signal keep a cell
  from "dead for everyone", as any undecided operator's do. It is never stored as a scope
  (no ``cell_status`` row, zone, map, plan or estimate of its own), never decided per
  radio, and its cells with signal do not take part in the ring guard (the guard reads
  stored decisions around a cell, and a cell with signal of an unknown operator may be the
  very operator that is dead next door). This is the weight the same report would have if
  the resident had named the operator, minus what it would have said about that operator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from statistics import NormalDist

import h3
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.radio import BROADBAND_RADIOS, UNKNOWN_MNC, UNKNOWN_RADIO, operator_code
from domain.vocabulary import (
    ANY_SIGNAL,
    BEST_OF_ALL,
    BROADBAND,
    DECISIONS_WORST_FIRST,
    RADIO_SCOPES,
    SIGNAL_DECISIONS,
    UNKNOWN_OPERATOR,
)
from service.engine import new_sites, trust
from service.engine.statistics import h3_resolution_of
from service.settings import Settings
from service.store.dialect import cells_in, dialect_name, unindexed
from service.store.frames import bulk_frame, device_frame, raw_frame
from service.store.models import CellDevice, CellStat, CellStatus
from service.store.sqlexpr import ATTOWATT_DBM_OFFSET

# The words come from domain.vocabulary; these names are kept short for the engine.
STATUSES = DECISIONS_WORST_FIRST  # in order of service, worst first
_Z = 1.959963984540054  # two-sided 95% normal quantile
_SUMMED = [
    "readings", "measured", "manual", "no_service", "weight_covered", "weight_weak",
    "weight_dead", "power_sum_aw",
]  # fmt: skip


@dataclass(frozen=True)
class Rules:
    min_readings: int
    min_devices: int
    min_devices_dead: int
    min_days: int
    min_dead_confidence: float
    change_alpha: float
    dead_readings_per_device: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            settings.min_readings,
            settings.min_devices,
            settings.min_devices_dead,
            settings.min_days,
            settings.min_dead_confidence,
            settings.evidence_change_alpha,
            settings.dead_readings_per_device,
        )

    @functools.cached_property
    def change_z(self) -> np.ndarray:
        """Critical |z| of the change test by the number of months a key has (index):
        Bonferroni over its ``months - 1`` candidate splits, two-sided."""
        z = [np.inf, np.inf]  # 0 or 1 month: nothing to compare
        for months in range(2, 12 * 10 + 2):  # window_months is at most 120
            level = self.change_alpha / (2 * (months - 1))
            z.append(NormalDist().inv_cdf(1 - level) if self.change_alpha > 0 else np.inf)
        return np.array(z)


def wilson_lower(share: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Wilson score interval lower bound (95%) of a proportion ``share`` of ``n`` trials."""
    n = np.maximum(n.astype(float), 1e-9)
    z2 = _Z * _Z
    centre = share + z2 / (2 * n)
    margin = _Z * np.sqrt(np.maximum(share * (1 - share) / n + z2 / (4 * n * n), 0.0))
    return np.clip((centre - margin) / (1 + z2 / n), 0.0, 1.0)


def window_start(now: datetime, months: int) -> date:
    """First day of the oldest month inside a window of ``months`` ending with ``now``'s."""
    index = now.year * 12 + now.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def load_evidence(
    session: Session,
    *,
    resolution: int,
    since: date,
    cells: Collection[int] | None = None,
    mnc: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Statistics rows and device sets of one resolution from month ``since`` on (of just
    ``cells``, of just network code ``mnc``, when given). Devices have their hash and an
    integer ``device`` id.

    Rows are read without SQLAlchemy's per-value result processing (times and dates are
    parsed by pandas, column by column): at province scale that processing took longer
    than the decisions themselves. On PostgreSQL by COPY (``bulk_frame``).
    """
    s, d = CellStat, CellDevice
    stat_cols = [
        s.h3_cell, s.mcc, s.mnc, s.radio, s.bucket, *(getattr(s, c) for c in _SUMMED),
        s.dbm_min, s.dbm_max, s.days_mask, s.first_seen, s.last_seen,
    ]  # fmt: skip
    dialect = dialect_name(session)
    stat_query = select(*stat_cols).where(s.resolution == resolution, s.bucket >= since)
    device_query = select(d.h3_cell, d.mcc, d.mnc, d.radio, d.bucket, d.device_hash).where(
        h3_resolution_of(d.h3_cell) == resolution, d.bucket >= since
    )
    if cells is not None:
        stat_query = select(*stat_cols).where(
            unindexed(session, s.resolution) == resolution, s.bucket >= since,
            cells_in(s.h3_cell, cells, dialect=dialect),
        )  # fmt: skip
        device_query = device_query.where(cells_in(d.h3_cell, cells, dialect=dialect))
    if mnc is not None:
        stat_query, device_query = stat_query.where(s.mnc == mnc), device_query.where(d.mnc == mnc)
    stats = bulk_frame(session, stat_query, [c.key for c in stat_cols])
    devices = device_frame(
        session, device_query, ["h3_cell", "mcc", "mnc", "radio", "bucket", "device_hash"]
    )
    for column in ("first_seen", "last_seen"):
        stats[column] = pd.to_datetime(stats[column], utc=True, format="ISO8601")
    for frame in (stats, devices):
        frame["bucket"] = pd.to_datetime(frame["bucket"], format="ISO8601")
        frame["h3_cell"] = frame["h3_cell"].astype(np.int64)
    for column in ("dbm_min", "dbm_max"):
        stats[column] = stats[column].astype(float)
    devices["device"] = pd.factorize(devices["device_hash"])[0].astype(np.int64)
    return stats, devices


def _popcount(values: np.ndarray) -> np.ndarray:
    bits = (values.astype(np.int64)[:, None] >> np.arange(31)) & 1
    return bits.sum(axis=1)


def decide_level(
    stats: pd.DataFrame, devices: pd.DataFrame, key: list[str], rules: Rules
) -> pd.DataFrame:
    """One decision per ``key`` (e.g. cell+operator+radio, or cell+operator) from monthly
    statistics rows, merging rows that share a key and month (other radios)."""
    if stats.empty:
        return pd.DataFrame(columns=[*key, *_DECISION_COLUMNS])
    monthly_key = [*key, "bucket"]
    ordered = stats.sort_values(monthly_key, kind="stable").reset_index(drop=True)
    group = ordered.groupby(monthly_key, sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    if len(starts) == len(ordered):
        monthly = ordered  # one row per key and month already (the per-radio level)
        monthly = monthly.assign(days=_popcount(monthly["days_mask"].to_numpy()))
    else:
        # Merge the radios of an operator: sums, min, max and the OR of the day masks
        # (numpy's reduceat over the sorted rows; pandas has no bitwise-or aggregation).
        grouped = ordered.groupby(monthly_key, sort=False)
        monthly = grouped[_SUMMED].sum()
        monthly["dbm_min"] = grouped["dbm_min"].min()
        monthly["dbm_max"] = grouped["dbm_max"].max()
        monthly["first_seen"] = grouped["first_seen"].min()
        monthly["last_seen"] = grouped["last_seen"].max()
        masks = np.bitwise_or.reduceat(ordered["days_mask"].to_numpy(np.int64), starts)
        monthly = monthly.reset_index()
        monthly["days"] = _popcount(masks)
    monthly = monthly.sort_values([*key, "bucket"], ascending=[True] * len(key) + [False])
    monthly = monthly.reset_index(drop=True)

    # Distinct devices over the newest k months: a device counts from the newest month
    # it appears in, so the running sum of "devices new at this month" is exact.
    # And over the months older than the newest k: a device counts from the oldest month
    # it appears in, summed from the oldest end (the change test below).
    span = devices.groupby([*key, "device"], sort=False)["bucket"].agg(["max", "min"])
    for column, end in (("new_devices", "max"), ("old_devices", "min")):
        arrivals = span.groupby([*key, end], sort=False).size().rename(column).reset_index()
        arrivals = arrivals.rename(columns={end: "bucket"})
        monthly = monthly.merge(arrivals, on=monthly_key, how="left")
        monthly[column] = monthly[column].fillna(0).astype(np.int64)
    in_month = devices.groupby(monthly_key, sort=False)["device"].nunique()
    monthly = monthly.merge(
        in_month.rename("month_devices").reset_index(), on=monthly_key, how="left"
    )
    monthly["month_devices"] = monthly["month_devices"].fillna(0).astype(np.int64)

    grouped = monthly.groupby(key, sort=False)
    cum = grouped[[*_SUMMED, "days", "new_devices"]].cumsum()
    cum["dbm_min"] = grouped["dbm_min"].cummin()
    cum["dbm_max"] = grouped["dbm_max"].cummax()
    cum["first_seen"] = grouped["first_seen"].cummin()
    cum["last_seen"] = grouped["last_seen"].cummax()
    cum["bucket"] = monthly["bucket"]
    status, confidence, dead_share = _classify(cum, rules)
    cum["status"] = status
    cum["confidence"] = confidence
    cum["dead_share"] = dead_share

    # The months since the newest significant change in the evidence decide, all of them
    # (module doc): per key, the row summing them.
    since_change = _since_newest_change(monthly, key, rules)
    position = grouped.cumcount().to_numpy()
    kept = pd.Series(np.where(since_change, position, -1))
    chosen = position == kept.groupby(grouped.ngroup().to_numpy()).transform("max").to_numpy()
    result = pd.concat([monthly[key], cum], axis=1)[chosen]
    result = result.rename(columns={"new_devices": "devices", "bucket": "evidence_from"})
    result["evidence_from"] = result["evidence_from"].dt.date
    result["no_service_share"] = result["no_service"] / result["readings"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_aw = result["power_sum_aw"] / result["measured"].where(result["measured"] > 0)
        result["signal_dbm_mean"] = 10 * np.log10(mean_aw) - ATTOWATT_DBM_OFFSET
    result.loc[result["status"] == "unknown", "confidence"] = 0.0
    return result[[*key, *_DECISION_COLUMNS]].reset_index(drop=True)


def _since_newest_change(monthly: pd.DataFrame, key: list[str], rules: Rules) -> np.ndarray:
    """Which monthly rows (sorted by key, newest month first) lie at or after the newest
    significant change of their key's evidence (module doc)."""
    rows = len(monthly)
    if rules.change_alpha <= 0 or rows == 0:
        return np.ones(rows, dtype=bool)
    grouped = monthly.groupby(key, sort=False)
    group_id = grouped.ngroup().to_numpy()
    position = grouped.cumcount().to_numpy()
    months = grouped["bucket"].transform("size").to_numpy()
    # Each phone's month is one witness: its readings in that month count as at most
    # dead_readings_per_device (the month's weights scaled down evenly), and n is the
    # number of phone-months. One phone's many readings cannot make a change.
    readings = monthly["readings"].to_numpy(float)
    phones = monthly["month_devices"].to_numpy(float)
    scale = np.minimum(1.0, rules.dead_readings_per_device * phones / np.maximum(readings, 1))
    weight = monthly["weight_covered"] + monthly["weight_weak"] + monthly["weight_dead"]
    frame = pd.DataFrame({
        "dead": monthly["weight_dead"].to_numpy(float) * scale,
        "weight": weight.to_numpy(float) * scale,
        "phones": phones,
        "readings": readings,
        "days": monthly["days"].to_numpy(float),
        "devices": monthly["new_devices"].to_numpy(float),
    })  # fmt: skip
    # Phones of a month on each side (its phones times its share of that side): the most
    # in any one newer month is a floor of the distinct phones that show that side.
    month_dead = frame["dead"] / frame["weight"].where(frame["weight"] > 0)
    frame["dead_phones"] = (frame["phones"] * month_dead).fillna(0.0)
    frame["signal_phones"] = (frame["phones"] * (1 - month_dead)).fillna(0.0)
    witnesses = frame.groupby(group_id)[["dead_phones", "signal_phones"]].cummax()
    frame = frame.drop(columns=["dead_phones", "signal_phones"])
    newer = frame.groupby(group_id).cumsum()
    whole = newer.groupby(group_id).transform("last")
    older = whole - newer
    with np.errstate(divide="ignore", invalid="ignore"):
        share_new = newer["dead"] / newer["weight"]
        share_old = older["dead"] / older["weight"]
        n_new, n_old = newer["phones"], older["phones"]
        pooled = (share_new * n_new + share_old * n_old) / (n_new + n_old)
        spread = np.sqrt(pooled * (1 - pooled) * (1 / n_new + 1 / n_old))
        z = (np.abs(share_new - share_old) / spread).to_numpy()
    z = np.nan_to_num(z, nan=0.0, posinf=0.0)  # no spread: the same share on both sides
    # The newer months must hold a decision's evidence on their own (readings, days and
    # phones), the older some; and the side the evidence moved to (signal or no signal)
    # must be shown by min_devices phones in one month at least: one phone's blip is no
    # change.
    moved_to = np.where(
        (share_new < share_old).to_numpy(), witnesses["signal_phones"], witnesses["dead_phones"]
    )
    enough = (
        (newer["readings"].to_numpy() >= rules.min_readings)
        & (newer["days"].to_numpy() >= rules.min_days)
        & (newer["devices"].to_numpy() >= rules.min_devices)
        & (moved_to >= rules.min_devices)
        & (older["weight"].to_numpy() > 0)
        & (position < months - 1)
    )
    critical = rules.change_z[np.minimum(months, len(rules.change_z) - 1)]
    changed = enough & (z > critical)
    if not changed.any():
        return np.ones(rows, dtype=bool)
    # The split with the strongest evidence of a change (ties: the newest).
    best = pd.DataFrame({"g": group_id, "z": z, "p": position})[changed]
    best = best.sort_values(["g", "z", "p"], ascending=[True, False, True]).drop_duplicates("g")
    last_kept = np.full(group_id.max() + 1, np.iinfo(np.int64).max)
    last_kept[best["g"].to_numpy()] = best["p"].to_numpy()
    return position <= last_kept[group_id]


_DECISION_COLUMNS = [
    "status", "confidence", "readings", "devices", "days", "no_service_share", "dead_share",
    "signal_dbm_mean", "first_seen", "last_seen", "evidence_from",
]  # fmt: skip


def _classify(cum: pd.DataFrame, rules: Rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    weight = (cum["weight_covered"] + cum["weight_weak"] + cum["weight_dead"]).to_numpy(float)
    weight = np.maximum(weight, 1e-9)
    dead_share = cum["weight_dead"].to_numpy(float) / weight
    covered_share = cum["weight_covered"].to_numpy(float) / weight
    weak_share = cum["weight_weak"].to_numpy(float) / weight
    n = cum["readings"].to_numpy(float)
    devices = cum["new_devices"].to_numpy()
    candidate = np.where(
        dead_share > 0.5, "dead", np.where(covered_share >= 0.5, "covered", "weak")
    )
    share = np.where(
        candidate == "dead", dead_share, np.where(candidate == "covered", covered_share, weak_share)
    )
    # A dead call's n: at most dead_readings_per_device readings per device (module doc).
    n_dead = np.minimum(n, devices * rules.dead_readings_per_device)
    confidence = wilson_lower(share, np.where(candidate == "dead", n_dead, n))
    enough = (n >= rules.min_readings) & (cum["days"].to_numpy() >= rules.min_days)
    dead_ok = (
        enough & (devices >= rules.min_devices_dead) & (confidence >= rules.min_dead_confidence)
    )
    other_ok = enough & (devices >= rules.min_devices)
    status = np.where(
        candidate == "dead",
        np.where(dead_ok, "dead", "unknown"),
        np.where(other_ok, candidate, "unknown"),
    )
    return status, confidence, dead_share


def decide_resolution(
    session: Session, settings: Settings, *, resolution: int, now: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All decisions of one resolution: per operator and radio, per operator in each scope
    over radios (any signal, broadband) and best of all operators in each. Returns
    (decisions, device sets)."""
    per_cell, devices = decide_cells(session, settings, resolution=resolution, now=now)
    bests = [
        best_of_operators(
            per_cell[per_cell["radio"] == scope], guard_rings=settings.dead_guard_rings,
            radio=scope,
        )
        for scope in RADIO_SCOPES
    ]  # fmt: skip
    stored = without_unknown_operator(per_cell)
    return with_centres(pd.concat([stored, *bests], ignore_index=True), resolution), devices


def without_unknown_operator(decisions: pd.DataFrame) -> pd.DataFrame:
    """``decisions`` minus the unknown operator's: they feed the best of all operators and
    are never stored as a scope of their own (module doc)."""
    return decisions[decisions["operator"] != UNKNOWN_OPERATOR]


def decide_unknown_operator(
    session: Session,
    settings: Settings,
    *,
    resolution: int,
    now: datetime,
    cells: Collection[int],
    radio: str,
    untrusted: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The unknown operator's decisions of ``cells`` in one scope over radios, never
    stored: what the best of all reads beside the stored decisions of the known operators
    (module doc). Decided by ``decide_cells`` itself, so by the very same rules, on the
    unknown operator's evidence alone (its decisions read nothing else)."""
    decided, _ = decide_cells(
        session, settings, resolution=resolution, now=now, cells=cells, mnc=UNKNOWN_MNC,
        untrusted=untrusted,
    )  # fmt: skip
    return decided[(decided["operator"] == UNKNOWN_OPERATOR) & (decided["radio"] == radio)]


def decide_cells(
    session: Session,
    settings: Settings,
    *,
    resolution: int,
    now: datetime,
    cells: Collection[int] | None = None,
    mnc: int | None = None,
    untrusted: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decisions per operator and radio and per operator in each scope over radios (radio
    'any' and 'broadband') of one resolution, of every cell or of just ``cells``: each
    depends on its own cell's statistics only. Returns (decisions without the best of all,
    device sets with their operator). The decisions hold the unknown operator's (in each
    scope over radios, never per radio), for the best of all; drop them with
    ``without_unknown_operator`` before storing. With ``mnc``, only the evidence of that
    network code is read (each operator's decisions read its own evidence only).
    ``untrusted``: ``trust.load_untrusted``'s frame, when the caller read it already (it
    changes only when readings merge; a run deciding several resolutions reads it once)."""
    rules = Rules.from_settings(settings)
    since = window_start(now, settings.window_months)
    stats, devices = load_evidence(
        session, resolution=resolution, since=since, cells=cells, mnc=mnc
    )
    provisional = trust.load_provisional(
        session, resolution=resolution, base=settings.h3_resolution, since=since, cells=cells,
        mnc=mnc,
    )  # fmt: skip
    if untrusted is None:
        untrusted = trust.load_untrusted(session)
    # New tokens of one request are one source (service.engine.trust, rule 2).
    devices["device"] = trust.source_ids(devices["device_hash"], untrusted)
    for frame in (stats, devices, provisional):
        frame["operator"] = operator_codes(frame)

    stale = stale_near_new_sites(session, settings, stats, since=since, now=now)

    def decide(
        key: list[str], s: pd.DataFrame, d: pd.DataFrame, p: pd.DataFrame, *, scope: str
    ) -> pd.DataFrame:
        def once(s: pd.DataFrame, d: pd.DataFrame, p: pd.DataFrame) -> pd.DataFrame:
            decided = decide_level(s, d, key, rules)
            return trust.contest(
                decided, s, d, p, key=key, untrusted=untrusted,
                decide=functools.partial(decide_level, key=key, rules=rules),
                confirm_networks=settings.contest_confirm_networks,
            )  # fmt: skip

        return decided_again_since_sites(
            once(s, d, p), s, d, p, key=key, stale=new_sites.for_scope(stale, scope), decide=once
        )

    # A reading of radio 'unknown' (a manual or no-service report that does not know its
    # technology) is evidence about the operator, never about one radio: it counts for the
    # operator's decision (radio 'any') and the best of all, not for any radio's.
    # Readings of an unknown operator are decided over radios only (the pseudo-operator
    # UNKNOWN_OPERATOR, whose rows only the best of all reads).
    known = [
        f[(f["radio"] != UNKNOWN_RADIO) & (f["operator"] != UNKNOWN_OPERATOR)]
        for f in (stats, devices, provisional)
    ]
    per_radio = decide(["h3_cell", "operator", "radio"], *known, scope="radio")
    # Where an operator's evidence in a cell is of one broadband radio only (LTE or NR, no
    # reading of unknown radio), its decision over radios and its broadband decision read
    # the very rows its decision for that radio read: the same decision, not computed
    # three times. The other cells and operators are decided over their own evidence.
    single = _single_broadband_radio(stats, provisional)
    # Near a dated site the scopes may react to it apart (new_sites.for_scope: a 3G site
    # for the call over radios and not the LTE call, an NR site for broadband and not the
    # LTE call): there each scope is decided over its own evidence.
    if not stale.empty:
        single = single[~single.isin(_operator_keys(stale))]
    rest = [f[~_in_keys(f, single)] for f in (stats, devices, provisional)]
    same = per_radio[_in_keys(per_radio, single)]
    same = same.drop(columns="radio")
    per_operator = _joined(decide(["h3_cell", "operator"], *rest, scope=ANY_SIGNAL), same)
    per_operator["radio"] = ANY_SIGNAL
    broadband = decide(
        ["h3_cell", "operator"],
        *broadband_evidence(rest[0], rest[1]),
        broadband_provisional(rest[0], rest[2]),
        scope=BROADBAND,
    )
    broadband = _joined(broadband, same)
    broadband["radio"] = BROADBAND
    # An empty frame (no per-radio decision when every reading is of an unknown radio or
    # operator) has object columns, which would store NaN figures as NaN instead of NULL.
    parts = [f for f in (per_radio, per_operator, broadband) if not f.empty] or [per_operator]
    return pd.concat(parts, ignore_index=True), devices


def stale_near_new_sites(
    session: Session, settings: Settings, stats: pd.DataFrame, *, since: date, now: datetime
) -> pd.DataFrame:
    """(``h3_cell``, ``operator``, ``radio``, ``on_air``) of the cells of ``stats`` within
    reach of a site of that operator and radio dated inside the window
    (``service.engine.new_sites``; ``new_sites.for_scope`` picks a scope's rows)."""
    sites = new_sites.load_new_sites(session, settings, since=since, now=now)
    cells = stats["h3_cell"].unique().astype(np.int64) if sites else np.zeros(0, np.int64)
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).reshape(-1, 2)
    return new_sites.cells_in_reach(sites, cells, centres[:, 0], centres[:, 1])


def decided_again_since_sites(
    decided: pd.DataFrame,
    stats: pd.DataFrame,
    devices: pd.DataFrame,
    provisional: pd.DataFrame,
    *,
    key: list[str],
    stale: pd.DataFrame,
    decide: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """``decided`` with each dead call within reach of a new site of its operator that
    rests on months before the site's first whole month on air (``stale``) made again from
    the months since by ``decide`` (module doc), unless those months lean to no signal;
    unknown where no month since is left. ``stale`` has a ``radio`` column where ``key``
    has one: a per-radio call reacts to a site of its radio only."""
    if stale.empty or decided.empty:
        return decided
    on = [c for c in stale.columns if c != "on_air"]  # one row per value of ``on``
    joined = decided[on].merge(stale, on=on, how="left")
    on_air = joined["on_air"].to_numpy("datetime64[ns]")
    evidence_from = pd.to_datetime(decided["evidence_from"]).to_numpy("datetime64[ns]")
    redo = (decided["status"] == "dead").to_numpy() & (evidence_from < on_air)
    if not redo.any():
        return decided
    keys = decided.loc[redo, on].assign(_on_air=on_air[redo])
    keys = keys.drop_duplicates(on)

    def since(frame: pd.DataFrame) -> pd.DataFrame:
        joined = frame.merge(keys, on=on, how="inner")
        return joined[joined["bucket"] >= joined["_on_air"]].drop(columns="_on_air")

    again = decide(since(stats), since(devices), since(provisional))
    old = decided[redo]
    again = again.merge(old[key], on=key, how="inner")[decided.columns]
    # Readings since the site that lean to no signal, even too few for a call: someone
    # measured there since, and the change test saw no change. The dead call stands.
    confirmed = _keys_of(again[again["dead_share"] > 0.5], key)
    stands = _keys_of(old, key).isin(confirmed)
    again = again[~_keys_of(again, key).isin(confirmed)]
    left = old[~stands & ~_keys_of(old, key).isin(_keys_of(again, key))].copy()
    left["status"] = "unknown"
    left["confidence"] = 0.0
    parts = [f for f in (decided[~redo], old[stands], again, left) if not f.empty]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return pd.concat(parts, ignore_index=True)


def _keys_of(frame: pd.DataFrame, key: list[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[key])


def _operator_keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame["h3_cell"], frame["operator"]])


def _single_broadband_radio(*frames: pd.DataFrame) -> pd.MultiIndex:
    """The (cell, operator) keys whose rows in ``frames`` (statistics, provisional
    statistics) are all of one broadband radio, of a known operator.

    The device sets are not read: every device row shares its key (cell, network, radio,
    month) with a statistics row, since both are written from the same readings and
    removed together (``service.engine.statistics``; tests/test_incremental.py checks it
    after every batch). At resolution 7 they are twenty times the statistics' rows: 0.6 s
    of a batch at 3 million stored readings went on grouping them (docs/scale.md)."""
    rows = pd.concat([f[["h3_cell", "operator", "radio"]] for f in frames], ignore_index=True)
    if rows.empty:
        return _operator_keys(rows)
    radios = rows.groupby(["h3_cell", "operator"], sort=False)["radio"].agg(["nunique", "first"])
    broadband = [r.value for r in BROADBAND_RADIOS]
    keep = (radios["nunique"] == 1) & radios["first"].isin(broadband)
    keep &= radios.index.get_level_values("operator") != UNKNOWN_OPERATOR
    chosen = radios[keep.to_numpy()].index
    return pd.MultiIndex.from_arrays(
        [chosen.get_level_values("h3_cell"), chosen.get_level_values("operator")]
    )


def _joined(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Both frames' rows; an empty one (object columns) is left out, so that NaN figures
    stay floats and are stored as NULL."""
    parts = [f for f in (first, second) if not f.empty] or [first]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()


def _in_keys(frame: pd.DataFrame, keys: pd.MultiIndex) -> np.ndarray:
    """Which rows of ``frame`` have their (cell, operator) among ``keys``."""
    if frame.empty or not len(keys):
        return np.zeros(len(frame), dtype=bool)
    return _operator_keys(frame).isin(keys)


def broadband_evidence(
    stats: pd.DataFrame, devices: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The statistics and device sets as the broadband scope reads them (module doc): LTE
    and NR as they are; UMTS and GSM readings all dead, their signal left out; radio
    ``unknown`` only for the months where every such reading said no signal."""
    radio = stats["radio"]
    unknown = (radio == UNKNOWN_RADIO).to_numpy()
    signal = (stats["weight_covered"] + stats["weight_weak"]).to_numpy() > 0
    keep = ~(unknown & signal)
    fallen = (~radio.isin([r.value for r in BROADBAND_RADIOS]) & ~unknown).to_numpy()
    read = stats[keep].copy()
    fallen = fallen[keep]
    if fallen.any():
        total = read["weight_covered"] + read["weight_weak"] + read["weight_dead"]
        read.loc[fallen, "weight_dead"] = total[fallen]
        read.loc[fallen, ["weight_covered", "weight_weak", "measured", "power_sum_aw"]] = 0
        read.loc[fallen, ["dbm_min", "dbm_max"]] = np.nan
    dropped = stats.loc[unknown & signal, ["h3_cell", "operator", "bucket"]]
    if dropped.empty:
        return read, devices
    key = ["h3_cell", "operator", "radio", "bucket"]
    left_out = (
        devices[key]
        .merge(dropped.assign(radio=UNKNOWN_RADIO, _out=True), on=key, how="left")["_out"]
        .fillna(False)
        .to_numpy(bool)
    )
    return read, devices[~left_out]


def broadband_provisional(stats: pd.DataFrame, provisional: pd.DataFrame) -> pd.DataFrame:
    """The untrusted devices' statistics (``service.engine.trust``) read as
    ``broadband_evidence`` reads the statistics, so that they can be taken out of them."""
    unknown_signal = stats.loc[
        (stats["radio"] == UNKNOWN_RADIO) & ((stats["weight_covered"] + stats["weight_weak"]) > 0),
        ["h3_cell", "operator", "bucket"],
    ]
    key = ["h3_cell", "operator", "radio", "bucket"]
    dropped = (
        provisional[key]
        .merge(unknown_signal.assign(radio=UNKNOWN_RADIO, _out=True), on=key, how="left")["_out"]
        .fillna(False)
        .to_numpy(bool)
    )
    read = provisional[~dropped].copy()
    fallen = (~read["radio"].isin([r.value for r in BROADBAND_RADIOS])
              & (read["radio"] != UNKNOWN_RADIO)).to_numpy()  # fmt: skip
    if fallen.any():
        total = read["weight_covered"] + read["weight_weak"] + read["weight_dead"]
        read.loc[fallen, "weight_dead"] = total[fallen]
        read.loc[fallen, ["weight_covered", "weight_weak", "measured", "power_sum_aw"]] = 0
    return read


def with_centres(decisions: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """``decisions`` with their resolution and each cell's centre (WGS84 degrees)."""
    decisions = decisions.assign(resolution=resolution)
    cells = decisions["h3_cell"].unique()
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).reshape(-1, 2)
    index = pd.Index(cells)
    decisions["lat"] = centres[index.get_indexer(decisions["h3_cell"]), 0] if len(cells) else []
    decisions["lon"] = centres[index.get_indexer(decisions["h3_cell"]), 1] if len(cells) else []
    return decisions


def load_operator_decisions(
    session: Session, *, resolution: int, cells: Collection[int], radio: str = ANY_SIGNAL
) -> pd.DataFrame:
    """The stored per-operator decisions of one scope over radios (``radio``: 'any' or
    'broadband') of ``cells``, in the columns of ``decide_level``: the neighbourhood the
    best of all operators looks at."""
    c = CellStatus
    columns = ["h3_cell", "operator", *_DECISION_COLUMNS]
    u = functools.partial(unindexed, session)
    query = select(*(getattr(c, name) for name in columns)).where(
        u(c.resolution) == resolution,
        u(c.radio) == radio,
        u(c.operator) != BEST_OF_ALL,
        cells_in(c.h3_cell, cells, dialect=dialect_name(session)),
    )
    frame = raw_frame(session, query, columns)
    frame["h3_cell"] = frame["h3_cell"].astype(np.int64)
    for name in ("first_seen", "last_seen"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    for name in ("confidence", "no_service_share", "dead_share", "signal_dbm_mean"):
        frame[name] = frame[name].astype(float)
    return frame.assign(radio=radio)


def operator_codes(frame: pd.DataFrame) -> pd.Series:
    """'452-04' style codes of a frame's ``mcc`` and ``mnc`` (``UNKNOWN_OPERATOR`` for
    ``UNKNOWN_MNC``), computed once per distinct pair."""
    if frame.empty:
        return pd.Series([], dtype=object, index=frame.index)
    # mnc + 1 keeps UNKNOWN_MNC (-1) apart from every real MNC (0-999) in one integer.
    combined = frame["mcc"].astype(np.int64) * 1001 + frame["mnc"].astype(np.int64) + 1
    codes = {int(v): operator_code(int(v) // 1001, int(v) % 1001 - 1) for v in combined.unique()}
    return combined.map(codes)


def best_of_operators(
    per_operator: pd.DataFrame,
    *,
    guard_rings: int = 0,
    covered: pd.DataFrame | None = None,
    radio: str = ANY_SIGNAL,
) -> pd.DataFrame:
    """Per cell, the best decided status among operators (module doc), of the per-operator
    decisions of one scope over radios (``radio``: 'any' or 'broadband').

    A cell is not called dead for everyone while an operator with no decision in it has
    readings there that lean to signal (dead share at most one half), or, with
    ``guard_rings`` > 0, has signal (covered or weak) in a cell within that many rings:
    that operator probably serves it too, and nobody has measured it enough there. Such
    cells become unknown. ``covered`` (``h3_cell``, ``operator``): the per-operator
    decisions with signal around the cells, when ``per_operator`` holds only some cells
    (the incremental path); by default those of ``per_operator``.
    """
    if per_operator.empty:
        return per_operator.assign(operator=BEST_OF_ALL, radio=radio)
    rank = per_operator["status"].map({s: i for i, s in enumerate(STATUSES)})
    # Ties (same status and confidence) go to the lowest operator code, whatever the order
    # of the rows: the incremental path feeds rows in another order than the full one.
    ordered = per_operator.assign(_rank=rank).sort_values(
        ["h3_cell", "_rank", "confidence", "operator"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    best = ordered.drop_duplicates("h3_cell").drop(columns="_rank").reset_index(drop=True)
    undecided = per_operator["status"] == "unknown"
    leaning = per_operator.loc[undecided & (per_operator["dead_share"] <= 0.5), "h3_cell"]
    doubted = (best["status"] == "dead") & best["h3_cell"].isin(leaning)
    best.loc[doubted, "status"] = "unknown"
    best.loc[doubted, "confidence"] = 0.0
    if guard_rings > 0:
        if covered is None:
            covered = per_operator.loc[per_operator["status"].isin(SIGNAL_DECISIONS)]
        covered_by: dict[str, set[int]] = {
            str(op): set(cells.tolist())
            for op, cells in covered.groupby("operator")["h3_cell"]
            if op != UNKNOWN_OPERATOR  # never stored, so never a ring guard (module doc)
        }
        cells = best["h3_cell"].to_numpy(np.int64)
        dead = np.flatnonzero((best["status"] == "dead").to_numpy())
        # The operators decided in each dead cell: only those cells' rows are grouped (a
        # set per group is a Python call per group, and most cells are not dead).
        decided = per_operator[
            (per_operator["status"] != "unknown") & per_operator["h3_cell"].isin(cells[dead])
        ]
        decided_ops: dict[int, set[str]] = {}
        for cell, operator in zip(
            decided["h3_cell"].tolist(), decided["operator"].tolist(), strict=True
        ):
            decided_ops.setdefault(int(cell), set()).add(operator)
        for i in dead:
            cell = int(cells[i])
            mine = decided_ops.get(cell, set())
            nearby = {h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(cell), guard_rings)}
            if any(op not in mine and not nearby.isdisjoint(c) for op, c in covered_by.items()):
                best.at[i, "status"] = "unknown"
                best.at[i, "confidence"] = 0.0
    return best.assign(operator=BEST_OF_ALL, radio=radio)
