"""deadzone's own reading format as GeoJSON: a FeatureCollection of Point features.

Each feature's ``properties`` are the :class:`collectors.reading.Reading` fields; ``lat`` and
``lon`` come from the point's ``coordinates`` (``[lon, lat]``, WGS84, RFC 7946). Properties
that are not Reading fields are ignored (GIS tools add their own, such as ``fid``), and so are
properties that are ``null``. Values must already have the right JSON type (a number for
``mcc``, ``true``/``false`` for ``no_service``); a wrong one is a row error naming the field.

FeatureCollections can be large, so the file is read incrementally with ``ijson`` (one
feature in memory at a time). Without ijson installed, files up to
:data:`MAX_BYTES_WITHOUT_IJSON` are read whole and larger ones refused. Either way the bytes
pass a nesting check first (:mod:`collectors.formats.nesting`): a file nested deeper than
:data:`~collectors.limits.MAX_JSON_DEPTH` is refused before the parser builds it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

from collectors.formats.canonical import complete_reading
from collectors.formats.nesting import NestingGuard, check_json_nesting
from collectors.formats.rows import (
    BinaryReadable,
    ByteSource,
    FieldProblem,
    FormatError,
    ProgressHook,
    ReadingDict,
    Row,
    RowError,
    RowStream,
    as_byte_source,
    describe_value,
    iso_to_rfc3339,
)
from collectors.limits import MAX_JSON_DEPTH
from domain.radio import Radio

try:
    import ijson
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    ijson = None

SOURCE: Final = "geojson"

# Without an incremental parser the whole document sits in memory (roughly 5-10 times its
# size as Python objects), so we stop at a size a small server can afford. Bytes.
MAX_BYTES_WITHOUT_IJSON: Final = 64 * 1024 * 1024

_INT: Final = (int,)
_NUMBER: Final = (int, float)
# The JSON types each Reading property must have (bool is an int in Python: refused apart).
_PROPERTY_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "id": (str,),
    "device": (str,),
    "observed_at": (str,),
    "accuracy_m": _NUMBER,
    "speed_mps": _NUMBER,
    "mcc": _INT,
    "mnc": _INT,
    "radio": (str,),
    "signal_dbm": _NUMBER,
    "no_service": (bool,),
    "level": _INT,
    "calls_fail": (bool,),
    "area_code": _INT,
    "cell_id": _INT,
    "pci": _INT,
    "arfcn": _INT,
    "source": (str,),
}
_RADIO_VALUES: Final = frozenset(radio.value for radio in Radio)


def parse_geojson(
    source: ByteSource | BinaryReadable | Iterable[bytes],
    *,
    device: str | None = None,
    progress: ProgressHook | None = None,
) -> RowStream[Row]:
    """Readings (dicts) and row errors, one per feature, lazily. Row errors carry ``index``,
    the feature's 0-based position in ``features``.

    Raises :class:`~collectors.formats.rows.FormatError` at once when the first bytes are not
    a FeatureCollection, and while iterating when the JSON breaks off or is malformed (rows
    before that point have been yielded; the caller decides whether to keep them).
    """
    byte_source = as_byte_source(source, progress)
    head = byte_source.head()
    if not head.strip():
        raise FormatError("empty file: expected a GeoJSON FeatureCollection")
    if b'"FeatureCollection"' not in head:
        raise FormatError(
            'not a GeoJSON FeatureCollection: no "type": "FeatureCollection" in the first '
            f"{len(head)} bytes"
        )
    return RowStream(_rows(_features(byte_source), device), byte_source, "index")


def _features(source: ByteSource) -> Iterator[Any]:
    if ijson is None:
        data = source.read(MAX_BYTES_WITHOUT_IJSON + 1)
        if len(data) > MAX_BYTES_WITHOUT_IJSON:
            raise FormatError(
                f"GeoJSON over {MAX_BYTES_WITHOUT_IJSON} bytes needs the ijson package"
            )
        source.report_progress()
        check_json_nesting(data, max_depth=MAX_JSON_DEPTH)
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise FormatError(f"GeoJSON is not valid JSON: {exc}") from None
        features = document.get("features") if isinstance(document, dict) else None
        if not isinstance(features, list):
            raise FormatError('GeoJSON has no "features" list')
        yield from features
        return
    count = 0
    try:
        for feature in ijson.items(_NestingChecked(source), "features.item", use_float=True):
            count += 1
            yield feature
    except ijson.JSONError as exc:
        raise FormatError(
            f"GeoJSON breaks off or is malformed after {count} features: {exc}"
        ) from None
    source.report_progress()


class _NestingChecked:
    """The byte source as ijson reads it, each chunk checked for nesting depth first."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._guard = NestingGuard(MAX_JSON_DEPTH)

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._source.read(size)
        self._guard.feed(chunk)
        return chunk


def _rows(features: Iterator[Any], device: str | None) -> Iterator[tuple[int, Row]]:
    for index, feature in enumerate(features):
        try:
            reading = _feature_to_reading(feature, device)
        except FieldProblem as problem:
            yield index, RowError(None, problem.field, problem.reason, index=index)
            continue
        yield index, reading


def _feature_to_reading(feature: Any, device: str | None) -> ReadingDict:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise FieldProblem("type", "not a GeoJSON Feature")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise FieldProblem("geometry", "must be a Point")
    coordinates = geometry.get("coordinates")
    if (
        not isinstance(coordinates, list)
        or len(coordinates) < 2
        or not all(
            isinstance(value, _NUMBER) and not isinstance(value, bool) for value in coordinates[:2]
        )
    ):
        raise FieldProblem("geometry", "coordinates must be [lon, lat] numbers")
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise FieldProblem("properties", "must be an object")

    reading: ReadingDict = {}
    for name, value in properties.items():
        types = _PROPERTY_TYPES.get(name)
        if types is None or value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise FieldProblem(name, f"{describe_value(value)} has the wrong JSON type")
        reading[name] = value
    reading["lon"] = float(coordinates[0])
    reading["lat"] = float(coordinates[1])
    for name in ("observed_at", "mcc", "mnc", "radio"):
        if name not in reading:
            raise FieldProblem(name, "missing")
    reading["observed_at"] = iso_to_rfc3339(
        reading["observed_at"], "observed_at", naive_is_utc=False
    )
    if reading["radio"] not in _RADIO_VALUES:
        raise FieldProblem(
            "radio", f"{describe_value(reading['radio'])} is not one of gsm, umts, lte, nr"
        )
    for name in ("accuracy_m", "speed_mps", "signal_dbm"):
        if name in reading:
            reading[name] = float(reading[name])
    if "device" not in reading:
        if not device:
            raise FieldProblem("device", "no device token in the feature and none given")
        reading["device"] = device
    return complete_reading(reading, SOURCE)
