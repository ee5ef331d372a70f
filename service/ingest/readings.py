"""Readings in: validate each one, store the good ones, count the rest by reason.

One bad reading never sinks its batch; a database failure stores nothing of it (the
caller's transaction rolls back as a whole).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, cast

from pydantic import TypeAdapter, ValidationError, WrapValidator
from sqlalchemy.orm import Session

from collectors.formats.rows import printable_name
from collectors.reading import Reading
from domain.radio import UNKNOWN_MNC
from service.grid import latlng_to_cell
from service.ingest.devices import network_hash, record_uploads
from service.ingest.privacy import DeviceHasher
from service.ingest.quality import QualityGate, Rejection, rejections_from_validation_error
from service.settings import Settings
from service.store.bulk import insert_readings
from service.store.dialect import add_to_counters
from service.store.models import IngestCount, RejectionCount
from service.timestamps import utcnow


@dataclass
class IngestResult:
    """What happened to a batch: each reading is accepted, a duplicate, or rejected."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def rejected_readings(self) -> int:
        """Readings refused (a reading with several problems counts once)."""
        return len({r.index for r in self.rejected})

    def merge(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


@dataclass(frozen=True)
class Ingestor:
    """Settings and the device hasher that every ingest in a process shares."""

    settings: Settings
    hasher: DeviceHasher

    @classmethod
    def from_settings(cls, settings: Settings) -> Ingestor:
        return cls(settings, DeviceHasher(settings.device_secret.get_secret_value()))

    def ingest(
        self,
        session: Session,
        items: Sequence[Any],
        *,
        default_source: str = "api",
        now: datetime | None = None,
        index_offset: int = 0,
        unparsed: Sequence[Rejection] = (),
        origin: str | None = None,
    ) -> IngestResult:
        """Validate and store ``items`` (decoded JSON objects of canonical readings):
        ``prepare`` then ``store``.

        ``index_offset`` is added to each rejection's index (a file's line offset).
        ``unparsed`` are rows that a format parser could not turn into readings at all (a
        geosubmit report without a usable cell, a CSV line with a bad number), one each:
        they are added to the rejection counters under ``default_source`` in this same
        transaction, so that /v1/stats counts every refused row, but they are not repeated
        in the result (the caller has them, numbered its own way).
        ``origin``: the client address of the request (or a file's name), recorded as the
        network a new device token was first seen from (``service.ingest.devices``); None
        when it is not known.
        Does not commit: the caller's transaction decides.
        """
        batch = self.prepare(items, default_source=default_source, now=now,
                             index_offset=index_offset)  # fmt: skip
        return self.store(session, batch, unparsed=unparsed, origin=origin)

    def prepare(
        self,
        items: Sequence[Any],
        *,
        default_source: str = "api",
        now: datetime | None = None,
        index_offset: int = 0,
    ) -> PreparedBatch:
        """The batch validated, its device tokens hashed and its rows built, without the
        database: a caller may do this before it takes SQLite's one writer, which then
        holds it only for the inserts (the validation of a batch of 200 readings took
        10-70 ms of it on a loaded machine, issue 17)."""
        now = now or utcnow()
        readings, rejected = _validate(items, index_offset)
        gate = QualityGate.from_settings(self.settings, now=now)
        resolution = self.settings.h3_resolution
        hash_device = self.hasher.hash
        seen: set[tuple[bytes, str]] = set()
        # Rows are grouped by source so that accepted and duplicate counts per source are
        # exact (one insert per source; a batch almost always has a single source).
        rows_by_source: dict[str, list[tuple[Any, ...]]] = {}
        tally: dict[str, Counter[str]] = {}
        for index, r in readings:
            problem = gate.check(index, r)
            if problem is not None:
                rejected.append(problem)
                continue
            device_hash = hash_device(r.device)
            key = (device_hash, r.id)
            if key in seen:
                tally.setdefault(r.source, Counter())["duplicates"] += 1
                continue
            seen.add(key)
            rows_by_source.setdefault(r.source, []).append(
                (
                    device_hash, r.id, r.observed_at, now, r.lat, r.lon, r.accuracy_m,
                    r.speed_mps, r.mcc, UNKNOWN_MNC if r.mnc is None else r.mnc, str(r.radio),
                    r.signal_dbm, r.no_service, r.level, r.calls_fail, r.area_code, r.cell_id,
                    r.pci, r.arfcn, r.source,
                    latlng_to_cell(r.lat, r.lon, resolution),
                )
            )  # fmt: skip
        return PreparedBatch(items, now, default_source, index_offset, rejected,
                             rows_by_source, tally, {key[0] for key in seen})  # fmt: skip

    def store(
        self,
        session: Session,
        batch: PreparedBatch,
        *,
        unparsed: Sequence[Rejection] = (),
        origin: str | None = None,
    ) -> IngestResult:
        """Store a prepared batch and count it (``ingest`` says what ``unparsed`` and
        ``origin`` are). Does not commit."""
        result = IngestResult(rejected=batch.rejected)
        tally = batch.tally
        connection = session.connection()
        for source, rows in batch.rows_by_source.items():
            inserted = insert_readings(connection, rows)
            counts = tally.setdefault(source, Counter())
            counts["accepted"] += inserted
            counts["duplicates"] += len(rows) - inserted
        network = None if origin is None else network_hash(self.hasher.key, origin)
        record_uploads(session, batch.devices, network=network, now=batch.now)
        for counts in tally.values():
            result.accepted += counts["accepted"]
            result.duplicates += counts["duplicates"]
        _count(session, batch.items, result, tally, batch.default_source, batch.index_offset,
               batch.now, unparsed)  # fmt: skip
        return result


@dataclass
class PreparedBatch:
    """A batch validated and turned into rows (``Ingestor.prepare``), not yet stored."""

    items: Sequence[Any]
    now: datetime
    default_source: str
    index_offset: int
    rejected: list[Rejection]
    rows_by_source: dict[str, list[tuple[Any, ...]]]
    tally: dict[str, Counter[str]]
    devices: set[bytes]
    """Hashes of the batch's device tokens."""


def _validate(
    items: Sequence[Any], index_offset: int
) -> tuple[list[tuple[int, Reading]], list[Rejection]]:
    """Readings that pass the schema, with their indexes, and the rejections of the rest.

    The batch is validated in one call to pydantic-core, each reading's own error kept in
    its place (``_keep_error``): a batch holding one bad reading is not validated a
    second time without it, nor its bad readings again one by one for their rejections,
    which cost as much again as the call (the province demo's batches nearly all hold one).
    A reading's error is the one ``Reading.model_validate`` raises for it alone.
    """
    try:
        checked = _READINGS.validate_python(items)
    except ValidationError:  # not a list at all: each item on its own
        checked = [_keep_error(item, Reading.model_validate) for item in items]
    readings: list[tuple[int, Reading]] = []
    rejected: list[Rejection] = []
    for i, outcome in enumerate(checked, start=index_offset):
        if isinstance(outcome, ValidationError):
            rejected.extend(rejections_from_validation_error(i, outcome))
        else:
            readings.append((i, outcome))
    return readings, rejected


def _keep_error(item: Any, validate: Callable[[Any], Reading]) -> Reading | ValidationError:
    """One reading validated, or the error that refuses it (returned, not raised)."""
    try:
        return validate(item)
    except ValidationError as exc:
        return exc


# The schema is the reading's; the wrap only turns a reading's error into its result.
_READINGS = cast(
    "TypeAdapter[list[Reading | ValidationError]]",
    TypeAdapter(list[Annotated[Reading, WrapValidator(_keep_error)]]),
)


def _count(
    session: Session,
    items: Sequence[Any],
    result: IngestResult,
    tally: dict[str, Counter[str]],
    default_source: str,
    index_offset: int,
    now: datetime,
    unparsed: Sequence[Rejection] = (),
) -> None:
    """Add this batch to the daily counters, in the same transaction as the readings."""
    day = now.date()
    rejection_counts: Counter[tuple[str, str, str]] = Counter()
    first_by_index: dict[int, Rejection] = {}
    for rej in result.rejected:
        first_by_index.setdefault(rej.index, rej)
    for rej in first_by_index.values():
        source = _source_of(items, rej.index - index_offset, default_source)
        tally.setdefault(source, Counter())["rejected"] += 1
        rejection_counts[(source, printable_name(rej.field), rej.code)] += 1
    for rej in unparsed:
        tally.setdefault(default_source, Counter())["rejected"] += 1
        rejection_counts[(default_source, printable_name(rej.field), rej.code)] += 1

    add_to_counters(
        session,
        IngestCount.__table__,  # type: ignore[arg-type]
        [
            {
                "day": day,
                "source": source,
                "accepted": c["accepted"],
                "duplicates": c["duplicates"],
                "rejected": c["rejected"],
            }
            for source, c in sorted(tally.items())
        ],
        keys=("day", "source"),
    )
    add_to_counters(
        session,
        RejectionCount.__table__,  # type: ignore[arg-type]
        [
            {"day": day, "source": s, "field": f, "code": code, "count": n}
            for (s, f, code), n in sorted(rejection_counts.items())
        ],
        keys=("day", "source", "field", "code"),
    )


def _source_of(items: Sequence[Any], index: int, default: str) -> str:
    item = items[index] if 0 <= index < len(items) else None
    source = item.get("source") if isinstance(item, dict) else None
    # The counters store it: only a source the schema would accept (printable, no NUL).
    if isinstance(source, str) and 0 < len(source) <= 32 and source.isprintable():
        return source
    return default
