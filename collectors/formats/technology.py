"""Network-type names used by the outside formats, mapped to deadzone's four radios.

Tower Collector writes Android's network type (``TelephonyManager.getNetworkTypeName``
spelling: GPRS, EDGE, UMTS, HSPA+, LTE, NR...), OpenCelliD's ``act`` uses the same family of
names, the cell export's ``radio`` uses GSM/UMTS/LTE/NR/CDMA, and MLS geosubmit's
``radioType`` uses gsm/wcdma/lte/nr. The signal metric follows the radio family: a GPRS or
EDGE data session still camps on a GSM cell (RSSI), HSPA variants on a UMTS cell (RSCP).
"""

from __future__ import annotations

from typing import Final

from collectors.formats.rows import FieldProblem, describe_value
from domain.radio import Radio

_RADIOS: Final[dict[str, Radio]] = {
    "GSM": Radio.GSM,
    "GPRS": Radio.GSM,
    "EDGE": Radio.GSM,
    "UMTS": Radio.UMTS,
    "WCDMA": Radio.UMTS,
    "HSPA": Radio.UMTS,
    "HSDPA": Radio.UMTS,
    "HSUPA": Radio.UMTS,
    "HSPA+": Radio.UMTS,
    "HSPAP": Radio.UMTS,  # Android's constant name for HSPA+
    "LTE": Radio.LTE,
    "LTE_CA": Radio.LTE,  # carrier aggregation is still LTE RSRP
    "NR": Radio.NR,
}

# CDMA2000 networks measure Ec/Io and their own dBm, which no deadzone radio carries; none
# runs in Vietnam any more, so their rows are refused with a reason rather than mislabelled.
_UNSUPPORTED: Final = frozenset(
    {"CDMA", "EVDO", "EVDO_0", "EVDO_A", "EVDO_B", "1XRTT", "EHRPD", "IS95A", "IS95B"}
)


def technology_to_radio(name: str, field: str) -> Radio:
    """The radio for a network-type name (any case). Raises :class:`FieldProblem` naming
    ``field`` for CDMA-family networks (unsupported) and for names it does not know."""
    key = name.strip().upper()
    radio = _RADIOS.get(key)
    if radio is not None:
        return radio
    if not key:
        raise FieldProblem(field, "missing (empty)")
    if key in _UNSUPPORTED or key.startswith(("CDMA", "EVDO")):
        raise FieldProblem(
            field, f"{describe_value(name)} (CDMA family) is not supported: gsm/umts/lte/nr only"
        )
    raise FieldProblem(field, f"unknown network type {describe_value(name)}")


# MLS geosubmit ``radioType`` values (ichnaea docs, "api/geosubmit2"): gsm, wcdma, lte, nr;
# older clients send "umts" for wcdma.
MLS_RADIOS: Final[dict[str, Radio]] = {
    "gsm": Radio.GSM,
    "wcdma": Radio.UMTS,
    "umts": Radio.UMTS,
    "lte": Radio.LTE,
    "nr": Radio.NR,
}
