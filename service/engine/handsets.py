"""Phones that cannot use an operator's network at all, wherever they are.

Vietnam switched 2G off on land from 16 September 2024 and refarmed its bands to 4G
(DESIGN.md). A 2G or 3G handset, or a SIM too old for 4G, then has no service with an
operator that runs no radio it can use, in a village with a mast as in a dead zone: its
"no service" tells what the phone can do, not what the network offers. One such phone
reporting from thirty cells made the estimated field call 37 of them dead for its
operator (demo seed 21, Vietnamobile: precision 0.844; docs/demo-accuracy.md).

A phone is taken for such a phone, with one operator (``limited_phones``), when over the
evidence window every one of its reports of that operator is no service or no bars (it
never camped once) and, in at least ``handset_limited_min_cells`` of the cells it reported
from, other phones of the same operator had service (a measured reading, or a resident's
report of a bar or more), in at least half of the cells where other phones of the operator
reported at all. A resident of a truly dead village who never had signal reports where
the other phones found none either, so their reports stay evidence; a phone at the edge of
coverage disagrees with its neighbours in a cell or two, not in three and the majority.
The rule reads only what every reading carries; handset models and SIM types are never
sent (DESIGN.md: an opaque device token).

What it changes: the estimated field (``service.engine.estimate``) reads the statistics
without such a phone's reports of that operator (``without_limited_phones``). The measured
decisions do not need it: a dead call needs three distinct phones and a majority of the
evidence (``service.engine.decisions``), which one phone cannot make.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Table, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from service.engine.statistics import readings_to_stats, watermark
from service.engine.trust import PROVISIONAL_SUMS  # the sums of a statistics row
from service.settings import Settings
from service.store.dialect import unindexed
from service.store.frames import bulk_frame
from service.store.models import ReadingRow

log = logging.getLogger("deadzone")
_readings: Table = ReadingRow.__table__  # type: ignore[assignment]
_PHONE = ["device_hash", "mcc", "mnc"]
MAJORITY = 0.5
"""Of the cells where other phones of the operator reported, the share in which they had
service, at least (with ``handset_limited_min_cells`` such cells): an edge of coverage is a
minority of a phone's cells, a phone that cannot connect disagrees nearly everywhere."""


def _in_window(since: date, up_to: int, table: Any = _readings) -> ColumnElement[bool]:
    r = table.c
    return and_(r.observed_at >= datetime.combine(since, time(), tzinfo=UTC), r.seq <= up_to)


def _served(table: Any = _readings) -> ColumnElement[bool]:
    """A reading of a phone that had service: a measured power, or a bar or more (never
    NULL, so that its negation holds for a no-service reading, whose level is NULL)."""
    return or_(table.c.signal_dbm.is_not(None), func.coalesce(table.c.level, 0) >= 1)


def limited_phones(
    session: Session,
    settings: Settings,
    stats: pd.DataFrame,
    *,
    since: date,
    up_to: int | None = None,
) -> pd.DataFrame:
    """The (device_hash, mcc, mnc) of the phones that never had service with that operator
    while others did where they were (module doc). ``stats``: the statistics of the window
    at the working resolution (``decisions.load_evidence``), whose cells hold the readings
    merged so far; only those readings are read here, up to ``up_to`` (the statistics'
    watermark, read before ``stats``; default: read now)."""
    r = _readings.c
    up_to = watermark(session) if up_to is None else up_to
    # The phones with a report without service, then those of them without any with it.
    # Read in one plain scan: grouped by phone, SQLite walked the (device, id) index and
    # fetched each row from it, 5.2 s at the province's 2.9 million readings against 0.7 s
    # (docs/scale.md); the probes for a report with service use that index.
    unserved = (
        select(unindexed(session, r.device_hash).label("device_hash"), r.mcc, r.mnc)
        .where(_in_window(since, up_to), ~_served())
        .distinct()
        .subquery()
    )
    other = _readings.alias("served")
    never = (
        select(unserved.c.device_hash, unserved.c.mcc, unserved.c.mnc)
        .where(
            ~exists().where(
                other.c.device_hash == unserved.c.device_hash, other.c.mcc == unserved.c.mcc,
                other.c.mnc == unserved.c.mnc, _in_window(since, up_to, other), _served(other),
            )
        )
        .subquery()
    )  # fmt: skip
    # Where each of them reported, and how often: the cell's other reports are the rest.
    cells_query = (
        select(r.device_hash, r.mcc, r.mnc, r.h3_cell, func.count().label("own"))
        .join(never, and_(r.device_hash == never.c.device_hash, r.mcc == never.c.mcc,
                          r.mnc == never.c.mnc))
        .where(_in_window(since, up_to))
        .group_by(r.device_hash, r.mcc, r.mnc, r.h3_cell)
    )  # fmt: skip
    cells = bulk_frame(session, cells_query, [*_PHONE, "h3_cell", "own"])
    if cells.empty or stats.empty:
        return cells[_PHONE].iloc[0:0]
    cells["h3_cell"] = cells["h3_cell"].astype(np.int64)
    here = (
        stats.assign(service=stats["measured"] + stats["weight_covered"] + stats["weight_weak"])
        .groupby(["h3_cell", "mcc", "mnc"], sort=False)[["readings", "service"]]
        .sum()
    )
    joined = cells.join(here, on=["h3_cell", "mcc", "mnc"])
    others = joined["readings"].fillna(0).to_numpy(float) > joined["own"].to_numpy(float)
    # The phone itself never had service, so any service in the cell is another phone's.
    joined["others"] = others
    joined["contradicted"] = others & (joined["service"].fillna(0).to_numpy(float) > 0)
    per_phone = joined.groupby(_PHONE, sort=False)[["others", "contradicted"]].sum()
    limited = per_phone[
        (per_phone["contradicted"] >= settings.handset_limited_min_cells)
        & (per_phone["contradicted"] >= MAJORITY * per_phone["others"])
    ]
    return limited.reset_index()[_PHONE]


def without_limited_phones(
    session: Session,
    settings: Settings,
    stats: pd.DataFrame,
    devices: pd.DataFrame,
    *,
    since: date,
    up_to: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``stats`` and ``devices`` (``decisions.load_evidence``'s frames of the window, at the
    working resolution) without the reports of ``limited_phones``: their statistics, made
    by the very SQL of the merge (``statistics.readings_to_stats``), are taken off the sums,
    and rows left without readings go, as do the phones' device rows.

    ``up_to``: the statistics' watermark (``statistics.watermark``) read *before* ``stats``.
    A merge may commit between the two reads; read first, the watermark can only lag the
    statistics, so what is taken off was merged into them (never a sum below zero)."""
    phones = limited_phones(session, settings, stats, since=since, up_to=up_to)
    if phones.empty:
        return stats, devices
    counts = phones.groupby(["mcc", "mnc"]).size()
    by_operator = ", ".join(
        f"{int(mcc)}-{int(mnc):02d}: {int(n)}"
        for mcc, mnc, n in zip(
            counts.index.get_level_values(0), counts.index.get_level_values(1), counts, strict=True
        )
    )
    log.info(
        "estimated field: phones left out, without service where other phones of their "
        "operator had it: %d (%s)", len(phones), by_operator,
    )  # fmt: skip
    r = _readings.c
    keys = list(phones.itertuples(index=False, name=None))
    theirs = readings_to_stats(
        settings, and_(_in_window(since, up_to),
                       tuple_(r.device_hash, r.mcc, r.mnc).in_(keys)),
    )  # fmt: skip
    key = ["h3_cell", "mcc", "mnc", "radio", "bucket"]
    # Few rows (a few phones' reports): read through SQLAlchemy, which expands the list.
    rows = session.connection().execute(theirs).all()
    columns = [c.key for c in theirs.selected_columns]
    taken = pd.DataFrame(rows, columns=columns)[[*key, *PROVISIONAL_SUMS]]
    taken["h3_cell"] = taken["h3_cell"].astype(np.int64)
    taken["bucket"] = pd.to_datetime(taken["bucket"], format="ISO8601")
    merged = stats.merge(taken, on=key, how="left", suffixes=("", "_taken"))
    for column in PROVISIONAL_SUMS:
        left = merged[column] - merged.pop(f"{column}_taken").fillna(0)
        merged[column] = left.astype(stats[column].dtype)
    stats = merged[merged["readings"] > 0].reset_index(drop=True)
    gone = devices.set_index(_PHONE).index.isin(phones.set_index(_PHONE).index)
    return stats, devices[~gone].reset_index(drop=True)
