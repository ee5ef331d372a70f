"""Signal strength as the outside formats write it, turned into the reading's dBm.

The dBm-or-ASU conversions themselves live in :mod:`domain.radio`; this module holds the
format-level rules: which "unknown" markers to recognise and how to tell ASU from dBm when a
format does not say.
"""

from __future__ import annotations

from typing import Final

from collectors.formats.rows import FieldProblem
from domain.radio import ANDROID_UNAVAILABLE, Radio, asu_to_dbm

# "Not known or not detectable" ASU markers: 99 from 3GPP TS 27.007 (AT+CSQ <rssi>, and
# Android's SignalStrength for GSM/UMTS), 255 from TS 27.007 AT+CESQ (<rscp>, <rsrp>).
UNKNOWN_ASU: Final = frozenset({99, 255})

# Highest valid ASU per radio (AOSP CellSignalStrength*, as in domain.radio.asu_to_dbm).
MAX_ASU: Final[dict[Radio, int]] = {Radio.GSM: 31, Radio.UMTS: 91, Radio.LTE: 97, Radio.NR: 97}


def asu_field_to_dbm(radio: Radio, asu: int | None, field: str) -> float | None:
    """dBm from an ASU value; ``None`` when missing or one of the "unknown" markers.

    An ASU outside the radio's range that is not a marker is an error naming ``field``.
    """
    if asu is None or asu in UNKNOWN_ASU or asu == ANDROID_UNAVAILABLE:
        return None
    try:
        return asu_to_dbm(radio, asu)
    except ValueError as exc:
        raise FieldProblem(field, str(exc)) from None


def asu_or_dbm_to_dbm(radio: Radio, value: float, field: str) -> float | None:
    """OpenCelliD's ``signal``, which apps fill with either ASU or dBm, decided per value.

    Rule: a negative value is already dBm (no radio's dBm is ever >= 0 and, apart from a
    UMTS ASU of -5..-1 that we read as dBm and the service then rejects as out of range, no
    ASU is negative); 99 and 255 are the "unknown" markers (``None``); a whole number from 0 to
    the radio's highest ASU (GSM 31, UMTS 91, LTE/NR 97) is ASU and converted with
    :func:`domain.radio.asu_to_dbm`. Anything else (a positive fraction, a positive value
    above the ASU range) is an error naming ``field``.
    """
    if value < 0:
        return value
    if value.is_integer():
        whole = int(value)
        if whole in UNKNOWN_ASU:
            return None
        if whole <= MAX_ASU[radio]:
            return asu_to_dbm(radio, whole)
    raise FieldProblem(
        field,
        f"{value:g} is neither dBm (negative) nor a {radio.value} ASU (0..{MAX_ASU[radio]})",
    )
