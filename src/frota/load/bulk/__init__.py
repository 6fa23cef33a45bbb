"""Dialect bulk paths for appending maintenances inside the batch transaction (DESIGN §5): to
the batch's stage, or (the optimistic path, `direct`) straight to manutencoes; on MySQL, a
re-sent record that is stored unchanged only as its line and key (base.py).

- SQLite (`sqlite.py`): `executemany` of tuples on the raw cursor.
- PostgreSQL (`postgres.py`): `COPY manutencoes (...) FROM STDIN` in text format.
- MySQL/MariaDB (`mysql.py`): multi-row INSERT statements of a few MB each; with the opt-in
  `mysql_local_infile = "allow-server-file-requests"`, `LOAD DATA LOCAL INFILE` of a chunk held
  in memory, on a connection guarded by `infile_guard.py`.

Every path runs on the batch transaction's own connection and commits nothing (`base.py`). On
a server, a chunk is written by one background thread while the main thread validates the next
one. Rows arrive typed (`add`, from parse_row) or as the canonical text cells the fast path
took (`add_canonical`, from load/fastpath.py), which need no escaping and no conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from frota.load.bulk.infile_guard import (
    LOCAL_INFILE_OPT_IN,
    InfileRequestRefused,
    allow_infile,
    check_local_infile_connection,
    check_local_infile_setting,
    guard_engine,
    guarded_class,
)
from frota.load.bulk.mysql import MysqlInsertWriter, MysqlLoadDataWriter
from frota.load.bulk.postgres import PostgresCopyWriter
from frota.load.bulk.sqlite import SqliteWriter
from frota.load.writer import MaintenanceWriter

__all__ = [
    "LOCAL_INFILE_OPT_IN",
    "InfileRequestRefused",
    "allow_infile",
    "check_local_infile_connection",
    "check_local_infile_setting",
    "guard_engine",
    "maintenance_writer",
]


def maintenance_writer(
    conn: Connection,
    lote_id: str,
    on_flush: Callable[[], None] | None = None,
    direct: bool = False,
    last: int = 0,
) -> MaintenanceWriter:
    """The bulk writer for this connection's dialect (LOAD DATA only on a guarded connection);
    `direct`: new rows straight to manutencoes, whose ids above `last` are the batch's own
    (base.py)."""
    options: dict[str, Any] = {"on_flush": on_flush, "direct": direct, "last": last}
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return SqliteWriter(conn, lote_id, **options)
    if dialect == "postgresql":
        return PostgresCopyWriter(conn, lote_id, **options)
    if dialect == "mysql":
        dbapi: Any = conn.connection.dbapi_connection
        if isinstance(dbapi, guarded_class()) and dbapi._local_infile:
            return MysqlLoadDataWriter(conn, lote_id, **options)
        return MysqlInsertWriter(conn, lote_id, **options)
    raise NotImplementedError(dialect)
