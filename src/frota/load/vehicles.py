"""Vehicles: upserted by placa with one rule (`vehicle_change`): the newer version wins (the
batch's as_of, then its place in the publish order: frota.db.history.Version), an older one
never overwrites newer state but is kept in the history, and the odometer never goes backwards
(a lower reading is held). Every state applied is written to `frota_veiculos_historico` in the
same transaction.

`load_vehicles` reads the batch's file in two streamed passes, so memory stays small whatever
the fleet: the first finds exact copies and conflicts (a digest per plate), the second writes
each plate's row through `VehicleUpsert`, which `quarantine retry` uses too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
import sqlalchemy.dialects.mysql
from sqlalchemy.engine import Connection

from frota.batch import Manifest
from frota.contract import VEICULOS
from frota.contract.tabular import FilePolicy, ReadStats, Record, read_records
from frota.contract.validate import Problem, parse_row
from frota.db.history import Version, history_rows, record_history
from frota.db.schema import veiculos
from frota.errors import BadInputError
from frota.i18n import _
from frota.load.dedupe import canonical_cells, row_digest
from frota.load.fastpath import CanonicalLine
from frota.load.files import OpenFile, check_checksum, listed
from frota.load.quarantine import QuarantineBuffer

T = TypeVar("T")
Change = str | Problem  # "insert", "update", "stale", or the Problem that holds the row
_PLACA = VEICULOS.csv_header.index("placa")
_UPSERT_CHUNK = 1000
_U32, _U64 = (1 << 32) - 1, (1 << 64) - 1


@dataclass(frozen=True)
class VehicleCounts:
    """What the vehicles file of a batch did: rows read reconcile with the rest (+ held)."""

    inserted: int = 0
    updated: int = 0
    stale: int = 0
    read: int = 0
    blank_lines: int = 0
    duplicates: int = 0  # exact copies of a plate's row in the same file


def vehicle_change(
    existing: tuple[Version | None, int | None] | None, row: dict[str, Any], version: Version
) -> Change:
    """The loader's rule for one vehicle row whose data is of `version`: "insert", "update",
    "stale" (older than the stored state: that stays), or the Problem that holds it (the
    odometer never goes back). An update without an odometer keeps the known one."""
    if existing is None:
        return "insert"
    old_version, old_km = existing
    km = row["quilometragem_total"]
    if old_version is not None and old_version >= version:
        # Older, or another row of the very batch the stored state is from (a conflict a
        # person settles by retrying one row, never "the last one wins").
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


class VehicleUpsert(Generic[T]):
    """Applies vehicle rows (one per plate) in chunks with `vehicle_change`: inserts the new,
    updates the older, keeps the stale in the history only; `on_change(tag, row, change)`
    hears each outcome.

    Rows are written with `lote_id` and `version` (the batch's); `add(..., version=)` gives
    the version of another batch the row's data is from (a quarantine retry writes old rows)."""

    def __init__(
        self,
        conn: Connection,
        lote_id: str,
        version: Version,
        on_change: Callable[[T, dict[str, Any], Change], None],
    ) -> None:
        self.conn, self.lote_id, self.version, self.on_change = conn, lote_id, version, on_change
        self.pending: list[tuple[dict[str, Any], T, Version]] = []
        self.inserted = self.updated = self.stale = 0
        self.now = datetime.now(UTC).replace(tzinfo=None)
        self.update = _update_statement(conn.dialect.name)
        self.withdrawn: set[str] = set()  # plates an undo withdrew: inserted again in place

    def add(self, row: dict[str, Any], tag: T, version: Version | None = None) -> None:
        self.pending.append((row, tag, version or self.version))
        if len(self.pending) >= _UPSERT_CHUNK:
            self.flush()

    def _existing(self) -> dict[str, tuple[Version | None, int | None]]:
        v = veiculos.c
        found = cast(
            Iterable[tuple[str, datetime | None, str | None, int | None, str | None]],
            self.conn.execute(
                sa.select(
                    v.placa, v.vigente_desde, v.ordem, v.quilometragem_total, v.retirado_lote
                ).where(v.placa.in_([row["placa"] for row, _, _ in self.pending]))
            ),
        )
        existing = {}
        for placa, since, ordem, km, withdrawn in found:
            if withdrawn is not None:  # as if it had never come (frota.ops.undo)
                self.withdrawn.add(placa)
            else:
                existing[placa] = (None if since is None else Version(since, ordem or ""), km)
        return existing

    def flush(self) -> None:
        if not self.pending:
            return
        existing = self._existing()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        applied: list[tuple[dict[str, Any], Version, str]] = []
        reinserted = 0
        for row, tag, version in self.pending:
            before = existing.get(row["placa"])
            change = vehicle_change(before, row, version)
            if change in ("insert", "update"):
                stored = {
                    **row,
                    "lote_id": self.lote_id,
                    "vigente_desde": version.vigente_desde,
                    "ordem": version.ordem,
                }
                if change == "insert" and row["placa"] not in self.withdrawn:
                    inserts.append(stored)
                else:
                    updates.append({f"b_{k}": v for k, v in stored.items()})
                    if change == "insert":  # a withdrawn vehicle: written in place
                        self.withdrawn.discard(row["placa"])
                        reinserted += 1
                existing[row["placa"]] = (version, row["quilometragem_total"])
                applied.append((row, version, str(change)))
            elif change == "stale":
                self.stale += 1
                if before is not None and before[0] != version:  # an older state: kept
                    applied.append((row, version, "stale"))
            self.on_change(tag, row, change)
        if inserts:
            self.conn.execute(veiculos.insert(), inserts)
        if updates:
            self.conn.execute(self.update, updates)
        record_history(self.conn, history_rows(applied, self.lote_id, self.now))
        self.inserted += len(inserts) + reinserted
        self.updated += len(updates) - reinserted
        self.pending = []


def _update_statement(dialect: str) -> sa.Executable:
    """The statement that writes a stored plate's new state, for an executemany of rows
    with a `b_`-prefixed value of each column: the row replaced, its retirement cleared."""
    written = (*VEICULOS.csv_header, "lote_id", "vigente_desde", "ordem")
    values: dict[str, Any] = {c: sa.bindparam(f"b_{c}") for c in written}
    cleared: dict[str, Any] = {"retirado_lote": None, "retirado_em": None}
    if dialect == "mysql":
        # PyMySQL runs an executemany of UPDATE one statement a row (4-5 s for the 7,000
        # vehicles of a re-sent export) but sends an INSERT … ON DUPLICATE KEY UPDATE as
        # multi-row statements. Each row's plate is stored (read in this transaction, one
        # loader at a time), placa is veiculos' only unique key and there is no
        # auto-increment: each row is exactly the UPDATE of its plate, in the same order.
        insert = sa.dialects.mysql.insert(veiculos).values(values | cleared)
        return insert.on_duplicate_key_update(
            {c: insert.inserted[c] for c in (*values, *cleared) if c != "placa"}
        )
    return (
        veiculos.update()
        .where(veiculos.c.placa == sa.bindparam("b_placa"))
        .values({c: v for c, v in values.items() if c != "placa"} | cleared)
    )


class _FirstRows(dict[str, int]):
    """placa -> (digest, line) of its first row, packed in one int: about 80 bytes a vehicle
    less than a tuple, and this map grows with the fleet, not with the maintenance rows."""

    def note(self, placa: str, digest: int, line: int) -> None:
        self[placa] = (digest & _U64) << 32 | line

    def line(self, placa: str) -> int:
        return self[placa] & _U32

    def same_digest(self, placa: str, digest: int) -> bool:
        return self[placa] >> 32 == digest & _U64


class _Survey:
    """The first pass: each plate's first row, exact copies (counted), and conflicts."""

    def __init__(self, canonical: CanonicalLine) -> None:
        self.canonical = canonical
        self.first = _FirstRows()
        self.conflicts: dict[str, list[int]] = {}  # placa -> [line the conflict showed at, rows]
        self.duplicates = 0

    def note(self, placa: str, digest: int, line: int) -> None:
        if placa in self.conflicts:
            self.conflicts[placa][1] += 1
        elif placa not in self.first:
            self.first.note(placa, digest, line)
        elif self.first.same_digest(placa, digest):
            self.duplicates += 1  # the same state twice: harmless, counted
        else:
            self.conflicts[placa] = [line, 2]

    def note_canonical(self, text: str, line: int) -> bool:
        cells = self.canonical.cells(text)
        if cells is None:
            return False
        self.note(cells[_PLACA], row_digest(cells), line)
        return True

    def conflict(self, placa: str, line: int) -> Problem | None:
        """Why a row of a conflicting plate is held (from its first row on), else None."""
        conflict_line, rows = self.conflicts[placa]
        if line != self.first.line(placa) and line < conflict_line:
            return None  # a copy of the first row before the conflict: counted, not held
        detail = f"{placa} appears {rows} times in this batch with different values"
        return Problem("conflicting_duplicate", "placa", detail)


class _Reader:
    """The vehicles file as (record, typed row or None, problem or None), past `fast`."""

    def __init__(self, open_file: OpenFile, policy: FilePolicy, today: date) -> None:
        self.open_file, self.policy, self.today = open_file, policy, today

    def read(self, stats: ReadStats, fast: Callable[[str, int], bool]) -> Iterator[tuple]:
        name = VEICULOS.file_name
        with self.open_file(name) as fh:
            for rec in read_records(
                fh,
                VEICULOS,
                name,
                allow_extra=self.policy.allow_extra_columns,
                stats=stats,
                fast=fast,
            ):
                if rec.problem:
                    yield rec, None, rec.problem
                else:
                    yield rec, *parse_row(VEICULOS, rec.values, self.today)


def load_vehicles(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    today: date,
    q: QuarantineBuffer,
    policy: FilePolicy,
) -> VehicleCounts:
    """Upsert the batch's vehicles (the first of each plate; conflicting plates are held)."""
    name = VEICULOS.file_name
    if not listed(manifest, name):
        return VehicleCounts()
    reader, stats = _Reader(open_file, policy, today), ReadStats()
    survey = _Survey(CanonicalLine(VEICULOS, today))
    for rec, row, problem in reader.read(stats, survey.note_canonical):
        if problem or row is None:
            q.hold(VEICULOS, rec, problem)
            continue
        survey.note(row["placa"], row_digest(canonical_cells(row, VEICULOS)), rec.line)
    check_checksum(manifest, name, stats)

    def held_if_problem(rec: Record, row: dict[str, Any], change: Change) -> None:
        if isinstance(change, Problem):
            q.hold(VEICULOS, rec, change, row["placa"])

    version = Version.of(manifest.effective_at, manifest.order_key)
    upsert = VehicleUpsert(conn, manifest.batch_id, version, held_if_problem)
    if _write_first_rows(reader, survey, upsert, q).sha256 != stats.sha256:
        raise BadInputError(_("the file changed while it was being loaded"), file=name)
    upsert.flush()
    policy.check_bad_rows(q.bad.get(name, Counter()), stats.records, name)
    return VehicleCounts(
        upsert.inserted,
        upsert.updated,
        upsert.stale,
        stats.records,
        stats.blank_lines,
        survey.duplicates,
    )


def _write_first_rows(
    reader: _Reader, survey: _Survey, upsert: VehicleUpsert[Record], q: QuarantineBuffer
) -> ReadStats:
    """The second pass: each plate's first row to the upsert, conflicting plates held."""
    canonical, first = survey.canonical, survey.first

    def write_canonical(text: str, line: int) -> bool:
        cells = canonical.cells(text)
        if cells is None or cells[_PLACA] in survey.conflicts:
            return False  # the general path holds conflicting rows
        if line == first.line(cells[_PLACA]):
            values = dict(zip(VEICULOS.csv_header, cells, strict=True))
            rec = Record(line, values, ",".join(cells), None, list(cells))
            upsert.add(canonical.values(cells), rec)
        return True  # or a copy of the first row: counted in the first pass

    stats = ReadStats()
    for rec, row, problem in reader.read(stats, write_canonical):
        if problem or row is None:
            continue  # held in the first pass
        placa = row["placa"]
        if placa in survey.conflicts:
            conflict = survey.conflict(placa, rec.line)
            if conflict is not None:
                q.hold(VEICULOS, rec, conflict, placa)
        elif rec.line == first.line(placa):
            upsert.add(row, rec)
    return stats
