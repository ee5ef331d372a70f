"""What the ingest has seen: readings accepted, duplicates, rejections by reason."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.store.models import IngestCount, RejectionCount


class RejectionTotal(BaseModel):
    field: str = Field(description="The reading field that was wrong.")
    code: str = Field(description="Stable reason code, e.g. out_of_range, future, inaccurate.")
    count: int


class SourceTotals(BaseModel):
    source: str
    accepted: int
    duplicates: int
    rejected: int


class IngestStats(BaseModel):
    since: date | None = Field(description="First day counted (UTC), or null for all time.")
    accepted: int = Field(description="Readings stored.")
    duplicates: int = Field(description="Readings received again (same device and id).")
    rejected: int = Field(description="Readings refused by the quality gate.")
    by_source: list[SourceTotals]
    rejections: list[RejectionTotal] = Field(description="Rejected readings by field and reason.")
    rate_limited: int = Field(
        default=0,
        description="Requests answered 429 (over a rate limit) by this server process since "
        "it started; not stored, and not limited to 'since'.",
    )


def ingest_stats(session: Session, *, since: date | None = None) -> IngestStats:
    """Totals of the ingest counters, from ``since`` (inclusive) or all time."""
    ic, rc = IngestCount, RejectionCount
    source_q = select(
        ic.source, func.sum(ic.accepted), func.sum(ic.duplicates), func.sum(ic.rejected)
    ).group_by(ic.source)
    reject_q = select(rc.field, rc.code, func.sum(rc.count)).group_by(rc.field, rc.code)
    if since is not None:
        source_q = source_q.where(ic.day >= since)
        reject_q = reject_q.where(rc.day >= since)
    by_source = [
        SourceTotals(source=s, accepted=int(a), duplicates=int(d), rejected=int(r))
        for s, a, d, r in session.execute(source_q.order_by(ic.source))
    ]
    rejections = [
        RejectionTotal(field=f, code=c, count=int(n))
        for f, c, n in session.execute(reject_q.order_by(func.sum(rc.count).desc(), rc.field))
    ]
    return IngestStats(
        since=since,
        accepted=sum(s.accepted for s in by_source),
        duplicates=sum(s.duplicates for s in by_source),
        rejected=sum(s.rejected for s in by_source),
        by_source=by_source,
        rejections=rejections,
    )
