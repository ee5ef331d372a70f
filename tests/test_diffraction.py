"""Diffraction over terrain (ITU-R P.526-15) against cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.propagation import deygout_loss_db, knife_edge_loss_db

FLAT_EARTH = math.inf  # no bulge: the hand computations below ignore curvature


def test_knife_edge_loss_by_hand():
    # J(v) = 6.9 + 20 log10(sqrt((v - 0.1)^2 + 1) + v - 0.1)
    # v = 0: sqrt(1.01) - 0.1 = 0.90499 -> 6.9 - 0.867 = 6.03 dB (grazing: about 6 dB)
    # v = 1: sqrt(1.81) + 0.9 = 2.24536 -> 6.9 + 7.026 = 13.93 dB
    # v = -0.78 and below: 0 dB.
    assert knife_edge_loss_db(0.0) == pytest.approx(6.03, abs=0.01)
    assert knife_edge_loss_db(1.0) == pytest.approx(13.93, abs=0.01)
    assert knife_edge_loss_db(-1.0) == 0.0


def test_one_ridge_half_way_by_hand():
    # 10 km path, 900 MHz (lambda = 0.3331 m), both antennas 0 m over flat ground at 0 m,
    # a 50 m ridge at 5 km: v = 50 sqrt(2 x 10000 / (0.3331 x 5000 x 5000)) = 2.4503;
    # J = 6.9 + 20 log10(sqrt(2.3503^2 + 1) + 2.3503) = 20.71 dB.
    d = np.linspace(0.0, 10_000.0, 11)
    ground = np.zeros(11)
    ground[5] = 50.0
    loss = deygout_loss_db(d, ground, tx_height_m=0.0, rx_height_m=0.0, f_mhz=900.0,
                           earth_radius_m=FLAT_EARTH)  # fmt: skip
    assert float(loss[0]) == pytest.approx(20.71, abs=0.02)


def test_clear_path_loses_nothing_and_curvature_can_block():
    d = np.linspace(0.0, 20_000.0, 21)
    ground = np.zeros((1, 21))
    clear = deygout_loss_db(d, ground, tx_height_m=60.0, rx_height_m=60.0, f_mhz=1800.0,
                            earth_radius_m=FLAT_EARTH)  # fmt: skip
    assert float(clear[0]) == 0.0
    # With k = 4/3 the bulge at 10 km is 10000^2 / (2 x 8494.7 km) = 5.89 m: still clear
    # of a 60 m line, v = (5.89 - 60) x 0.0244... < -0.78 -> 0 dB; with 1.5 m antennas the
    # bulge rises above the line: v = (5.89 - 1.5) sqrt(2 x 20000 / (0.1666 x 1e8)) = 0.215,
    # J(0.215) = 6.9 + 20 log10(sqrt(0.115^2 + 1) + 0.115) = 7.90 dB (one sample between
    # the ends, so the bulge is a single edge, as computed by hand).
    assert float(deygout_loss_db(d, ground, tx_height_m=60.0, rx_height_m=60.0,
                                 f_mhz=1800.0)[0]) == 0.0  # fmt: skip
    low = deygout_loss_db(d[::10], ground[:, ::10], tx_height_m=1.5, rx_height_m=1.5,
                          f_mhz=1800.0)  # fmt: skip
    assert float(low[0]) == pytest.approx(7.90, abs=0.05)


def test_two_ridges_add_the_secondary_edge_by_hand():
    # 12 km, 900 MHz, antennas 0 m, ridges of 60 m at 4 km and 40 m at 8 km (flat earth).
    # Principal edge: v1 = 60 sqrt(2 x 12000 / (0.33310 x 4000 x 8000)) = 2.8471 (the 40 m
    # ridge: 40 sqrt(2 x 12000 / (0.3331 x 8000 x 4000)) = 1.8974, smaller).
    # Right sub-path from the 60 m top (at 4 km) to the receiver (12 km): the line is at
    # 60 x (1 - 4/8) = 30 m over the 8 km ridge, h = 10 m, d1 = d2 = 4000, span 8000:
    # v2 = 10 sqrt(2 x 8000 / (0.3331 x 4000 x 4000)) = 0.5479.
    # J(2.8471) = 6.9 + 20 log10(sqrt(2.7471^2 + 1) + 2.7471) = 21.97 dB
    # J(0.5479) = 6.9 + 20 log10(sqrt(0.4479^2 + 1) + 0.4479) = 10.67 dB; total 32.64 dB.
    d = np.linspace(0.0, 12_000.0, 13)
    ground = np.zeros(13)
    ground[4], ground[8] = 60.0, 40.0
    loss = deygout_loss_db(d, ground, tx_height_m=0.0, rx_height_m=0.0, f_mhz=900.0,
                           earth_radius_m=FLAT_EARTH)  # fmt: skip
    assert float(loss[0]) == pytest.approx(32.64, abs=0.02)
