"""Query results as pandas frames, read through the driver's cursor.

SQLAlchemy's result processing converts every value in Python (dates, times, decimals):
at province scale that took longer than the decisions computed from the rows. Reading
the driver's tuples straight into a frame, and parsing columns with pandas, does not.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import ClauseElement
from sqlalchemy.orm import Session

from service.store.dialect import is_postgres


def raw_frame(session: Session, query: ClauseElement, columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` as a frame of ``columns``, read through the driver's cursor
    without SQLAlchemy's per-value result processing (dates and times stay as the driver
    gives them)."""
    compiled = query.compile(dialect=session.get_bind().dialect)
    connection = session.connection()
    raw = connection.connection.driver_connection
    assert raw is not None
    params = compiled.params
    if not is_postgres(connection):
        # sqlite3 takes positional parameters in the compiled order
        args: Any = [
            v.isoformat() if isinstance(v, date) else v
            for v in (params[name] for name in getattr(compiled, "positiontup", None) or [])
        ]
    else:
        args = params
    with contextlib.closing(raw.cursor()) as cursor:
        cursor.execute(str(compiled), args)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=columns)
