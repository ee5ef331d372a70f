"""SQL expressions that each database spells its own way, written once.

Aggregation runs inside the database (GROUP BY over millions of readings is what a
database does best); these constructs let one SQLAlchemy query compile for both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# 1 mW = 1e15 aW, so attowatts = 10 ** ((dBm + 150) / 10). Integers make sums exact and
# associative (floating-point sums depend on their order); -140 dBm is 10 aW and -24 dBm
# about 4e12 aW, so a bucket would need over two million readings at full strength to
# overflow a BIGINT.
ATTOWATT_DBM_OFFSET = 150.0


class MonthStart(FunctionElement[Any]):
    """First day of the UTC calendar month of a timestamp."""

    type = Date()
    inherit_cache = True


class DayOfMonth(FunctionElement[Any]):
    """Day of the UTC month (1-31) of a timestamp."""

    type = Integer()
    inherit_cache = True


class DbmToAttowatts(FunctionElement[Any]):
    """Received power in dBm to integer attowatts (rounded)."""

    type = BigInteger()
    inherit_cache = True


class Least(FunctionElement[Any]):
    """Smaller of two values, ignoring NULL (as PostgreSQL's LEAST does)."""

    inherit_cache = True


class Greatest(FunctionElement[Any]):
    """Larger of two values, ignoring NULL."""

    inherit_cache = True


class BitOrAggregate(FunctionElement[Any]):
    """Aggregate bitwise OR of non-negative integers below 2**31 (day masks)."""

    type = BigInteger()
    inherit_cache = True


class HexConcat(FunctionElement[Any]):
    """Aggregate: the hex digits of a binary column's values, concatenated in one text (a
    key's device hashes read as one value: ``service.store.frames.device_frame``)."""

    type = String()
    inherit_cache = True


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(c, **kw) for c in element.clauses]


@compiles(MonthStart, "postgresql")
def _month_pg(element: MonthStart, compiler: SQLCompiler, **kw: Any) -> str:
    (ts,) = _args(element, compiler, **kw)
    return f"CAST(date_trunc('month', {ts} AT TIME ZONE 'UTC') AS DATE)"


@compiles(MonthStart, "sqlite")
def _month_sqlite(element: MonthStart, compiler: SQLCompiler, **kw: Any) -> str:
    # Times are stored as naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (service.store.bulk), so
    # cutting the text is exact and several times faster than date(..., 'start of month').
    (ts,) = _args(element, compiler, **kw)
    return f"(substr({ts}, 1, 7) || '-01')"


@compiles(DayOfMonth, "postgresql")
def _day_pg(element: DayOfMonth, compiler: SQLCompiler, **kw: Any) -> str:
    (ts,) = _args(element, compiler, **kw)
    return f"CAST(EXTRACT(DAY FROM {ts} AT TIME ZONE 'UTC') AS INTEGER)"


@compiles(DayOfMonth, "sqlite")
def _day_sqlite(element: DayOfMonth, compiler: SQLCompiler, **kw: Any) -> str:
    (ts,) = _args(element, compiler, **kw)
    return f"CAST(substr({ts}, 9, 2) AS INTEGER)"


@compiles(DbmToAttowatts)
def _attowatts(element: DbmToAttowatts, compiler: SQLCompiler, **kw: Any) -> str:
    (dbm,) = _args(element, compiler, **kw)
    return f"CAST(ROUND(power(10.0, ({dbm} + {ATTOWATT_DBM_OFFSET}) / 10.0)) AS BIGINT)"


@compiles(Least, "postgresql")
def _least_pg(element: Least, compiler: SQLCompiler, **kw: Any) -> str:
    return "LEAST({}, {})".format(*_args(element, compiler, **kw))


@compiles(Least, "sqlite")
def _least_sqlite(element: Least, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"min(coalesce({a}, {b}), coalesce({b}, {a}))"


@compiles(Greatest, "postgresql")
def _greatest_pg(element: Greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return "GREATEST({}, {})".format(*_args(element, compiler, **kw))


@compiles(Greatest, "sqlite")
def _greatest_sqlite(element: Greatest, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"max(coalesce({a}, {b}), coalesce({b}, {a}))"


@compiles(BitOrAggregate)
def _bit_or(element: BitOrAggregate, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's built-in; on SQLite, the aggregate service.store.database registers.
    (x,) = _args(element, compiler, **kw)
    return f"bit_or({x})"


@compiles(HexConcat, "postgresql")
def _hex_concat_pg(element: HexConcat, compiler: SQLCompiler, **kw: Any) -> str:
    (x,) = _args(element, compiler, **kw)
    return f"string_agg(encode({x}, 'hex'), '')"


@compiles(HexConcat, "sqlite")
def _hex_concat_sqlite(element: HexConcat, compiler: SQLCompiler, **kw: Any) -> str:
    (x,) = _args(element, compiler, **kw)
    return f"group_concat(hex({x}), '')"


def h3_parent_masks(resolution: int) -> tuple[int, int]:
    """(keep, set) masks so that ``(cell & keep) | set`` is the parent of an H3 cell at
    ``resolution``: the 4-bit resolution field (bits 52-55) is replaced, and the 3-bit
    digits of finer resolutions are set to 7 ("unused"), per the H3 index layout
    (h3geo.org/docs/library/index/cell). Pure integer arithmetic, so it runs in SQL on
    both databases; a test checks it against ``h3.cell_to_parent``.
    """
    digits = sum(7 << (3 * (15 - r)) for r in range(resolution + 1, 16))
    clear = (0xF << 52) | digits
    keep = ~clear & 0x7FFF_FFFF_FFFF_FFFF
    return keep, (resolution << 52) | digits
