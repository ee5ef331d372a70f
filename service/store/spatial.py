"""Column types that are real PostGIS geometries on PostgreSQL and plain text on SQLite.

Why not SpatiaLite on SQLite: it is an extension that a fresh machine lacks, and the
embedded default must need no set-up. deadzone's spatial work runs on H3 cells and
shapely in Python, so SQLite only has to *keep* geometries; WKT text does that, is
readable by any tool, and round-trips through shapely. On PostgreSQL the same columns are
``geometry(<kind>, 4326)`` with GiST indexes, so QGIS opens the tables directly.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Computed, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import DDLCompiler, SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

WGS84 = 4326


class Geometry(TypeDecorator[BaseGeometry]):
    """A shapely geometry: PostGIS ``geometry(kind, srid)`` or WKT ``TEXT`` on SQLite."""

    impl = Text
    cache_ok = True
    # Read by geoalchemy2's DDL hooks: GiST indexes are declared explicitly on the tables
    # (PostgreSQL only), and AddGeometryColumn management is not wanted.
    spatial_index = False
    use_typmod = None

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = WGS84) -> None:
        super().__init__()
        self.geometry_type = geometry_type
        self.srid = srid

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:
        # geoalchemy2's DDL hooks call this with dialect=None to ask "is it a raster?"
        if dialect is not None and dialect.name == "postgresql":
            # Imported here, when a statement or DDL first names a geometry column: its
            # import (its PostGIS function classes) took 0.15-0.4 s of every command's
            # start, and an incremental `deadzone aggregate` names none (issue 12). Its
            # DDL hooks, which it registers on import, find nothing of ours to act on
            # outside DDL (our type is Text to them), and the migrations import it first.
            import geoalchemy2

            return dialect.type_descriptor(
                geoalchemy2.Geometry(self.geometry_type, srid=self.srid, spatial_index=False)
            )
        return Text() if dialect is None else dialect.type_descriptor(Text())

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return GeomFromText(bindvalue, self.srid)

    def column_expression(self, col: Any) -> ColumnElement[Any]:
        expr = GeomAsText(col)
        expr.type = self  # so that results come back through process_result_value
        return expr

    # The values crossing the driver are WKT text on both databases (the SQL expressions
    # above convert on PostGIS), so geoalchemy2's own WKB processors must not run.
    def bind_processor(self, dialect: Dialect) -> Any:
        return lambda value: self.process_bind_param(value, dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        return lambda value: self.process_result_value(value, dialect)

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> str | None:
        return None if value is None else shapely.to_wkt(value, rounding_precision=-1)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        return None if value is None else shapely.from_wkt(value)


class GeomFromText(FunctionElement[Any]):
    """WKT text to a geometry: ``ST_GeomFromText`` on PostGIS, the text itself on SQLite."""

    inherit_cache = True

    def __init__(self, wkt: Any, srid: int) -> None:
        self.srid = srid
        super().__init__(wkt)


class GeomAsText(FunctionElement[Any]):
    inherit_cache = True


class PointFromLonLat(FunctionElement[Any]):
    """The point of two degree columns, for generated columns: a PostGIS point on
    PostgreSQL, its WKT on SQLite (a virtual column there, so it costs no storage)."""

    inherit_cache = True


@compiles(GeomFromText)
def _geom_from_text_text(element: GeomFromText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(GeomFromText, "postgresql")
def _geom_from_text_pg(element: GeomFromText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_GeomFromText({compiler.process(element.clauses, **kw)}, {int(element.srid)})"


@compiles(GeomAsText)
def _geom_as_text_text(element: GeomAsText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(GeomAsText, "postgresql")
def _geom_as_text_pg(element: GeomAsText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_AsText({compiler.process(element.clauses, **kw)})"


@compiles(Computed, "postgresql")
def _stored_generated_pg(element: Computed, compiler: DDLCompiler, **kw: Any) -> str:
    # Always STORED on PostgreSQL: PostgreSQL 18 makes VIRTUAL the default, and a GiST
    # index needs a stored column. SQLite keeps its default (VIRTUAL, no storage).
    sql = compiler.sql_compiler.process(element.sqltext, include_table=False, literal_binds=True)
    return f"GENERATED ALWAYS AS ({sql}) STORED"


@compiles(PointFromLonLat)
def _point_text(element: PointFromLonLat, compiler: SQLCompiler, **kw: Any) -> str:
    lon, lat = (compiler.process(c, **kw) for c in element.clauses)
    return f"'POINT(' || {lon} || ' ' || {lat} || ')'"


@compiles(PointFromLonLat, "postgresql")
def _point_pg(element: PointFromLonLat, compiler: SQLCompiler, **kw: Any) -> str:
    lon, lat = (compiler.process(c, **kw) for c in element.clauses)
    return f"ST_SetSRID(ST_MakePoint({lon}, {lat}), {WGS84})"
