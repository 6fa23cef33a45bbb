"""Transient vs terminal database errors, and retrying a whole unit of work within a budget.

Transient (retried): lost or refused connections, server restarts, lock wait timeouts and
deadlocks — MySQL/MariaDB 2002, 2003, 2006, 2013, 2055, 1205, 1213; PostgreSQL SQLSTATE class
08, 40001, 40P01, 57P01-57P03; SQLite "database is locked". Terminal (raised at once): bad
credentials, unknown database or table, TLS verification failures, bad input, and every
other error. A retry always starts the unit of work from the beginning on a fresh connection:
the failed transaction died with its connection, so nothing of it was committed.

Budget: at most `attempts` tries and `max_seconds` of waiting, with exponential backoff
(0.5 s, 1 s, 2 s, … capped at 15 s) and full jitter; then `DatabaseUnreachable` (exit 5).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa

from frota.config import Settings
from frota.errors import DatabaseUnreachable, FrotaError
from frota.observe.log import logger

T = TypeVar("T")

MYSQL_TRANSIENT = {2002, 2003, 2006, 2013, 2055, 1205, 1213}
PG_TRANSIENT = {"40001", "40P01", "57P01", "57P02", "57P03"}
# Connection failures that no retry can fix.
_TERMINAL_WORDS = (
    "certificate",
    "ssl",
    "tls",
    "authentication",
    "access denied",
    "password",
    "does not exist",
    "pg_hba",
)


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
    if isinstance(exc, FrotaError) and not isinstance(exc, DatabaseUnreachable):
        return exc.transient
    orig = _driver_error(exc)
    if orig is None:
        return False
    text = str(orig).lower()
    module = type(orig).__module__
    if module.startswith("pymysql"):
        code = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
        if code in MYSQL_TRANSIENT:
            return not any(word in text for word in _TERMINAL_WORDS)
        # pymysql raises InterfaceError(0, '') on a socket it already found dead.
        return type(orig).__name__ == "InterfaceError"
    if module.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        if state:
            return state.startswith("08") or state in PG_TRANSIENT
        # No SQLSTATE: the client lost or never got the connection.
        return type(orig).__name__ == "OperationalError" and not any(
            word in text for word in _TERMINAL_WORDS
        )
    if module.startswith("sqlite3"):
        return "database is locked" in text or "database is busy" in text
    return bool(isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated)


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
                    f"{what} failed after {attempt} attempt(s) in {waited:.1f}s: {describe(exc)}",
                    hint="nothing was half-written; check the database server and network, "
                    "then run again (the retry budget is retry_attempts / retry_max_seconds)",
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
