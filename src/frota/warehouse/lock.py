"""One warehouse run at a time, end to end: replication *and* dbt, per warehouse.

A DuckDB warehouse is locked by an OS file lock beside its file (`<file>.frota.lock`); a
PostgreSQL warehouse by a session advisory lock held on a connection of its own for the whole
run. Either is released by the operating system or the server when the process dies, so a
killed run never blocks the next one. A second run exits at once with `LockHeld` (exit 4),
having changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from filelock import FileLock, Timeout

from frota.errors import LockHeld
from frota.warehouse.target import PostgresConnection, WarehouseTarget, clean_scratch

# pg advisory locks take a bigint: a fixed key of frota's own ("frotawh"), apart from the
# loader's, so a warehouse in the operational database itself does not block the loader.
PG_LOCK_KEY = 0x66726F74617768

_HELD_HINT = "wait for it to finish (this run changed nothing), then run it again"


def _held(target: WarehouseTarget) -> LockHeld:
    return LockHeld(
        f"another frota warehouse run is building the warehouse {target.masked}", hint=_HELD_HINT
    )


@contextmanager
def warehouse_lock(target: WarehouseTarget) -> Iterator[None]:
    """Hold the warehouse's lock for the duration (LockHeld at once if another run has it);
    on entry, remove what a killed run left in the scratch folder."""
    if target.kind == "duckdb":
        assert target.path is not None
        target.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(target.path.with_name(target.path.name + ".frota.lock")), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise _held(target) from None
        try:
            clean_scratch(target)
            yield
        finally:
            lock.release()
        return
    with PostgresConnection(target) as holder:
        (got,) = holder.execute("SELECT pg_try_advisory_lock(?)", (PG_LOCK_KEY,))[0]
        if not got:
            raise _held(target)
        try:
            yield
        finally:
            # A lost connection has released the lock already, with its session.
            with suppress(Exception):
                holder.execute("SELECT pg_advisory_unlock(?)", (PG_LOCK_KEY,))
