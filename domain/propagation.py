"""Empirical path loss and the link budget from a transmitter's power to a phone's reading.

The formulas are the ones DESIGN.md "Planning helpers" names: Hata's fit of Okumura's
measurements (M. Hata, "Empirical formula for propagation loss in land mobile radio services",
IEEE Trans. Veh. Tech. 29(3), 1980) and its COST-231 extension to 1500-2000 MHz (COST Action
231 final report, "Digital mobile radio towards future generation systems", 1999, ch. 4.4).
All logarithms are base 10. Functions accept numpy arrays for ``d_km`` so that a whole grid of
distances is computed at once.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Validity of the models (Hata 1980; COST 231 ch. 4.4): carrier frequency, base-station
# antenna height, mobile antenna height, distance.
HATA_F_MHZ = (150.0, 1500.0)
COST231_F_MHZ = (1500.0, 2000.0)
HATA_HB_M = (30.0, 200.0)
HATA_HM_M = (1.0, 10.0)
HATA_D_KM = (1.0, 20.0)

# Frequencies above COST-231's 2000 MHz that we still accept, knowingly extrapolating:
# Vietnam's 2100 MHz (band 1) and 2600 MHz (band 7) bands sit above the fit's range, and the
# COST-231 formula is the usual planning stand-in there (3GPP TR 36.942 §4.5 applies the
# Hata family to its LTE macro scenarios; no better empirical model exists for rural macro
# cells at these frequencies without terrain data). Answers name the model "extrapolated".
COST231_EXTRAPOLATED_MAX_F_MHZ = 2700.0


def _check_range(name: str, value: float, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name}={value} is outside the model's range {low}..{high}")


def mobile_antenna_correction_db(f_mhz: float, hm_m: float) -> float:
    """Hata's mobile-antenna height correction a(hm) for a small or medium city, in dB.

    ``a(hm) = (1.1 log f - 0.7) hm - (1.56 log f - 0.8)`` with f in MHz and hm in metres;
    it is about 0 dB for the usual 1.5 m handset height. Hata's rural formula starts from the
    small/medium-city loss, so this is the correction it uses too.
    """
    log_f = math.log10(f_mhz)
    return (1.1 * log_f - 0.7) * hm_m - (1.56 * log_f - 0.8)


def open_area_correction_db(f_mhz: float) -> float:
    """Hata's open (rural) area correction, in dB (negative: rural land loses less).

    ``-4.78 (log f)^2 + 18.33 log f - 40.94``, f in MHz: about -28.5 dB at 900 MHz.
    """
    log_f = math.log10(f_mhz)
    return -4.78 * log_f**2 + 18.33 * log_f - 40.94


def _clamp_distance_km(d_km: FloatArray | float) -> FloatArray:
    # Below 1 km the formulas are not fitted (Okumura measured from 1 km) and log d turns
    # negative fast, so a phone under the mast would get an absurd gain; we hold the 1 km loss
    # instead, which still gives a strong signal there. Beyond 20 km we extrapolate the same
    # slope rather than clamp: clamping would hand every far-away place the 20 km level from
    # every site and erase the dead zones the simulation is about. Beyond 20 km the extrapolated
    # loss puts the signal near or below the no-service limit anyway.
    return np.maximum(np.asarray(d_km, dtype=np.float64), HATA_D_KM[0])


def okumura_hata_rural_db(
    f_mhz: float, hb_m: float, hm_m: float, d_km: FloatArray | float
) -> FloatArray:
    """Median path loss in open rural land by Okumura-Hata, in dB.

    ``L = 69.55 + 26.16 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d
    - 4.78 (log f)^2 + 18.33 log f - 40.94`` (DESIGN.md), with f the carrier in MHz
    (150-1500), hb the base-station antenna height in metres (30-200), hm the handset height in
    metres (1-10) and d the distance in km (fitted for 1-20). Out-of-range f, hb or hm raise
    ``ValueError``; d is clamped below at 1 km and extrapolated beyond 20 km (see
    ``_clamp_distance_km``).
    """
    _check_range("f_mhz", f_mhz, HATA_F_MHZ)
    _check_range("hb_m", hb_m, HATA_HB_M)
    _check_range("hm_m", hm_m, HATA_HM_M)
    intercept, slope = hata_terms_db(f_mhz, hb_m, hm_m)
    return intercept + slope * np.log10(_clamp_distance_km(d_km))


def cost231_hata_rural_db(
    f_mhz: float, hb_m: float, hm_m: float, d_km: FloatArray | float
) -> FloatArray:
    """Median path loss in open rural land by COST-231 Hata, in dB.

    ``L = 46.3 + 33.9 log f - 13.82 log hb - a(hm) + (44.9 - 6.55 log hb) log d + C``, with
    C = 0 dB (medium city and suburban; 3 dB is for metropolitan centres), plus Hata's open-area
    correction: COST 231 defines no rural variant, and applying Hata's rural term is the common
    planning practice, without which 1800 MHz would lose about 30 dB more than 900 MHz in the
    same field. f in MHz (1500-2000; up to 2700 accepted as an extrapolation for Vietnam's
    2100 and 2600 MHz bands), hb in metres (30-200), hm in metres (1-10), d in km (clamped
    below at 1 km, extrapolated beyond 20 km).
    """
    _check_range("f_mhz", f_mhz, (COST231_F_MHZ[0], COST231_EXTRAPOLATED_MAX_F_MHZ))
    _check_range("hb_m", hb_m, HATA_HB_M)
    _check_range("hm_m", hm_m, HATA_HM_M)
    intercept, slope = hata_terms_db(f_mhz, hb_m, hm_m)
    return intercept + slope * np.log10(_clamp_distance_km(d_km))


def hata_terms_db(f_mhz: float, hb_m: float, hm_m: float) -> tuple[float, float]:
    """The rural loss split as ``L(d) = intercept + slope * log10(d_km)``, both in dB.

    Picks Okumura-Hata below 1500 MHz and COST-231 Hata from 1500 MHz up. Splitting the
    formula lets a grid of millions of (place, site) pairs cost one multiply-add each.
    Does not check ranges; the public loss functions do.
    """
    log_f = math.log10(f_mhz)
    log_hb = math.log10(hb_m)
    # Hata's frequency terms below 1500 MHz, COST-231's from there up.
    hata = f_mhz < COST231_F_MHZ[0]
    base = 69.55 + 26.16 * log_f if hata else 46.3 + 33.9 * log_f
    intercept = (
        base
        - 13.82 * log_hb
        - mobile_antenna_correction_db(f_mhz, hm_m)
        + open_area_correction_db(f_mhz)
    )
    slope = 44.9 - 6.55 * log_hb
    return intercept, slope


def hata_radius_km(max_loss_db: float, f_mhz: float, hb_m: float, hm_m: float) -> float:
    """The distance, km, at which the rural median path loss (``hata_terms_db``) equals
    ``max_loss_db``: ``L(d) = A + B log10 d`` inverted, ``d = 10**((Lmax - A) / B)``. Below
    1 km the model is not fitted; the inversion is used there too. Does not check ranges."""
    intercept, slope = hata_terms_db(f_mhz, hb_m, hm_m)
    return float(10 ** ((max_loss_db - intercept) / slope))


# The reach of a new site whose export gives no range and whose operator has no calibrated
# planning model: the cell radius of ITU-R M.2412-0 (2017), table 5, test environment
# "Rural-eMBB", configuration LMLC (low mobility, large cell): inter-site distance 6,000 m
# in a hexagonal layout, so the farthest point a site serves lies ISD / sqrt(3) away.
NEW_SITE_REACH_M = 6000.0 / math.sqrt(3.0)  # 3,464 m


def rural_path_loss_db(
    f_mhz: float, hb_m: float, hm_m: float, d_km: FloatArray | float
) -> FloatArray:
    """Rural median path loss in dB by the model that fits ``f_mhz`` (see ``hata_terms_db``)."""
    if f_mhz < COST231_F_MHZ[0]:
        return okumura_hata_rural_db(f_mhz, hb_m, hm_m, d_km)
    return cost231_hata_rural_db(f_mhz, hb_m, hm_m, d_km)


def lte_rsrp_eirp_dbm(
    carrier_power_dbm: float, antenna_gain_dbi: float, bandwidth_mhz: float
) -> float:
    """EIRP of one LTE resource element, in dBm: what RSRP measures at the far end.

    RSRP is the power of one 15 kHz reference-signal resource element (3GPP TS 36.214 §5.1.1),
    so the carrier's total power is shared over its 12 x N_RB subcarriers: 100 resource blocks
    in 20 MHz, 50 in 10 MHz (3GPP TS 36.101 table 5.6-1). A 46 dBm, 20 MHz carrier behind a
    15 dBi antenna gives 46 - 30.8 + 15 = 30.2 dBm per resource element.
    """
    resource_blocks = {1.4: 6, 3.0: 15, 5.0: 25, 10.0: 50, 15.0: 75, 20.0: 100}[bandwidth_mhz]
    return carrier_power_dbm - 10.0 * math.log10(12 * resource_blocks) + antenna_gain_dbi


def rural_model_name(f_mhz: float) -> str:
    """The name of the model ``rural_path_loss_db`` uses at ``f_mhz``, saying when it
    extrapolates beyond the fitted frequencies."""
    if f_mhz < COST231_F_MHZ[0]:
        return "okumura-hata rural"
    if f_mhz <= COST231_F_MHZ[1]:
        return "cost-231 hata rural"
    return "cost-231 hata rural (extrapolated above 2000 MHz)"


# Diffraction over terrain, ITU-R P.526-15 ("Propagation by diffraction", 10/2019).
SPEED_OF_LIGHT_M_S = 299_792_458.0
EFFECTIVE_EARTH_RADIUS_M = 4.0 / 3.0 * 6_371_000.0  # k = 4/3, the median refractivity (P.452)
KNIFE_EDGE_MIN_V = -0.78  # below it the loss is taken as 0 dB (P.526-15 §4.1, eq. 31)


def knife_edge_loss_db(v: FloatArray | float) -> FloatArray:
    """Loss of a single knife edge, dB, from its Fresnel-Kirchhoff parameter ``v``:
    ``J(v) = 6.9 + 20 log10(sqrt((v - 0.1)² + 1) + v - 0.1)`` for v > -0.78, else 0
    (ITU-R P.526-15 eq. 31; about 6 dB at grazing incidence, v = 0)."""
    v = np.asarray(v, dtype=np.float64)
    loss = 6.9 + 20.0 * np.log10(np.sqrt((v - 0.1) ** 2 + 1.0) + v - 0.1)
    return np.where(v > KNIFE_EDGE_MIN_V, loss, 0.0)


def deygout_loss_db(
    distance_m: FloatArray, ground_m: FloatArray, *, tx_height_m: float, rx_height_m: float,
    f_mhz: float, earth_radius_m: float = EFFECTIVE_EARTH_RADIUS_M,
) -> FloatArray:  # fmt: skip
    """Diffraction loss over terrain profiles, dB, by the Deygout construction (ITU-R
    P.526-15 §4.5.1): the edge with the largest ``v`` over the direct path, then the
    largest edge of each of the two sub-paths it leaves (the method's three edges), each a
    knife edge (``knife_edge_loss_db``), their losses added.

    ``distance_m``: (samples,) distances from the transmitter, increasing, the first 0 and
    the last the receiver's; ``ground_m``: (paths, samples) ground heights above sea level,
    metres. Antenna heights are above the ground at each end. Earth curvature enters as the
    bulge ``d1 d2 / (2 a)`` with the effective radius ``a`` (k = 4/3). ``v = h sqrt(2 d /
    (λ d1 d2))``, h the edge's height above the line joining the two ends of its path."""
    d = np.asarray(distance_m, dtype=np.float64)
    ground = np.atleast_2d(np.asarray(ground_m, dtype=np.float64))
    wavelength = SPEED_OF_LIGHT_M_S / (f_mhz * 1e6)
    total = d[-1]
    bulge = d * (total - d) / (2.0 * earth_radius_m)
    surface = ground + bulge[None, :]
    ends = (surface[:, 0] + tx_height_m, surface[:, -1] + rx_height_m)

    def strongest(
        start: int | np.ndarray, stop: int | np.ndarray, h_start: np.ndarray, h_stop: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Largest v (and its sample) strictly between ``start`` and ``stop`` per path."""
        start = np.broadcast_to(np.asarray(start), (ground.shape[0],))
        stop = np.broadcast_to(np.asarray(stop), (ground.shape[0],))
        index = np.arange(d.size)[None, :]
        inside = (index > start[:, None]) & (index < stop[:, None])
        d1 = d[None, :] - d[start][:, None]
        d2 = d[stop][:, None] - d[None, :]
        span = (d[stop] - d[start])[:, None]
        line = h_start[:, None] + (h_stop - h_start)[:, None] * d1 / np.where(span > 0, span, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (surface - line) * np.sqrt(2.0 * span / (wavelength * d1 * d2))
        v = np.where(inside & (d1 > 0) & (d2 > 0), v, -np.inf)
        edge = np.argmax(v, axis=1)
        return v[np.arange(v.shape[0]), edge], edge

    rows = np.arange(ground.shape[0])
    last = d.size - 1
    v_main, main = strongest(0, last, ends[0], ends[1])
    top = surface[rows, main]
    v_left, _ = strongest(0, main, ends[0], top)
    v_right, _ = strongest(main, last, top, ends[1])
    loss = knife_edge_loss_db(v_main)
    # Secondary edges count only under a real principal edge (P.526-15 §4.5.1).
    shadowed = v_main > KNIFE_EDGE_MIN_V
    for v_side in (v_left, v_right):
        loss = loss + np.where(shadowed & np.isfinite(v_side), knife_edge_loss_db(
            np.where(np.isfinite(v_side), v_side, KNIFE_EDGE_MIN_V)), 0.0)  # fmt: skip
    return np.where(np.isfinite(v_main), loss, 0.0)


def nr_ss_rsrp_eirp_dbm(
    carrier_power_dbm: float, antenna_gain_dbi: float, resource_blocks: int
) -> float:
    """EIRP of one NR resource element of the synchronisation signal, in dBm: what SS-RSRP
    measures at the far end (3GPP TS 38.215 §5.1.1), assuming the SSB is sent at the
    carrier's power per resource element. ``resource_blocks``: 273 for 100 MHz at 30 kHz
    subcarrier spacing (3GPP TS 38.104 table 5.3.2-1). A 53 dBm carrier behind a 24 dBi
    beam gives 53 - 35.2 + 24 = 41.8 dBm per resource element.
    """
    return carrier_power_dbm - 10.0 * math.log10(12 * resource_blocks) + antenna_gain_dbi
