"""Opening connections with errors people can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from frota.db.engine import mask
from frota.errors import DatabaseUnreachable


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection; DatabaseUnreachable (exit 5) if the server cannot be reached."""
    try:
        conn = engine.connect()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "connection failed"
        raise DatabaseUnreachable(
            f"cannot connect to {mask(engine.url)}: {reason}",
            hint="check that the server is up and the URL, user and password are right",
        ) from None
    try:
        yield conn
    finally:
        conn.close()
