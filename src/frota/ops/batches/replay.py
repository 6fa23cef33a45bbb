"""`frota batch replay ID [--cascade] [--apply]`: apply an undone batch again.

A replay puts back what the undo took back, from what the database kept, not from the landing
area: the records the batch inserted (retired by the undo, values untouched) come back, the
changes it made are applied again from its history rows (their after-images), its vehicle
states are put back in force and each vehicle's current state derived again, and its
quarantine rows return to what they were. So undo then replay gives the very state the batch
had left, even after `frota landing prune` removed its files, and whatever the loader's
settings or version are now (a reload from the files could judge rows otherwise).

Refused when a batch loaded since the undo touched its records or vehicles (it would be
overruled), or when it depends on a batch that is still undone; with `cascade`, the batches
undone together with it by `undo --cascade` are replayed too, in load order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.config import Settings
from frota.contract import REPLAY_SOURCE, UNDO_SOURCE
from frota.db.schema import batches
from frota.errors import UsageError
from frota.i18n import _
from frota.observe.runs import recorded
from frota.ops.batches.dependants import dependants, prerequisites
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
from frota.ops.batches.undo import (
    OperationResult,
    after_image,
    before_image,
    describe,
    ledger_row,
    preview,
)
from frota.ops.engine import database, locked_transaction
from frota.ops.notes import now as utc_now


def _replay_records(
    conn: Connection, batch_id: str, undo_id: str, op_id: str, now: datetime
) -> Counter[str]:
    """Restore the records the batch inserted; apply its changes again (each record as the
    batch's last change left it). A page at a time."""
    counts: Counter[str] = Counter()
    for page in written_pages(conn, batch_id, undo_id):
        restore = []
        for row in page:
            values = {c: row._mapping[c] for c in CONTRACT}
            restore.append(
                (
                    row.chave,
                    RecordState(values, row.retirada_lote, row.retirada_em),
                    RecordState(values, None, None),
                )
            )
        counts.update(set_records(conn, op_id, now, restore))
    for rows in change_pages(conn, batch_id, undo_id):
        changes: dict[str, tuple[RecordState, RecordState]] = {}
        for row in rows:  # by key, oldest first: the first one's before, the last one's after
            first = changes.get(row.chave, (before_image(row), None))[0]
            changes[row.chave] = (first, after_image(row))
        counts.update(set_records(conn, op_id, now, [(k, b, a) for k, (b, a) in changes.items()]))
    return counts


def replay_one(conn: Connection, batch_id: str, undo_id: str, op_id: str, now: datetime) -> Effects:
    """Apply one undone batch again, in the caller's transaction."""
    counts = _replay_records(conn, batch_id, undo_id, op_id, now)
    states = mark_history(conn, batch_id, undo_id, None, None)
    derived, withdrawn = derive_vehicles(conn, batch_plates(conn, batch_id), op_id, now)
    rows = set_quarantine(conn, batch_id, undo=False)
    conn.execute(batches.update().where(batches.c.batch_id == batch_id).values(desfeito_lote=None))
    return Effects(
        batch_id,
        op_id,
        retired=counts["retire"],
        restored=counts["restore"],
        updated=counts["update"],
        vehicle_states=states,
        vehicles=derived + withdrawn,
        vehicles_withdrawn=withdrawn,
        quarantine=rows,
    )


def _undone_by(conn: Connection, batch_id: str) -> str:
    row = ledger_row(conn, batch_id)
    if row.desfeito_lote is None:
        raise UsageError(
            _("batch {batch_id} is in effect: there is nothing to replay").format(
                batch_id=batch_id
            ),
            hint=_("replay applies a batch that `frota batch undo` took back"),
        )
    return str(row.desfeito_lote)


def _group(conn: Connection, batch_id: str, undo_id: str) -> list[str]:
    """The batch and those its cascade undid after it, in the order to replay them (the
    reverse of the undo's)."""
    b = batches.c
    undo = conn.execute(sa.select(b.run_id, b.sequence).where(b.batch_id == undo_id)).one()
    found: list[str] = list(
        conn.execute(
            sa.select(b.operacao_de)
            .where(b.source == UNDO_SOURCE, b.run_id == undo.run_id, b.sequence <= undo.sequence)
            .order_by(b.sequence.desc())
        ).scalars()
    )
    group = []
    for target in found:
        row = ledger_row(conn, str(target))
        if row.desfeito_lote is not None:  # not replayed on its own since
            group.append(str(target))
    return group


def _plan(conn: Connection, batch_id: str, cascade: bool) -> list[tuple[str, str]]:
    """(batch, its undo) to replay, in order; UsageError if it cannot be replayed."""
    undo_id = _undone_by(conn, batch_id)
    order = _group(conn, batch_id, undo_id) if cascade else [batch_id]
    planned = [(b, _undone_by(conn, b)) for b in order]
    done: set[str] = set()
    for target, _undo in planned:
        later = dependants(conn, target)
        if later:
            raise UsageError(
                _(
                    "cannot replay batch {batch_id}: batches loaded since its undo changed its "
                    "records or vehicles: {later}"
                ).format(batch_id=target, later=describe(later)),
                hint=_("undo those first (frota batch undo … --cascade), then replay"),
            )
        needed = {b: why for b, why in prerequisites(conn, target).items() if b not in done}
        if needed:
            raise UsageError(
                _("cannot replay batch {batch_id}: it depends on undone batches: {needed}").format(
                    batch_id=target, needed=describe(needed)
                ),
                hint=_("replay those first, or replay them together with --cascade"),
            )
        done.add(target)
    return planned


@recorded(
    "batch replay",
    counts=lambda r: {"batches": len(r.order), "replayed": len(r.effects)},
)
def replay_batch(
    settings: Settings,
    batch_id: str,
    *,
    cascade: bool = False,
    apply: bool = False,
    run_id: str | None = None,
) -> OperationResult:
    """Replay an undone batch (and with `cascade` the batches its undo took back with it):
    a dry run unless `apply`; all of it in one transaction under the load lock."""
    result = OperationResult(batch_id, apply)
    if not apply:
        with database(settings) as conn:
            planned = _plan(conn, batch_id, cascade)
            result.order = [b for b, _ in planned]
            result.previews = [preview(conn, b, undo) for b, undo in planned]
        return result
    group = (run_id or uuid.uuid4().hex)[:32]
    with locked_transaction(settings, _("the replay")) as conn:
        planned = _plan(conn, batch_id, cascade)
        result.order = [b for b, _ in planned]
        result.previews = [preview(conn, b, undo) for b, undo in planned]
        for position, (target, undo_id) in enumerate(planned):
            now = utc_now()
            op_id = operation_id(REPLAY_SOURCE, target, now)
            effects = replay_one(conn, target, undo_id, op_id, now)
            record_operation(conn, effects, REPLAY_SOURCE, group, position, now)
            result.effects.append(effects)
    return result
