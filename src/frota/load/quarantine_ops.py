"""Working with the quarantine: list held rows, export them for a person to fix, retry them.

- `list_quarantine`: rows and counts by reason, filtered by batch / reason / status.
- `export_quarantine`: a CSV Excel opens as is (UTF-8 with BOM, `;`), one row per held row with
  its values in the contract's columns; cells that start with `=`, `+`, `-`, `@` are
  neutralised with a leading `'` so a spreadsheet never runs them as formulas.
- `retry_quarantine`: re-validate held rows (after a vehicle arrived or a rule changed) and
  load those that now pass, under the load lock, in one transaction. Idempotent: a released
  row is never loaded again, and a row that still fails stays held (its reason updated).

Rows held as `duplicate_row` or `conflicting_duplicate` wait for a person's decision: a retry
only takes them when asked for by `--reason` (duplicates) or by `--id` (a conflict: release the
right copy, never "last one wins").
"""

from __future__ import annotations

import csv
import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import make_batch_id
from frota.config import Settings
from frota.contract import MANUTENCOES, RETRY_SOURCE, TABLES, TABLES_BY_NAME, VEICULOS
from frota.contract.validate import REASONS, Problem, parse_row
from frota.db.connect import connect, ensure_schema
from frota.db.engine import create_engine
from frota.db.schema import batches, manutencoes, quarantine, veiculos
from frota.errors import ConfigError, LockHeld
from frota.load.lock import load_lock, still_held
from frota.load.vehicles import vehicle_change

STATUSES = ("held", "released", "all")
DECISION_REASONS = frozenset({"duplicate_row", "conflicting_duplicate"})
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PAGE = 1000


@dataclass(frozen=True)
class HeldRow:
    """One quarantine row."""

    id: int
    batch_id: str
    table_name: str
    file: str
    line: int | None
    column_name: str | None
    reason: str
    detail: str | None
    raw: str | None
    values: dict[str, str] | None
    placa: str | None
    status: str

    @property
    def explanation(self) -> str:
        return REASONS.get(self.reason, "")


@dataclass(frozen=True)
class QuarantineListing:
    """Counts by reason (every matching row) and the first `limit` rows."""

    counts: dict[str, int]
    rows: tuple[HeldRow, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class RetryResult:
    """What a retry did; `examined` = released + still_held."""

    examined: int = 0
    released: int = 0
    still_held: int = 0
    reason_changed: int = 0
    not_retryable: int = 0  # no parsed values kept (ragged row, repeated header, huge row)
    veiculos_inserted: int = 0
    veiculos_updated: int = 0
    veiculos_stale: int = 0
    manutencoes_inserted: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)  # reasons of rows still held
    batch_id: str | None = None  # the ledger entry of what this retry wrote, if anything

    @property
    def rows_written(self) -> int:
        return self.veiculos_inserted + self.veiculos_updated + self.manutencoes_inserted


def _filters(
    batch: str | None, reason: str | None, status: str, ids: Sequence[int] = ()
) -> list[Any]:
    if status not in STATUSES:
        raise ConfigError(f"unknown quarantine status {status!r}", hint="use held, released or all")
    if reason is not None and reason not in REASONS:
        raise ConfigError(f"unknown reason {reason!r}", hint="reasons: " + ", ".join(REASONS))
    where: list[Any] = []
    if status != "all":
        where.append(quarantine.c.status == status)
    if batch:
        where.append(quarantine.c.batch_id == batch)
    if reason:
        where.append(quarantine.c.reason == reason)
    if ids:
        where.append(quarantine.c.id.in_(list(ids)))
    return where


def _held_row(r: Any) -> HeldRow:
    return HeldRow(
        id=r.id,
        batch_id=r.batch_id,
        table_name=r.table_name,
        file=r.file,
        line=r.line,
        column_name=r.column_name,
        reason=r.reason,
        detail=r.detail,
        raw=r.raw,
        values=json.loads(r.values_json) if r.values_json else None,
        placa=r.placa,
        status=r.status,
    )


def _pages(conn: Connection, where: list[Any]) -> Iterator[HeldRow]:
    """Matching rows by id, a page at a time (bounded memory, stable under updates)."""
    last = 0
    while True:
        page = conn.execute(
            sa.select(quarantine)
            .where(*where, quarantine.c.id > last)
            .order_by(quarantine.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            return
        for r in page:
            yield _held_row(r)
        last = page[-1].id


def _engine(settings: Settings):
    return create_engine(
        settings.database, settings.db_password(), execution_options={"sqlite_begin": "IMMEDIATE"}
    )


def list_quarantine(
    settings: Settings,
    *,
    batch: str | None = None,
    reason: str | None = None,
    status: str = "held",
    limit: int = 50,
) -> QuarantineListing:
    """Counts by reason and the first `limit` rows matching the filters."""
    where = _filters(batch, reason, status)
    engine = _engine(settings)
    try:
        with connect(engine) as conn:
            ensure_schema(conn)
            counts = dict(
                conn.execute(
                    sa.select(quarantine.c.reason, sa.func.count())
                    .where(*where)
                    .group_by(quarantine.c.reason)
                    .order_by(sa.func.count().desc(), quarantine.c.reason)
                ).all()
            )
            rows = conn.execute(
                sa.select(quarantine).where(*where).order_by(quarantine.c.id).limit(limit)
            ).all()
            return QuarantineListing(counts, tuple(_held_row(r) for r in rows))
    finally:
        engine.dispose()


def neutralise(text: str | None) -> str:
    """A cell a spreadsheet shows as text: `=SUM(A1)` -> `'=SUM(A1)` (formula injection)."""
    if not text:
        return ""
    return "'" + text if text.startswith(FORMULA_START) else text


EXPORT_META = (
    "frota_id",
    "frota_batch",
    "frota_file",
    "frota_line",
    "frota_reason",
    "frota_explanation",
    "frota_column",
    "frota_detail",
    "frota_status",
)


def export_quarantine(
    settings: Settings,
    path: Path,
    *,
    batch: str | None = None,
    reason: str | None = None,
    status: str = "held",
    table: str | None = None,
    delimiter: str = ";",
) -> int:
    """Write matching rows to a CSV for Excel (UTF-8 BOM); return the number of rows."""
    if table is not None and table not in TABLES_BY_NAME:
        raise ConfigError(f"unknown table {table!r}", hint="use veiculos or manutencoes")
    where = _filters(batch, reason, status)
    if table:
        where.append(quarantine.c.table_name == table)
    tables = [TABLES_BY_NAME[table]] if table else list(TABLES)
    data_columns = list(dict.fromkeys(c for t in tables for c in t.csv_header))
    engine = _engine(settings)
    written = 0
    part = Path(path).with_name(Path(path).name + ".part")
    try:
        with connect(engine) as conn, open(part, "w", encoding="utf-8-sig", newline="") as fh:
            ensure_schema(conn)
            writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
            writer.writerow([*EXPORT_META, *data_columns, "frota_raw"])
            for row in _pages(conn, where):
                values = row.values or {}
                meta = (
                    row.id,
                    row.batch_id,
                    row.file,
                    row.line,
                    row.reason,
                    row.explanation,
                    row.column_name,
                    row.detail,
                    row.status,
                )
                writer.writerow(
                    [
                        *(neutralise(None if v is None else str(v)) for v in meta),
                        *(neutralise(values.get(c)) for c in data_columns),
                        neutralise(row.raw),
                    ]
                )
                written += 1
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
        engine.dispose()
    return written


def retry_quarantine(
    settings: Settings,
    *,
    batch: str | None = None,
    reason: str | None = None,
    ids: Sequence[int] = (),
    today: date | None = None,
) -> RetryResult:
    """Re-validate held rows and load those that now pass (one transaction, load lock held)."""
    where = _filters(batch, reason, "held", ids)
    if not ids and reason not in DECISION_REASONS:
        where.append(quarantine.c.reason.not_in(sorted(DECISION_REASONS)))
    today = today or date.today()
    engine = _engine(settings)
    try:
        with connect(engine) as conn:
            ensure_schema(conn)
            with load_lock(conn), conn.begin():
                retry = _Retry(conn, today)
                result = retry.run(where)
                if result.rows_written:
                    retry.record_in_ledger()
                if not still_held(conn):
                    raise LockHeld("the load lock was lost before commit; the retry rolled back")
            return result
    finally:
        engine.dispose()


class _Retry:
    def __init__(self, conn: Connection, today: date) -> None:
        self.conn, self.today = conn, today
        now = datetime.now(UTC)
        self.now = now.replace(tzinfo=None)
        self.result = RetryResult()
        self.held: dict[str, int] = {}
        # What a retry writes is lineaged to a ledger entry of its own, like a batch, so the
        # warehouse (which replicates by ledger entry) sees it; the rows' original batch
        # still decides "newer wins" for vehicles.
        self.content = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        self.batch_id = make_batch_id(RETRY_SOURCE, self.content, now)

    def record_in_ledger(self) -> None:
        """The ledger row of this retry (same transaction as the rows it wrote)."""
        r = self.result
        r.batch_id = self.batch_id
        self.conn.execute(
            batches.insert(),
            {
                "batch_id": self.batch_id,
                "source": RETRY_SOURCE,
                "created_at": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "content_sha256": self.content,
                "loaded_at": self.now,
                "run_id": self.batch_id[-8:],
                "rows_read": r.released,
                "veiculos_inserted": r.veiculos_inserted,
                "veiculos_updated": r.veiculos_updated,
                "veiculos_stale": r.veiculos_stale,
                "manutencoes_inserted": r.manutencoes_inserted,
                "quarantined": 0,
                "released": r.released,
                "duplicates": 0,
            },
        )

    def run(self, where: list[Any]) -> RetryResult:
        new_placas = self._vehicles(where)
        self._maintenances(where)
        if new_placas:  # vehicles that arrived now release the maintenances waiting for them
            placas = sorted(new_placas)
            for i in range(0, len(placas), _PAGE):
                self._maintenances(
                    [
                        quarantine.c.status == "held",
                        quarantine.c.reason == "vehicle_unknown",
                        quarantine.c.placa.in_(placas[i : i + _PAGE]),
                    ]
                )
        self.result.by_reason = dict(sorted(self.held.items()))
        return self.result

    # -- outcomes

    def _release(self, row: HeldRow) -> None:
        self.conn.execute(
            quarantine.update()
            .where(quarantine.c.id == row.id, quarantine.c.status == "held")
            .values(status="released", released_at=self.now, released_batch_id=self.batch_id)
        )
        self.result.examined += 1
        self.result.released += 1

    def _keep(self, row: HeldRow, problem: Problem | None, placa: str | None = None) -> None:
        self.result.examined += 1
        self.result.still_held += 1
        if problem is None:
            self.result.not_retryable += 1
            self.held[row.reason] = self.held.get(row.reason, 0) + 1
            return
        self.held[problem.reason] = self.held.get(problem.reason, 0) + 1
        if (problem.reason, problem.column, problem.detail) != (
            row.reason,
            row.column_name,
            row.detail,
        ):
            self.conn.execute(
                quarantine.update()
                .where(quarantine.c.id == row.id)
                .values(
                    reason=problem.reason,
                    column_name=problem.column,
                    detail=problem.detail,
                    placa=placa or row.placa,
                )
            )
            self.result.reason_changed += 1

    # -- tables

    def _vehicles(self, where: list[Any]) -> set[str]:
        """Upsert vehicles that now pass, with the loader's rules (newer wins, odometer)."""
        good: dict[str, list[tuple[HeldRow, dict[str, Any]]]] = {}
        for row in _pages(self.conn, [*where, quarantine.c.table_name == VEICULOS.name]):
            if row.values is None:
                self._keep(row, None)
                continue
            parsed, problem = parse_row(VEICULOS, row.values, self.today)
            if problem or parsed is None:
                self._keep(row, problem)
                continue
            good.setdefault(parsed["placa"], []).append((row, parsed))
        new_placas: set[str] = set()
        for placa, candidates in good.items():
            if len({json.dumps(p, default=str, sort_keys=True) for _, p in candidates}) > 1:
                conflict = Problem(
                    "conflicting_duplicate",
                    "placa",
                    f"{placa}: {len(candidates)} different rows; retry one of them by --id",
                )
                for row, _ in candidates:
                    self._keep(row, conflict, placa)
                continue
            new, problem = self._upsert_vehicle(candidates[0][0], candidates[0][1])
            if new:
                new_placas.add(placa)
            for row, _ in candidates:  # identical copies share the outcome
                if problem is None:
                    self._release(row)
                else:
                    self._keep(row, problem, placa)
        return new_placas

    def _upsert_vehicle(self, row: HeldRow, parsed: dict[str, Any]) -> tuple[bool, Problem | None]:
        """Apply one vehicle: (it was new, the problem that keeps it held)."""
        placa = parsed["placa"]
        existing = self.conn.execute(
            sa.select(veiculos.c.lote_id, veiculos.c.quilometragem_total).where(
                veiculos.c.placa == placa
            )
        ).first()
        # The loader's rule, judged by the row's original batch (when its data is from).
        change = vehicle_change(tuple(existing) if existing else None, parsed, row.batch_id)
        parsed["lote_id"] = self.batch_id
        if isinstance(change, Problem):
            return False, change
        if change == "insert":
            self.conn.execute(veiculos.insert(), [parsed])
            self.result.veiculos_inserted += 1
            return True, None
        if change == "stale":
            self.result.veiculos_stale += 1
            return False, None
        self.conn.execute(
            veiculos.update()
            .where(veiculos.c.placa == placa)
            .values({k: v for k, v in parsed.items() if k != "placa"})
        )
        self.result.veiculos_updated += 1
        return False, None

    def _maintenances(self, where: list[Any]) -> None:
        for row in _pages(self.conn, [*where, quarantine.c.table_name == MANUTENCOES.name]):
            if row.values is None:
                self._keep(row, None)
                continue
            parsed, problem = parse_row(MANUTENCOES, row.values, self.today)
            if problem or parsed is None:
                self._keep(row, problem)
                continue
            placa = parsed["placa_veiculo"]
            known = self.conn.execute(
                sa.select(veiculos.c.placa).where(veiculos.c.placa == placa)
            ).first()
            if known is None:
                detail = f"{placa} is not in veiculos yet"
                self._keep(row, Problem("vehicle_unknown", "placa_veiculo", detail), placa)
                continue
            parsed["lote_id"] = self.batch_id
            self.conn.execute(manutencoes.insert(), [parsed])
            self.result.manutencoes_inserted += 1
            self._release(row)
