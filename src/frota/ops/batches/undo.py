"""`frota batch undo ID [--cascade] [--apply]`: take back exactly what a loaded batch did.

- the records it inserted are retired (soft, as a snapshot retires: the operation's id and
  time in retirada_lote/retirada_em, and a 'retire' history row);
- the records it changed go back to the state before it (the before-image the history keeps
  since migration 0006); the ones it retired come back;
- its vehicle states are withdrawn (desfeito_lote in frota_veiculos_historico) and each of its
  vehicles gets the greatest version still in force; a vehicle left with none is withdrawn;
- the held rows it released are held again, its own held rows leave the quarantine ('undone');
- the batch stays in the ledger (the loader never takes it again) marked undone, and the undo
  has a ledger entry of its own (source `batch-undo`): the warehouse follows it like a batch.

A batch whose changes were recorded before 0006 has no before-image: refused, never guessed.
Later batches that depend on it (frota.ops.batches.dependants) refuse it too, unless
`cascade`: then they are undone first, newest first, in the same transaction.
A dry run (the default) says what would happen and changes nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.config import Settings
from frota.contract import REPLAY_SOURCE, UNDO_SOURCE
from frota.db.schema import batches, maintenance_history, manutencoes, quarantine, vehicle_history
from frota.errors import UsageError
from frota.i18n import _
from frota.observe.runs import recorded
from frota.ops.batches.dependants import closure, dependants
from frota.ops.batches.restate import (
    CONTRACT,
    Effects,
    RecordState,
    batch_plates,
    change_pages,
    derive_vehicles,
    mark_history,
    operation_id,
    record_operation,
    set_quarantine,
    set_records,
    written_pages,
)
from frota.ops.engine import database, locked_transaction
from frota.ops.notes import now as utc_now


@dataclass(frozen=True)
class Preview:
    """What undoing (or replaying) one batch would touch."""

    batch_id: str
    records_written: int  # records it inserted (retired by an undo, restored by a replay)
    records_changed: int  # records it changed (set back, or changed again)
    vehicle_states: int
    quarantine_rows: int


@dataclass
class OperationResult:
    """An undo or a replay: the batches in the order they are (or would be) taken, what each
    touches, and with `applied` what each did (its operation id among them)."""

    batch_id: str
    applied: bool
    order: list[str] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    effects: list[Effects] = field(default_factory=list)


def ledger_row(conn: Connection, batch_id: str) -> sa.Row:
    """The batch's ledger row; UsageError naming the way on if it is not a loaded batch."""
    row = conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).first()
    if row is None:
        raise UsageError(
            _(
                "batch {batch_id} is not in the ledger: only a loaded batch is undone or replayed"
            ).format(batch_id=batch_id),
            hint=_(
                "see `frota batch list --state loaded`; a batch not loaded yet is set aside "
                "with `frota batch reject`"
            ),
        )
    if row.source in (UNDO_SOURCE, REPLAY_SOURCE):
        raise UsageError(
            _("{batch_id} is an undo or a replay, not a batch").format(batch_id=batch_id),
            hint=_("name the batch it acted on: {batch}").format(batch=row.operacao_de),
        )
    return row


def preview(conn: Connection, batch_id: str, undone_by: str | None) -> Preview:
    """What an undo (`undone_by` None) or a replay of `undone_by`'s undo would touch."""
    m, h = manutencoes.c, maintenance_history.c
    written = conn.execute(
        sa.select(sa.func.count()).where(
            m.lote_id == batch_id,
            m.retirada_lote.is_(None) if undone_by is None else m.retirada_lote == undone_by,
        )
    ).scalar()
    state = h.desfeito_lote.is_(None) if undone_by is None else h.desfeito_lote == undone_by
    changed = conn.execute(
        sa.select(sa.func.count(sa.distinct(h.chave))).where(
            h.lote_id == batch_id, state, h.mudanca != "stale"
        )
    ).scalar()
    v = vehicle_history.c
    vstate = v.desfeito_lote.is_(None) if undone_by is None else v.desfeito_lote == undone_by
    states = conn.execute(sa.select(sa.func.count()).where(v.lote_id == batch_id, vstate)).scalar()
    q = quarantine.c
    rows = conn.execute(
        sa.select(sa.func.count()).where(
            sa.or_(
                sa.and_(
                    q.batch_id == batch_id, q.status == ("held" if undone_by is None else "undone")
                ),
                sa.and_(
                    q.released_batch_id == batch_id,
                    q.status == ("released" if undone_by is None else "held"),
                ),
            )
        )
    ).scalar()
    return Preview(batch_id, written or 0, changed or 0, states or 0, rows or 0)


def _check_before_images(conn: Connection, order: list[str]) -> None:
    """UsageError if a batch to undo changed records before the history kept before-images."""
    h = maintenance_history.c
    for batch_id in order:
        n = conn.execute(
            sa.select(sa.func.count()).where(
                h.lote_id == batch_id,
                h.desfeito_lote.is_(None),
                h.com_antes == 0,
                h.mudanca != "stale",  # it changed nothing
            )
        ).scalar()
        if n:
            raise UsageError(
                _(
                    "batch {batch_id} changed {n} stored record(s) before frota kept what a "
                    "change replaces (schema revision 0006): undo cannot put them back"
                ).format(batch_id=batch_id, n=n),
                hint=_(
                    "undo works on batches loaded after `frota db upgrade` to 0006; "
                    "see docs/operations.md"
                ),
            )


def describe(found: dict[str, list[str]]) -> str:
    """`id (why, why); id (why)`: the batches a refusal names."""
    return "; ".join(
        f"{b} ({', '.join(_(why) for why in reasons)})" for b, reasons in found.items()
    )


def _undo_records(conn: Connection, batch_id: str, op_id: str, now: datetime) -> Counter[str]:
    """Retire the records the batch inserted; set the ones it changed back (each as it was
    before the batch's first change to it). A page at a time."""
    counts: Counter[str] = Counter()
    for page in written_pages(conn, batch_id, None):
        retire = []
        for row in page:
            values = {c: row._mapping[c] for c in CONTRACT}
            retire.append(
                (row.chave, RecordState(values, None, None), RecordState(values, op_id, now))
            )
        counts.update(set_records(conn, op_id, now, retire))
    for rows in change_pages(conn, batch_id, None):
        changes: dict[str, tuple[RecordState, RecordState]] = {}
        for row in rows:  # by key, oldest first: the first one's before, the last one's after
            first = changes.get(row.chave, (before_image(row), None))[0]
            changes[row.chave] = (first, after_image(row))
        counts.update(set_records(conn, op_id, now, [(k, a, b) for k, (b, a) in changes.items()]))
    return counts


def before_image(row: sa.Row) -> RecordState:
    """The record as it was before a history row's change."""
    r = row._mapping
    return RecordState(
        {c: r[f"antes_{c}"] for c in CONTRACT}, r["antes_retirada_lote"], r["antes_retirada_em"]
    )


def after_image(row: sa.Row) -> RecordState:
    """The record as a history row of a batch left it (a 'retire': retired by that batch)."""
    r = row._mapping
    retired = r["mudanca"] == "retire"
    return RecordState(
        {c: r[c] for c in CONTRACT},
        r["lote_id"] if retired else None,
        r["registrado_em"] if retired else None,
    )


def undo_one(conn: Connection, batch_id: str, op_id: str, now: datetime) -> Effects:
    """Take back one batch (no later batch depends on it), in the caller's transaction."""
    counts = _undo_records(conn, batch_id, op_id, now)
    plates = batch_plates(conn, batch_id)
    states = mark_history(conn, batch_id, None, op_id, now)
    derived, withdrawn = derive_vehicles(conn, plates, op_id, now)
    held = set_quarantine(conn, batch_id, undo=True)
    conn.execute(batches.update().where(batches.c.batch_id == batch_id).values(desfeito_lote=op_id))
    return Effects(
        batch_id,
        op_id,
        retired=counts["retire"],
        restored=counts["restore"],
        updated=counts["update"],
        vehicle_states=states,
        vehicles=derived + withdrawn,
        vehicles_withdrawn=withdrawn,
        quarantine=held,
    )


def _plan(conn: Connection, batch_id: str, cascade: bool) -> list[str]:
    """The batches to undo, newest first; UsageError if it cannot be undone."""
    row = ledger_row(conn, batch_id)
    if row.desfeito_lote is not None:
        raise UsageError(
            _("batch {batch_id} is undone already (by {undo})").format(
                batch_id=batch_id, undo=row.desfeito_lote
            ),
            hint=_("to apply it again: frota batch replay {batch_id}").format(batch_id=batch_id),
        )
    later = dependants(conn, batch_id)
    if later and not cascade:
        raise UsageError(
            _("cannot undo batch {batch_id}: later batches depend on it: {later}").format(
                batch_id=batch_id, later=describe(later)
            ),
            hint=_(
                "undo them too, newest first, with --cascade (without --apply it only "
                "shows what it would do)"
            ),
        )
    order, _edges = closure(conn, batch_id)
    order.reverse()
    _check_before_images(conn, order)
    return order


@recorded(
    "batch undo",
    counts=lambda r: {"batches": len(r.order), "undone": len(r.effects)},
)
def undo_batch(
    settings: Settings,
    batch_id: str,
    *,
    cascade: bool = False,
    apply: bool = False,
    run_id: str | None = None,
) -> OperationResult:
    """Undo a loaded batch (and with `cascade` the batches that depend on it): a dry run
    unless `apply`; all of it in one transaction under the load lock."""
    result = OperationResult(batch_id, apply)
    if not apply:
        with database(settings) as conn:
            result.order = _plan(conn, batch_id, cascade)
            result.previews = [preview(conn, b, None) for b in result.order]
        return result
    group = (run_id or uuid.uuid4().hex)[:32]
    with locked_transaction(settings, _("the undo")) as conn:
        result.order = _plan(conn, batch_id, cascade)
        result.previews = [preview(conn, b, None) for b in result.order]
        for position, target in enumerate(result.order):
            now = utc_now()
            effects = undo_one(conn, target, operation_id(UNDO_SOURCE, target, now), now)
            record_operation(conn, effects, UNDO_SOURCE, group, position, now)
            result.effects.append(effects)
    return result
