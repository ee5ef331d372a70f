"""The estimated signal field: measured statuses untouched, censored evidence read right,
neighbours informing a cell without enough readings (SQLite and PostGIS)."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scipy.special import ndtr
from sqlalchemy import select

from service.engine.estimate import (
    _GRID,
    MIN_RHO_PAIRS,
    RHO_MAX,
    Covariance,
    all_below,
    cell_observations,
    error_correlation,
    estimate_field,
    fading_lift_db,
    grid_loglik,
    infer_status,
    krige,
    no_service_bounds,
    radio_margins,
    recalibrated_means,
    since_new_sites,
    without_outlying_peak,
)
from service.settings import Settings
from service.store.models import CellEstimate, CellStatus
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

RING = [c for c in h3.grid_ring(CENTRE, 1)]


def estimate_of(
    sessions, cell: str, operator: str = "452-04", radio: str = "any"
) -> CellEstimate | None:
    with sessions() as session:
        return session.get(CellEstimate, (h3.str_to_int(cell), operator, radio))


def status_rows(sessions) -> list[tuple]:
    with sessions() as session:
        rows = session.execute(
            select(CellStatus).order_by(CellStatus.h3_cell, CellStatus.operator, CellStatus.radio)
        ).scalars()
        return [
            (r.h3_cell, r.operator, r.radio, r.status, r.confidence, r.readings, r.devices)
            for r in rows
        ]


def unknown_centre_estimate(sessions, settings, items: list[dict]) -> CellEstimate:
    """Ingest and decide ``items``: the centre's measured status for 452-04 stays unknown
    (too few phones), and its estimate."""
    ingest(sessions, settings, items)
    decide(sessions, settings)
    with sessions() as session:
        measured = session.get(CellStatus, (h3.str_to_int(CENTRE), "452-04", "any"))
    assert measured is not None and measured.status == "unknown"
    estimate = estimate_of(sessions, CENTRE)
    assert estimate is not None
    return estimate


def test_a_cell_between_dead_neighbours_is_estimated_dead_with_two_phones(settings, sessions):
    # Six neighbours each dead by measurement (four no-service readings of three phones);
    # the centre has no-service readings from two phones only: one short of a measured "dead".
    items = [
        reading_in(cell, device=f"{cell}-{d % 3}", no_service=True, days_ago=1 + d)
        for cell in RING
        for d in range(4)
    ]
    items += [reading_in(CENTRE, device=f"c{d}", no_service=True, days_ago=1 + d) for d in (0, 1)]
    estimate = unknown_centre_estimate(sessions, settings, items)
    assert estimate.inferred_status == "dead"
    assert estimate.p_dead >= settings.estimate_level
    assert estimate.estimate_dbm < -115
    # A measured dead neighbour keeps its measured status and gets no inferred one.
    neighbour = estimate_of(sessions, RING[0])
    assert neighbour is not None and neighbour.inferred_status is None


def test_phones_fallen_back_to_3g_make_a_cell_broadband_dead_and_signal_covered(settings, sessions):
    # Around the centre every phone camps on 3G with a good signal: the operator serves the
    # place, but with no usable LTE or NR (an idle phone takes the newest radio it can).
    # Four readings of three phones a cell: enough for a dead call (Wilson bound 0.51).
    items = [
        reading_in(cell, device=f"{cell}-{d % 3}", dbm=-75.0 - d, radio="umts", days_ago=1 + d)
        for cell in RING
        for d in range(4)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    signal = estimate_of(sessions, CENTRE, radio="any")
    broadband = estimate_of(sessions, CENTRE, radio="broadband")
    assert signal is not None and broadband is not None
    assert signal.inferred_status == "covered" and signal.p_dead < 0.01
    assert broadband.inferred_status == "dead" and broadband.p_dead >= settings.estimate_level
    assert estimate_of(sessions, CENTRE, operator="any", radio="broadband").inferred_status == (
        "dead"
    )
    # The ring is decided dead for broadband by measurement: no inferred status beside it.
    with sessions() as session:
        ring = session.get(CellStatus, (h3.str_to_int(RING[0]), "452-04", "broadband"))
    assert ring is not None and ring.status == "dead"
    assert estimate_of(sessions, RING[0], radio="broadband").inferred_status is None


def test_stray_3g_readings_do_not_stand_for_an_operator_without_service(settings, sessions):
    # One phone camped on 3G at -100 dBm twice (15 dB over 3G's one bar); four phones had
    # no service at all there, twelve times. The no-service readings bound the 3G the
    # operator is measured on, not only the LTE they were tagged with (which left the 3G
    # row, 15 dB over its one bar, to stand for the operator: p_dead under 0.001).
    items = [reading_in(CENTRE, device="g", dbm=-100.0, radio="umts", days_ago=d) for d in (1, 2)]
    items += [
        reading_in(CENTRE, device=f"n{d % 4}", no_service=True, days_ago=1 + d) for d in range(12)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    estimate = estimate_of(sessions, CENTRE)
    assert estimate is not None
    assert estimate.p_dead > 0.5
    assert estimate.estimate_dbm < -115


def test_the_field_reads_a_cell_since_the_change_its_decision_found(settings, sessions):
    # A year without service, then a site: four phones at -85 dBm in the newest months.
    # The decision reads the months since the change (covered); so does the field, which
    # the year of no-service readings would otherwise hold down.
    from tests.test_evidence_change import year_without_service

    recent = [
        reading_in(CENTRE, device=f"new{d}", dbm=-85, days_ago=3 + 9 * d + k)
        for d in range(4)
        for k in range(2)
    ]
    ingest(sessions, settings, year_without_service() + recent)
    decide(sessions, settings)
    with sessions() as session:
        cell = session.get(CellStatus, (h3.str_to_int(CENTRE), "452-04", "any"))
    assert cell is not None and cell.status == "covered" and cell.readings == 8
    estimate = estimate_of(sessions, CENTRE)
    assert estimate is not None
    assert estimate.p_dead < 0.01
    assert -95 < estimate.estimate_dbm < -75


def test_near_a_new_site_only_cells_without_a_call_read_from_its_month():
    # Cells 1-4 within reach of a 452-04 site on air from October; cell 5 beyond it. The
    # unknown call reads from October (an October start stays), the calls that stand (dead
    # where readings since leaned dead, covered) read what they read, and a cell without a
    # decision row reads from October too.
    old, october, november = (pd.Timestamp(d) for d in ("2026-03-01", "2026-10-01", "2026-11-01"))
    measured = pd.DataFrame(
        {
            "h3_cell": [1, 2, 3, 4, 5],
            "operator": "452-04",
            "status": ["unknown", "dead", "covered", "unknown", "unknown"],
            "evidence_from": [old, old, old, november, old],
        }
    )
    near = pd.DataFrame({"h3_cell": [1, 2, 3, 4, 6], "operator": "452-04", "on_air": october})
    starts = since_new_sites(measured, near).set_index("h3_cell")["evidence_from"]
    assert starts.to_dict() == {1: october, 2: old, 3: old, 4: november, 5: old, 6: october}


def test_strong_readings_around_make_an_unmeasured_cell_covered(settings, sessions):
    items = [
        reading_in(cell, device=f"{cell}-{d}", dbm=-80.0 - d, days_ago=1 + d)
        for cell in RING
        for d in range(3)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    estimate = estimate_of(sessions, CENTRE)
    assert estimate is not None
    assert estimate.inferred_status == "covered"
    assert estimate.p_dead < 0.01
    assert -95 < estimate.estimate_dbm < -70
    assert estimate.evidence_distance_m == pytest.approx(
        h3.great_circle_distance(h3.cell_to_latlng(CENTRE), h3.cell_to_latlng(RING[0]), "m"),
        rel=0.02,
    )


def test_estimates_never_change_measured_statuses(settings, sessions):
    from service.engine.aggregation import aggregate
    from service.engine.estimate import estimate_cells
    from service.store.database import session_scope
    from tests.coverage_helpers import NOW

    rng = np.random.default_rng(3)
    cells = list(h3.grid_disk(CENTRE, 2))
    items = []
    for i, cell in enumerate(cells):
        for d in range(int(rng.integers(1, 4))):
            if rng.random() < 0.4:
                items.append(reading_in(cell, device=f"p{i}-{d}", no_service=True, days_ago=1 + d))
            else:
                dbm = float(rng.integers(-125, -70))
                items.append(reading_in(cell, device=f"p{i}-{d}", dbm=dbm, days_ago=1 + d))
    ingest(sessions, settings, items)
    aggregate(sessions, settings, now=NOW)
    before = status_rows(sessions)
    with session_scope(sessions) as session:
        written = estimate_cells(session, settings, now=NOW)
    assert written > 0
    assert status_rows(sessions) == before
    decided = {(cell, op, radio) for cell, op, radio, status, *_ in before if status != "unknown"}
    with sessions() as session:
        inferred = session.execute(
            select(CellEstimate.h3_cell, CellEstimate.operator, CellEstimate.radio).where(
                CellEstimate.inferred_status.is_not(None)
            )
        ).all()
    assert {radio for _, _, radio in inferred} == {"any", "broadband"}
    assert not decided & {tuple(row) for row in inferred}


def test_one_strong_reading_with_a_poor_fix_does_not_make_a_no_service_cell_covered(
    settings, sessions
):
    # Two phones (one short of a measured dead call) read the cell at -117 to -121 dBm and
    # find no service in it; one of them places a reading of -77 dBm there with a 379 m fix
    # (demo seed 1, 452-04, cell 8965b2db523ffff). Its power alone outweighs the rest a
    # thousandfold: the power mean said -94 dBm and the cell was estimated covered.
    items = [
        reading_in(CENTRE, device=f"p{d % 2}", dbm=-117.0 - d % 5, days_ago=1 + d % 9)
        for d in range(24)
    ]
    items += [
        reading_in(CENTRE, device=f"p{d % 2}", no_service=True, days_ago=1 + d) for d in range(8)
    ]
    items.append(reading_in(CENTRE, device="p0", dbm=-77.0, accuracy_m=379.0, days_ago=2))
    estimate = unknown_centre_estimate(sessions, settings, items)
    assert estimate.inferred_status != "covered"
    assert estimate.p_dead > 0.5
    assert estimate.estimate_dbm < -115


def test_estimate_reaches_no_further_than_the_documented_distance(settings, sessions):
    ingest(sessions, settings, [reading_in(CENTRE, device=f"d{d}", dbm=-90) for d in range(3)])
    decide(sessions, settings)
    with sessions() as session:
        distances = session.scalars(select(CellEstimate.evidence_distance_m)).all()
    assert distances and max(distances) <= settings.estimate_max_distance_m


# --- the pure parts, without a database --------------------------------------------------

PURE = Settings(environment="development", aggregate_interval_s=0)  # type: ignore[call-arg]


def margins(**counts: float) -> tuple[float, float]:
    row = {
        "radio": "lte", "readings": 0, "measured": 0, "manual": 0, "no_service": 0,
        "weight_dead": 0, "weight_weak": 0, "weight_covered": 0, "power_sum_aw": 0,
    }  # fmt: skip
    row.update(counts)
    margin, variance = radio_margins(pd.DataFrame([row]), settings=PURE)
    return float(margin[0]), float(variance[0])


def attowatts(dbm: float) -> int:
    return round(10 ** ((dbm + 150.0) / 10))


def test_mean_power_not_mean_dbm_and_the_fading_lift_removed():
    # -80 and -100 dBm: mean power is -82.6 dBm (mean dBm would say -90); minus the lift a
    # mean of two powers gets from 4 dB fading (0.73 dB; 1.84 dB for many readings, none
    # for one), over LTE's 1-bar -115.
    margin, variance = margins(
        readings=2, measured=2, power_sum_aw=attowatts(-80) + attowatts(-100)
    )
    lift = 0.7313
    assert fading_lift_db(np.array([1.0, 2.0, 1e9]), 4.0) == pytest.approx(
        [0.0, lift, 4.0**2 * np.log(10) / 20], abs=1e-3
    )
    assert margin == pytest.approx(10 * np.log10((1e-8 + 1e-10) / 2) - lift + 115, abs=0.05)
    assert variance == pytest.approx(16.0 / 2)


def peak_tested(measured: float, others_dbm: float, peak_dbm: float) -> tuple[float, float]:
    rows = pd.DataFrame(
        {
            "measured": [measured],
            "power_sum_aw": [(measured - 1) * attowatts(others_dbm) + attowatts(peak_dbm)],
            "dbm_max": [peak_dbm],
        }
    )
    kept, power = without_outlying_peak(rows, settings=PURE)
    return float(kept[0]), float(power[0])


def test_an_outlying_strongest_reading_leaves_the_power_mean():
    # 60 readings of -115 dBm and one of -77: the peak is 36 dB over the others' dB mean,
    # far past Grubbs' bound (about 23 dB for 61 readings of a 6.2 dB spread at 0.01).
    assert peak_tested(61, -115.0, -77.0) == pytest.approx((60.0, 60.0 * attowatts(-115.0)))
    margin, _ = margins(readings=60, measured=60, power_sum_aw=60 * attowatts(-115.0))
    assert margin < 0
    # A peak within the spread of readings and handsets stays, and so does any peak of
    # two readings (nothing to test it against).
    assert peak_tested(20, -110.0, -100.0) == (20.0, 19 * attowatts(-110.0) + attowatts(-100.0))
    assert peak_tested(2, -115.0, -77.0)[0] == 2.0


def test_no_service_readings_are_below_the_camping_minimum():
    margin, variance = margins(readings=3, no_service=3, weight_dead=6)
    assert margin < -124 + 115  # below LTE's camping minimum, in margin over -115 dBm
    assert variance > 1.0


def test_a_resident_reporting_full_bars_is_evidence_of_coverage():
    margin, _ = margins(readings=2, manual=2, weight_covered=2)
    assert margin > 10  # above LTE's 2-bar threshold (-105 dBm)
    dead, _ = margins(readings=2, manual=2, weight_dead=2)
    assert dead < 0


def test_a_no_service_reading_bounds_every_radio_measured_in_its_cell():
    rows = pd.DataFrame(
        {
            "h3_cell": [1, 1, 1, 2],
            "operator": "452-04",
            "radio": ["umts", "lte", "nr", "umts"],
            "measured": [2, 0, 3, 2],
            "no_service": [0, 30, 1, 0],
        }
    )
    # umts and nr are measured in cell 1: every no-service reading there bounds them; the
    # lte row keeps its own; cell 2 has none.
    assert no_service_bounds(rows).tolist() == [31.0, 30.0, 31.0, 0.0]


def test_block_cross_validation_predicts_without_the_whole_block():
    cov = Covariance(sill=100.0, range_km=1.0, cell=4.0)
    xy = np.array([[0.0, 0.0], [0.1, 0.0], [0.2, 0.0], [2.0, 0.0], [2.1, 0.0], [4.0, 0.0]])
    y = np.array([-30.0, -30.0, -30.0, 10.0, 12.0, 20.0])
    noise = np.full(6, 1.0)
    blocks = np.array([0, 0, 0, 1, 1, 2])
    mean, _, distance = krige(xy, y, noise, xy, cov, blocks=blocks)
    # The first three are predicted from the other blocks only: as far as the nearest
    # observation outside their block, and far above their own block's -30 dB.
    alone, _, _ = krige(xy[3:], y[3:], noise[3:], xy[:3], cov)
    assert mean[:3] == pytest.approx(alone)
    assert distance[:3] == pytest.approx([2.0, 1.9, 1.8])
    assert (mean[:3] > 0).all()
    assert distance[5] == pytest.approx(1.9)


def field_cells(n_rings: int, margins: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    cells = list(h3.grid_disk(CENTRE, n_rings))[: len(margins)]
    centres = np.array([h3.cell_to_latlng(c) for c in cells])
    xy = np.column_stack(
        [(centres[:, 1] - centres[0, 1]) * 108.7, (centres[:, 0] - centres[0, 0]) * 110.6]
    )
    frame = pd.DataFrame(
        {"h3_cell": [h3.str_to_int(c) for c in cells], "margin": margins, "variance": 4.0}
    )
    return frame, xy


def test_p_dead_away_from_evidence_is_recalibrated_on_held_out_blocks():
    # Margins without any spatial order (half the cells dead), kriged with a covariance
    # that claims a smooth field: the held-out predictions say nothing, so Platt scaling
    # takes a confident estimate away from evidence to about the share of dead cells.
    rng = np.random.default_rng(0)
    margins = rng.choice([-12.0, 12.0], size=331) + rng.normal(0, 2, 331)
    frame, xy = field_cells(10, margins)
    smooth = Covariance(sill=400.0, range_km=20.0, cell=0.05)
    sd = np.full(3, 2.0)
    mean = np.array([-6.0, 0.0, 6.0])  # p_dead 0.999, 0.5, 0.001
    moved = recalibrated_means(mean, sd, observed=frame, xy=xy, covariance=smooth)
    p = ndtr(-moved / sd)
    assert p == pytest.approx([0.5, 0.5, 0.5], abs=0.1)
    assert p[0] >= p[1] >= p[2]  # the order is kept
    # Too few observed cells to fit on: unchanged.
    few, few_xy = field_cells(3, margins[:37])
    assert recalibrated_means(mean, sd, observed=few, xy=few_xy, covariance=smooth) == (
        pytest.approx(mean)
    )


def test_kriging_reproduces_an_exact_observation_and_grows_uncertain_away():
    cov = Covariance(sill=100.0, range_km=1.0, cell=4.0)
    xy = np.array([[0.0, 0.0], [3.0, 0.0]])
    mean, sd, distance = krige(
        xy, np.array([-10.0, 20.0]), np.array([1e-6, 1e-6]), np.array([[0.0, 0.0], [20.0, 20.0]]),
        cov,
    )  # fmt: skip
    assert mean[0] == pytest.approx(-10.0, abs=1e-3)
    assert sd[0] < 0.01
    # Far from both: the field's whole variance plus that of the mean estimated from two
    # nearly independent observations (ordinary kriging's unknown mean).
    assert sd[1] == pytest.approx(np.sqrt(104.0 + 104.0 / 2), rel=0.05)
    assert distance[1] > 20


def dense_ordinary_kriging(obs_xy, obs_y, obs_noise, target_xy, cov, neighbours):
    """Each target's ordinary kriging system built whole from every entry and solved alone:
    what ``krige`` computes in batches."""
    means, sds = [], []
    for point, near in zip(target_xy, neighbours, strict=True):
        pts = obs_xy[near]
        between = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=2)
        k = len(near)
        system = np.ones((k + 1, k + 1))
        system[:k, :k] = cov.at(between) + np.diag(obs_noise[near])
        system[k, k] = 0.0
        rhs = np.append(cov.at(np.linalg.norm(pts - point, axis=1)), 1.0)
        solution = np.linalg.solve(system, rhs)
        means.append(solution[:k] @ obs_y[near])
        sds.append(np.sqrt(cov.total - solution @ rhs))
    return np.array(means), np.array(sds)


@pytest.mark.parametrize("chunk", [7, 10_000])
def test_batched_kriging_equals_each_system_solved_whole(monkeypatch, chunk):
    # ``krige`` fills only half of each symmetric system and reuses one buffer across
    # chunks of targets (a last chunk shorter than the others with chunk 7).
    monkeypatch.setattr("service.engine.estimate._KRIGE_CHUNK", chunk)
    rng = np.random.default_rng(3)
    obs_xy = rng.uniform(0, 5, size=(40, 2))
    obs_y = rng.normal(0, 10, size=40)
    noise = rng.uniform(0.5, 9.0, size=40)
    target_xy = np.vstack([rng.uniform(-1, 6, size=(24, 2)), obs_xy[:5]])
    cov = Covariance(sill=90.0, range_km=1.3, cell=6.0)
    mean, sd, _ = krige(obs_xy, obs_y, noise, target_xy, cov, neighbours=9)
    nearest = np.argsort(np.linalg.norm(target_xy[:, None] - obs_xy[None], axis=2), axis=1)
    want_mean, want_sd = dense_ordinary_kriging(
        obs_xy, obs_y, noise, target_xy, cov, nearest[:, :9]
    )
    assert np.abs(mean - want_mean).max() <= 1e-9
    assert np.abs(sd - want_sd).max() <= 1e-9
    # Each observation without its own: its nearest nine others.
    loo_mean, loo_sd, _ = krige(obs_xy, obs_y, noise, obs_xy, cov, neighbours=9,
                                leave_out_self=True)  # fmt: skip
    own = np.argsort(np.linalg.norm(obs_xy[:, None] - obs_xy[None], axis=2), axis=1)
    want_mean, want_sd = dense_ordinary_kriging(obs_xy, obs_y, noise, obs_xy, cov, own[:, 1:10])
    assert np.abs(loo_mean - want_mean).max() <= 1e-9
    assert np.abs(loo_sd - want_sd).max() <= 1e-9


def test_the_likelihood_grid_is_each_rows_tobit_likelihood_written_out():
    # ``grid_loglik`` evaluates its censored terms once per camping minimum and band and
    # spreads them over the rows; each row must still get its own terms, bounded rows
    # (with and without readings) included.
    from scipy.special import log_ndtr

    rng = np.random.default_rng(5)
    rows = 60
    inputs = pd.DataFrame(
        {
            "x": rng.normal(5, 10, rows),
            "n": rng.choice([0.0, 1.0, 4.0], rows),
            "no_service_n": rng.choice([0.0, 2.0], rows),
            "manual_dead": rng.choice([0.0, 1.0], rows),
            "manual_weak": rng.choice([0.0, 1.0], rows),
            "manual_covered": rng.choice([0.0, 3.0], rows),
            "camp": rng.choice([-19.0, -10.0, -7.0], rows),
            "band": rng.choice([10.0, 15.0], rows),
        }
    )
    bounded = rng.random(rows) < 0.3
    sd = 4.0
    found = grid_loglik(inputs, sd=sd, bounded=bounded)
    g = _GRID
    for i, row in enumerate(inputs.itertuples()):
        if bounded[i]:
            own = log_ndtr((g - row.x) * np.sqrt(max(row.n, 1.0)) / sd) if row.n > 0 else 0 * g
        else:
            own = -row.n * (row.x - g) ** 2 / (2 * sd * sd)
        weak = ndtr((row.band - g) / sd) - ndtr(-g / sd)
        want = (
            own
            + row.no_service_n * log_ndtr((row.camp - g) / sd)
            + row.manual_dead * log_ndtr(-g / sd)
            + row.manual_weak * np.log(np.maximum(weak, 1e-300))
            + row.manual_covered * log_ndtr((g - row.band) / sd)
        )
        np.testing.assert_allclose(found[i], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8])
def test_best_of_all_joins_operators_by_a_correlated_copula(rho):
    from scipy.stats import multivariate_normal

    thresholds = np.array([[0.3, -1.0, 2.0], [0.5, 0.2, 1.5], [-0.2, 1.0, 1.0]])
    joint = np.full((3, 3), rho) + np.eye(3) * (1 - rho)
    exact = [multivariate_normal(np.zeros(3), joint).cdf(thresholds[:, j]) for j in range(3)]
    assert all_below(thresholds, rho=rho) == pytest.approx(exact, abs=1e-4)
    # Shared terrain makes "dead for all" likelier than the product says, never likelier
    # than the least likely operator.
    product = np.prod(ndtr(thresholds), axis=0)
    assert np.all(all_below(thresholds, rho=rho) >= product - 1e-9)
    assert np.all(all_below(thresholds, rho=rho) <= ndtr(thresholds).min(axis=0) + 1e-9)


def test_error_correlation_is_measured_on_cells_two_operators_observed():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=400)
    a = pd.Series(0.8 * shared + 0.6 * rng.normal(size=400), index=range(400))
    b = pd.Series(0.8 * shared + 0.6 * rng.normal(size=400), index=range(400))
    assert error_correlation({"452-01": a, "452-04": b}) == pytest.approx(0.64, abs=0.08)
    few = {"452-01": a.iloc[: MIN_RHO_PAIRS - 1], "452-04": b.iloc[: MIN_RHO_PAIRS - 1]}
    assert error_correlation(few) == 0.0  # too few pairs: independent
    assert error_correlation({"452-01": a, "452-04": a}) == RHO_MAX
    apart = {"452-01": a, "452-04": pd.Series(b.to_numpy(), index=range(1000, 1400))}
    assert error_correlation(apart) == 0.0  # never observed in the same cells


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    margins_db=st.lists(st.floats(-40, 50), min_size=1, max_size=12),
    statuses=st.lists(st.sampled_from(["dead", "weak", "covered", "unknown"]), min_size=12),
)
def test_inferred_status_is_none_wherever_a_status_was_measured(margins_db, statuses):
    cells = list(h3.grid_disk(CENTRE, 2))[: len(margins_db)]
    observations = pd.DataFrame(
        {
            "h3_cell": [h3.str_to_int(c) for c in cells],
            "operator": "452-04",
            "radio": "lte",
            "margin": margins_db,
            "variance": 4.0,
            "readings": 3,
            "devices": 2,
        }
    )
    measured = pd.DataFrame(
        {
            "h3_cell": [h3.str_to_int(c) for c in cells],
            "operator": "452-04",
            "status": statuses[: len(cells)],
        }
    )
    found = estimate_field(observations, settings=PURE, measured=measured)
    joined = found.merge(measured, on=["h3_cell", "operator"], how="left")
    decided = joined["status"].notna() & (joined["status"] != "unknown")
    assert joined.loc[decided, "inferred_status"].isna().all()
    assert ((found["p_dead"] >= 0) & (found["p_dead"] + found["p_covered"] <= 1 + 1e-9)).all()
    # infer_status agrees with its own rule on what it does infer
    again = infer_status(found, measured, level=PURE.estimate_level)
    assert again.equals(found["inferred_status"])


def test_the_field_does_not_depend_on_the_order_of_the_observations():
    """The covariance is fitted on a sample of ``FIT_SAMPLE`` cells drawn by position: in
    the order the database returned them, the demo's field differed between SQLite and
    PostgreSQL by up to 3.4 dB (137 inferred statuses). The same evidence, shuffled, must
    give the same field to the bit."""
    rng = np.random.default_rng(3)
    cells = [h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 10)]  # 331 cells, > FIT_SAMPLE
    observations = pd.concat(
        [
            pd.DataFrame(
                {
                    "h3_cell": cells,
                    "operator": operator,
                    "radio": "lte",
                    "margin": rng.normal(5.0, 12.0, len(cells)),
                    "variance": 4.0,
                    "readings": 3,
                    "devices": 2,
                }
            )  # fmt: skip
            for operator in ("452-01", "452-04")
        ],
        ignore_index=True,
    )
    measured = pd.DataFrame(columns=["h3_cell", "operator", "status"])
    in_order = estimate_field(observations, settings=PURE, measured=measured)
    shuffled = observations.sample(frac=1.0, random_state=11).reset_index(drop=True)
    again = estimate_field(shuffled, settings=PURE, measured=measured)
    key = ["h3_cell", "operator"]
    pd.testing.assert_frame_equal(
        in_order.sort_values(key, ignore_index=True),
        again.sort_values(key, ignore_index=True),
        check_exact=True,
    )


def stats_rows(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summed statistics (one row per cell, operator and radio) and a phone per reading of
    each row, as ``cell_observations`` reads them."""
    base = {
        "mcc": 452, "readings": 0, "measured": 0, "manual": 0, "no_service": 0,
        "weight_dead": 0, "weight_weak": 0, "weight_covered": 0, "power_sum_aw": 0,
        "dbm_max": np.nan,
    }  # fmt: skip
    stats = pd.DataFrame([{**base, **row} for row in rows])
    phones = stats["readings"].clip(lower=1).to_numpy(int)  # a phone per reading
    devices = stats.loc[stats.index.repeat(phones), ["h3_cell", "mcc", "mnc"]]
    devices = devices.assign(device=[i.to_bytes(4, "big") for i in range(len(devices))])
    return stats, devices


def lte_at(cell: str, dbm: float, *, mnc: int = 4, n: int = 6) -> dict:
    return {
        "h3_cell": h3.str_to_int(cell), "mnc": mnc, "radio": "lte", "readings": n,
        "measured": n, "power_sum_aw": n * attowatts(dbm), "dbm_max": dbm,
    }  # fmt: skip


def test_lte_read_where_phones_stay_on_it_bounds_the_best_radio_of_an_operator_with_3g():
    # A phone stays on LTE above -114 dBm (q-RxLevMin -124 + threshServingLow 10) whatever
    # 3G offers: there its LTE reading is "the operator's best is at least this".
    far = list(h3.grid_ring(CENTRE, 3))
    stats, devices = stats_rows(
        [
            lte_at(CENTRE, -100.0),  # 452-04 stays on LTE: a lower bound
            lte_at(RING[0], -118.0),  # below -114: a phone would have left for 3G if it could
            {**lte_at(far[0], -90.0), "radio": "umts"},  # 452-04 runs 3G
            lte_at(RING[1], -100.0, mnc=5),  # 452-05 runs no older radio: as read
        ]
    )
    observations = cell_observations(stats, devices, settings=PURE).set_index("h3_cell")
    bounded = observations["bounded"]
    assert bounded[h3.str_to_int(CENTRE)]
    assert not bounded[h3.str_to_int(RING[0])]
    assert not bounded[h3.str_to_int(far[0])]
    assert not bounded[h3.str_to_int(RING[1])]


def field_at_centre(rows: list[dict], *, ep: bool) -> tuple[float, float]:
    """Margin (dB) and p_dead estimated at the centre for 452-04 from ``rows``, with the
    censored and bounded sites by expectation propagation or as each cell reads alone."""
    stats, devices = stats_rows(rows)
    observations = cell_observations(stats, devices, settings=PURE)
    measured = pd.DataFrame(columns=["h3_cell", "operator", "status"])
    chosen = PURE.model_copy(update={"estimate_neighbourhood_sites": ep})
    found = estimate_field(observations, settings=chosen, measured=measured)
    row = found[(found["h3_cell"] == h3.str_to_int(CENTRE)) & (found["operator"] == "452-04")]
    return float(row["estimate_dbm"].iloc[0]), float(row["p_dead"].iloc[0])


def test_a_no_service_cell_is_solved_against_its_neighbours_not_a_flat_prior():
    # Five no-service readings from five phones say "below -124 dBm", not how far below.
    # Read alone, on a flat prior down to 45 dB under the bar, they become a Gaussian near
    # -142 dBm so wide that the neighbours' -115 to -121 dBm carry the cell to about -119,
    # above the camping minimum its own phones found nothing over. Solved against its
    # neighbours (expectation propagation's tilted distribution), it stays near that minimum.
    rows = [
        {"h3_cell": h3.str_to_int(CENTRE), "mnc": 4, "radio": "lte", "readings": 5,
         "no_service": 5, "weight_dead": 10},
        *[lte_at(cell, -118.0 + 3.0 * np.sin(i)) for i, cell in enumerate(RING)],
        *[lte_at(cell, -116.0 + 3.0 * np.cos(i)) for i, cell in enumerate(h3.grid_ring(CENTRE, 2))],
    ]  # fmt: skip
    alone, p_alone = field_at_centre(rows, ep=False)
    solved, p_dead = field_at_centre(rows, ep=True)
    assert alone > -121.0
    assert solved < alone - 3.0
    assert p_dead > p_alone > 0.99


def test_a_lower_bound_is_lifted_by_stronger_neighbours_and_held_by_weaker_ones():
    # The centre's LTE reads -110 dBm (5 dB over the bar) for an operator that runs 3G.
    centre = lte_at(CENTRE, -110.0)
    three_g = {**lte_at(list(h3.grid_ring(CENTRE, 4))[0], -80.0), "radio": "umts"}
    strong = [centre, three_g, *[{**lte_at(c, -95.0), "radio": "umts"} for c in RING]]
    lifted, _ = field_at_centre(strong, ep=True)
    read, _ = field_at_centre(strong, ep=False)
    weak = [centre, three_g, *[lte_at(c, -125.0) for c in RING]]
    held, _ = field_at_centre(weak, ep=True)
    pulled, _ = field_at_centre(weak, ep=False)
    # "At least -110" with 3G at -95 around: lifted (-97 here, against -110 as read); with
    # dead neighbours around, a bound gives way less than a reading does (-112 and -113).
    assert lifted > read + 10.0
    assert held > pulled + 1.0
