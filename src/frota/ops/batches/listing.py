"""`frota batch list` and `frota batch show`: every batch the server knows of, from the ledger
(loaded), the rejections (set aside, or acknowledged) and the landing area (waiting, or
incomplete), in one view."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import BATCH_ID_RE, Manifest, is_batch_id, naive_utc
from frota.config import Settings
from frota.db.schema import batches, quarantine, rejected_batches
from frota.errors import FrotaError, UsageError
from frota.i18n import _
from frota.landing import Landing, open_landing
from frota.landing.discover import Candidate, inspect_batch
from frota.load.ledger import BatchCounts
from frota.load.rejections import batch_source
from frota.ops.engine import database

# What a batch can be, as `frota batch list --state` names it.
STATES = ("loaded", "undone", "rejected", "acknowledged", "pending", "incomplete")


@dataclass(frozen=True)
class BatchRow:
    """One batch in the list."""

    batch_id: str
    source: str
    state: str
    published_at: datetime | None  # naive UTC
    loaded_at: datetime | None = None
    rows_read: int | None = None
    problem: str | None = None  # why it was rejected, or why it is incomplete


@dataclass(frozen=True)
class BatchListing:
    """The newest `limit` batches matching the filter, and how many are in each state."""

    rows: tuple[BatchRow, ...]
    counts: dict[str, int]
    landing_error: str | None = None  # the landing area could not be read: ledger only


@dataclass(frozen=True)
class BatchDetail:
    """Everything known about one batch."""

    row: BatchRow
    counts: dict[str, int] | None = None  # what loading it did (the ledger's counts)
    rejection: dict[str, Any] | None = None  # file, line, column, hint, note, noted_at…
    manifest: Manifest | None = None
    in_landing: bool = False
    quarantine: dict[str, dict[str, int]] = field(default_factory=dict)  # status -> reason -> n


def id_time(batch_id: str) -> datetime | None:
    """The time a batch id carries (whole seconds, naive UTC)."""
    match = BATCH_ID_RE.match(batch_id)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ")


def _ledger_rows(conn: Connection, where: list[Any] | None = None) -> dict[str, BatchRow]:
    b = batches.c
    query = sa.select(
        b.batch_id, b.source, b.published_at, b.loaded_at, b.rows_read, b.desfeito_lote
    )
    return {
        r.batch_id: BatchRow(
            r.batch_id,
            r.source,
            "loaded" if r.desfeito_lote is None else "undone",
            r.published_at,
            r.loaded_at,
            r.rows_read,
            # an undone batch: the undo that took it back (frota batch replay applies it again)
            None if r.desfeito_lote is None else f"undone by {r.desfeito_lote}",
        )
        for r in conn.execute(query.where(*(where or [])))
    }


def _rejection_rows(conn: Connection, where: list[Any] | None = None) -> dict[str, BatchRow]:
    r = rejected_batches.c
    query = sa.select(r.batch_id, r.source, r.state, r.message).where(r.state != "loaded")
    return {
        row.batch_id: BatchRow(
            row.batch_id, row.source, row.state, id_time(row.batch_id), problem=row.message
        )
        for row in conn.execute(query.where(*(where or [])))
    }


def _landing_row(candidate: Candidate) -> BatchRow:
    manifest = candidate.manifest
    published = naive_utc(manifest.published_at) if manifest else id_time(candidate.batch_id)
    source = batch_source(candidate.batch_id, manifest.source if manifest else None)
    if candidate.rejected is not None:  # not recorded yet: the next load records it
        return BatchRow(
            candidate.batch_id, source, "rejected", published, problem=candidate.rejected.message
        )
    state = "pending" if candidate.complete else "incomplete"
    return BatchRow(candidate.batch_id, source, state, published, problem=candidate.problem)


def list_batches(settings: Settings, *, state: str | None = None, limit: int = 20) -> BatchListing:
    """The newest batches first (by publish time), at most `limit`, in `state` if given."""
    if state is not None and state not in STATES:
        raise UsageError(
            _("unknown batch state {state!r}").format(state=state),
            hint=_("states: {states}").format(states=", ".join(STATES)),
        )
    with database(settings) as conn:
        known = _ledger_rows(conn)
        known.update({k: v for k, v in _rejection_rows(conn).items() if k not in known})
    landing_error = None
    try:
        landing = open_landing(settings.landing)
        for batch_id in landing.list_batch_ids():
            if is_batch_id(batch_id) and batch_id not in known:
                known[batch_id] = _landing_row(inspect_batch(landing, batch_id))
    except FrotaError as exc:
        landing_error = exc.message
    counts: dict[str, int] = {}
    for row in known.values():
        counts[row.state] = counts.get(row.state, 0) + 1
    chosen = [r for r in known.values() if state is None or r.state == state]
    oldest = datetime.min
    chosen.sort(key=lambda r: (r.published_at or oldest, r.batch_id), reverse=True)
    return BatchListing(tuple(chosen[:limit]), counts, landing_error)


def show_batch(settings: Settings, batch_id: str) -> BatchDetail:
    """One batch: its state, what loading it did or why it was refused, its manifest, and its
    rows in the quarantine. UsageError if no part of the pipeline knows it."""
    with database(settings) as conn:
        row = _ledger_rows(conn, [batches.c.batch_id == batch_id]).get(batch_id)
        counts = _counts(conn, batch_id) if row else None
        rejection = _rejection(conn, batch_id)
        if row is None and rejection is not None and rejection["state"] != "loaded":
            row = _rejection_rows(conn, [rejected_batches.c.batch_id == batch_id])[batch_id]
        held = _quarantine(conn, batch_id)
    manifest, in_landing = None, False
    if is_batch_id(batch_id):
        landing = open_landing(settings.landing)
        candidate = _find(landing, batch_id)
        if candidate is not None:
            in_landing, manifest = True, candidate.manifest
            row = row or _landing_row(candidate)
    if row is None:
        raise UsageError(
            _("no batch {batch_id} in the ledger, the rejected batches or the landing area").format(
                batch_id=batch_id
            ),
            hint=_("see `frota batch list` for the batch ids"),
        )
    return BatchDetail(row, counts, rejection, manifest, in_landing, held)


def _find(landing: Landing, batch_id: str) -> Candidate | None:
    """The batch as the landing area holds it; None when it is not there (never, or pruned)."""
    if not landing.list_files(batch_id):
        return None
    return inspect_batch(landing, batch_id)


def _counts(conn: Connection, batch_id: str) -> dict[str, int]:
    names = [f.name for f in fields(BatchCounts)]
    found = conn.execute(
        sa.select(*(batches.c[n] for n in names)).where(batches.c.batch_id == batch_id)
    ).one()
    return {name: found._mapping[name] for name in names}


def _rejection(conn: Connection, batch_id: str) -> dict[str, Any] | None:
    found = conn.execute(
        sa.select(rejected_batches).where(rejected_batches.c.batch_id == batch_id)
    ).first()
    return dict(found._mapping) if found else None


def _quarantine(conn: Connection, batch_id: str) -> dict[str, dict[str, int]]:
    q = quarantine.c
    held: dict[str, dict[str, int]] = {}
    for row in conn.execute(
        sa.select(q.status, q.reason, sa.func.count().label("n"))
        .where(q.batch_id == batch_id)
        .group_by(q.status, q.reason)
        .order_by(q.status, q.reason)
    ):
        held.setdefault(row.status, {})[row.reason] = row.n
    return held
