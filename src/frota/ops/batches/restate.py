"""What `frota batch undo` and `replay` share: a maintenance record set to a state (with its
history row), each vehicle's current state derived from the history in force, the quarantine
rows a batch held or released, and the operation's own ledger entry."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import make_batch_id
from frota.contract import MANUTENCOES
from frota.db.history import STATE_COLUMNS
from frota.db.schema import batches, maintenance_history, manutencoes, quarantine, vehicle_history
from frota.db.schema import veiculos as veiculos_table
from frota.load.ledger import LedgerEntry, record_batch

CONTRACT = MANUTENCOES.csv_header
PAGE = 1000


@dataclass
class Effects:
    """What one undo or replay did (the ledger entry's counts come from it)."""

    batch_id: str
    operation_id: str = ""
    retired: int = 0  # records retired (its inserts, or records it had restored)
    restored: int = 0  # records brought back (retired ones)
    updated: int = 0  # records set back (or again) to other values
    vehicle_states: int = 0  # vehicle states withdrawn or put back
    vehicles: int = 0  # vehicles whose current state was derived again
    vehicles_withdrawn: int = 0  # of which no state is left in force
    quarantine: int = 0  # quarantine rows set back (held, undone, released)


@dataclass(frozen=True)
class RecordState:
    """A maintenance record's contract values and retirement."""

    values: dict[str, Any]
    retirada_lote: str | None
    retirada_em: datetime | None

    @property
    def retired(self) -> bool:
        return self.retirada_lote is not None


def set_records(
    conn: Connection,
    op_id: str,
    now: datetime,
    changes: Sequence[tuple[str, RecordState, RecordState]],
) -> dict[str, int]:
    """Set each record (key, state before, state after) and write its history row under
    `op_id` (with the before-image, as the loader does). Counts by kind of change."""
    m = manutencoes
    update = (
        m.update()
        .where(m.c.chave == sa.bindparam("k"))
        .values(
            retirada_lote=sa.bindparam("r_lote"),
            retirada_em=sa.bindparam("r_em"),
            **{c: sa.bindparam(f"v_{c}") for c in CONTRACT},
        )
    )
    counts = {"retire": 0, "restore": 0, "update": 0}
    for start in range(0, len(changes), PAGE):
        page = changes[start : start + PAGE]
        conn.execute(
            update,
            [
                {"k": k, "r_lote": a.retirada_lote, "r_em": a.retirada_em}
                | {f"v_{c}": a.values[c] for c in CONTRACT}
                for k, _, a in page
            ],
        )
        rows = []
        for key, before, after in page:
            kind = "retire" if after.retired else "restore" if before.retired else "update"
            counts[kind] += 1
            rows.append(
                {
                    "chave": key,
                    "lote_id": op_id,
                    "mudanca": kind,
                    "registrado_em": now,
                    **after.values,
                    **{f"antes_{c}": before.values[c] for c in CONTRACT},
                    "antes_retirada_lote": before.retirada_lote,
                    "antes_retirada_em": before.retirada_em,
                    "com_antes": 1,
                }
            )
        conn.execute(maintenance_history.insert(), rows)
    return counts


def written_pages(conn: Connection, batch_id: str, retired_by: str | None) -> Iterator[list[Any]]:
    """The records `batch_id` inserted, retired by `retired_by` (None: in force), a page at a
    time (by id: memory follows the page, not the batch)."""
    m = manutencoes.c
    retired = m.retirada_lote.is_(None) if retired_by is None else m.retirada_lote == retired_by
    after = 0
    while True:
        page = list(
            conn.execute(
                sa.select(manutencoes)
                .where(m.lote_id == batch_id, retired, m.id > after)
                .order_by(m.id)
                .limit(PAGE)
            )
        )
        if not page:
            return
        after = page[-1].id
        yield page


def change_pages(conn: Connection, batch_id: str, undone_by: str | None) -> Iterator[list[Any]]:
    """The changes `batch_id` made to stored records ('stale' images changed nothing), undone
    by `undone_by` (None: in force): pages of whole keys, each key's rows in id order."""
    h = maintenance_history.c
    state = h.desfeito_lote.is_(None) if undone_by is None else h.desfeito_lote == undone_by
    mine = (h.lote_id == batch_id, state, h.mudanca != "stale")
    last = ""
    while True:
        keys: list[str] = list(
            conn.execute(
                sa.select(h.chave)
                .where(*mine, h.chave > last)
                .distinct()
                .order_by(h.chave)
                .limit(PAGE)
            ).scalars()
        )
        if not keys:
            return
        last = keys[-1]
        yield list(
            conn.execute(
                sa.select(maintenance_history)
                .where(*mine, h.chave.in_(keys))
                .order_by(h.chave, h.id)
            )
        )


def mark_history(
    conn: Connection, batch_id: str, was: str | None, undone_by: str | None, now: datetime | None
) -> int:
    """Set `desfeito_lote` of `batch_id`'s history rows (both tables) from `was` to
    `undone_by`: an undo withdraws them (None -> its id), a replay puts them back. Returns
    the vehicle states it touched."""
    touched = 0
    for table in (maintenance_history, vehicle_history):
        c = table.c
        state = c.desfeito_lote.is_(None) if was is None else c.desfeito_lote == was
        result = conn.execute(
            table.update()
            .where(c.lote_id == batch_id, state)
            .values(desfeito_lote=undone_by, desfeito_em=now)
        )
        touched = int(result.rowcount or 0)
    return touched


def batch_plates(conn: Connection, batch_id: str) -> list[str]:
    """The vehicles whose current state `batch_id` set (its 'insert' and 'update' states)."""
    h = vehicle_history.c
    return list(
        conn.execute(
            sa.select(h.placa)
            .where(h.lote_id == batch_id, h.aplicacao.in_(["insert", "update"]))
            .distinct()
            .order_by(h.placa)
        ).scalars()
    )


def derive_vehicles(
    conn: Connection, placas: Iterable[str], op_id: str, now: datetime
) -> tuple[int, int]:
    """Each vehicle's current row = its greatest version in force in the history (the loader's
    rule: frota.db.history); a vehicle with none left is withdrawn. (derived, withdrawn)."""
    h, v = vehicle_history.c, veiculos_table
    derived = withdrawn = 0
    for placa in placas:
        best = conn.execute(
            sa.select(vehicle_history)
            .where(h.placa == placa, h.desfeito_lote.is_(None))
            .order_by(h.vigente_desde.desc(), h.ordem.desc(), h.id.desc())
            .limit(1)
        ).first()
        if best is None:
            conn.execute(
                v.update().where(v.c.placa == placa).values(retirado_lote=op_id, retirado_em=now)
            )
            withdrawn += 1
            continue
        state = {c: best._mapping[c] for c in (*STATE_COLUMNS, "lote_id", "vigente_desde", "ordem")}
        conn.execute(
            v.update()
            .where(v.c.placa == placa)
            .values(**state, retirado_lote=None, retirado_em=None)
        )
        derived += 1
    return derived, withdrawn


def set_quarantine(conn: Connection, batch_id: str, *, undo: bool) -> int:
    """Undo: rows `batch_id` released are held again, its own held rows leave ('undone');
    replay: the reverse. Release time and batch stay on the row, so a replay finds them."""
    q = quarantine.c
    released_by = (q.released_batch_id == batch_id,)
    own = (q.batch_id == batch_id,)
    steps = (
        [(released_by, "released", "held"), (own, "held", "undone")]
        if undo
        else [(own, "undone", "held"), (released_by, "held", "released")]
    )
    n = 0
    for where, old, new in steps:
        result = conn.execute(quarantine.update().where(*where, q.status == old).values(status=new))
        n += int(result.rowcount or 0)
    return n


def operation_id(source: str, batch_id: str, now: datetime) -> str:
    """The id of an undo's or a replay's ledger entry (a batch id, with its own source)."""
    digest = hashlib.sha256(f"{source}\n{batch_id}\n{now.isoformat()}".encode()).hexdigest()
    return make_batch_id(source, digest, now.replace(tzinfo=UTC))


def record_operation(
    conn: Connection, effects: Effects, source: str, group: str, position: int, now: datetime
) -> None:
    """The operation's ledger entry: what the warehouse follows (its history rows), with the
    batch it acted on; `group` (run_id) and `position` (sequence) tie a cascade together."""
    e = effects
    b = batches.c
    # When its data was true: the batch's own as_of (an undo brings no new facts, and the
    # warehouse takes its reference date from the latest as_of).
    as_of = conn.execute(sa.select(b.as_of).where(b.batch_id == e.batch_id)).scalar() or now
    entry = LedgerEntry(
        batch_id=e.operation_id,
        source=source,
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        content_sha256=hashlib.sha256(e.operation_id.encode()).hexdigest(),
        loaded_at=now,
        run_id=group,
        published_at=now,
        sequence=position,
        as_of=as_of,
        ordem=e.operation_id,
        rows_read=0,
        veiculos_inserted=0,
        veiculos_updated=e.vehicles,
        veiculos_stale=0,
        manutencoes_inserted=0,
        quarantined=0,
        released=0,
        duplicates=0,
        manutencoes_updated=e.updated + e.restored,
        manutencoes_retired=e.retired,
    )
    record_batch(conn, entry)
    conn.execute(
        batches.update().where(b.batch_id == e.operation_id).values(operacao_de=e.batch_id)
    )
