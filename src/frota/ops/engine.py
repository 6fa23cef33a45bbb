"""The database, opened for an operator command the way the loader opens it: its engine
(`frota.load.engine`), the schema checked, and for commands that write, one transaction under
the load lock, so that no load runs meanwhile and nothing commits if the lock was lost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from frota.config import Settings
from frota.db.connect import connect
from frota.db.lock import load_lock, still_held
from frota.db.migrate import ensure_schema
from frota.errors import LockHeld
from frota.i18n import _
from frota.load.engine import loader_engine


@contextmanager
def database(settings: Settings) -> Iterator[Connection]:
    """A connection to a database with frota's schema (ConfigError naming the fix if not)."""
    engine = loader_engine(settings)
    try:
        with connect(engine) as conn:
            ensure_schema(conn)
            yield conn
    finally:
        engine.dispose()


@contextmanager
def locked_transaction(settings: Settings, what: str) -> Iterator[Connection]:
    """One transaction under the load lock (LockHeld at once while a load runs); `what`
    names the command in the message if the lock is lost before COMMIT."""
    with database(settings) as conn, load_lock(conn), conn.begin():
        yield conn
        if not still_held(conn):
            raise LockHeld(
                _("the load lock was lost before commit; {what} rolled back").format(what=what)
            )
