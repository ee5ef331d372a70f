"""The path-loss formulas against values worked out by hand from their terms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.propagation import (
    cost231_hata_rural_db,
    lte_rsrp_eirp_dbm,
    okumura_hata_rural_db,
    rural_path_loss_db,
)


def test_okumura_hata_rural_at_900_mhz_5_km_matches_hand_computation() -> None:
    f, hb, hm, d = 900.0, 30.0, 1.5, 5.0
    log_f, log_hb = math.log10(f), math.log10(hb)
    a_hm = (1.1 * log_f - 0.7) * hm - (1.56 * log_f - 0.8)  # 0.017 dB
    urban = 69.55 + 26.16 * log_f - 13.82 * log_hb - a_hm + (44.9 - 6.55 * log_hb) * math.log10(d)
    rural = urban - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    assert float(okumura_hata_rural_db(f, hb, hm, d)) == pytest.approx(rural, abs=1e-9)
    # The same number, written out: 151.02 dB urban, 122.51 dB rural.
    assert urban == pytest.approx(151.02, abs=0.01)
    assert rural == pytest.approx(122.51, abs=0.01)


def test_cost231_hata_rural_at_1800_mhz_matches_hand_computation() -> None:
    f, hb, hm, d = 1800.0, 30.0, 1.5, 5.0
    log_f, log_hb = math.log10(f), math.log10(hb)
    a_hm = (1.1 * log_f - 0.7) * hm - (1.56 * log_f - 0.8)
    medium_city = (
        46.3 + 33.9 * log_f - 13.82 * log_hb - a_hm + (44.9 - 6.55 * log_hb) * math.log10(d)
    )
    rural = medium_city - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    assert float(cost231_hata_rural_db(f, hb, hm, d)) == pytest.approx(rural, abs=1e-9)
    assert rural == pytest.approx(128.9, abs=0.1)
    assert float(rural_path_loss_db(f, hb, hm, d)) == pytest.approx(rural, abs=1e-9)


def test_loss_grows_with_distance_by_the_slope_per_decade() -> None:
    d = np.array([2.0, 20.0])
    loss = okumura_hata_rural_db(900.0, 40.0, 1.5, d)
    assert loss[1] - loss[0] == pytest.approx(44.9 - 6.55 * math.log10(40.0))


def test_distance_under_1_km_holds_the_1_km_loss() -> None:
    near = okumura_hata_rural_db(900.0, 30.0, 1.5, np.array([0.01, 0.5, 1.0]))
    assert np.all(near == near[2])


def test_parameters_outside_the_model_are_refused() -> None:
    with pytest.raises(ValueError, match="f_mhz"):
        okumura_hata_rural_db(1800.0, 30.0, 1.5, 5.0)
    with pytest.raises(ValueError, match="hb_m"):
        okumura_hata_rural_db(900.0, 10.0, 1.5, 5.0)
    with pytest.raises(ValueError, match="f_mhz"):
        cost231_hata_rural_db(2800.0, 30.0, 1.5, 5.0)


def test_vietnams_2100_and_2600_mhz_bands_are_an_extrapolation_of_cost231() -> None:
    """Band 1 and band 7 sit above COST-231's 1500-2000 MHz fit; planning accepts them as an
    extrapolation (domain.propagation), and the loss keeps rising with frequency."""
    losses = [cost231_hata_rural_db(f, 30.0, 1.5, 5.0) for f in (1800.0, 2100.0, 2600.0)]
    assert losses[0] < losses[1] < losses[2]


def test_2100_mhz_is_accepted_as_a_cost231_extrapolation() -> None:
    assert float(cost231_hata_rural_db(2100.0, 30.0, 1.5, 5.0)) > float(
        cost231_hata_rural_db(1800.0, 30.0, 1.5, 5.0)
    )


def test_rsrp_eirp_of_a_20_mhz_carrier_is_per_resource_element() -> None:
    # 46 dBm over 1200 subcarriers is 46 - 30.79 dBm each, plus 15 dBi.
    assert lte_rsrp_eirp_dbm(46.0, 15.0, 20.0) == pytest.approx(46 - 10 * math.log10(1200) + 15)
