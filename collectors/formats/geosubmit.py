"""Mozilla Location Service (ichnaea) geosubmit v2 bodies, read into canonical readings.

``POST /v2/geosubmit`` takes ``{"items": [report, ...]}``; each report has a ``timestamp``
(ms since the epoch), a ``position`` and lists of ``cellTowers``, ``wifiAccessPoints`` and
``bluetoothBeacons`` (ichnaea docs, "api/geosubmit2":
https://ichnaea.readthedocs.io/en/latest/api/geosubmit2.html). Tower Collector, NeoStumbler
and other apps upload this, so pointing them at deadzone is enough to feed it. deadzone keeps
one reading per report, from its serving cell; wifi and bluetooth are ignored without error.

Bodies are a few MB at most, so the whole body is parsed at once: a body that is not JSON, or
not an object with an ``items`` list, raises :class:`GeosubmitParseError` before any row, and
the service answers with :data:`MLS_PARSE_ERROR_BODY`, as MLS did.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from collectors.formats.nesting import NestingTooDeep, check_json_nesting
from collectors.formats.rows import (
    FieldProblem,
    FormatError,
    ReadingDict,
    Row,
    RowError,
    describe_value,
    epoch_ms_to_rfc3339,
    reading_id,
)
from collectors.formats.technology import MLS_RADIOS
from collectors.limits import MAX_JSON_DEPTH
from domain.radio import ANDROID_UNAVAILABLE, Radio, asu_to_dbm

SOURCE: Final = "mls-geosubmit"

# The body MLS answers with status 400 when a request body cannot be parsed, verbatim from the
# ichnaea docs ("api/index", Errors: https://ichnaea.readthedocs.io/en/latest/api/index.html
# #errors). Clients written for MLS look for exactly this.
MLS_PARSE_ERROR_BODY: Final[dict[str, Any]] = {
    "error": {
        "errors": [{"domain": "global", "reason": "parseError", "message": "Parse Error"}],
        "code": 400,
        "message": "Parse Error",
    }
}

# A geosubmit body is "a few MB at most"; after gunzip we refuse more than this so that a
# small gzip bomb cannot blow up memory. Bytes.
MAX_BODY_BYTES: Final = 32 * 1024 * 1024


class GeosubmitParseError(FormatError):
    """The body is not JSON, or not ``{"items": [...]}``: answer 400 with
    :data:`MLS_PARSE_ERROR_BODY` (the message says what was wrong, for the log)."""


def gunzip_body(body: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """Decompress a ``Content-Encoding: gzip`` body, refusing more than ``max_bytes`` out.

    Raises :class:`GeosubmitParseError` for bad gzip data or an oversized result (MLS answers
    both with its parse error).
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise GeosubmitParseError(f"body is not valid gzip: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise GeosubmitParseError(f"body is larger than {max_bytes} bytes after gunzip")
    return out


def parse_geosubmit(
    body: bytes | str,
    *,
    device: str,
    received_at: datetime | None = None,
    max_depth: int = MAX_JSON_DEPTH,
) -> list[Row]:
    """One reading dict or one :class:`RowError` per report in ``body``, in order.

    ``device`` is the token the service derives for the sender (geosubmit carries none).
    ``received_at`` (aware) stands in for a report without ``timestamp``, which MLS reads as
    "now"; without it such a report is a row error. Row errors carry ``index`` (the report's
    position in ``items``) and, when one cell is to blame, ``cell``. A body nesting deeper
    than ``max_depth`` is refused before it is parsed.
    """
    if not device:
        raise ValueError("a geosubmit body has no device token: pass device=")
    if received_at is not None and received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    try:
        check_json_nesting(body.encode() if isinstance(body, str) else body, max_depth=max_depth)
        document = orjson.loads(body)
    except NestingTooDeep as exc:
        raise GeosubmitParseError(str(exc)) from None
    except orjson.JSONDecodeError as exc:
        raise GeosubmitParseError(f"body is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise GeosubmitParseError('body is not a JSON object with an "items" list')
    return [
        _report_to_row(position, item, device, received_at)
        for position, item in enumerate(document["items"])
    ]


def _number(value: Any) -> float | None:
    """A JSON number as float (``None`` if absent or not a number; bools are not numbers)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _integer(container: dict[str, Any], key: str) -> int | None:
    """A JSON integer (an integral float such as ``452.0`` counts); absent -> ``None``."""
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldProblem(key, f"{describe_value(value)} is not an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldProblem(key, f"{describe_value(value)} is not an integer")
        return int(value)
    return value


def _cell_signal(cell: dict[str, Any], radio: Radio) -> float | None:
    """dBm from ``signalStrength``, else from ``asu``; ``None`` when neither is known.

    Some apps send ``signalStrength: 0`` or Android's "unavailable" for "not measured": no
    radio's dBm is ever 0, so both fall through to ``asu``. ASU 99 and 255 are "unknown"
    (3GPP TS 27.007).
    """
    strength = _number(cell.get("signalStrength"))
    if strength is not None and strength != 0 and strength != ANDROID_UNAVAILABLE:
        return strength
    asu = _integer(cell, "asu")
    if asu is None or asu in (99, 255, ANDROID_UNAVAILABLE):
        return None
    try:
        return asu_to_dbm(radio, asu)
    except ValueError as exc:
        raise FieldProblem("asu", str(exc)) from None


def _report_to_row(position: int, item: Any, device: str, received_at: datetime | None) -> Row:
    if not isinstance(item, dict):
        return RowError(None, None, "report is not a JSON object", index=position)
    try:
        where = item.get("position")
        if not isinstance(where, dict):
            raise FieldProblem("position", "missing: a report needs a GPS position")
        lat = _number(where.get("latitude"))
        lon = _number(where.get("longitude"))
        if lat is None or lon is None:
            raise FieldProblem("position", "latitude and longitude must both be numbers")
        timestamp = _integer(item, "timestamp")
        if timestamp is None and received_at is None:
            raise FieldProblem("timestamp", "missing")
    except FieldProblem as problem:
        return RowError(None, problem.field, problem.reason, index=position)

    cells = item.get("cellTowers")
    if not isinstance(cells, list) or not cells:
        others = [key for key in ("wifiAccessPoints", "bluetoothBeacons") if item.get(key)]
        reason = "no cellTowers" + (f" (only {' and '.join(others)})" if others else "")
        return RowError(None, "cellTowers", reason, index=position)

    chosen = _serving_cell(cells, item.get("radioType"))
    if isinstance(chosen, RowError):
        return RowError(None, chosen.field, chosen.reason, index=position, cell=chosen.cell)
    number, cell, radio, signal = chosen

    # The reading is when the cell was measured: the report's timestamp minus the cell's
    # age, else minus the position's age (ms before the timestamp, as ichnaea reads
    # ``age``). A negative age is meaningless and ignored.
    try:
        age = _integer(cell, "age")
        if age is None:
            age = _integer(where, "age")
        age = max(age or 0, 0)
        if timestamp is not None:
            observed_at = epoch_ms_to_rfc3339(timestamp - age, "timestamp")
        else:
            assert received_at is not None
            observed_at = (received_at - timedelta(milliseconds=age)).astimezone(UTC).isoformat()
    except FieldProblem as problem:
        return RowError(None, problem.field, problem.reason, index=position, cell=number)

    reading: ReadingDict = {
        "device": device,
        "observed_at": observed_at,
        "lat": lat,
        "lon": lon,
        "accuracy_m": _number(where.get("accuracy")),
        "speed_mps": _number(where.get("speed")),
        "mcc": cell["mobileCountryCode"],
        "mnc": cell["mobileNetworkCode"],
        "radio": radio.value,
        "signal_dbm": signal,
        "area_code": cell.get("locationAreaCode"),
        "cell_id": cell.get("cellId"),
        # ichnaea: primaryScramblingCode is the PSC for WCDMA and the physical cell id for
        # LTE (and NR).
        "pci": cell.get("primaryScramblingCode"),
        "source": SOURCE,
    }
    # Derived id: see collectors.formats.rows.reading_id for why.
    reading["id"] = reading_id(
        f"{observed_at}|{lat}|{lon}|{reading['mcc']}|{reading['mnc']}|{radio.value}|"
        f"{reading['area_code']}|{reading['cell_id']}|{signal}"
    )
    return reading


_Chosen = tuple[int, dict[str, Any], Radio, float]


def _serving_cell(cells: list[Any], report_radio: Any) -> _Chosen | RowError:
    """The cell that becomes the reading, or the reason none can.

    Rule: of the cells that make a complete reading (known radio, MCC, MNC and a signal), the
    first one marked ``serving`` (1/true); when none is marked, the strongest, because a phone
    camps on (and so reports) the strongest cell it can use, and a neighbour list without the
    flag still shows the best signal available at that spot. A report's top-level
    ``radioType`` (the legacy place for it) applies to cells without their own.
    """
    usable: list[_Chosen] = []
    first_problem: RowError | None = None
    for number, cell in enumerate(cells):
        try:
            if not isinstance(cell, dict):
                raise FieldProblem("cellTowers", "cell is not a JSON object")
            name = cell.get("radioType") or report_radio
            if not isinstance(name, str) or not name:
                raise FieldProblem("radioType", "missing (on the cell and on the report)")
            radio = MLS_RADIOS.get(name.lower())
            if radio is None:
                raise FieldProblem(
                    "radioType", f"{describe_value(name)} is not one of gsm, wcdma, lte, nr"
                )
            for key in ("mobileCountryCode", "mobileNetworkCode"):
                value = _integer(cell, key)
                if value is None:
                    raise FieldProblem(key, "missing")
                cell[key] = value
            for key in ("locationAreaCode", "cellId", "primaryScramblingCode"):
                cell[key] = _integer(cell, key)
            signal = _cell_signal(cell, radio)
            if signal is None:
                raise FieldProblem("signalStrength", "no signal: signalStrength and asu missing")
        except FieldProblem as problem:
            if first_problem is None:
                first_problem = RowError(None, problem.field, problem.reason, cell=number)
            continue
        candidate = (number, cell, radio, signal)
        if cell.get("serving") in (1, True):
            return candidate
        usable.append(candidate)
    if usable:
        return max(usable, key=lambda chosen: chosen[3])
    assert first_problem is not None
    return first_problem
