"""Transient vs terminal database errors, and retrying a whole unit of work within a budget.

Decided by exception class and driver error code, never by the words of a message:

- MySQL/MariaDB (PyMySQL): codes 2002, 2003, 2006, 2013, 2055 (connection refused or lost),
  1205 (lock wait timeout), 1213 (deadlock), and `InterfaceError` (a socket PyMySQL already
  found dead) are transient, unless the connection failed in its TLS handshake (an
  `ssl.SSLError` behind the driver's error: a certificate that did not verify will not verify
  on the next try). Every other code (1045 access denied, 1049 unknown database…) is terminal.
- PostgreSQL (psycopg): SQLSTATE class 08, 40001, 40P01, 53300, 57P01-57P03 are transient. A
  failed connection attempt carries no SQLSTATE (libpq keeps the server's reason as text), so
  the server is asked again, as PQping does: if it answers with an authentication request or
  a refusal, it is up and the attempt failed for a reason of ours (password, role, database,
  pg_hba, TLS): terminal; if nothing answers, or it says it is starting, stopping or full,
  transient. A connection lost mid-session is transient.
- SQLite: SQLITE_BUSY and SQLITE_LOCKED (the driver's `sqlite_errorcode`).
- A host name that does not resolve (`socket.gaierror` EAI_NONAME behind the driver's error,
  either driver) is terminal: a typo stays a typo. A resolver that is down (EAI_AGAIN) is not.
- frota's own errors: `DatabaseUnreachable` by the driver error behind it, and
  `LockOfLostSession`. Any other `FrotaError` is not retried here, not even a `TransientError`
  such as `LockHeld`: that one waits for the next scheduled run, not for a backoff.

A retry always starts the unit of work from the beginning on a fresh connection: the failed
transaction died with its connection, so nothing of it was committed.

Budget: at most `attempts` tries and `max_seconds` of waiting, with exponential backoff
(0.5 s, 1 s, 2 s, … capped at 15 s) and full jitter; then `DatabaseUnreachable` (exit 5).
"""

from __future__ import annotations

import random
import socket
import sqlite3
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from frota.config import Settings
from frota.errors import DatabaseUnreachable, FrotaError, LockOfLostSession
from frota.i18n import _
from frota.observe.log import logger

T = TypeVar("T")

MYSQL_TRANSIENT = {2002, 2003, 2006, 2013, 2055, 1205, 1213}
PG_TRANSIENT = {"40001", "40P01", "53300", "57P01", "57P02", "57P03"}
SQLITE_TRANSIENT = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
# TLS failures that are a dropped connection, not a refused one.
_TLS_DROPS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
PROBE_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: total attempts, total seconds of waiting, backoff base and cap."""

    attempts: int = Settings.retry_attempts
    max_seconds: float = Settings.retry_max_seconds
    base: float = 0.5
    cap: float = 15.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(failures-1))]."""
        return rng.uniform(0, min(self.cap, self.base * 2 ** (failures - 1)))


def _driver_error(exc: BaseException) -> BaseException | None:
    """The DB-API error behind a SQLAlchemy error or a frota connect error."""
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.orig
    if isinstance(exc, DatabaseUnreachable):
        # connect() raises it `from None`; the driver's error is still the context.
        inner = exc.__context__
        return _driver_error(inner) if inner is not None else None
    return None


def is_transient(exc: BaseException) -> bool:
    """Would running the same unit of work again, on a new connection, likely succeed?"""
    if isinstance(exc, LockOfLostSession):
        return True
    if isinstance(exc, FrotaError) and not isinstance(exc, DatabaseUnreachable):
        return False
    if _unknown_host(exc):
        return False
    orig = _driver_error(exc)
    if orig is None:
        return False
    module = type(orig).__module__
    if module.startswith("pymysql"):
        return _mysql_transient(orig)
    if module.startswith("psycopg"):
        return _postgres_transient(orig)
    if module.startswith("sqlite3"):
        code = getattr(orig, "sqlite_errorcode", None)
        # Extended result codes keep the primary code in their low byte.
        return code is not None and code & 0xFF in SQLITE_TRANSIENT
    return bool(isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated)


_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _unknown_host(exc: BaseException) -> bool:
    """Is a `socket.gaierror` saying "no such name" the cause of the error, or behind its
    driver's error (frota.db.connect makes it the cause; PyMySQL keeps it itself)?"""
    seen: BaseException | None = exc
    for _depth in range(6):
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror):
            return seen.errno in _NO_SUCH_HOST
        seen = (
            seen.__cause__
            or getattr(seen, "original_exception", None)
            or (seen.orig if isinstance(seen, sa.exc.DBAPIError) else None)
            or seen.__context__
        )
    return False


def _mysql_transient(orig: BaseException) -> bool:
    if type(orig).__name__ == "InterfaceError":
        return True  # PyMySQL's InterfaceError(0, '') on a socket it already found dead
    code = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
    if code not in MYSQL_TRANSIENT:
        return False
    # PyMySQL keeps the socket's error of a failed connection as `original_exception`.
    cause = getattr(orig, "original_exception", None) or orig.__cause__ or orig.__context__
    return not (isinstance(cause, ssl.SSLError) and not isinstance(cause, _TLS_DROPS))


def _postgres_transient(orig: Any) -> bool:
    state = getattr(orig, "sqlstate", None)
    if state:
        return state.startswith("08") or state in PG_TRANSIENT
    if type(orig).__name__ != "OperationalError":
        return False
    # psycopg attaches the connection only to the errors of a connection attempt.
    pgconn = getattr(orig, "pgconn", None)
    if pgconn is None:
        return True  # the connection was lost mid-session
    answer = _startup_answer(pgconn)
    return answer is None or answer.startswith("08") or answer in PG_TRANSIENT


def _startup_answer(pgconn: Any) -> str | None:
    """What the server of a failed connection attempt answers a startup message now: ""
    when it asks for authentication (it is up, so it refused our attempt for a reason of
    ours), the SQLSTATE of its ErrorResponse, or None when nothing answers.

    libpq's PQping says the same, but psycopg calls it holding the GIL: the whole process
    would stall for up to its timeout. This sends the protocol's startup message itself,
    with no password and no certificate: nothing secret leaves.
    """
    host, port = (pgconn.hostaddr or pgconn.host).decode(), int(pgconn.port or b"5432")
    pairs = ((b"user", pgconn.user), (b"database", pgconn.db))
    body = struct.pack("!i", 3 << 16) + b"".join(k + b"\0" + v + b"\0" for k, v in pairs) + b"\0"
    try:
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(PROBE_TIMEOUT_SECONDS)
            sock.connect(f"{host}/.s.PGSQL.{port}")
        else:
            sock = socket.create_connection((host, port), timeout=PROBE_TIMEOUT_SECONDS)
        with sock:
            sock.sendall(struct.pack("!i", len(body) + 4) + body)
            kind = sock.recv(1)
            if kind != b"E":
                return "" if kind else None
            (size,) = struct.unpack("!i", _recv_exactly(sock, 4))
            fields = _recv_exactly(sock, size - 4).split(b"\0")
    except (OSError, ValueError, struct.error):
        return None
    return next((f[1:].decode() for f in fields if f[:1] == b"C"), None)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
    return data


def describe(exc: BaseException) -> str:
    """One line naming the error, never its SQL parameters."""
    orig = _driver_error(exc)
    if isinstance(exc, FrotaError):
        return exc.message.splitlines()[0]
    return (str(orig) if orig is not None else str(exc)).splitlines()[0] or type(exc).__name__


def retry_call(
    fn: Callable[[int], T],
    policy: RetryPolicy,
    what: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """`fn(attempt)` until it succeeds, retrying transient errors within the policy's budget."""
    rng = rng or random.Random()
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return fn(attempt)
        except Exception as exc:
            if not is_transient(exc):
                raise
            waited = time.monotonic() - started
            pause = policy.delay(attempt, rng)
            if attempt >= policy.attempts or waited + pause > policy.max_seconds:
                if isinstance(exc, FrotaError) and not isinstance(exc, DatabaseUnreachable):
                    raise
                raise DatabaseUnreachable(
                    _("{what} failed after {attempt} attempt(s) in {seconds}s: {error}").format(
                        what=what, attempt=attempt, seconds=f"{waited:.1f}", error=describe(exc)
                    ),
                    hint=_(
                        "nothing was half-written; check the database server and "
                        "network, then run again (the retry budget is retry_attempts "
                        "/ retry_max_seconds)"
                    ),
                ) from None
            logger.warning(
                "%s: transient database error (attempt %d of %d), retrying in %.1fs: %s",
                what,
                attempt,
                policy.attempts,
                pause,
                describe(exc),
            )
            sleep(pause)
            attempt += 1
