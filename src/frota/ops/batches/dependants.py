"""Which batches depend on a batch, for `frota batch undo` and `replay`.

A batch X depends on B when taking B back (or putting it back) would pull the ground from under
what X did. X is any ledger entry in effect (not undone) other than B, the undo/replay
operations excepted (they only put records back as they were), quarantine retries included:

- a change X made (frota_manutencoes_historico) to a record B inserted, or a later change X
  made to a record B changed;
- a vehicle state X applied (frota_veiculos_historico, 'stale' ones too: without B the loader
  might have judged them otherwise) to a vehicle B applied a state to, after B;
- a maintenance X wrote for a vehicle B brought (its 'insert'): without B, X's row would wait
  in the quarantine for its vehicle;
- held rows of B that X released from the quarantine.

"Later" is the order the rows were written in (the history's ids), so it holds on MariaDB too,
whose ledger times keep whole seconds. An undone B's rows stay in the history (withdrawn), so
the same rules find, for a replay, the batches loaded since the undo that touched its records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.contract import REPLAY_SOURCE, UNDO_SOURCE
from frota.db.schema import batches, maintenance_history, manutencoes, quarantine, vehicle_history
from frota.i18n import N_

# Why X depends on B (shown translated; docs/operations.md explains each).
CHANGED_RECORD = N_("changed a record it wrote")
CHANGED_VEHICLE = N_("changed a vehicle it changed")
USED_VEHICLE = N_("loaded maintenances of a vehicle it brought")
RELEASED_ROWS = N_("released its held rows")


def _counted(lote: sa.ColumnElement, *, undone: bool) -> sa.ColumnElement:
    """`lote` names a ledger entry, not an undo or a replay, in effect (or, `undone`, one an
    undo took back)."""
    b = batches.c
    state = b.desfeito_lote.is_not(None) if undone else b.desfeito_lote.is_(None)
    return (
        sa.select(sa.literal(1))
        .where(b.batch_id == lote, state, b.source.not_in([UNDO_SOURCE, REPLAY_SOURCE]))
        .exists()
    )


def _rows(table: Any, undone: bool) -> sa.ColumnElement:
    return table.c.desfeito_lote.is_not(None) if undone else table.c.desfeito_lote.is_(None)


def _record_changes(conn: Connection, batch_id: str, before: bool, undone: bool) -> set[str]:
    """Batches whose changes follow `batch_id`'s on a record (or, `before`, precede them)."""
    mine, other, m = (
        maintenance_history.alias("mine"),
        maintenance_history.alias("other"),
        manutencoes,
    )
    if before:  # the other wrote the record, or changed it first
        ordered = (
            sa.select(other.c.lote_id)
            .join(mine, mine.c.chave == other.c.chave)
            .where(mine.c.lote_id == batch_id, other.c.id < mine.c.id)
        )
        wrote = (
            sa.select(m.c.lote_id.label("lote_id"))
            .join(mine, mine.c.chave == m.c.chave)
            .where(
                mine.c.lote_id == batch_id,
                m.c.lote_id != batch_id,
                _counted(m.c.lote_id, undone=undone),
            )
        )
        found = set(conn.execute(wrote.distinct()).scalars())
    else:  # the other changed a record this batch wrote, or changed after it
        ordered = (
            sa.select(other.c.lote_id)
            .join(mine, mine.c.chave == other.c.chave)
            .where(mine.c.lote_id == batch_id, other.c.id > mine.c.id)
        )
        on_written = (
            sa.select(other.c.lote_id)
            .join(m, m.c.chave == other.c.chave)
            .where(m.c.lote_id == batch_id)
        )
        found = _other_rows(conn, on_written, other, batch_id, undone)
    return found | _other_rows(conn, ordered, other, batch_id, undone)


def _other_rows(
    conn: Connection, query: sa.Select, other: Any, batch_id: str, undone: bool
) -> set[str]:
    return set(
        conn.execute(
            query.where(
                other.c.lote_id != batch_id,
                _rows(other, undone),
                _counted(other.c.lote_id, undone=undone),
            ).distinct()
        ).scalars()
    )


def _vehicle_changes(conn: Connection, batch_id: str, before: bool, undone: bool) -> set[str]:
    mine, other = vehicle_history.alias("mine"), vehicle_history.alias("other")
    order = other.c.id < mine.c.id if before else other.c.id > mine.c.id
    query = (
        sa.select(other.c.lote_id)
        .join(mine, mine.c.placa == other.c.placa)
        .where(mine.c.lote_id == batch_id, order)
    )
    return _other_rows(conn, query, other, batch_id, undone)


def _vehicle_users(conn: Connection, batch_id: str, before: bool, undone: bool) -> set[str]:
    """Batches with maintenances of a vehicle `batch_id` brought (or, `before`: batches that
    brought a vehicle of `batch_id`'s maintenances)."""
    h, m = vehicle_history.c, manutencoes.c
    if before:
        query = sa.select(h.lote_id).where(
            h.aplicacao == "insert",
            h.placa.in_(sa.select(m.placa_veiculo).where(m.lote_id == batch_id)),
            h.lote_id != batch_id,
            _counted(h.lote_id, undone=undone),
        )
    else:
        brought = sa.select(h.placa).where(h.lote_id == batch_id, h.aplicacao == "insert")
        query = sa.select(m.lote_id).where(
            m.placa_veiculo.in_(brought), m.lote_id != batch_id, _counted(m.lote_id, undone=undone)
        )
    return set(conn.execute(query.distinct()).scalars())


def _releasers(conn: Connection, batch_id: str, before: bool, undone: bool) -> set[str]:
    q = quarantine.c
    mine, theirs = (
        (q.released_batch_id, q.batch_id) if before else (q.batch_id, q.released_batch_id)
    )
    query = sa.select(theirs).where(
        mine == batch_id,
        q.status == "released",
        theirs != batch_id,
        _counted(theirs, undone=undone),
    )
    return set(conn.execute(query.distinct()).scalars())


def _links(conn: Connection, batch_id: str, *, before: bool, undone: bool) -> dict[str, list[str]]:
    why: dict[str, list[str]] = defaultdict(list)
    for reason, find in (
        (CHANGED_RECORD, _record_changes),
        (CHANGED_VEHICLE, _vehicle_changes),
        (USED_VEHICLE, _vehicle_users),
        (RELEASED_ROWS, _releasers),
    ):
        for other in find(conn, batch_id, before, undone):
            why[other].append(reason)
    order = load_order(conn, why)
    return {b: why[b] for b in sorted(why, key=order.__getitem__)}


def dependants(conn: Connection, batch_id: str) -> dict[str, list[str]]:
    """The batches in effect that depend on `batch_id` -> why (CHANGED_RECORD…), in load
    order: what an undo of it must take back first, or what a replay of it would overrule."""
    return _links(conn, batch_id, before=False, undone=False)


def prerequisites(conn: Connection, batch_id: str) -> dict[str, list[str]]:
    """The undone batches `batch_id` depends on -> why: a replay of it needs them first."""
    return _links(conn, batch_id, before=True, undone=True)


def load_order(conn: Connection, batch_ids: Iterable[str]) -> dict[str, tuple]:
    """batch id -> a key that sorts batches in the order they were loaded."""
    ids = list(batch_ids)
    if not ids:
        return {}
    b = batches.c
    found = conn.execute(sa.select(b.batch_id, b.loaded_at).where(b.batch_id.in_(ids))).all()
    return {str(row[0]): (row[1], str(row[0])) for row in found}


def closure(conn: Connection, batch_id: str) -> tuple[list[str], dict[str, list[str]]]:
    """`batch_id` and every batch that depends on it, directly or through another, ordered so
    that each comes after all it depends on (then by load order); and the direct edges."""
    edges: dict[str, list[str]] = {}
    todo = [batch_id]
    while todo:
        current = todo.pop()
        if current in edges:
            continue
        edges[current] = list(dependants(conn, current))
        todo.extend(edges[current])
    order = load_order(conn, edges)
    placed: list[str] = []
    remaining = set(edges)
    while remaining:
        ready = [b for b in remaining if not any(b in edges[a] for a in remaining if a != b)]
        nxt = min(ready or remaining, key=order.__getitem__)
        placed.append(nxt)
        remaining.discard(nxt)
    return placed, edges
