"""Mergeable cell statistics: kept up to date as readings arrive, rebuildable exactly.

Why a job that follows a watermark (and not the ingest transaction): merging into the
statistics in the ingest transaction was measured to cut ingest throughput by two
thirds (every batch then writes readings, statistics and device sets), while planners
need the grid seconds, not milliseconds, after a phone uploads. The job merges the
readings whose ``seq`` is above the watermark and moves the watermark in the same
transaction, so each reading is merged exactly once.

A sequence watermark is only safe if no transaction can still commit a lower ``seq``
later. SQLite has one writer at a time, so that holds. On PostgreSQL the job first
takes ``SHARE ROW EXCLUSIVE`` on ``readings`` for an instant: it waits for every open
transaction that inserted readings to finish, so every ``seq`` up to the maximum it then
reads is committed.

Roll-ups to coarser resolutions are rebuilt from the resolution-9 statistics by a full
``deadzone aggregate``; between full runs a batch adds the readings merged since to their
parents (``add_to_rollups``), which gives the same rows.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from h3.api import basic_int as h3i
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import BigInteger, Integer

from domain.radio import Radio
from service.errors import InvalidInput
from service.settings import Settings
from service.store.dialect import (
    cells_in,
    dialect_name,
    is_postgres,
    read_by_index,
    unindexed,
    upsert_insert,
)
from service.store.models import AggregationState, CellDevice, CellStat, DirtyCell, ReadingRow
from service.store.sqlexpr import (
    BitOrAggregate,
    DayOfMonth,
    DbmToAttowatts,
    Greatest,
    Least,
    MonthStart,
    h3_parent_masks,
)

if TYPE_CHECKING:
    from service.engine.columnar import Progress
    from service.engine.scaleout import DaskSource

STAT_KEY = ("h3_cell", "mcc", "mnc", "radio", "bucket")
# Evidence weights: a measured reading with a good GPS fix counts 2, one with a poor fix
# (accuracy worse than ``downweight_accuracy_m``) or a resident's manual report counts 1.
FULL_WEIGHT = 2
REDUCED_WEIGHT = 1

_readings: Table = ReadingRow.__table__  # type: ignore[assignment]
_stats: Table = CellStat.__table__  # type: ignore[assignment]
_devices: Table = CellDevice.__table__  # type: ignore[assignment]
_state: Table = AggregationState.__table__  # type: ignore[assignment]
_dirty: Table = DirtyCell.__table__  # type: ignore[assignment]
_WATERMARK = "cell_stats"
_ROLLUP_WATERMARK = "cell_stats_rollups"


def reading_class(settings: Settings) -> ColumnElement[str]:
    """SQL: 'covered', 'weak' or 'dead' for one reading.

    Measured dBm against the radio's 1- and 2-bar thresholds (settings, from AOSP);
    no service is dead; a manual report of 0 bars is dead, 1 bar or "calls fail" weak,
    2 or more bars covered.
    """
    r = _readings.c
    by_radio = []
    for radio in Radio:
        one, two = settings.bars_for(radio)
        by_radio.append(
            (
                r.radio == radio.value,
                case((r.signal_dbm >= two, "covered"), (r.signal_dbm >= one, "weak"), else_="dead"),
            )
        )
    return case(
        (r.no_service, "dead"),
        (r.level == 0, "dead"),
        (r.level == 1, "weak"),
        (and_(r.level >= 2, r.calls_fail.is_(True)), "weak"),
        (r.level >= 2, "covered"),
        *by_radio,
        else_="dead",
    )


def reading_weight(settings: Settings) -> ColumnElement[int]:
    r = _readings.c
    return case(
        (r.level.is_not(None), REDUCED_WEIGHT),
        (r.accuracy_m > settings.downweight_accuracy_m, REDUCED_WEIGHT),
        else_=FULL_WEIGHT,
    )


def readings_to_stats(
    settings: Settings, where: ColumnElement[bool], *, resolution: int | None = None
) -> Select[Any]:
    """SELECT of the statistics of the readings matching ``where``, grouped by key: by
    their own cell, or by its parent at a coarser ``resolution`` (a roll-up's rows)."""
    r = _readings.c
    res = settings.h3_resolution if resolution is None else resolution
    cell = r.h3_cell if resolution is None else h3_parent(r.h3_cell, resolution)
    cls = reading_class(settings)
    weight = reading_weight(settings)
    bucket = MonthStart(r.observed_at)

    def weight_of(name: str) -> ColumnElement[Any]:
        return func.sum(case((cls == name, weight), else_=0))

    return (
        select(
            cell.label("h3_cell"),
            r.mcc,
            r.mnc,
            r.radio,
            bucket.label("bucket"),
            literal(res).label("resolution"),
            func.count().label("readings"),
            func.count(r.signal_dbm).label("measured"),
            func.count(r.level).label("manual"),
            func.sum(case((r.no_service, 1), else_=0)).label("no_service"),
            weight_of("covered").label("weight_covered"),
            weight_of("weak").label("weight_weak"),
            weight_of("dead").label("weight_dead"),
            func.coalesce(func.sum(DbmToAttowatts(r.signal_dbm)), 0).label("power_sum_aw"),
            func.min(r.signal_dbm).label("dbm_min"),
            func.max(r.signal_dbm).label("dbm_max"),
            BitOrAggregate(
                literal_column("1", BigInteger).op("<<")(DayOfMonth(r.observed_at) - 1)
            ).label("days_mask"),
            func.min(r.observed_at).label("first_seen"),
            func.max(r.observed_at).label("last_seen"),
        )
        .where(where)
        .group_by(cell, r.mcc, r.mnc, r.radio, bucket)
    )


def readings_to_devices(
    where: ColumnElement[bool], *, resolution: int | None = None
) -> Select[Any]:
    r = _readings.c
    cell = r.h3_cell if resolution is None else h3_parent(r.h3_cell, resolution)
    return (
        select(cell, r.mcc, r.mnc, r.radio, MonthStart(r.observed_at), r.device_hash)
        .where(where)
        .distinct()
    )


STAT_COLUMNS = [c.name for c in _stats.columns]


def safe_max_seq(session: Session) -> int:
    """The highest ``seq`` below which every reading is committed (see module doc).

    On PostgreSQL it takes a short lock that lasts until the transaction ends, so call it
    in a transaction of its own.
    """
    if is_postgres(session):
        _lock_readings_briefly(session)
    top = int(session.scalar(select(func.coalesce(func.max(_readings.c.seq), 0))) or 0)
    return top


LOCK_ATTEMPT_S = 1.0
"""Longest wait for the readings lock in one attempt, seconds. PostgreSQL queues lock
requests: while this lock waits behind a long import, every phone's insert waits behind
it, so it gives up after a second, lets the queue drain, and tries again."""


def _lock_readings_briefly(session: Session, *, attempts: int = 600) -> None:
    for attempt in range(attempts):
        try:
            with session.begin_nested():  # a failed LOCK rolls back to here, not the run
                session.execute(text(f"SET LOCAL lock_timeout = '{int(LOCK_ATTEMPT_S * 1000)}ms'"))
                session.execute(text("LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE"))
                session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
            return
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03" or attempt == attempts - 1:
                raise  # not a lock timeout, or ingest never paused for ten minutes
            time.sleep(LOCK_ATTEMPT_S)


def watermark(session: Session) -> int:
    """The newest ``seq`` already merged into the statistics."""
    value = session.scalar(select(_state.c.last_seq).where(_state.c.name == _WATERMARK))
    return int(value or 0)


def merge_new_readings(session: Session, settings: Settings, *, up_to: int) -> int:
    """Merge the readings above the watermark, up to ``seq`` ``up_to``, into
    ``cell_stats`` and ``cell_devices``; move the watermark. Return how many seqs the
    range spanned (0 when there was nothing new)."""
    start = watermark(session)
    if up_to <= start:
        return 0
    r = _readings.c
    where = r.seq.between(start + 1, up_to)
    insert = functools.partial(upsert_insert, session)
    _merge_into(session, settings, where, resolution=None)
    # The keys whose statistics just changed, in the same transaction as the change: the
    # incremental decisions (service.engine.incremental) start from them.
    dirty = insert(_dirty).from_select(
        ["h3_cell", "mcc", "mnc", "radio", "seq"],
        select(r.h3_cell, r.mcc, r.mnc, r.radio, func.max(r.seq))
        .where(where)
        .group_by(r.h3_cell, r.mcc, r.mnc, r.radio),
    )
    session.execute(
        dirty.on_conflict_do_update(
            index_elements=["h3_cell", "mcc", "mnc", "radio"], set_={"seq": dirty.excluded.seq}
        )
    )
    _set_watermark(session, up_to)
    return up_to - start


def _merge_into(
    session: Session, settings: Settings, where: ColumnElement[bool], *, resolution: int | None
) -> None:
    """Merge the statistics and device sets of the readings matching ``where`` into the
    stored rows of their cells (``resolution`` None), or of their parents at a coarser
    ``resolution``: sums, min, max, bitwise OR, set union (``CellStat``)."""
    insert = functools.partial(upsert_insert, session)
    rows = readings_to_stats(settings, where, resolution=resolution)
    stmt = insert(_stats).from_select(STAT_COLUMNS, rows)
    ex, old = stmt.excluded, _stats.c
    summed = (
        "readings", "measured", "manual", "no_service", "weight_covered", "weight_weak",
        "weight_dead", "power_sum_aw",
    )  # fmt: skip
    updates: dict[str, Any] = {name: old[name] + ex[name] for name in summed}
    updates |= {
        "dbm_min": Least(old.dbm_min, ex.dbm_min),
        "dbm_max": Greatest(old.dbm_max, ex.dbm_max),
        "days_mask": old.days_mask.op("|")(ex.days_mask),
        "first_seen": Least(old.first_seen, ex.first_seen),
        "last_seen": Greatest(old.last_seen, ex.last_seen),
    }
    session.execute(stmt.on_conflict_do_update(index_elements=list(STAT_KEY), set_=updates))
    session.execute(
        insert(_devices)
        .from_select(
            [c.name for c in _devices.columns], readings_to_devices(where, resolution=resolution)
        )
        .on_conflict_do_nothing()
    )


def _set_watermark(session: Session, seq: int, *, name: str = _WATERMARK) -> None:
    stmt = upsert_insert(session, _state).values(name=name, last_seq=seq)
    session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"last_seq": seq}))


def rollup_watermark(session: Session) -> int | None:
    """The statistics' watermark that the roll-up rows stand at: they are exactly the merge
    of the working resolution's rows as they were at that ``seq``. None when not known
    (a store from before it was kept, or statistics rebuilt since the last roll-up)."""
    value = session.scalar(select(_state.c.last_seq).where(_state.c.name == _ROLLUP_WATERMARK))
    return None if value is None else int(value)


def set_rollup_watermark(session: Session, seq: int | None) -> None:
    """Record that the roll-ups stand at ``seq`` (None: forget it, the roll-ups are about
    to be rebuilt or were dropped)."""
    if seq is None:
        session.execute(delete(_state).where(_state.c.name == _ROLLUP_WATERMARK))
    else:
        _set_watermark(session, seq, name=_ROLLUP_WATERMARK)


def add_to_rollups(session: Session, settings: Settings, *, after: int, up_to: int) -> None:
    """Merge the readings ``after < seq <= up_to`` into the roll-up rows of their parents
    at every roll-up resolution, and move the roll-ups' watermark to ``up_to``.

    Exact only when the roll-ups stand at ``after`` (``rollup_watermark``) and the
    statistics at ``up_to`` or later, and the working resolution changed between by
    merges of those readings alone. It does: a merge only adds readings, and every
    statistic merges (sums, min, max, bitwise OR, set union), so adding the range's
    statistics to the parents gives the rows a rebuild from all their children gives. A
    phone becoming trusted moves no statistics (its provisional rows are kept beside
    them, ``service.engine.trust``). Anything that removes statistics (a rebuild) drops
    the roll-ups' watermark and, in the same transaction, makes the next run a full one
    (``service.engine.aggregation.update_statistics``), which rebuilds every roll-up: a
    minimum or a maximum cannot be taken back. The cost is the range's readings, read
    by ``seq``, whatever the parents hold."""
    if up_to < after:
        raise ValueError(f"roll-ups at {after} cannot move back to {up_to}")
    where = _readings.c.seq.between(after + 1, up_to)
    for res in sorted(settings.rollup_resolutions, reverse=True):
        if res >= settings.h3_resolution:
            raise ValueError(f"roll-up resolution {res} must be coarser than the working one")
        if up_to > after:
            _merge_into(session, settings, where, resolution=res)
    set_rollup_watermark(session, up_to)


def rebuild(
    session: Session,
    settings: Settings,
    *,
    up_to: int,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    dask: DaskSource | None = None,
) -> int:
    """Recompute the working resolution's statistics from the raw readings with
    ``seq <= up_to`` (from ``safe_max_seq``), set the watermark there and return it.

    Columnar (``service.engine.columnar``): readings stream out in chunks, polars
    computes the statistics, COPY writes them back; the same rows as
    ``rebuild_in_database``, many times faster. With ``dask`` the partitions are computed
    on a Dask cluster (``service.engine.scaleout``); from an archive, the statistics
    stop at the archive's newest reading, whose seq is returned (the caller merges the
    rest as usual). ``chunk_rows``: readings per chunk (``columnar.DEFAULT_CHUNK_ROWS``).
    """
    # polars, pyarrow and Dask are imported here, for a rebuild: importing them cost every
    # ``deadzone aggregate`` about 0.3 s of CPU, 2 s of wall time on the loaded machine.
    from service.engine.archive import read_manifest
    from service.engine.columnar import (
        DEFAULT_CHUNK_ROWS,
        no_progress,
        statistics_of_readings,
        write_partial,
    )
    from service.engine.scaleout import statistics_on_dask

    chunk_rows = DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows
    progress = no_progress if progress is None else progress
    conn = session.connection()
    if dask is None:
        part = statistics_of_readings(
            conn, settings, up_to=up_to, chunk_rows=chunk_rows, progress=progress
        )
    else:
        if dask.archive is not None:
            archived = read_manifest(dask.archive).max_seq
            if archived > up_to:
                raise InvalidInput(
                    f"{dask.archive} holds readings up to seq {archived}, newer than the "
                    f"database's {up_to}: it was exported from another database"
                )
            up_to = archived
        part = statistics_on_dask(
            conn, settings, scheduler=dask.scheduler, up_to=up_to, archive_dir=dask.archive,
            progress=progress,
        )  # fmt: skip
    _clear(session)
    write_partial(conn, part, progress=progress)
    _set_watermark(session, up_to)
    return up_to


def rebuild_in_database(session: Session, settings: Settings, *, up_to: int) -> None:
    """``rebuild`` as one INSERT ... SELECT per table inside the database: the reference
    that the columnar rebuild is tested against."""
    _clear(session)
    where = _readings.c.seq <= up_to
    session.execute(_stats.insert().from_select(STAT_COLUMNS, readings_to_stats(settings, where)))
    session.execute(
        _devices.insert().from_select(
            [c.name for c in _devices.columns], readings_to_devices(where)
        )
    )
    _set_watermark(session, up_to)


def _clear(session: Session) -> None:
    # The roll-up rows go with the rest: until they are rebuilt, no watermark holds.
    set_rollup_watermark(session, None)
    if is_postgres(session):
        session.execute(text("TRUNCATE cell_stats, cell_devices"))
    else:
        session.execute(delete(_stats))
        session.execute(delete(_devices))


def h3_resolution_of(cell: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[int]:
    """SQL: the resolution field of an H3 cell integer (bits 52-55)."""
    # Inline literals: PostgreSQL has no ``bigint >> bigint`` (the shift must be int).
    return cell.op(">>")(literal_column("52", Integer)).op("&")(literal_column("15", Integer))


def h3_parent(cell: ColumnElement[int], resolution: int) -> ColumnElement[int]:
    keep, set_ = h3_parent_masks(resolution)
    return cell.op("&")(literal(keep, BigInteger)).op("|")(literal(set_, BigInteger))


def rollup(session: Session, settings: Settings, resolutions: Sequence[int]) -> None:
    """Rebuild the statistics of coarser ``resolutions`` by merging the working
    resolution's statistics (and device sets) into their parents.

    Each resolution is merged from the next finer one already rolled up (resolution 7
    from 8, 8 from 9): every statistic merges associatively (sums, min, max, bitwise OR,
    set union), so the rows are the same as from the working resolution, read from a
    seventh of the rows."""
    s, d = _stats.c, _devices.c
    base = settings.h3_resolution
    source = base
    for res in sorted(resolutions, reverse=True):
        if res >= base:
            raise ValueError(f"roll-up resolution {res} must be coarser than {base}")
        session.execute(delete(_stats).where(s.resolution == res))
        session.execute(delete(_devices).where(h3_resolution_of(d.h3_cell) == res))
        _insert_rollup(session, res, base, stats_where=s.resolution == source,
                       devices_where=h3_resolution_of(d.h3_cell) == source)  # fmt: skip
        source = res
    set_rollup_watermark(session, watermark(session))


def rollup_parents(
    session: Session,
    settings: Settings,
    parents: dict[int, set[int]],
    *,
    grown: Collection[int] | None = None,
) -> None:
    """Recompute the roll-up rows of just the given parent cells (``{resolution: cells}``),
    each from all its children at the next finer resolution (as ``rollup`` does): the
    same rows ``rollup`` writes, at a cost proportional to the parents (the incremental
    path). The parents of a resolution must include those of the finer one's.

    ``grown``: the working-resolution cells whose device sets changed since the parents'
    were last rolled up, when they only grew (merges add devices; only a rebuild, which
    is followed by a full roll-up, removes any). Then the parents' device sets take the
    union with those cells' sets alone, taken straight to each resolution, instead of
    being rebuilt from every child: the same sets, at the cost of the batch. (A parent's
    set at the next resolution is its old set and these cells' new rows; its old set is
    already in the coarser parent's, so the coarser parent needs only the new rows, not
    every device row of the finer parents, which grows with the readings under them.)"""
    s, d = _stats.c, _devices.c
    base = settings.h3_resolution
    dialect = dialect_name(session)
    source = base
    changed = None if grown is None else {int(c) for c in grown}
    for res, cells in sorted(parents.items(), reverse=True):
        if res >= base:
            raise ValueError(f"roll-up resolution {res} must be coarser than {base}")
        if not cells:
            continue
        children = [c for p in cells for c in h3i.cell_to_children(p, source)]
        session.execute(
            delete(_stats).where(
                unindexed(session, s.resolution) == res,
                cells_in(s.h3_cell, cells, dialect=dialect),
            )
        )
        if changed is None:
            session.execute(delete(_devices).where(cells_in(d.h3_cell, cells, dialect=dialect)))
        # The children by the primary key: the planner would scan all of cell_stats for
        # the few thousand of an incremental run (read_by_index). A cell's resolution is
        # in its integer, so the cells name their rows without a condition on the
        # resolution column, whose index would read every row of that resolution.
        with read_by_index(session, len(children)):
            _insert_rollup(session, res, base,
                           stats_where=cells_in(s.h3_cell, children, dialect=dialect),
                           devices_where=cells_in(d.h3_cell,
                                                  children if changed is None else changed,
                                                  dialect=dialect),
                           add_devices=changed is not None)  # fmt: skip
        source = res


def _insert_rollup(
    session: Session,
    res: int,
    base: int,
    *,
    stats_where: ColumnElement[bool],
    devices_where: ColumnElement[bool],
    add_devices: bool = False,
) -> None:
    s, d = _stats.c, _devices.c
    parent = h3_parent(s.h3_cell, res)
    merged = (
        select(
            parent,
            s.mcc,
            s.mnc,
            s.radio,
            s.bucket,
            literal(res),
            func.sum(s.readings),
            func.sum(s.measured),
            func.sum(s.manual),
            func.sum(s.no_service),
            func.sum(s.weight_covered),
            func.sum(s.weight_weak),
            func.sum(s.weight_dead),
            func.sum(s.power_sum_aw),
            func.min(s.dbm_min),
            func.max(s.dbm_max),
            BitOrAggregate(s.days_mask),
            func.min(s.first_seen),
            func.max(s.last_seen),
        )
        .where(stats_where)
        .group_by(parent, s.mcc, s.mnc, s.radio, s.bucket)
    )
    session.execute(_stats.insert().from_select(STAT_COLUMNS, merged))
    device_parent = h3_parent(d.h3_cell, res)
    rows = (
        select(device_parent, d.mcc, d.mnc, d.radio, d.bucket, d.device_hash)
        .where(devices_where)
        .distinct()
    )
    columns = [c.name for c in _devices.columns]
    if add_devices:  # a union with the stored sets (``rollup_parents``)
        insert = upsert_insert(session, _devices).from_select(columns, rows)
        session.execute(insert.on_conflict_do_nothing())
    else:
        session.execute(_devices.insert().from_select(columns, rows))


@dataclass(frozen=True)
class CellStats:
    """One row of ``cell_stats`` (plus its device set) as a value, with the same merge
    that the SQL upserts and roll-ups perform: sums, min, max, bitwise OR, set union."""

    readings: int
    measured: int
    manual: int
    no_service: int
    weight_covered: int
    weight_weak: int
    weight_dead: int
    power_sum_aw: int
    dbm_min: float | None
    dbm_max: float | None
    days_mask: int
    first_seen: datetime
    last_seen: datetime
    devices: frozenset[bytes]

    def merge(self, other: CellStats) -> CellStats:
        return CellStats(
            readings=self.readings + other.readings,
            measured=self.measured + other.measured,
            manual=self.manual + other.manual,
            no_service=self.no_service + other.no_service,
            weight_covered=self.weight_covered + other.weight_covered,
            weight_weak=self.weight_weak + other.weight_weak,
            weight_dead=self.weight_dead + other.weight_dead,
            power_sum_aw=self.power_sum_aw + other.power_sum_aw,
            dbm_min=_none_min(self.dbm_min, other.dbm_min),
            dbm_max=_none_max(self.dbm_max, other.dbm_max),
            days_mask=self.days_mask | other.days_mask,
            first_seen=min(self.first_seen, other.first_seen),
            last_seen=max(self.last_seen, other.last_seen),
            devices=self.devices | other.devices,
        )


def _none_min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _none_max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def load_cell_stats(session: Session, *, resolution: int) -> dict[tuple[Any, ...], CellStats]:
    """Every statistics row of a resolution with its devices, keyed by
    (cell, mcc, mnc, radio, bucket): for tests and audits, not for hot paths."""
    s, d = _stats.c, _devices.c
    devices: dict[tuple[Any, ...], set[bytes]] = {}
    for row in session.execute(
        select(d.h3_cell, d.mcc, d.mnc, d.radio, d.bucket, d.device_hash).where(
            h3_resolution_of(d.h3_cell) == resolution
        )
    ):
        devices.setdefault(tuple(row[:5]), set()).add(row[5])
    found = {}
    for row in session.execute(select(_stats).where(s.resolution == resolution)):
        m = row._mapping
        key = (m["h3_cell"], m["mcc"], m["mnc"], m["radio"], m["bucket"])
        found[key] = CellStats(
            **{name: m[name] for name in CellStats.__dataclass_fields__ if name != "devices"},
            devices=frozenset(devices.get(key, ())),
        )
    return found
