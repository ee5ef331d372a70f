"""The ground truth's rules: which true signal counts as covered, weak, dead or no service.

Classes follow deadzone's defaults (DESIGN.md, ``domain.radio.DEFAULT_BARS``): covered at
or above the 2-bar threshold, weak from 1 bar up to 2, dead below 1 bar. Below the no-service
limit the phone cannot camp on the network at all and reports ``no_service: true``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from domain.radio import DEFAULT_BARS, Radio

FloatArray = npt.NDArray[np.float64]

CLASSES: tuple[str, ...] = ("dead", "weak", "covered")  # in rank order, worst first

# Weakest signal on which a phone still camps, dBm, per radio. These are the cell-selection
# minimums operators typically broadcast (3GPP TS 36.304 / 25.304 / 45.008 S-criterion):
# LTE q-RxLevMin -124 dBm in SIB1 (-62 x 2 dB), UMTS q-RxLevMin -115 dBm in SIB3,
# GSM RXLEV-ACCESS-MIN around -108 dBm. Typical settings, not standard values; every one is
# below the radio's 1-bar threshold, so a no-service place is always "dead".
NO_SERVICE_DBM: dict[Radio, float] = {
    Radio.LTE: -124.0,
    Radio.UMTS: -115.0,
    Radio.GSM: -108.0,
}


def class_rank(signal_dbm: FloatArray, radio: Radio) -> npt.NDArray[np.int8]:
    """Rank of the class of each true signal (0 dead, 1 weak, 2 covered), per ``CLASSES``.

    ``-inf`` (no transmitter in range) is dead.
    """
    bars = DEFAULT_BARS[radio]
    s = np.asarray(signal_dbm)
    return (np.where(s >= bars.two, 2, np.where(s >= bars.one, 1, 0))).astype(np.int8)


def bars_of(signal_dbm: FloatArray, radio: Radio) -> npt.NDArray[np.int8]:
    """Bars (0-4) Android would show for each signal, by AOSP's default thresholds."""
    b = DEFAULT_BARS[radio]
    s = np.asarray(signal_dbm)
    return ((s >= b.one).astype(np.int8) + (s >= b.two) + (s >= b.three) + (s >= b.four)).astype(
        np.int8
    )


def ranks_to_classes(rank: npt.NDArray[np.integer]) -> pd.Categorical[str]:
    """Class ranks (see ``class_rank``) as a pandas categorical of ``CLASSES``."""
    codes = np.asarray(rank, dtype=np.int64)
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(CLASSES)))
