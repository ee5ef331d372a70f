"""Estimated coverage between measurements: the signal field of each operator, with its
uncertainty, by local kriging (Gaussian-process regression) of the cell statistics.

Why kriging: geostatistics beat tuned path-loss models for spectrum maps and give a variance
with every estimate (Phillips, Ton, Sicker and Grunwald, "Practical radio environment mapping
with geostatistics", IEEE DySPAN 2012); learned field models reach about 6 dB RMSE for RSRP
(Geo2SigMap, Li et al. 2023) and need about 80 % fewer measurements for the same error
(Alimpertis, Markopoulou, Butts and Psounis, "City-wide signal strength maps: prediction
with random forests", WWW 2019). A Gaussian process is the same model as kriging: a field
with a covariance that decays with distance, observed with noise (the "nugget").

The method, per operator and scope over radios ('any' signal; 'broadband', LTE or NR, reads
the statistics as the broadband decision does: ``scope_evidence``), at the working resolution
(the best of all operators is derived below):

1. **One observation per cell** from the mergeable statistics of the evidence window: the
   operator's signal *margin* over its radio's 1-bar threshold (dB), so that LTE RSRP, UMTS
   RSCP and GSM RSSI share one scale and "dead" is always "margin below 0". Measured readings
   enter through their mean **power** (the attowatt sum, never an average of dBm), corrected
   for the fading that lifts a mean of ``n`` powers above the dB mean: with Gaussian fading
   of ``s`` dB (``sigma = s ln 10 / 10`` nepers) the mean of ``n`` lognormal powers is close
   to a lognormal of log-variance ``sigma_n² = ln(1 + (exp(sigma²) - 1) / n)`` (Fenton-
   Wilkinson, 1960), so the lift is ``(sigma² - sigma_n²) / 2`` nepers: none for one reading,
   ``s² ln 10 / 20`` dB for many. A mean of powers is not robust: one strong reading
   outweighs thousands of weak ones (a fix placed in the cell from nearer a mast), so the
   strongest reading is left out where Grubbs' test (1950) finds it an outlier against the
   others (``without_outlying_peak``). A no-service reading says "signal below the camping
   minimum" (``domain.radio.CAMPING_MIN_DBM``) and a resident's bars say "in this band": both
   are censored observations, combined with the measured mean in a small likelihood on a
   grid of margins (a Tobit model). The radio of the operator with the highest margin stands
   for the operator in that cell, since a phone falls back to any radio it can camp on; so a
   no-service reading bounds every radio the operator is measured on in the cell, whatever
   radio it was tagged with (the phone found none of them to camp on: ``no_service_bounds``).
   Each cell and operator reads the months its measured decision reads: where the decision
   found a change in the evidence (a new site), the months before it are left out
   (``since_change``). The reports of a phone that cannot use the operator's network
   anywhere (a 3G handset or an old SIM after the 2G switch-off) are left out
   (``service.engine.handsets``). Within reach of a site its operator dated inside the window
   (``service.engine.new_sites``), a cell without a measured call reads only the months since
   the site's first whole month on air, as the decision re-decides there; a call that stands
   (covered, weak, or dead where the readings since lean to no signal) reads what it read.
   **Censored and bounded cells in their neighbourhood** (``censored_sites``; setting
   ``estimate_neighbourhood_sites``, off by default: docs/demo-accuracy.md): a censored
   likelihood solved alone on a flat prior gives a Gaussian far below the camping minimum
   and so wide that kriging carries the cell up past the level its own phones found nothing
   over. Such a cell's Gaussian is instead found by expectation propagation (Minka, "Expectation
   propagation for approximate Bayesian inference", UAI 2001; Rasmussen and Williams,
   "Gaussian processes for machine learning", 2006, section 3.6): its cavity is its
   leave-one-out kriging prediction, and its site the Gaussian that gives the cavity times
   its likelihood on the grid, ``EP_SWEEPS`` times, then the covariance is fitted again.
   The same solves LTE or NR read where phones stay on it (above q-RxLevMin +
   threshServingLow) for an operator that also runs 3G: a phone stays on LTE whatever 3G
   offers, so the reading says "the best radio is at least this" (``lower_bounds``; in the
   demo LTE lay 2.4 dB under a stronger 3G at 5-15 dB over the bar, 6.1 dB above:
   docs/demo-accuracy.md).
2. **Noise per observation** (heteroscedastic nugget): reading noise shrinks with the number
   of readings, handset calibration with the number of distinct phones (settings
   ``estimate_reading_sd_db``, ``estimate_device_sd_db``).
3. **Covariance** fitted by maximum marginal likelihood (scikit-learn's
   ``GaussianProcessRegressor``) on a sample of the operator's cells: a Matérn 3/2 field plus
   a cell-scale white term (the variation inside and between neighbouring cells that the
   smooth field misses: it is part of the cell's truth, not noise, so it is predicted at an
   observed cell and uncertain at an unobserved one).
4. **Moving-neighbourhood ordinary kriging** (gstat's ``nmax``): each cell is predicted from
   its ``NEIGHBOURS`` nearest observed cells with a locally unknown mean, so the work grows
   linearly with the province and the mean follows each neighbourhood.
5. ``p_dead = P(margin < 0)``, ``p_covered = P(margin >= w)`` (w = LTE's 2-bar minus 1-bar,
   10 dB) from the Gaussian predictive distribution. In a cell without evidence of the
   operator, ``p_dead`` is **recalibrated out of sample**: the kriged field over-called
   such cells dead (demo, seed 1, 452-02: cells more than a ring from its evidence given
   0.4-0.5 were dead 4 % of the time, given 0.1-0.2 3 %), which cross-validation one cell
   at a time does not show, since a left-out cell keeps its observed neighbours. The observed
   cells are predicted again without any observation of their resolution-7 parent
   (spatial block cross-validation: Roberts et al., "Cross-validation strategies for data
   with temporal, spatial, hierarchical, or phylogenetic structure", Ecography 40, 2017),
   and Platt scaling (Platt, "Probabilistic outputs for support vector machines", 1999: a
   logistic regression on the logit of the held-out ``p_dead``) is fitted against each
   cell's own evidence of being dead (``P(margin < 0)`` from its observation alone, as
   weights of two rows). The cell's mean is then moved so that its Gaussian gives the
   recalibrated ``p_dead``, with its sd kept, so that ``estimate_dbm``, ``p_covered`` and
   the best of all (below) agree with it. Kuleshov, Fenner and Ermon ("Accurate
   uncertainties for deep learning using calibrated regression", ICML 2018) recalibrate a
   regression's predictive distribution on held-out data in the same way.
6. **Best of all operators**: dead only if every operator is. The operators' errors are not
   independent: they share the terrain that shadows a valley for all of them, so the product
   of their ``p_dead`` under-calls a cell dead for all (measured on the demo at seed 3: cells
   given 0.1-0.2 were dead 48 % of the time). Their standardised errors are joined by an
   equicorrelated Gaussian copula, ``Z_op = sqrt(rho) W + sqrt(1 - rho) E_op``, so
   ``P(all dead) = E_W[prod_op Phi((t_op - sqrt(rho) W) / sqrt(1 - rho))]`` with
   ``t_op = -mean_op / sd_op``, integrated over W by Gauss-Hermite quadrature (and likewise
   ``P(some operator covered)``). ``rho`` is measured, not tuned: the correlation of the
   operators' leave-one-out kriging residuals (standardised) in the cells that two of them
   observed (cross-validation residuals, Cressie 1993 section 2.6.4), clipped to
   [0, ``RHO_MAX``]. With rho = 0 it is the product; with rho near 1, the smallest p_dead.

A cell gets an ``inferred_status`` only when its measured status in the same scope over
radios is unknown (or it has no readings) and one status has probability at least
``estimate_level``; the measured status is never changed (``cell_status`` is only read
here). Estimates are published for cells within
``estimate_max_distance_m`` of the operator's evidence; beyond it the prediction is the
regional mean with the field's whole variance, and is used only inside the best-of-all
product.

``estimate_dbm`` is the margin expressed as LTE RSRP (margin + LTE's 1-bar threshold), the
main technology in Vietnam in 2026.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
from h3.api import basic_int as h3i
from h3.api import numpy_int as h3n
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

# scipy is imported by the functions that use it: every ``deadzone aggregate`` imports this
# module (the incremental path withdraws inferred statuses), and scipy's import alone cost
# 0.5 s of CPU, 3 s of wall time on the loaded machine, for a refresh that runs rarely.
from domain.radio import (
    BROADBAND_RADIOS,
    CAMPING_MIN_DBM,
    THRESH_SERVING_LOW_DB,
    UNKNOWN_MNC,
    UNKNOWN_RADIO,
    Radio,
    thresholds_radio,
)
from domain.vocabulary import ANY_SIGNAL, RADIO_SCOPES
from domain.vocabulary import BEST_OF_ALL as ANY
from service.engine.decisions import (
    broadband_evidence,
    load_evidence,
    operator_codes,
    stale_near_new_sites,
    window_start,
)
from service.engine.handsets import without_limited_phones
from service.engine.new_sites import for_scope
from service.engine.statistics import watermark
from service.settings import Settings
from service.store.bulk import copy_frame, copy_rows
from service.store.dialect import cells_in, dialect_name, is_postgres
from service.store.frames import bulk_frame
from service.store.models import CellEstimate, CellStatus
from service.store.sqlexpr import ATTOWATT_DBM_OFFSET

FloatArray = npt.NDArray[np.float64]

REFERENCE_RADIO = Radio.LTE  # estimate_dbm is expressed as LTE RSRP (module doc)
NEIGHBOURS = 16  # observed cells per kriging neighbourhood (gstat-style nmax)
FIT_SAMPLE = 200  # cells per operator for the covariance fit: O(n³) per likelihood step
MIN_FIT_CELLS = 12  # fewer observed cells: keep the prior covariance below
# Prior covariance when an operator has too few cells to fit one: a field of 12 dB sd
# (rural shadowing 8-12 dB, DESIGN.md) correlated over about a kilometre, and 4 dB between
# neighbouring cells.
PRIOR_SILL_DB2 = 144.0
PRIOR_RANGE_KM = 1.0
PRIOR_CELL_DB2 = 16.0
# Grid of margins (dB over the 1-bar threshold) on which censored cells are solved:
# -45 dB is below any phone's sensitivity, +60 dB the strongest signal next to a mast.
_GRID = np.arange(-45.0, 60.25, 0.5)
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON = 111.320
INFERRED = ("dead", "weak", "covered")
RHO_MAX = 0.95  # copula correlation ceiling: a larger one makes the quadrature a step
MIN_RHO_PAIRS = 30  # fewer co-observed (cell, operator pair)s: operators taken independent
_QUADRATURE = 48  # Gauss-Hermite nodes over the shared error W
# Recalibration of p_dead away from evidence (module doc, step 5): observed cells are held
# out by resolution-7 parent (about 5 km², 1.2 km edge), so that each is predicted from
# 0.3-2 km away, as the published cells without evidence lie within
# ``estimate_max_distance_m`` (1 km) of it; fewer observed cells than this: not refitted.
RECALIBRATION_BLOCK_RESOLUTION = 7
MIN_RECALIBRATION_CELLS = 100
_P_FLOOR = 1e-6  # probabilities kept off 0 and 1 (logits and normal quantiles finite)
# A cell's strongest reading is left out of its power mean when it lies further above the
# other readings than the largest of that many readings would at this level (Grubbs'
# test with the spread known, Bonferroni over the readings: Grubbs, "Sample criteria for
# testing outlying observations", Ann. Math. Statist. 21, 1950; module doc, step 1). The
# spread is a reading's, a handset's (settings ``estimate_reading_sd_db``,
# ``estimate_device_sd_db``) and the place's within the cell (``PRIOR_CELL_DB2``: readings
# are taken across the cell; without it the test took peaks 15-20 dB over the others in
# the demo's covered cells for outliers, 10-15 a seed). Seed 1 of the demo, 452-04, cell
# 8965b2db523ffff: one reading of -77 dBm with a 379 m fix among 60 of -115 dBm put the
# power mean at -95 dBm and p_dead at 5e-79 where the cell is dead (docs/demo-accuracy.md).
PEAK_OUTLIER_LEVEL = 0.01
MIN_PEAK_TEST_READINGS = 3  # the test compares the peak with at least two others
_KRIGE_CHUNK = 10_000  # targets solved at once: memory grows as targets x (k + 1)²


@dataclass(frozen=True)
class Covariance:
    """Matérn 3/2 covariance of the margin field (dB², km) plus a cell-scale term."""

    sill: float
    range_km: float
    cell: float

    def at(self, distance_km: FloatArray) -> FloatArray:
        """Covariance between cells ``distance_km`` apart (the cell term only at 0)."""
        r = math.sqrt(3.0) * distance_km / self.range_km
        smooth = self.sill * (1.0 + r) * np.exp(-r)
        return np.asarray(smooth + np.where(distance_km < 1e-9, self.cell, 0.0), dtype=float)

    @property
    def total(self) -> float:
        return self.sill + self.cell


def estimate_cells(session: Session, settings: Settings, *, now: datetime) -> int:
    """Recompute ``cell_estimates`` from the statistics of the evidence window in one
    transaction; return the rows written. ``service.jobs`` runs the two halves itself
    (``compute_estimates`` reading, ``replace_estimates`` writing) so that the minutes of
    kriging never hold the database's writer."""
    estimates = compute_estimates(session, settings, now=now)
    return replace_estimates(session, estimates, resolution=settings.h3_resolution)


_EVIDENCE_KEY = ["h3_cell", "mcc", "mnc", "radio", "bucket"]
"""The statistics' key (``cell_stats``' primary key at one resolution)."""


def compute_estimates(session: Session, settings: Settings, *, now: datetime) -> pd.DataFrame:
    """The estimated field of every scope, from the statistics of the evidence window.
    Reads ``cell_status`` (to leave decided cells without an inferred status) and writes
    nothing: run it in a read-only transaction."""
    resolution = settings.h3_resolution
    since = window_start(now, settings.window_months)
    merged = watermark(session)  # before the statistics (handsets.without_limited_phones)
    stats, devices = load_evidence(session, resolution=resolution, since=since)
    # The field is one operator's: readings of an unknown operator belong to none of them
    # (service/engine/decisions.py), and the best of all is derived from the operators' own.
    stats = stats[stats["mnc"] != UNKNOWN_MNC]
    devices = devices[devices["mnc"] != UNKNOWN_MNC]
    # A phone that cannot use the operator's network anywhere says nothing of the network
    # (service/engine/handsets.py).
    stats, devices = without_limited_phones(
        session, settings, stats, devices, since=since, up_to=merged
    )
    # In key order: the field must not depend on the order the database returns rows in
    # (SQLite and PostgreSQL differ, as does one database after a rebuild). The statistics'
    # sums run in row order, ties between radios go to the first, and the covariance is
    # fitted on a sample drawn by position; unsorted, the demo's field differed between the
    # two databases by up to 3.4 dB and 0.2 in p_dead. The devices are only counted per
    # cell and operator (``nunique``), which no order changes: left as they come (sorting
    # them by their hashes cost about 2.4 s of CPU a million rows).
    stats = stats.sort_values(_EVIDENCE_KEY, kind="stable", ignore_index=True)
    near = stale_near_new_sites(session, settings, stats, since=since, now=now)
    parts = []
    reach: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
    for scope in RADIO_SCOPES:
        measured = measured_statuses(session, resolution=resolution, radio=scope)
        scope_stats, scope_devices = scope_evidence(
            *since_change(stats, devices, since_new_sites(measured, for_scope(near, scope))),
            radio=scope,
        )
        observations = cell_observations(scope_stats, scope_devices, settings=settings)
        if observations.empty:
            continue
        # The cells within reach of the evidence (1.5 s a scope at 300,000 readings): both
        # scopes' observations usually stand in the same cells, and then share them.
        observed = np.unique(observations["h3_cell"].to_numpy(np.int64))
        if reach is None or not np.array_equal(reach[0], observed):
            reach = (observed, candidate_cells(observed, settings=settings))
        # Thousands of tiny (16 x 16) solves: BLAS threads only contend with each other and
        # with the server's workers (measured 6x slower with them on a loaded 2-core machine).
        with threadpool_limits(limits=1):
            found = estimate_field(
                observations, settings=settings, measured=measured, cells=reach[1]
            )
        parts.append(found.assign(radio=scope))
    if not parts:
        return pd.DataFrame(columns=list(_ESTIMATE_COLUMNS))
    return pd.concat(parts, ignore_index=True)


def scope_evidence(
    stats: pd.DataFrame, devices: pd.DataFrame, *, radio: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The statistics as the field of one scope over radios reads them. Any signal: as they
    are. Broadband: as the broadband decision reads them (``decisions.broadband_evidence``:
    LTE and NR as they are, radio unknown only where it says no signal), and a reading that
    fell back to UMTS or GSM is an LTE reading censored below LTE's camping minimum (the
    phone camps on the newest radio it can, so it found no usable LTE or NR there), which
    ``radio_margins`` solves like a no-service reading."""
    if radio == ANY_SIGNAL:
        return stats, devices
    read, devices = broadband_evidence(
        stats.assign(operator=_operators(stats)), devices.assign(operator=_operators(devices))
    )
    fallen = (
        ~read["radio"].isin([r.value for r in BROADBAND_RADIOS])
        & (read["radio"] != UNKNOWN_RADIO)
    ).to_numpy()  # fmt: skip
    if fallen.any():
        read = read.copy()
        read["radio"] = read["radio"].astype(object)
        read.loc[fallen, "radio"] = REFERENCE_RADIO.value
        read.loc[fallen, "no_service"] = read.loc[fallen, "readings"]
        read.loc[fallen, ["manual", "measured", "power_sum_aw"]] = 0
        read.loc[fallen, ["weight_covered", "weight_weak"]] = 0
    return read, devices


def replace_estimates(
    session: Session,
    estimates: pd.DataFrame,
    *,
    resolution: int,
    cells: Collection[int] | None = None,
) -> int:
    """Replace ``cell_estimates`` with ``estimates``; return the rows written. With
    ``cells``, only those cells' rows are replaced (whole cells; ``estimates`` holds theirs
    alone), the others kept: the field written in chunks (``service.jobs``)."""
    query = delete(CellEstimate)
    if cells is not None:
        query = query.where(cells_in(CellEstimate.h3_cell, cells, dialect=dialect_name(session)))
    session.execute(query.execution_options(synchronize_session=False))
    store_estimates(session, estimates, resolution=resolution)
    return len(estimates)


def withdraw_inferred(session: Session, *, resolution: int, cells: Collection[int]) -> int:
    """Clear the inferred status of ``cells`` in every scope where a status is now
    measured (not unknown): between two refreshes of the field (``estimate_interval_s``)
    the incremental path calls this for the cells it decided, so an estimate never stands
    beside a measurement. One statement; returns the rows cleared."""
    if not cells:
        return 0
    e, c = CellEstimate, CellStatus
    measured = (
        select(c.h3_cell)
        .where(
            c.h3_cell == e.h3_cell,
            c.operator == e.operator,
            c.radio == e.radio,
            c.resolution == resolution,
            c.status != "unknown",
        )  # fmt: skip
        .exists()
    )
    result = session.execute(
        update(e)
        .where(
            e.inferred_status.is_not(None),
            e.resolution == resolution,
            cells_in(e.h3_cell, cells, dialect=dialect_name(session)),
            measured,
        )  # fmt: skip
        .values(inferred_status=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def measured_statuses(
    session: Session, *, resolution: int, radio: str = ANY_SIGNAL
) -> pd.DataFrame:
    """The measured status of every decided cell and operator in one scope over radios,
    with the oldest month its decision read (``evidence_from``)."""
    c = CellStatus
    # Through the driver (PostgreSQL: COPY), not SQLAlchemy's rows: a refresh at 300,000
    # readings read about 500,000 decisions a scope: 3.8 s of SQLAlchemy rows and pandas
    # taking them apart, profiled (docs/scale.md, the field's refresh).
    frame = bulk_frame(
        session,
        select(c.h3_cell, c.operator, c.status, c.evidence_from).where(
            c.radio == radio, c.resolution == resolution
        ),
        ["h3_cell", "operator", "status", "evidence_from"],
    )
    # Dates (PostgreSQL) or ISO text (SQLite), to the unit SQLAlchemy's dates gave.
    months = pd.to_datetime(frame["evidence_from"], format="ISO8601")
    frame["evidence_from"] = months.astype("datetime64[s]")
    return frame.astype({"h3_cell": "int64"})


def since_change(
    stats: pd.DataFrame, devices: pd.DataFrame, measured: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The statistics and device sets of each cell and operator from the oldest month its
    measured decision read (``evidence_from``; module doc, step 1). Where the decision
    found that the network changed (``service.engine.decisions``: the evidence since the
    newest change decides), the field reads the same months, so that months of no service
    before a new site do not hold the cell down after it. A cell and operator without a
    decision row keeps every month."""
    start = measured[["h3_cell", "operator", "evidence_from"]]

    def kept(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty or start.empty:
            return frame
        keys = frame[["h3_cell"]].assign(operator=_operators(frame).to_numpy())
        begins = keys.merge(start, on=["h3_cell", "operator"], how="left")["evidence_from"]
        older = (frame["bucket"].to_numpy() < begins.to_numpy()) & begins.notna().to_numpy()
        return frame[~older]

    return kept(stats), kept(devices)


def since_new_sites(measured: pd.DataFrame, near: pd.DataFrame) -> pd.DataFrame:
    """``measured`` with the oldest month read moved to the site's first whole month on
    air (``near``: ``decisions.stale_near_new_sites``) for each cell and operator within
    reach of a new site of its operator that has no measured call (module doc, step 1):
    where the decision made a dead call again from the months since and none was left, or
    never had one. A call that stands keeps its months; a cell and operator within reach
    without a decision row gets one, unknown, from the site's month."""
    if near.empty:
        return measured
    joined = measured.merge(near, on=["h3_cell", "operator"], how="left")
    open_ = (joined["status"] == "unknown").to_numpy() & joined["on_air"].notna().to_numpy()
    starts = joined["evidence_from"].to_numpy("datetime64[ns]").copy()
    on_air = joined["on_air"].to_numpy("datetime64[ns]")
    starts[open_] = np.where(
        np.isnat(starts[open_]), on_air[open_], np.maximum(starts[open_], on_air[open_])
    )
    moved = measured.assign(evidence_from=starts)
    decided = pd.MultiIndex.from_frame(measured[["h3_cell", "operator"]])
    unseen = near[~pd.MultiIndex.from_frame(near[["h3_cell", "operator"]]).isin(decided)]
    if unseen.empty:
        return moved
    added = pd.DataFrame(
        {
            "h3_cell": unseen["h3_cell"].astype(np.int64).to_numpy(),
            "operator": unseen["operator"].to_numpy(),
            "status": "unknown",
            "evidence_from": unseen["on_air"].to_numpy("datetime64[ns]"),
        }
    )
    return pd.concat([moved, added], ignore_index=True)


def cell_observations(
    stats: pd.DataFrame, devices: pd.DataFrame, *, settings: Settings
) -> pd.DataFrame:
    """One observation of the margin field per (cell, operator): columns h3_cell, operator,
    radio, margin (dB), variance (dB², the observation's noise), readings, devices."""
    if stats.empty:
        return pd.DataFrame(
            columns=["h3_cell", "operator", "radio", "margin", "variance", "readings", "devices"]
        )
    stats = stats.assign(operator=_operators(stats))
    summed = [
        "readings", "measured", "manual", "no_service", "weight_dead", "weight_weak",
        "weight_covered", "power_sum_aw",
    ]  # fmt: skip
    grouped = stats.groupby(["h3_cell", "operator", "radio"], sort=False)
    per_radio = grouped[summed].sum()
    per_radio["dbm_max"] = grouped["dbm_max"].max() if "dbm_max" in stats else np.nan
    per_radio = per_radio.reset_index()
    per_radio["measured"], per_radio["power_sum_aw"] = without_outlying_peak(
        per_radio, settings=settings
    )
    per_radio["no_service"] = no_service_bounds(per_radio)
    inputs = likelihood_inputs(per_radio, settings=settings)
    margin, variance = radio_margins(per_radio, settings=settings, inputs=inputs)
    per_radio["margin"] = margin
    per_radio["variance"] = variance
    per_radio = pd.concat([per_radio, inputs], axis=1)
    plain = (inputs["n"].to_numpy(float) > 0) & (inputs["no_service_n"].to_numpy(float) == 0)
    per_radio["bounded"] = plain & lower_bounds(per_radio, settings=settings)
    per_radio["ep"] = ~plain | per_radio["bounded"].to_numpy(bool)
    per_radio = per_radio[np.isfinite(margin)]
    # The operator's best radio stands for it in the cell (module doc, step 1).
    best = per_radio.sort_values("margin", ascending=False, kind="stable").drop_duplicates(
        ["h3_cell", "operator"]
    )
    phones = (
        devices.assign(operator=_operators(devices))
        .groupby(["h3_cell", "operator"], sort=False)["device"]
        .nunique()
        .rename("devices")
        .reset_index()
    )
    best = best.merge(phones, on=["h3_cell", "operator"], how="left")
    best["devices"] = best["devices"].fillna(1).clip(lower=1).astype(np.int64)
    device_var = settings.estimate_device_sd_db**2 / best["devices"].to_numpy(float)
    best["variance"] = best["variance"].to_numpy(float) + device_var
    best["device_var"] = device_var
    columns = ["h3_cell", "operator", "radio", "margin", "variance", "readings", "devices"]
    extra = [*_LIKELIHOOD_INPUTS, "bounded", "ep", "device_var"]
    return best[columns + extra].reset_index(drop=True)


def lower_bounds(per_radio: pd.DataFrame, *, settings: Settings) -> npt.NDArray[np.bool_]:
    """Rows whose measured mean says "the operator's best radio is at least this" rather
    than "this": LTE or NR read above the level at which a phone stays on it (q-RxLevMin +
    threshServingLow, ``domain.radio.THRESH_SERVING_LOW_DB``), of an operator that also runs
    an older radio in the evidence. A phone camps on the newest radio above that level
    whatever 3G offers (3GPP TS 36.304 section 5.2.4.5), so where 3G is the stronger radio
    the LTE reading lies below the operator's best (docs/demo-accuracy.md: 2.4 dB at 5-15 dB
    over the bar, 6.1 dB above)."""
    radios = per_radio["radio"].astype(str).to_numpy()
    newer = np.isin(radios, [r.value for r in BROADBAND_RADIOS])
    older = np.isin(radios, [Radio.UMTS.value, Radio.GSM.value])
    operators = per_radio["operator"].to_numpy()
    with_older = np.isin(operators, np.unique(operators[older]))
    level = {  # margin over the 1-bar threshold at which a phone stays, per radio
        r.value: CAMPING_MIN_DBM[r] + THRESH_SERVING_LOW_DB[r] - settings.bars_for(r)[0]
        for r in BROADBAND_RADIOS
    }
    stay = pd.Series(radios).map(level).fillna(np.inf).to_numpy(float)
    x = per_radio["x"].to_numpy(float)
    return np.asarray(newer & with_older & (x >= stay), dtype=bool)


def without_outlying_peak(
    per_radio: pd.DataFrame, *, settings: Settings
) -> tuple[FloatArray, FloatArray]:
    """The measured readings and their power sum (aW) of each row of summed statistics,
    without the strongest reading (``dbm_max``) where Grubbs' test finds it an outlier
    (``PEAK_OUTLIER_LEVEL``; module doc, step 1).

    Only the peak is tested: a mean of powers is pulled by a strong reading, hardly by a
    weak one (-77 dBm is 4,000 readings of -113 dBm), and the statistics keep only the
    peak of a cell's readings, so the test needs no schema change. The other readings'
    dB mean is their power mean less the fading lift; the peak is an outlier where it
    lies more than ``z * s * sqrt(1 + 1/(n-1))`` dB above it, with ``s`` the spread of a
    reading, a handset and the place within the cell (6.2 dB with the default settings) and
    ``z`` the normal quantile of ``1 - level / n``."""
    from scipy.special import ndtri

    measured = per_radio["measured"].to_numpy(float)
    power = per_radio["power_sum_aw"].to_numpy(float)
    peak_dbm = per_radio["dbm_max"].to_numpy(float)
    rest = measured - 1.0
    testable = (measured >= MIN_PEAK_TEST_READINGS) & np.isfinite(peak_dbm)
    peak_aw = np.where(testable, 10.0 ** ((peak_dbm + ATTOWATT_DBM_OFFSET) / 10.0), 0.0)
    rest_aw = power - peak_aw
    testable &= rest_aw > 0
    reading_sd = settings.estimate_reading_sd_db
    spread = math.sqrt(reading_sd**2 + settings.estimate_device_sd_db**2 + PRIOR_CELL_DB2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_dbm = (
            10 * np.log10(rest_aw / rest) - ATTOWATT_DBM_OFFSET - fading_lift_db(rest, reading_sd)
        )
        bound = ndtri(1.0 - PEAK_OUTLIER_LEVEL / measured) * spread * np.sqrt(1.0 + 1.0 / rest)
    outlier = testable & (peak_dbm - rest_dbm > bound)
    return (
        np.asarray(np.where(outlier, rest, measured), dtype=float),
        np.asarray(np.where(outlier, rest_aw, power), dtype=float),
    )


def no_service_bounds(per_radio: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The no-service readings that bound each row of summed statistics (one cell, operator
    and radio): its own, and on a radio the operator is measured on in the cell, every
    no-service reading of the operator there (module doc, step 1). A phone with no service
    found no radio of its operator to camp on, whichever radio the report was tagged with
    (the newest it would use, or unknown for a resident's report), so the reading bounds
    each of them; bounding only the tagged radio let a 3G reading or two stand for the
    operator as its best radio beside thirty no-service readings (docs/demo-accuracy.md)."""
    own = per_radio["no_service"].to_numpy(float)
    total = (
        per_radio.groupby(["h3_cell", "operator"], sort=False)["no_service"]
        .transform("sum")
        .to_numpy(float)
    )
    measured_on = per_radio["measured"].to_numpy(float) > 0
    return np.asarray(np.where(measured_on, total, own), dtype=float)


def _operators(frame: pd.DataFrame) -> pd.Series:
    return operator_codes(frame)


_LIKELIHOOD_INPUTS = [
    "x", "n", "no_service_n", "manual_dead", "manual_weak", "manual_covered", "camp", "band",
]  # fmt: skip
"""What a row's likelihood over the margin grid is made of (``likelihood_inputs``)."""


def likelihood_inputs(per_radio: pd.DataFrame, *, settings: Settings) -> pd.DataFrame:
    """Per row of summed statistics (one cell, operator and radio): the plain mean margin
    of its measured readings (``x``, dB over the radio's 1-bar threshold, fading lift
    removed; 0 without), their count ``n``, the no-service readings that bound it, the
    residents' bars by class (manual reports count only where nothing was measured), and
    the radio's camping minimum and 2-bar band over its 1-bar threshold."""
    sd = settings.estimate_reading_sd_db
    # Each radio's thresholds looked up once and spread over its rows: a lookup per row
    # was 3 s of a refresh at 300,000 readings, profiled (docs/scale.md, the field's refresh).
    codes, radios = pd.factorize(per_radio["radio"].astype(str).to_numpy())
    radio_of = [thresholds_radio(r) for r in radios]
    one = np.array([settings.bars_for(r)[0] for r in radio_of], dtype=float)[codes]
    two = np.array([settings.bars_for(r)[1] for r in radio_of], dtype=float)[codes]
    camp = np.array([CAMPING_MIN_DBM[r] for r in radio_of], dtype=float)[codes] - one
    measured = per_radio["measured"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_dbm = (
            10 * np.log10(per_radio["power_sum_aw"].to_numpy(float) / measured)
            - ATTOWATT_DBM_OFFSET
        )
    no_service = per_radio["no_service"].to_numpy(float)
    manual = np.where(measured > 0, 0.0, per_radio["manual"].to_numpy(float))
    # A manual report weighs 1 and a no-service reading 1 or 2 (statistics.reading_weight):
    # the dead weight beyond the no-service readings' least weight is manual "0 bars".
    manual_dead = np.clip(per_radio["weight_dead"].to_numpy(float) - no_service, 0, manual)
    manual_weak = np.clip(per_radio["weight_weak"].to_numpy(float), 0, manual - manual_dead)
    return pd.DataFrame(
        {
            "x": np.where(measured > 0, mean_dbm - fading_lift_db(measured, sd) - one, 0.0),
            "n": measured,
            "no_service_n": no_service,
            "manual_dead": manual_dead,
            "manual_weak": manual_weak,
            "manual_covered": manual - manual_dead - manual_weak,
            "camp": camp,
            "band": two - one,
        },
        index=per_radio.index,
    )


def grid_loglik(
    inputs: pd.DataFrame, *, sd: float, bounded: npt.NDArray[np.bool_] | None = None
) -> FloatArray:
    """Log-likelihood of each row's evidence over the margin grid ``_GRID`` (rows x grid):
    the measured mean (Gaussian, or with ``bounded`` a lower bound on the margin, "at least
    x"), no-service readings (below the camping minimum) and residents' bars (in their
    band): a Tobit model (module doc, step 1)."""
    from scipy.special import log_ndtr, ndtr

    g = _GRID[None, :]
    n = inputs["n"].to_numpy(float)[:, None]
    x = inputs["x"].to_numpy(float)[:, None]
    band = inputs["band"].to_numpy(float)
    if bounded is None:
        bounded = np.zeros(len(inputs), dtype=bool)
    bound = np.asarray(bounded, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = -n * (x - g) ** 2 / (2 * sd * sd)
        if bound.any():
            nb = n[bound]
            ll[bound] = np.where(
                nb > 0, log_ndtr((g - x[bound]) * np.sqrt(np.maximum(nb, 1.0)) / sd), 0.0
            )
    # The censored terms depend on the row only through its radio's camping minimum and
    # band, a few values: each is evaluated once per value and spread over the rows (the
    # same numbers; a normal log-CDF per row and grid point was 4.7 s of a province's
    # refresh, profiled: docs/scale.md).
    camp = _per_value(inputs["camp"].to_numpy(float), lambda c: log_ndtr((c - g) / sd))
    ll = ll + inputs["no_service_n"].to_numpy(float)[:, None] * camp
    ll = ll + inputs["manual_dead"].to_numpy(float)[:, None] * log_ndtr(-g / sd)
    weak = _per_value(
        band, lambda b: np.log(np.maximum(ndtr((b - g) / sd) - ndtr(-g / sd), 1e-300))
    )
    ll = ll + inputs["manual_weak"].to_numpy(float)[:, None] * weak
    covered = _per_value(band, lambda b: log_ndtr((g - b) / sd))
    ll = ll + inputs["manual_covered"].to_numpy(float)[:, None] * covered
    return np.asarray(ll, dtype=float)


def _per_value(values: FloatArray, table: Callable[[FloatArray], Any]) -> FloatArray:
    """``table(v)`` (one row over the grid per value, ``v`` a column) for each of
    ``values``, evaluated once per distinct value (rows x grid)."""
    distinct, codes = np.unique(values, return_inverse=True)
    return np.asarray(table(distinct[:, None]), dtype=float)[codes.reshape(-1)]


def radio_margins(
    per_radio: pd.DataFrame, *, settings: Settings, inputs: pd.DataFrame | None = None
) -> tuple[FloatArray, FloatArray]:
    """Margin (dB over the radio's 1-bar threshold) and its variance for each row of summed
    statistics of one cell, operator and radio; NaN where the row says nothing about the
    signal.

    Measured readings give their mean power in dBm minus the fading lift; no-service readings
    and residents' bars are censored (module doc, step 1). Manual bars are used only where
    nothing was measured: their classes are not kept apart from measured ones in the
    statistics, and a measured dBm says more than a count of bars. ``inputs``: the rows'
    ``likelihood_inputs``, where the caller has them.
    """
    sd = settings.estimate_reading_sd_db
    if inputs is None:
        inputs = likelihood_inputs(per_radio, settings=settings)
    measured = inputs["n"].to_numpy(float)
    no_service = inputs["no_service_n"].to_numpy(float)
    manual = inputs[["manual_dead", "manual_weak", "manual_covered"]].to_numpy(float).sum(axis=1)
    margin = np.full(len(per_radio), np.nan)
    variance = np.full(len(per_radio), np.nan)
    plain = (measured > 0) & (no_service == 0)
    margin[plain] = inputs["x"].to_numpy(float)[plain]
    variance[plain] = sd * sd / measured[plain]
    censored = np.flatnonzero(~plain & ((measured + no_service + manual) > 0))
    for start in range(0, censored.size, 20_000):  # bounded memory: rows x grid
        rows = censored[start : start + 20_000]
        mean, var = grid_moments(grid_loglik(inputs.iloc[rows], sd=sd))
        margin[rows] = mean
        variance[rows] = var
    return margin, variance


def grid_moments(ll: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean and variance (at least a quarter of a dB², the grid's step) of each row's
    distribution over ``_GRID`` given by its log-density ``ll`` (rows x grid)."""
    weights = np.exp(ll - ll.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    mean = (weights * _GRID[None, :]).sum(axis=1)
    var = np.maximum((weights * (_GRID[None, :] - mean[:, None]) ** 2).sum(axis=1), 0.25)
    return mean, var


def fading_lift_db(n: FloatArray, sd_db: float) -> FloatArray:
    """How far the dB of the mean of ``n`` powers lies above their dB mean, on average, for
    Gaussian fading of ``sd_db`` dB (Fenton-Wilkinson, module doc step 1); 0 where n < 1."""
    sigma2 = (sd_db * math.log(10) / 10.0) ** 2
    count = np.maximum(np.asarray(n, dtype=float), 1.0)
    sigma2_n = np.log1p(math.expm1(sigma2) / count)
    return np.asarray((sigma2 - sigma2_n) / 2.0 * 10.0 / math.log(10), dtype=float)


def fit_covariance(xy: FloatArray, y: FloatArray, noise: FloatArray) -> Covariance:
    """Maximum-marginal-likelihood covariance of one operator's margins (scikit-learn),
    on a fixed sample of at most ``FIT_SAMPLE`` cells; the prior below ``MIN_FIT_CELLS``."""
    # Imported here: scikit-learn takes seconds to import, and every aggregation imports
    # this module (an incremental one only to withdraw inferred statuses).
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    if len(y) < MIN_FIT_CELLS:
        return Covariance(PRIOR_SILL_DB2, PRIOR_RANGE_KM, PRIOR_CELL_DB2)
    rng = np.random.default_rng(0)  # the same sample for the same evidence
    pick = rng.choice(len(y), size=min(FIT_SAMPLE, len(y)), replace=False)
    kernel = ConstantKernel(PRIOR_SILL_DB2, (1.0, 5000.0)) * Matern(
        PRIOR_RANGE_KM, (0.15, 30.0), nu=1.5
    ) + WhiteKernel(PRIOR_CELL_DB2, (0.05, 400.0))
    model = GaussianProcessRegressor(kernel, alpha=noise[pick], normalize_y=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(xy[pick], y[pick] - y[pick].mean())
    fitted = model.kernel_
    params = fitted.get_params()
    return Covariance(
        sill=float(params["k1__k1__constant_value"]),
        range_km=float(params["k1__k2__length_scale"]),
        cell=float(params["k2__noise_level"]),
    )


def krige(
    obs_xy: FloatArray,
    obs_y: FloatArray,
    obs_noise: FloatArray,
    target_xy: FloatArray,
    covariance: Covariance,
    *,
    neighbours: int = NEIGHBOURS,
    leave_out_self: bool = False,
    blocks: npt.NDArray[np.int64] | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ordinary kriging of each target from its nearest observations: (mean, sd, distance
    to the nearest observation in km). Coordinates in km, values in dB, noise in dB².
    ``leave_out_self``: the targets are the observations themselves, each predicted
    without its own (cross-validation). ``blocks`` (a block number per observation): the
    targets are the observations themselves, each predicted without any observation of
    its block (spatial block cross-validation)."""
    from scipy.spatial import cKDTree

    skip = 1 if leave_out_self else 0
    if blocks is not None:
        skip = int(np.unique(blocks, return_counts=True)[1].max())
    k = min(neighbours, len(obs_y) - skip)
    if k < 1:
        raise ValueError("too few observations outside the left-out block to krige from")
    tree = cKDTree(obs_xy)
    distance, index = tree.query(target_xy, k=k + skip)
    distance = np.asarray(distance, dtype=float).reshape(len(target_xy), k + skip)
    index = np.asarray(index).reshape(len(target_xy), k + skip)
    if blocks is None:
        distance, index = distance[:, skip:], index[:, skip:]
    else:
        # The nearest k outside the target's block: its own block sorts last, stably.
        inside = blocks[index] == blocks[:, None]
        order = np.argsort(inside, axis=1, kind="stable")[:, :k]
        distance = np.take_along_axis(distance, order, axis=1)
        index = np.take_along_axis(index, order, axis=1)
    mean = np.empty(len(target_xy))
    var = np.empty(len(target_xy))
    # The system of each target is symmetric: the covariance is evaluated once per
    # unordered pair of its observations (k(k-1)/2 of k² entries) and mirrored, and its
    # diagonal (distance 0) once for all. The same numbers, bit for bit, as evaluating
    # every entry: (a - b)² is (b - a)² in floating point.
    upper, lower = np.triu_indices(k, 1)
    size = k + 1
    above, below = upper * size + lower, lower * size + upper  # flat places in a system
    diagonal = np.arange(k) * (size + 1)
    at_zero = float(covariance.at(np.zeros(1))[0])
    obs_x, obs_y_km = np.ascontiguousarray(obs_xy[:, 0]), np.ascontiguousarray(obs_xy[:, 1])
    chunk = max(1, min(_KRIGE_CHUNK, len(target_xy)))  # no targets: empty answers
    buffer = np.zeros((chunk, size * size))  # bounded memory: targets x (k + 1)²
    buffer.reshape(chunk, size, size)[:, :k, k] = 1.0  # the constraint's row and column
    buffer.reshape(chunk, size, size)[:, k, :k] = 1.0
    rhs_buffer = np.ones((chunk, size))
    for start in range(0, len(target_xy), chunk):
        part = slice(start, start + chunk)
        idx = index[part]
        flat, rhs = buffer[: len(idx)], rhs_buffer[: len(idx)]
        px, py = obs_x[idx], obs_y_km[idx]
        dx, dy = px[:, upper] - px[:, lower], py[:, upper] - py[:, lower]
        pair = covariance.at(np.sqrt(dx**2 + dy**2))
        flat[:, above] = pair
        flat[:, below] = pair
        flat[:, diagonal] = at_zero + obs_noise[idx]
        rhs[:, :k] = covariance.at(distance[part])
        solution = np.linalg.solve(flat.reshape(-1, size, size), rhs[:, :, None])[:, :, 0]
        weights = solution[:, :k]
        mean[part] = (weights * obs_y[idx]).sum(axis=1)
        var[part] = covariance.total - (solution * rhs).sum(axis=1)
    return mean, np.sqrt(np.maximum(var, 1e-6)), distance[:, 0]


def estimate_field(
    observations: pd.DataFrame,
    *,
    settings: Settings,
    measured: pd.DataFrame,
    cells: npt.NDArray[np.int64] | None = None,
) -> pd.DataFrame:
    """Estimates for every operator and for the best of all, on the cells within reach of
    the evidence (``cells``: ``candidate_cells`` of the observed ones, computed when not
    given). Columns: h3_cell, operator, lat, lon, p_dead, p_covered, estimate_dbm,
    estimate_sd, inferred_status, evidence_distance_m."""
    from scipy.special import ndtr

    one_bar, two_bar = settings.bars_for(REFERENCE_RADIO)
    band = two_bar - one_bar
    # The observations (one per operator and cell, ``cell_observations``) sorted by
    # operator, then cell, whatever order they came in: the covariance's sample is drawn
    # by position (``fit_covariance``).
    observations = observations.sort_values(["operator", "h3_cell"], kind="stable",
                                            ignore_index=True)  # fmt: skip
    if cells is None:
        cells = candidate_cells(observations["h3_cell"].unique(), settings=settings)
    centres = cell_centres(cells)
    origin = centres.mean(axis=0)
    target_xy = _to_km(centres, origin)
    per_operator: dict[str, tuple[FloatArray, FloatArray, FloatArray]] = {}
    residuals: dict[str, pd.Series] = {}
    for operator, frame in observations.groupby("operator", sort=True):
        xy = _to_km(cell_centres(frame["h3_cell"].to_numpy(np.int64)), origin)
        y = frame["margin"].to_numpy(float)
        noise = frame["variance"].to_numpy(float)
        covariance = fit_covariance(xy, y, noise)
        if settings.estimate_neighbourhood_sites and "ep" in frame and frame["ep"].any():
            # Sites moved by their neighbours: the covariance is fitted again on them.
            y, noise = censored_sites(frame, xy, y, noise, covariance, settings=settings)
            covariance = fit_covariance(xy, y, noise)
        mean, sd, distance = krige(xy, y, noise, target_xy, covariance)
        away = distance > 1e-9  # cells without evidence of the operator (module doc, step 5)
        mean[away] = recalibrated_means(
            mean[away], sd[away], observed=frame, xy=xy, covariance=covariance
        )
        per_operator[str(operator)] = (mean, sd, distance)
        if len(y) > 2:
            loo_mean, loo_sd, _ = krige(xy, y, noise, xy, covariance, leave_out_self=True)
            z = (y - loo_mean) / np.sqrt(loo_sd**2 + noise)
            residuals[str(operator)] = pd.Series(z, index=frame["h3_cell"].to_numpy())
    rho = error_correlation(residuals)
    parts = []
    for operator, (mean, sd, distance) in per_operator.items():
        p_dead = ndtr(-mean / sd)
        p_covered = ndtr((mean - band) / sd)
        parts.append(_scope_frame(cells, centres, operator, mean, sd, distance, p_dead, p_covered))
    # Best of all operators (module doc, step 6): every operator's prediction, including
    # those beyond their evidence (the regional mean and variance), joined by the copula.
    means = np.stack([m for m, _, _ in per_operator.values()])
    sds = np.stack([s for _, s, _ in per_operator.values()])
    best = np.argmax(means, axis=0)
    columns = np.arange(len(cells))
    dead_all = all_below(-means / sds, rho=rho)
    covered_any = 1.0 - all_below((band - means) / sds, rho=rho)
    nearest = np.min(np.stack([d for _, _, d in per_operator.values()]), axis=0)
    parts.append(
        _scope_frame(
            cells, centres, ANY, means[best, columns], sds[best, columns], nearest, dead_all,
            covered_any,
        )
    )  # fmt: skip
    found = pd.concat(parts, ignore_index=True)
    found = found[found["evidence_distance_m"] <= settings.estimate_max_distance_m + 1e-6]
    found = found.assign(estimate_dbm=found["margin"] + one_bar).drop(columns="margin")
    found["inferred_status"] = infer_status(found, measured, level=settings.estimate_level)
    return found.reset_index(drop=True)


EP_SWEEPS = 2
_MIN_SITE_PRECISION = 1e-4  # 1 / dB²: a site this flat says nothing (100 dB sd)


def censored_sites(
    frame: pd.DataFrame,
    xy: FloatArray,
    y: FloatArray,
    noise: FloatArray,
    covariance: Covariance,
    *,
    settings: Settings,
    sweeps: int = EP_SWEEPS,
) -> tuple[FloatArray, FloatArray]:
    """Gaussian sites (observation, noise) of the censored and lower-bounded observations
    by expectation propagation (Minka 2001; Rasmussen and Williams 2006, section 3.6): each
    such cell's cavity is its leave-one-out kriging prediction from the others' current
    sites, the tilted distribution is the cavity times the cell's own likelihood on the
    margin grid, and the site is the Gaussian that turns the cavity into the tilted
    distribution's mean and variance. Plain observations keep their own (already Gaussian)."""
    rows = np.flatnonzero(frame["ep"].to_numpy(bool))
    if rows.size == 0 or len(y) < 3:
        return y, noise
    y, noise = y.copy(), noise.copy()
    ll = grid_loglik(
        frame.iloc[rows],
        sd=settings.estimate_reading_sd_db,
        bounded=frame["bounded"].to_numpy(bool)[rows],
    )
    device_var = frame["device_var"].to_numpy(float)[rows]
    for _ in range(sweeps):
        # Each site's own cell is its nearest observation (one per cell), left out.
        cav_mean, cav_sd, _d = krige(xy, y, noise, xy[rows], covariance, leave_out_self=True)
        # The cavity of what the cell's phones read: its truth plus their calibration.
        cav_var = cav_sd**2 + device_var
        tilted = ll - (_GRID[None, :] - cav_mean[:, None]) ** 2 / (2.0 * cav_var[:, None])
        t_mean, t_var = grid_moments(tilted)
        precision = 1.0 / t_var - 1.0 / cav_var
        flat = precision < _MIN_SITE_PRECISION
        site_var = np.where(
            flat, 1.0 / _MIN_SITE_PRECISION, 1.0 / np.maximum(precision, _MIN_SITE_PRECISION)
        )
        site_mean = np.where(flat, t_mean, site_var * (t_mean / t_var - cav_mean / cav_var))
        y[rows] = np.clip(site_mean, _GRID[0], _GRID[-1])
        noise[rows] = site_var + device_var
    return y, noise


def recalibrated_means(
    mean: FloatArray,
    sd: FloatArray,
    *,
    observed: pd.DataFrame,
    xy: FloatArray,
    covariance: Covariance,
) -> FloatArray:
    """Kriged means (dB) of cells without evidence of the operator, moved so that their
    ``p_dead`` is the one recalibrated on the operator's observed cells (module doc, step
    5); the sd is kept. Unchanged with fewer than ``MIN_RECALIBRATION_CELLS`` observed
    cells, in fewer than two blocks, or where the fit finds no increasing relation."""
    from scipy.special import ndtr, ndtri
    from sklearn.linear_model import LogisticRegression

    y = observed["margin"].to_numpy(float)
    noise = observed["variance"].to_numpy(float)
    parents = [
        h3i.cell_to_parent(cell, RECALIBRATION_BLOCK_RESOLUTION)
        for cell in observed["h3_cell"].to_numpy(np.int64).tolist()
    ]
    blocks = pd.factorize(pd.Series(parents))[0].astype(np.int64)
    sizes = np.bincount(blocks)
    if len(y) < MIN_RECALIBRATION_CELLS or len(sizes) < 2 or len(y) - sizes.max() < 1:
        return mean
    held_mean, held_sd, _ = krige(xy, y, noise, xy, covariance, blocks=blocks)
    held_out = _logit(ndtr(-held_mean / held_sd))
    # Soft labels: each cell's probability of being dead on its own evidence (its
    # observation's likelihood, flat prior), as two weighted rows of a logistic regression.
    own = ndtr(-y / np.sqrt(noise))
    model = LogisticRegression(C=1e6)  # Platt: no penalty, two parameters
    model.fit(
        np.concatenate([held_out, held_out])[:, None],
        np.r_[np.ones(len(y)), np.zeros(len(y))],
        sample_weight=np.r_[own, 1.0 - own],
    )
    if model.coef_[0, 0] <= 0:
        return mean
    p = model.predict_proba(_logit(ndtr(-mean / sd))[:, None])[:, 1]
    p = np.clip(p, _P_FLOOR, 1.0 - _P_FLOOR)
    return np.asarray(-sd * ndtri(p), dtype=float)


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, _P_FLOOR, 1.0 - _P_FLOOR)
    return np.asarray(np.log(q / (1.0 - q)), dtype=float)


def error_correlation(residuals: dict[str, pd.Series]) -> float:
    """Pooled correlation of the operators' standardised cross-validation residuals over
    the cells two operators both observed (module doc, step 6), in [0, ``RHO_MAX``]; 0
    with fewer than ``MIN_RHO_PAIRS`` co-observed pairs."""
    names = sorted(residuals)
    cross = square = 0.0
    pairs = 0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = residuals[a].index.intersection(residuals[b].index)
            if len(both) == 0:
                continue
            za = residuals[a].loc[both].to_numpy(float)
            zb = residuals[b].loc[both].to_numpy(float)
            cross += float((za * zb).sum())
            square += float(np.sqrt((za * za).sum() * (zb * zb).sum()))
            pairs += len(both)
    if pairs < MIN_RHO_PAIRS or square <= 0:
        return 0.0
    return float(np.clip(cross / square, 0.0, RHO_MAX))


def all_below(thresholds: FloatArray, *, rho: float) -> FloatArray:
    """P(Z_op < thresholds[op] for every op) per column, for standard normal Z_op with
    pairwise correlation ``rho`` (equicorrelated Gaussian copula, module doc step 6)."""
    from scipy.special import ndtr

    if rho <= 0.0:
        return np.asarray(np.prod(ndtr(thresholds), axis=0), dtype=float)
    nodes, weights = np.polynomial.hermite_e.hermegauss(_QUADRATURE)
    weights = weights / weights.sum()  # the normal density's weights
    shared, own = math.sqrt(rho), math.sqrt(1.0 - rho)
    out = np.zeros(thresholds.shape[1])
    for start in range(0, thresholds.shape[1], 20_000):  # bounded memory: nodes x ops x cells
        part = thresholds[:, start : start + 20_000]
        inner = ndtr((part[None, :, :] - shared * nodes[:, None, None]) / own)
        out[start : start + 20_000] = weights @ np.prod(inner, axis=1)
    return np.clip(out, 0.0, 1.0)


def _scope_frame(
    cells: npt.NDArray[np.int64],
    centres: FloatArray,
    operator: str,
    mean: FloatArray,
    sd: FloatArray,
    distance_km: FloatArray,
    p_dead: FloatArray,
    p_covered: FloatArray,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "h3_cell": cells,
            "operator": operator,
            "lat": centres[:, 0],
            "lon": centres[:, 1],
            "p_dead": p_dead,
            "p_covered": np.minimum(p_covered, 1.0 - p_dead),
            "margin": mean,
            "estimate_sd": sd,
            "evidence_distance_m": distance_km * 1000.0,
        }
    )


def infer_status(found: pd.DataFrame, measured: pd.DataFrame, *, level: float) -> pd.Series:
    """dead, weak or covered where that status has probability >= ``level`` and the cell has
    no measured decision in the scope; None elsewhere."""
    p_dead = found["p_dead"].to_numpy(float)
    p_covered = found["p_covered"].to_numpy(float)
    p_weak = 1.0 - p_dead - p_covered
    status = np.select(
        [p_dead >= level, p_weak >= level, p_covered >= level], list(INFERRED), default=""
    ).astype(object)
    decided = measured[measured["status"] != "unknown"]
    key = pd.MultiIndex.from_frame(found[["h3_cell", "operator"]])
    has_decision = key.isin(pd.MultiIndex.from_frame(decided[["h3_cell", "operator"]]))
    status[has_decision | (status == "")] = None
    return pd.Series(status, index=found.index, dtype=object)


def candidate_cells(
    observed: npt.NDArray[np.int64], *, settings: Settings
) -> npt.NDArray[np.int64]:
    """Cells within ``estimate_max_distance_m`` (in whole rings) of an observed cell."""
    spacing_m = h3.average_hexagon_edge_length(settings.h3_resolution, "m") * math.sqrt(3.0)
    rings = max(1, math.ceil(settings.estimate_max_distance_m / spacing_m))
    # h3's integer API: its string one built a string per neighbour, 12 s of a full run at
    # 100,000 readings under the profiler (docs/scale.md, where a full run's time goes);
    # its numpy face, so that the union is one sort instead of a set grown per cell.
    disks = [h3n.grid_disk(cell, rings) for cell in observed.tolist()]
    if not disks:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(disks).astype(np.int64))


def cell_centres(cells: npt.NDArray[np.int64]) -> FloatArray:
    """(lat, lon) of each cell's centre, degrees; by h3's integer API (no string per
    cell)."""
    return np.array([h3i.cell_to_latlng(cell) for cell in cells.tolist()], dtype=float).reshape(
        len(cells), 2
    )


def _to_km(latlng: FloatArray, origin: FloatArray) -> FloatArray:
    """Equirectangular projection around ``origin`` (lat, lon), km: within a province
    (a few hundred km) its distance error is well under a cell."""
    lat0 = math.radians(float(origin[0]))
    x = (latlng[:, 1] - origin[1]) * _KM_PER_DEG_LON * math.cos(lat0)
    y = (latlng[:, 0] - origin[0]) * _KM_PER_DEG_LAT
    return np.column_stack([x, y])


_ESTIMATE_COLUMNS = [
    "h3_cell", "operator", "radio", "resolution", "lat", "lon", "p_dead", "p_covered",
    "estimate_dbm", "estimate_sd", "inferred_status", "evidence_distance_m",
]  # fmt: skip


def store_estimates(session: Session, estimates: pd.DataFrame, *, resolution: int) -> None:
    """Append estimate rows (the caller cleared the table). On PostgreSQL by one COPY
    formatted column by column (``service.store.bulk.copy_frame``): a province's field is
    a million rows, and the driver's row by row COPY formatted every value in Python: the
    refresh after a full run at 300,000 readings took 29.6 s before, 24.9 s after
    (docs/scale.md, the black-box bar with the estimated field counted apart)."""
    if estimates.empty:
        return
    frame = estimates.assign(resolution=resolution)
    if is_postgres(session):
        frame = frame[_ESTIMATE_COLUMNS].astype({"h3_cell": np.int64, "resolution": np.int64})
        copy_frame(session.connection(), "cell_estimates", frame)
        return
    # Column by column: value by value (pd.isna on each) cost 14 s of a full run at 100,000
    # readings under the profiler (docs/scale.md, where a full run's time goes).
    values: list[list[Any]] = []
    for name in _ESTIMATE_COLUMNS:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            text = column.astype(object).where(column.notna(), None).tolist()
            values.append([None if v is None else str(v) for v in text])
        elif name in ("h3_cell", "resolution"):
            values.append(column.to_numpy().astype(np.int64).tolist())
        else:
            values.append(column.to_numpy(float).tolist())
    copy_rows(session.connection(), "cell_estimates", _ESTIMATE_COLUMNS, zip(*values, strict=True))
