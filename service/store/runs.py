"""What the store remembers of aggregation runs, for readers that show freshness."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.models import AggregationRun


def last_run(session: Session) -> AggregationRun | None:
    """The newest finished aggregation run, or None before the first."""
    return session.scalars(
        select(AggregationRun).order_by(AggregationRun.id.desc()).limit(1)
    ).first()
