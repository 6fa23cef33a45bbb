"""One loader at a time per database: a database advisory lock, held by the load connection.

MySQL/MariaDB `GET_LOCK` and PostgreSQL `pg_try_advisory_lock` are session locks taken on the
same connection that runs the batch transactions: if that connection dies, the lock and the
open transaction die together, so no batch can commit without the lock. SQLite has no
advisory locks; an OS file lock beside the database file plays that role (released by the OS
when the process dies).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.engine import Connection

from frota.errors import LockHeld
from frota.i18n import N_, _

LOCK_NAME = "frota_load"
# pg advisory locks take a bigint; this is a fixed, arbitrary key for frota's loader.
PG_LOCK_KEY = 0x66726F7461  # "frota"

_HELD_MESSAGE = N_("another frota load is running against this database")
_HELD_HINT = N_("wait for it to finish; this run changed nothing")


def _sqlite_lock_path(conn: Connection) -> Path | None:
    database = conn.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + ".lock")


@contextmanager
def load_lock(conn: Connection) -> Iterator[None]:
    """Hold the loader lock for the duration; LockHeld at once if another loader has it."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        path = _sqlite_lock_path(conn)
        if path is None:
            yield
            return
        lock = FileLock(str(path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise LockHeld(_(_HELD_MESSAGE), hint=_(_HELD_HINT)) from None
        try:
            yield
        finally:
            lock.release()
        return
    if dialect == "mysql":
        got = conn.execute(sa.text("SELECT GET_LOCK(:n, 0)"), {"n": _mysql_name(conn)}).scalar()
        conn.commit()
        if got != 1:
            raise LockHeld(_(_HELD_MESSAGE), hint=_(_HELD_HINT))
        try:
            yield
        finally:
            _quietly(conn, "SELECT RELEASE_LOCK(:n)", {"n": _mysql_name(conn)})
        return
    if dialect == "postgresql":
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            raise LockHeld(_(_HELD_MESSAGE), hint=_(_HELD_HINT))
        try:
            yield
        finally:
            _quietly(conn, "SELECT pg_advisory_unlock(:k)", {"k": PG_LOCK_KEY})
        return
    raise NotImplementedError(dialect)


def still_held(conn: Connection) -> bool:
    """Checked inside the batch transaction, right before COMMIT."""
    dialect = conn.dialect.name
    if dialect == "mysql":
        owner = conn.execute(
            sa.text("SELECT IS_USED_LOCK(:n) = CONNECTION_ID()"), {"n": _mysql_name(conn)}
        ).scalar()
        return bool(owner)
    if dialect == "postgresql":
        held = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objid = :lo AND classid = :hi"
            ),
            {"lo": PG_LOCK_KEY & 0xFFFFFFFF, "hi": PG_LOCK_KEY >> 32},
        ).scalar()
        return bool(held)
    return True


def _mysql_name(conn: Connection) -> str:
    # GET_LOCK is server-wide: include the database so two frota databases on one server
    # do not block each other.
    return f"{LOCK_NAME}:{conn.engine.url.database}"[:64]


def _quietly(conn: Connection, sql: str, params: dict) -> None:
    try:
        conn.execute(sa.text(sql), params)
        conn.commit()
    except sa.exc.DBAPIError:
        pass  # the connection is gone, and its session lock with it
