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
