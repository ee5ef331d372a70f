"""The incremental path: decisions, roll-ups and dead zones recomputed only where the
statistics changed, and in the neighbourhoods their rules look at.

``merge_new_readings`` records every (cell, operator, radio) whose statistics it changed in
``dirty_cells``, in the transaction of the merge. A run then:

* **roll-ups**: adds the readings merged since the roll-ups' watermark to their parents at
  each roll-up resolution (``statistics.add_to_rollups``: statistics and device sets only
  grow between full runs, and every statistic merges), at the cost of those readings.
  When that watermark is not known (statistics rebuilt, a store from before it), rebuilds
  the parents of the dirty cells from all their children instead and sets it
  (``statistics.rollup_parents``);
* **decisions** at each resolution: per radio and per operator for the dirty cells (each
  depends on its own cell's statistics only), and the best of all operators for the cells
  within ``dead_guard_rings`` of them, since the dead guard of a cell looks that far for an
  operator's coverage; it reads the stored per-operator decisions of the rings around;
* **zones**, per operator scope and scope over radios (any signal, broadband; each read
  from its own decisions alone), at the working resolution: a dead zone's membership can
  change only within reach of a cell whose status changed (one ring, two when unknown
  gaps are bridged), so the zones holding a cell within that reach are taken apart and
  their cells, with the newly dead ones, regrouped; zones holding a cell whose evidence
  changed are described again; a zone's distance to signal changes only when a covered
  cell nearer than it appears, or its nearest covered cell is lost. Ids follow the rule of
  ``zones.assign_ids`` as if the whole scope had been recomputed;
* removes the dirty rows it consumed.

A crash anywhere leaves the dirty rows in place (they are removed in the run's last
transaction), so the next run recomputes them; on SQLite, where the decisions are stored
in chunks before that, the next run takes them all as changed (``decide_incrementally``).
Moving the decision window (a new month, or other settings) is caught
too: the cells with statistics in the months that entered or left the window become dirty,
and a change of the decision rules makes the next run a full one. Village statuses and the
progress figures read the decisions as they stand, so they follow without a step of their
own.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import h3
import numpy as np
import pandas as pd
from h3.api import basic_int as h3i
from sqlalchemy import (
    BindParameter,
    Select,
    bindparam,
    delete,
    distinct,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from domain.radio import UNKNOWN_MNC, operator_code
from domain.vocabulary import (
    ANY_SIGNAL,
    BEST_OF_ALL,
    RADIO_SCOPES,
    SIGNAL_DECISIONS,
    UNKNOWN_OPERATOR,
)
from service.engine import new_sites
from service.engine.chunks import (
    FULL_INCOMPLETE,
    INCOMPLETE_STATE,
    INCREMENTAL_INCOMPLETE,
    on_sqlite,
    parent_groups,
    pause,
    row_chunks,
)
from service.engine.decisions import (
    best_of_operators,
    decide_cells,
    decide_unknown_operator,
    load_operator_decisions,
    window_start,
    with_centres,
    without_unknown_operator,
)
from service.engine.estimate import withdraw_inferred
from service.engine.results import BOX_COLUMNS, store_decisions
from service.engine.statistics import (
    add_to_rollups,
    h3_resolution_of,
    rollup_parents,
    rollup_watermark,
    set_rollup_watermark,
    watermark,
)
from service.engine.trust import load_untrusted, source_ids
from service.engine.zones import (
    EARTH_RADIUS_M,
    NearestCovered,
    Zone,
    assign_ids,
    connected_components,
    describe_zones,
    id_scope,
    might_reach,
    with_every_operators_readings,
)
from service.settings import Settings
from service.store.database import session_scope
from service.store.dialect import (
    cells_in,
    dialect_name,
    is_postgres,
    unindexed,
    upsert_insert,
)
from service.store.frames import raw_frame
from service.store.models import (
    COVERED_ONLY,
    CellDevice,
    CellStat,
    CellStatus,
    DeadZone,
    DirtyCell,
    ZoneCell,
)
from service.store.runs import last_run, set_state_value, state_value

WINDOW_STATE = "decision_window"  # aggregation_state: month index of the window's start
RULES_STATE = "decision_rules"  # aggregation_state: fingerprint of the rules in force
NEW_SITES_STATE = "decision_new_sites"  # aggregation_state: fingerprint of the new sites
PEOPLE_STATE = "decision_people"  # aggregation_state: the people's version the zones rest on

_DIRTY_KEYS = select(
    DirtyCell.h3_cell, DirtyCell.mcc, DirtyCell.mnc, DirtyCell.radio, DirtyCell.seq
)

ZoneHook = Callable[[Session, list[Zone]], None]
ZoneWriter = Callable[[Session, list[Zone]], None]
Scope = tuple[str, str]
"""A scope of decisions and zones: (operator or 'any', scope over radios)."""
_StatusKey = tuple[int, str, str]
"""A decision's key among the statuses of the scopes of zones: (cell, operator, radio)."""

# Settings that shape decisions, roll-ups or zones: a change makes the next run a full one.
_RULE_SETTINGS = (
    "h3_resolution", "rollup_resolutions", "window_months", "min_readings", "min_devices",
    "min_devices_dead", "min_days", "min_dead_confidence", "dead_readings_per_device",
    "evidence_change_alpha",
    "dead_guard_rings",
    "bridge_unknown_gaps", "bars_gsm", "bars_umts", "bars_lte", "bars_nr",
    "downweight_accuracy_m", "trust_upload_days", "contest_confirm_networks",
)  # fmt: skip


def rules_fingerprint(settings: Settings) -> int:
    """A 63-bit fingerprint of the settings the decisions depend on."""
    values: dict[str, object] = {name: getattr(settings, name, None) for name in _RULE_SETTINGS}
    # The scopes over radios the engine decides: a run before broadband existed left none
    # of its rows, so the first run after it is a full one.
    values["radio_scopes"] = list(RADIO_SCOPES)
    # Zones in each of those scopes: a run before broadband zones existed left only those
    # of any signal, so the first run after it is a full one too.
    values["zone_radio_scopes"] = list(RADIO_SCOPES)
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def new_sites_fingerprint(session: Session, settings: Settings, *, now: datetime) -> int:
    """The fingerprint of the sites known to be new at ``now`` (``service.engine.new_sites``):
    0 when there are none, as before any was dated."""
    since = window_start(now, settings.window_months)
    sites = new_sites.load_new_sites(session, settings, since=since, now=now)
    return new_sites.fingerprint(sites) if sites else 0


def can_run_incrementally(
    session: Session, settings: Settings, *, now: datetime | None = None, people: int
) -> bool:
    """Whether the stored decisions are a base the dirty cells can be applied to: a run
    happened, under the same rules, on the same people (the zones' people, villages and
    priority: an import rebuilt them, ``versions.note_people_changed``), and (with ``now``)
    the same sites known to be new (they change dead calls in cells no reading dirtied),
    and the zone index exists (not the case right after the upgrade that added it).
    ``people``: ``people_version``, read by the caller for the run's record too."""
    rules = state_value(session, RULES_STATE)
    if last_run(session) is None or rules != rules_fingerprint(settings):
        return False
    if (state_value(session, PEOPLE_STATE) or 0) != people:
        return False
    if now is not None and (state_value(session, NEW_SITES_STATE) or 0) != (
        new_sites_fingerprint(session, settings, now=now)
    ):
        return False
    if state_value(session, INCOMPLETE_STATE) == FULL_INCOMPLETE:
        return False  # a full run stopped half-way (service.engine.chunks)
    has_zones = session.scalar(select(DeadZone.id).where(DeadZone.active.is_(True)).limit(1))
    indexed = session.scalar(select(ZoneCell.zone_id).limit(1))
    return has_zones is None or indexed is not None


def most_cells_changed(session: Session, settings: Settings) -> bool:
    """Whether the dirty cells are more than ``incremental_max_changed_share`` of the cells
    the last run decided at the working resolution: the full path then decides them for
    no more than this one, which reads each changed cell's neighbourhood and parents on top
    (docs/scale.md). Counted from the dirty rows, which grow with the batch, and the last
    run's record, not from the statistics."""
    last = last_run(session)
    if last is None:
        return False
    changed = session.scalar(select(func.count(distinct(DirtyCell.h3_cell)))) or 0
    return bool(changed > settings.incremental_max_changed_share * last.cells)


def record_decision_state(
    session: Session, settings: Settings, *, now: datetime, people: int
) -> None:
    """Remember the window, rules and people (``people_version`` read before the run read
    any: an import committed during the run makes the next one full) the stored decisions
    were made with."""
    set_state_value(session, PEOPLE_STATE, people)
    set_state_value(session, WINDOW_STATE, _month_index(window_start(now, settings.window_months)))
    set_state_value(session, RULES_STATE, rules_fingerprint(settings))
    set_state_value(session, NEW_SITES_STATE, new_sites_fingerprint(session, settings, now=now))


def clear_dirty(session: Session, *, up_to: int) -> None:
    """After a full run over the readings up to seq ``up_to`` every cell is decided afresh
    (cells a merge beside it dirtied later stay)."""
    session.execute(delete(DirtyCell).where(DirtyCell.seq <= up_to))


def _mark_window_moves(session: Session, settings: Settings, *, now: datetime) -> None:
    """Cells with statistics in the months that entered or left the decision window since
    the last run become dirty (once a month, a month's cells)."""
    before = state_value(session, WINDOW_STATE)
    start = window_start(now, settings.window_months)
    if before is None or before == _month_index(start):
        return
    earlier = date(before // 12, before % 12 + 1, 1)
    low, high = min(earlier, start), max(earlier, start)
    s = CellStat
    moved = (
        select(s.h3_cell, s.mcc, s.mnc, s.radio)
        .where(s.resolution == settings.h3_resolution, s.bucket >= low, s.bucket < high)
        .distinct()
    )
    fresh = [dict(zip(("h3_cell", "mcc", "mnc", "radio"), row, strict=True)) | {"seq": 0}
             for row in session.execute(moved)]  # fmt: skip
    if fresh:
        session.execute(upsert_insert(session, DirtyCell.__table__).on_conflict_do_nothing(), fresh)


@dataclass
class IncrementalResult:
    """What an incremental run touched."""

    dirty_cells: int = 0
    decided_cells: dict[int, int] = field(default_factory=dict)
    status_changes: dict[Scope, int] = field(default_factory=dict)
    """Cells whose status changed, per (operator scope, scope over radios)."""
    zones_rewritten: int = 0
    scopes_changed: set[str] = field(default_factory=set)
    """Operator scopes whose decisions were recomputed ('any' whenever anything was)."""
    best_cells_moved: dict[int, int] | None = field(default_factory=dict)
    """Per resolution, how many cells gained a best-of-all decision (negative: lost one),
    against the decisions as the last run left them; None when not known (a run that
    redoes one stopped between its chunks of decisions)."""


def _disk(cells: Iterable[int], rings: int) -> set[int]:
    if rings <= 0:
        return set(cells)
    return {n for c in cells for n in h3i.grid_disk(c, rings)}


def decide_incrementally(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    people: int,
    annotate_zones: ZoneHook | None,
    write_zones: ZoneWriter,
    finish: Callable[[Session, IncrementalResult], None] | None = None,
    on_step: Callable[[str, int, int], None] | None = None,
) -> IncrementalResult:
    """Apply the dirty cells (module doc). ``people``: the people's version read when the
    run was found incremental (``record_decision_state``). ``write_zones`` stores zones
    (keeping their ids' states), as the full path does; ``finish`` runs last in the
    transaction that stores the zones (the caller's record of the run);
    ``on_step('store', done, total)`` follows each chunk of decisions stored on SQLite.

    The database's writer is held only while rows are written (SQLite has one writer, and
    phones' uploads wait for it): the window's moves and the roll-ups of the dirty cells'
    parents (on SQLite a group of parents per transaction); the decisions, computed in a
    read-only transaction; then, on PostgreSQL in one transaction, the decisions, the zones
    around them and the dirty rows' removal. On SQLite the decisions are stored whole cells
    at a time in short transactions (``service.engine.chunks``), the zones are computed
    from them in a read-only one, and written last with the dirty rows' removal. Nothing
    else writes what is read between (one aggregation at a time, ``service.store.locks``;
    ingest writes only readings and their counters), and a crash anywhere leaves the dirty
    rows for the next run; after one between the decisions' chunks, the next run takes
    every cell it decides as changed (``_Changes``), since some already hold their new
    status."""
    sqlite = on_sqlite(sessions)
    with session_scope(sessions) as session:
        _mark_window_moves(session, settings, now=now)
        redo = state_value(session, INCOMPLETE_STATE) == INCREMENTAL_INCOMPLETE
        dirty: list[tuple[int, int, int, str]] = []
        seen = 0
        for cell, mcc, mnc, radio, seq in session.execute(_DIRTY_KEYS):
            dirty.append((int(cell), int(mcc), int(mnc), str(radio)))
            seen = max(seen, int(seq))
        # After a stop between chunks some cells hold their new rows already: what they
        # held before, and so the counts' move, is not known.
        result = IncrementalResult(dirty_cells=len(dirty), best_cells_moved=None if redo else {})
        if not dirty:
            record_decision_state(session, settings, now=now, people=people)
            if finish is not None:
                finish(session, result)
            return result
        base = settings.h3_resolution
        cells = {int(row[0]) for row in dirty}
        evidence_moved = {(int(row[0]), operator_code(row[1], row[2])) for row in dirty}
        parents = {
            res: {h3i.cell_to_parent(c, res) for c in cells} for res in settings.rollup_resolutions
        }
        merged_to = watermark(session)
        rolled_to = rollup_watermark(session)
        # The roll-ups take the readings merged since they were last brought up to date,
        # when they are known to stand at a watermark (``statistics.add_to_rollups``);
        # otherwise the dirty cells' parents are rebuilt from all their children.
        by_addition = rolled_to is not None and rolled_to <= merged_to
        if not sqlite:
            if by_addition:
                assert rolled_to is not None
                add_to_rollups(session, settings, after=rolled_to, up_to=merged_to)
            else:
                # Between full runs device sets only grow: the parents' take the dirty
                # cells' sets.
                rollup_parents(session, settings, parents, grown=cells)
                set_rollup_watermark(session, merged_to)
    if sqlite:
        _rollup_on_sqlite(
            sessions, settings, cells=cells, merged_to=merged_to,
            rolled_to=rolled_to if by_addition else None,
        )  # fmt: skip
    changes: dict[Scope, set[int]] = {}
    refreshed: dict[Scope, set[int]] = {}
    old: dict[_StatusKey, str] = {}
    new: dict[_StatusKey, str] = {}
    decided: list[_Decided] = []
    with session_scope(sessions, write=False) as session:
        # Trust moves only when readings merge: one read serves every resolution.
        untrusted = load_untrusted(session)
        for res, these in [(base, cells), *parents.items()]:
            moved: dict[str, set[int]] = {}
            for cell, operator in evidence_moved:
                if operator == UNKNOWN_OPERATOR:  # its decisions are never stored
                    continue
                parent = cell if res == base else h3i.cell_to_parent(cell, res)
                moved.setdefault(operator, set()).add(parent)
            before, after, planned = _decide(
                session, settings, resolution=res, cells=these, now=now, untrusted=untrusted,
                moved=None if redo else moved, redo=redo,
            )  # fmt: skip
            decided.append(planned)
            result.decided_cells[res] = len(these)
            if result.best_cells_moved is not None:
                result.best_cells_moved[res] = _best_rows(after) - _best_rows(before)
            if res == base:
                old, new = before, after
                if redo:
                    old = _as_if_all_changed(before, after)
                # A zone's figures read its cells' rows of its own scope, the device sets
                # of its operator (of all of them for the best of all) and which operators
                # are dead in its cells: they move only where that operator's statistics
                # did (the dirty keys) or where an operator became or stopped being dead.
                # The other rows of a dirty cell, and the neighbours decided again for the
                # dead guard, keep their figures unless their status changed (``changes``).
                dead_moved = {
                    (key[0], key[2])
                    for key in before.keys() | after.keys()
                    if before.get(key) != after.get(key)
                    and "dead" in (before.get(key), after.get(key))
                }
                for cell, operator, radio in after:
                    if (
                        redo
                        or (cell, operator) in evidence_moved
                        or (operator == BEST_OF_ALL and cell in cells)
                        or (cell, radio) in dead_moved
                    ):
                        refreshed.setdefault((operator, radio), set()).add(cell)
                for key in before.keys() | after.keys():
                    if redo or before.get(key) != after.get(key):
                        changes.setdefault((key[1], key[2]), set()).add(key[0])
    result.status_changes = {scope: len(c) for scope, c in changes.items()}
    # The estimated field is refreshed on its own schedule (``estimate_interval_s``):
    # until then, a cell measured now loses its inferred status (never beside a
    # measurement).
    measured = {cell for (cell, _, radio), status in new.items()
                if radio == ANY_SIGNAL and status != "unknown"}  # fmt: skip
    scopes = sorted(changes.keys() | refreshed.keys())  # (operator, radio scope)

    def plan_zones(session: Session) -> list[_ZonePlan]:
        reads = _read_zones(session, settings, scopes=scopes, changes=changes, refreshed=refreshed)
        return [
            _plan_scope_zones(
                session, settings, scope=scope, changed=changes.get(scope, set()), old=old,
                new=new, now=now, annotate_zones=annotate_zones, reads=reads,
                untrusted=untrusted,
            )
            for scope in scopes
        ]  # fmt: skip

    plans: list[_ZonePlan] = []
    # A run whose decisions fit in one chunk stores them with its zones, at once.
    chunked = sqlite and sum(len(p.rows) for p in decided) > settings.sqlite_write_chunk_rows
    if chunked:
        _store_decided_in_chunks(sessions, settings, decided, measured=measured, on_step=on_step)
        with session_scope(sessions, write=False) as session:
            plans = plan_zones(session)
    with session_scope(sessions) as session:
        if not chunked:
            for planned in decided:
                _store_decided(session, planned)
            withdraw_inferred(session, resolution=base, cells=measured)
            plans = plan_zones(session)
        for plan in plans:
            result.zones_rewritten += _apply_zone_plan(session, plan, write_zones=write_zones)
        # Every scope whose rows were recomputed (figures may move without a status change).
        # The unknown operator is no scope: its readings move the best of all only.
        result.scopes_changed = {
            operator_code(mcc, mnc) for _, mcc, mnc, _ in dirty if mnc != UNKNOWN_MNC
        } | {BEST_OF_ALL}
        # Only what this run read: a merge committed meanwhile raised its rows' seq above.
        session.execute(delete(DirtyCell).where(DirtyCell.seq <= seen))
        record_decision_state(session, settings, now=now, people=people)
        if sqlite:
            set_state_value(session, INCOMPLETE_STATE, 0)
        if finish is not None:
            finish(session, result)
    return result


def _rollup_on_sqlite(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    cells: set[int],
    merged_to: int,
    rolled_to: int | None,
) -> None:
    """SQLite's roll-ups in short transactions (one writer; phones' uploads wait for it).
    From ``rolled_to``: the readings merged since, ``sqlite_merge_chunk_readings`` of
    them per transaction, each moving the roll-ups' watermark with its readings (a crash
    between leaves the rest for the next run). Without it: the parents of the dirty
    ``cells`` rebuilt, a group of parents per transaction, and the watermark set last."""
    if rolled_to is not None:
        chunk = settings.sqlite_merge_chunk_readings
        for start in range(rolled_to, merged_to, chunk):
            pause(sessions)
            with session_scope(sessions) as session:
                add_to_rollups(session, settings, after=start, up_to=min(start + chunk, merged_to))
        return
    groups = parent_groups(
        cells, tuple(settings.rollup_resolutions), settings.sqlite_rollup_chunk_parents
    )
    for group, members in groups:
        pause(sessions)
        with session_scope(sessions) as session:
            rollup_parents(session, settings, group, grown=members)
    with session_scope(sessions) as session:
        set_rollup_watermark(session, merged_to)


def _best_rows(statuses: dict[_StatusKey, str]) -> int:
    """How many of ``statuses`` are best-of-all decisions over every radio (a cell's one
    row that ``aggregation``'s counts of decided cells count)."""
    return sum(
        1 for _, operator, radio in statuses if operator == BEST_OF_ALL and radio == BEST_OF_ALL
    )


def _as_if_all_changed(
    before: dict[_StatusKey, str], after: dict[_StatusKey, str]
) -> dict[_StatusKey, str]:
    """The statuses 'before' a run that redoes one stopped between its chunks of decisions:
    some cells already hold their new status, so what they held before is unknown. Every
    decided cell is then taken as changed, and every one not covered now as having been
    covered, so that zones whose nearest covered cell it might have been are described
    again: more work than needed, the same zones as a run that was never stopped."""
    return {key: "covered" for key in before.keys() | after.keys() if after.get(key) != "covered"}


def _store_decided_in_chunks(
    sessions: sessionmaker[Session],
    settings: Settings,
    decided: list[_Decided],
    *,
    measured: set[int],
    on_step: Callable[[str, int, int], None] | None,
) -> None:
    """SQLite: ``_store_decided`` whole cells at a time, about ``sqlite_write_chunk_rows``
    rows per transaction, with the inferred statuses withdrawn where they are measured.
    The first marks the run incomplete until its zones are stored."""
    work: list[_Decided] = []
    for planned in decided:
        rows = planned.rows.sort_values("h3_cell", kind="stable", ignore_index=True)
        keys = rows["h3_cell"].to_numpy(np.int64)
        # Cells whose rows all go (decided before, nothing now) weigh one row each.
        everything = set(planned.cells).union(*planned.suspects.values())
        weights = np.concatenate([keys, np.array(sorted(everything - set(keys.tolist())),
                                                 dtype=np.int64)])  # fmt: skip
        for chunk in row_chunks(weights, settings.sqlite_write_chunk_rows):
            mine = set(chunk.tolist())
            low = int(np.searchsorted(keys, chunk[0], side="left"))
            high = int(np.searchsorted(keys, chunk[-1], side="right"))
            part = _Decided(
                planned.resolution, planned.cells & mine, rows.iloc[low:high],
                {radio: cells & mine for radio, cells in planned.suspects.items()},
                None if planned.moved is None
                else {op: cells & mine for op, cells in planned.moved.items()},
            )  # fmt: skip
            work.append(part)
    for i, part in enumerate(work):
        pause(sessions)
        with session_scope(sessions) as session:
            if i == 0:
                set_state_value(session, INCOMPLETE_STATE, INCREMENTAL_INCOMPLETE)
            _store_decided(session, part)
            if part.resolution == settings.h3_resolution:
                stored = set(part.cells).union(*part.suspects.values())
                withdraw_inferred(session, resolution=part.resolution,
                                  cells=measured & stored)  # fmt: skip
        if on_step is not None:
            on_step("store", i + 1, len(work))
    pause(sessions)


@dataclass
class _Decided:
    """The new decisions of one resolution, computed and not yet stored: the rows, the cells
    whose rows they replace, and the neighbours (per radio scope) whose best of all they
    replace."""

    resolution: int
    cells: set[int]
    rows: pd.DataFrame
    suspects: dict[str, set[int]] = field(default_factory=dict)
    moved: dict[str, set[int]] | None = None
    """Per operator, the cells whose rows of that operator ``rows`` replace, beside the
    best of all's rows of ``cells``; None: every row of ``cells``."""


def _store_decided(session: Session, decided: _Decided) -> None:
    dialect = dialect_name(session)
    u = functools.partial(unindexed, session)
    c = CellStatus
    res = decided.resolution
    # No ORM objects are loaded, so nothing to synchronise: without this the ORM asks
    # PostgreSQL to return the key of every deleted row.
    plain = {"synchronize_session": False}
    for radio, suspects in decided.suspects.items():
        session.execute(
            delete(c).where(
                u(c.resolution) == res, u(c.operator) == BEST_OF_ALL,
                u(c.radio) == radio, cells_in(c.h3_cell, suspects, dialect=dialect),
            ).execution_options(**plain)
        )  # fmt: skip
    if decided.moved is None:
        session.execute(
            delete(c)
            .where(u(c.resolution) == res, cells_in(c.h3_cell, decided.cells, dialect=dialect))
            .execution_options(**plain)
        )
    else:
        # The best of all's rows and those of the operators whose evidence moved; the
        # other operators' rows of these cells stand as stored (``_decide``).
        for operator, cells in [(BEST_OF_ALL, decided.cells), *decided.moved.items()]:
            if cells:
                session.execute(
                    delete(c).where(
                        u(c.resolution) == res, u(c.operator) == operator,
                        cells_in(c.h3_cell, cells, dialect=dialect),
                    ).execution_options(**plain)
                )  # fmt: skip
    store_decisions(session, decided.rows)


def _decide(
    session: Session,
    settings: Settings,
    *,
    resolution: int,
    cells: set[int],
    now: datetime,
    untrusted: pd.DataFrame,
    moved: dict[str, set[int]] | None = None,
    redo: bool = False,
) -> tuple[dict[_StatusKey, str], dict[_StatusKey, str], _Decided]:
    """Recompute the decisions of ``cells`` and the best of all operators where it may
    move, in each scope over radios (any signal, broadband), reading only; return the
    statuses in those scopes (the scopes of the dead zones) before and after, by (cell,
    operator scope, scope over radios), and the rows to store (``_store_decided``).
    ``untrusted``: ``trust.load_untrusted``'s frame, read once for the run. ``redo``: a
    run redoing one stopped between its chunks, whose stored decisions may be new already
    (every cell is then taken as a source of the dead guard's moves). ``moved``: per
    operator, the cells whose statistics of it moved. Only those operators' rows (and
    the best of all's) are to be stored: an operator's decisions read its own evidence
    only (``decisions.decide_cells``), so the others' come out as stored. Rewriting them
    too wrote twice the rows a batch changes (docs/scale.md). None: every row."""
    dialect = dialect_name(session)
    u = functools.partial(unindexed, session)
    per_cell, _ = decide_cells(
        session, settings, resolution=resolution, now=now, cells=cells, untrusted=untrusted
    )
    c = CellStatus
    before: dict[_StatusKey, str] = {}
    for cell, scope, radio, status in session.execute(
        select(c.h3_cell, c.operator, c.radio, c.status).where(
            u(c.resolution) == resolution, u(c.radio).in_(RADIO_SCOPES),
            cells_in(c.h3_cell, cells, dialect=dialect),
        )
    ):  # fmt: skip
        before[(int(cell), scope, radio)] = status
    bests = []
    planned = _Decided(resolution, cells, pd.DataFrame(), moved=moved)
    sources = {
        radio: set(cells) if redo else _signal_moved(per_cell, before, radio=radio)
        for radio in RADIO_SCOPES
    }
    guarded = _guarded_around(
        session, settings, resolution=resolution, cells=cells, sources=sources, now=now
    )
    for radio in RADIO_SCOPES:
        best, suspects, suspect_before = _best_of_all_around(
            session, settings, per_cell, resolution=resolution, cells=cells, radio=radio,
            now=now, guarded=guarded.get(radio, {}), untrusted=untrusted,
        )  # fmt: skip
        bests.append(best)
        before |= suspect_before
        if suspects:
            planned.suspects[radio] = suspects
    operators = without_unknown_operator(per_cell)
    overall = pd.concat(
        [operators[operators["radio"].isin(RADIO_SCOPES)], *bests], ignore_index=True
    )
    if moved is not None:
        operators = operators[_rows_of(operators, moved)]
    rows = with_centres(pd.concat([operators, *bests], ignore_index=True), resolution)
    planned.rows = rows
    # Whole columns to Python lists first: iterating pandas' Arrow-backed strings value
    # by value cost a third of a second a run.
    after = {
        (int(cell), str(scope), str(radio)): str(status)
        for cell, scope, radio, status in zip(
            overall["h3_cell"].tolist(),
            overall["operator"].tolist(),
            overall["radio"].tolist(),
            overall["status"].tolist(),
            strict=True,
        )
    }
    return before, after, planned


def _rows_of(frame: pd.DataFrame, cells_of: dict[str, set[int]]) -> np.ndarray:
    """Which rows of ``frame`` are of an operator of ``cells_of`` in one of its cells."""
    found = np.zeros(len(frame), dtype=bool)
    for operator, cells in cells_of.items():
        mine = (frame["operator"] == operator).to_numpy()
        if mine.any():
            found |= mine & frame["h3_cell"].isin(list(cells)).to_numpy()
    return found


def _signal_moved(per_cell: pd.DataFrame, before: dict[_StatusKey, str], *, radio: str) -> set[int]:
    """The cells whose operators with signal (covered or weak) in the scope over radios
    ``radio`` differ between their stored decisions (``before``) and their new ones
    (``per_cell``): the only cells whose change can move a neighbour's best of all, since
    the dead guard reads nothing else of them (``decisions.best_of_operators``; the
    unknown operator is never a guard)."""
    was = {
        (cell, operator)
        for (cell, operator, scope), status in before.items()
        if scope == radio and operator != BEST_OF_ALL and status in SIGNAL_DECISIONS
    }
    rows = per_cell[
        (per_cell["radio"] == radio)
        & per_cell["status"].isin(SIGNAL_DECISIONS)
        & (per_cell["operator"] != UNKNOWN_OPERATOR)
        & (per_cell["operator"] != BEST_OF_ALL)
    ]
    now = set(
        zip(rows["h3_cell"].astype(np.int64).tolist(), rows["operator"].tolist(), strict=True)
    )
    return {cell for cell, _ in was ^ now}


def _guarded_around(
    session: Session,
    settings: Settings,
    *,
    resolution: int,
    cells: set[int],
    sources: dict[str, set[int]],
    now: datetime,
) -> dict[str, dict[int, str]]:
    """The neighbours of ``cells`` whose best of all operators may move through the dead
    guard (``_best_of_all_around``), per scope over radios: their stored best of all.

    A neighbour's best moves only if an operator's signal within ``dead_guard_rings`` of
    it came or went (its own decisions stand): only the neighbours of ``sources`` (per
    scope over radios, the cells of ``cells`` whose operators with signal changed,
    ``_signal_moved``) are looked at: most of a batch's cells change no operator's signal
    (of a spread batch's 995 cells at 300,000 stored readings, 69; the suspects decided
    again went from 22 to none at resolution 9 and from 57 to 14 at 8, per scope over
    radios; issue 12), while the neighbours of all of them grow with the dead cells.

    The guard acts only where the best before it is dead: no operator better than dead,
    one dead. So a neighbour within ``dead_guard_rings`` is taken when its stored best is
    dead, or unknown while one of its operators is dead (stored, or the unknown operator,
    whose decisions are not stored: any cell with its statistics); an unknown best with
    no dead operator is unknown for want of evidence, which no neighbour changes.

    Read from the dead side first: the neighbours with a dead call stored (best or an
    operator's, the partial index of dead calls) and those with the unknown operator's
    statistics, then the stored best of just those. Reading the best of every neighbour
    first read tens of thousands of rows, most of them unknown for want of evidence. Both
    scopes over radios are read at once (three statements: on PostgreSQL each is a round
    trip)."""
    rings = settings.dead_guard_rings
    if rings <= 0:
        return {}
    dialect = dialect_name(session)
    u = functools.partial(unindexed, session)
    c = CellStatus
    reach = {radio: _disk(found, rings) - cells for radio, found in sources.items() if found}
    around = set().union(*reach.values()) if reach else set()
    if not around:
        return {}
    dead_best: dict[str, set[int]] = {}
    dead_in: dict[str, set[int]] = {}
    for cell, radio, operator in session.execute(
        select(c.h3_cell, c.radio, c.operator).where(
            u(c.resolution) == resolution, u(c.radio).in_(RADIO_SCOPES), c.status == "dead",
            cells_in(c.h3_cell, around, dialect=dialect),
        )
    ):  # fmt: skip
        found = dead_best if operator == BEST_OF_ALL else dead_in
        found.setdefault(radio, set()).add(int(cell))
    s = CellStat
    unknown_operator = {
        int(cell)
        for cell in session.scalars(
            select(s.h3_cell).where(
                u(s.resolution) == resolution, s.mnc == UNKNOWN_MNC,
                s.bucket >= window_start(now, settings.window_months),
                cells_in(s.h3_cell, around, dialect=dialect),
            )
        )
    }  # fmt: skip
    candidates = unknown_operator.union(*dead_best.values(), *dead_in.values())
    if not candidates:
        return {}
    guarded: dict[str, dict[int, str]] = {}
    for cell, radio, status in session.execute(
        select(c.h3_cell, c.radio, c.status).where(
            u(c.resolution) == resolution, u(c.radio).in_(RADIO_SCOPES),
            u(c.operator) == BEST_OF_ALL, c.status.in_(("dead", "unknown")),
            cells_in(c.h3_cell, candidates, dialect=dialect),
        )
    ):  # fmt: skip
        cell = int(cell)
        if cell not in reach.get(radio, ()):
            continue
        if status == "dead" or cell in dead_in.get(radio, set()) or cell in unknown_operator:
            guarded.setdefault(radio, {})[cell] = status
    return guarded


def _best_of_all_around(
    session: Session,
    settings: Settings,
    per_cell: pd.DataFrame,
    *,
    resolution: int,
    cells: set[int],
    radio: str,
    now: datetime,
    guarded: dict[int, str],
    untrusted: pd.DataFrame,
) -> tuple[pd.DataFrame, set[int], dict[_StatusKey, str]]:
    """The best of all operators of one scope over radios (``radio``) for ``cells`` and for
    the neighbours whose best may move; returns it, those neighbours (the suspects) and
    their stored statuses (by cell, 'any', ``radio``).

    Around ``cells`` the per-operator decisions stand, so a neighbour's best of all can
    only move through the dead guard: only the neighbours ``_guarded_around`` found
    (``guarded``: their stored best) are decided again, and the guard reads the decisions
    with signal (covered or weak) within ``dead_guard_rings`` of the dead ones."""
    dialect = dialect_name(session)
    u = functools.partial(unindexed, session)
    rings = settings.dead_guard_rings
    c = CellStatus
    before = {(cell, BEST_OF_ALL, radio): status for cell, status in guarded.items()}
    suspects = set(guarded)
    per_operator = per_cell[per_cell["radio"] == radio]
    if suspects:
        stored = load_operator_decisions(
            session, resolution=resolution, cells=suspects, radio=radio
        )
        # The unknown operator's decisions are never stored: decided again from statistics.
        unknown = decide_unknown_operator(
            session, settings, resolution=resolution, now=now, cells=suspects, radio=radio,
            untrusted=untrusted,
        )  # fmt: skip
        # An empty frame (object columns) would turn NaN figures into stored NaN, not NULL.
        parts = [per_operator, stored] + ([unknown] if not unknown.empty else [])
        per_operator = pd.concat(parts, ignore_index=True)
    covered = None
    if rings > 0:
        signal = per_operator["status"].isin(SIGNAL_DECISIONS)
        fresh = per_operator[signal][["h3_cell", "operator"]]
        pre = best_of_operators(per_operator, radio=radio)
        dead = pre.loc[pre["status"] == "dead", "h3_cell"].astype(np.int64).tolist()
        around = _disk(dead, rings) - cells - suspects
        found = raw_frame(
            session,
            select(c.h3_cell, c.operator).where(
                u(c.resolution) == resolution, u(c.radio) == radio,
                u(c.operator) != BEST_OF_ALL, c.status.in_(SIGNAL_DECISIONS),
                cells_in(c.h3_cell, around, dialect=dialect),
            ),
            ["h3_cell", "operator"],
        ) if around else pd.DataFrame(columns=["h3_cell", "operator"])  # fmt: skip
        covered = pd.concat([fresh, found.astype({"h3_cell": np.int64})], ignore_index=True)
    best = best_of_operators(per_operator, guard_rings=rings, covered=covered, radio=radio)
    return best, suspects, before


@dataclass
class _ZonePlan:
    """One scope's zones regrouped near the changes, not yet written: the zones taken
    apart (``hit``), those of them gone, and the zones to write."""

    scope: Scope
    regrouped: bool = False
    """False when no zone and no dead cell was near the changes: nothing to write."""
    hit: set[str] = field(default_factory=set)
    gone: list[str] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)


@dataclass
class _ZoneReads:
    """What the zones of every scope are planned from first, read for all the scopes at
    once (on PostgreSQL each statement is a round trip; most batches touch no zone)."""

    near: dict[Scope, set[str]] = field(default_factory=dict)
    """Per scope, the zones holding a cell within reach of its changes (module doc)."""


def _gained_lost(
    scope: Scope, changed: set[int], old: dict[_StatusKey, str], new: dict[_StatusKey, str]
) -> tuple[set[int], set[int]]:
    """The changed cells of a scope that became covered, and those that were covered."""
    gained = {c for c in changed if new.get((c, *scope)) == "covered"}
    lost = {c for c in changed if old.get((c, *scope)) == "covered"}
    return gained, lost


def _read_zones(
    session: Session,
    settings: Settings,
    *,
    scopes: list[Scope],
    changes: dict[Scope, set[int]],
    refreshed: dict[Scope, set[int]],
) -> _ZoneReads:
    """The zones every scope's plan starts from (``_ZoneReads``), in one statement for all
    the scopes instead of one per scope."""
    zc = ZoneCell
    reach = 2 if settings.bridge_unknown_gaps else 1
    touched = {
        scope: _disk(changes.get(scope, set()), reach) | refreshed.get(scope, set())
        for scope in scopes
    }
    reads = _ZoneReads()
    around = set().union(*touched.values()) if touched else set()
    if around:
        for zone_id, operator, radio, cell in session.execute(
            select(zc.zone_id, zc.operator, zc.radio, zc.h3_cell).where(
                zc.operator.in_(sorted({o for o, _ in scopes})),
                zc.radio.in_(sorted({r for _, r in scopes})),
                cells_in(zc.h3_cell, around, dialect=dialect_name(session)),
            )
        ):  # fmt: skip
            scope = (operator, radio)
            if int(cell) in touched.get(scope, ()):
                reads.near.setdefault(scope, set()).add(zone_id)
    return reads


def _plan_scope_zones(
    session: Session,
    settings: Settings,
    *,
    scope: Scope,
    changed: set[int],
    old: dict[_StatusKey, str],
    new: dict[_StatusKey, str],
    now: datetime,
    annotate_zones: ZoneHook | None,
    reads: _ZoneReads,
    untrusted: pd.DataFrame,
) -> _ZonePlan:
    """Regroup and describe the zones of one scope (operator, scope over radios) near the
    changes (module doc), reading only: the decisions as stored, the zones as the last
    run left them (``reads``: what ``_read_zones`` found of them). ``untrusted``: the
    run's ``trust.load_untrusted`` frame (a zone's phones are counted by source)."""
    dialect = dialect_name(session)
    u = functools.partial(unindexed, session)
    zc = ZoneCell
    operator, radio = scope
    hit = set(reads.near.get(scope, set()))
    gained, lost = _gained_lost(scope, changed, old, new)
    if gained or lost:
        hit |= _zones_nearer_to_signal(session, scope=scope, gained=gained, lost=lost, hit=hit)
    if not hit and not any(new.get((c, *scope)) == "dead" for c in changed):
        # No zone near the changes and no dead cell among them (their statuses as just
        # stored): nothing to regroup, describe or rank; the scope's zones and ranks stand.
        # Most scopes of most batches: this spares their queries and the areas layer.
        return _ZonePlan(scope)
    previous: dict[str, list[int]] = {}
    if hit:
        for zone_id, cell in session.execute(
            select(zc.zone_id, zc.h3_cell).where(zc.zone_id.in_(sorted(hit)))
        ):
            previous.setdefault(zone_id, []).append(int(cell))
    candidates = {c for cells in previous.values() for c in cells} | changed
    if not candidates:
        return _ZonePlan(scope)
    c = CellStatus
    base = settings.h3_resolution
    scope_rows = raw_frame(
        session,
        select(c.h3_cell, c.status, c.readings, c.first_seen, c.last_seen).where(
            u(c.operator) == operator, u(c.radio) == radio, u(c.resolution) == base,
            cells_in(c.h3_cell, candidates, dialect=dialect),
        ),
        ["h3_cell", "status", "readings", "first_seen", "last_seen"],
    )  # fmt: skip
    dead = scope_rows[scope_rows["status"] == "dead"].copy()
    dead["h3_cell"] = dead["h3_cell"].astype(np.int64)
    for name in ("first_seen", "last_seen"):  # the driver's text (SQLite) or datetimes
        dead[name] = pd.to_datetime(dead[name], utc=True, format="ISO8601")
    dead_cells = [int(x) for x in dead["h3_cell"]]
    if operator == BEST_OF_ALL and dead_cells:  # as the full path counts them (zones.py)
        summed = raw_frame(
            session,
            select(c.h3_cell, func.sum(c.readings))
            .where(
                u(c.resolution) == base, u(c.radio) == radio, u(c.operator) != BEST_OF_ALL,
                cells_in(c.h3_cell, dead_cells, dialect=dialect),
            )
            .group_by(c.h3_cell),
            ["h3_cell", "readings"],
        )  # fmt: skip
        dead = with_every_operators_readings(
            dead, summed.set_index("h3_cell")["readings"].astype(np.int64)
        )
    bridge = None
    if settings.bridge_unknown_gaps and dead_cells:
        around = _disk(dead_cells, 1) - set(dead_cells)
        bridge = {
            h3.int_to_str(int(cell))
            for cell in session.scalars(
                select(c.h3_cell).where(
                    u(c.operator) == operator, u(c.radio) == radio, u(c.resolution) == base,
                    c.status == "unknown", cells_in(c.h3_cell, around, dialect=dialect),
                )
            )
        }  # fmt: skip
    components = connected_components((h3.int_to_str(x) for x in dead_cells), bridge=bridge)
    previous_str = {z: sorted(h3.int_to_str(x) for x in cells) for z, cells in previous.items()}
    held, position = _outside_ids(session, scope=scope, components=components, hit=hit)
    ids = assign_ids(components, previous_str, id_scope(*scope), held=held, position=position)
    zones = describe_zones(
        operator, ids, components, dead=dead,
        devices=_zone_devices(
            session, settings, scope=operator, cells=dead_cells, now=now, untrusted=untrusted
        ),
        dead_operators=_dead_operators(session, base, scope, dead_cells),
        nearest=_CoveredNearby(session, scope=scope, resolution=base),
        resolution=base, radio=radio,
    )  # fmt: skip
    if annotate_zones is not None:
        annotate_zones(session, zones)
    return _ZonePlan(scope, True, hit, sorted(hit - set(ids)), zones)


def _apply_zone_plan(session: Session, plan: _ZonePlan, *, write_zones: ZoneWriter) -> int:
    """Write one scope's regrouped zones (``_plan_scope_zones``) and rank the scope again;
    return how many zones were written."""
    if not plan.regrouped:
        return 0
    if plan.gone:
        session.execute(
            update(DeadZone).where(DeadZone.id.in_(plan.gone)).values(active=False, rank=None)
        )
    if plan.hit:
        session.execute(delete(ZoneCell).where(ZoneCell.zone_id.in_(sorted(plan.hit))))
    write_zones(session, plan.zones)
    rank_zones(session, plan.scope)
    return len(plan.zones) + len(plan.gone)


class _CoveredNearby(NearestCovered):
    """``NearestCovered`` over a scope's covered cells, read from the store around each
    zone instead of all at once: the covered cells in a box ``margin`` metres around the
    zone (the decisions' lat/lon index), widened fourfold until the nearest one found lies
    within the margin, so that no cell outside the box can be nearer. The same distance as
    over all the scope's covered cells, at the cost of the zone's neighbourhood."""

    # Most zones border signal: the nearest covered cell is a ring or two from their edge
    # (res-9 centres are 300 m apart), so the first box holds it. Each box scans its
    # latitude band of the scope's covered cells across the province: a 2 km first margin
    # cost 0.4 s of a batch describing 500 zones at 3 million stored readings, of which
    # all but a few lay within 640 m (docs/scale.md). The later margins are 2, 8, ... km.
    FIRST_MARGIN_M = 500.0
    LAST_MARGIN_M = 512_000.0  # beyond it, all of them (a province is ~300 km across)

    BOX = ("south", "north", "west", "east")

    def __init__(self, session: Session, *, scope: Scope, resolution: int) -> None:
        super().__init__(())
        self.session, self.scope, self.resolution = session, scope, resolution
        # One statement for every zone of the scope, the box's bounds bound per zone:
        # building it per zone cost 0.8 ms of SQLAlchemy under the profiler, over 2,000
        # zones a batch at 3 million stored (issue 12).
        self.boxed = covered_cells_query(
            *scope, resolution, tuple(bindparam(name) for name in self.BOX)
        )

    def distance_m(self, cells: Sequence[int]) -> float | None:
        latlng = np.array([h3i.cell_to_latlng(int(c)) for c in cells]).reshape(-1, 2)
        margin = self.FIRST_MARGIN_M
        while margin <= self.LAST_MARGIN_M:
            dlat = np.degrees(margin / EARTH_RADIUS_M)
            top = min(float(np.abs(latlng[:, 0]).max()) + dlat, 89.0)
            dlon = dlat / np.cos(np.radians(top)) * 1.01
            found = NearestCovered(self._covered(
                float(latlng[:, 0].min() - dlat), float(latlng[:, 0].max() + dlat),
                float(latlng[:, 1].min() - dlon), float(latlng[:, 1].max() + dlon),
            )).distance_m(cells)  # fmt: skip
            if found is not None and found <= margin:
                return found
            margin *= 4
        return NearestCovered(self._covered()).distance_m(cells)

    def _covered(self, *box: float) -> list[int]:
        if not box:
            return [int(x) for x in self.session.scalars(
                covered_cells_query(*self.scope, self.resolution)
            )]  # fmt: skip
        found = self.session.scalars(self.boxed, dict(zip(self.BOX, box, strict=True)))
        return [int(x) for x in found]


def covered_cells_query(
    operator: str,
    radio: str,
    resolution: int,
    box: tuple[float, ...] | tuple[BindParameter[float], ...] = (),
) -> Select[int]:
    """The covered cells of a scope at ``resolution``, within ``box`` (south, north, west,
    east, degrees) when one is given. The condition on the status is spelled as the covered
    cells' index spells it (``COVERED_ONLY``), not as a bound parameter: SQLite chooses the
    partial index either way (3.40), but the bound form cost 0.08-0.09 ms a query against
    0.04-0.06 ms for the literal in review (likely SQLite preparing the statement again
    for the value, which a partial index's condition depends on; not confirmed)."""
    c = CellStatus
    query = select(c.h3_cell).where(
        c.operator == operator, c.radio == radio, c.resolution == resolution,
        text(COVERED_ONLY),
    )  # fmt: skip
    if box:
        south, north, west, east = box
        query = query.where(c.lat.between(south, north), c.lon.between(west, east))
    return query


def _zones_nearer_to_signal(
    session: Session, *, scope: Scope, gained: set[int], lost: set[int], hit: set[str]
) -> set[str]:
    """Zones (not yet hit) whose distance to the nearest covered cell changes: a gained
    covered cell nearer than their distance, or a lost one at it (their nearest).

    A zone's box and distance tell first whether a changed cell may lie that near
    (``zones.might_reach``); only those zones' cells are read and measured. Reading and
    measuring every zone's cells cost 0.8 s of a batch at 3 million stored readings (eight
    scopes of 7,000 to 10,000 zones, 135,000 cells), to find no zone at all (docs/scale.md,
    issue 12)."""
    operator, radio = scope
    z = DeadZone
    # Read by the driver: the ORM's rows cost 0.15 s over 78,000 zones at 3 million stored.
    zones = raw_frame(
        session,
        select(z.id, z.distance_to_covered_m, *(getattr(z, c) for c in BOX_COLUMNS)).where(
            z.active.is_(True), z.operator == operator, z.radio == radio
        ),
        ["id", "distance", *BOX_COLUMNS],
    )
    zones = zones[~zones["id"].isin(list(hit))]
    if zones.empty:
        return set()
    ids = zones["id"].tolist()
    known = zones["distance"].to_numpy(float, na_value=np.nan)
    boxes = zones[list(BOX_COLUMNS)].to_numpy(float, na_value=np.nan)
    found: set[str] = set()
    measure: dict[str, tuple[set[int], np.ndarray, bool]] = {}
    for kind, cells in (("lost", lost), ("gained", gained)):
        if not cells:
            continue
        if kind == "lost":
            # Its nearest covered cell may be the one lost: one at its distance or nearer.
            limits, strict = known, False
        else:
            # A covered cell nearer than before (any, for a zone that had none).
            limits, strict = np.where(np.isnan(known), np.inf, known), True
            found |= {zone_id for zone_id, limit in zip(ids, limits.tolist(), strict=True)
                      if limit == np.inf}  # fmt: skip
        finite = np.isfinite(limits)
        centres = np.array([h3i.cell_to_latlng(c) for c in cells]).reshape(-1, 2)
        reach = finite & might_reach(boxes, limits, centres)
        measure[kind] = (cells, np.flatnonzero(reach), strict)
    candidates = sorted({ids[i] for _, at, _ in measure.values() for i in at.tolist()} - found)
    if not candidates:
        return found
    cells_of: dict[str, list[int]] = {}
    for zone_id, cell in session.execute(
        select(ZoneCell.zone_id, ZoneCell.h3_cell).where(ZoneCell.zone_id.in_(candidates))
    ):
        cells_of.setdefault(zone_id, []).append(int(cell))
    limit_of = dict(zip(ids, known.tolist(), strict=True))
    for cells, at, strict in measure.values():
        # Each zone's cells against the changed cells, within the zone's own distance only.
        measured = [ids[i] for i in at.tolist() if ids[i] in cells_of and ids[i] not in found]
        if not measured:
            continue
        flat = [cell for zone_id in measured for cell in cells_of[zone_id]]
        sizes = [len(cells_of[zone_id]) for zone_id in measured]
        per_cell = np.repeat([limit_of[zone_id] for zone_id in measured], sizes)
        near = NearestCovered(cells).within_m(flat, per_cell, strict=strict)
        hits = np.logical_or.reduceat(near, np.cumsum([0] + sizes[:-1]))
        found |= {z for z, yes in zip(measured, hits.tolist(), strict=True) if yes}
    return found


def _outside_ids(
    session: Session, *, scope: Scope, components: list[list[str]], hit: set[str]
) -> tuple[set[str], Callable[[int, list[str]], int] | None]:
    """Ids of the scope's zones left untouched that a new component's default id would
    collide with, and (only then) each component's index among all the scope's."""
    operator, radio = scope
    defaults = sorted({f"dz-{id_scope(*scope)}-{cells[0]}" for cells in components})
    held = (
        set(
            session.scalars(
                select(DeadZone.id).where(
                    DeadZone.active.is_(True), DeadZone.operator == operator,
                    DeadZone.radio == radio, DeadZone.id.in_(defaults),
                )
            )
        )
        - hit
    )  # fmt: skip
    if not held:
        return held, None
    zc = ZoneCell
    firsts = sorted(
        int(first)
        for zone_id, first in session.execute(
            select(zc.zone_id, func.min(zc.h3_cell))
            .where(zc.operator == operator, zc.radio == radio)
            .group_by(zc.zone_id)
        )
        if zone_id not in hit
    )

    def position(index: int, cells: list[str]) -> int:
        return index + bisect.bisect_left(firsts, h3.str_to_int(cells[0]))

    return held, position


def _zone_devices(
    session: Session,
    settings: Settings,
    *,
    scope: str,
    cells: Collection[int],
    now: datetime,
    untrusted: pd.DataFrame,
) -> pd.DataFrame:
    """Device sets (``h3_cell``, ``device``) of ``cells`` within the decision window, of
    the scope's operator (all operators for 'any'). ``device`` is the token's source, as
    the full path counts a zone's phones (``decisions.decide_cells``): new tokens of one
    upload are one (``trust.source_ids``, rule 2; ``untrusted``: ``trust.load_untrusted``'s
    frame). A token's source changes only when it is trusted, and that makes its cells
    dirty (``trust.merge_untrusted``), so the zones holding them are described again. A
    token whose last upload day came with re-sent readings only is trusted at its next
    merged reading or the next full run (``trust.refresh_trust``), its zones with it."""
    d = CellDevice
    query = select(d.h3_cell, d.device_hash).where(
        h3_resolution_of(d.h3_cell) == settings.h3_resolution,
        d.bucket >= window_start(now, settings.window_months),
        cells_in(d.h3_cell, cells, dialect=dialect_name(session)),
    )
    if scope != BEST_OF_ALL:
        mcc, mnc = scope.split("-")
        query = query.where(d.mcc == int(mcc), d.mnc == int(mnc))
    frame = raw_frame(session, query, ["h3_cell", "device_hash"])
    frame["h3_cell"] = frame["h3_cell"].astype(np.int64)
    frame["device"] = source_ids(frame["device_hash"], untrusted)
    return frame.drop(columns="device_hash")


def _dead_operators(
    session: Session, resolution: int, scope: Scope, cells: Collection[int]
) -> dict[int, list[str]]:
    """Cell -> the operators dead in it in the scope over radios of ``scope``, as the full
    path reads them for a zone of any operator scope (``zones.dead_operators_by_cell``)."""
    _, radio = scope
    if not cells:
        return {}
    u = functools.partial(unindexed, session)
    c = CellStatus
    found: dict[int, list[str]] = {}
    for cell, operator in session.execute(
        select(c.h3_cell, c.operator)
        .where(
            u(c.resolution) == resolution, u(c.radio) == radio,
            u(c.operator) != BEST_OF_ALL, c.status == "dead",
            cells_in(c.h3_cell, cells, dialect=dialect_name(session)),
        )
        .order_by(c.h3_cell, c.operator)
    ):  # fmt: skip
        found.setdefault(int(cell), []).append(operator)
    return found


def rank_zones(session: Session, scope: Scope) -> None:
    """Number the active zones of a scope (operator, scope over radios) by priority
    (highest first; ties by id, in code-point order as ``results.store_zones`` numbers
    them), writing only the ranks that moved.

    One statement: the database numbers the scope's zones (``ROW_NUMBER``) and updates the
    moved ranks itself. Read into Python, sorted and written back, the ranks cost 0.47 s
    of a batch at 3 million stored readings, whose 8 scopes hold 7,000 to 10,000 active
    zones each (docs/scale.md), and grew with them: a new zone near the top moves every
    rank below it."""
    operator, radio = scope
    z = DeadZone
    tie = z.id.collate("C") if is_postgres(session) else z.id  # SQLite: BINARY already
    ranked = (
        select(z.id, func.row_number().over(order_by=(z.priority.desc(), tie)).label("number"))
        .where(z.active.is_(True), z.operator == operator, z.radio == radio)
        .subquery()
    )
    session.execute(
        update(z)
        .where(z.id == ranked.c.id, z.rank.is_distinct_from(ranked.c.number))
        .values(rank=ranked.c.number)
        .execution_options(synchronize_session=False)
    )
    # Zones of the scope held by the session (the few just written) read their rank again
    # when asked (an expired one reads everything again anyway).
    for key in list(session.identity_map.keys()):
        held = session.identity_map[key]
        loaded = inspect(held).dict
        if key[0] is DeadZone and (loaded.get("operator"), loaded.get("radio")) == scope:
            session.expire(held, ["rank"])
