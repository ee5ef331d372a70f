"""Device trust: evidence that forged phones cannot flip (docs/forged-evidence.md).

A device token costs nothing, so the decisions weigh tokens by the history that a forger
cannot fake in one request (``service.ingest.devices``): the days on which a token
uploaded, by the server's clock. Three rules, applied in ``decisions.decide_cells`` and so
in the full and the incremental paths alike:

1. **Trust grows with history.** A token is trusted once it has uploaded on
   ``trust_upload_days`` distinct days. Until then its evidence is also kept per device in
   ``provisional_stats``, beside the ordinary statistics it is merged into.
2. **New tokens from one request count as one.** Untrusted tokens first seen together (the
   same network, keyed hash of an IPv4 /24 or IPv6 /48, at the same instant: one request,
   or one imported file) are one *source* for the distinct-device minimums: five invented
   tokens in one request are one device. A token whose network is not known (the command
   line, older readings) is its own source.
3. **Contested, not flipped.** When a decided cell would take another status because of
   untrusted tokens, the decision is made again without them. If the cell had a decision
   without them, and it differs, the cell becomes ``contested`` unless the tokens that
   carry the change come from at least ``contest_confirm_networks`` distinct networks
   (independent phones confirm). A cell with no decision without them (no contrary
   evidence: a resident's first reports from a dead zone) keeps the decision they make.

The trust flag moves only when a device's readings merge (``merge_untrusted``, in the merge
transaction, whose last statement is the flag: ``mark_trusted``): its provisional rows go
and its cells become dirty, so the incremental path decides them again; the full path also
sweeps every device (``refresh_trust``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from h3.api import basic_int as h3i
from sqlalchemy import Table, and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from service.settings import Settings
from service.store.dialect import (
    cells_in,
    dialect_name,
    read_by_index,
    upsert_insert,
)
from service.store.frames import bulk_frame
from service.store.models import Device, DirtyCell, ProvisionalStat, ReadingRow
from service.store.sqlexpr import DbmToAttowatts, MonthStart, h3_parent_masks

CONTESTED = "contested"
PROVISIONAL_SUMS = (
    "readings", "measured", "manual", "no_service", "weight_covered", "weight_weak",
    "weight_dead", "power_sum_aw",
)  # fmt: skip

_readings: Table = ReadingRow.__table__  # type: ignore[assignment]
_devices: Table = Device.__table__  # type: ignore[assignment]
_provisional: Table = ProvisionalStat.__table__  # type: ignore[assignment]
_dirty: Table = DirtyCell.__table__  # type: ignore[assignment]
_KEY = ("h3_cell", "mcc", "mnc", "radio", "bucket", "device_hash")

ReadingExpressions = tuple[Any, Any]
"""(class, weight) SQL expressions of a reading (``statistics.reading_class``/``_weight``)."""


# --- merge time -------------------------------------------------------------------------


def merge_untrusted(
    session: Session,
    settings: Settings,
    *,
    after: int,
    up_to: int,
    classify: ReadingExpressions,
) -> list[bytes]:
    """In the transaction that merges readings ``after < seq <= up_to``: the devices of the
    range that now have the history lose their provisional rows and their cells become
    dirty, then the range's readings of the other untrusted devices are added to
    ``provisional_stats``. Returns the devices to trust: ``mark_trusted`` flags them, last
    in the same transaction."""
    if up_to <= after:
        return []
    r, d = _readings.c, _devices.c
    in_range = r.seq.between(after + 1, up_to)
    ready = list(
        session.scalars(
            select(d.device_hash).where(
                d.trusted.is_(False),
                d.upload_days >= settings.trust_upload_days,
                d.device_hash.in_(select(r.device_hash).where(in_range).distinct()),
            )
        )
    )
    _drop_provisional(session, ready, seq=up_to)
    reading_class, weight = classify
    new_devices = select(d.device_hash).where(d.trusted.is_(False))
    untrusted = and_(in_range, r.device_hash.in_(new_devices))
    if ready:  # flagged only at the transaction's end (mark_trusted)
        untrusted = and_(untrusted, r.device_hash.not_in(ready))
    _add_provisional(session, untrusted, reading_class=reading_class, weight=weight)
    return ready


def mark_trusted(session: Session, devices: list[bytes]) -> None:
    """Flag ``devices`` trusted. In the merge transaction this comes last: a phone's upload
    updates its device's row too (``record_uploads``), and on PostgreSQL it waits for the
    transaction that updated the row to commit, which a merge of up to 500,000 readings
    keeps open for seconds."""
    devices = sorted(devices)  # rows locked in one order
    for start in range(0, len(devices), 500):
        chunk = devices[start : start + 500]
        session.execute(
            update(_devices).where(_devices.c.device_hash.in_(chunk)).values(trusted=True)
        )


def _trust(session: Session, devices: list[bytes], *, seq: int) -> None:
    """Mark ``devices`` trusted: their cells are decided again, without the provisional
    rows."""
    _drop_provisional(session, devices, seq=seq)
    mark_trusted(session, devices)


def _drop_provisional(session: Session, devices: list[bytes], *, seq: int) -> None:
    """The provisional rows of ``devices`` go, and their cells become dirty (decided
    again at ``seq``)."""
    p = _provisional.c
    for start in range(0, len(devices), 500):
        chunk = devices[start : start + 500]
        dirty = upsert_insert(session, _dirty).from_select(
            ["h3_cell", "mcc", "mnc", "radio", "seq"],
            select(p.h3_cell, p.mcc, p.mnc, p.radio, func.max(seq))
            .where(p.device_hash.in_(chunk))
            .group_by(p.h3_cell, p.mcc, p.mnc, p.radio),
        )
        session.execute(
            dirty.on_conflict_do_update(
                index_elements=["h3_cell", "mcc", "mnc", "radio"],
                set_={"seq": dirty.excluded.seq},
            )
        )
        session.execute(delete(_provisional).where(p.device_hash.in_(chunk)))


def _add_provisional(session: Session, where: Any, *, reading_class: Any, weight: Any) -> None:
    r = _readings.c
    bucket = MonthStart(r.observed_at)

    def weight_of(name: str) -> Any:
        return func.sum(case((reading_class == name, weight), else_=0))

    rows = (
        select(
            r.h3_cell, r.mcc, r.mnc, r.radio, bucket, r.device_hash,
            func.count(), func.count(r.signal_dbm), func.count(r.level),
            func.sum(case((r.no_service, 1), else_=0)),
            weight_of("covered"), weight_of("weak"), weight_of("dead"),
            func.coalesce(func.sum(DbmToAttowatts(r.signal_dbm)), 0),
        )
        .where(where)
        .group_by(r.h3_cell, r.mcc, r.mnc, r.radio, bucket, r.device_hash)
    )  # fmt: skip
    stmt = upsert_insert(session, _provisional).from_select([*_KEY, *PROVISIONAL_SUMS], rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: _provisional.c[name] + stmt.excluded[name] for name in PROVISIONAL_SUMS},
        )
    )


def rebuild_provisional(
    session: Session, settings: Settings, *, up_to: int, classify: ReadingExpressions
) -> None:
    """After the statistics were rebuilt from the readings up to ``up_to``: the provisional
    rows likewise, from the readings of the devices untrusted now."""
    session.execute(delete(_provisional))
    reading_class, weight = classify
    untrusted = select(_devices.c.device_hash).where(_devices.c.trusted.is_(False))
    where = and_(_readings.c.seq <= up_to, _readings.c.device_hash.in_(untrusted))
    _add_provisional(session, where, reading_class=reading_class, weight=weight)


def refresh_trust(
    session: Session, settings: Settings, *, up_to: int, classify: ReadingExpressions
) -> None:
    """The full path's sweep over every device: trust those with the history (also those
    whose last uploads held only duplicates), and withdraw it from those without (after
    ``trust_upload_days`` was raised, or the upgrade that introduced it), whose provisional
    rows are then made from their readings up to ``up_to`` (the watermark)."""
    d = _devices.c
    ready = list(
        session.scalars(
            select(d.device_hash).where(
                d.trusted.is_(False), d.upload_days >= settings.trust_upload_days
            )
        )
    )
    _trust(session, ready, seq=up_to)
    withdrawn = list(
        session.scalars(
            select(d.device_hash).where(
                d.trusted.is_(True), d.upload_days < settings.trust_upload_days
            )
        )
    )
    reading_class, weight = classify
    for start in range(0, len(withdrawn), 500):
        chunk = withdrawn[start : start + 500]
        session.execute(update(_devices).where(d.device_hash.in_(chunk)).values(trusted=False))
        _add_provisional(
            session,
            and_(_readings.c.seq <= up_to, _readings.c.device_hash.in_(chunk)),
            reading_class=reading_class,
            weight=weight,
        )


# --- decision time ----------------------------------------------------------------------


def load_untrusted(session: Session) -> pd.DataFrame:
    """The untrusted devices: ``device_hash``, ``network`` (the device itself when not
    known), ``source`` (rule 2's key: network and instant of first sight, i.e. the request,
    or the device) and ``arrived`` (first upload, microseconds since the epoch, server clock)."""
    d = _devices.c
    rows = session.execute(
        select(d.device_hash, d.network, d.first_received).where(d.trusted.is_(False))
    ).all()
    frame = pd.DataFrame(rows, columns=["device_hash", "network", "first_received"])
    frame["arrived"] = np.array(
        [round(t.timestamp() * 1_000_000) for t in frame["first_received"]], dtype=np.int64
    )
    instants = [int(t).to_bytes(8, "big", signed=True) for t in frame["arrived"]]
    frame["source"] = [
        b"n" + network + instant if network is not None else b"d" + device
        for device, network, instant in zip(
            frame["device_hash"], frame["network"], instants, strict=True
        )
    ]
    frame["network"] = [
        b"n" + n if n is not None else b"d" + dev
        for dev, n in zip(frame["device_hash"], frame["network"], strict=True)
    ]
    return frame.drop(columns="first_received")


def source_ids(device_hashes: pd.Series, untrusted: pd.DataFrame) -> np.ndarray:
    """Rule 2: an integer per device, equal for untrusted tokens of one request."""
    # A device's hash, factorized first, then its source looked up once per device (not
    # once per row: an incremental run's coarse parents hold 100,000 device rows).
    codes, hashes = pd.factorize(device_hashes.to_numpy(object))
    at = pd.Index(untrusted["device_hash"].to_numpy(object)).get_indexer(hashes)
    sources = untrusted["source"].to_numpy(object)
    keys = np.empty(len(hashes), dtype=object)
    keys[:] = [sources[i] if i >= 0 else b"d" + h for h, i in zip(hashes, at.tolist(), strict=True)]
    return pd.factorize(keys[codes])[0].astype(np.int64)


def load_provisional(
    session: Session,
    *,
    resolution: int,
    base: int,
    since: date,
    cells: Collection[int] | None = None,
    mnc: int | None = None,
) -> pd.DataFrame:
    """The provisional statistics from month ``since`` on, with ``h3_cell`` taken to
    ``resolution`` (roll-ups), of just ``cells`` (at that resolution), of just network
    code ``mnc``, when given."""
    p = _provisional.c
    query = select(*(p[name] for name in (*_KEY, *PROVISIONAL_SUMS))).where(p.bucket >= since)
    lookup: AbstractContextManager[None] = nullcontext()  # every row: no index to prefer
    if cells is not None:
        children = (
            list(cells)
            if resolution == base
            else [c for cell in cells for c in h3i.cell_to_children(int(cell), base)]
        )
        query = query.where(cells_in(p.h3_cell, children, dialect=dialect_name(session)))
        # A few thousand cells by the primary key, not a scan of the table (its doc).
        lookup = read_by_index(session, len(children))
    if mnc is not None:
        query = query.where(p.mnc == mnc)
    with lookup:
        frame = bulk_frame(session, query, [*_KEY, *PROVISIONAL_SUMS])
    frame["h3_cell"] = frame["h3_cell"].astype(np.int64)
    if resolution != base and len(frame):
        keep, set_ = h3_parent_masks(resolution)
        frame["h3_cell"] = (frame["h3_cell"].to_numpy(np.int64) & keep) | set_
    frame["bucket"] = pd.to_datetime(frame["bucket"], format="ISO8601")
    for name in PROVISIONAL_SUMS:
        frame[name] = frame[name].astype(np.int64)
    return frame


Decide = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]
"""decide_level with its key and rules bound: (stats, devices) -> decisions."""


def contest(
    decided: pd.DataFrame,
    stats: pd.DataFrame,
    devices: pd.DataFrame,
    provisional: pd.DataFrame,
    *,
    key: list[str],
    decide: Decide,
    untrusted: pd.DataFrame,
    confirm_networks: int,
) -> pd.DataFrame:
    """Rule 3 on one level's decisions (``decided``, from ``stats`` and ``devices`` with
    ``operator`` columns; ``provisional`` likewise): the keys whose status rests on
    untrusted tokens of too few networks, and differs without them, become contested."""
    if decided.empty or provisional.empty:
        return decided
    outcome = decided.loc[decided["status"].isin(("covered", "weak", "dead")), [*key, "status"]]
    # Each untrusted device's own side in each key: dead, or service (covered or weak).
    per_device = provisional.groupby([*key, "device_hash"], sort=False)[
        ["weight_covered", "weight_weak", "weight_dead"]
    ].sum()
    total = per_device.sum(axis=1).to_numpy(float)
    per_device["dead_side"] = per_device["weight_dead"].to_numpy(float) * 2 > total
    per_device = per_device.reset_index().merge(outcome, on=key)
    supporters = per_device[per_device["dead_side"] == (per_device["status"] == "dead")]
    if supporters.empty:
        return decided
    # Lookups by device through one index (hashing in C, not a dict per row).
    known = pd.Index(untrusted["device_hash"])
    at = known.get_indexer(supporters["device_hash"])
    found = at >= 0
    network = np.empty(len(at), dtype=object)
    network[found] = untrusted["network"].to_numpy(object)[at[found]]
    # A device trusted since it sent these: its own network.
    hashes = supporters["device_hash"].to_numpy(object)[~found]
    network[~found] = np.array([b"d" + h for h in hashes] + [None], dtype=object)[:-1]
    supporters = supporters.assign(network=network)
    networks = supporters.groupby(key, sort=False)["network"].nunique()
    doubtful = networks[networks < confirm_networks].reset_index()[key]
    if doubtful.empty:
        return decided
    suspect = supporters.merge(doubtful, on=key)[[*key, "device_hash"]]
    # The other evidence must have been there first ("suddenly receives contrary evidence"):
    # a trusted device, or an untrusted one that arrived before the earliest suspect. When
    # all arrived together there is no earlier decision to contest, and the rules stand.
    arrival = untrusted["arrived"].to_numpy(np.int64)

    def arrived(hashes: pd.Series) -> np.ndarray:
        at = known.get_indexer(hashes)
        times = np.full(len(at), -1, dtype=np.int64)
        times[at >= 0] = arrival[at[at >= 0]]
        return times

    suspect_since = (
        suspect.assign(_t=arrived(suspect["device_hash"]))
        .groupby(key, sort=False)["_t"].min().rename("_suspect_since").reset_index()
    )  # fmt: skip
    # Those keys are found before anything is taken out, from all their devices: a
    # suspect arrived no earlier than the earliest suspect, so the earliest device is
    # earlier than it exactly when the earliest of the others is. The decision without
    # the suspects is then prepared for just those keys (a few in thousands: preparing it
    # for every doubtful key was most of the contest's cost in an incremental run).
    doubtful_devices = devices.merge(doubtful, on=key)
    earlier = (
        doubtful_devices.assign(_t=arrived(doubtful_devices["device_hash"]))
        .groupby(key, sort=False)["_t"].min().rename("_before_since").reset_index()
        .merge(suspect_since, on=key)
    )  # fmt: skip
    earlier = earlier.loc[earlier["_before_since"] < earlier["_suspect_since"], key]
    if earlier.empty:
        return decided
    suspect = suspect.merge(earlier, on=key)
    # The same decision without the suspect tokens: their sums leave the statistics (their
    # days, extremes and times cannot be taken out, and stay), their tokens the devices.
    removed = provisional.merge(suspect, on=[*key, "device_hash"])
    stat_key = ["h3_cell", "mcc", "mnc", "radio", "bucket"]
    removed = removed.groupby(stat_key, sort=False)[list(PROVISIONAL_SUMS)].sum().reset_index()
    sub = stats.merge(earlier, on=key)
    sub = sub.merge(removed, on=stat_key, how="left", suffixes=("", "_removed"))
    for name in PROVISIONAL_SUMS:
        sub[name] = sub[name] - sub.pop(f"{name}_removed").fillna(0).astype(np.int64)
    sub = sub[sub["readings"] > 0].reset_index(drop=True)
    kept_devices = devices.merge(earlier, on=key)
    gone = (
        kept_devices.merge(suspect.assign(_gone=True), on=[*key, "device_hash"], how="left")[
            "_gone"
        ]
        .fillna(False)
        .to_numpy(bool)
    )
    kept_devices = kept_devices[~gone].reset_index(drop=True)
    without = decide(sub, kept_devices)
    without = without.loc[without["status"] != "unknown", [*key, "status"]]
    flips = without.merge(outcome, on=key, suffixes=("_without", ""))
    flips = flips.loc[flips["status_without"] != flips["status"], key]
    if flips.empty:
        return decided
    marked = decided.merge(flips.assign(_contested=True), on=key, how="left")["_contested"]
    result = decided.copy()
    result.loc[marked.fillna(False).to_numpy(bool), "status"] = CONTESTED
    return result
