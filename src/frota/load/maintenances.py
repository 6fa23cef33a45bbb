"""Maintenances: written through the dialect's bulk writer (straight to manutencoes while no
chunk meets a stored key, else to the batch's stage), canonical lines on the fast path
(load/fastpath.py), every other line through parse_row, then applied to the records they are
(load/stage.py: inserted, updated, or already present); rows of unknown vehicles held until
the vehicle arrives (`release_held`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import Manifest
from frota.contract import MANUTENCOES
from frota.contract.identity import (
    ORIGIN,
    business_cells,
    fingerprint,
    fingerprint_key,
    work_order_key,
)
from frota.contract.tabular import FilePolicy, ReadStats, read_records
from frota.contract.validate import Problem, parse_row
from frota.db.history import Version
from frota.db.schema import batches, quarantine, veiculos
from frota.load.dedupe import RowFilter, canonical_cells, row_digest
from frota.load.fastpath import FastMaintenances, canonical_plates
from frota.load.files import OpenFile, check_checksum, listed
from frota.load.quarantine import QuarantineBuffer, mark_released
from frota.load.stage import Stage

Progress = Callable[[int], None]  # told the maintenance rows read so far, chunk by chunk
_RELEASE_PAGE = 1000
_OLDEST = Version(datetime.min, "")  # a held row's batch without a version


@dataclass(frozen=True)
class MaintenanceCounts:
    """What the maintenances file of a batch did (the rest of its rows were quarantined)."""

    inserted: int = 0
    updated: int = 0
    present: int = 0  # re-sent unchanged: counted, not written
    stale: int = 0  # a newer batch wrote the record: in the history as 'stale'
    duplicates: int = 0  # copies of a work order already in this batch
    retired: int = 0  # stored records a snapshot batch did not have
    read: int = 0
    blank_lines: int = 0


def load_maintenances(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    today: date,
    now: datetime,
    q: QuarantineBuffer,
    progress: Progress | None,
    policy: FilePolicy,
    direct: bool = True,
    written: dict[str, Version] | None = None,
) -> MaintenanceCounts:
    """Stage the batch's maintenances and apply them to the records they are (load/stage.py);
    quarantine bad rows and unknown vehicles' rows. `direct`: straight to manutencoes while no
    chunk meets a stored key (stage.Restage when that cannot stand). `written`: what the batch
    released before (`Released.written`), judged by the versions it came with."""
    name = MANUTENCOES.file_name
    if not listed(manifest, name):
        return MaintenanceCounts()
    # Only canonical plates: a row naming another spelling cannot match one through parse_row.
    in_fleet = sa.select(veiculos.c.placa).where(veiculos.c.retirado_lote.is_(None))
    known = canonical_plates(conn.execute(in_fleet).scalars(), today)
    stats = ReadStats()
    seen = RowFilter()  # rows repeated in the file; bounded memory (load/dedupe.py)
    protected: set[str] = set()  # work orders of held rows: a snapshot does not retire them
    report = (lambda: progress(stats.records)) if progress else None
    version = Version.of(manifest.effective_at, manifest.order_key)  # newer wins (load/stage.py)
    with Stage(conn, manifest.batch_id, report, version, direct, written) as staged:
        with open_file(name) as fh, staged.writer as writer:
            q.before_flush = writer.wait
            # Canonical rows go straight to the writer; the rest take the general path below.
            fast = FastMaintenances(known, today, seen, writer, manifest.source)
            for rec in read_records(
                fh,
                MANUTENCOES,
                name,
                allow_extra=policy.allow_extra_columns,
                stats=stats,
                fast=fast.accept,
            ):
                _take(rec, known, today, staged, seen, q, protected, manifest.source)
        q.before_flush = lambda: None
        check_checksum(manifest, name, stats)
        applied = staged.apply(now)
        retired = _retire_absent(staged, manifest, now, protected, policy)
    for rec, problem, placa in applied.conflicts:
        q.hold(MANUTENCOES, rec, problem, placa)
    policy.check_bad_rows(q.bad.get(name, Counter()), stats.records, name)
    return MaintenanceCounts(
        applied.inserted,
        applied.updated,
        applied.present,
        applied.stale,
        applied.duplicates,
        retired,
        stats.records,
        stats.blank_lines,
    )


def _take(
    rec: Any,
    known: set[str],
    today: date,
    staged: Stage,
    seen: RowFilter,
    q: QuarantineBuffer,
    protected: set[str],
    source: str,
) -> None:
    """One record of the general path: held with its reason (its work order then protected
    from a snapshot's retirement), or staged."""
    row, problem = (None, rec.problem) if rec.problem else parse_row(MANUTENCOES, rec.values, today)
    if problem or row is None:
        q.hold(MANUTENCOES, rec, problem)  # type: ignore[arg-type]
        _protect(protected, rec.values, source)
    elif row["placa_veiculo"] not in known:
        q.hold(MANUTENCOES, rec, unknown_vehicle(row), row["placa_veiculo"])
        _protect(protected, rec.values, source)
    else:
        stage_row(staged, row, rec.line, source, seen)


def _retire_absent(
    staged: Stage,
    manifest: Manifest,
    now: datetime,
    protected: set[str],
    policy: FilePolicy,
) -> int:
    """A snapshot batch retires the source's stored records of its period it lacks."""
    snap = manifest.snapshot
    if snap is None:
        return 0
    return staged.retire_absent(
        manifest.source,
        (snap.start, snap.end),
        now,
        protected=protected,
        max_share=policy.snapshot_max_retire_share,
        allow=snap.allow_retire,
    )


def _protect(protected: set[str], values: dict[str, str] | None, source: str) -> None:
    """A held row with a work-order number is in the export: its record stays."""
    origin = (values or {}).get(ORIGIN, "").strip()
    if origin:
        protected.add(work_order_key(source, origin))


def stage_row(staged: Stage, row: dict[str, Any], line: int, source: str, seen: RowFilter) -> None:
    """Stage a typed row with its key: by work order, or by fingerprint with k = 1 when the
    filter says the row is certainly new in this batch (else its k is settled later)."""
    row["linha"] = line
    origin = row.get(ORIGIN)
    if origin:
        row["chave"] = work_order_key(source, origin)
    else:
        print_ = fingerprint(business_cells(row))
        if seen.first_time(row_digest(canonical_cells(row, MANUTENCOES))):
            row["chave"] = fingerprint_key(print_, 1)
        else:
            row["chave"] = None
            staged.suspect(line, print_)
    staged.writer.add(row)


def unknown_vehicle(row: dict[str, Any]) -> Problem:
    """Why a maintenance row waits: its vehicle is not in veiculos (yet)."""
    placa = row["placa_veiculo"]
    return Problem("vehicle_unknown", "placa_veiculo", f"{placa} is not in veiculos yet")


@dataclass
class Released:
    """What a release did: held rows taken out of the quarantine (`taken`), of which
    `inserted` became new records and the rest matched a stored one (`updated`, or present).
    `written`: the keys it wrote, with the version of the batch each row came from."""

    taken: int = 0
    inserted: int = 0
    updated: int = 0
    written: dict[str, Version] = field(default_factory=dict)


def note_written(written: dict[str, Version], key: str, version: Version | None) -> None:
    """Remember that `key` now holds data of `version` (the newest such, for newer wins)."""
    if version is not None and (key not in written or written[key] < version):
        written[key] = version


def _held_page(conn: Connection, after: int, only: list[Any]) -> Sequence[Any]:
    """The next page of held rows whose vehicle now exists: (id, values, batch, source,
    as_of, ordem)."""
    b = batches.c
    return conn.execute(
        sa.select(
            quarantine.c.id,
            quarantine.c.values_json,
            quarantine.c.batch_id,
            b.source,
            b.as_of,
            b.ordem,
        )
        .join(veiculos, veiculos.c.placa == quarantine.c.placa)
        .outerjoin(batches, b.batch_id == quarantine.c.batch_id)
        .where(
            quarantine.c.status == "held",
            quarantine.c.reason == "vehicle_unknown",
            veiculos.c.retirado_lote.is_(None),
            quarantine.c.id > after,
            *only,
        )
        .order_by(quarantine.c.id)
        .limit(_RELEASE_PAGE)
    ).all()


def _released_key(
    row: dict[str, Any], source: str | None, original: str, occurrences: Counter[tuple[str, str]]
) -> str:
    """The key of a released row: its work order under its batch's source, else its
    fingerprint and k counted among the released rows of its original batch."""
    if row.get(ORIGIN):
        return work_order_key(source or "", row[ORIGIN])
    print_ = fingerprint(business_cells(row))
    occurrences[original, print_] += 1
    return fingerprint_key(print_, occurrences[original, print_])


def _by_batch(held: Sequence[Any]) -> list[tuple[Version | None, list[Any]]]:
    """A page's rows by their original batch, oldest data first (newer wins: each group is
    judged by its batch's version)."""
    groups: dict[str, list[Any]] = defaultdict(list)
    versions: dict[str, Version | None] = {}
    for row in held:
        groups[row.batch_id].append(row)
        versions[row.batch_id] = Version(row.as_of, row.ordem or "") if row.as_of else None
    order = sorted(groups, key=lambda b: (versions[b] or _OLDEST, b))
    return [(versions[b], groups[b]) for b in order]


def release_held(
    conn: Connection,
    batch_id: str,
    today: date,
    now: datetime,
    *,
    placas: Sequence[str] | None = None,
    on_problem: Callable[[int, Problem], None] | None = None,
    written: dict[str, Version] | None = None,
) -> Released:
    """Load held maintenances whose vehicle now exists (late-arriving dimension), as rows of
    `batch_id`, a page at a time: the work and the memory follow the held rows, not the fleet.

    Each row is the record its original batch named: keyed by that batch's source, and k
    counted among the released rows of that batch, and judged by that batch's version (newer
    wins, load/stage.py: a copy older than the stored state goes to the history as 'stale').
    `placas` limits it to those vehicles; a row that no longer passes parse_row stays held and
    is told to `on_problem(quarantine id, problem)`; work orders one batch repeats with
    different values stay held. `written` (shared with the caller's other writes for other
    batches' data) gets the keys written, see written_by_newer."""
    done = Released(written=written if written is not None else {})
    after = 0
    only = [quarantine.c.placa.in_(list(placas))] if placas is not None else []
    # A row stored without values (earlier versions did so for padded rows) cannot be
    # parsed: it stays held, and `quarantine retry` reports it as not retryable.
    only.append(quarantine.c.values_json.is_not(None))
    occurrences: Counter[tuple[str, str]] = Counter()  # (original batch, fingerprint) -> k
    while True:
        held = _held_page(conn, after, only)
        if not held:
            return done
        after = held[-1].id
        for version, rows in _by_batch(held):
            _release_rows(conn, batch_id, version, rows, today, now, occurrences, on_problem, done)


def _release_rows(
    conn: Connection,
    batch_id: str,
    version: Version | None,
    held: list[Any],
    today: date,
    now: datetime,
    occurrences: Counter[tuple[str, str]],
    on_problem: Callable[[int, Problem], None] | None,
    done: Released,
) -> None:
    """Release held rows of one original batch (of `version`) as rows of `batch_id`."""
    keys: dict[int, str] = {}
    origin = held[0][2]  # the batch whose export held these rows (one per call)
    with Stage(conn, batch_id, version=version, written=done.written, origin=origin) as staged:
        with staged.writer as writer:
            for qid, values_json, original, source, _, _ in held:
                row, problem = parse_row(MANUTENCOES, json.loads(values_json), today)
                if row is None or problem:
                    if on_problem is not None and problem is not None:
                        on_problem(qid, problem)
                    continue
                row["linha"] = qid
                row["chave"] = keys[qid] = _released_key(row, source, original, occurrences)
                writer.add(row)
        applied = staged.apply(now)
    for rec, problem, _ in applied.conflicts:  # they stay held, for a person to decide
        conn.execute(
            quarantine.update()
            .where(quarantine.c.id == rec.line)
            .values(reason=problem.reason, column_name=problem.column, detail=problem.detail)
        )
    kept = {rec.line for rec, _, _ in applied.conflicts}
    ids = [i for i in keys if i not in kept]
    for i in ids:
        note_written(done.written, keys[i], version)
    mark_released(conn, ids, batch_id, now)
    done.taken += len(ids)
    done.inserted += applied.inserted
    done.updated += applied.updated
