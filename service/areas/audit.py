"""The audit trail: who changed a commitment or a claim, what changed, and when.

A row is written by the domain function that makes the change, in the same transaction
(the caller's ``session_scope``), so a change and its record commit or roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts: the name written to the audit trail and what the holder may do.
    ``operators`` None: every operator (authority, or a development server without keys)."""

    name: str
    may_assign: bool
    operators: frozenset[str] | None

    def acts_for(self, operator: str) -> bool:
        return self.operators is None or operator in self.operators


def commitment_subject(commitment_id: int) -> str:
    return f"commitment:{commitment_id}"


def claim_subject(operator: str, radio: str) -> str:
    return f"claim:{operator}/{radio}"


def record(
    session: Session, *, actor: str, action: str, subject: str, detail: dict[str, Any],
    now: datetime,
) -> AuditEvent:  # fmt: skip
    """Add one audit row (flushed, not committed)."""
    event = AuditEvent(at=now, actor=actor, action=action, subject=subject, detail=detail)
    session.add(event)
    session.flush()
    return event


def events_of(session: Session, subjects: list[str]) -> dict[str, list[AuditEvent]]:
    """Audit rows of ``subjects``, oldest first, by subject."""
    found: dict[str, list[AuditEvent]] = {s: [] for s in subjects}
    if not subjects:
        return found
    query = (
        select(AuditEvent)
        .where(AuditEvent.subject.in_(subjects))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    for event in session.scalars(query):
        found[event.subject].append(event)
    return found


def event_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "who": event.actor,
        "action": event.action,
        "what": event.detail,
    }
