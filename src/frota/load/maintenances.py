"""Maintenances: appended through the dialect's bulk writer, canonical lines on the fast path
(load/fastpath.py), every other line through parse_row; rows of unknown vehicles held until
the vehicle arrives (`release_held`), exact copies of a row held as duplicate_row."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import Manifest
from frota.contract import MANUTENCOES
from frota.contract.tabular import FilePolicy, ReadStats, Record, read_records
from frota.contract.validate import Problem, parse_row
from frota.db.schema import manutencoes, quarantine, veiculos
from frota.load.bulk import maintenance_writer
from frota.load.dedupe import RowFilter, already_written, canonical_cells, max_id, row_digest
from frota.load.fastpath import FastMaintenances, canonical_plates
from frota.load.files import OpenFile, check_checksum, listed
from frota.load.quarantine import QuarantineBuffer, mark_released

Progress = Callable[[int], None]  # told the maintenance rows read so far, chunk by chunk
_RELEASE_PAGE = 1000


@dataclass(frozen=True)
class MaintenanceCounts:
    """What the maintenances file of a batch did (the rest of its rows were held)."""

    inserted: int = 0
    read: int = 0
    blank_lines: int = 0


def load_maintenances(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    today: date,
    q: QuarantineBuffer,
    progress: Progress | None,
    policy: FilePolicy,
) -> MaintenanceCounts:
    """Append the batch's maintenances; hold bad rows, unknown vehicles' rows and copies."""
    name = MANUTENCOES.file_name
    if not listed(manifest, name):
        return MaintenanceCounts()
    # Only canonical plates: a row naming another spelling cannot match one through parse_row.
    known = canonical_plates(conn.execute(sa.select(veiculos.c.placa)).scalars(), today)
    stats = ReadStats()
    seen = RowFilter()  # identical copies of a row are held; bounded memory (load/dedupe.py)
    suspects: list[tuple[Record, dict[str, Any]]] = []  # "maybe seen": settled after writing
    first_id = max_id(conn)
    report = (lambda: progress(stats.records)) if progress else None
    with open_file(name) as fh, maintenance_writer(conn, manifest.batch_id, report) as writer:
        q.before_flush = writer.wait
        # Canonical rows go straight to the writer; the rest take the general path below.
        fast = FastMaintenances(known, today, seen, writer)
        for rec in read_records(
            fh,
            MANUTENCOES,
            name,
            allow_extra=policy.allow_extra_columns,
            stats=stats,
            fast=fast.accept,
        ):
            row, problem = (
                (None, rec.problem) if rec.problem else parse_row(MANUTENCOES, rec.values, today)
            )
            if problem or row is None:
                q.hold(MANUTENCOES, rec, problem)  # type: ignore[arg-type]
            elif row["placa_veiculo"] not in known:
                q.hold(MANUTENCOES, rec, unknown_vehicle(row), row["placa_veiculo"])
            elif not seen.first_time(row_digest(canonical_cells(row, MANUTENCOES))):
                suspects.append((rec, row))
            else:
                row["lote_id"] = manifest.batch_id
                writer.add(row)
    inserted = writer.count + _settle_suspects(conn, suspects, manifest.batch_id, first_id, q)
    check_checksum(manifest, name, stats)
    policy.check_bad_rows(q.bad.get(name, Counter()), stats.records, name)
    return MaintenanceCounts(inserted, stats.records, stats.blank_lines)


def unknown_vehicle(row: dict[str, Any]) -> Problem:
    """Why a maintenance row waits: its vehicle is not in veiculos (yet)."""
    placa = row["placa_veiculo"]
    return Problem("vehicle_unknown", "placa_veiculo", f"{placa} is not in veiculos yet")


def _settle_suspects(
    conn: Connection,
    suspects: list[tuple[Record, dict[str, Any]]],
    batch_id: str,
    first_id: int,
    q: QuarantineBuffer,
) -> int:
    """Rows the Bloom filter could not call new: a copy of a row already written is held as
    duplicate_row (the first copy stays loaded); the others are loaded now. Returns loaded."""
    loaded = 0
    for rec, row in suspects:  # in file order, so the first copy is the one that loads
        row["lote_id"] = batch_id
        if already_written(conn, row, batch_id, first_id):
            q.hold(
                MANUTENCOES,
                rec,
                Problem("duplicate_row", None, "an exact copy of an earlier row of this file"),
                row["placa_veiculo"],
            )
        else:
            conn.execute(manutencoes.insert(), row)
            loaded += 1
    return loaded


def release_held(
    conn: Connection,
    batch_id: str,
    today: date,
    now: datetime,
    *,
    placas: Sequence[str] | None = None,
    on_problem: Callable[[int, Problem], None] | None = None,
) -> int:
    """Load held maintenances whose vehicle now exists (late-arriving dimension), as rows of
    `batch_id`, a page at a time: the work and the memory follow the held rows, not the fleet.

    `placas` limits it to those vehicles; a row that no longer passes parse_row stays held and
    is told to `on_problem(quarantine id, problem)`. Returns the rows released."""
    released, after = 0, 0
    only = [quarantine.c.placa.in_(list(placas))] if placas is not None else []
    # A row stored without values (earlier versions did so for padded rows) cannot be
    # parsed: it stays held, and `quarantine retry` reports it as not retryable.
    only.append(quarantine.c.values_json.is_not(None))
    while True:
        held: Sequence[Any] = conn.execute(
            sa.select(quarantine.c.id, quarantine.c.values_json)
            .join(veiculos, veiculos.c.placa == quarantine.c.placa)
            .where(
                quarantine.c.status == "held",
                quarantine.c.reason == "vehicle_unknown",
                quarantine.c.id > after,
                *only,
            )
            .order_by(quarantine.c.id)
            .limit(_RELEASE_PAGE)
        ).all()
        if not held:
            return released
        after = held[-1][0]
        rows: list[dict[str, Any]] = []
        ids: list[int] = []
        for qid, values_json in held:
            row, problem = parse_row(MANUTENCOES, json.loads(values_json), today)
            if row is None or problem:
                if on_problem is not None and problem is not None:
                    on_problem(qid, problem)
                continue
            row["lote_id"] = batch_id
            rows.append(row)
            ids.append(qid)
        with maintenance_writer(conn, batch_id) as writer:
            for row in rows:
                writer.add(row)
        mark_released(conn, ids, batch_id, now)
        released += len(ids)
