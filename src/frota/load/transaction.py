"""Load one batch in ONE transaction: vehicles upserted, maintenances appended, rejected rows
quarantined, held rows released, and the ledger row. Commit = all of it; crash = none of it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import Manifest
from frota.contract import MANUTENCOES, VEICULOS, Table
from frota.contract.tabular import FilePolicy, ReadStats, Record, read_records
from frota.contract.validate import Problem, parse_row
from frota.db.schema import batches, manutencoes, quarantine, veiculos
from frota.errors import BadInputError, LockHeld
from frota.load import faults
from frota.load.bulk import maintenance_writer
from frota.load.dedupe import RowFilter, already_written, canonical_cells, max_id, row_digest
from frota.load.fastpath import CanonicalLine, FastMaintenances, canonical_plates
from frota.load.lock import still_held

CHUNK = 10_000
# MySQL TEXT holds 65,535 bytes (16,383 four-byte characters): longer raw text is cut, and says so.
MAX_STORED_CHARS = 16_000
# Held, but not bad rows: they do not count towards the error threshold.
NOT_ERRORS = frozenset({"vehicle_unknown", "duplicate_row"})
OpenFile = Callable[[str], BinaryIO]
_PLACA = VEICULOS.csv_header.index("placa")
_U32, _U64 = (1 << 32) - 1, (1 << 64) - 1
Progress = Callable[[int], None]


@dataclass(frozen=True)
class BatchResult:
    """What one batch did to the database. rows_read reconciles exactly:
    rows_read = veiculos_inserted + veiculos_updated + veiculos_stale + manutencoes_inserted
    + quarantined + duplicates (blank lines are counted apart)."""

    batch_id: str
    rows_read: int
    blank_lines: int
    veiculos_inserted: int
    veiculos_updated: int
    veiculos_stale: int
    manutencoes_inserted: int
    quarantined: int
    released: int
    duplicates: int
    seconds: float

    @property
    def rows_loaded(self) -> int:
        return self.veiculos_inserted + self.veiculos_updated + self.manutencoes_inserted


class _Quarantine:
    """Buffers quarantine rows and writes them in chunks (same transaction)."""

    def __init__(self, conn: Connection, batch_id: str, now: datetime) -> None:
        self.conn, self.batch_id, self.now = conn, batch_id, now
        self.buffer: list[dict[str, Any]] = []
        self.count = 0
        self.bad: dict[str, Counter[str]] = {}  # file -> reason -> rows (error threshold)
        self.before_flush: Callable[[], None] = lambda: None

    def hold(self, table: Table, rec: Record, problem: Problem, placa: str | None = None) -> None:
        if problem.reason not in NOT_ERRORS:
            self.bad.setdefault(table.file_name, Counter())[problem.reason] += 1
        values = json.dumps(rec.values, ensure_ascii=False) if rec.values else None
        self.buffer.append(
            {
                "batch_id": self.batch_id,
                "table_name": table.name,
                "file": table.file_name,
                "line": rec.line,
                "column_name": problem.column,
                "reason": problem.reason,
                "detail": _storable(problem.detail),
                "raw": _storable(rec.raw),
                "values_json": values if values and len(values) <= MAX_STORED_CHARS else None,
                "placa": placa,
                "status": "held",
                "created_at": self.now,
            }
        )
        self.count += 1
        if len(self.buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.before_flush()  # the connection must be idle: a bulk chunk may be in flight
            self.conn.execute(quarantine.insert(), self.buffer)
            self.buffer = []


def _storable(text: str | None) -> str | None:
    """Text any backend stores verbatim: NUL escaped (PostgreSQL refuses it), length capped."""
    if text is None:
        return None
    text = text.replace("\x00", "\\x00")
    if len(text) > MAX_STORED_CHARS:
        cut = len(text) - MAX_STORED_CHARS
        text = f"{text[:MAX_STORED_CHARS]}… [{cut:,} more characters not stored]"
    return text


def _check_checksum(manifest: Manifest, name: str, stats: ReadStats) -> None:
    entry = next(f for f in manifest.files if f.name == name)
    if stats.sha256 != entry.sha256 or stats.bytes != entry.bytes:
        raise BadInputError(
            f"checksum mismatch: sha256 {stats.sha256[:12]}… ({stats.bytes} bytes), the manifest "
            f"says {entry.sha256[:12]}… ({entry.bytes} bytes)",
            file=f"{manifest.batch_id}/{name}",
            hint="the file changed after publishing; publish the data again as a new batch",
        )


def _vehicles(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    today: date,
    q: _Quarantine,
    policy: FilePolicy,
) -> tuple[int, int, int, int, int, int]:
    """Upsert the batch's vehicles. A newer batch wins; an older one never overwrites newer
    state; the odometer never goes backwards (a lower reading is quarantined).

    Two streamed passes keep memory small whatever the fleet: the first finds duplicates and
    conflicts (a digest per plate), the second writes in chunks."""
    name = VEICULOS.file_name
    if not any(f.name == name for f in manifest.files):
        return 0, 0, 0, 0, 0, 0
    stats = ReadStats()
    # placa -> its first row: digest << 32 | line, one int (~80 bytes a vehicle less than a
    # tuple: memory here grows with the fleet, not with the maintenance rows)
    first: dict[str, int] = {}
    conflicts: dict[str, list[int]] = {}  # placa -> [line the conflict showed at, rows held]
    duplicates = 0
    canonical = CanonicalLine(VEICULOS, today)

    def note(placa: str, digest: int, line: int) -> None:
        nonlocal duplicates
        if placa in conflicts:
            conflicts[placa][1] += 1
        elif placa not in first:
            first[placa] = (digest & _U64) << 32 | line
        elif first[placa] >> 32 == digest & _U64:
            duplicates += 1  # the same state twice: harmless, counted
        else:
            conflicts[placa] = [line, 2]

    def read(stats: ReadStats, fast: Callable[[str, int], bool]) -> Iterator[tuple]:
        """(record, typed row or None, problem or None) of each line `fast` leaves."""
        with open_file(name) as fh:
            for rec in read_records(
                fh, VEICULOS, name, allow_extra=policy.allow_extra_columns, stats=stats, fast=fast
            ):
                if rec.problem:
                    yield rec, None, rec.problem
                else:
                    yield rec, *parse_row(VEICULOS, rec.values, today)

    def note_canonical(text: str, line: int) -> bool:
        cells = canonical.cells(text)
        if cells is None:
            return False
        note(cells[_PLACA], row_digest(cells), line)
        return True

    for rec, row, problem in read(stats, note_canonical):
        if problem or row is None:
            q.hold(VEICULOS, rec, problem)
            continue
        note(row["placa"], row_digest(canonical_cells(row, VEICULOS)), rec.line)
    _check_checksum(manifest, name, stats)
    upsert = _VehicleUpsert(conn, manifest.batch_id, q)

    def write_canonical(text: str, line: int) -> bool:
        cells = canonical.cells(text)
        if cells is None or cells[_PLACA] in conflicts:
            return False  # the general path holds conflicting rows
        if line == first[cells[_PLACA]] & _U32:
            values = dict(zip(VEICULOS.csv_header, cells, strict=True))
            rec = Record(line, values, ",".join(cells), None, list(cells))
            upsert.add(canonical.values(cells), rec)
        return True  # or a copy of the first row: counted in the first pass

    again = ReadStats()
    for rec, row, problem in read(again, write_canonical):
        if problem or row is None:
            continue  # held in the first pass
        placa = row["placa"]
        if placa in conflicts:
            conflict_line, held = conflicts[placa]
            if rec.line == first[placa] & _U32 or rec.line >= conflict_line:
                q.hold(
                    VEICULOS,
                    rec,
                    Problem(
                        "conflicting_duplicate",
                        "placa",
                        f"{placa} appears {held} times in this batch with different values",
                    ),
                    placa,
                )
        elif rec.line == first[placa] & _U32:
            upsert.add(row, rec)
    if again.sha256 != stats.sha256:
        raise BadInputError("the file changed while it was being loaded", file=name)
    upsert.flush()
    policy.check_bad_rows(q.bad.get(name, Counter()), stats.records, name)
    return (
        upsert.inserted,
        upsert.updated,
        upsert.stale,
        stats.records,
        stats.blank_lines,
        duplicates,
    )


def vehicle_change(
    existing: tuple[str | None, int | None] | None, row: dict[str, Any], batch_id: str
) -> str | Problem:
    """The loader's rule for one vehicle row of `batch_id`: "insert", "update", "stale" (an
    older batch arriving late: newer state stays), or the Problem that holds it (the odometer
    never goes back). An update without an odometer keeps the known one."""
    if existing is None:
        return "insert"
    old_lote, old_km = existing
    km = row["quilometragem_total"]
    if old_lote is not None and old_lote > batch_id:
        return "stale"
    if old_km is not None and km is not None and km < old_km:
        return Problem(
            "odometer_regressed",
            "quilometragem_total",
            f"{km} km is below the last known {old_km} km",
        )
    if km is None:
        row["quilometragem_total"] = old_km
    return "update"


class _VehicleUpsert:
    """Writes vehicles in chunks: insert the new, update the older, skip the stale."""

    def __init__(self, conn: Connection, batch_id: str, q: _Quarantine) -> None:
        self.conn, self.batch_id, self.q = conn, batch_id, q
        self.pending: list[tuple[dict[str, Any], Record]] = []
        self.inserted = self.updated = self.stale = 0
        self.update = (
            veiculos.update()
            .where(veiculos.c.placa == sa.bindparam("b_placa"))
            .values(
                {c: sa.bindparam(f"b_{c}") for c in VEICULOS.csv_header if c != "placa"}
                | {"lote_id": sa.bindparam("b_lote_id")}
            )
        )

    def add(self, row: dict[str, Any], rec: Record) -> None:
        row["lote_id"] = self.batch_id
        self.pending.append((row, rec))
        if len(self.pending) >= 1000:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        existing = {
            placa: (lote, km)
            for placa, lote, km in self.conn.execute(
                sa.select(
                    veiculos.c.placa, veiculos.c.lote_id, veiculos.c.quilometragem_total
                ).where(veiculos.c.placa.in_([row["placa"] for row, _ in self.pending]))
            )
        }
        inserts, updates = [], []
        for row, rec in self.pending:
            change = vehicle_change(existing.get(row["placa"]), row, self.batch_id)
            if isinstance(change, Problem):
                self.q.hold(VEICULOS, rec, change, row["placa"])
            elif change == "insert":
                inserts.append(row)
            elif change == "stale":
                self.stale += 1
            else:
                updates.append({f"b_{k}": v for k, v in row.items()})
        if inserts:
            self.conn.execute(veiculos.insert(), inserts)
        if updates:
            self.conn.execute(self.update, updates)
        self.inserted += len(inserts)
        self.updated += len(updates)
        self.pending = []


def _release_held(conn: Connection, batch_id: str, today: date, now: datetime) -> int:
    """Load held maintenances whose vehicle now exists (late-arriving dimension), a page at a
    time: the work and the memory follow the held rows, not the fleet."""
    released, after = 0, 0
    while True:
        held = conn.execute(
            sa.select(quarantine.c.id, quarantine.c.values_json)
            .join(veiculos, veiculos.c.placa == quarantine.c.placa)
            .where(
                quarantine.c.status == "held",
                quarantine.c.reason == "vehicle_unknown",
                quarantine.c.id > after,
            )
            .order_by(quarantine.c.id)
            .limit(1000)
        ).all()
        if not held:
            return released
        after = held[-1][0]
        rows, ids = [], []
        for qid, values_json in held:
            row, problem = parse_row(MANUTENCOES, json.loads(values_json), today)
            if row is None or problem:
                continue
            row["lote_id"] = batch_id
            rows.append(row)
            ids.append(qid)
        with maintenance_writer(conn, batch_id) as writer:
            for row in rows:
                writer.add(row)
        if ids:
            conn.execute(
                quarantine.update()
                .where(quarantine.c.id.in_(ids))
                .values(status="released", released_at=now, released_batch_id=batch_id)
            )
        released += len(ids)


def _maintenances(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    today: date,
    q: _Quarantine,
    progress: Progress | None,
    policy: FilePolicy,
) -> tuple[int, int, int]:
    name = MANUTENCOES.file_name
    if not any(f.name == name for f in manifest.files):
        return 0, 0, 0
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
                q.hold(
                    MANUTENCOES,
                    rec,
                    Problem(
                        "vehicle_unknown",
                        "placa_veiculo",
                        f"{row['placa_veiculo']} is not in veiculos yet",
                    ),
                    row["placa_veiculo"],
                )
            elif not seen.first_time(row_digest(canonical_cells(row, MANUTENCOES))):
                suspects.append((rec, row))
            else:
                row["lote_id"] = manifest.batch_id
                writer.add(row)
    inserted = writer.count + _settle_suspects(conn, suspects, manifest.batch_id, first_id, q)
    _check_checksum(manifest, name, stats)
    policy.check_bad_rows(q.bad.get(name, Counter()), stats.records, name)
    return inserted, stats.records, stats.blank_lines


def _settle_suspects(
    conn: Connection,
    suspects: list[tuple[Record, dict[str, Any]]],
    batch_id: str,
    first_id: int,
    q: _Quarantine,
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


def load_batch(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    run_id: str,
    today: date,
    progress: Progress | None = None,
    policy: FilePolicy | None = None,
) -> BatchResult:
    """Load one complete batch in one transaction (the caller holds the load lock)."""
    policy = policy or FilePolicy()
    for entry in manifest.files:  # before reading anything
        policy.check_size(entry.bytes, f"{manifest.batch_id}/{entry.name}")
    started = time.monotonic()
    now = datetime.now(UTC).replace(tzinfo=None)
    faults.checkpoint("before_tx", conn)
    with conn.begin():
        q = _Quarantine(conn, manifest.batch_id, now)
        v_ins, v_upd, v_stale, v_read, v_blank, dups = _vehicles(
            conn, manifest, open_file, today, q, policy
        )
        faults.checkpoint("mid_insert", conn)
        released = _release_held(conn, manifest.batch_id, today, now)
        m_ins, m_read, m_blank = _maintenances(
            conn, manifest, open_file, today, q, progress, policy
        )
        q.flush()
        faults.checkpoint("after_inserts", conn)
        if not still_held(conn):
            raise LockHeld("the load lock was lost before commit; this batch was rolled back")
        result = BatchResult(
            batch_id=manifest.batch_id,
            rows_read=v_read + m_read,
            blank_lines=v_blank + m_blank,
            veiculos_inserted=v_ins,
            veiculos_updated=v_upd,
            veiculos_stale=v_stale,
            manutencoes_inserted=m_ins,
            quarantined=q.count,
            released=released,
            duplicates=dups,
            seconds=time.monotonic() - started,
        )
        accounted = result.rows_loaded + v_stale + q.count + dups
        if accounted != result.rows_read:  # a bug: never commit a batch that does not add up
            raise RuntimeError(
                f"batch {manifest.batch_id}: {result.rows_read} rows read but {accounted} "
                "accounted for (loaded + stale + quarantined + duplicates); rolled back"
            )
        conn.execute(
            batches.insert(),
            {
                "batch_id": manifest.batch_id,
                "source": manifest.source,
                "created_at": manifest.created_at,
                "content_sha256": manifest.content_sha256,
                "loaded_at": now,
                "run_id": run_id,
                "rows_read": result.rows_read,
                "veiculos_inserted": v_ins,
                "veiculos_updated": v_upd,
                "veiculos_stale": v_stale,
                "manutencoes_inserted": m_ins,
                "quarantined": q.count,
                "released": released,
                "duplicates": dups,
            },
        )
        faults.checkpoint("before_commit", conn)
    return result
