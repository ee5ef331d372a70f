"""Radio technologies and the physical facts about their signal values.

Every number here cites its source. ``service`` uses these to validate and classify
readings; collectors use them to convert ASU to dBm.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from domain.vocabulary import UNKNOWN_OPERATOR


class Radio(StrEnum):
    """Radio access technology of the serving cell."""

    GSM = "gsm"
    UMTS = "umts"
    LTE = "lte"
    NR = "nr"


# A resident's manual report (bars) or a "no service" report may not know its technology
# (DESIGN.md: "A manual report may not know its technology"; with no service a phone shows no
# radio at all). Such a reading says radio "unknown": evidence about the operator, never
# about one radio. It is not a ``Radio``: no signal range, bars or propagation belongs to it.
UNKNOWN_RADIO: Literal["unknown"] = "unknown"
ReportedRadio = Radio | Literal["unknown"]
REPORTED_RADIOS: tuple[str, ...] = (*(r.value for r in Radio), UNKNOWN_RADIO)
"""Every value a reading's radio may take, the physical radios first."""


def thresholds_radio(name: str) -> Radio:
    """The radio whose thresholds (bars, camping minimum) stand for a reading's radio: its
    own, or LTE for ``unknown``. An unknown-radio reading never carries a dBm value (the
    quality gate refuses it), so only the class of its bars or no-service matters, and where
    a threshold is needed LTE is the radio of nearly every phone in Vietnam in 2026."""
    return Radio.LTE if name == UNKNOWN_RADIO else Radio(name)


# Android reports a field it could not read as Integer.MAX_VALUE
# (android.telephony.CellInfo.UNAVAILABLE); it means "missing", never a signal.
ANDROID_UNAVAILABLE = 2_147_483_647


@dataclass(frozen=True)
class SignalRange:
    """Valid dBm range for the radio's signal metric (inclusive), in dBm."""

    metric: str
    min_dbm: float
    max_dbm: float


# Valid ranges from AOSP frameworks/base/telephony/java/android/telephony/
# CellSignalStrength{Gsm,Wcdma,Lte,Nr}.java: GSM RSSI -113..-51, UMTS RSCP -120..-24,
# LTE RSRP -140..-43, NR SS-RSRP -140..-44.
SIGNAL_RANGES: dict[Radio, SignalRange] = {
    Radio.GSM: SignalRange("RSSI", -113.0, -51.0),
    Radio.UMTS: SignalRange("RSCP", -120.0, -24.0),
    Radio.LTE: SignalRange("RSRP", -140.0, -43.0),
    Radio.NR: SignalRange("SS-RSRP", -140.0, -44.0),
}


def asu_to_dbm(radio: Radio, asu: int) -> float:
    """Convert an Arbitrary Strength Unit to dBm.

    From AOSP CellSignalStrength*: GSM ``dBm = 2*asu - 113`` (asu 0..31),
    UMTS ``dBm = asu - 116`` (asu -5..91), LTE ``dBm = asu - 140`` (asu 0..97).
    NR uses the LTE mapping (SS-RSRP asu 0..97, ``asu - 140``).
    Raises ``ValueError`` for an asu outside the radio's range or Android's 99/255
    "unknown" markers.
    """
    if radio is Radio.GSM:
        if not 0 <= asu <= 31:
            raise ValueError(f"GSM asu must be 0..31, got {asu}")
        return 2.0 * asu - 113.0
    if radio is Radio.UMTS:
        if not -5 <= asu <= 91:
            raise ValueError(f"UMTS asu must be -5..91, got {asu}")
        return asu - 116.0
    if not 0 <= asu <= 97:
        raise ValueError(f"{radio.value.upper()} asu must be 0..97, got {asu}")
    return asu - 140.0


@dataclass(frozen=True)
class BarThresholds:
    """Lowest dBm that still shows 1, 2, 3 and 4 bars."""

    one: float
    two: float
    three: float
    four: float

    def bars(self, dbm: float) -> int:
        """Number of bars (0-4) that Android would show for ``dbm``."""
        return sum(dbm >= t for t in (self.one, self.two, self.three, self.four))


# Default bar thresholds from AOSP CellSignalStrength*.java:
#   LTE RSRP  -115/-105/-95/-85 (CellSignalStrengthLte, sRsrpThresholds; carriers may
#             configure -128/-118/-108/-98 through CarrierConfigManager)
#   NR SS-RSRP -110/-90/-80/-65 (CellSignalStrengthNr, mSsRsrpThresholds)
#   UMTS RSCP -115/-105/-95/-85 (CellSignalStrengthWcdma, sRscpThresholds)
#   GSM RSSI  -107/-103/-97/-89 (CellSignalStrengthGsm, GSM_RSSI_* constants)
# deadzone's classes: covered at or above 2 bars, weak between 1 and 2, dead below 1 bar.
DEFAULT_BARS: dict[Radio, BarThresholds] = {
    Radio.LTE: BarThresholds(-115.0, -105.0, -95.0, -85.0),
    Radio.NR: BarThresholds(-110.0, -90.0, -80.0, -65.0),
    Radio.UMTS: BarThresholds(-115.0, -105.0, -95.0, -85.0),
    Radio.GSM: BarThresholds(-107.0, -103.0, -97.0, -89.0),
}


UNKNOWN_MNC: Final = -1
"""The stored MNC of a reading whose operator is unknown (the canonical reading's
``mnc: null``: a resident who chose "Tôi không biết"). No real MNC is negative (ITU-T
E.212: two or three digits), so the value can never collide with a network; the statistics
keep it like any MNC and the decisions read it as ``UNKNOWN_OPERATOR`` (service/engine/
decisions.py says what such readings count for)."""


def operator_code(mcc: int, mnc: int) -> str:
    """The operator key used across deadzone, e.g. ``452-04`` for Viettel.

    MNCs are shown with at least two digits, as Vietnam's are (452-01 .. 452-07). A reading
    whose operator is unknown (``UNKNOWN_MNC``) has the key ``UNKNOWN_OPERATOR``, which no
    ``operator=`` parameter accepts.
    """
    if mnc == UNKNOWN_MNC:
        return UNKNOWN_OPERATOR
    return f"{mcc:03d}-{mnc:02d}"


# Vietnam's operators (DESIGN.md): MCC 452.
OPERATOR_NAMES: dict[str, str] = {
    "452-01": "MobiFone",
    "452-02": "VinaPhone",
    "452-04": "Viettel",
    "452-05": "Vietnamobile",
    "452-07": "Gmobile",
}


# LTE bands a planner may build on in Vietnam (DESIGN.md "Vietnam in 2026"): band 28 (700 MHz,
# Viettel's 2025 block), band 8 (900), band 3 (1800, the main LTE band), band 1 (2100) and
# band 7 (2600; Viettel's 5G n41 block sits at 2500-2600 too). Downlink centres rounded to
# the band names planners use (3GPP TS 36.101 table 5.5-1).
PLANNING_BANDS_MHZ: tuple[int, ...] = (700, 900, 1800, 2100, 2600)

# Virtual operators (MVNOs) own no radio network: their SIMs camp on a host operator's
# cells, so a report from an MVNO SIM is evidence about the host's network. Brand (as
# printed on the SIM and shown by the phone) -> host network, MCC-MNC.
# Sources: iTel (Indochina Telecom, prefix 087) signed with VNPT to use VinaPhone's network
# (ICTnews, April 2019); Reddi (Mobicast, prefix 055) and Local (ASIM, numbers in
# MobiFone's 089 block) run on MobiFone's network (trade press on Vietnam's three MVNOs,
# 2021-2022; to be checked against the ministry's MVNO licences). Wintel, Reddi's 2022
# successor brand, is left out until its host network is confirmed: a wrong host would put
# its users' reports on another operator's map.
MVNO_NETWORKS: dict[str, str] = {
    "iTel": "452-02",
    "Reddi": "452-01",
    "Local": "452-01",
}

# Weakest signal on which a phone still camps, dBm, per radio: below it the phone shows
# "no service". These are the cell-selection minimums operators typically broadcast
# (3GPP TS 36.304 / 38.304 / 25.304 S-criterion, TS 45.008 for GSM): LTE and NR
# q-RxLevMin -124 dBm in SIB1 (-62 x 2 dB), UMTS q-RxLevMin -115 dBm in SIB3, GSM
# RXLEV-ACCESS-MIN about -108 dBm. Typical settings, not standard values; each lies below
# the radio's 1-bar threshold, so a no-service reading is always "dead". The estimator
# (``service.engine.estimate``) treats a no-service reading as "signal below this".
CAMPING_MIN_DBM: dict[Radio, float] = {
    Radio.LTE: -124.0,
    Radio.NR: -124.0,
    Radio.UMTS: -115.0,
    Radio.GSM: -108.0,
}

# LTE downlink EARFCN ranges of the bands above (3GPP TS 36.101 table 5.7.3-1): the band of
# a reading's serving cell from its EARFCN, as band name in MHz.
LTE_EARFCN_BANDS_MHZ: tuple[tuple[int, int, int], ...] = (
    (0, 599, 2100),  # band 1
    (1200, 1949, 1800),  # band 3
    (2750, 3449, 2600),  # band 7
    (3450, 3799, 900),  # band 8
    (9210, 9659, 700),  # band 28
)


def lte_band_of_earfcn(earfcn: int) -> int | None:
    """The band (MHz) of an LTE downlink EARFCN, None outside Vietnam's bands."""
    for low, high, band in LTE_EARFCN_BANDS_MHZ:
        if low <= earfcn <= high:
            return band
    return None


# Mobile broadband, the province's promise (DESIGN.md: "mobile broadband (4G or better) for
# every resident"; the Ministry counts 4G coverage): LTE or NR. 3G and 2G give "any signal".
BROADBAND_RADIOS: frozenset[Radio] = frozenset({Radio.LTE, Radio.NR})

# The order in which an idle phone prefers technologies, best first: operators give the
# newer radio the higher absolute reselection priority (3GPP TS 36.331 cellReselectionPriority,
# SIB5/SIB6; TS 38.331 the same for NR), so a phone camps on the newest radio it can use.
RADIO_PRIORITY: tuple[Radio, ...] = (Radio.NR, Radio.LTE, Radio.UMTS, Radio.GSM)

# A phone camped on a higher-priority radio leaves it for a lower-priority one of the same
# operator when the serving level falls below q-RxLevMin (``CAMPING_MIN_DBM``) +
# threshServingLow and the lower radio is suitable, above its own q-RxLevMin (3GPP TS 36.304
# §5.2.4.5, TS 38.304 §5.2.4.5; threshServingLow is sent in 2 dB steps in SIB3), dB.
# Operators set it so that phones leave a radio about where it stops serving, near its 1-bar
# level (``DEFAULT_BARS``): LTE 10 dB (-114 dBm, 1 bar at -115), NR 14 dB (-110 dBm, NR's
# 1 bar). Typical settings, configurable where used.
THRESH_SERVING_LOW_DB: dict[Radio, float] = {
    Radio.NR: 14.0,
    Radio.LTE: 10.0,
    Radio.UMTS: 6.0,
    Radio.GSM: 0.0,
}


# Vietnam's mobile spectrum in 2026 (DESIGN.md "Vietnam in 2026"): 2G switched off on land
# from 16 September 2024 and 900/1800 MHz refarmed to LTE; LTE bands 700 (Viettel, 2025 auction),
# 900, 1800, 2100, 2600 MHz. 5G licences of 2024, 100 MHz each: Viettel 2500-2600 MHz (n41),
# VNPT/VinaPhone 3700-3800 MHz and MobiFone 3800-3900 MHz (n78). The centre of each block, MHz.
NR_BAND_MHZ: dict[str, int] = {
    "452-04": 2550,
    "452-02": 3750,
    "452-01": 3850,
}
NR_BANDWIDTH_MHZ = 100.0
