"""A likely status for villages without a measured one, from the estimated field.

A village whose status is unknown (too few readings at its centre) gets the status its
centre most probably has for the scope: ``trang_song`` with probability ``p_dead`` of the
centre cell (``service.engine.estimate``), else ``covered`` with probability ``1 - p_dead``.
Lõm sóng (a dark residential cluster beside a lit centre) is not estimated: it depends on
several cells at once and is left to measurement. Villages whose centre the estimate does
not reach keep no likely status. The measured status is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.vocabulary import ANY_SIGNAL
from service.store.models import CellEstimate, Village


@dataclass(frozen=True)
class Likely:
    status: str  # trang_song or covered
    probability: float  # 0.5-1


def likely_statuses(
    session: Session, codes: list[str], *, operator: str, radio: str = ANY_SIGNAL
) -> dict[str, Likely]:
    """Likely status of the villages ``codes`` (their centre cells' estimates in the scope
    over radios ``radio``) by code."""
    if not codes:
        return {}
    e = CellEstimate
    rows = session.execute(
        select(Village.code, e.p_dead)
        .join(e, (e.h3_cell == Village.h3_cell) & (e.operator == operator) & (e.radio == radio))
        .where(Village.code.in_(sorted(codes)))
    ).all()
    found = {}
    for code, p_dead in rows:
        p = float(p_dead)
        found[str(code)] = (
            Likely("trang_song", round(p, 4)) if p >= 0.5 else Likely("covered", round(1 - p, 4))
        )
    return found
