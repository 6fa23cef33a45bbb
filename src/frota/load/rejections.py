"""Batches the loader refused (`frota_rejected_batches`): each recorded once, with the reason
and the file, line and column it names, then set aside, so that a broken batch does not fail
every later run and the batches after it keep flowing. `frota batch retry` (frota.ops.batches)
loads one again after a fix; `frota batch reject` records or acknowledges one by hand.

A rejection is written in a transaction of its own, after the batch's own transaction rolled
back: nothing of the batch is ever committed with it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import BATCH_ID_RE
from frota.db.schema import rejected_batches
from frota.errors import BadInputError

# States of a rejection whose batch the loader leaves alone.
SET_ASIDE = ("rejected", "acknowledged")
_MAX_MESSAGE = 16_000  # MySQL TEXT: the message of a huge header is cut, never refused


def set_aside_ids(conn: Connection) -> set[str]:
    """Every batch id the loader must skip because it was rejected."""
    r = rejected_batches.c
    ids: set[str] = set(conn.execute(sa.select(r.batch_id).where(r.state.in_(SET_ASIDE))).scalars())
    conn.rollback()
    return ids


def waiting_for_a_person(conn: Connection) -> int:
    """Rejected batches nobody has acknowledged yet."""
    r = rejected_batches.c
    n = conn.execute(sa.select(sa.func.count()).where(r.state == "rejected")).scalar() or 0
    conn.rollback()
    return int(n)


def batch_source(batch_id: str, source: str | None = None) -> str:
    """The source of a batch: its manifest's, else the one its id names."""
    if source:
        return source
    match = BATCH_ID_RE.match(batch_id)
    return match.group(2) if match else "unknown"


def rejection_values(error: BadInputError) -> dict[str, object]:
    """The columns of a rejection that describe the error."""
    return {
        "message": error.message[:_MAX_MESSAGE],
        "file": (error.file or "")[:255] or None,
        "line": error.line,
        "column_name": (error.column or "")[:64] or None,
        "hint": error.hint,
    }


def record_rejection(
    conn: Connection,
    batch_id: str,
    error: BadInputError,
    run_id: str | None,
    *,
    source: str | None = None,
    state: str = "rejected",
) -> None:
    """Record (or, for a batch retried in vain, renew) the rejection, in its own transaction."""
    now = datetime.now(UTC).replace(tzinfo=None)
    values = {**rejection_values(error), "rejected_at": now, "run_id": run_id, "state": state}
    with conn.begin():
        r = rejected_batches.c
        found = conn.execute(sa.select(r.state).where(r.batch_id == batch_id)).first()
        if found is None:
            conn.execute(
                rejected_batches.insert(),
                {"batch_id": batch_id, "source": batch_source(batch_id, source), **values},
            )
        else:
            conn.execute(rejected_batches.update().where(r.batch_id == batch_id).values(values))
