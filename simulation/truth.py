"""The ground truth's rules: which true signal counts as covered, weak, dead or no service.

Classes follow deadzone's defaults (DESIGN.md, ``domain.radio.DEFAULT_BARS``): covered at
or above the 2-bar threshold, weak from 1 bar up to 2, dead below 1 bar. Below the no-service
limit the phone cannot camp on the network at all and reports ``no_service: true``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from domain.radio import BROADBAND_RADIOS, CAMPING_MIN_DBM, DEFAULT_BARS, Radio

FloatArray = npt.NDArray[np.float64]

CLASSES: tuple[str, ...] = ("dead", "weak", "covered")  # in rank order, worst first

# Weakest signal on which a phone still camps, dBm, per radio: ``domain.radio.CAMPING_MIN_DBM``
# (the S-criterion's q-RxLevMin as operators typically broadcast it). A place where the true
# mean is below it on every radio of an operator gives that operator's phones no service.
NO_SERVICE_DBM: dict[Radio, float] = CAMPING_MIN_DBM

# The scopes of the truth, as the service names them (``domain.vocabulary``): "any" signal
# (the best radio of an operator) and "broadband" (LTE or NR only).
SCOPE_RADIOS: dict[str, frozenset[Radio]] = {
    "any": frozenset(Radio),
    "broadband": BROADBAND_RADIOS,
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
