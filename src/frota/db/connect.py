"""Opening connections with errors people can act on."""

from __future__ import annotations

import socket
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
        unknown = unknown_host(engine.url.host)
        error = DatabaseUnreachable(
            f"cannot connect to {mask(engine.url)}: {reason}",
            hint=f"the host name {engine.url.host!r} is not known: check the URL"
            if unknown
            else "check that the server is up and the URL, user and password are right",
        )
        # The driver's error stays the context (frota.load.retry reads it); a name that does
        # not resolve is the cause, so that no retry waits for a typo to heal.
        raise error from unknown
    try:
        yield conn
    finally:
        conn.close()


def unknown_host(host: str | None) -> socket.gaierror | None:
    """The resolver's "no such name" for `host` (not a socket path), else None."""
    if not host or host.startswith("/"):
        return None
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return exc
    except OSError:
        pass
    return None
