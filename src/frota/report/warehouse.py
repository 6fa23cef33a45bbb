"""A read-only connection to the warehouse (DuckDB or PostgreSQL): the report only reads.

The warehouse setting is parsed by `frota.warehouse.target` (one place for the URL and its
password); the connection is opened here read-only, so a report never creates a warehouse
file, a schema or a table.
"""

from __future__ import annotations

from typing import Any

from frota.config import Settings
from frota.errors import DatabaseUnreachable, MissingExtra
from frota.i18n import N_, _
from frota.warehouse.target import PostgresConnection, WarehouseTarget, warehouse_target

_FIRST_BUILD = N_("build it first with `frota warehouse` (or `frota run`)")


class QueryError(Exception):
    """A query the warehouse could not answer (a table or column it does not have)."""


class WarehouseReader:
    """Runs SELECTs with `?` parameters; rows come back as tuples."""

    def __init__(self, settings: Settings) -> None:
        self.target: WarehouseTarget = warehouse_target(settings)
        self.kind = self.target.kind
        self._con: Any = self._open_duckdb() if self.kind == "duckdb" else self._open_postgres()
        self._tables: set[str] | None = None

    def _open_duckdb(self) -> Any:
        try:
            import duckdb
        except ImportError:
            raise MissingExtra("duckdb", "warehouse") from None
        path = self.target.path
        assert path is not None
        if not path.is_file():
            raise DatabaseUnreachable(
                _("there is no warehouse at {path} yet").format(path=path), hint=_(_FIRST_BUILD)
            )
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise DatabaseUnreachable(
                _("cannot open the DuckDB warehouse {path}: {error}").format(
                    path=path, error=str(exc).splitlines()[0]
                ),
                hint=_("a `frota warehouse` run may be writing it: run the report when it ends"),
            ) from None

    def _open_postgres(self) -> Any:
        # The warehouse's own connection (DatabaseUnreachable, MissingExtra), made read-only.
        con = PostgresConnection(self.target).con
        con.autocommit = False
        # One snapshot for the whole page, and no write can slip through.
        con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return con

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The query's rows; QueryError (with the engine's first line) when it fails."""
        if self.kind == "duckdb":
            import duckdb

            try:
                return self._con.execute(sql, list(params)).fetchall()
            except duckdb.Error as exc:
                raise QueryError(str(exc).splitlines()[0]) from None
        import psycopg

        try:
            with self._con.transaction():  # a savepoint: a failed query spoils nothing else
                return self._con.execute(sql.replace("?", "%s"), params or None).fetchall()
        except psycopg.Error as exc:
            raise QueryError(str(exc).strip().splitlines()[0]) from None

    def tables(self) -> set[str]:
        """`schema.table` of every table and view of frota's two schemas (read once)."""
        if self._tables is None:
            found = self.rows(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN ('raw', 'analytics')"
            )
            self._tables = {f"{schema}.{name}" for schema, name in found}
        return self._tables

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> WarehouseReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
